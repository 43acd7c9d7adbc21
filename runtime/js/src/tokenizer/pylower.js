// Python's str.lower in JavaScript, from Python's own tables (see scripts/make_unicode_tables.py for why
// not toLowerCase). Strings are taken as Python would see them after JSON: a surrogate pair is one code
// point, a lone surrogate is a code point of its own (and lowercases to itself).
import { CASED, CASE_IGNORABLE, LOWER_MULTI, LOWER_RUNS } from './unicode-tables.js';

const SIGMA = 0x3a3;
const SMALL_SIGMA = 'σ';
const FINAL_SIGMA = 'ς';

// code point -> lowercase string, for every code point that changes; built once (1,433 entries).
const LOWER = caseMap(LOWER_RUNS, LOWER_MULTI);

/** code point -> changed string, from a table's runs and multi-code-point entries (unicode-tables.js). */
export function caseMap(runs, multi) {
  const map = new Map();
  for (let i = 0; i < runs.length; i += 4) {
    const [start, count, stride, delta] = runs.slice(i, i + 4);
    for (let n = 0; n < count; n++) {
      const c = start + n * stride;
      map.set(c, String.fromCodePoint(c + delta));
    }
  }
  for (const [c, points] of Object.entries(multi)) map.set(Number(c), String.fromCodePoint(...points));
  return map;
}

const ASCII = /^[\x00-\x7f]*$/;

/** text.lower() as Python computes it. */
export function pyLower(text) {
  // ASCII lowercases identically everywhere, and is almost all real input: keep it on the fast path.
  if (ASCII.test(text)) return text.toLowerCase();
  const points = codePoints(text);
  let out = '';
  for (let i = 0; i < points.length; i++) {
    const c = points[i];
    if (c === SIGMA) out += finalSigma(points, i) ? FINAL_SIGMA : SMALL_SIGMA;
    else out += LOWER.get(c) ?? String.fromCodePoint(c);
  }
  return out;
}

/** The code points of a JS string, a lone surrogate being one of its own (as for...of yields them). */
export function codePoints(text) {
  const out = [];
  for (const ch of text) out.push(ch.codePointAt(0));
  return out;
}

// CPython's rule (unicodeobject.c, handle_capital_sigma): Σ is final when a cased letter precedes it,
// skipping case-ignorable ones, and no cased letter follows it, skipping case-ignorable ones.
function finalSigma(points, i) {
  let j = i - 1;
  while (j >= 0 && inRanges(CASE_IGNORABLE, points[j])) j--;
  if (j < 0 || !inRanges(CASED, points[j])) return false;
  j = i + 1;
  while (j < points.length && inRanges(CASE_IGNORABLE, points[j])) j++;
  return j === points.length || !inRanges(CASED, points[j]);
}

/** Whether c is in one of the [first, last]* ranges of a table (sorted, disjoint). */
export function inRanges(ranges, c) {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < ranges[2 * mid]) hi = mid - 1;
    else if (c > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}
