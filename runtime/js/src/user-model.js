// A keyboard that learns its user (Python: runtime/user_model.py, which has the formula and the file format):
// the words one user writes, as written, and which word follows which, mixed into suggestions.
//   const user = new UserModel();                  // or: await UserModel.fromBytes(bytes)
//   user.learn('Meet me at Kensington');           // text the user committed
//   await predictor.suggest('meet me at Ke', 3, { user });
//   const bytes = await user.toBytes();            // the same bytes Python's save() writes for the same model
// nextword/node adds UserModel.load(path) and user.save(path) (atomic); in a browser the app keeps the bytes
// (IndexedDB, say). Nothing here leaves the device. Every behaviour is Python's, tested against its files
// and suggestions (test/user-parity.test.js): the same learned state gives the same bytes and the same words.
import { comparePoints } from './completion.js';
import { SENTENCE_ENDS, startsSentence } from './casing.js';
import { InputError, NextwordError } from './errors.js';
import { parseStrictJsonTyped } from './strict-json.js';
import { inRanges, pyLower } from './tokenizer/pylower.js';
import { DEFAULT_FILTERS } from './tokenizer/tokenizer.js';
import { WHITESPACE } from './tokenizer/unicode-tables.js';

export const USER_MAGIC = 'nextword-user';
export const USER_VERSION = 2; // written; versions 1 (JSON, older releases) and 2 (binary) are read
export const ALPHA = 2.0; // how many bigram observations the unigram backoff is worth
export const WEIGHT = 0.5; // the user's share of the mix once the evidence is large
export const HALF_WEIGHT_AT = 10; // learned words at which the user's share is half of WEIGHT
export const DEFAULT_MAX_ENTRIES = 100_000;
export const DEFAULT_MAX_USER_FILE_BYTES = 16 * 1024 * 1024;
export const MAX_WORD_CHARS = 64; // code points
const MAX_COUNT = 2 ** 31 - 1;
const UNIGRAM_CANDIDATES = 32; // the user's most learned words, always considered as next words
const PREFIX_CACHE = 4096; // typed prefixes whose completion figures are kept (past it, the cache starts again)
const COLUMNS = ['words', 'forms', 'counts', 'ticks', 'pair_words', 'pair_next', 'pair_counts', 'pair_ticks'];
const INTEGER_COLUMNS = COLUMNS.slice(2);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HEAD = 5; // version 2: tick, n_words, n_pairs, words_bytes, forms_bytes (runtime/user_file.py has the format)
const FILTER_POINTS = new Set([...DEFAULT_FILTERS].map((ch) => ch.codePointAt(0)));

/** A user-model file that is damaged, truncated, hostile or of another version. */
export class CorruptUserModelError extends NextwordError {}

// A code point of a word: neither Python whitespace nor one of the default filters (Python's WORD pattern).
const isWordPoint = (cp) => !FILTER_POINTS.has(cp) && !(cp < 0x10000 && inRanges(WHITESPACE, cp));
const isSurrogate = (cp) => cp >= 0xd800 && cp <= 0xdfff; // as a code point: only an unpaired one

/** The words of text as [start, end) UTF-16 offsets, code point by code point. */
function wordSpans(text) {
  const spans = [];
  let start = -1;
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i);
    const width = cp > 0xffff ? 2 : 1;
    if (isWordPoint(cp)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      spans.push([start, i]);
      start = -1;
    }
    i += width;
  }
  if (start >= 0) spans.push([start, text.length]);
  return spans;
}

const hasLoneSurrogate = (text) => [...text].some((ch) => isSurrogate(ch.codePointAt(0)));
const pointLength = (text) => [...text].length;

/** A word as the user model keeps it: cut to MAX_WORD_CHARS code points, lowercase included. */
export function clip(word) {
  let points = [...word].slice(0, MAX_WORD_CHARS);
  while (pointLength(pyLower(points.join(''))) > MAX_WORD_CHARS) points = points.slice(0, -1);
  return points.join('');
}

/** The context a user model reads: the last word of the finished text, unless a sentence ended after it. */
export function previousWord(finished) {
  if (startsSentence(finished)) return null;
  const spans = wordSpans(finished);
  if (!spans.length) return null;
  const [start, end] = spans[spans.length - 1];
  return pyLower(clip(finished.slice(start, end)));
}

export class UserModel {
  constructor({ maxEntries = DEFAULT_MAX_ENTRIES } = {}) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new InputError(`maxEntries must be a positive integer, got ${maxEntries}`);
    this.maxEntries = maxEntries;
    this.clear();
  }

  /** Forget everything. */
  clear() {
    this._words = new Map(); // word -> {form, count, tick}
    this._pairs = new Map(); // word -> Map(next word -> {count, tick})
    this._followed = new Map(); // c(v): times v was followed by a learned word
    this._unread = null; // a loaded file's contexts (UnreadPairs), moved into _pairs when first used
    this._pairCount = 0;
    this._learned = 0; // N
    this._tick = 0;
    this._last = null; // the last word learned, the context of the next (within a sentence)
    this._index = null; // the prefix index, built when first read and kept up to date as words are learned
    this._ranked = new Map(); // a context's successors in order (Successors), built when first read
  }

  /** Count the words of text the user committed, and each word's successor within a sentence. */
  learn(text) {
    if (typeof text !== 'string') throw new TypeError(`text must be a string, not ${text === null ? 'null' : typeof text}`);
    if (hasLoneSurrogate(text)) {
      // Such a word could never be saved (UTF-8 has no encoding for it): refusing it keeps every later save working.
      throw new InputError('text holds a lone surrogate code point (not valid Unicode text); nothing was learned');
    }
    let at = 0;
    for (const [start, end] of wordSpans(text)) {
      const gap = text.slice(at, start);
      const sentenceStart = this._last === null || [...`${SENTENCE_ENDS}\n`].some((ch) => gap.includes(ch));
      if (sentenceStart) this._last = null;
      const form = clip(text.slice(start, end));
      this.#learnWord(pyLower(form), form, sentenceStart);
      at = end;
    }
    if ([...SENTENCE_ENDS].some((ch) => text.slice(at).includes(ch))) this._last = null;
    this.#evict();
  }

  #learnWord(word, form, sentenceStart) {
    this._tick += 1;
    let entry = this._words.get(word);
    const isNew = entry === undefined;
    if (isNew) {
      // A sentence's first word is capitalized whatever it is: its form says nothing until seen elsewhere.
      entry = { form: sentenceStart ? word : form, count: 0, tick: 0 };
      this._words.set(word, entry);
    } else if (!sentenceStart) {
      entry.form = form; // the latest way the user wrote it mid-sentence
    }
    entry.count = Math.min(entry.count + 1, MAX_COUNT);
    entry.tick = this._tick;
    this._learned += 1;
    if (isNew) this._index?.add(word, entry.count);
    else this._index?.bump(word);
    if (this._last !== null) {
      let successors = this._successors(this._last);
      if (!successors) this._pairs.set(this._last, (successors = new Map()));
      let pair = successors.get(word);
      if (!pair) {
        successors.set(word, (pair = { count: 0, tick: 0 }));
        this._pairCount += 1;
      }
      const before = pair.count;
      pair.count = Math.min(pair.count + 1, MAX_COUNT);
      pair.tick = this._tick;
      this._followed.set(this._last, (this._followed.get(this._last) ?? 0) + 1);
      if (pair.count !== before) this._ranked.get(this._last)?.bump(word, before);
    }
    this._last = word;
  }

  /** Forget a word (any casing) and every pair it is part of; whether it was known. */
  forget(word) {
    if (typeof word !== 'string') throw new TypeError(`word must be a string, not ${word === null ? 'null' : typeof word}`);
    const key = pyLower(word);
    if (!this._words.has(key)) return false;
    this.#dropWords(new Set([key]));
    return true;
  }

  /** prev's learned next words (Map word -> {count, tick}), read from the loaded file on first use. */
  _successors(prev) {
    let successors = this._pairs.get(prev);
    if (!successors && this._unread) {
      successors = this._unread.take(prev);
      if (successors) {
        this._pairs.set(prev, successors);
        let followed = 0;
        for (const { count } of successors.values()) followed += count;
        this._followed.set(prev, followed);
      }
    }
    return successors;
  }

  /** Every context into _pairs, in the order an eager read gives (the file's, then those new since), as Python's. */
  _readAll() {
    if (!this._unread) return;
    const pairs = new Map();
    for (const prev of this._unread.contexts()) pairs.set(prev, this._successors(prev));
    for (const [prev, successors] of this._pairs) if (!pairs.has(prev)) pairs.set(prev, successors);
    this._pairs = pairs;
    this._unread = null;
  }

  #dropWords(keys) {
    this._readAll();
    for (const key of keys) {
      this._learned -= this._words.get(key).count;
      this._words.delete(key);
      this._pairCount -= this._pairs.get(key)?.size ?? 0;
      this._pairs.delete(key);
      this._followed.delete(key);
    }
    for (const [prev, successors] of this._pairs) {
      for (const key of keys) {
        const pair = successors.get(key);
        if (!pair) continue;
        this._followed.set(prev, this._followed.get(prev) - pair.count);
        successors.delete(key);
        this._pairCount -= 1;
      }
      if (!successors.size) {
        this._pairs.delete(prev);
        this._followed.delete(prev);
      }
    }
    if (keys.has(this._last)) this._last = null;
    this._index = null;
    this._ranked = new Map();
  }

  /** Past maxEntries, drop the rarest and oldest entries down to 90 % of it (amortized: not every word). */
  #evict() {
    if (this._words.size + this._pairCount <= this.maxEntries) return;
    this._readAll();
    const entries = [];
    for (const [word, { count, tick }] of this._words) entries.push([count, tick, 0, word, '']);
    for (const [prev, successors] of this._pairs) {
      for (const [word, { count, tick }] of successors) entries.push([count, tick, 1, prev, word]);
    }
    entries.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || comparePoints(a[3], b[3]) || comparePoints(a[4], b[4]));
    const dropped = entries.slice(0, entries.length - Math.trunc(this.maxEntries * 0.9));
    const words = new Set(dropped.filter((entry) => !entry[2]).map((entry) => entry[3]));
    for (const [, , isPair, prev, word] of dropped) {
      if (!isPair || words.has(prev) || words.has(word)) continue;
      const successors = this._pairs.get(prev);
      this._followed.set(prev, this._followed.get(prev) - successors.get(word).count);
      successors.delete(word);
      this._pairCount -= 1;
    }
    this.#dropWords(words);
  }

  /** Entries kept: words plus pairs (Python's len(user)). */
  get size() {
    return this._words.size + this._pairCount;
  }

  /** word -> times learned. */
  get words() {
    return new Map([...this._words].map(([word, { count }]) => [word, count]));
  }

  /** How the user writes word, when not as its lowercase key; else null. */
  form(word) {
    const entry = this._words.get(word);
    return entry === undefined || entry.form === word ? null : entry.form;
  }

  weight() {
    return (WEIGHT * this._learned) / (this._learned + HALF_WEIGHT_AT);
  }

  /** P_user(w | previous) and the words worth scoring, for one suggestion (suggest.js): it reads the live
   *  tables, so it is used at once, with no await between (nothing can learn meanwhile). */
  scorer(previous) {
    this._index ??= new UserIndex(this._words);
    const successors = (previous && this._successors(previous)) || EMPTY_MAP;
    let ranked = null;
    if (successors.size) {
      ranked = this._ranked.get(previous);
      if (!ranked) this._ranked.set(previous, (ranked = new Successors(successors)));
    }
    return new Scorer(this._index, successors, ranked, this._followed.get(previous) ?? 0, this._learned, this.weight());
  }

  /** The file's bytes ("nextword-user 2", a sha256 line, the binary body of runtime/user_file.py): Python's save()
   *  writes these. */
  async toBytes() {
    this._readAll();
    const words = [...this._words.keys()];
    const position = new Map(words.map((word, i) => [word, i]));
    const pairs = [];
    for (const [prev, successors] of this._pairs) {
      for (const [word, { count, tick }] of successors) pairs.push([position.get(prev), position.get(word), count, tick]);
    }
    const entries = [...this._words.values()];
    const encoder = new TextEncoder();
    const wordsText = encoder.encode(words.map((word) => `${word}\n`).join(''));
    const formsText = encoder.encode(entries.map(({ form }, i) => `${form !== words[i] ? form : ''}\n`).join(''));
    const numbers = [this._tick, words.length, pairs.length, wordsText.length, formsText.length];
    // Loops, not push(...array): a spread of 100k arguments can overflow the call stack.
    for (const { count } of entries) numbers.push(count);
    for (const { tick } of entries) numbers.push(tick);
    for (let column = 0; column < 4; column++) for (const pair of pairs) numbers.push(pair[column]);
    const body = new Uint8Array(4 * numbers.length + wordsText.length + formsText.length);
    const view = new DataView(body.buffer);
    numbers.forEach((n, i) => view.setUint32(4 * i, n, true));
    body.set(wordsText, 4 * numbers.length);
    body.set(formsText, 4 * numbers.length + wordsText.length);
    const head = encoder.encode(`${USER_MAGIC} ${USER_VERSION}\nsha256:${await sha256Hex(body)}\n`);
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    return out;
  }

  /** Read a user model's bytes as strictly as a model file: any damage is a CorruptUserModelError. */
  static async fromBytes(bytes, { maxEntries = DEFAULT_MAX_ENTRIES, maxBytes = DEFAULT_MAX_USER_FILE_BYTES, source = 'user model' } = {}) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    const user = new this({ maxEntries });
    try {
      if (bytes.length > maxBytes) throw new CorruptUserModelError(`it is over the ${maxBytes}-byte limit`);
      await readInto(user, bytes, maxEntries);
    } catch (error) {
      if (error instanceof CorruptUserModelError) throw new CorruptUserModelError(`${source}: ${error.message}`);
      throw error;
    }
    return user;
  }
}

async function sha256Hex(bytes) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new InputError('the user model needs Web Crypto (crypto.subtle: Node 20, or a page served over https or localhost)');
  return [...new Uint8Array(await subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const corrupt = (message) => new CorruptUserModelError(message);

async function readInto(user, data, maxEntries) {
  const nl = data.indexOf(10);
  const header = nl < 0 ? data : data.subarray(0, nl);
  const rest = nl < 0 ? new Uint8Array(0) : data.subarray(nl + 1);
  const nl2 = rest.indexOf(10);
  const digestLine = nl2 < 0 ? rest : rest.subarray(0, nl2);
  const body = nl2 < 0 ? new Uint8Array(0) : rest.subarray(nl2 + 1);
  const latin = (bytes) => String.fromCharCode(...bytes.subarray(0, 80));
  if (!latin(header).startsWith(`${USER_MAGIC} `)) throw corrupt('not a nextword user model');
  const version = header.length === USER_MAGIC.length + 2 ? latin(header).slice(-1) : null;
  if (version !== '1' && version !== '2') {
    throw corrupt(`user model version ${JSON.stringify(latin(header.subarray(USER_MAGIC.length + 1, USER_MAGIC.length + 13)))}; this runtime reads 1 and 2`);
  }
  if (digestLine.length !== 71 || latin(digestLine) !== `sha256:${await sha256Hex(body)}`) throw corrupt('its checksum does not match (truncated or edited)');
  const columns = version === '1' ? columnsV1(body, maxEntries) : columnsV2(body, maxEntries);
  const { tick, words, forms, ints } = columns;
  // The words' Map is built before the checks: its size is the duplicate check (one set of strings, not two).
  for (let i = 0; i < words.length; i++) user._words.set(words[i], { form: forms[i] || words[i], count: ints.counts[i], tick: ints.ticks[i] });
  checkColumns(columns, user._words.size);
  user._learned = ints.counts.reduce((sum, count) => sum + count, 0);
  // The pairs stay in the file's columns until a context is read (as in Python): building a Map entry and an
  // object per pair up front was most of a 100k-entry load.
  if (ints.pair_words.length) user._unread = new UnreadPairs(words, ints);
  user._pairCount = ints.pair_words.length;
  user._tick = tick;
}

/** A loaded file's pairs grouped by context, each turned into a successor Map when first asked for. */
class UnreadPairs {
  constructor(words, ints) {
    const prevs = ints.pair_words;
    this.ends = new Uint32Array(words.length); // context i's rows end here in `order`
    for (let i = 0; i < prevs.length; i++) this.ends[prevs[i]] += 1;
    for (let i = 1; i < words.length; i++) this.ends[i] += this.ends[i - 1];
    this.order = new Uint32Array(prevs.length); // by context; within one, the file's order (a counting sort)
    const fill = new Uint32Array(words.length); // where context i's next row goes
    for (let i = 1; i < words.length; i++) fill[i] = this.ends[i - 1];
    for (let row = 0; row < prevs.length; row++) this.order[fill[prevs[row]]++] = row;
    this.position = null; // word -> index, built on the first take
    this.taken = new Set();
    this.words = words;
    this.ints = ints;
  }

  /** Every context of the file, in the order of its first pair there. */
  contexts() {
    const seen = new Set();
    const out = [];
    for (const i of this.ints.pair_words) {
      if (!seen.has(i)) {
        seen.add(i);
        out.push(this.words[i]);
      }
    }
    return out;
  }

  take(prev) {
    this.position ??= new Map(this.words.map((word, i) => [word, i]));
    const i = this.position.get(prev);
    if (i === undefined || this.taken.has(prev)) return null;
    const start = i ? this.ends[i - 1] : 0;
    if (start === this.ends[i]) return null;
    this.taken.add(prev);
    const { pair_next: nexts, pair_counts: counts, pair_ticks: ticks } = this.ints;
    const successors = new Map();
    for (let at = start; at < this.ends[i]; at++) {
      const row = this.order[at];
      successors.set(this.words[nexts[row]], { count: counts[row], tick: ticks[row] });
    }
    return successors;
  }
}

/** Version 2: the binary columns, their lengths checked against the head before anything is read. */
function columnsV2(body, maxEntries) {
  if (body.length < 4 * HEAD) throw corrupt(`its body is ${body.length} bytes, shorter than its ${4 * HEAD}-byte head`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const [tick, nWords, nPairs, wordsBytes, formsBytes] = Array.from({ length: HEAD }, (_, i) => view.getUint32(4 * i, true));
  if (nWords + nPairs > maxEntries) throw corrupt(`it holds ${nWords + nPairs} entries, over max_entries ${maxEntries}`);
  const nInts = 2 * nWords + 4 * nPairs;
  const expected = 4 * (HEAD + nInts) + wordsBytes + formsBytes;
  if (body.length !== expected) throw corrupt(`its body is ${body.length} bytes; its head says ${expected}`);
  const ints = {};
  let at = 4 * HEAD;
  INTEGER_COLUMNS.forEach((name, c) => {
    const n = c < 2 ? nWords : nPairs;
    // A copy is aligned for Uint32Array (the file's uint32s are little-endian, as every JS host is but a rare
    // big-endian one, which reads them one by one).
    ints[name] = LITTLE_ENDIAN ? new Uint32Array(body.slice(at, at + 4 * n).buffer) : Uint32Array.from({ length: n }, (_, i) => view.getUint32(at + 4 * i, true));
    at += 4 * n;
  });
  let wordsText;
  let formsText;
  try {
    // ignoreBOM: a BOM stays in the text, as Python's decoder keeps it.
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    wordsText = decoder.decode(body.subarray(at, at + wordsBytes));
    formsText = decoder.decode(body.subarray(at + wordsBytes));
  } catch {
    throw corrupt('its words are not UTF-8');
  }
  const words = wordsText ? wordsText.slice(0, -1).split('\n') : [];
  if ((wordsText && !wordsText.endsWith('\n')) || !words.every(validWord)) {
    throw corrupt(`a word is empty, longer than ${MAX_WORD_CHARS} or holds a separator`);
  }
  if (formsText && !formsText.endsWith('\n')) throw corrupt('its forms do not end a line');
  const forms = formsText ? formsText.slice(0, -1).split('\n') : [];
  if (words.length !== nWords || forms.length !== nWords) throw corrupt('its columns differ in length');
  return { tick, words, forms, ints };
}

/** Version 1 (older releases): the same columns as one JSON object, typed as Python's json reads them. */
function columnsV1(body, maxEntries) {
  let text;
  try {
    // ignoreBOM: a BOM stays in the text, and JSON refuses it, as Python does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    throw corrupt('its body is not UTF-8');
  }
  let doc;
  let isFloat;
  try {
    ({ value: doc, isFloat } = parseStrictJsonTyped(text, 'its body'));
  } catch (error) {
    throw corrupt(error.message);
  }
  const keys = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? Object.keys(doc) : null;
  const wanted = new Set(['tick', ...COLUMNS]);
  if (!keys || keys.length !== wanted.size || !keys.every((key) => wanted.has(key))) {
    throw corrupt(`its body is not an object of tick and ${COLUMNS.join(', ')}`);
  }
  const { tick } = doc;
  if (!isInteger(tick, ['tick'], isFloat) || !COLUMNS.every((name) => Array.isArray(doc[name]))) {
    throw corrupt('its tick or columns have the wrong type');
  }
  const { words, forms } = doc;
  const nWords = words.length;
  const nPairs = doc.pair_words.length;
  if (nWords + nPairs > maxEntries) throw corrupt(`it holds ${nWords + nPairs} entries, over max_entries ${maxEntries}`);
  if (COLUMNS.slice(0, 4).some((name) => doc[name].length !== nWords) || COLUMNS.slice(4).some((name) => doc[name].length !== nPairs)) {
    throw corrupt('its columns differ in length');
  }
  if (!words.every((w) => typeof w === 'string') || !forms.every((f) => typeof f === 'string')) throw corrupt('a word or form is not a string');
  if (!words.every(validWord)) throw corrupt(`a word is empty, longer than ${MAX_WORD_CHARS} or holds a separator`);
  if (words.some(hasLoneSurrogate) || forms.some(hasLoneSurrogate)) {
    throw corrupt('a word or form holds a lone surrogate (an escape JSON allows, UTF-8 cannot save)');
  }
  for (const name of INTEGER_COLUMNS) {
    if (!doc[name].every((value, i) => isInteger(value, [name, i], isFloat))) throw corrupt(`its ${name} are not all integers`);
    if (doc[name].some((value) => value < 0 || value > MAX_COUNT)) throw corrupt(`its ${name} are out of range`);
  }
  return { tick, words, forms, ints: Object.fromEntries(INTEGER_COLUMNS.map((name) => [name, doc[name]])) };
}

/** What both versions must hold: unique words and pairs, forms of their words, counts and ticks in range. */
/** distinct: how many different words the words column holds. */
function checkColumns({ tick, words, forms, ints }, distinct) {
  const nWords = words.length;
  if (tick < 0 || tick > MAX_COUNT) throw corrupt('its tick is out of range');
  if (distinct !== nWords) throw corrupt('a word appears twice');
  for (let i = 0; i < nWords; i++) {
    if (forms[i] && pyLower(forms[i]) !== words[i]) throw corrupt('a form does not lowercase to its word');
  }
  const limits = { counts: [1, MAX_COUNT], ticks: [0, tick], pair_words: [0, nWords - 1], pair_next: [0, nWords - 1], pair_counts: [1, MAX_COUNT], pair_ticks: [0, tick] };
  for (const [name, [low, high]] of Object.entries(limits)) {
    const column = ints[name];
    for (let i = 0; i < column.length; i++) if (column[i] < low || column[i] > high) throw corrupt(`its ${name} are out of range`);
  }
  // Each pair as one Number (below 2^53: no wrap), sorted: a repeat sits next to its twin (a typed sort, no Set).
  const { pair_words: prevs, pair_next: nexts } = ints;
  const keys = new Float64Array(prevs.length);
  for (let i = 0; i < prevs.length; i++) keys[i] = prevs[i] * Math.max(nWords, 1) + nexts[i];
  keys.sort();
  for (let i = 1; i < keys.length; i++) if (keys[i] === keys[i - 1]) throw corrupt('a pair appears twice');
}

// An integer as Python's json reads one: a number written without a fraction or an exponent (not true, not 1.0).
const isInteger = (value, path, isFloat) => Number.isInteger(value) && !isFloat(path);

// isWordPoint for the ASCII code points, looked up: most words are ASCII, and a load checks every word.
const ASCII_WORD_POINT = Uint8Array.from({ length: 128 }, (_, cp) => (isWordPoint(cp) ? 1 : 0));

function validWord(word) {
  let ascii = word.length <= MAX_WORD_CHARS;
  for (let i = 0; ascii && i < word.length; i++) {
    const unit = word.charCodeAt(i);
    if (unit >= 128) ascii = false;
    else if (!ASCII_WORD_POINT[unit]) return false;
  }
  if (ascii) return word.length > 0;
  let n = 0;
  for (const ch of word) {
    if (!isWordPoint(ch.codePointAt(0)) || ++n > MAX_WORD_CHARS) return false;
  }
  return n > 0;
}

/** The learned words in sorted order (by code point, as Python's) with their counts. */
class UserIndex {
  constructor(words) {
    this.keys = [...words.keys()].sort(comparePoints);
    this.counts = Float64Array.from(this.keys, (key) => words.get(key).count);
    this.countOf = new Map(this.keys.map((key, i) => [key, this.counts[i]])); // the same counts, one look-up away
    this.largest = this.counts.reduce((a, b) => Math.max(a, b), 0);
    const order = this.keys.map((_, i) => i).sort((a, b) => this.counts[b] - this.counts[a] || a - b);
    this.top = order.slice(0, UNIGRAM_CANDIDATES).map((i) => this.keys[i]);
    this.topByCount = null; // the same words by count, sorted when read
    // What completions read per typed prefix (the counts' sum over it; its most learned words per k), kept until a
    // word with that prefix is learned: the short prefixes recur word after word (Python's by_prefix).
    this.byPrefix = new Map();
  }

  at(word) {
    return bisectLeft(this.keys, word, 0);
  }

  count(word) {
    return this.countOf.get(word) ?? 0;
  }

  /** [word, count] of the most learned words, highest count first. */
  mostLearnedByCount() {
    this.topByCount ??= this.top.map((word) => [word, this.countOf.get(word)]).sort((a, b) => b[1] - a[1]);
    return this.topByCount;
  }

  /** One more of a known word: its count, and its place among the most learned. */
  bump(word) {
    this.counts[this.at(word)] += 1;
    this.countOf.set(word, this.countOf.get(word) + 1);
    this.#countRose(word);
  }

  /** A word learned for the first time, put in its place (Python's add): rebuilding the index instead sorted every
   *  learned word on the keystroke after each new one. */
  add(word, count) {
    const at = this.at(word);
    this.keys.splice(at, 0, word);
    const counts = new Float64Array(this.counts.length + 1);
    counts.set(this.counts.subarray(0, at));
    counts[at] = count;
    counts.set(this.counts.subarray(at), at + 1);
    this.counts = counts;
    this.countOf.set(word, count);
    this.#countRose(word);
  }

  /** word's count went up: what is kept by count and per prefix follows. */
  #countRose(word) {
    dropPrefixes(this.byPrefix, word);
    const count = this.countOf.get(word);
    this.largest = Math.max(this.largest, count);
    this.topByCount = null;
    if (this.top.includes(word)) return;
    if (this.top.length < UNIGRAM_CANDIDATES) {
      this.top.push(word);
      return;
    }
    let weakest = 0;
    for (let i = 1; i < this.top.length; i++) if (this.count(this.top[i]) < this.count(this.top[weakest])) weakest = i;
    if (this.count(word) > this.count(this.top[weakest])) this.top[weakest] = word;
  }

  range(prefix) {
    const lo = bisectLeft(this.keys, prefix, 0);
    return [lo, bisectLeft(this.keys, `${prefix}\u{10ffff}`, lo)];
  }

  #prefixEntry(prefix) {
    let entry = this.byPrefix.get(prefix);
    if (!entry) {
      makeRoom(this.byPrefix);
      this.byPrefix.set(prefix, (entry = { total: null, candidates: new Map() }));
    }
    return entry;
  }

  /** The counts' sum over the words that start with prefix (an integer, exact in float64). */
  total(prefix) {
    const entry = this.#prefixEntry(prefix);
    if (entry.total === null) {
      const [lo, hi] = this.range(prefix);
      let total = 0;
      for (let i = lo; i < hi; i++) total += this.counts[i];
      entry.total = total;
    }
    return entry.total;
  }

  /** The k most learned words that start with prefix, ties to the first in code-point order. */
  candidates(prefix, k) {
    const entry = this.#prefixEntry(prefix);
    let words = entry.candidates.get(k);
    if (!words) {
      const [lo, hi] = this.range(prefix);
      words = mostLearned(this.counts.subarray(lo, hi), k).map((i) => this.keys[lo + i]);
      entry.candidates.set(k, words);
    }
    return words;
  }
}

/** Forget what a per-prefix cache holds for every prefix of word (its count just changed). Every UTF-16 prefix,
 *  half pairs included: a typed prefix ending in half a pair is kept under its own key too. */
function dropPrefixes(cache, word) {
  if (!cache.size) return;
  for (let end = 1; end <= word.length; end++) cache.delete(word.slice(0, end));
}

/** A per-prefix cache holds at most PREFIX_CACHE prefixes: past it, it starts again. */
function makeRoom(cache) {
  if (cache.size >= PREFIX_CACHE) cache.clear();
}

/** The positions of the k largest counts, ties to the earlier (alphabetical) position (Python's most_learned). */
function mostLearned(counts, k) {
  const better = (a, b) => counts[a] > counts[b] || (counts[a] === counts[b] && a < b);
  const top = [];
  for (let i = 0; i < counts.length; i++) {
    if (top.length === k) {
      if (!better(i, top[k - 1])) continue;
      top.pop();
    }
    let at = top.length;
    while (at > 0 && better(i, top[at - 1])) at--;
    top.splice(at, 0, i);
  }
  return top;
}

/** Python's word.startswith(prefix): whole code points (a prefix ending in half a pair matches no pair). */
const startsWithPoints = (word, prefix) => word.startsWith(prefix)
  && !(prefix.length < word.length && prefix.length > 0 && isHighUnit(word.charCodeAt(prefix.length - 1)) && isLowUnit(word.charCodeAt(prefix.length)));
const isHighUnit = (unit) => unit >= 0xd800 && unit <= 0xdbff;
const isLowUnit = (unit) => unit >= 0xdc00 && unit <= 0xdfff;

/** One context's learned next words in two orders, kept up to date as pairs are learned (Python's
 *  _Successors): by count, highest first, and by spelling (code points), where a prefix is one range. */
class Successors {
  constructor(successors) {
    this.counts = successors; // word -> {count, tick}, the live table
    this.byCount = [...successors.keys()].sort((a, b) => successors.get(b).count - successors.get(a).count);
    this.at = new Map(this.byCount.map((word, i) => [word, i]));
    this.first = new Map(); // count -> where its run starts in byCount
    this.byCount.forEach((word, i) => {
      const count = successors.get(word).count;
      if (!this.first.has(count)) this.first.set(count, i);
    });
    this.spelled = [...successors.keys()].sort(comparePoints);
    // What a completion reads per typed prefix (the fitting successors' count sum, and the same words highest
    // count first), kept until one of them is learned again (Python's _Successors.by_prefix).
    this.byPrefix = new Map();
  }

  /** word's count went from `before` to before + 1: move it to the front of its old run. */
  bump(word, before) {
    dropPrefixes(this.byPrefix, word);
    if (before === 0) {
      this.at.set(word, this.byCount.length);
      this.byCount.push(word);
      if (!this.first.has(1)) this.first.set(1, this.byCount.length - 1);
      this.spelled.splice(bisectLeft(this.spelled, word, 0), 0, word);
      return;
    }
    const i = this.at.get(word);
    const j = this.first.get(before);
    const other = this.byCount[j];
    this.byCount[i] = other;
    this.byCount[j] = word;
    this.at.set(other, i);
    this.at.set(word, j);
    if (j + 1 < this.byCount.length && this.counts.get(this.byCount[j + 1]).count === before) this.first.set(before, j + 1);
    else this.first.delete(before);
    if (!this.first.has(before + 1)) this.first.set(before + 1, j);
  }

  /** [word, count] of the successors that start with prefix (whole code points), in spelling order. */
  *fitting(prefix) {
    if (prefix && isHighUnit(prefix.charCodeAt(prefix.length - 1))) {
      // Half a pair: such words are not one range in code-point order, and Python's rule matches none of them.
      for (const word of this.spelled) if (startsWithPoints(word, prefix)) yield [word, this.counts.get(word).count];
      return;
    }
    for (let at = bisectLeft(this.spelled, prefix, 0); at < this.spelled.length && this.spelled[at].startsWith(prefix); at++) {
      yield [this.spelled[at], this.counts.get(this.spelled[at]).count];
    }
  }

  /** [their counts' sum, [word, count] highest count first (ties in spelling order)] of the successors that
   *  start with prefix. */
  fittingByCount(prefix) {
    let entry = this.byPrefix.get(prefix);
    if (!entry) {
      makeRoom(this.byPrefix);
      const fits = [...this.fitting(prefix)].sort((a, b) => b[1] - a[1]); // stable, as Python's sorted
      let total = 0;
      for (const [, count] of fits) total += count;
      this.byPrefix.set(prefix, (entry = [total, fits]));
    }
    return entry;
  }
}

/** P_user(w | v) for one context, and the words worth scoring. */
class Scorer {
  constructor(index, successors, ranked, followed, learned, weight) {
    this.index = index;
    this.successors = successors; // word -> {count, tick}
    this.ranked = ranked; // the same words in order (Successors), null when the context has none
    this.followed = followed;
    this.learned = learned;
    this.weight = weight;
  }

  /** [word, count] of the most learned words, highest count first: next-word candidates. */
  unigramsByCount() {
    return this.index.mostLearnedByCount();
  }

  /** The k most learned words that fit prefix, ties to the first in code-point order: completion candidates. */
  unigramCandidates(prefix, k) {
    return this.index.candidates(prefix, k);
  }

  /** [their counts' sum, [word, count] highest count first] of the successors that fit prefix. */
  fittingByCount(prefix) {
    return this.ranked ? this.ranked.fittingByCount(prefix) : NO_FITS;
  }

  /** P_user of every learned word that fits prefix (pairs: the fitting successors' counts summed, when the caller
   *  has read them already, as Python's mass). */
  mass(prefix, pairs = this.fittingByCount(prefix)[0]) {
    if (!this.learned) return 0;
    return (pairs + (ALPHA * this.index.total(prefix)) / this.learned) / (this.followed + ALPHA);
  }
}

const NO_FITS = Object.freeze([0, Object.freeze([])]);
const EMPTY_MAP = new Map();

function bisectLeft(sorted, x, lo) {
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePoints(sorted[mid], x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
