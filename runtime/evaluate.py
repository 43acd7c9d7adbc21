"""`nextword evaluate`: how good is an exported model, next to an n-gram baseline fitted on the same text?

The text is tokenized exactly as training did, windowed, and split as training split it: the
Kneser-Ney baseline is fitted on the first part, and both are scored on the held-out tail.
"""

from __future__ import annotations

import numpy as np
from nextword.runtime.errors import InputError
from nextword.runtime.kneser_ney import KneserNey
from nextword.runtime.metrics import evaluate_windows
from nextword.runtime.tokenizer import text_to_word_sequence
from nextword.runtime.windows import make_windows, split_train_holdout


def id_stream(tokenizer, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ids as texts_to_sequences gives them; for each id, whether it is the OOV id and how many dropped
    unknown words stood just before it. Together they say which windows touched unknown words."""
    if tokenizer.char_level:
        raise InputError("evaluate supports word-level tokenizers only")
    ids, is_oov, dropped_before = [], [], []
    cache: dict[str, tuple[list[int], list[str]]] = {}
    dropped = 0
    for word in text_to_word_sequence(text, tokenizer.filters, tokenizer.lower, tokenizer.split):
        if word not in cache:
            cache[word] = tokenizer.encode_words(word)  # the tokenizer's own rule for this one word
        word_ids, unknown = cache[word]
        if word_ids:
            ids.append(word_ids[0])
            is_oov.append(bool(unknown))
            dropped_before.append(dropped)
            dropped = 0
        else:
            dropped += 1
    return np.asarray(ids, dtype=np.int32), np.asarray(is_oov, dtype=bool), np.asarray(dropped_before, dtype=np.int64)


def evaluate(predictor, text: str, *, holdout: float | None = None, progress=None) -> dict:
    config = predictor.bundle.config
    holdout = config.validation_split if holdout is None else holdout
    if not 0 < holdout < 1:
        raise InputError(f"held-out fraction must be in (0, 1), got {holdout} (pass --holdout)")
    ids, is_oov, dropped_before = id_stream(predictor.tokenizer, text)
    contexts, targets = make_windows(ids, config.seq_len)
    # Words dropped before a window's first id lie outside it; those before any later id lie inside.
    span = np.lib.stride_tricks.sliding_window_view
    touched = span(is_oov, config.seq_len).any(axis=1) | (span(dropped_before, config.seq_len)[:, 1:].sum(axis=1) > 0)
    split = split_train_holdout(len(targets), holdout)
    if split == len(targets) or split == 0:
        raise InputError(f"the text has {len(targets)} windows, too few to hold out {holdout:.0%} and fit a baseline")
    baseline = KneserNey.fit(ids[: split + config.seq_len - 1], config.vocab_size, order=config.seq_len)
    held_contexts, held_targets = contexts[split:], targets[split:]
    model = evaluate_windows(predictor.probabilities, held_contexts, held_targets, progress=progress)
    reference = evaluate_windows(baseline.probs_batch, held_contexts, held_targets, progress=progress)
    n = model.pop("windows")
    reference.pop("windows")
    return {
        "windows": n,
        "windows_with_unknown_words": int(np.count_nonzero(touched[split:])),
        "model": model,
        "baseline": {"name": f"interpolated Kneser-Ney {config.seq_len}-gram", **reference},
        "training_windows_for_baseline": split,
    }
