// What comes out of a graph is checked on every call, as Python's runtime/kinds/base.py checks it (same rules,
// same tolerances from allowlist.js, CorruptModelError): a file can hold any graph the allowlist admits, and a
// graph can halve, double, reorder or negate its softmax after the warm-up.
import { PROB_MAX, PROB_SUM_TOLERANCE, TOP_MATCH_TOLERANCE } from '../allowlist.js';
import { CorruptModelError } from '../errors.js';

/** rows distributions of vocabSize values (one flat array): every value in [0, 1] (NaN fails both bounds) and
 *  each row summing to 1. */
export function checkProbs(data, rows, vocabSize, source) {
  for (let r = 0; r < rows; r++) {
    let total = 0;
    for (let i = r * vocabSize, end = i + vocabSize; i < end; i++) {
      const p = data[i];
      if (!(p >= 0 && p <= PROB_MAX)) throw new CorruptModelError(`${source}: the model returned probabilities that are not finite in [0, 1]`);
      total += p;
    }
    if (!(Math.abs(total - 1) < PROB_SUM_TOLERANCE)) throw new CorruptModelError(`${source}: the model's probabilities sum to ${total.toPrecision(6)}, not 1`);
  }
  return data;
}

/** A graph's ranked ids and probabilities (arrays of k): distinct words, finite, non-negative, highest first,
 *  summing to at most 1. */
export function checkTop(ids, probs, vocabSize, source) {
  let total = 0;
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 1 && ids[i] < vocabSize)) throw new CorruptModelError(`${source}: the model's top-k ids fall outside the vocabulary`);
    total += probs[i];
  }
  if (!(total >= 0 && total <= PROB_MAX) || probs.some((p) => p < 0)) {
    throw new CorruptModelError(`${source}: the model's top-k probabilities are not finite and non-negative`);
  }
  for (let i = 1; i < probs.length; i++) {
    if (probs[i - 1] < probs[i]) throw new CorruptModelError(`${source}: the model's top-k probabilities are not highest first`);
  }
  if (new Set(ids).size !== ids.length) throw new CorruptModelError(`${source}: the model's top-k ids repeat a word`);
  return { ids, probs };
}

/** When one call returned both, each row's top-k (topK wide) must be its distribution's: each top probability
 *  the distribution's value for its id, and the first the largest of the words (id 0 is padding). */
export function checkTopAgainstProbs(topProbs, topIds, probs, rows, topK, vocabSize, source) {
  for (let r = 0; r < rows; r++) {
    const row = r * vocabSize;
    let largest = -Infinity;
    for (let i = row + 1; i < row + vocabSize; i++) if (probs[i] > largest) largest = probs[i];
    let agree = topProbs[r * topK] >= largest - TOP_MATCH_TOLERANCE;
    for (let j = r * topK; agree && j < (r + 1) * topK; j++) {
      const id = topIds[j];
      if (!(id >= 1 && id < vocabSize)) throw new CorruptModelError(`${source}: the model's top-k ids fall outside the vocabulary`);
      agree = Math.abs(probs[row + id] - topProbs[j]) <= TOP_MATCH_TOLERANCE; // NaN never agrees
    }
    if (!agree) throw new CorruptModelError(`${source}: the model's top-k disagrees with its own distribution`);
  }
}
