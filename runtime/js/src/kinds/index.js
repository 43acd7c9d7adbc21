// Model kinds, named by the bundled config's `kind` (format version 1 files are all window models). A kind turns context ids into next-word distributions for
// its kind of graph; the Predictor does everything else (text, k, words, sampling), whatever the kind.
//
// A kind exports {name, open(engine, bundle, source)}; open returns a model with
//   vocabSize, topK (how many ranked ids the graph returns itself; 0: none),
//   top(idLists, k)      -> Promise<[{ids, probs}]> per list, the k likeliest ids, highest first
//   begin(ids)           -> generation state after reading the prompt's ids (or a Promise of it)
//   next(state)          -> Promise<Float32Array> the distribution over all ids after state
//   advance(state, id)   -> the state after id is appended (or a Promise of it)
import { sequenceKind } from './sequence.js';
import { windowKind } from './window.js';

// The kinds' names, and which format versions hold which, come from Python's runtime/contract.py (contract.js).
export const KINDS = {
  window: windowKind, // Embedding -> LSTM -> Dense over the last seq_len - 1 ids
  sequence: sequenceKind, // the stateful LSTM step graph of format version 2 (kinds/sequence.js, session.js)
};
