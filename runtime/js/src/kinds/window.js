// Format version 1: the window model. The graph reads the last seq_len - 1 ids (left-padded with 0, as
// pad_sequences does) and returns the next-word distribution, plus, in current exports, its own top k.
import { checkProbs, checkTop } from '../checks/outputs.js';
import { CorruptModelError, VocabularyMismatchError } from '../errors.js';
import { readSignature, width } from '../signature.js';
import { topKIndices } from '../topk.js';

export const windowKind = {
  name: 'window',
  open(engine, bundle, source) {
    return new WindowModel(engine, bundle, source);
  },
};

class WindowModel {
  constructor(engine, bundle, source) {
    this.engine = engine;
    this.source = source;
    this.contextLen = bundle.config.seq_len - 1;
    this.vocabSize = bundle.config.vocab_size;
    this.signature = readSignature(engine.inputs, engine.outputs);
    const { input, probs } = this.signature;
    if (input.shape.length !== 2 || width(input.shape[1]) !== this.contextLen) {
      throw new CorruptModelError(`${source}: input shape ${JSON.stringify(input.shape)} does not take ${this.contextLen} ids (seq_len ${bundle.config.seq_len})`);
    }
    if (probs.shape.length !== 2 || width(probs.shape[1]) !== this.vocabSize) {
      throw new VocabularyMismatchError(`${source}: model outputs ${probs.shape.at(-1) ?? '?'} probabilities but the bundled vocabulary has ${this.vocabSize} ids`);
    }
    this.topK = this.signature.topK;
  }

  /** The k likeliest ids per id list: from the graph's own TopK when it returns enough, else ranked here. */
  async top(idLists, k) {
    const contexts = idLists.map((ids) => this.context(ids));
    if (k > this.topK) {
      return (await this.distributions(contexts)).map((row) => {
        const ids = topKIndices(row, k); // ids >= 1: id 0 (padding) is never suggested
        return { ids, probs: ids.map((id) => row[id]) };
      });
    }
    const { topProbs, topIds } = this.signature;
    const out = await this.run(contexts, [topProbs.name, topIds.name]);
    const probs = this.checked(out[topProbs.name], contexts.length, this.topK);
    const ids = this.checked(out[topIds.name], contexts.length, this.topK);
    const rows = [];
    for (let r = 0; r < contexts.length; r++) {
      const rowIds = Array.from(ids.subarray(r * this.topK, r * this.topK + k));
      rows.push(checkTop(rowIds, Array.from(probs.subarray(r * this.topK, r * this.topK + k)), this.vocabSize, this.source));
    }
    return rows;
  }

  /** One engine call at load on the all-padding context (both outputs when the graph ranks): its distribution
   *  must sum to 1, so a graph that is not a softmax fails here, not in an app. */
  async warmUp() {
    await this.distributions([this.context([])]);
    if (this.topK) await this.top([[]], this.topK);
  }

  begin(ids) {
    return this.context(ids);
  }

  async next(context) {
    return (await this.distributions([context]))[0];
  }

  advance(context, id) {
    // Slide the window: drop the oldest id, append the new one.
    const next = new Int32Array(this.contextLen);
    next.set(context.subarray(1));
    next[this.contextLen - 1] = id;
    return next;
  }

  /** The model's input for ids: the last contextLen of them, left-padded with 0. */
  context(ids) {
    const context = new Int32Array(this.contextLen);
    const tail = ids.slice(-this.contextLen);
    if (this.contextLen > 0) context.set(tail, this.contextLen - tail.length);
    return context;
  }

  async distributions(contexts) {
    const name = this.signature.probs.name;
    const probs = checkProbs(this.checked((await this.run(contexts, [name]))[name], contexts.length, this.vocabSize), contexts.length,
      this.vocabSize, this.source);
    return contexts.map((_, r) => probs.subarray(r * this.vocabSize, (r + 1) * this.vocabSize));
  }

  async run(contexts, names) {
    const data = new Int32Array(contexts.length * this.contextLen);
    contexts.forEach((context, r) => data.set(context, r * this.contextLen));
    return this.engine.run({ name: this.signature.input.name, data, dims: [contexts.length, this.contextLen] }, names);
  }

  // An output must have one row per context and the width the signature promised, and hold finite
  // numbers: a foreign or damaged graph must fail loudly, not rank NaN or read past a row.
  checked(tensor, rows, columns) {
    if (!tensor || tensor.dims.length !== 2 || tensor.dims[0] !== rows || tensor.dims[1] !== columns || tensor.data.length !== rows * columns) {
      throw new CorruptModelError(`${this.source}: the model returned shape ${JSON.stringify(tensor?.dims)}, expected [${rows}, ${columns}]`);
    }
    const data = tensor.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw new CorruptModelError(`${this.source}: the model returned a non-finite value`);
    }
    return data;
  }
}
