"""Text in, next words out: the one class apps embed. numpy plus onnxruntime or LiteRT; never TensorFlow.

p = Predictor.load("model.onnx")       # or model.tflite; the format is read from the bytes
p.predict_next("to be or not", k=5)    # [(word, probability), ...], highest first
s = p.session()                        # sequence-kind models: carry the state, pay for new words only

The Predictor does text, words and k; its model kind (runtime/kinds/) turns ids into distributions.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
from nextword.runtime.backends import BACKENDS
from nextword.runtime.bundle import Bundle, decode_bundle, entries_to_text
from nextword.runtime.casing import starts_sentence
from nextword.runtime.errors import CorruptModelError, InputError, UnsafeModelError
from nextword.runtime.kinds import open_model
from nextword.runtime.limits import Limits
from nextword.runtime.model_check import check_model
from nextword.runtime.sampling import Choice
from nextword.runtime.sniff import sniff_format
from nextword.runtime.suggest import Suggester, previous_word, split_partial
from nextword.runtime.user_model import UserModel

# Limits for untrusted files. The default model is a few hundred KB and a 50k-word vocabulary with
# 256 hidden units is ~50 MB, so 256 MiB leaves room while refusing a file crafted to exhaust memory.
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
# A 100k-word tokenizer JSON (with counts) is ~10 MB.
DEFAULT_MAX_METADATA_BYTES = 32 * 1024 * 1024


class Prediction(list):
    """[(word, probability), ...] highest first, plus what the context was made of."""

    def __init__(self, items, unknown_words: tuple[str, ...] = ()):
        super().__init__(items)
        self.unknown_words = unknown_words  # words of the text the vocabulary lacks (dropped, or mapped to OOV)


class Predictor:
    def __init__(self, backend, bundle: Bundle, source: str):
        self.backend = backend
        self.bundle = bundle
        self.source = source
        self.tokenizer = bundle.tokenizer
        self.kind = bundle.config.kind
        self.seq_len = bundle.config.seq_len
        self.context_len = bundle.config.context_len
        self.vocab_size = bundle.config.vocab_size
        self.state_size = bundle.config.state_size
        self.model = open_model(backend, bundle, source)
        # Done once here, not per call: id -> word as a list, indexed by the ids the graph returns.
        self.words = [""] + [self.tokenizer.index_word.get(i, "") for i in range(1, self.vocab_size)]
        oov_id = self.tokenizer.word_index.get(self.tokenizer.oov_token) if self.tokenizer.oov_token else None
        self.oov_id = oov_id if oov_id is not None and 0 < oov_id < self.vocab_size else None

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        *,
        backend: str | None = None,
        threads: int = 1,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES,
        **limits: int,
    ) -> Predictor:
        """Load an exported file. `backend` ("onnx" or "tflite") overrides the format read from the bytes.
        `limits`: max_vocab_size, max_seq_len, ... (runtime/limits.py) bound what the file's numbers allocate."""
        data = read_model_bytes(path, max_file_bytes)
        source = Path(path).name
        return cls.from_bytes(
            data, backend=backend, threads=threads, source=source, max_metadata_bytes=max_metadata_bytes, **limits
        )

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        backend: str | None = None,
        threads: int = 1,
        source: str = "model",
        max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES,
        **limits: int,
    ) -> Predictor:
        checked_limits = Limits.of(limits)
        fmt = sniff_format(data, source)
        if backend is not None and backend != fmt:
            if backend not in BACKENDS:
                raise InputError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
            raise CorruptModelError(f"{source} is in the {fmt} format, not {backend}")
        max_threads = os.cpu_count() or 1  # more engine threads than CPUs only contend; 10**6 crashes onnxruntime
        if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= max_threads:
            raise InputError(
                f"threads must be at least 1 and at most {max_threads} (this machine's CPUs), got {str(threads)[:20]}"
            )
        # Metadata first, in our own checked parsers: nothing reaches an engine until the file is understood.
        if fmt == "tflite":
            from nextword.runtime.tflite_metadata import read_metadata

            entries = entries_to_text(read_metadata(data, max_value_bytes=max_metadata_bytes), source=source)
        else:
            from nextword.runtime.onnx_scan import scan_onnx

            entries = scan_onnx(data, max_metadata_value_bytes=max_metadata_bytes)
        bundle = decode_bundle(entries, source=source)
        check_model(data, fmt, bundle.config, checked_limits, source)  # one format, the exporter's graph, sizes
        predictor = cls(BACKENDS[fmt](data, threads=threads), bundle, source)
        predictor.model.check_signature()  # the graph's shapes must be the ones the bundled config describes
        predictor.warm_up()
        return predictor

    def warm_up(self) -> None:
        """One engine call at load, on the all-padding context (window kind) or the start id (sequence kind):
        its whole distribution must sum to 1, so a graph that is not a softmax fails here, not in an app."""
        self.model.warm_up()

    # --- what callers read -------------------------------------------------------------------------
    @property
    def vocabulary(self) -> dict[int, str]:
        """id -> word for every id the model can output (0, the padding id, has no word)."""
        return {i: self.words[i] for i in range(1, self.vocab_size)}

    @property
    def metadata(self) -> dict:
        import json

        return {
            "format_version": self.bundle.format_version,
            "backend": self.backend.name,
            "source": self.source,
            "config": json.loads(self.bundle.config.to_json()),
            "tokenizer": self.tokenizer.options(),
        }  # the options, not the vocabulary (that is `vocabulary`)

    # --- text -> ids -------------------------------------------------------------------------------
    def encode_words(self, text: str) -> tuple[list[int], tuple[str, ...]]:
        """The ids of `text`'s known words, and the words the vocabulary lacks."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        ids, unknown = self.tokenizer.encode_words(text)
        return ids, tuple(unknown)

    def encode(self, text: str) -> tuple[np.ndarray, tuple[str, ...]]:
        """The model's input for `text`: its last seq_len - 1 known ids, left-padded with 0 as pad_sequences does."""
        ids, unknown = self.encode_words(text)
        tail = ids[-self.context_len :] if self.context_len else []
        return np.array([0] * (self.context_len - len(tail)) + tail, dtype=np.int32), unknown

    # --- predictions -------------------------------------------------------------------------------
    def predict_next(self, text: str, k: int = 5) -> Prediction:
        """The k likeliest next words. Sequence kind: the whole text, from the start of a text."""
        k = self.check_k(k)
        ids, unknown = self.encode_words(text)
        return self.prediction(*self.model.top(self.model.begin(ids, full=k > self.model.top_k), k), unknown)

    def predict_next_batch(self, texts, k: int = 5, *, batch_size: int = 256) -> list[Prediction]:
        """One backend call per chunk of `batch_size` texts (sequence kind: per chunk of texts of one length)."""
        k = self.check_k(k)
        if isinstance(texts, str):
            raise TypeError("texts must be a list of str, not a single str (use predict_next)")
        texts = list(texts)
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        encoded = [self.encode_words(t) for t in texts]
        rows = self.model.top_batch([ids for ids, _ in encoded], k, batch_size)
        return [self.prediction(ids, probs, unknown) for (ids, probs), (_, unknown) in zip(rows, encoded)]

    def prediction(self, ids: list[int], probs: list[float], unknown_words=()) -> Prediction:
        words = self.words
        return Prediction(zip([words[i] for i in ids], probs), unknown_words)

    # --- suggestions: what a keyboard's bar shows ----------------------------------------------------
    def suggest(self, text: str, k: int = 3, *, user=None) -> Prediction:
        """The k words a suggestion bar shows for `text`, highest first: completions of the word being typed when
        `text` ends inside one, else the likeliest next words; never the OOV token, each in display casing.
        `user`: a UserModel (runtime/user_model.py) whose words and phrases are mixed in."""
        k = self.check_k(k)
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        check_user(user)
        finished, partial = split_partial(text, self.tokenizer)
        ids, unknown = self.encode_words(finished)
        full = self.suggester.needs_distribution(partial, k, self.model.top_k) or user is not None
        state = self.model.begin(ids, full=full)
        return self.suggestions(state, partial, k, starts_sentence(finished), unknown, user, previous_word(finished))

    def suggestions(self, state, partial, k, sentence_start, unknown=(), user=None, previous=None) -> Prediction:
        """suggest() from a kind's state (a Session's step): for Session.suggest."""
        items = self.suggester.suggest(
            self.model, state, partial, k, sentence_start=sentence_start, user=user, previous=previous
        )
        return Prediction(items, unknown)

    @functools.cached_property
    def suggester(self) -> Suggester:
        """Built at the first suggestion, not at load (a race builds it twice, harmlessly)."""
        return Suggester(self.words, self.oov_id, self.bundle.casing, self.tokenizer)

    def session(self, *, user=None):
        """A Session (runtime/session.py) that carries the LSTM state between calls: sequence kind only.
        `user`: a UserModel its suggest() mixes in."""
        check_user(user)
        session = self.model.session(self)
        session.user = user
        return session

    def probabilities(self, contexts: np.ndarray) -> np.ndarray:
        """Raw model output for id contexts [batch, seq_len - 1] (window kind; for evaluation and benchmarks)."""
        return self.model.probabilities(contexts)

    def stream_reader(self, ids: np.ndarray):
        """Sequence kind: read(n) -> the distributions [n, vocab] that predict the next n ids of `ids`, read as
        one text from a reset (for evaluation; calls must come in order, as metrics.evaluate_windows makes them)."""
        return self.model.stream_reader(ids)

    # --- generation --------------------------------------------------------------------------------
    def generate(
        self,
        text: str,
        n_words: int = 20,
        *,
        strategy: str = "greedy",
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
    ) -> str:
        """The next `n_words` words after `text`, space-separated (the prompt is not repeated).

        The OOV token is never generated: it is a fine answer to "what comes next?" but not a word.
        Sequence kind: the text is run once, then each word is one engine step."""
        choice = self.check_generate(n_words, strategy, temperature, top_k, seed)
        ids, _ = self.encode_words(text)
        return self.continue_from(self.model.begin(ids), n_words, choice)[0]

    def continue_from(self, state, n_words: int, choice: Choice):
        """n_words words after the kind's state: (text, the state after them), for generate and Session."""
        full = not choice.fits_in(self.model.top_k)  # fetch each step's distribution when it will be needed
        words = []
        for _ in range(n_words):
            next_id = self.model.choose(state, choice)
            words.append(self.words[next_id])
            state = self.model.advance(state, [next_id], full=full)
        return " ".join(words), state

    # --- argument checks ---------------------------------------------------------------------------
    def check_generate(self, n_words, strategy, temperature, top_k, seed) -> Choice:
        if not isinstance(n_words, int) or isinstance(n_words, bool) or n_words < 0:
            raise InputError(f"n_words must be a non-negative integer, got {n_words!r}")
        if strategy not in ("greedy", "sample"):
            raise InputError(f"strategy must be 'greedy' or 'sample', got {strategy!r}")
        if not temperature > 0:
            raise InputError(f"temperature must be positive, got {temperature}")
        top_k = None if top_k is None else self.check_k(top_k)
        return Choice(strategy, temperature, top_k, seed, self.oov_id)

    def check_k(self, k) -> int:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise TypeError(f"k must be an int, not {type(k).__name__}")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        return min(int(k), self.vocab_size - 1)  # more words than the vocabulary has: all of them


def read_model_bytes(path: str | os.PathLike, max_bytes: int) -> bytes:
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InputError(f"model {path} is not a file")
        if size > max_bytes:
            raise UnsafeModelError(
                f"model {path} is {size} bytes, over the {max_bytes}-byte limit (raise max_file_bytes to allow it)"
            )
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # the file may grow after stat(); never read past the limit
    except FileNotFoundError:
        raise InputError(f"model {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read model {path}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise UnsafeModelError(f"model {path} is over the {max_bytes}-byte limit")
    return data


def check_user(user) -> None:
    if user is not None and not isinstance(user, UserModel):
        raise TypeError(f"user must be a UserModel or None, not {type(user).__name__}")
