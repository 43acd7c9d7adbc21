// What a suggestion bar shows (Python: runtime/suggest.py): the k likeliest words that complete the word
// being typed, or, between words, the k likeliest next words; never the OOV token or padding, each word in
// its display casing (casing.js).
//   'to be or n'  -> finished 'to be or ', partial 'n': the likeliest words starting with 'n' after it, each
//                    with its probability among those words (given the text and the letters typed)
//   'to be or '   -> finished 'to be or ', partial '':  the likeliest next words, with their probabilities
// A word ends where the tokenizer would end it: at its split string or at any of its filter characters.
// Typed letters that start no vocabulary word get an empty list: the bar then shows what was typed, as it is.
// A completion never offers the word exactly as it is typed ('the' after 'the'): tapping it would save nothing a
// space does not, so its slot goes to the next word. It is offered when its display casing differs ('I' after
// 'i', 'London' after 'london'): the tap then fixes the case. Its probability still counts in what the letters allow.
import { display } from './casing.js';
import { comparePoints, PrefixIndex, topIds } from './completion.js';
import { InputError } from './errors.js';
import { codePoints, pyLower } from './tokenizer/pylower.js';
import { startsUpper } from './tokenizer/pystring.js';
import { ALPHA } from './user-model.js';

/** [the finished text, the letters typed of the current word]; char-level models have no partial words.
 *  On code points, as Python: a filter or split string with half of a surrogate pair never splits the pair. */
export function splitPartial(text, tokenizer) {
  if (tokenizer.char_level) return [text, ''];
  const filters = filterSet(tokenizer.filters);
  let end = text.length;
  while (end > 0) {
    const width = end > 1 && isLow(text.charCodeAt(end - 1)) && isHigh(text.charCodeAt(end - 2)) ? 2 : 1;
    if (filters.has(text.codePointAt(end - width))) break;
    end -= width;
  }
  const split = tokenizer.split; // may be longer than one character
  const splitAt = lastIndexOfPoints(text, split);
  if (splitAt >= 0) end = Math.max(end, splitAt + split.length);
  return [text.slice(0, end), text.slice(end)];
}

/** The suggestion bar's logic over one model's vocabulary; built once per Predictor. */
export class Suggester {
  constructor(words, oovId, casing, tokenizer) {
    Object.assign(this, { words, oovId, casing, tokenizer });
    const skip = new Set(oovId === null ? [] : [oovId]);
    this.index = new PrefixIndex(words, skip);
    this.hidden = new Set(skip); // ids with no word to show
    words.forEach((word, id) => { if (id && !word) this.hidden.add(id); });
  }

  normalize(partial) {
    return this.tokenizer.lower ? pyLower(partial) : partial;
  }

  /** partial as a Session takes it: the letters of one word (InputError for more, TypeError for a non-string). */
  checkPartial(partial) {
    if (typeof partial !== 'string') throw new TypeError(`partial must be a string, not ${partial === null ? 'null' : typeof partial}`);
    const [finished, rest] = splitPartial(partial, this.tokenizer);
    if (finished) {
      throw new InputError(`partial must be the letters of one word, got ${JSON.stringify([...partial].slice(0, 40).join(''))} (feed finished words)`);
    }
    return rest;
  }

  /** Whether suggesting needs the whole distribution, not just the graph's own top-k. */
  needsDistribution(partial, k, graphK) {
    return partial !== '' || k + this.hidden.size > graphK;
  }

  /** [{word, probability}] from source: {top(n) -> Promise<{ids, probs}>, probs() -> Promise<the distribution>},
   *  a kind's view of one point in a text; each is asked only when needed (each may be an engine call). */
  async suggest(source, partial, k, { sentenceStart, user = null, previous = null }) {
    const capitalize = sentenceStart || startsUpper(partial);
    if (user && user.size) return this.mixed(source, partial, k, user, previous, capitalize);
    let chosen;
    if (partial) {
      // Completions are ranked, and their probabilities given, among the words the letters allow: the
      // probability that the word being typed is this one, given the text so far and its first letters.
      const probs = await source.probs();
      const prefix = this.normalize(partial);
      const [fitting, offered] = this.fitting(prefix, this.showsAsTyped(prefix, partial, capitalize));
      let mass = 0;
      for (const id of fitting) mass += probs[id];
      chosen = mass > 0 ? topIds(probs, offered, k).map((id) => [id, probs[id] / mass]) : [];
    } else {
      const { ids, probs } = await source.top(Math.min(k + this.hidden.size, this.words.length - 1));
      chosen = ids.map((id, i) => [id, probs[i]]).filter(([id]) => !this.hidden.has(id)).slice(0, k);
    }
    return chosen.map(([id, probability]) => ({ word: display(this.words[id], this.casing, { capitalize }), probability }));
  }

  /** The model's distribution mixed with the user's (user-model.js; Python's user_model.py has the formula), over
   *  the model's own top k, the user's most learned words and the context's successors, read highest count first
   *  and no further than one could still rank: what is skipped could not reach the top k (Python's mixed). */
  async mixed(source, partial, k, user, previous, capitalize) {
    const probs = await source.probs();
    const prefix = this.normalize(partial);
    // The word exactly as typed (in the form this bar shows it) is never offered: its key, which every stream skips.
    const asTyped = partial && this.showsAsTyped(prefix, partial, capitalize, user.form(prefix)) ? prefix : null;
    let modelIds;
    let modelMass = 1;
    if (partial) {
      const [fitting, offered] = this.fitting(prefix, asTyped !== null);
      modelIds = topIds(probs, offered, k);
      modelMass = 0;
      for (const id of fitting) modelMass += probs[id];
    } else {
      const { ids } = await source.top(Math.min(k + this.hidden.size, this.words.length - 1));
      modelIds = ids.filter((id) => !this.hidden.has(id)).slice(0, k);
    }
    // A word outside the model's top k has at most the k-th one's probability (none, when fewer words fit).
    const floor = modelIds.length === k ? probs[modelIds[k - 1]] : 0;
    const scorer = user.scorer(previous); // after the awaits: it reads the live tables, so no learn() may interleave
    const [pairs, fits] = partial ? scorer.fittingByCount(prefix) : [0, []]; // kept per prefix, highest count first
    const userMass = partial ? scorer.mass(prefix, pairs) : 1;
    let weight = userMass > 0 ? scorer.weight : 0;
    if (modelMass <= 0) weight = 1;
    // score(w) = (1 - weight) * P_model(w) / modelMass + weight * P_user(w | v) / userMass, with P_user(w | v) =
    // (c(v, w) + ALPHA * c(w) / N) / (c(v) + ALPHA) in the order of Python's _Scorer.prob (the same floats), on
    // what each stream already knows: a model word comes with its id, a successor with its pair count.
    const { successors, learned } = scorer;
    const { countOf, largest } = scorer.index;
    const perContext = scorer.followed + ALPHA;
    const userSide = userMass > 0 && learned > 0; // false: the user's side scores 0
    const modelSide = modelMass > 0;
    // P_user(w | v) / userMass for a word followed pairCount times after v and learned `count` times.
    const userPart = (pairCount, count) => (userSide ? ((pairCount + (ALPHA * count) / learned) / perContext) / userMass : 0);
    const scores = new Map();
    const best = []; // the k highest scores so far, highest first; the k-th is the one to beat
    const add = (word, pairCount, id) => {
      const modelPart = id !== null && modelSide ? probs[id] / modelMass : 0;
      const value = (1 - weight) * modelPart + weight * userPart(pairCount, countOf.get(word) ?? 0);
      scores.set(word, value);
      if (best.length === k && !(value > best[k - 1])) return;
      let at = best.length === k ? k - 1 : best.length;
      while (at > 0 && best[at - 1] < value) {
        best[at] = best[at - 1];
        at--;
      }
      best[at] = value;
    };
    // A word outside the model's top k followed pairCount times, learned at most `count` times, scores at most
    // this: the same operations on larger operands, so rounding keeps it a bound.
    const modelBound = (1 - weight) * (modelSide ? floor / modelMass : 0);
    const beaten = (pairCount, count) => best.length === k && modelBound + weight * userPart(pairCount, count) < best[k - 1];
    for (const id of modelIds) {
      const word = this.words[id];
      add(word, successors.get(word)?.count ?? 0, id);
    }
    // Each stream comes highest count first: once one word is beaten, so is every later one.
    if (partial) {
      for (const [word, pairCount] of fits) {
        if (word === asTyped) continue;
        if (beaten(pairCount, largest)) break;
        if (!scores.has(word)) add(word, pairCount, this.idOf(word));
      }
      // The most learned words that fit: k of them, one more when the word as typed may be among them.
      for (const word of scorer.unigramCandidates(prefix, k + (asTyped !== null ? 1 : 0))) {
        if (!scores.has(word) && word !== asTyped) add(word, successors.get(word)?.count ?? 0, this.idOf(word));
      }
    } else {
      for (const word of scorer.ranked?.byCount ?? []) {
        const pairCount = successors.get(word).count;
        if (beaten(pairCount, largest)) break;
        if (!scores.has(word)) add(word, pairCount, this.idOf(word));
      }
      for (const [word, count] of scorer.unigramsByCount()) {
        if (successors.has(word)) continue; // read above, with its pair count
        if (beaten(0, count)) break;
        if (!scores.has(word)) add(word, 0, this.idOf(word));
      }
    }
    const top = [...scores].sort((a, b) => b[1] - a[1] || comparePoints(a[0], b[0])).slice(0, k).filter(([, p]) => p > 0);
    return top.map(([word, probability]) => ({
      word: display(user.form(word) ?? this.casing.get(word) ?? word, EMPTY, { capitalize }),
      probability,
    }));
  }

  /** [the ids of every word the typed letters allow, the ones a completion may offer]: all of them but the word
   *  spelled as typed, when skipAsTyped. That word sorts first among them, if it is there. */
  fitting(prefix, skipAsTyped) {
    const [lo, hi] = this.index.range(prefix);
    const fitting = this.index.ids.subarray(lo, hi);
    if (skipAsTyped && hi > lo && this.index.words[lo] === prefix) return [fitting, fitting.subarray(1)];
    return [fitting, fitting];
  }

  /** Whether the bar would show word exactly as partial is typed (in the user's form, if it has one). */
  showsAsTyped(word, partial, capitalize, userForm = null) {
    return display(userForm ?? this.casing.get(word) ?? word, EMPTY, { capitalize }) === partial;
  }

  /** The model's id of a word it can show, or null. */
  idOf(word) {
    const id = this.tokenizer.wordIndex.get(word);
    return id !== undefined && id < this.words.length && !this.hidden.has(id) ? id : null;
  }
}

const EMPTY = new Map();

const isHigh = (unit) => unit >= 0xd800 && unit <= 0xdbff;
const isLow = (unit) => unit >= 0xdc00 && unit <= 0xdfff;
const midPair = (text, i) => i > 0 && i < text.length && isHigh(text.charCodeAt(i - 1)) && isLow(text.charCodeAt(i));

// Python's text.rfind(sep) as a UTF-16 offset: a match must start and end between code points (only a
// separator with a lone surrogate at an end can match half of a pair).
function lastIndexOfPoints(text, sep) {
  let at = text.lastIndexOf(sep);
  while (at >= 0 && (midPair(text, at) || midPair(text, at + sep.length))) at = at > 0 ? text.lastIndexOf(sep, at - 1) : -1;
  return at;
}

// One Set per filters string, built once: every call of a predictor uses the same filters.
const filterSets = new Map();
function filterSet(filters) {
  let set = filterSets.get(filters);
  if (!set) {
    set = new Set(codePoints(filters));
    if (filterSets.size > 16) filterSets.clear();
    filterSets.set(filters, set);
  }
  return set;
}
