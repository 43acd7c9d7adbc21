// Bounds on what the numbers inside a model file may make the runtime or an engine allocate (Python:
// runtime/limits.py, whose defaults and constants allowlist.js is generated from). A file's byte size bounds
// nothing here: a 1.4 KB file can declare a 2-billion-word vocabulary or a FILL of 16384 x 16384 floats.
import {
  DEFAULT_LIMITS, GRAPH_FIXED_NODES, GRAPH_NODES_PER_CELL, PLANNED_PER_FILE_BYTE, PLANNED_SLACK_BYTES,
} from '../allowlist.js';
import { InputError, UnsafeModelError } from '../errors.js';

// Python's Limits field names are snake_case; Predictor.load takes them camelCased (maxVocabSize, ...).
const CAMEL = Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((name) => [name.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), name]));

/** {max_vocab_size, ...} from Predictor.load's options: the defaults, with any maxVocabSize etc. given. */
export function limitsOf(options = {}) {
  const limits = { ...DEFAULT_LIMITS };
  for (const [camel, name] of Object.entries(CAMEL)) {
    if (options[camel] === undefined) continue;
    const value = options[camel];
    if (!Number.isSafeInteger(value) || value < 1) throw new InputError(`${camel} must be a positive integer, got ${String(value).slice(0, 20)}`);
    limits[name] = value;
  }
  return Object.freeze(limits);
}

export const LIMIT_OPTIONS = Object.freeze(Object.keys(CAMEL));

/** The bundled config's sizes, before the id -> word list or any input array is made from them. */
export function checkConfigSizes(config, limits, source) {
  const checks = [['vocab_size', config.vocab_size, 'max_vocab_size'], ['seq_len', config.seq_len, 'max_seq_len']];
  for (const name of ['units', 'embedding_dim', 'hidden']) checks.push([name, config[name], 'max_units']);
  checks.push(['layers', config.layers ?? 1, 'max_layers']);
  for (const [name, value, limit] of checks) {
    if (value > limits[limit]) throw new UnsafeModelError(`${source}: bundled config ${name} is ${value}, over ${limit} ${limits[limit]}`);
  }
  const stateSize = config.kind === 'sequence' ? 2 * config.layers * config.units : 0;
  if (stateSize > limits.max_state_size) {
    throw new UnsafeModelError(`${source}: the model's state is ${stateSize} floats per text, over max_state_size ${limits.max_state_size}`);
  }
}

/** Bytes of one tensor at a batch of one (dynamic dimensions count as 1), within the limits. Dims are Numbers
 *  (a BigInt past 2^53 is converted first: far over any limit either way). */
export function checkTensor(name, shape, itemsize, limits, source) {
  let elements = 1;
  for (const d of shape) elements *= Math.max(Number(d), 1);
  if (elements > limits.max_tensor_elements) {
    throw new UnsafeModelError(`${source}: tensor ${JSON.stringify(String(name).slice(0, 60))} of shape ${JSON.stringify(shape.slice(0, 8).map(Number))} `
      + `has ${elements} elements, over max_tensor_elements ${limits.max_tensor_elements}`);
  }
  return elements * itemsize;
}

export function checkPlanned(totalBytes, limits, source, fileBytes) {
  if (totalBytes > limits.max_planned_bytes) {
    throw new UnsafeModelError(`${source}: the graph's tensors need ${totalBytes} bytes, over max_planned_bytes ${limits.max_planned_bytes}`);
  }
  if (totalBytes > PLANNED_PER_FILE_BYTE * fileBytes + PLANNED_SLACK_BYTES) {
    throw new UnsafeModelError(`${source}: the graph's tensors need ${totalBytes} bytes, more than a ${fileBytes}-byte file's weights `
      + `can take (${PLANNED_PER_FILE_BYTE}x the file + ${PLANNED_SLACK_BYTES / 2 ** 20} MiB)`);
  }
}

/** The LSTM layers of the bundled config's network: the window kind has one. */
export function lstmLayers(config) {
  return config.kind === 'sequence' ? config.layers : 1;
}

export function maxGraphNodes(cells) {
  return GRAPH_FIXED_NODES + GRAPH_NODES_PER_CELL * cells;
}

/** Nodes (ONNX) or operators (TFLite) per graph, bounded by the config's LSTM cells: checked before a long
 *  chain is parsed (a 100,000-node file is refused in milliseconds, not handed to an engine). */
export function checkNodeCount(count, cells, what, source) {
  const bound = maxGraphNodes(cells);
  if (count > bound) {
    throw new UnsafeModelError(`${source}: the graph has more than ${bound} ${what}, the most nextword's graphs of ${cells} LSTM `
      + `cell(s) may hold (${GRAPH_FIXED_NODES} + ${GRAPH_NODES_PER_CELL} per cell)`);
  }
}

/** The constant numbers a shape is built from: a FILL or Expand whose dimensions multiply past
 *  max_tensor_elements would allocate them at load or at run. */
export function checkShapeConstants(values, where, limits, source) {
  let size = 1;
  for (const v of values) size *= Math.max(Number(v), 1);
  if (values.some((v) => v < -1) || size > limits.max_tensor_elements) {
    throw new UnsafeModelError(`${source}: ${where} builds a shape from constants ${JSON.stringify(values.slice(0, 8).map(Number))}, `
      + `over max_tensor_elements ${limits.max_tensor_elements} or negative`);
  }
}
