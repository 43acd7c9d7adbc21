// The rest of Python's str that display casing needs: upper(), isupper() of one letter and the whitespace
// strip() and rstrip() remove, from Python's own tables (scripts/make_unicode_tables.py says why not
// toUpperCase, \p{Uppercase} or trimEnd: each disagrees with Python on some code points).
import { UPPERCASE, UPPER_MULTI, UPPER_RUNS, WHITESPACE } from './unicode-tables.js';
import { caseMap, inRanges } from './pylower.js';

// code point -> uppercase string, for every code point that changes ('ß' -> 'SS', 'ŉ' -> 'ʼN'); built once.
const UPPER = caseMap(UPPER_RUNS, UPPER_MULTI);
const ASCII = /^[\x00-\x7f]*$/;

/** text.upper() as Python computes it (code point by code point: Python's upper has no context rules). */
export function pyUpper(text) {
  if (ASCII.test(text)) return text.toUpperCase();
  let out = '';
  for (const ch of text) out += UPPER.get(ch.codePointAt(0)) ?? ch;
  return out;
}

/** text[:1].isupper(): whether the first code point is an uppercase letter. */
export function startsUpper(text) {
  return text !== '' && inRanges(UPPERCASE, text.codePointAt(0));
}

/** text[:1].upper() + text[1:]: the first code point uppercased, the rest as it is. */
export function capitalizeFirst(text) {
  if (text === '') return text;
  const first = String.fromCodePoint(text.codePointAt(0)); // a pair, or one unit (a lone surrogate too)
  return pyUpper(first) + text.slice(first.length);
}

// Every Python whitespace character is in the BMP, so UTF-16 units can be tested one by one.
const isSpace = (unit) => inRanges(WHITESPACE, unit);

/** text.rstrip() as Python computes it. */
export function pyRstrip(text) {
  let end = text.length;
  while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(0, end);
}

/** not text.strip(): nothing but Python whitespace (or nothing at all). */
export function isBlank(text) {
  for (let i = 0; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}
