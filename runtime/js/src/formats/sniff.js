// Which format a model's bytes are in, as Python's sniff_format decides it: the TFLite file identifier,
// else a first byte that is a protobuf field tag ONNX's ModelProto can start with.
import { CorruptModelError } from '../errors.js';
import { hasIdentifier } from './tflite.js';

const ONNX_FIRST_BYTES = new Set([0x08, 0x12, 0x1a, 0x22, 0x2a, 0x3a, 0x42, 0x72]);

export function sniffFormat(data, source) {
  if (data.length < 8) throw new CorruptModelError(`${source} is truncated (${data.length} bytes)`);
  if (hasIdentifier(data)) return 'tflite';
  if (ONNX_FIRST_BYTES.has(data[0])) return 'onnx';
  throw new CorruptModelError(`${source} is neither a TFLite flatbuffer nor an ONNX model`);
}
