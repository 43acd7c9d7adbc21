// LiteRT.js (@litertjs/core) behind the engine interface of onnxruntime.js, for .tflite files in browsers.
// The caller loads LiteRT's wasm first (`await loadLiteRt(wasmDir)`) and passes the module in.
// LiteRT.js cannot resize inputs: a model with a fixed batch dimension (the batch-1 export) is run
// in slices of that many rows, so predictNextBatch still works.
import { CorruptModelError } from '../errors.js';
import { firstLine } from './onnxruntime.js';

export async function createLiteRtEngine(litert, bytes, { accelerator = 'wasm' } = {}) {
  let model;
  try {
    model = await litert.loadAndCompile(bytes, { accelerator });
  } catch (error) {
    throw new CorruptModelError(`LiteRT cannot load the model: ${firstLine(error)}`);
  }
  const ports = (details) => details.map((d) => ({ name: d.name, dtype: d.dtype, shape: Array.from(d.shape) }));
  const inputs = ports(model.getInputDetails());
  const outputs = ports(model.getOutputDetails());
  const fixedBatch = inputs[0]?.shape[0] > 0 ? inputs[0].shape[0] : 0;

  async function runRows(list, outputNames) {
    const tensors = Object.fromEntries(list.map(({ name, data, dims }) => [name, new litert.Tensor(data, dims)]));
    let results;
    try {
      results = await model.run(tensors);
    } catch (error) {
      throw new CorruptModelError(`LiteRT cannot run the model: ${firstLine(error)}`);
    } finally {
      for (const tensor of Object.values(tensors)) tensor.delete();
    }
    try {
      return Object.fromEntries(outputNames.map((name) => {
        const out = results[name];
        return [name, out && { data: out.toTypedArray().slice(), dims: [...out.type.layout.dimensions] }];
      }));
    } finally {
      for (const out of Object.values(results)) out.delete();
    }
  }

  return {
    name: 'tflite',
    inputs,
    outputs,
    async run(inputs, outputNames) {
      const list = [inputs].flat(); // one input (window kind) or ids and state (sequence kind), same rows
      const rows = list[0].dims[0];
      if (!fixedBatch || rows === fixedBatch) return runRows(list, outputNames);
      if (rows % fixedBatch) throw new CorruptModelError(`LiteRT model takes batches of ${fixedBatch}; cannot run ${rows} rows`);
      const parts = [];
      for (let r = 0; r < rows; r += fixedBatch) {
        const slice = list.map(({ name, data, dims }) => {
          const width = dims[1];
          return { name, data: data.subarray(r * width, (r + fixedBatch) * width), dims: [fixedBatch, width] };
        });
        parts.push(await runRows(slice, outputNames));
      }
      return Object.fromEntries(outputNames.map((name) => [name, concatRows(parts.map((p) => p[name]), rows)]));
    },
    release: () => model.delete?.(),
  };
}

function concatRows(tensors, rows) {
  if (tensors.some((t) => !t)) return undefined;
  const data = new tensors[0].data.constructor(tensors.reduce((n, t) => n + t.data.length, 0));
  let offset = 0;
  for (const t of tensors) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return { data, dims: [rows, ...tensors[0].dims.slice(1)] };
}
