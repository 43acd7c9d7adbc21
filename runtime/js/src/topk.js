// The k largest entries of a distribution, ids 1.. only (0 is padding), highest first, ties to the lower
// id: Python's stable argsort order. One pass keeping a small sorted list; k is a handful in practice.

export function topKIndices(row, k) {
  const n = row.length - 1;
  if (k >= n) {
    const all = Array.from({ length: n }, (_, i) => i + 1);
    return all.sort((a, b) => row[b] - row[a] || a - b);
  }
  const ids = [];
  for (let id = 1; id < row.length; id++) {
    const p = row[id];
    if (ids.length === k) {
      if (p <= row[ids[k - 1]]) continue; // not above the k-th: an equal later id loses the tie
      ids.pop();
    }
    let pos = ids.length;
    while (pos > 0 && row[ids[pos - 1]] < p) pos--;
    ids.splice(pos, 0, id);
  }
  return ids;
}
