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
PROB_SUM_TOLERANCE = 1e-3  # |sum - 1| of the warm-up distribution; float32 softmax over 10^5 ids errs ~1e-5
PROB_MAX = 1.0 + PROB_SUM_TOLERANCE  # any one probability, and the sum of the top k


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
        """A whole distribution per row: [rows, vocab_size], every value in [0, 1] (NaN fails both bounds)."""
        if probs.shape != (rows, self.vocab_size):
            raise CorruptModelError(
                f"{self.source}: the model returned probabilities of shape {list(probs.shape)[:4]} for {rows} "
                f"rows of a {self.vocab_size}-id vocabulary"
            )
        if probs.size and not (probs.min() >= 0.0 and probs.max() <= PROB_MAX):
            raise CorruptModelError(f"{self.source}: the model returned probabilities that are not finite in [0, 1]")
        return probs

    def checked_top(self, ids: list, probs: list) -> tuple[list, list]:
        """A graph's ranked ids and probabilities, as plain lists: ids must be words, probabilities finite and
        non-negative with a sum of at most 1 (the sum catches NaN and infinity, min() a negative value)."""
        if min(ids) < 1 or max(ids) >= self.vocab_size:  # a foreign graph's ids must still be words
            raise CorruptModelError(f"{self.source}: the model's top-k ids fall outside the vocabulary")
        if not 0.0 <= sum(probs) <= PROB_MAX or min(probs) < 0.0:
            raise CorruptModelError(f"{self.source}: the model's top-k probabilities are not finite and non-negative")
        return ids, probs

    def check_sum(self, probs: np.ndarray) -> None:
        """The warm-up's whole distribution must sum to 1, so a graph that is not a softmax fails at load."""
        total = float(probs.sum(dtype=np.float64))
        if not abs(total - 1.0) < PROB_SUM_TOLERANCE:
            raise CorruptModelError(f"{self.source}: the model's probabilities sum to {total:.6g}, not 1")
