// Format version 2's sequence kind (Python: runtime/contract.py, runtime/session.py): a step graph
//   tokens [batch, n] int32, state [batch, S] float32 -> probs, top_probs, top_ids, state_out [batch, S]
// with S = 2 * layers * units. A text starts from the zero state with the start id 0 fed first, so a
// prediction reads the whole text (not a window), and a Session pays only for the words it is fed.
// ONNX graphs take any n; TFLite graphs a fixed n (1), so ids are fed in steps of that many.
import { START_ID, STATE_OUT } from '../contract.js';
import { checkProbs, checkTop, checkTopAgainstProbs } from '../checks/outputs.js';
import { CorruptModelError, VocabularyMismatchError } from '../errors.js';
import { readSignature, width } from '../signature.js';
import { topKIndices } from '../topk.js';


export const sequenceKind = {
  name: 'sequence',
  open(engine, bundle, source) {
    return new SequenceModel(engine, bundle, source);
  },
};

/** What one engine call left: the next word's top-k, the state after the ids, and (when fetched) all probs.
 *  `before` and `lastIds` let the full distribution be recomputed later with one call, as Python does. */
class Step {
  constructor(topProbs, topIds, state, before, lastIds, probs) {
    Object.assign(this, { topProbs, topIds, state, before, lastIds, probs });
  }
}

class SequenceModel {
  constructor(engine, bundle, source) {
    this.engine = engine;
    this.source = source;
    this.vocabSize = bundle.config.vocab_size;
    this.stateSize = 2 * bundle.config.layers * bundle.config.units;
    Object.assign(this, readStepSignature(engine.inputs, engine.outputs, source));
    if (width(this.state.shape[1]) !== this.stateSize || width(this.stateOut.shape[1]) !== this.stateSize) {
      throw new CorruptModelError(`${source}: the graph's state is ${this.state.shape[1]} wide but the bundled config's is `
        + `${this.stateSize} (2 x ${bundle.config.layers} layers x ${bundle.config.units} units)`);
    }
    if (width(this.probs.shape[1]) !== this.vocabSize) {
      throw new VocabularyMismatchError(`${source}: model outputs ${this.probs.shape[1]} probabilities but the bundled vocabulary has ${this.vocabSize} ids`);
    }
    const steps = width(this.tokens.shape[1]);
    if (steps > 1) throw new CorruptModelError(`${source}: ids input shape ${JSON.stringify(this.tokens.shape)}; a step graph takes [batch, n] with n dynamic or 1`);
    this.steps = steps > 0 ? steps : null; // ids per engine call (null: any)
    this.startStep = null;
  }

  /** One engine call at load, on the start id with the whole distribution: the top-k must be ranked words and the
   *  distribution sum to 1 (the Step is kept: it is the start of every text). */
  async warmUp() {
    this.startStep = this.feedRows(new Float32Array(this.stateSize), [[START_ID]], { full: true }).then((steps) => steps[0]);
    const step = await this.startStep;
    this.ranked(step, this.topK);
  }

  /** The Step after the start id from the zero state: the same for every text, computed once. */
  start() {
    this.startStep ??= this.feedRows(new Float32Array(this.stateSize), [[START_ID]]).then((steps) => steps[0]);
    return this.startStep;
  }

  /** Run idRows (equal lengths, >= 1 each) from states (Float32Array, rows x S): one Step per row. */
  async feedRows(states, idRows, { full = false } = {}) {
    const rows = idRows.length;
    const n = idRows[0].length;
    const per = this.steps ?? n;
    let state = states;
    let before;
    let chunk;
    let out;
    for (let at = 0; at < n; at += per) {
      before = state;
      chunk = Int32Array.from(idRows.flatMap((ids) => ids.slice(at, at + per)));
      const width = chunk.length / rows;
      const names = [this.topProbs.name, this.topIds.name, this.stateOut.name, ...(full && at + per >= n ? [this.probs.name] : [])];
      out = await this.engine.run([{ name: this.tokens.name, data: chunk, dims: [rows, width] },
        { name: this.state.name, data: state, dims: [rows, this.stateSize] }], names);
      state = checked(out[this.stateOut.name], rows, this.stateSize, this.source);
    }
    const topProbs = checked(out[this.topProbs.name], rows, this.topK, this.source);
    const topIds = checked(out[this.topIds.name], rows, this.topK, this.source);
    const probs = full ? checkProbs(checked(out[this.probs.name], rows, this.vocabSize, this.source), rows, this.vocabSize, this.source) : null;
    if (probs) checkTopAgainstProbs(topProbs, topIds, probs, rows, this.topK, this.vocabSize, this.source);
    const row = (data, r, w) => data.slice(r * w, (r + 1) * w);
    const lastWidth = chunk.length / rows;
    return Array.from({ length: rows }, (_, r) => new Step(row(topProbs, r, this.topK), row(topIds, r, this.topK),
      row(state, r, this.stateSize), row(before, r, this.stateSize), Array.from(row(chunk, r, lastWidth)),
      probs && row(probs, r, this.vocabSize)));
  }

  /** The Step with its full distribution: the last call again, with probs fetched (one engine call). */
  async full(step) {
    return step.probs ? step : (await this.feedRows(step.before, [step.lastIds], { full: true }))[0];
  }

  /** The k likeliest ids after each id list, each read from the start of its text. Lists of one length run
   *  together (padding would change the state): one engine call per length and step. */
  async top(idLists, k) {
    const start = await this.start();
    const steps = new Array(idLists.length);
    const groups = new Map();
    idLists.forEach((ids, i) => groups.set(ids.length, [...(groups.get(ids.length) ?? []), i]));
    for (const [n, members] of groups) {
      if (n === 0) {
        for (const i of members) steps[i] = start;
        continue;
      }
      const states = new Float32Array(members.length * this.stateSize);
      members.forEach((_, r) => states.set(start.state, r * this.stateSize));
      const done = await this.feedRows(states, members.map((i) => idLists[i]), { full: k > this.topK });
      members.forEach((i, r) => { steps[i] = done[r]; });
    }
    return Promise.all(steps.map(async (step) => this.ranked(k > this.topK ? await this.full(step) : step, k)));
  }

  /** {ids, probs} of the k likeliest words after step: the graph's own top-k, or ranked here beyond it. */
  ranked(step, k) {
    if (k > this.topK) {
      const ids = topKIndices(step.probs, k);
      return { ids, probs: ids.map((id) => step.probs[id]) };
    }
    return checkTop(Array.from(step.topIds.subarray(0, k)), Array.from(step.topProbs.subarray(0, k)), this.vocabSize, this.source);
  }

  // Generation (Predictor.generate): the state is a Step with its full distribution.
  async begin(ids) {
    const start = await this.start();
    return ids.length ? (await this.feedRows(start.state, [ids], { full: true }))[0] : this.full(start);
  }

  async next(step) {
    return step.probs;
  }

  async advance(step, id) {
    return (await this.feedRows(step.state, [[id]], { full: true }))[0];
  }
}

/** tokens (int32) and state (float32) in; state_out is the float32 output as wide as the state (by name if two
 *  are), and the other three are the window kind's outputs, told apart as readSignature does. */
function readStepSignature(inputs, outputs, source) {
  const tokens = inputs.find((p) => p.dtype === 'int32');
  const state = inputs.find((p) => p.dtype === 'float32');
  if (inputs.length !== 2 || !tokens || !state || tokens.shape.length !== 2 || state.shape.length !== 2) {
    throw new CorruptModelError(`${source}: model inputs are ${JSON.stringify(inputs.map((p) => [p.name, p.dtype, p.shape]))}; `
      + 'a sequence model takes int32 ids [batch, n] and a float32 state [batch, S]');
  }
  let candidates = outputs.filter((o) => o.dtype === 'float32' && o.shape.length === 2 && width(o.shape[1]) === width(state.shape[1]));
  if (candidates.length > 1) candidates = candidates.filter((o) => o.name === STATE_OUT);
  if (outputs.length !== 4 || candidates.length !== 1 || width(state.shape[1]) < 1) {
    throw new CorruptModelError(`${source}: a sequence model needs a float32 state_out as wide as its state beside probs, top_probs and top_ids`);
  }
  const { probs, topProbs, topIds, topK } = readSignature([tokens], outputs.filter((o) => o !== candidates[0]));
  if (!topK) throw new CorruptModelError(`${source}: a sequence model's graph must return its own top-k`);
  return { tokens, state, stateOut: candidates[0], probs, topProbs, topIds, topK };
}

// One row per input row, the promised width, finite numbers: a foreign graph fails loudly.
function checked(tensor, rows, columns, source) {
  if (!tensor || tensor.dims.length !== 2 || tensor.dims[0] !== rows || tensor.dims[1] !== columns || tensor.data.length !== rows * columns) {
    throw new CorruptModelError(`${source}: the model returned shape ${JSON.stringify(tensor?.dims)}, expected [${rows}, ${columns}]`);
  }
  for (const value of tensor.data) if (!Number.isFinite(value)) throw new CorruptModelError(`${source}: the model returned a non-finite value`);
  return tensor.data;
}
