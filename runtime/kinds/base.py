"""What every model kind shares: its engine, its vocabulary width, and the checks on what comes out of a graph.

A kind (window.py, sequence.py) turns ids into next-word distributions for its kind of graph, behind one
interface (the JS runtime's runtime/js/src/kinds/ has the same one):

    check_signature()              the engine's ports against the bundled config, at load
    warm_up()                      one engine call whose whole distribution must sum to 1
    begin(ids, full=False)         the state after reading a text's ids (window: a context; sequence: a Step)
    advance(state, ids, full=False)  the state after more ids
    top(state, k)                  (ids, probs): the k likeliest ids after state, highest first
    probs(state)                   the whole distribution [vocab] after state
    choose(state, choice)          the next id of a generation (runtime/sampling.py)
    top_batch(id_lists, k, batch_size)  top() for many texts, in as few engine calls as the kind allows
    probabilities(contexts) / stream_reader(ids)   evaluation (each kind serves one, refuses the other)
    session(predictor)             the kind's own state object (sequence kind only)

The Predictor (runtime/predictor.py) does everything above the kind: text, words, k and suggestions.
"""

from __future__ import annotations

import numpy as np
from nextword.runtime.errors import CorruptModelError
from nextword.runtime.signature import check_vocabulary_width
from nextword.runtime.topk import chunk_starts, top_k_indices

# What comes out of a graph is checked too: a file can hold any graph the allowlist admits.
PROB_SUM_TOLERANCE = 1e-3  # |sum - 1| of every distribution; float32 softmax over 10^5 ids errs ~1e-5
PROB_MAX = 1.0 + PROB_SUM_TOLERANCE  # any one probability, and the sum of the top k
# A graph's TopK reads its softmax's own tensor: equal to the distribution's values in every export (measured
# 0.0 on both formats, float32 and float16); this absorbs float32 rounding should an engine fuse them apart.
TOP_MATCH_TOLERANCE = 1e-6


class KindModel:
    name = ""

    def __init__(self, engine, bundle, source: str):
        self.engine = engine
        self.config = bundle.config
        self.source = source
        self.vocab_size = bundle.config.vocab_size
        self.top_k = engine.roles.top_k  # how many ranked ids the graph returns itself (0: none)
        self._chunk_starts = chunk_starts(self.vocab_size - 1)

    def check_vocabulary(self) -> None:
        check_vocabulary_width(self.engine, self.config, self.source)

    # --- ranking ----------------------------------------------------------------------------------------
    def ranked(self, probs: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        """The k likeliest ids of a whole distribution (id 0, padding, is never one), ties to the lower id."""
        words = probs[1:]  # a view
        top = top_k_indices(words, k, self._chunk_starts)
        return (top + 1).tolist(), words[top].tolist()

    # --- output checks ----------------------------------------------------------------------------------
    def checked_probs(self, probs: np.ndarray, rows: int) -> np.ndarray:
        """A whole distribution per row: [rows, vocab_size], every value in [0, 1] (NaN fails both bounds),
        each row summing to 1 (one reduction: a graph can halve or double its softmax after the warm-up)."""
        if probs.shape != (rows, self.vocab_size):
            raise CorruptModelError(
                f"{self.source}: the model returned probabilities of shape {list(probs.shape)[:4]} for {rows} "
                f"rows of a {self.vocab_size}-id vocabulary"
            )
        if probs.size and not (probs.min() >= 0.0 and probs.max() <= PROB_MAX):
            raise CorruptModelError(f"{self.source}: the model returned probabilities that are not finite in [0, 1]")
        if probs.size:
            self.check_sum(probs)
        return probs

    def checked_top(self, ids: list, probs: list) -> tuple[list, list]:
        """A graph's ranked ids and probabilities, as plain lists: ids must be distinct words, probabilities
        finite, non-negative, highest first, with a sum of at most 1 (the sum catches NaN and infinity, min() a
        negative value). k numbers: plain Python comparisons, cheaper than any numpy call."""
        if min(ids) < 1 or max(ids) >= self.vocab_size:  # a foreign graph's ids must still be words
            raise CorruptModelError(f"{self.source}: the model's top-k ids fall outside the vocabulary")
        if not 0.0 <= sum(probs) <= PROB_MAX or min(probs) < 0.0:
            raise CorruptModelError(f"{self.source}: the model's top-k probabilities are not finite and non-negative")
        if any(a < b for a, b in zip(probs, probs[1:])):
            raise CorruptModelError(f"{self.source}: the model's top-k probabilities are not highest first")
        if len(set(ids)) != len(ids):
            raise CorruptModelError(f"{self.source}: the model's top-k ids repeat a word")
        return ids, probs

    def check_top_against_probs(self, top_probs: np.ndarray, top_ids: np.ndarray, probs: np.ndarray) -> None:
        """When one call returned both, the top-k [rows, K] must be the distribution's [rows, vocab]: each top
        probability the distribution's value for its id, and the first one the largest of the words."""
        if len(probs) == 1:  # one text, each typed word: K numbers in plain Python beat numpy's per-call cost
            row, ids, tops = probs[0], top_ids[0].tolist(), top_probs[0].tolist()
            if min(ids) < 1 or max(ids) >= self.vocab_size:
                raise CorruptModelError(f"{self.source}: the model's top-k ids fall outside the vocabulary")
            looked_up, largest = row[top_ids[0]].tolist(), float(row[1:].max())
            agree = all(abs(a - b) <= TOP_MATCH_TOLERANCE for a, b in zip(looked_up, tops))
            agree = agree and tops[0] >= largest - TOP_MATCH_TOLERANCE
        else:
            if top_ids.min() < 1 or top_ids.max() >= self.vocab_size:
                raise CorruptModelError(f"{self.source}: the model's top-k ids fall outside the vocabulary")
            looked_up = np.take_along_axis(probs, top_ids, axis=1)
            agree = (np.abs(looked_up - top_probs) <= TOP_MATCH_TOLERANCE).all()
            agree = agree and (top_probs[:, 0] >= probs[:, 1:].max(axis=1) - TOP_MATCH_TOLERANCE).all()
        if not agree:  # NaN never agrees
            raise CorruptModelError(f"{self.source}: the model's top-k disagrees with its own distribution")

    def check_sum(self, probs: np.ndarray) -> None:
        """Every distribution (the last axis) must sum to 1, so a graph that is not a softmax fails at load and
        on any later call (NaN fails too)."""
        for total in np.atleast_1d(probs.sum(axis=-1, dtype=np.float64)).tolist():
            if not abs(total - 1.0) < PROB_SUM_TOLERANCE:
                raise CorruptModelError(f"{self.source}: the model's probabilities sum to {total:.6g}, not 1")
