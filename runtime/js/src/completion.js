// Completing the word being typed (Python: runtime/completion.py): the vocabulary's words in sorted order
// with their ids, built once per model, so the words starting with a prefix are one contiguous range found
// by two binary searches: no sort of the vocabulary per keystroke.
//
// Sorted by code point, as Python's str order: JavaScript's own order is UTF-16 units', which differs when
// a surrogate meets U+E000..U+FFFF ('\uff21' sorts before '😀' in Python, after it in UTF-16).

export class PrefixIndex {
  /** words[id] is the word of id; id 0 (padding), empty words and ids in skip (the OOV id) are left out. */
  constructor(words, skip = new Set()) {
    const order = [];
    words.forEach((word, id) => { if (id && word && !skip.has(id)) order.push([word, id]); });
    order.sort((a, b) => comparePoints(a[0], b[0]) || a[1] - b[1]);
    this.words = order.map(([word]) => word);
    this.ids = Int32Array.from(order, ([, id]) => id);
  }

  /** [lo, hi) of the positions whose word starts with prefix ('' is every word). */
  range(prefix) {
    const lo = bisectLeft(this.words, prefix, 0);
    return [lo, bisectLeft(this.words, `${prefix}\u{10ffff}`, lo)]; // the largest code point: past every extension
  }
}

/** The k ids of ids with the largest probs, highest first, ties to the lower id (as everywhere in nextword). */
export function topIds(probs, ids, k) {
  if (ids.length <= 16 * k) return Array.from(ids).sort((a, b) => probs[b] - probs[a] || a - b).slice(0, k);
  // A range of thousands and a handful wanted: one pass keeping the best k in order.
  const better = (a, b) => probs[a] > probs[b] || (probs[a] === probs[b] && a < b);
  const top = [];
  for (const id of ids) {
    if (top.length === k) {
      if (!better(id, top[k - 1])) continue;
      top.pop();
    }
    let at = top.length;
    while (at > 0 && better(id, top[at - 1])) at--;
    top.splice(at, 0, id);
  }
  return top;
}

/** Python's comparison of two strings: by code point, a lone surrogate being a code point of its own. */
export function comparePoints(a, b) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length; // a prefix sorts first (also when it ends in half a pair)
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  if (x < 0xd800 && y < 0xd800) return x - y;
  // Where surrogates are involved, compare code points: first the one starting one unit back when the shared
  // unit there is a high surrogate (i may then be the middle of a pair in one string or both), else the
  // ones starting at i.
  if (i > 0 && isHigh(a.charCodeAt(i - 1))) {
    const before = a.codePointAt(i - 1) - b.codePointAt(i - 1);
    if (before) return before;
  }
  return a.codePointAt(i) - b.codePointAt(i);
}

const isHigh = (unit) => unit >= 0xd800 && unit <= 0xdbff;

function bisectLeft(sorted, x, lo) {
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePoints(sorted[mid], x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
