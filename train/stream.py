"""Corpora bigger than memory: text shards -> vocabulary in one counting pass -> id blocks -> shuffled batches.

The text of a sharded corpus is its files' concatenation joined by "\n" (a directory's files in sorted name
order). Nothing here holds more than a block of text, a shuffle buffer and the vocabulary, so memory does not
grow with the corpus. Tokenizing uses the runtime's own legacy Tokenizer rules on each block: cutting the text
after any filter character (newline and tab among them) or the split character gives exactly the words of the
whole text, and the ids are those of Tokenizer.texts_to_sequences on the concatenation.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nextword.runtime.config import TrainConfig
from nextword.runtime.contract import START_ID
from nextword.runtime.errors import InputError
from nextword.runtime.tokenizer import DEFAULT_FILTERS, Tokenizer, text_to_word_sequence
from nextword.train.prepare import drop_rare_words, split_points, training_words

READ_BYTES = 1 << 20  # text read per block
SHUFFLE_IDS = 1 << 22  # ids held in the shuffle buffer (16 MiB), whatever the corpus size


def corpus_files(paths: list[str | os.PathLike]) -> list[Path]:
    """The shard list: each path is a file, or a directory whose regular, non-hidden files are taken in sorted
    name order (not recursive)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            shards = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not shards:
                raise InputError(f"corpus directory {path} has no files")
            files += shards
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise InputError(f"corpus {path} is not a regular file or a directory")
        else:
            raise InputError(f"corpus {path} does not exist")
    if not files:
        raise InputError("no corpus files given")
    return files


def corpus_name(paths: list[str | os.PathLike]) -> str:
    """config.corpus_name of a sharded corpus: its paths joined by os.pathsep (one file: just its path)."""
    return os.pathsep.join(str(p) for p in paths)


# The bytes a block may be cut after: the default tokenizer's filters and its split character (all ASCII, so none
# occurs inside a multi-byte UTF-8 character and a cut after one keeps every word whole), except the four that
# Unicode calls case-ignorable (". : ^ `"): str.lower looks across those to pick a Greek final sigma, so lowercasing
# each block would differ from lowercasing the whole text ("ΑΣ.Β" -> "ασ.β", but "ΑΣ." -> "ας.").
SEPARATORS = "".join(c for c in DEFAULT_FILTERS + " " if c not in ".:^`").encode("ascii")
_TO_NEWLINE = bytes.maketrans(SEPARATORS, b"\n" * len(SEPARATORS))
# The longest run without a separator a block may hold: a "word" longer than this is not text (a hex dump, a
# file of one letter) and holding it whole would break the bounded memory, so it is refused with its offset.
MAX_RUN_BYTES = 16 << 20


def text_blocks(files: list[Path], digest=None) -> Iterator[str]:
    """The concatenated text in blocks cut only after a word separator (SEPARATORS: "\n", " ", tab and every
    other filter character), each checked as load_corpus checks a whole file. Only the bytes just read are
    searched for the cut, and a run of more than MAX_RUN_BYTES without a separator is refused, so the work is
    linear in the file. `digest` (a hashlib object) is fed the concatenated bytes."""
    for number, path in enumerate(files):
        if number:
            if digest is not None:
                digest.update(b"\n")
            yield "\n"
        with open(path, "rb") as handle:
            pending, held, offset = [], 0, 0  # the bytes after the last separator, as read
            while True:
                chunk = handle.read(READ_BYTES)
                if digest is not None:
                    digest.update(chunk)
                cut = chunk.translate(_TO_NEWLINE).rfind(b"\n") + 1 if chunk else 0
                if chunk and not cut:
                    pending.append(chunk)
                    held += len(chunk)
                    if held > MAX_RUN_BYTES:
                        raise InputError(
                            f"corpus {path} has {held} bytes without a space, newline or punctuation mark (from "
                            f"offset {offset}); over {MAX_RUN_BYTES >> 20} MiB is not text a tokenizer can split"
                        )
                    continue
                if not chunk:
                    cut = 0  # the end of the file: the pending bytes are the last block
                block = b"".join(pending) + chunk[:cut] if chunk else b"".join(pending)
                pending, held = [chunk[cut:]], len(chunk) - cut
                if b"\x00" in block:
                    raise InputError(f"corpus {path} looks binary (it contains NUL bytes); give a UTF-8 text file")
                try:
                    text = block.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(f"corpus {path} is not UTF-8 (bad byte at offset {offset + exc.start})") from None
                offset += len(block)
                if text:
                    yield text
                if not chunk:
                    break


def word_blocks(files: list[Path], tokenizer: Tokenizer, digest=None) -> Iterator[list[str]]:
    if tokenizer.char_level or tokenizer.filters != DEFAULT_FILTERS or tokenizer.split != " ":
        raise InputError("streaming needs the word-level tokenizer with the default filters and split")
    for text in text_blocks(files, digest):
        words = text_to_word_sequence(text, tokenizer.filters, tokenizer.lower, tokenizer.split)
        if words:
            yield words


@dataclass(frozen=True)
class StreamPlan:
    """What the counting pass learns: the vocabulary, the stream's length and where the held-out tail starts."""

    files: tuple[Path, ...]
    tokenizer: Tokenizer
    sha256: str  # of the concatenated text, as load_corpus hashes one file
    n_words: int
    n_ids: int  # ids the text becomes (words beyond num_words vanish when there is no oov_token)
    train_end: int  # ids[:train_end] feed training
    held_start: int  # ids[held_start:] are the held-out tail (window kind: the held-out windows' ids)


def count_vocabulary(paths: list[str | os.PathLike], config: TrainConfig) -> StreamPlan:
    """One streaming pass: the tokenizer Tokenizer.fit_on_texts would fit on the concatenated text (with
    vocab_from_training_split: on its training words; the tail is read a second time to take its counts off)."""
    files = corpus_files(paths)
    tokenizer = Tokenizer(num_words=config.num_words, oov_token=config.oov_token, filters=DEFAULT_FILTERS)
    counts: dict[str, int] = {}  # insertion order = first appearance, which breaks count ties as legacy does
    digest, n_words = hashlib.sha256(), 0
    for words in word_blocks(files, tokenizer, digest):
        n_words += len(words)
        for word, n in Counter(words).items():  # Counter keeps the block's first-appearance order
            counts[word] = counts.get(word, 0) + n
    if not counts:
        raise InputError("the corpus has no words once punctuation is removed")
    if config.vocab_from_training_split:
        _subtract_tail(files, tokenizer, counts, training_words(n_words, config))
    tokenizer.word_counts = counts
    tokenizer.word_docs = dict.fromkeys(counts, 1)  # the whole text is one document
    tokenizer.document_count = 1
    tokenizer.fit_on_texts([])  # ranks word_counts into word_index exactly as a fit does
    drop_rare_words(tokenizer, config)
    if not tokenizer.word_index:
        raise InputError("the corpus has no words once punctuation is removed")
    n_ids = n_words
    if config.oov_token is None and config.num_words:
        n_ids = sum(n for word, n in counts.items() if tokenizer.word_index[word] < config.num_words)
    train_end, held_start = split_points(n_ids, config)
    return StreamPlan(tuple(files), tokenizer, digest.hexdigest(), n_words, n_ids, train_end, held_start)


def _subtract_tail(files: list[Path], tokenizer: Tokenizer, counts: dict[str, int], end: int) -> None:
    """Take the counts of words[end:] off. A word left with a count appears before `end`, so its first
    appearance, and hence its place in `counts`, is the one the training words alone give."""
    seen = 0
    for words in word_blocks(files, tokenizer):
        tail = words[max(0, end - seen) :]
        seen += len(words)
        for word, n in Counter(tail).items():
            counts[word] -= n
            if not counts[word]:
                del counts[word]


def id_blocks(plan: StreamPlan, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
    """ids[start:stop] of the whole text as int32 blocks: Tokenizer.texts_to_sequences, vectorized per block."""
    tokenizer = plan.tokenizer
    lookup, num_words = tokenizer.word_index.get, tokenizer.num_words
    oov_id = tokenizer.word_index.get(tokenizer.oov_token)
    stop = plan.n_ids if stop is None else stop
    seen = 0
    for words in word_blocks(list(plan.files), tokenizer):
        if seen >= stop:
            return
        ids = np.fromiter(map(lookup, words, [-1] * len(words)), np.int64, len(words))
        if num_words:
            ids[ids >= num_words] = -1
        ids = ids[ids >= 0] if oov_id is None else np.where(ids < 0, oov_id, ids)
        block = ids[max(0, start - seen) : max(0, stop - seen)].astype(np.int32)
        seen += len(ids)
        if len(block):
            yield block


def window_rows(plan: StreamPlan, seq_len: int, start: int, stop: int) -> Iterator[np.ndarray]:
    """Every window [seq_len] of ids[start:stop], in text order, as blocks of rows."""
    return windows_of(id_blocks(plan, start, stop), seq_len)


def windows_of(blocks: Iterable[np.ndarray], seq_len: int) -> Iterator[np.ndarray]:
    """Every window [seq_len] of the id stream given as blocks, across block edges, as blocks of rows."""
    carry = np.zeros(0, np.int32)
    for block in blocks:
        joined = np.concatenate([carry, block])
        if len(joined) >= seq_len:
            yield np.lib.stride_tricks.sliding_window_view(joined, seq_len)
        carry = joined[len(joined) - (seq_len - 1) :] if seq_len > 1 else joined[:0]


def chunk_rows(plan: StreamPlan, config: TrainConfig, offset: int) -> Iterator[np.ndarray]:
    """train/sequence.py training_chunks streamed: rows [START, w_s .. w_{s+L-2}, w_s .. w_{s+L-1}] (x then y),
    tiling the training ids from `offset`, the same number of chunks whatever the offset."""
    size = config.chunk_len
    n_chunks = (plan.train_end - size + 1) // size
    carry = np.zeros(0, np.int32)
    for block in id_blocks(plan, offset, offset + n_chunks * size):
        joined = np.concatenate([carry, block])
        whole = len(joined) // size * size
        y = joined[:whole].reshape(-1, size)
        carry = joined[whole:]
        if len(y):
            x = np.concatenate([np.full((len(y), 1), START_ID, np.int32), y[:, :-1]], axis=1)
            yield np.concatenate([x, y], axis=1)


def shuffled_batches(rows: Iterator[np.ndarray], batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Global batches of rows, shuffled through a buffer of about SHUFFLE_IDS ids: rows from anywhere in the
    buffer's span of text mix, and memory stays bounded (a whole-epoch permutation needs the whole corpus)."""
    buffer: np.ndarray | None = None
    capacity = 0
    for block in rows:
        buffer = block.copy() if buffer is None else np.concatenate([buffer, block])
        capacity = capacity or max(batch_size, SHUFFLE_IDS // block.shape[1])
        if len(buffer) >= capacity + batch_size:
            buffer = buffer[rng.permutation(len(buffer))]
            n_out = (len(buffer) - capacity) // batch_size * batch_size
            for start in range(0, n_out, batch_size):
                yield buffer[start : start + batch_size]
            buffer = buffer[n_out:]
    if buffer is not None and len(buffer):
        buffer = buffer[rng.permutation(len(buffer))]
        for start in range(0, len(buffer), batch_size):
            yield buffer[start : start + batch_size]


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The epoch's own random stream: a run resumed at an epoch boundary shuffles as an unbroken run does."""
    return np.random.default_rng([seed, epoch])


def training_batches(plan: StreamPlan, config: TrainConfig, epoch: int) -> Iterator[np.ndarray]:
    """One epoch of global batches: windows [B, seq_len] or chunk rows [B, 2 * chunk_len] (x then y)."""
    rng = epoch_rng(config.seed, epoch)
    if config.kind == "sequence":
        rows = chunk_rows(plan, config, int(rng.integers(0, config.chunk_len)))
    else:
        rows = window_rows(plan, config.seq_len, 0, plan.train_end)
    return shuffled_batches(rows, config.batch_size, rng)


def steps_per_epoch(plan: StreamPlan, config: TrainConfig) -> int:
    if config.kind == "sequence":
        rows = (plan.train_end - config.chunk_len + 1) // config.chunk_len
    else:
        rows = plan.train_end - config.seq_len + 1
    return -(-rows // config.batch_size)


def local_slice(batch_rows: int, n_workers: int, worker: int) -> slice:
    """The rows of a global batch this worker trains on: np.array_split's parts, in worker order."""
    base, extra = divmod(batch_rows, n_workers)
    start = worker * base + min(worker, extra)
    return slice(start, start + base + (worker < extra))
