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
from nextword.runtime.windows import make_windows, split_stream, split_train_holdout


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


def evaluate(predictor, text: str, *, holdout: float | None = None, orders=None, progress=None) -> dict:
    """Perplexity and top-k of the model on the held-out tail of `text`, beside interpolated Kneser-Ney
    n-grams of the given orders fitted on the rest with the same vocabulary. Default orders: the window
    kind's own context length; 4 and 5 for the sequence kind."""
    config = predictor.bundle.config
    holdout = config.validation_split if holdout is None else holdout
    if not 0 < holdout < 1:
        raise InputError(f"held-out fraction must be in (0, 1), got {holdout} (pass --holdout)")
    orders = tuple(orders or ((4, 5) if config.kind == "sequence" else (config.seq_len,)))
    if any(not isinstance(order, int) or not 1 <= order <= MAX_ORDER for order in orders):
        raise InputError(f"n-gram orders must be integers in 1..{MAX_ORDER}, got {list(orders)}")
    ids, is_oov, dropped_before = id_stream(predictor.tokenizer, text)
    if config.kind == "sequence":
        return _evaluate_stream(predictor, ids, is_oov, dropped_before, holdout, orders, progress)
    return _evaluate_windows(predictor, ids, is_oov, dropped_before, holdout, orders, progress)


MAX_ORDER = 8


def _evaluate_windows(predictor, ids, is_oov, dropped_before, holdout, orders, progress) -> dict:
    config = predictor.bundle.config
    contexts, targets = make_windows(ids, config.seq_len)
    # Words dropped before a window's first id lie outside it; those before any later id lie inside.
    span = np.lib.stride_tricks.sliding_window_view
    touched = span(is_oov, config.seq_len).any(axis=1) | (span(dropped_before, config.seq_len)[:, 1:].sum(axis=1) > 0)
    split = split_train_holdout(len(targets), holdout)
    if split == len(targets) or split == 0:
        raise InputError(f"the text has {len(targets)} windows, too few to hold out {holdout:.0%} and fit a baseline")
    held_targets = targets[split:]
    model = evaluate_windows(predictor.probabilities, contexts[split:], held_targets, progress=progress)
    # Each n-gram reads the order - 1 words before the target, as an n-gram shipped instead would.
    target_positions = np.arange(split, len(targets)) + config.seq_len - 1
    training = ids[: split + config.seq_len - 1]
    baselines = _kneser_ney_rows(training, ids, target_positions, config.vocab_size, orders, progress)
    return _report(model, baselines, int(np.count_nonzero(touched[split:])), split)


def _evaluate_stream(predictor, ids, is_oov, dropped_before, holdout, orders, progress) -> dict:
    """The sequence kind reads the held-out tail as one text from a reset, as an app would; the n-grams see
    the same words (the tail only, padded with the start id), so neither borrows context from training."""
    split = split_stream(len(ids), holdout)
    if split < 2 or split == len(ids):
        raise InputError(f"the text has {len(ids)} known words, too few to hold out {holdout:.0%} and fit a baseline")
    held = ids[split:]
    positions = np.arange(len(held), dtype=np.int32)[:, None]  # evaluate_windows' contexts: row numbers
    reader = predictor.stream_reader(held)
    model = evaluate_windows(lambda rows: reader(len(rows)), positions, held, progress=progress)
    baselines = _kneser_ney_rows(ids[:split], held, np.arange(len(held)), predictor.vocab_size, orders, progress)
    touched = is_oov[split:] | (dropped_before[split:] > 0)
    return _report(model, baselines, int(np.count_nonzero(touched)), split)


def _kneser_ney_rows(training, stream, positions, vocab_size: int, orders, progress) -> list[dict]:
    """One row per order: Kneser-Ney fitted on `training`, scored on stream[positions], each target read
    from the order - 1 ids before it in `stream` (the start of the stream padded with 0)."""
    rows = []
    for order in orders:
        baseline = KneserNey.fit(training, vocab_size, order=order)
        padded = np.concatenate([np.zeros(order - 1, dtype=np.int32), stream])
        contexts = np.lib.stride_tricks.sliding_window_view(padded, order)[positions, :-1]
        scores = evaluate_windows(baseline.probs_batch, contexts, stream[positions], progress=progress)
        scores.pop("windows")
        rows.append({"name": f"interpolated Kneser-Ney {order}-gram", **scores})
    return rows


def _report(model: dict, baselines: list[dict], touched: int, split: int) -> dict:
    n = model.pop("windows")
    return {
        "windows": n,  # held-out positions scored (the window kind: windows)
        "windows_with_unknown_words": touched,
        "model": model,
        "baseline": baselines[0],  # the first order asked for (kept for readers of the previous report)
        "baselines": baselines,
        "training_windows_for_baseline": split,
    }
