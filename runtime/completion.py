"""Completing the word being typed: which vocabulary words start with the typed letters, without sorting the
vocabulary per keystroke (JS twin: runtime/js/src/completion.js).

Built once per model: the words (lowercase, as the tokenizer learned them) in sorted order with their ids, so the
words starting with a prefix are one contiguous range, found by two binary searches. Used by `suggest`
(runtime/suggest.py) and by `nextword evaluate`'s keystroke simulation, so both complete the same way.
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np


class PrefixIndex:
    def __init__(self, words: list[str], skip: set[int] = frozenset()):
        """words[id] is the word of id (id 0, padding, and ids in `skip`, such as the OOV id, are left out)."""
        order = sorted((word, i) for i, word in enumerate(words) if i and word and i not in skip)
        self.words = [word for word, _ in order]  # sorted: code point order, the same in Python and JS
        self.ids = np.array([i for _, i in order], dtype=np.int64)

    def range(self, prefix: str) -> tuple[int, int]:
        """[lo, hi) of the positions whose word starts with prefix ("" is every word)."""
        lo = bisect_left(self.words, prefix)
        hi = bisect_left(self.words, prefix + "\U0010ffff", lo)  # the largest code point: past every extension
        return lo, hi


def top_ids(probs: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """The k ids of `ids` with the largest probs, highest first, ties to the lower id (as everywhere in nextword).
    A floor from a partition bounds the candidates, so a range of thousands costs a partition, not a sort."""
    values = probs[ids]
    if len(ids) > k:
        floor = np.partition(values, len(values) - k)[len(values) - k]
        keep = values >= floor
        ids, values = ids[keep], values[keep]
    return ids[np.lexsort((ids, -values))][:k]
