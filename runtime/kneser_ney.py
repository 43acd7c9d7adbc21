"""Interpolated Kneser-Ney n-gram model over token ids: the baseline the neural model must beat.

It sees the same integer ids as the network, so both are scored on identical windows.

Why these formulas (h is a context, w a word, D_k the discount of order k):

* Highest order n uses raw counts c(h w). Subtracting D_n from every seen count frees
  D_n * N1+(h .) / c(h) of probability mass (N1+(h .) = number of distinct words seen after h),
  which goes to the next lower order. So seen events keep most of their mass and unseen ones get
  a share proportional to how often h was followed by something new.
* Lower orders k < n use continuation counts N1+(. h w): the number of distinct words seen
  before h w. A lower order is only consulted when the longer context was not decisive, so it
  should ask "how many contexts does w complete?" rather than "how often does w occur?"
  (a word frequent after a single context, e.g. "Francisco" after "San", is a poor guess elsewhere).
  The discounting and the mass handed down are as above with c replaced by N1+.
* Order 1 hands its freed mass to a uniform distribution over ids 1..V-1, so every word has
  non-zero probability. Id 0 (padding) is never predicted: its probability is always 0.
* D_k defaults to n1 / (n1 + 2 n2), with n1, n2 the number of order-k n-grams whose (raw or
  continuation) count is 1 or 2: the leaving-one-out estimate of how much a count overstates a
  word's future frequency. It is clipped into [MIN_DISCOUNT, MAX_DISCOUNT] because on tiny
  corpora the estimate reaches 0 (nothing handed down, unseen words get 0) or 1.
* A context never seen at order k hands all its mass down (P_k = P_{k-1}).

Id 0 in the training stream is a boundary: no n-gram crosses it, and the word after it counts
one distinct left neighbour (the boundary) so segment-initial words still earn continuation
counts. A query context is cut at its rightmost 0 (left padding), which backs off to the
shorter context.
"""

from __future__ import annotations

import numpy as np
from nextword.runtime.errors import InputError
from numpy.lib.stride_tricks import sliding_window_view

MIN_DISCOUNT = 0.05
MAX_DISCOUNT = 0.95
_INT64_MAX = np.iinfo(np.int64).max


class _OrderTable:
    """Everything order k needs at query time: context keys, and per context a slice of
    (word, discounted weight) pairs plus the mass gamma handed to order k-1."""

    def __init__(self, context_keys, starts, ends, gammas, words, weights):
        self.context_keys = context_keys  # sorted int64 keys of the contexts (length k-1)
        self.starts = starts  # words[starts[i]:ends[i]] were seen after context i
        self.ends = ends
        self.gammas = gammas  # mass context i hands to the lower order
        self.words = words
        self.weights = weights  # max(count - D, 0) / total count of the context


def _key_dtype(vocab_size: int, order: int):
    """int64 keys while V**order fits; beyond that (a 5-gram over more than 6,208 words) Python integers in
    object arrays: several times slower to sort, but exact for any vocabulary."""
    return np.int64 if vocab_size**order <= _INT64_MAX else object


def _encode(columns: np.ndarray, vocab_size: int, dtype=np.int64) -> np.ndarray:
    """Base-V integer key of each row: keeps n-gram tables as sorted 1-D arrays."""
    keys = np.zeros(columns.shape[0], dtype=dtype)
    for column in columns.T:
        keys = keys * vocab_size + column.astype(dtype)
    return keys


def _estimate_discount(counts: np.ndarray) -> float:
    n1 = int(np.count_nonzero(counts == 1))
    n2 = int(np.count_nonzero(counts == 2))
    estimate = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else MAX_DISCOUNT
    return float(np.clip(estimate, MIN_DISCOUNT, MAX_DISCOUNT))


class KneserNey:
    """An interpolated Kneser-Ney model; build it with KneserNey.fit."""

    def __init__(
        self, vocab_size: int, order: int, discounts: tuple, tables: list, unigram: np.ndarray, key_dtype, min_count=1
    ):
        self.vocab_size = vocab_size
        self.min_count = min_count  # entries counted fewer times were dropped (pruned)
        self.key_dtype = key_dtype
        self.order = order
        self.discounts = discounts  # discounts[k - 1] is D_k
        self._tables = tables  # tables[k - 2] serves order k >= 2
        self._unigram = unigram  # P_1 over the whole vocabulary, 0 at id 0

    @classmethod
    def fit(cls, ids: np.ndarray, vocab_size: int, order: int, discount: float | None = None) -> KneserNey:
        """Count a 1-D stream of ids in 0..vocab_size-1; order is n (context length n - 1)."""
        stream = np.asarray(ids)
        if stream.ndim != 1 or not np.issubdtype(stream.dtype, np.integer):
            raise InputError(f"ids must be a 1-D integer array, got shape {stream.shape} dtype {stream.dtype}")
        if not isinstance(order, (int, np.integer)) or order < 1:
            raise InputError(f"order must be a positive integer, got {order!r}")
        if not isinstance(vocab_size, (int, np.integer)) or vocab_size < 2:
            raise InputError(f"vocab_size must be at least 2 (padding plus one word), got {vocab_size!r}")
        if stream.size and (stream.min() < 0 or stream.max() >= vocab_size):
            raise InputError(f"ids must lie in 0..{vocab_size - 1}, found {stream.min()}..{stream.max()}")
        if discount is not None and not 0.0 < discount < 1.0:
            raise InputError(f"discount must lie strictly between 0 and 1, got {discount!r}")

        # A leading boundary gives the first word a left neighbour, like every later segment start.
        padded = np.concatenate([np.zeros(1, dtype=np.int64), stream.astype(np.int64)])
        key_dtype = _key_dtype(vocab_size, order)
        discounts, tables, unigram = [], [], None
        for k in range(1, order + 1):
            keys, counts = _order_counts(padded, k, top=(k == order), vocab_size=vocab_size, dtype=key_dtype)
            d = discount if discount is not None else _estimate_discount(counts)
            discounts.append(float(d))
            if k == 1:
                unigram = _unigram_distribution(keys.astype(np.int64), counts, d, vocab_size)
            else:
                tables.append(_build_table(keys, counts, d, vocab_size))
        return cls(int(vocab_size), int(order), tuple(discounts), tables, unigram, key_dtype)

    @property
    def entries(self) -> int:
        """(context, word) pairs held at orders >= 2: what a copy of this model inside a file would weigh."""
        return sum(len(table.words) for table in self._tables)

    def pruned(self, min_count: int) -> KneserNey:
        """The same model without the entries of orders >= 2 counted fewer than min_count times (raw counts at
        the top order, continuation counts below). What an entry held goes to its context's backoff mass, so
        every distribution still sums to 1; a context left with no entry backs off whole. Counts are read back
        from the fitted weights, so only a fitted model can be pruned."""
        if not isinstance(min_count, (int, np.integer)) or isinstance(min_count, bool) or min_count < 1:
            raise InputError(f"min_count must be a positive integer, got {min_count!r}")
        if self.min_count != 1:
            raise InputError("this model is pruned already: prune the fitted model with the larger min_count")
        if min_count == 1:
            return self  # every entry was counted at least once: nothing to drop
        tables = []
        for k, table in enumerate(self._tables, start=2):
            discount, types = self.discounts[k - 1], table.ends - table.starts
            totals = discount * types / table.gammas  # gamma = D * types / total (_build_table)
            context = np.repeat(np.arange(len(types)), types)
            counts = np.rint(table.weights * totals[context] + discount)  # weight = (count - D) / total
            keep = counts >= min_count
            kept = np.bincount(context[keep], minlength=len(types))
            held = np.bincount(context[keep], weights=table.weights[keep], minlength=len(types))
            has = kept > 0
            ends = np.cumsum(kept[has])
            tables.append(
                _OrderTable(
                    table.context_keys[has],
                    ends - kept[has],
                    ends,
                    (1.0 - held)[has],
                    table.words[keep],
                    table.weights[keep],
                )
            )
        return KneserNey(
            self.vocab_size, self.order, self.discounts, tables, self._unigram, self.key_dtype, int(min_count)
        )

    def probs(self, context_ids: np.ndarray) -> np.ndarray:
        """P(w | context) for every id w, shape [vocab_size]; uses the last order-1 ids,
        and a shorter context simply backs off."""
        context = np.asarray(context_ids)
        if context.ndim != 1:
            raise InputError(f"context_ids must be 1-D, got shape {context.shape}")
        return self.probs_batch(context[None, :])[0]

    def probs_batch(self, contexts: np.ndarray) -> np.ndarray:
        """Rows of P(w | context), shape [N, vocab_size] float64. Memory is N * vocab_size * 8
        bytes, so callers score large sets in chunks (metrics.evaluate_windows does)."""
        contexts = self._normalize_contexts(contexts)
        n = contexts.shape[0]
        probs = np.tile(self._unigram, (n, 1))
        usable = np.ones(n, dtype=bool)  # False once a 0 has entered the context window
        rows_all = np.arange(n)
        for k, table in enumerate(self._tables, start=2):
            if k - 1 > contexts.shape[1]:
                break
            usable &= contexts[:, -(k - 1)] != 0
            if table.context_keys.size == 0:
                continue
            keys = _encode(contexts[:, -(k - 1) :], self.vocab_size, self.key_dtype)
            slot = np.searchsorted(table.context_keys, keys)
            slot_clipped = np.minimum(slot, len(table.context_keys) - 1)
            found = usable & (table.context_keys[slot_clipped] == keys)
            rows, ctx = rows_all[found], slot_clipped[found]
            if rows.size == 0:
                continue
            scale = np.ones(n)
            scale[rows] = table.gammas[ctx]
            probs *= scale[:, None]
            # Gather every (row, seen word) pair without a Python loop over rows.
            starts, lengths = table.starts[ctx], table.ends[ctx] - table.starts[ctx]
            offsets = np.cumsum(lengths) - lengths
            entry = np.arange(lengths.sum()) - np.repeat(offsets - starts, lengths)
            probs[np.repeat(rows, lengths), table.words[entry]] += table.weights[entry]
        return probs

    def _normalize_contexts(self, contexts: np.ndarray) -> np.ndarray:
        contexts = np.asarray(contexts)
        if contexts.ndim != 2 or not (np.issubdtype(contexts.dtype, np.integer) or contexts.size == 0):
            raise InputError(f"contexts must be a 2-D integer array, got {contexts.shape} {contexts.dtype}")
        contexts = contexts.astype(np.int64)
        if contexts.size and (contexts.min() < 0 or contexts.max() >= self.vocab_size):
            low, high = contexts.min(), contexts.max()
            raise InputError(f"context ids must lie in 0..{self.vocab_size - 1}, found {low}..{high}")
        width = self.order - 1
        if contexts.shape[1] >= width:
            return contexts[:, contexts.shape[1] - width :]
        return contexts


def _order_counts(padded: np.ndarray, k: int, *, top: bool, vocab_size: int, dtype):
    """Sorted unique k-gram keys with their raw counts (top order) or continuation counts."""
    if top:
        grams = sliding_window_view(padded, k) if padded.size >= k else np.empty((0, k), np.int64)
        grams = grams[np.all(grams != 0, axis=1)]
        return np.unique(_encode(grams, vocab_size, dtype), return_counts=True)
    # Distinct (k+1)-grams whose left neighbour may be the boundary 0; each one is one
    # distinct left context of its last k ids.
    grams = sliding_window_view(padded, k + 1) if padded.size >= k + 1 else np.empty((0, k + 1), np.int64)
    grams = grams[np.all(grams[:, 1:] != 0, axis=1)]
    distinct = np.unique(_encode(grams, vocab_size, dtype))
    return np.unique(distinct % vocab_size**k, return_counts=True)


def _build_table(keys: np.ndarray, counts: np.ndarray, discount: float, vocab_size: int) -> _OrderTable:
    context_of = keys // vocab_size
    context_keys, starts, types = np.unique(context_of, return_index=True, return_counts=True)
    totals = np.add.reduceat(counts, starts).astype(np.float64) if starts.size else np.zeros(0)
    totals_per_gram = np.repeat(totals, types)
    weights = np.maximum(counts - discount, 0.0) / totals_per_gram
    gammas = discount * types / totals if starts.size else np.zeros(0)
    return _OrderTable(context_keys, starts, starts + types, gammas, (keys % vocab_size).astype(np.int64), weights)


def _unigram_distribution(keys: np.ndarray, counts: np.ndarray, discount: float, vocab_size: int) -> np.ndarray:
    uniform = np.full(vocab_size, 1.0 / (vocab_size - 1))
    uniform[0] = 0.0
    total = counts.sum()
    if total == 0:
        return uniform  # an empty stream knows nothing beyond the vocabulary size
    probs = discount * keys.size / total * uniform
    probs[keys] += np.maximum(counts - discount, 0.0) / total
    return probs
