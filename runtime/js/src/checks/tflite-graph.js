// Refuse every TFLite graph that is not one nextword's exporter makes, before LiteRT sees the file (Python:
// runtime/tflite_graph.py, rule for rule; the tables come from allowlist.js, generated from Python's). LiteRT's
// verifier checks offsets, not sense, and its kernels trust what they read: so exactly the kind's subgraphs (no
// WHILE/IF/CALL targets), every operator a builtin of the kind's allowlist with the exporter's input/output
// tensor types and options, no variables, every index in range, operators within the bound set by the config's
// LSTM cells, sizes within the limits, and unrolled LSTM cells (one SPLIT each) that are the bundled config's.
import {
  TFLITE_COUNTED_BY_OPTIONS, TFLITE_ENTRIES_PER_OPERATOR, TFLITE_GATHER, TFLITE_I32, TFLITE_ITEMSIZE, TFLITE_MAX_SHAPE_RANK,
  TFLITE_MAX_SIGNATURE_TENSORS, TFLITE_MAX_SUBGRAPHS, TFLITE_OPERATORS, TFLITE_OPTIONAL_INPUTS, TFLITE_SHAPE_INPUTS,
  TFLITE_SHAPE_PLUMBING, TFLITE_SHARED_CONSTANT_BYTES, TFLITE_SPLIT, TFLITE_SUBGRAPHS, TFLITE_TENSOR_TYPES,
} from '../allowlist.js';
import { CorruptModelError, UnsafeModelError, VocabularyMismatchError } from '../errors.js';
import { CheckedReader, checkEntries } from '../formats/tflite.js';
import { checkNodeCount, checkPlanned, checkShapeConstants, checkTensor, lstmLayers, maxGraphNodes } from './limits.js';

// Field numbers in the TFLite schema (schema.fbs).
const MODEL_OPERATOR_CODES = 1; const MODEL_SUBGRAPHS = 2; const MODEL_BUFFERS = 4; const MODEL_SIGNATURE_DEFS = 7;
const OPCODE_DEPRECATED_BUILTIN = 0; const OPCODE_CUSTOM_CODE = 1; const OPCODE_BUILTIN = 3;
const SUBGRAPH_TENSORS = 0; const SUBGRAPH_INPUTS = 1; const SUBGRAPH_OUTPUTS = 2; const SUBGRAPH_OPERATORS = 3;
const TENSOR_SHAPE = 0; const TENSOR_TYPE = 1; const TENSOR_BUFFER = 2; const TENSOR_IS_VARIABLE = 5; const TENSOR_SPARSITY = 6;
const TENSOR_SHAPE_SIGNATURE = 7; const TENSOR_VARIANT_TENSORS = 9;
const OPERATOR_OPCODE_INDEX = 0; const OPERATOR_INPUTS = 1; const OPERATOR_OUTPUTS = 2; const OPERATOR_OPTIONS_TYPE = 3;
const OPERATOR_OPTIONS = 4; const OPERATOR_CUSTOM_OPTIONS = 5; const OPERATOR_MUTATING_VARIABLE_INPUTS = 7; const OPERATOR_INTERMEDIATES = 8;
const BUFFER_DATA = 0; const BUFFER_OFFSET = 1;
const SIGNATURE_INPUTS = 0; const SIGNATURE_OUTPUTS = 1; const SIGNATURE_SUBGRAPH_INDEX = 4;
const TENSOR_MAP_INDEX = 1;
const NO_TENSOR = -1;

/** CorruptModelError unless the graph is one the exporter of the bundled config's kind makes for it,
 *  UnsafeModelError when its sizes exceed limits. */
export function checkTfliteGraph(data, config, limits, source) {
  const reader = new CheckedReader(data);
  try {
    checkModel(reader, config, limits, source);
  } catch (error) {
    if (error instanceof RangeError) throw new CorruptModelError(`TFLite graph is corrupt: ${error.name}`);
    throw error;
  }
}

function checkModel(reader, config, limits, source) {
  const kind = config.kind;
  const model = reader.indirect(0);
  const entries = maxEntries(config);
  const codes = reader.tableVector(model, MODEL_OPERATOR_CODES, entries, 'operator codes').map((code, number) => builtinCode(reader, code, number));
  const buffers = reader.tableVector(model, MODEL_BUFFERS, entries, 'buffers');
  const subgraphs = reader.tableVector(model, MODEL_SUBGRAPHS, TFLITE_MAX_SUBGRAPHS, 'subgraphs');
  if (subgraphs.length !== TFLITE_SUBGRAPHS[kind]) {
    throw new CorruptModelError(`TFLite model has ${subgraphs.length} subgraphs; a ${kind} model has ${TFLITE_SUBGRAPHS[kind]}`);
  }
  checkSignatureDefs(reader, model, subgraphs);
  for (const subgraph of subgraphs) checkSubgraph(reader, subgraph, codes, buffers, config, limits, source);
}

function builtinCode(reader, code, number) {
  if (reader.field(code, OPCODE_CUSTOM_CODE) !== null) {
    throw new CorruptModelError(`TFLite operator code ${number} is a custom operator; only builtin operators run`);
  }
  return Math.max(reader.scalar(code, OPCODE_DEPRECATED_BUILTIN, 1, true), reader.scalar(code, OPCODE_BUILTIN, 4, true));
}

function checkSignatureDefs(reader, model, subgraphs) {
  for (const signature of reader.tableVector(model, MODEL_SIGNATURE_DEFS, TFLITE_MAX_SUBGRAPHS, 'signatures')) {
    const index = reader.scalar(signature, SIGNATURE_SUBGRAPH_INDEX, 4);
    if (index >= subgraphs.length) throw new CorruptModelError(`TFLite signature names subgraph ${index}; the model has ${subgraphs.length}`);
    const count = reader.vector(subgraphs[index], SUBGRAPH_TENSORS, 4)[1];
    for (const field of [SIGNATURE_INPUTS, SIGNATURE_OUTPUTS]) {
      for (const entry of reader.tableVector(signature, field, TFLITE_MAX_SIGNATURE_TENSORS, 'signature tensors')) checkIndex(reader.scalar(entry, TENSOR_MAP_INDEX, 4), count, 'signature tensor');
    }
  }
}

function checkSubgraph(reader, subgraph, codes, buffers, config, limits, source) {
  const kind = config.kind;
  checkNodeCount(reader.vector(subgraph, SUBGRAPH_OPERATORS, 4)[1], lstmCells(config), 'operators', source); // unread
  const operators = reader.tableVector(subgraph, SUBGRAPH_OPERATORS, maxGraphNodes(lstmCells(config)), 'operators');
  const entries = maxEntries(config);
  const tensors = reader.tableVector(subgraph, SUBGRAPH_TENSORS, entries, 'tensors').map((t, number) => tensor(reader, t, buffers, kind, number));
  // Tensors may share a buffer (the window kind's files share a few small constants): what is read of them stays
  // about the file's size, however many tensors name its largest buffer.
  const constantBytes = tensors.reduce((sum, t) => sum + (t.constant === null ? 0 : t.constant.length), 0);
  if (constantBytes > reader.size + TFLITE_SHARED_CONSTANT_BYTES) throw new UnsafeModelError(`${source}: the TFLite tensors' constants add up to more than the file holds`);
  let planned = 0;
  tensors.forEach((t, number) => { planned += checkTensor(`#${number}`, t.shape, TFLITE_ITEMSIZE[t.type], limits, source); });
  checkPlanned(planned, limits, source, reader.size);
  const graphInputs = indexes(reader, subgraph, SUBGRAPH_INPUTS, entries, 'graph inputs');
  for (const index of [...graphInputs, ...indexes(reader, subgraph, SUBGRAPH_OUTPUTS, entries, 'graph outputs')]) checkIndex(index, tensors.length, 'subgraph input/output');
  const written = new Set(graphInputs);
  const producers = new Map(); // tensor -> [code, inputs]
  const cells = []; // the output shapes of each SPLIT
  const allowed = TFLITE_OPERATORS[kind];
  operators.forEach((operator, number) => {
    const codeIndex = reader.scalar(operator, OPERATOR_OPCODE_INDEX, 4);
    if (codeIndex >= codes.length) throw new CorruptModelError(`TFLite operator ${number} uses opcode ${codeIndex}; the model defines ${codes.length}`);
    const code = codes[codeIndex];
    const inputs = indexes(reader, operator, OPERATOR_INPUTS, entries, 'operator inputs');
    const outputs = indexes(reader, operator, OPERATOR_OUTPUTS, entries, 'operator outputs');
    const optional = TFLITE_OPTIONAL_INPUTS[code] ?? [];
    inputs.forEach((index, position) => {
      if (!(index === NO_TENSOR && optional.includes(position))) checkIndex(index, tensors.length, `operator ${number} input ${position}`);
    });
    for (const index of outputs) {
      checkIndex(index, tensors.length, `operator ${number} output`);
      if (written.has(index) || tensors[index].constant !== null) {
        throw new CorruptModelError(`TFLite operator ${number} writes tensor ${index}, which is a graph input, a constant or another operator's output`);
      }
      written.add(index);
      producers.set(index, [code, inputs]);
    }
    for (const [field, what] of [[OPERATOR_CUSTOM_OPTIONS, 'custom options'], [OPERATOR_MUTATING_VARIABLE_INPUTS, 'variable inputs'],
      [OPERATOR_INTERMEDIATES, 'intermediate tensors']]) {
      if (reader.field(operator, field) !== null && reader.vector(operator, field, 1)[1]) {
        throw new CorruptModelError(`TFLite operator ${number} (builtin ${code}) has ${what}, which nextword never writes`);
      }
    }
    const optionsType = reader.scalar(operator, OPERATOR_OPTIONS_TYPE, 1);
    const typesIn = inputs.map((i) => (i === NO_TENSOR ? null : tensors[i].type));
    const typesOut = outputs.map((i) => tensors[i].type);
    if (!signatureAllowed(allowed, code, typesIn, typesOut, optionsType)) {
      const form = Object.hasOwn(allowed, code) ? ' in that form' : '';
      throw new CorruptModelError(`TFLite operator ${number} (builtin ${code}, input types ${JSON.stringify(typesIn)}, output types `
        + `${JSON.stringify(typesOut)}, options ${optionsType}) is not one nextword's ${kind} exporter writes${form}`);
    }
    checkCounted(reader, operator, code, inputs.length, outputs.length, number);
    checkIntConstants(inputs, tensors, number, code);
    if (code === TFLITE_SPLIT) {
      cells.push(outputs.map((i) => tensors[i].shape));
    } else if (code === TFLITE_GATHER) {
      const table = tensors[inputs[0]].shape;
      if (!(table.length === 2 && table[0] === config.vocab_size && table[1] === config.embedding_dim)) {
        if (table.length === 2 && table[1] === config.embedding_dim) { // the rows are the words the model outputs
          throw new VocabularyMismatchError(`${source}: the graph's word table has ${table[0]} rows (a model that outputs ${table[0]} `
            + `probabilities) but the bundled vocabulary has ${config.vocab_size} ids`);
        }
        throw new CorruptModelError(`TFLite operator ${number} looks words up in a table of shape ${JSON.stringify(table.slice(0, 4))}; `
          + `the bundled config's is [${config.vocab_size}, ${config.embedding_dim}]`);
      }
    }
  });
  checkCells(cells, config);
  operators.forEach((operator, number) => {
    const code = codes[reader.scalar(operator, OPERATOR_OPCODE_INDEX, 4)];
    if (Object.hasOwn(TFLITE_SHAPE_INPUTS, code)) {
      const values = shapeConstants(indexes(reader, operator, OPERATOR_INPUTS, entries, 'operator inputs')[TFLITE_SHAPE_INPUTS[code]], tensors, producers, 0);
      checkShapeConstants(values, `TFLite operator ${number} (builtin ${code})`, limits, source);
    }
  });
}

/** Unrolled LSTM cells of the bundled config's graph: the window kind unrolls its context, the sequence kind's
 *  step graph one word per layer (TFLite step graphs take n = 1). */
export function lstmCells(config) {
  return lstmLayers(config) * (config.kind === 'window' ? config.seq_len - 1 : 1);
}

function checkCells(cells, config) {
  const expected = lstmCells(config);
  const layers = lstmLayers(config);
  if (config.kind === 'window' && cells.length % layers === 0 && cells.length !== expected) {
    // The window graph unrolls one cell per context word: a different count is a different input width.
    throw new CorruptModelError(`TFLite graph unrolls ${cells.length / layers} words per layer: it does not take `
      + `${config.seq_len - 1} ids (seq_len ${config.seq_len})`);
  }
  if (cells.length !== expected) {
    throw new CorruptModelError(`TFLite graph has ${cells.length} LSTM cells; the bundled config's has ${expected} `
      + `(${layers} layer(s) x ${expected / layers} word(s))`);
  }
  for (const gates of cells) {
    if (gates.some((shape) => !shape.length || shape.at(-1) !== config.units)) {
      throw new CorruptModelError(`TFLite graph has an LSTM cell with gates of shapes ${JSON.stringify(gates.map((s) => s.slice(0, 4)))}; `
        + `the bundled config's layers have ${config.units} units`);
    }
  }
}

function signatureAllowed(allowed, code, typesIn, typesOut, options) {
  if (!Object.hasOwn(allowed, code)) return false;
  return allowed[code].some(([wantIn, wantOut, wantOptions]) => matches(typesIn, wantIn) && matches(typesOut, wantOut) && options === wantOptions);
}

function matches(actual, pattern) {
  if (pattern.length && pattern.at(-1) === '...') {
    const fixed = pattern.slice(0, -1);
    return actual.length >= fixed.length && fixed.every((t, i) => actual[i] === t) && actual.slice(fixed.length).every((t) => t === fixed.at(-1));
  }
  return actual.length === pattern.length && pattern.every((t, i) => actual[i] === t);
}

// nextword's graphs read no negative int32 constant anywhere: a -1 or -2 edited into a dimension, slice bound
// or index made LiteRT allocate 5 GB or run past the fuzzer's 10 s.
function checkIntConstants(inputs, tensors, number, code) {
  for (const index of inputs) {
    if (index === NO_TENSOR) continue;
    const t = tensors[index];
    if (t.type === TFLITE_I32 && t.constant && t.constant.length && t.constant.length % 4 === 0) {
      if (t.smallest === undefined) { // once per tensor, however many operators read it
        const view = new DataView(t.constant.buffer, t.constant.byteOffset, t.constant.length);
        t.smallest = 0;
        for (let i = 0; i < t.constant.length; i += 4) t.smallest = Math.min(t.smallest, view.getInt32(i, true));
      }
      const min = t.smallest;
      if (min < 0) throw new UnsafeModelError(`TFLite operator ${number} (builtin ${code}) reads the int32 constant ${min}; nextword's graphs hold no negative ones`);
    }
  }
}

function tensor(reader, table, buffers, kind, number) {
  const type = reader.scalar(table, TENSOR_TYPE, 1, true);
  if (!TFLITE_TENSOR_TYPES[kind].includes(type)) throw new CorruptModelError(`TFLite tensor ${number} has type ${type}, which nextword's ${kind} graphs never use`);
  if (reader.scalar(table, TENSOR_IS_VARIABLE, 1)) throw new CorruptModelError(`TFLite tensor ${number} is a variable; nextword's graphs are stateless`);
  for (const [field, what] of [[TENSOR_SPARSITY, 'sparse'], [TENSOR_VARIANT_TENSORS, 'a variant']]) {
    if (reader.field(table, field) !== null) throw new CorruptModelError(`TFLite tensor ${number} is ${what} tensor, which nextword never writes`);
  }
  const shape = dims(reader, table, TENSOR_SHAPE, `tensor ${number}`);
  const signature = dims(reader, table, TENSOR_SHAPE_SIGNATURE, `tensor ${number}'s shape signature`);
  if (shape.some((d) => d < 0) || signature.some((d) => d < -1)) {
    throw new CorruptModelError(`TFLite tensor ${number} has shape ${JSON.stringify(shape.slice(0, 10))}: negative or rank over ${TFLITE_MAX_SHAPE_RANK}`);
  }
  const buffer = reader.scalar(table, TENSOR_BUFFER, 4);
  if (buffer >= buffers.length) throw new CorruptModelError(`TFLite tensor ${number} uses buffer ${buffer}; the model has ${buffers.length}`);
  let constant = null;
  if (buffer !== 0) { // buffer 0 is the schema's "no data" sentinel
    const [start, length] = reader.vector(buffers[buffer], BUFFER_DATA, 1);
    if (length) constant = reader.data.subarray(start, start + length);
    else if (reader.scalar(buffers[buffer], BUFFER_OFFSET, 8) > 1) constant = new Uint8Array(0); // data after the flatbuffer (>2 GB layout)
  }
  return { type, shape, constant };
}

// The constant numbers a shape tensor is assembled from (SHAPE outputs are real tensors' sizes, bounded).
function shapeConstants(index, tensors, producers, depth) {
  if (depth > 8) throw new CorruptModelError('TFLite shape is assembled through too many operators');
  const t = tensors[index];
  if (t.constant !== null) {
    if (t.type !== TFLITE_I32 || t.constant.length % 4 || t.constant.length > 4 * TFLITE_MAX_SHAPE_RANK) return [-2]; // not a shape
    const view = new DataView(t.constant.buffer, t.constant.byteOffset, t.constant.length);
    return Array.from({ length: t.constant.length / 4 }, (_, i) => view.getInt32(4 * i, true));
  }
  if (!producers.has(index)) return [];
  const [code, inputs] = producers.get(index);
  const which = Object.hasOwn(TFLITE_SHAPE_PLUMBING, code) ? TFLITE_SHAPE_PLUMBING[code] : [];
  const chosen = which === null ? inputs : which.filter((i) => i < inputs.length).map((i) => inputs[i]);
  return chosen.filter((i) => i !== NO_TENSOR).flatMap((i) => shapeConstants(i, tensors, producers, depth + 1));
}

// An int32 vector field (indexes, shapes).
// A shape: at most TFLITE_MAX_SHAPE_RANK dims, counted before they are read.
function dims(reader, table, number, what) {
  const length = reader.vector(table, number, 4)[1];
  if (length > TFLITE_MAX_SHAPE_RANK) throw new CorruptModelError(`TFLite ${what} has ${length.toLocaleString('en-US')} dims; nextword's tensors have at most ${TFLITE_MAX_SHAPE_RANK}`);
  return indexes(reader, table, number, TFLITE_MAX_SHAPE_RANK, what);
}

// The most tensors, buffers, operator codes or indexes in one list a graph of this config may have (Python:
// tflite_graph.max_entries).
function maxEntries(config) {
  return TFLITE_ENTRIES_PER_OPERATOR * maxGraphNodes(lstmCells(config));
}

// An int32 vector field, refused past `limit` entries before it is read.
function indexes(reader, table, number, limit, what) {
  const [start, length] = reader.vector(table, number, 4);
  checkEntries(length, limit, what);
  const out = new Array(length);
  for (let i = 0; i < length; i++) out[i] = reader.read(start + 4 * i, 4, true);
  return out;
}

function checkCounted(reader, operator, code, inputs, outputs, number) {
  if (!Object.hasOwn(TFLITE_COUNTED_BY_OPTIONS, code)) return;
  const [optionsType, kind] = TFLITE_COUNTED_BY_OPTIONS[code];
  let declared = 0; // what the kernel reads when the options are absent or of another operator
  if (reader.scalar(operator, OPERATOR_OPTIONS_TYPE, 1) === optionsType) {
    const options = reader.field(operator, OPERATOR_OPTIONS);
    if (options !== null) declared = reader.scalar(reader.indirect(options), 0, 4, true);
  }
  const actual = kind === 'inputs' ? inputs : outputs;
  if (declared !== actual) throw new CorruptModelError(`TFLite operator ${number} (builtin ${code}) has ${actual} ${kind} but its options declare ${declared}`);
}

function checkIndex(index, count, where) {
  if (!(index >= 0 && index < count)) throw new CorruptModelError(`TFLite ${where} is tensor ${index}; the subgraph has ${count} tensors`);
}
