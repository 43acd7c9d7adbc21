// The last gate before an engine sees a file (Python: runtime/model_check.py): one format only, the exporter's
// graph only, sizes within limits. Called by Predictor.load once the bundled config is read (its kind picks the
// allowlist), so every number the runtime or an engine would allocate by has been checked first.
import { ORT_IDENTIFIER } from '../allowlist.js';
import { CorruptModelError, UnsafeModelError } from '../errors.js';
import { readOnnxMetadata } from '../formats/onnx.js';
import { checkConfigSizes } from './limits.js';
import { checkOnnxGraph } from './onnx-graph.js';
import { checkTfliteGraph } from './tflite-graph.js';

export function checkModel(data, format, config, limits, source) {
  // onnxruntime runs a flatbuffer with this identifier at bytes 4..8 as an ORT-format model, whatever else the
  // bytes parse as: a file can be a harmless ModelProto to our scanner and a different graph to onnxruntime.
  if (data.length >= 8 && String.fromCharCode(...data.subarray(4, 8)) === ORT_IDENTIFIER) {
    throw new UnsafeModelError(`${source} is an ORT-format flatbuffer; only ONNX protobuf and TFLite files are accepted`);
  }
  checkConfigSizes(config, limits, source);
  if (format === 'tflite') {
    if (parsesAsOnnx(data)) throw new UnsafeModelError(`${source} reads both as a TFLite flatbuffer and as an ONNX model`);
    checkTfliteGraph(data, config, limits, source);
  } else {
    checkOnnxGraph(data, config, limits, source);
  }
}

function parsesAsOnnx(data) {
  try {
    readOnnxMetadata(data, { maxValueBytes: data.length });
  } catch (error) {
    if (error instanceof CorruptModelError || error instanceof UnsafeModelError) return false;
    throw error;
  }
  return true;
}
