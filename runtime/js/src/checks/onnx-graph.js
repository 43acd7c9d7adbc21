// Refuse every ONNX graph that is not one nextword's exporter makes, before onnxruntime sees the file (Python:
// runtime/onnx_graph.py, rule for rule; the tables come from allowlist.js, generated from Python's). Read with
// the protobuf walk of formats/onnx.js, which has already checked the file is well-formed and self-contained:
// only the exporter's opset domains, no functions or training graphs, one graph of the kind's operators (no
// Loop, If or Scan, so no call can loop), each with the exporter's input and output counts and no graph- or
// tensor-valued attribute, as many nodes as the config's layers allow, only the exporter's tensor types, every
// size within the limits, and LSTMs that are the bundled config's (count, hidden_size, W/R shapes).
import {
  ONNX_DOMAINS, ONNX_INT32, ONNX_INT64, ONNX_ITEMSIZE, ONNX_LSTM_WEIGHT_DIMS, ONNX_MAX_ATTRIBUTE_BYTES, ONNX_MAX_NAME_BYTES,
  ONNX_MAX_NODE_BYTES, ONNX_MAX_SHAPE_CONSTANT, ONNX_MAX_SHAPE_RANK,
  ONNX_MIN_INT_CONSTANT, ONNX_OPERATORS, ONNX_SLICE_ENDS, ONNX_SHAPE_INPUTS, ONNX_SHAPE_PLUMBING, ONNX_SIZE_ATTRIBUTES, ONNX_TENSOR_TYPES, ONNX_WEIGHT_PLUMBING,
} from '../allowlist.js';
import { CorruptModelError, UnsafeModelError } from '../errors.js';
import { fields, startFieldBudget, varint, WIRE_LEN, WIRE_VARINT } from '../formats/onnx.js';
import { checkNodeCount, checkPlanned, checkShapeConstants, checkTensor, lstmLayers } from './limits.js';

// onnx.proto field numbers
const MODEL_OPSET_IMPORT = 8; const MODEL_GRAPH = 7; const MODEL_TRAINING_INFO = 20; const MODEL_FUNCTIONS = 25;
const OPSET_DOMAIN = 1; const OPSET_VERSION = 2;
const GRAPH_NODE = 1; const GRAPH_INITIALIZER = 5; const GRAPH_INPUT = 11; const GRAPH_OUTPUT = 12; const GRAPH_VALUE_INFO = 13;
const GRAPH_SPARSE = 15;
const NODE_INPUT = 1; const NODE_OUTPUT = 2; const NODE_OP_TYPE = 4; const NODE_ATTRIBUTE = 5; const NODE_DOMAIN = 7;
const ATTR_NAME = 1; const ATTR_I = 3; const ATTR_T = 5; const ATTR_G = 6; const ATTR_TENSORS = 10; const ATTR_GRAPHS = 11;
const ATTR_SPARSE = 22; const ATTR_SPARSES = 23;
const TENSOR_DIMS = 1; const TENSOR_DATA_TYPE = 2; const TENSOR_INT32_DATA = 5; const TENSOR_INT64_DATA = 7; const TENSOR_NAME = 8;
const TENSOR_RAW = 9; const TENSOR_UINT64_DATA = 11;
const VALUE_NAME = 1; const VALUE_TYPE = 2;
const TYPE_TENSOR = 1; const TENSOR_TYPE_ELEM = 1; const TENSOR_TYPE_SHAPE = 2; const SHAPE_DIM = 1; const DIM_VALUE = 1;
const TWO_63 = 1n << 63n;
const TWO_64 = 1n << 64n;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** config: the bundled config (its kind picks the allowlist, its layers bound the nodes). Throws a ModelFormatError. */
export function checkOnnxGraph(data, config, limits, source) {
  startFieldBudget();
  const graphs = [];
  for (const [number, wire, value] of fields(data, 0, data.length)) {
    if (number === MODEL_FUNCTIONS || number === MODEL_TRAINING_INFO) {
      const what = number === MODEL_FUNCTIONS ? 'functions' : 'training graphs';
      throw new CorruptModelError(`${source}: ONNX model defines ${what}, which nextword never writes`);
    }
    if (number === MODEL_OPSET_IMPORT) checkOpset(data, span(number, wire, value), source);
    else if (number === MODEL_GRAPH) graphs.push(span(number, wire, value));
  }
  if (graphs.length !== 1) throw new CorruptModelError(`${source}: ONNX model has ${graphs.length} graphs, expected 1`);
  checkGraph(data, graphs[0], config, limits, source);
}

function checkOpset(data, [start, end], source) {
  let domain = '';
  let version = 0n;
  for (const [number, wire, value] of fields(data, start, end)) {
    if (number === OPSET_DOMAIN) domain = text(data, span(number, wire, value), source);
    else if (number === OPSET_VERSION && wire === WIRE_VARINT) version = value;
  }
  const [low, high] = Object.hasOwn(ONNX_DOMAINS, domain) ? ONNX_DOMAINS[domain] : [1, 0];
  if (!(version >= BigInt(low) && version <= BigInt(high))) {
    throw new CorruptModelError(`${source}: ONNX model imports opset ${domain || 'ai.onnx'} ${version}, not one nextword writes`);
  }
}

function checkGraph(data, [start, end], config, limits, source) {
  const kind = config.kind;
  const layers = lstmLayers(config);
  const types = new Set(ONNX_TENSOR_TYPES[kind]);
  const nodes = [];
  const constants = new Map();
  const shapes = new Map();
  let planned = 0;
  for (const [number, wire, value] of fields(data, start, end)) {
    if (number === GRAPH_NODE) {
      checkNodeCount(nodes.length + 1, layers, 'nodes', source); // before parsing the rest of a long chain
      const [from, to] = span(number, wire, value);
      if (to - from > ONNX_MAX_NODE_BYTES) throw new CorruptModelError(`${source}: ONNX node ${nodes.length} is ${(to - from).toLocaleString('en-US')} bytes; nextword's are under 1 KiB`);
      nodes.push(node(data, [from, to], kind, types, source));
    } else if (number === GRAPH_INITIALIZER) {
      const { name, dtype, dims, ints } = tensor(data, span(number, wire, value), types, source);
      planned += checkTensor(name, dims, ONNX_ITEMSIZE[dtype], limits, source);
      shapes.set(name, dims);
      if (ints !== null) constants.set(name, ints);
    } else if (number === GRAPH_INPUT || number === GRAPH_OUTPUT || number === GRAPH_VALUE_INFO) {
      const { name, dtype, dims } = valueInfo(data, span(number, wire, value), types, source);
      planned += checkTensor(name, dims, ONNX_ITEMSIZE[dtype], limits, source);
    } else if (number === GRAPH_SPARSE) {
      throw new CorruptModelError(`${source}: ONNX graph has sparse initializers, which nextword never writes`);
    }
  }
  checkPlanned(planned, limits, source, data.length);
  const producers = new Map();
  for (const n of nodes) for (const output of n.outputs) producers.set(output, n);
  for (const n of nodes) {
    for (const [key, limit] of Object.entries(ONNX_SIZE_ATTRIBUTES)) {
      const [opType, attribute] = key.split('.');
      if (n.opType === opType && (n.ints.get(attribute) ?? 0) > limits[limit]) {
        throw new CorruptModelError(`${source}: ONNX ${opType} has ${attribute} ${n.ints.get(attribute)}, over ${limit} ${limits[limit]}`);
      }
    }
    if (Object.hasOwn(ONNX_SHAPE_INPUTS, n.opType)) {
      const values = shapeConstants(n.inputs[ONNX_SHAPE_INPUTS[n.opType]], constants, producers, 0, source);
      checkShapeConstants(values, `ONNX ${n.opType} ${JSON.stringify(n.outputs[0])}`, limits, source);
    }
  }
  checkIntConstants(nodes, constants, source);
  checkLstms(nodes, shapes, producers, config, source);
}

// nextword's graphs read no integer constant below -1 (a Slice start of -1), and only positive Slice ends: a Slice
// end of -2 edited in empties the top-k rows, and onnxruntime-node 1.30 dies of SIGFPE on them (the JS fuzz).
function checkIntConstants(nodes, constants, source) {
  for (const n of nodes) {
    n.inputs.forEach((name, position) => {
      const values = constants.get(name);
      if (!values || !values.length) return;
      const low = n.opType === 'Slice' && position === ONNX_SLICE_ENDS ? 1 : ONNX_MIN_INT_CONSTANT;
      const min = values.reduce((a, b) => Math.min(a, b), Infinity); // no spread: a hostile list may be long
      if (min < low) {
        throw new UnsafeModelError(`${source}: ONNX ${n.opType} reads the integer constant ${min} as input ${position}; nextword's graphs hold none below ${low} there`);
      }
    });
  }
}

// The graph's LSTMs against the bundled config: a config whose state is merely as wide (2 layers x 192 units
// on a 1 x 384 graph) would load, and the state layout it documents would be wrong.
function checkLstms(nodes, shapes, producers, config, source) {
  const lstms = nodes.filter((n) => Object.hasOwn(ONNX_LSTM_WEIGHT_DIMS, n.opType));
  const layers = lstmLayers(config);
  const units = config.units;
  if (lstms.length !== layers) throw new CorruptModelError(`${source}: the ONNX graph has ${lstms.length} LSTM layers; the bundled config says ${layers}`);
  const widths = [];
  for (const n of lstms) {
    const [gates, features] = ONNX_LSTM_WEIGHT_DIMS[n.opType];
    const [w, r] = [1, 2].map((i) => weightShape(n.inputs[i], shapes, producers));
    const ok = w && r && w.length === 3 && r.length === 3 && w[0] === 1 && r[0] === 1;
    if (!ok || w[gates] !== 4 * units || r[gates] !== 4 * units || r[features] !== units) {
      throw new CorruptModelError(`${source}: an ONNX ${n.opType} has weights of shapes ${JSON.stringify(w)} and ${JSON.stringify(r)}; `
        + `the bundled config's layers have ${units} units`);
    }
    if ((n.ints.get('hidden_size') ?? units) !== units) {
      throw new CorruptModelError(`${source}: an ONNX ${n.opType} has hidden_size ${n.ints.get('hidden_size')}; the bundled config says ${units} units`);
    }
    widths.push(w[features]);
  }
  const expected = [config.embedding_dim, ...Array(layers - 1).fill(units)]; // the first layer reads the embeddings
  const sorted = (list) => JSON.stringify([...list].sort((a, b) => a - b));
  if (sorted(widths) !== sorted(expected)) {
    throw new CorruptModelError(`${source}: the ONNX LSTMs read ${sorted(widths)} features; the bundled config's read ${sorted(expected)} `
      + `(embedding_dim ${config.embedding_dim}, then ${units} units per layer)`);
  }
}

// The dims of the initializer a weight input comes from (through a Cast or a dequantize), or null.
function weightShape(name, shapes, producers) {
  for (let hop = 0; hop < 4; hop++) {
    if (shapes.has(name)) return shapes.get(name);
    const n = producers.get(name);
    if (!n || !ONNX_WEIGHT_PLUMBING.includes(n.opType) || !n.inputs.length) return null;
    name = n.inputs[0];
  }
  return null;
}

function node(data, [start, end], kind, types, source) {
  const n = { domain: '', opType: '', inputs: [], outputs: [], ints: new Map() };
  for (const [number, wire, value] of fields(data, start, end)) {
    if (number === NODE_INPUT) n.inputs.push(text(data, span(number, wire, value), source));
    else if (number === NODE_OUTPUT) n.outputs.push(text(data, span(number, wire, value), source));
    else if (number === NODE_OP_TYPE) n.opType = text(data, span(number, wire, value), source);
    else if (number === NODE_DOMAIN) n.domain = text(data, span(number, wire, value), source);
    else if (number === NODE_ATTRIBUTE) {
      const [from, to] = span(number, wire, value);
      if (to - from > ONNX_MAX_ATTRIBUTE_BYTES) {
        throw new CorruptModelError(`${source}: ONNX ${n.opType || 'node'} has an attribute of ${(to - from).toLocaleString('en-US')} bytes; nextword's are under ${ONNX_MAX_ATTRIBUTE_BYTES}`);
      }
      attribute(data, [from, to], n, types, source);
    }
  }
  const domain = n.domain === 'ai.onnx' ? '' : n.domain;
  const byDomain = ONNX_OPERATORS[kind];
  const counts = Object.hasOwn(byDomain, domain) && Object.hasOwn(byDomain[domain], n.opType) ? byDomain[domain][n.opType] : null;
  if (counts === null) {
    throw new CorruptModelError(`${source}: ONNX operator ${n.domain ? `${n.domain}.` : ''}${n.opType.slice(0, 40)} is not one nextword's ${kind} exporter writes`);
  }
  if (!counts.some(([i, o]) => i === n.inputs.length && o === n.outputs.length)) {
    throw new CorruptModelError(`${source}: ONNX ${n.opType} has ${n.inputs.length} inputs and ${n.outputs.length} outputs; nextword `
      + `writes it with ${counts.map(([i, o]) => `${i} and ${o}`).join(' or ')}`);
  }
  return n;
}

function attribute(data, [start, end], n, types, source) {
  let name = '';
  let integer = null;
  for (const [number, wire, value] of fields(data, start, end)) {
    if (number === ATTR_NAME) name = text(data, span(number, wire, value), source);
    else if (number === ATTR_I && wire === WIRE_VARINT) integer = signed(value);
    else if (number === ATTR_G || number === ATTR_GRAPHS) throw new CorruptModelError(`${source}: ONNX ${n.opType} has a subgraph attribute; nextword writes none`);
    else if ([ATTR_T, ATTR_TENSORS, ATTR_SPARSE, ATTR_SPARSES].includes(number)) {
      throw new CorruptModelError(`${source}: ONNX ${n.opType} has a tensor attribute; nextword writes none`);
    }
  }
  if (integer !== null) {
    n.ints.set(name, integer);
    if (n.opType === 'Cast' && name === 'to' && !types.has(integer)) {
      throw new CorruptModelError(`${source}: ONNX Cast to type ${integer}, which nextword's graphs never use`);
    }
  }
}

function tensor(data, [start, end], types, source) {
  let name = '';
  let dtype = 0;
  const dimFields = [];
  const intFields = [];
  const wideFields = [];
  let raw = null;
  for (const [number, wire, value] of fields(data, start, end)) {
    if (number === TENSOR_NAME) name = text(data, span(number, wire, value), source);
    else if (number === TENSOR_DATA_TYPE && wire === WIRE_VARINT) dtype = Number(value);
    else if (number === TENSOR_DIMS) dimFields.push([number, wire, value]);
    else if (number === TENSOR_INT32_DATA || number === TENSOR_INT64_DATA) intFields.push([number, wire, value]);
    else if (number === TENSOR_UINT64_DATA) wideFields.push([number, wire, value]); // never read, but an engine would parse each byte into 8
    else if (number === TENSOR_RAW) raw = span(number, wire, value);
  }
  if (!types.has(dtype)) throw new CorruptModelError(`${source}: ONNX tensor ${JSON.stringify(name.slice(0, 60))} has type ${dtype}, which nextword's graphs never use`);
  // Counted before any is decoded: a packed list is one field, however many millions of values it holds.
  const rank = countVarints(data, dimFields);
  if (rank > ONNX_MAX_SHAPE_RANK) throw new CorruptModelError(`${source}: ONNX tensor ${JSON.stringify(name.slice(0, 60))} has ${rank} dims`);
  const dims = decodeAll(data, dimFields);
  if (dims.some((d) => d < 0)) {
    throw new CorruptModelError(`${source}: ONNX tensor ${JSON.stringify(name.slice(0, 60))} has dims ${JSON.stringify(dims.slice(0, 10))}`);
  }
  const elements = dims.reduce((a, d) => a * d, 1);
  const stored = countVarints(data, [...intFields, ...wideFields]);
  if (stored && stored !== elements) {
    throw new CorruptModelError(`${source}: ONNX tensor ${JSON.stringify(name.slice(0, 60))} stores ${stored} integers for its dims ${JSON.stringify(dims)}`);
  }
  const smallInt = (dtype === ONNX_INT32 || dtype === ONNX_INT64) && elements <= ONNX_MAX_SHAPE_CONSTANT;
  if (!smallInt) return { name, dtype, dims, ints: null };
  let ints = decodeAll(data, intFields);
  if (raw !== null) {
    const size = dtype === ONNX_INT32 ? 4 : 8;
    const length = raw[1] - raw[0];
    if (length % size || length > size * ONNX_MAX_SHAPE_CONSTANT) return { name, dtype, dims, ints: [-2] };
    const view = new DataView(data.buffer, data.byteOffset + raw[0], length);
    ints = Array.from({ length: length / size }, (_, i) => (size === 4 ? view.getInt32(4 * i, true) : Number(view.getBigInt64(8 * i, true))));
  }
  return { name, dtype, dims, ints };
}

// How many varints the fields hold, without decoding them: each ends at a byte below 0x80.
function countVarints(data, list) {
  let count = 0;
  for (const [number, wire, value] of list) {
    if (wire === WIRE_VARINT) {
      count += 1;
      continue;
    }
    const [from, to] = span(number, wire, value);
    if (from < to && data[to - 1] >= 0x80) throw new CorruptModelError('corrupt or truncated protobuf: a varint runs past the end');
    for (let i = from; i < to; i++) if (data[i] < 0x80) count += 1;
  }
  return count;
}

function decodeAll(data, list) {
  const out = [];
  for (const [number, wire, value] of list) for (const item of varints(data, number, wire, value)) out.push(signed(item));
  return out;
}

function valueInfo(data, [start, end], types, source) {
  let name = '';
  let dtype = 0;
  let dims = [];
  for (const [number, wire, value] of fields(data, start, end)) {
    if (number === VALUE_NAME) {
      name = text(data, span(number, wire, value), source);
    } else if (number === VALUE_TYPE) {
      for (const [n2, w2, v2] of fields(data, ...span(number, wire, value))) {
        if (n2 !== TYPE_TENSOR) throw new CorruptModelError(`${source}: ONNX value ${JSON.stringify(name.slice(0, 60))} is not a tensor`);
        for (const [n3, w3, v3] of fields(data, ...span(n2, w2, v2))) {
          if (n3 === TENSOR_TYPE_ELEM && w3 === WIRE_VARINT) dtype = Number(v3);
          else if (n3 === TENSOR_TYPE_SHAPE) dims = shape(data, span(n3, w3, v3));
        }
      }
    }
  }
  if (!types.has(dtype)) throw new CorruptModelError(`${source}: ONNX value ${JSON.stringify(name.slice(0, 60))} has type ${dtype}, which nextword's graphs never use`);
  if (dims.length > ONNX_MAX_SHAPE_RANK) throw new CorruptModelError(`${source}: ONNX value ${JSON.stringify(name.slice(0, 60))} has rank ${dims.length}`);
  return { name, dtype, dims };
}

function shape(data, [start, end]) {
  const dims = [];
  for (const [number, wire, value] of fields(data, start, end)) {
    if (number !== SHAPE_DIM) continue;
    let size = 1; // a named (dynamic) dimension: counted as one, the batch of a single call
    for (const [n2, w2, v2] of fields(data, ...span(number, wire, value))) {
      if (n2 === DIM_VALUE && w2 === WIRE_VARINT) size = v2 < TWO_63 ? Number(v2) : 1;
    }
    dims.push(size);
  }
  return dims;
}

function shapeConstants(name, constants, producers, depth, source) {
  if (depth > 8) throw new CorruptModelError(`${source}: ONNX shape is assembled through too many operators`);
  if (constants.has(name)) return constants.get(name);
  const n = producers.get(name);
  if (!n) return []; // a graph input: its own size is bounded
  const which = Object.hasOwn(ONNX_SHAPE_PLUMBING, n.opType) ? ONNX_SHAPE_PLUMBING[n.opType] : [];
  const chosen = which === null ? n.inputs : which.filter((i) => i < n.inputs.length).map((i) => n.inputs[i]);
  return chosen.filter(Boolean).flatMap((input) => shapeConstants(input, constants, producers, depth + 1, source));
}

function varints(data, number, wire, value) {
  if (wire === WIRE_VARINT) return [value];
  let [pos, end] = span(number, wire, value);
  const out = [];
  while (pos < end) {
    let item;
    [item, pos] = varint(data, pos, end);
    out.push(item);
  }
  return out;
}

// A varint read as protobuf's int64: two's complement past 2^63. Numbers from here on: exact below 2^53, and
// anything larger is far past every limit it is compared with.
function signed(value) {
  return Number(value >= TWO_63 ? value - TWO_64 : value);
}

function span(number, wire, value) {
  if (wire !== WIRE_LEN) throw new CorruptModelError(`ONNX field ${number} has wire type ${wire} where a message or string was expected`);
  return value;
}

function text(data, [start, end], source) {
  if (end - start > ONNX_MAX_NAME_BYTES) throw new CorruptModelError(`${source}: ONNX name of ${(end - start).toLocaleString('en-US')} bytes; nextword's are under ${ONNX_MAX_NAME_BYTES}`);
  try {
    return decoder.decode(data.subarray(start, end));
  } catch {
    throw new CorruptModelError(`${source}: ONNX graph is corrupt: UnicodeDecodeError`);
  }
}
