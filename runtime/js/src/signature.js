// Which engine output is which, read from the model (a port of read_signature in runtime/backends.py):
// one int32 input of ids; outputs are [probs] or [probs, top_probs, top_ids], told apart by dtype and
// shape, never by name, so a re-exported or renamed graph still loads. Ports are {name, dtype, shape};
// a dynamic dimension may be -1, null or a name.
import { CorruptModelError } from './errors.js';

export function width(dim) {
  return Number.isInteger(dim) && dim > 0 ? dim : -1;
}

/** Returns {input, probs, topProbs, topIds, topK}; topProbs/topIds are null (topK 0) for a probs-only graph. */
export function readSignature(inputs, outputs) {
  if (inputs.length !== 1 || inputs[0].dtype !== 'int32') {
    throw new CorruptModelError(`model inputs are ${describe(inputs)}; expected one int32 input of ids`);
  }
  const floats = outputs.filter((o) => o.dtype === 'float32');
  const ints = outputs.filter((o) => o.dtype === 'int32');
  if (outputs.length === 1 && floats.length === 1) {
    return { input: inputs[0], probs: floats[0], topProbs: null, topIds: null, topK: 0 };
  }
  if (outputs.length === 3 && floats.length === 2 && ints.length === 1 && outputs.every((o) => o.shape.length === 2)) {
    const [topProbs, probs] = [...floats].sort((a, b) => width(a.shape[1]) - width(b.shape[1]));
    const k = width(topProbs.shape[1]);
    if (k === width(ints[0].shape[1]) && k > 0 && width(probs.shape[1]) > k) {
      return { input: inputs[0], probs, topProbs, topIds: ints[0], topK: k };
    }
  }
  throw new CorruptModelError(`model outputs are ${describe(outputs)}; expected float32 probabilities, `
    + 'optionally with float32 top-k probabilities and int32 top-k ids');
}

function describe(ports) {
  return JSON.stringify(ports.map((p) => [p.name, p.dtype, p.shape]));
}
