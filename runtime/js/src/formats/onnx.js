// Read an untrusted ONNX file's metadata_props before any engine sees it, and refuse tensors stored as
// external data (an engine would open paths the file names). A port of runtime/onnx_scan.py: a minimal
// protobuf wire-format walk that descends only into fields that can lead to a TensorProto and skips the
// rest by length, so each byte is read once. Every length is checked against its enclosing message, and a
// pass over a file reads at most ONNX_MAX_FIELDS fields (Python: onnx_scan.py MAX_FIELDS has why).
import { ONNX_MAX_FIELDS } from '../allowlist.js';
import { CorruptModelError, UnsafeModelError } from '../errors.js';

export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
const MAX_NESTING = 100; // protobuf's own parser stops at 100 too

const MODEL_IR_VERSION = 1;
const MODEL_GRAPH = 7;
const MODEL_METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;

// message kind -> {field number: kind of the message it holds}: the only paths down to a TensorProto.
const CHILDREN = {
  model: { 7: 'graph', 20: 'training_info', 25: 'function' },
  training_info: { 1: 'graph', 2: 'graph' },
  function: { 7: 'node', 11: 'attribute' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse_tensor' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse_tensor', 23: 'sparse_tensor' },
  sparse_tensor: { 1: 'tensor', 2: 'tensor' },
  tensor: {},
};

let fieldsLeft = ONNX_MAX_FIELDS; // in the current pass over a file (one thread: JS runs one pass at a time)

/** Start a pass over a file: readOnnxMetadata and checkOnnxGraph each do. */
export function startFieldBudget() {
  fieldsLeft = ONNX_MAX_FIELDS;
}

/** Map key -> value of a serialized ModelProto's metadata_props, after checking it is well-formed and self-contained. */
export function readOnnxMetadata(bytes, { maxValueBytes }) {
  const data = asBytes(bytes);
  startFieldBudget();
  const metadata = new Map();
  const seen = new Set();
  for (const [field, wire, value] of fields(data, 0, data.length)) {
    seen.add(field);
    if (field === MODEL_METADATA_PROPS) {
      const [key, text] = metadataEntry(data, expectLen(field, wire, value), maxValueBytes);
      if (metadata.has(key)) throw new CorruptModelError(`ONNX metadata key ${JSON.stringify(key)} appears more than once`);
      metadata.set(key, text);
    } else if (field in CHILDREN.model) {
      walk(data, expectLen(field, wire, value), CHILDREN.model[field], 1);
    }
  }
  for (const [required, name] of [[MODEL_IR_VERSION, 'ir_version'], [MODEL_GRAPH, 'graph']]) {
    if (!seen.has(required)) throw new CorruptModelError(`not an ONNX model: ModelProto has no ${name}`);
  }
  return metadata;
}

function walk(data, [start, end], kind, depth) {
  if (depth > MAX_NESTING) throw new CorruptModelError(`ONNX model nests messages deeper than ${MAX_NESTING} levels`);
  const children = CHILDREN[kind];
  for (const [field, wire, value] of fields(data, start, end)) {
    if (Object.hasOwn(children, field)) {
      walk(data, expectLen(field, wire, value), children[field], depth + 1);
    } else if (kind === 'tensor' && field === TENSOR_EXTERNAL_DATA) {
      throw new UnsafeModelError('ONNX model refers to external tensor data; only self-contained files are accepted');
    } else if (kind === 'tensor' && field === TENSOR_DATA_LOCATION) {
      if (wire !== WIRE_VARINT) throw new CorruptModelError(`ONNX TensorProto.data_location has wire type ${wire}, expected a varint`);
      if (value !== 0n) throw new UnsafeModelError('ONNX model stores a tensor outside the file (data_location is not DEFAULT)');
    }
  }
}

function metadataEntry(data, [start, end], maxBytes) {
  const parts = { [ENTRY_KEY]: new Uint8Array(0), [ENTRY_VALUE]: new Uint8Array(0) };
  for (const [field, wire, value] of fields(data, start, end)) {
    if (field !== ENTRY_KEY && field !== ENTRY_VALUE) continue;
    const [from, to] = expectLen(field, wire, value);
    if (to - from > maxBytes) throw new UnsafeModelError(`ONNX metadata entry is ${to - from} bytes, more than the ${maxBytes} allowed`);
    parts[field] = data.subarray(from, to); // the last occurrence wins, as in protobuf
  }
  try {
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    return [decoder.decode(parts[ENTRY_KEY]), decoder.decode(parts[ENTRY_VALUE])];
  } catch {
    throw new CorruptModelError('ONNX metadata key or value is not valid UTF-8');
  }
}

function expectLen(field, wire, value) {
  if (wire !== WIRE_LEN) throw new CorruptModelError(`ONNX field ${field} has wire type ${wire} where a message was expected`);
  return value;
}

// [field number, wire type, value] per field of data[pos, end): a BigInt for varints, [start, end] for
// length-delimited fields, null for fixed-width ones.
export function* fields(data, pos, end) {
  while (pos < end) {
    if (--fieldsLeft < 0) {
      throw new UnsafeModelError(`ONNX model holds more than ${ONNX_MAX_FIELDS.toLocaleString('en-US')} protobuf fields; nextword's files hold a few thousand`);
    }
    let tag;
    [tag, pos] = varint(data, pos, end);
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field === 0 || field >= 2 ** 29) throw new CorruptModelError(`corrupt protobuf: invalid field number ${field}`);
    let value = null;
    if (wire === WIRE_VARINT) {
      [value, pos] = varint(data, pos, end);
    } else if (wire === WIRE_LEN) {
      let length;
      [length, pos] = varint(data, pos, end);
      if (length > BigInt(end - pos)) throw new CorruptModelError('corrupt or truncated protobuf: a field runs past the end of its message');
      value = [pos, pos + Number(length)];
      pos += Number(length);
    } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      pos += wire === WIRE_FIXED64 ? 8 : 4;
      if (pos > end) throw new CorruptModelError('corrupt or truncated protobuf: a fixed-width field runs past the end');
    } else { // groups (3, 4) are unused by ONNX; 6 and 7 do not exist
      throw new CorruptModelError(`corrupt protobuf: wire type ${wire} in field ${field}`);
    }
    yield [field, wire, value];
  }
}

// BigInt: a varint holds up to 64 bits, past what a Number represents exactly.
export function varint(data, pos, end) {
  let result = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (pos >= end) throw new CorruptModelError('corrupt or truncated protobuf: a varint runs past the end');
    const byte = data[pos++];
    result |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) {
      if (result >= 1n << 64n) throw new CorruptModelError('corrupt protobuf: varint larger than 64 bits');
      return [result, pos];
    }
  }
  throw new CorruptModelError('corrupt protobuf: varint longer than 10 bytes');
}

export function asBytes(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError('model bytes must be a Uint8Array, an ArrayBuffer or a typed array view');
}
