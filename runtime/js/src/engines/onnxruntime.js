// onnxruntime's JavaScript API (the same in onnxruntime-node, onnxruntime-web and onnxruntime-react-native)
// behind the small engine interface the model kinds use. The `ort` module is passed in, so this file
// imports nothing and works with whichever package the entry point wired.
//
// Engine interface: {name, inputs, outputs, run(inputs, outputNames), release()}; ports are
// {name, dtype, shape}; run takes one {name, data: Int32Array | Float32Array, dims} or an array of them (the
// sequence kind feeds ids and state) and resolves to {name: {data, dims}}.
import { CorruptModelError } from '../errors.js';

export async function createOnnxEngine(ort, bytes, { threads = 1, sessionOptions = {} } = {}) {
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, {
      // One request at a time: a 2-step LSTM gains nothing from parallel operators.
      executionMode: 'sequential',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3, // errors only
      ...sessionOptions,
    });
  } catch (error) {
    throw new CorruptModelError(`onnxruntime cannot load the model: ${firstLine(error)}`);
  }
  const ports = (metadata) => metadata.map((m) => ({ name: m.name, dtype: m.isTensor ? m.type : 'non-tensor', shape: m.isTensor ? [...m.shape] : [] }));
  return {
    name: 'onnx',
    inputs: ports(session.inputMetadata),
    outputs: ports(session.outputMetadata),
    async run(inputs, outputNames) {
      const feeds = Object.fromEntries([inputs].flat().map(({ name, data, dims }) => [name, new ort.Tensor(data instanceof Float32Array ? 'float32' : 'int32', data, dims)]));
      let results;
      try {
        results = await session.run(feeds, outputNames);
      } catch (error) {
        throw new CorruptModelError(`onnxruntime cannot run the model: ${firstLine(error)}`);
      }
      return Object.fromEntries(outputNames.map((name) => [name, results[name] && { data: results[name].data, dims: [...results[name].dims] }]));
    },
    release: () => session.release(),
  };
}

export function firstLine(error) {
  const text = String(error?.message ?? error).trim();
  return text ? text.split('\n')[0].slice(0, 300) : (error?.name ?? 'Error');
}
