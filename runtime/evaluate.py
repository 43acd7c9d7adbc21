"""`nextword evaluate`: how good is an exported model, next to an n-gram baseline fitted on the same text?

The text is tokenized exactly as training did, windowed, and split as training split it: the
Kneser-Ney baseline is fitted on the first part, and both are scored on the held-out tail, by the same
metrics: perplexity, top-k over ids, and what a keyboard's suggestion bar would have done (runtime/keyboard.py).
"""

from __future__ import annotations

import numpy as np
from nextword.runtime.adapt import AdaptedTally, Tallies
from nextword.runtime.errors import InputError
from nextword.runtime.keyboard import DEFAULT_SHOWN, Keyboard, unpredicted_keystrokes
from nextword.runtime.kneser_ney import KneserNey
from nextword.runtime.metrics import evaluate_windows
from nextword.runtime.tokenizer import text_to_word_sequence
from nextword.runtime.windows import make_windows, split_stream, split_train_holdout


def id_stream(tokenizer, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ids as texts_to_sequences gives them; for each id, whether it is the OOV id and how many dropped
    unknown words stood just before it. Together they say which windows touched unknown words."""
    return word_stream(tokenizer, text)[:3]


def word_stream(tokenizer, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """id_stream, plus the word each id stands for as the tokenizer split it (for an OOV id, the unknown word
    itself: what a user would have typed)."""
    if tokenizer.char_level:
        raise InputError("evaluate supports word-level tokenizers only")
    ids, is_oov, dropped_before, words = [], [], [], []
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
            words.append(word)
            dropped = 0
        else:
            dropped += 1
    stream = np.asarray(ids, dtype=np.int32), np.asarray(is_oov, dtype=bool), np.asarray(dropped_before, np.int64)
    return (*stream, words)


def evaluate(
    predictor,
    text: str,
    *,
    holdout: float | None = None,
    orders=None,
    shown: int = DEFAULT_SHOWN,
    adapt: bool = False,
    baseline_text: str | None = None,
    progress=None,
) -> dict:
    """Perplexity, top-k and keyboard metrics (`shown` suggestions in the bar) of the model on the held-out tail
    of `text`, beside interpolated Kneser-Ney n-grams of the given orders fitted on the rest with the same
    vocabulary. Default orders: the window kind's own context length; 4 and 5 for the sequence kind.
    adapt: also type the tail with a user model that learns each word (runtime/adapt.py), on the model and on
    the last n-gram order.
    baseline_text: fit the n-grams on the part of this text before its held-out tail instead (say, the model's own
    training text, when `text` is of another kind: then neither has seen text like the tail)."""
    config = predictor.bundle.config
    holdout = config.validation_split if holdout is None else holdout
    if not 0 < holdout < 1:
        raise InputError(f"held-out fraction must be in (0, 1), got {holdout} (pass --holdout)")
    orders = tuple(orders or predictor.model.evaluation_orders())
    if any(not isinstance(order, int) or not 1 <= order <= MAX_ORDER for order in orders):
        raise InputError(f"n-gram orders must be integers in 1..{MAX_ORDER}, got {list(orders)}")
    casing = predictor.bundle.casing
    keyboard = Keyboard(vocabulary_words(predictor), oov_id(predictor), shown, casing)  # checks shown first
    adapter = predictor.suggester if adapt else None
    stream = word_stream(predictor.tokenizer, text)
    fit_on = None
    if baseline_text is not None:
        baseline_ids = id_stream(predictor.tokenizer, baseline_text)[0]
        fit_on = baseline_ids[: split_stream(len(baseline_ids), holdout)]
        if len(fit_on) < 2:
            raise InputError(f"the baseline text has {len(baseline_ids)} known words, too few to fit an n-gram")
    # The kind says how its tail is read: as windows (evaluate_windows_tail) or one text (evaluate_stream_tail).
    report = predictor.model.evaluate_tail(
        predictor, *stream, holdout, orders, keyboard, adapter, progress, baseline_training=fit_on
    )
    report["baseline_fitted_on"] = "the corpus before its held-out tail" if fit_on is None else "another text"
    return report


def vocabulary_words(predictor) -> list[str]:
    """words[id] for every output id; words[0], padding, is ""."""
    vocabulary = predictor.vocabulary
    return [""] + [vocabulary.get(i, "") for i in range(1, predictor.vocab_size)]


def oov_id(predictor) -> int | None:
    tokenizer = predictor.tokenizer
    found = tokenizer.word_index.get(tokenizer.oov_token) if tokenizer.oov_token else None
    return found if found is not None and 0 < found < predictor.vocab_size else None


MAX_ORDER = 8


def evaluate_windows_tail(
    predictor, ids, is_oov, dropped_before, words, holdout, orders, keyboard, adapter, progress, baseline_training=None
):
    config = predictor.bundle.config
    contexts, targets = make_windows(ids, config.seq_len)
    # Words dropped before a window's first id lie outside it; those before any later id lie inside.
    span = np.lib.stride_tricks.sliding_window_view
    touched = span(is_oov, config.seq_len).any(axis=1) | (span(dropped_before, config.seq_len)[:, 1:].sum(axis=1) > 0)
    split = split_train_holdout(len(targets), holdout)
    if split == len(targets) or split == 0:
        raise InputError(f"the text has {len(targets)} windows, too few to hold out {holdout:.0%} and fit a baseline")
    held_targets = targets[split:]
    held_words = words[split + config.seq_len - 1 :]  # the word of each held-out target
    tally = tallies(keyboard, held_targets, held_words, adapter)
    model = evaluate_windows(predictor.probabilities, contexts[split:], held_targets, progress=progress, keyboard=tally)
    # Each n-gram reads the order - 1 words before the target, as an n-gram shipped instead would.
    target_positions = np.arange(split, len(targets)) + config.seq_len - 1
    training = ids[: split + config.seq_len - 1] if baseline_training is None else baseline_training
    vocab_size = config.vocab_size
    baselines = _kneser_ney_rows(
        training, ids, words, target_positions, vocab_size, orders, keyboard, adapter, progress
    )
    keyboard_facts = _keyboard_facts(keyboard, held_targets, held_words)
    touched = int(np.count_nonzero(touched[split:]))
    return _report(model, baselines, touched, split, len(training), keyboard_facts, "windows")


def evaluate_stream_tail(
    predictor, ids, is_oov, dropped_before, words, holdout, orders, keyboard, adapter, progress, baseline_training=None
):
    """The sequence kind reads the held-out tail as one text from a reset, as an app would; the n-grams see
    the same words (the tail only, padded with the start id), so neither borrows context from training."""
    split = split_stream(len(ids), holdout)
    if split < 2 or split == len(ids):
        raise InputError(f"the text has {len(ids)} known words, too few to hold out {holdout:.0%} and fit a baseline")
    held, held_words = ids[split:], words[split:]
    positions = np.arange(len(held), dtype=np.int32)[:, None]  # evaluate_windows' contexts: row numbers
    reader = predictor.stream_reader(held)
    tally = tallies(keyboard, held, held_words, adapter)
    model = evaluate_windows(lambda rows: reader(len(rows)), positions, held, progress=progress, keyboard=tally)
    every = np.arange(len(held))
    vocab_size = predictor.vocab_size
    training = ids[:split] if baseline_training is None else baseline_training
    baselines = _kneser_ney_rows(training, held, held_words, every, vocab_size, orders, keyboard, adapter, progress)
    touched = is_oov[split:] | (dropped_before[split:] > 0)
    facts = _keyboard_facts(keyboard, held, held_words)
    return _report(model, baselines, int(np.count_nonzero(touched)), split, len(training), facts, "words")


def _kneser_ney_rows(training, stream, words, positions, vocab_size, orders, keyboard, adapter, progress) -> list[dict]:
    """One row per order: Kneser-Ney fitted on `training`, scored on stream[positions], each target read
    from the order - 1 ids before it in `stream` (the start of the stream padded with 0); words[i] is the word
    of stream[i]."""
    rows = []
    targets = stream[positions]
    typed = [words[i] for i in positions.tolist()]
    for order in orders:
        baseline = KneserNey.fit(training, vocab_size, order=order)
        padded = np.concatenate([np.zeros(order - 1, dtype=np.int32), stream])
        contexts = np.lib.stride_tricks.sliding_window_view(padded, order)[positions, :-1]
        tally = tallies(keyboard, targets, typed, adapter if order == orders[-1] else None)
        scores = evaluate_windows(baseline.probs_batch, contexts, targets, progress=progress, keyboard=tally)
        scores.pop("windows")
        rows.append({"name": f"interpolated Kneser-Ney {order}-gram", **scores})
    return rows


def tallies(keyboard: Keyboard, targets, typed, adapter):
    """The keyboard tally of one row, and, when this row is adapted (adapter: the predictor's Suggester), the
    adapted one beside it."""
    tally = keyboard.tally(targets, typed)
    return tally if adapter is None else Tallies(tally, AdaptedTally(adapter, keyboard, targets, typed))


def _keyboard_facts(keyboard: Keyboard, targets: np.ndarray, typed: list[str]) -> dict:
    """What every row's keyboard metrics share: the bar's size and what typing without it costs."""
    return {
        "shown": keyboard.shown,  # suggestions in the bar for keystroke_savings
        "keystrokes_without_prediction": unpredicted_keystrokes(typed),
        "targets_outside_vocabulary": int(np.count_nonzero(~keyboard.visible[targets])),  # always typed in full
    }


def _report(model, baselines, touched: int, split: int, fitted_ids: int, keyboard_facts: dict, unit: str) -> dict:
    n = model.pop("windows")
    return {
        "windows": n,  # held-out positions scored (the window kind: windows)
        "unit": unit,  # what a position is: "windows" or, for a model reading the tail as one text, "words"
        "windows_with_unknown_words": touched,
        **keyboard_facts,
        "model": model,
        "baseline": baselines[0],  # the first order asked for (kept for readers of the previous report)
        "baselines": baselines,
        "training_windows_for_baseline": split,  # positions before the held-out tail
        "baseline_fitted_ids": fitted_ids,  # ids the n-grams were fitted on (--baseline-corpus: of that text)
    }
