// Model kinds, named by the bundled config's `kind` (format version 1 files are all window models). A kind turns context ids into next-word distributions for
// its kind of graph; the Predictor does everything else (text, k, words, sampling), whatever the kind.
//
// A kind exports {name, open(engine, bundle, source)}; open returns a model with
//   vocabSize, topK (how many ranked ids the graph returns itself; 0: none),
//   top(idLists, k)      -> Promise<[{ids, probs}]> per list, the k likeliest ids, highest first
//   begin(ids)           -> generation state after reading the prompt's ids
//   next(state)          -> Promise<Float32Array> the distribution over all ids after state
//   advance(state, id)   -> the state after id is appended
import { windowKind } from './window.js';

// 1: window kind only (no `kind` in the config). 2: `kind` in the config, and the sequence kind.
export const FORMAT_VERSION = 2;
export const READABLE_FORMAT_VERSIONS = [1, 2];

export const KINDS = {
  window: windowKind, // Embedding -> LSTM -> Dense over the last seq_len - 1 ids
  // sequence: TODO -- the stateful LSTM of format version 2 (runtime/contract.py): a step graph with inputs
  // `tokens` [batch, n] and `state` [batch, 2 * layers * units], outputs probs/top_probs/top_ids and
  // `state_out`; a text starts from the zero state with the start id 0 fed first. Add kinds/sequence.js
  // implementing the interface above (begin feeds [0, ...ids] from the zero state, next returns the
  // distribution, advance feeds one id and keeps state_out) and list it here. Until then such files are
  // refused with UnsupportedVersionError naming the kind.
};
