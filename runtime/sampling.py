"""Choosing the next word of a generation, for every kind (JS twin: runtime/js/src/sampling.js): greedy takes
the first largest probability; sampling sharpens (T < 1) or flattens (T > 1) and may keep only the top k.
The OOV token is never chosen: it is a fine answer to "what comes next?" but not a word to write into text."""

from __future__ import annotations

import numpy as np


def sample(probs: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator) -> int:
    """Draw an index from probs sharpened (T < 1) or flattened (T > 1), optionally among the top_k only."""
    logits = np.log(np.maximum(probs, 1e-30)) / temperature
    if top_k is not None and top_k < len(logits):
        cutoff = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= cutoff, logits, -np.inf)
    weights = np.exp(logits - logits.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))


class Choice:
    """One generation's rule for the next id: strategy, temperature, top_k and its random stream."""

    def __init__(self, strategy: str, temperature: float, top_k: int | None, seed: int | None, oov_id: int | None):
        self.strategy, self.temperature, self.top_k, self.oov_id = strategy, temperature, top_k, oov_id
        self.rng = np.random.default_rng(seed)

    def fits_in(self, graph_k: int) -> bool:
        """Whether a graph's own top graph_k holds every candidate, the skipped OOV id included."""
        if self.strategy == "greedy":
            return graph_k > 0
        return self.top_k is not None and self.top_k + (self.oov_id is not None) <= graph_k

    def from_top(self, ids: np.ndarray, probs: np.ndarray) -> int | None:
        """The next id from a ranked top list, or None when skipping the OOV id left too few to choose from."""
        keep = ids != self.oov_id if self.oov_id is not None else np.ones(len(ids), bool)
        ids, probs = ids[keep], probs[keep].astype(np.float64)
        if len(ids) and self.strategy == "greedy":
            return int(ids[0])
        if len(ids) >= (self.top_k or 0) > 0:
            return int(ids[sample(probs[: self.top_k], self.temperature, None, self.rng)])
        return None

    def from_probs(self, probs: np.ndarray) -> int:
        """The next id from a whole distribution [vocab] (id 0, padding or the start id, is never a word)."""
        words = probs[1:].astype(np.float64)
        if self.oov_id is not None and len(words) > 1:
            words[self.oov_id - 1] = 0.0
        if self.strategy == "greedy":
            return int(np.argmax(words)) + 1
        return sample(words, self.temperature, self.top_k, self.rng) + 1
