"""Text -> vocabulary -> ids -> the held-out split, as training saw them.

Training runs this on the corpus; export and the benchmarks run it again with the training folder's own
tokenizer to find the same held-out tail. The split is defined here once, in counts of words or ids, so the
streamed path (train/stream.py), which never holds the text, splits exactly where the in-memory path does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nextword.runtime.config import TrainConfig
from nextword.runtime.errors import InputError
from nextword.runtime.tokenizer import Tokenizer, text_to_word_sequence
from nextword.runtime.windows import make_windows, split_stream, split_train_holdout


@dataclass
class Prepared:
    """Everything between text and model, shared by training, export validation and benchmarks."""

    tokenizer: Tokenizer
    ids: np.ndarray  # [n_words] int32, the corpus as the model sees it
    contexts: np.ndarray  # window kind: [n_windows, seq_len - 1] (sequence kind: empty)
    targets: np.ndarray  # window kind: [n_windows]
    split_at: int  # window kind: windows[split_at:] are held out
    stream_split: int  # ids[stream_split:] are the held-out tail, the last validation_split of the text
    held_start: int  # ids[held_start:] are what the held-out score reads (window kind: = split_at)


def training_words(n_words: int, config: TrainConfig) -> int:
    """How many leading words (or ids) the training split covers: the vocabulary may come from these only."""
    if config.kind == "sequence":
        return split_stream(n_words, config.validation_split)
    # The training windows cover the first split_at + seq_len - 1 words.
    split_at = split_train_holdout(max(0, n_words - config.seq_len + 1), config.validation_split)
    return split_at + config.seq_len - 1


def split_points(n_ids: int, config: TrainConfig) -> tuple[int, int]:
    """(train_end, held_start): ids[:train_end] feed training, ids[held_start:] the held-out score. The window
    kind's held-out windows start seq_len - 1 ids before train_end, their contexts being training words."""
    if config.kind == "sequence":
        if split_stream(n_ids, config.validation_split) < 2 * config.chunk_len:
            raise InputError(f"the corpus has {n_ids} known words, too few for chunks of {config.chunk_len}")
        train_end = training_words(n_ids, config)
        return train_end, train_end
    if n_ids < config.seq_len:
        raise InputError(f"the corpus has {n_ids} known words, fewer than seq_len={config.seq_len}")
    train_end = training_words(n_ids, config)
    return train_end, train_end - (config.seq_len - 1)


def prepare(corpus_text: str, config: TrainConfig, tokenizer: Tokenizer | None = None) -> Prepared:
    if tokenizer is None:
        tokenizer = Tokenizer(num_words=config.num_words, oov_token=config.oov_token)
        if config.vocab_from_training_split:
            # With an OOV token no word is dropped, so word i is id i.
            words = text_to_word_sequence(corpus_text, tokenizer.filters, tokenizer.lower, tokenizer.split)
            tokenizer.fit_on_texts([words[: training_words(len(words), config)]])
        else:
            tokenizer.fit_on_texts([corpus_text])  # the classic lesson: the vocabulary of the whole text
        drop_rare_words(tokenizer, config)
    if not tokenizer.word_index:
        raise InputError("the corpus has no words once punctuation is removed")
    ids = np.asarray(tokenizer.texts_to_sequences([corpus_text])[0], dtype=np.int32)
    train_end, held_start = split_points(len(ids), config)
    if config.kind == "sequence":
        no_windows = np.zeros((0, 0), dtype=np.int32)
        return Prepared(tokenizer, ids, no_windows, np.zeros(0, dtype=np.int32), 0, train_end, held_start)
    contexts, targets = make_windows(ids, config.seq_len)
    return Prepared(tokenizer, ids, contexts, targets, held_start, train_end, held_start)


def drop_rare_words(tokenizer: Tokenizer, config: TrainConfig) -> None:
    """config.min_count, by lowering num_words: the tokenizer ranks words by count, so the words seen fewer
    times than min_count hold the last ids, and every id from num_words on converts to the OOV id."""
    if config.min_count > 1:
        kept = sum(1 for count in tokenizer.word_counts.values() if count >= config.min_count)
        cap = kept + 2  # id 0 is padding and id 1 the OOV token
        tokenizer.num_words = min(tokenizer.num_words or cap, cap)
