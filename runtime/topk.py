"""The k largest of a distribution, exactly as a stable descending sort ranks them, without sorting it all
(JS twin: runtime/js/src/topk.js). Ties go to the lower id, as in the graphs' TopK and in metrics' ranks."""

from __future__ import annotations

import numpy as np

# Chunks for top_k_indices: enough that the floor is tight (a handful of candidates pass it), few enough
# that taking the chunk maxima stays one cheap pass over the row.
TOP_K_CHUNKS = 64


def chunk_starts(n: int) -> np.ndarray | None:
    """Offsets splitting n values into TOP_K_CHUNKS non-empty chunks; None when n is too small to pay off."""
    if n < 4 * TOP_K_CHUNKS:
        return None
    return np.linspace(0, n, TOP_K_CHUNKS, endpoint=False).astype(np.intp)


def top_k_indices(values: np.ndarray, k: int, starts: np.ndarray | None) -> np.ndarray:
    """Exactly np.argsort(-values, kind="stable")[:k] (largest first, ties to the lower index), without sorting all.

    Any floor that at least k entries reach holds the whole top k, so sorting just the entries at or above
    it is exact. np.partition finds the tightest floor but costs several times the model itself on a
    few-thousand-word row; the k-th largest of the chunk maxima is nearly as tight for a fraction of that.
    """
    if k >= len(values):
        return np.argsort(-values, kind="stable")
    if starts is not None and k <= len(starts) and len(values) > starts[-1]:
        maxima = np.maximum.reduceat(values, starts)
        floor = np.partition(maxima, len(maxima) - k)[len(maxima) - k]
    else:
        floor = np.partition(values, -k)[-k]
    candidates = np.flatnonzero(values >= floor)
    if len(candidates) < k:  # NaN reaches no floor: let the full sort place it last, as argsort does
        return np.argsort(-values, kind="stable")[:k]
    return candidates[np.argsort(-values[candidates], kind="stable")[:k]]
