// text_to_word_sequence and char-level splitting with Python's semantics: str.translate and str.split work
// on code points, JavaScript's replace/split on UTF-16 units. The two agree unless a lone surrogate is in
// play (a filter or split string could then match half of a pair, or a replacement could join two halves
// into one character), so such inputs take a slower path on code point arrays.
import { codePoints, pyLower } from './pylower.js';

const LONE_SURROGATE = /[\ud800-\udfff]/u; // with the u flag, a valid pair is one code point and never matches

/** Words of text: lowercased, every filter character replaced by split, split on split, empties dropped.
 *  Each word is {text, key}: key is null when the word cannot be a vocabulary word (see pointsToWord). */
export function textToWords(text, { filters, lower, split }) {
  const lowered = lower ? pyLower(text) : text;
  if (!LONE_SURROGATE.test(lowered) && !LONE_SURROGATE.test(split) && !LONE_SURROGATE.test(filters)) {
    const pattern = filterPattern(filters);
    const translated = pattern ? lowered.replace(pattern, () => split) : lowered;
    return translated.split(split).filter((w) => w !== '').map((w) => ({ text: w, key: w }));
  }
  const filterSet = new Set(codePoints(filters));
  const splitPoints = codePoints(split);
  const points = [];
  for (const c of codePoints(lowered)) {
    if (filterSet.has(c)) points.push(...splitPoints);
    else points.push(c);
  }
  return splitPoints_(points, splitPoints).filter((w) => w.length > 0).map(pointsToWord);
}

/** char_level: every code point of the (lowercased) text is a token; filters do not apply (as in Python). */
export function textToChars(text, { lower }) {
  const lowered = lower ? pyLower(text) : text;
  return codePoints(lowered).map((c) => pointsToWord([c]));
}

// One regex per filters string (a character class, u flag: it matches code points as translate does),
// built once: every call of a predictor uses the same filters.
const patternCache = new Map();
function filterPattern(filters) {
  if (filters === '') return null;
  let pattern = patternCache.get(filters);
  if (!pattern) {
    const escaped = [...filters].map((ch) => `\\u{${ch.codePointAt(0).toString(16)}}`).join('');
    pattern = new RegExp(`[${escaped}]`, 'gu');
    if (patternCache.size > 16) patternCache.clear();
    patternCache.set(filters, pattern);
  }
  return pattern;
}

// Python's str.split(sep): non-overlapping matches, left to right, on code points.
function splitPoints_(points, sep) {
  const parts = [];
  let start = 0;
  let i = 0;
  while (i + sep.length <= points.length) {
    let match = true;
    for (let j = 0; j < sep.length; j++) {
      if (points[i + j] !== sep[j]) { match = false; break; }
    }
    if (match) {
      parts.push(points.slice(start, i));
      i += sep.length;
      start = i;
    } else {
      i++;
    }
  }
  parts.push(points.slice(start));
  return parts;
}

// A Python word with a lone high surrogate right before a lone low one has no JavaScript string of its
// own: the two units read back as one astral character. Such a word can never be in a vocabulary loaded
// from JSON (JSON decoding joins the pair in Python too), so it gets no lookup key.
function pointsToWord(points) {
  const text = fromPoints(points);
  for (let i = 0; i + 1 < points.length; i++) {
    if (points[i] >= 0xd800 && points[i] <= 0xdbff && points[i + 1] >= 0xdc00 && points[i + 1] <= 0xdfff) {
      return { text, key: null };
    }
  }
  return { text, key: text };
}

function fromPoints(points) {
  let out = '';
  // In slices: spreading a long word into one call would exceed the engine's argument limit.
  for (let i = 0; i < points.length; i += 4096) out += String.fromCodePoint(...points.slice(i, i + 4096));
  return out;
}
