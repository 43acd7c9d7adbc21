"""Model quality on next-word windows: perplexity and top-k accuracy for any probability function,
so the neural model (through any runtime) and the n-gram baseline are scored the same way."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from nextword.runtime.errors import InputError

if TYPE_CHECKING:
    from nextword.runtime.keyboard import KeyboardTally

# log(0) would make one unseen target dominate (infinite) perplexity; 1e-12 caps a single
# window's loss at about 27.6 nats instead, far beyond any real model's typical loss.
PROBABILITY_FLOOR = 1e-12
TOP_K = (1, 3, 5)

ProbFn = Callable[[np.ndarray], np.ndarray]
Progress = Callable[[int, int], None]


def evaluate_windows(
    prob_fn: ProbFn,
    contexts: np.ndarray,
    targets: np.ndarray,
    *,
    batch_size: int = 512,
    progress: Progress | None = None,
    keyboard: KeyboardTally | None = None,
) -> dict:
    """Score prob_fn ([B, ctx] int32 -> [B, V] probabilities) on windows (contexts[i] -> targets[i]).

    Returns {"windows", "perplexity", "top1", "top3", "top5"}; accuracies are fractions in 0..1.
    A target's rank is its position in a stable descending sort of its row, i.e. ties go to the
    lower id; top-k counts it correct when rank < k. progress(done, total) is called per batch.
    keyboard: a KeyboardTally over the same targets, fed each batch's rows (prob_fn may be called only
    once per row, as a sequence reader is); its keyboard_top1, keyboard_top3 and keystroke_savings join the result.
    """
    contexts, targets = _validate_windows(contexts, targets, batch_size)
    total = len(targets)
    nll_sum = 0.0
    hits = dict.fromkeys(TOP_K, 0)
    for start in range(0, total, batch_size):
        batch_contexts = contexts[start : start + batch_size]
        batch_targets = targets[start : start + batch_size]
        probs = _call_prob_fn(prob_fn, batch_contexts)
        if batch_targets.max() >= probs.shape[1]:
            raise InputError(f"target id {batch_targets.max()} is outside the model's {probs.shape[1]} outputs")
        target_probs = probs[np.arange(len(batch_targets)), batch_targets]
        nll_sum += float(-np.log(np.maximum(target_probs, PROBABILITY_FLOOR)).sum())
        ranks = _target_ranks(probs, batch_targets, target_probs)
        for k in TOP_K:
            hits[k] += int(np.count_nonzero(ranks < k))
        if keyboard is not None:
            keyboard.add(probs, start)
        if progress is not None:
            progress(min(start + batch_size, total), total)
    result = {"windows": total, "perplexity": float(np.exp(nll_sum / total))}
    result.update({f"top{k}": hits[k] / total for k in TOP_K})
    if keyboard is not None:
        result.update(keyboard.result())
    return result


def _validate_windows(contexts, targets, batch_size):
    contexts = np.asarray(contexts)
    targets = np.asarray(targets)
    if contexts.ndim != 2 or targets.ndim != 1 or len(contexts) != len(targets):
        raise InputError(f"need contexts [N, ctx] and targets [N], got shapes {contexts.shape} and {targets.shape}")
    if len(targets) == 0:
        raise InputError("no windows to evaluate")
    if not (np.issubdtype(contexts.dtype, np.integer) and np.issubdtype(targets.dtype, np.integer)):
        raise InputError(f"contexts and targets must be integer ids, got {contexts.dtype} and {targets.dtype}")
    if targets.min() < 0:
        raise InputError(f"target ids must be non-negative, found {targets.min()}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    return contexts.astype(np.int32), targets.astype(np.int64)


def _call_prob_fn(prob_fn: ProbFn, batch_contexts: np.ndarray) -> np.ndarray:
    probs = np.asarray(prob_fn(batch_contexts))
    if probs.ndim != 2 or probs.shape[0] != len(batch_contexts):
        raise InputError(f"prob_fn returned shape {probs.shape} for {len(batch_contexts)} contexts; expected [B, V]")
    if not np.all(np.isfinite(probs)):
        raise InputError("prob_fn returned non-finite probabilities")
    return probs


def _target_ranks(probs: np.ndarray, targets: np.ndarray, target_probs: np.ndarray) -> np.ndarray:
    """Position of each target in np.argsort(-row, kind="stable"), without sorting V entries:
    the ids ranked ahead are those strictly more probable plus equally probable lower ids."""
    column = target_probs[:, None]
    ids = np.arange(probs.shape[1])
    ahead = (probs > column) | ((probs == column) & (ids[None, :] < targets[:, None]))
    return np.count_nonzero(ahead, axis=1)


def text_progress(stream=sys.stderr, *, force: bool = False, width: int = 30) -> Progress:
    """A progress(done, total) callable drawing one bar rewritten in place; silent unless the
    stream is a terminal or force=True, so logs and pipes are not flooded with carriage returns."""
    is_tty = getattr(stream, "isatty", lambda: False)()
    if not (force or is_tty):
        return lambda done, total: None

    def draw(done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        filled = int(round(width * fraction))
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({fraction:.0%})")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return draw
