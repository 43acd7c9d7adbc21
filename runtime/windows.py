"""Token ids -> training windows, vectorized: each window of seq_len ids is (context, next word)."""

from __future__ import annotations

import numpy as np
from nextword.runtime.errors import InputError


def make_windows(ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """ids [n] -> contexts [n - seq_len + 1, seq_len - 1] int32 and targets [n - seq_len + 1] int32.

    A strided view does the slicing in C; only the final copy touches memory, so a
    million-word corpus is windowed in milliseconds instead of a Python loop's seconds.
    """
    ids = np.asarray(ids, dtype=np.int32)
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {ids.shape}")
    if seq_len < 2:
        raise InputError(f"seq_len must be at least 2, got {seq_len}")
    if len(ids) < seq_len:
        raise InputError(f"the corpus has {len(ids)} known words, fewer than seq_len={seq_len}")
    windows = np.lib.stride_tricks.sliding_window_view(ids, seq_len)
    return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(windows[:, -1])


def split_train_holdout(n_windows: int, validation_split: float) -> int:
    """Index of the first held-out window: the last fraction of the text, as Keras' validation_split takes it.

    Training, export validation and evaluation all use this one split, so 'held-out' means the same
    windows everywhere.
    """
    n_holdout = int(n_windows * validation_split)
    return n_windows - n_holdout


def split_stream(n_ids: int, validation_split: float) -> int:
    """The sequence kind's split: index of the first held-out id, the last fraction of the text."""
    return n_ids - int(n_ids * validation_split)
