"""Text in, next words out: the one class apps embed. numpy plus onnxruntime or LiteRT; never TensorFlow.

p = Predictor.load("model.onnx")       # or model.tflite; the format is read from the bytes
p.predict_next("to be or not", k=5)    # [(word, probability), ...], highest first
s = p.session()                        # sequence-kind models: carry the state, pay for new words only
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from nextword.runtime.backends import BACKENDS
from nextword.runtime.bundle import Bundle, decode_bundle, entries_to_text
from nextword.runtime.contract import START_ID
from nextword.runtime.errors import CorruptModelError, InputError, UnsafeModelError, VocabularyMismatchError
from nextword.runtime.limits import Limits
from nextword.runtime.model_check import check_model
from nextword.runtime.session import Session, Step
from nextword.runtime.tflite_metadata import TFLITE_IDENTIFIER  # bytes 4..8 of every TFLite flatbuffer

# Limits for untrusted files. The default model is a few hundred KB and a 50k-word vocabulary with
# 256 hidden units is ~50 MB, so 256 MiB leaves room while refusing a file crafted to exhaust memory.
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
# A 100k-word tokenizer JSON (with counts) is ~10 MB.
DEFAULT_MAX_METADATA_BYTES = 32 * 1024 * 1024


# What comes out of a graph is checked too: a file can hold any graph the allowlist admits.
PROB_SUM_TOLERANCE = 1e-3  # |sum - 1| of the warm-up distribution; float32 softmax over 10^5 ids errs ~1e-5
PROB_MAX = 1.0 + PROB_SUM_TOLERANCE  # any one probability, and the sum of the top k


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
        self.seq_len = bundle.config.seq_len
        self.context_len = bundle.config.context_len
        self.vocab_size = bundle.config.vocab_size
        # Done once here, not per call: id -> word as a list, indexed by the ids the graph returns.
        self._word_list = [""] + [self.tokenizer.index_word.get(i, "") for i in range(1, self.vocab_size)]
        self._chunk_starts = chunk_starts(self.vocab_size - 1)
        oov_id = self.tokenizer.word_index.get(self.tokenizer.oov_token) if self.tokenizer.oov_token else None
        self._oov_id = oov_id if oov_id is not None and 0 < oov_id < self.vocab_size else None
        self._graph_top_k = backend.roles.top_k  # how many ranked words the graph itself returns (0: none)
        self.kind = bundle.config.kind
        self.state_size = bundle.config.state_size
        steps = backend.input_shape[1] if self.kind == "sequence" else None
        self._steps = steps if isinstance(steps, int) and steps > 0 else None  # ids per engine call (None: any)
        self._start = None  # sequence kind: the Step after the start id, the same for every text

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
        engine = BACKENDS[fmt](data, threads=threads)
        check_signature(engine, bundle, source)
        predictor = cls(engine, bundle, source)
        predictor._warm_up()
        return predictor

    # --- what callers read -------------------------------------------------------------------------
    @property
    def vocabulary(self) -> dict[int, str]:
        """id -> word for every id the model can output (0, the padding id, has no word)."""
        return {i: self._word_list[i] for i in range(1, self.vocab_size)}

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
    def encode(self, text: str) -> tuple[np.ndarray, tuple[str, ...]]:
        """The model's input for `text`: its last seq_len - 1 known ids, left-padded with 0 as pad_sequences does."""
        ids, unknown = self._encode_words(text)
        tail = ids[-self.context_len :]
        context = np.array([0] * (self.context_len - len(tail)) + tail, dtype=np.int32)
        return context, unknown

    # --- predictions -------------------------------------------------------------------------------
    def predict_next(self, text: str, k: int = 5) -> Prediction:
        """The k likeliest next words. Sequence kind: the whole text, from the start of a text."""
        k = self._check_k(k)
        if self.kind == "sequence":
            return self.predict_next_batch([text], k)[0]
        context, unknown = self.encode(text)
        return Prediction(self._predict(context[None, :], k)[0], unknown)

    def session(self):
        """A Session (runtime/session.py) that carries the LSTM state between calls: sequence kind only."""
        if self.kind != "sequence":
            raise InputError(
                f"{self.source} is a {self.kind} model, which has no state to carry: a session needs a sequence "
                "model; call predict_next(text) with the text so far instead"
            )

        return Session(self)

    def predict_next_batch(self, texts, k: int = 5, *, batch_size: int = 256) -> list[Prediction]:
        """One backend call per chunk of `batch_size` texts."""
        k = self._check_k(k)
        if isinstance(texts, str):
            raise TypeError("texts must be a list of str, not a single str (use predict_next)")
        texts = list(texts)
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        if self.kind == "sequence":
            return self._predict_sequences(texts, k, batch_size)
        results = []
        for start in range(0, len(texts), batch_size):
            encoded = [self.encode(t) for t in texts[start : start + batch_size]]
            rows = self._predict(np.stack([context for context, _ in encoded]), k)
            results.extend(Prediction(row, unknown) for row, (_, unknown) in zip(rows, encoded))
        return results

    def _predict_sequences(self, texts: list, k: int, batch_size: int) -> list[Prediction]:
        """Texts grouped by their number of ids, so no row is padded (padding would change the state):
        one engine call per group and chunk of `batch_size` (per id and chunk with a fixed-n TFLite graph)."""
        encoded = [self._encode_words(t) for t in texts]
        groups: dict[int, list[int]] = {}
        for index, (ids, _) in enumerate(encoded):
            groups.setdefault(len(ids), []).append(index)
        results: list = [None] * len(texts)
        start = self._start_step()
        full = k > len(start.top_ids)  # more words than the graph's top-k: rank the whole distribution
        if full and start.probs is None:
            start = self._advance(start.before, start.last_ids, full=True)[0]
        for n, members in groups.items():
            for at in range(0, len(members), batch_size):
                rows = members[at : at + batch_size]
                if n == 0:
                    steps = [start] * len(rows)
                else:
                    ids = np.array([encoded[i][0] for i in rows], dtype=np.int32)
                    steps = self._advance(np.repeat(start.state, len(rows), axis=0), ids, full=full)
                for i, step in zip(rows, steps):
                    if full:
                        results[i] = Prediction(self._top_k(step.probs, k), encoded[i][1])
                    else:
                        results[i] = self._prediction(step.top_probs, step.top_ids, k, encoded[i][1])
        return results

    def _encode_words(self, text: str) -> tuple[list[int], tuple[str, ...]]:
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        ids, unknown = self.tokenizer.encode_words(text)
        return ids, tuple(unknown)

    def _warm_up(self) -> None:
        """One engine call at load, on the all-padding context (window kind) or the start id (sequence kind):
        its whole distribution must sum to 1, so a graph that is not a softmax fails here, not in an app."""
        if self.kind == "sequence":
            zero = np.zeros((1, self.state_size), dtype=np.float32)
            self._start = self._advance(zero, np.array([[START_ID]], dtype=np.int32), full=True)[0]
            probs = self._start.probs
            self._prediction(self._start.top_probs, self._start.top_ids, self._graph_top_k, ())
        else:
            padding = np.zeros((1, self.context_len), dtype=np.int32)
            probs = self.probabilities(padding)[0]
            if self._graph_top_k:
                self._predict(padding, self._graph_top_k)
        total = float(probs.sum(dtype=np.float64))
        if not abs(total - 1.0) < PROB_SUM_TOLERANCE:
            raise CorruptModelError(f"{self.source}: the model's probabilities sum to {total:.6g}, not 1")

    def _checked_probs(self, probs: np.ndarray, rows: int) -> np.ndarray:
        """A whole distribution per row: [rows, vocab_size], every value in [0, 1] (NaN fails both bounds)."""
        if probs.shape != (rows, self.vocab_size):
            raise CorruptModelError(
                f"{self.source}: the model returned probabilities of shape {list(probs.shape)[:4]} for {rows} "
                f"rows of a {self.vocab_size}-id vocabulary"
            )
        if probs.size and not (probs.min() >= 0.0 and probs.max() <= PROB_MAX):
            raise CorruptModelError(f"{self.source}: the model returned probabilities that are not finite in [0, 1]")
        return probs

    def _check_step(self, top_probs: np.ndarray, top_ids: np.ndarray, state: np.ndarray, rows: int) -> None:
        top = (rows, self._graph_top_k)
        if top_probs.shape != top or top_ids.shape != top or state.shape != (rows, self.state_size):
            raise CorruptModelError(
                f"{self.source}: the model returned top-k {list(top_ids.shape)[:4]} and state {list(state.shape)[:4]} "
                f"for {rows} rows; expected {list(top)} and {[rows, self.state_size]}"
            )
        if not np.isfinite(state).all():
            raise CorruptModelError(f"{self.source}: the model returned a state that is not finite")

    def _bad_top(self, ids: list, probs: list) -> CorruptModelError:
        if min(ids) < 1 or max(ids) >= self.vocab_size:  # a foreign graph's ids must still be words
            return CorruptModelError(f"{self.source}: the model's top-k ids fall outside the vocabulary")
        return CorruptModelError(f"{self.source}: the model's top-k probabilities are not finite and non-negative")

    def _start_step(self):
        """The Step after the start id from the zero state; computed once (a race computes it twice, harmlessly)."""
        if self._start is None:
            zero = np.zeros((1, self.state_size), dtype=np.float32)
            self._start = self._advance(zero, np.array([[START_ID]], dtype=np.int32))[0]
        return self._start

    def _advance(self, state: np.ndarray, ids: np.ndarray, *, full: bool = False) -> list:
        """Run ids [batch, n] from state [batch, S]: one engine call (or one per `_steps` ids). A Step per row."""
        n = ids.shape[1]
        per_call = self._steps or n
        for at in range(0, n, per_call):
            before, chunk = state, ids[:, at : at + per_call]
            top_probs, top_ids, state, probs = self.backend.step(chunk, state, full=full and at + per_call >= n)
            self._check_step(top_probs, top_ids, state, len(ids))  # before the state is fed to the next call
        if probs is not None:
            self._checked_probs(probs, len(ids))
        return [
            Step(
                top_probs[i],
                top_ids[i],
                state[i : i + 1],
                before[i : i + 1],
                chunk[i : i + 1],
                None if probs is None else probs[i],
            )
            for i in range(len(ids))
        ]

    def _prediction(self, top_probs: np.ndarray, top_ids: np.ndarray, k: int, unknown) -> Prediction:
        ids, probs = top_ids[:k].tolist(), top_probs[:k].tolist()
        if min(ids) < 1 or max(ids) >= self.vocab_size or not 0.0 <= sum(probs) <= PROB_MAX or min(probs) < 0.0:
            raise self._bad_top(ids, probs)
        return Prediction(zip([self._word_list[i] for i in ids], probs), unknown)

    def stream_reader(self, ids: np.ndarray):
        """Sequence kind: read(n) -> the distributions [n, vocab] that predict the next n ids of `ids`, read as
        one text from a reset (one engine step per id: the graph returns the distribution after its last id).
        For evaluation: calls must come in order, as metrics.evaluate_windows makes them."""
        if self.kind != "sequence":
            raise InputError(f"{self.source} is a {self.kind} model; use probabilities() on its windows")
        ids = np.asarray(ids, dtype=np.int32)
        if ids.size and (ids.min() < 1 or ids.max() >= self.vocab_size):
            raise InputError(f"ids must be in [1, {self.vocab_size})")
        position, step = 0, self._start_step()

        def read(n: int) -> np.ndarray:
            nonlocal position, step
            rows = []
            for _ in range(n):
                if step.probs is None:  # the start step was computed without its full distribution
                    step = self._advance(step.before, step.last_ids, full=True)[0]
                rows.append(step.probs)
                if position < len(ids) - 1:
                    step = self._advance(step.state, ids[None, position : position + 1], full=True)[0]
                position += 1
            return np.stack(rows) if rows else np.zeros((0, self.vocab_size), dtype=np.float32)

        return read

    def probabilities(self, contexts: np.ndarray) -> np.ndarray:
        """Raw model output for id contexts [batch, seq_len - 1] (for evaluation and benchmarks)."""
        if self.kind == "sequence":
            raise InputError(f"{self.source} is a sequence model: it reads a text's ids from its start, not windows")
        contexts = np.ascontiguousarray(contexts, dtype=np.int32)
        if contexts.ndim != 2 or contexts.shape[1] != self.context_len:
            raise InputError(f"contexts must have shape [batch, {self.context_len}], got {list(contexts.shape)}")
        if contexts.size and (contexts.min() < 0 or contexts.max() >= self.vocab_size):
            raise InputError(f"context ids must be in [0, {self.vocab_size})")
        if not len(contexts):
            # Never hand an engine an empty batch: onnxruntime aborts the whole process on it, LiteRT raises.
            return np.zeros((0, self.vocab_size), dtype=np.float32)
        return self._checked_probs(self.backend.run(contexts), len(contexts))

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
        Sequence kind: the text is run once, then each word is one step of a Session."""
        if self.kind == "sequence":
            self._check_generate_args(n_words, strategy, temperature, top_k)
            session = self.session()
            session.feed(text)
            return session.generate(n_words, strategy=strategy, temperature=temperature, top_k=top_k, seed=seed)
        top_k = self._check_generate_args(n_words, strategy, temperature, top_k)
        rng = np.random.default_rng(seed)
        context, _ = self.encode(text)
        words = []
        for _ in range(n_words):
            probs = self._checked_probs(self.backend.run(context[None, :]), 1)[0][1:].astype(np.float64)  # 0: padding
            if self._oov_id is not None and len(probs) > 1:
                probs[self._oov_id - 1] = 0.0  # "<unk>" is a prediction, but never a word to write into text
            if strategy == "greedy":
                next_id = int(np.argmax(probs)) + 1
            else:
                next_id = sample(probs, temperature, top_k, rng) + 1
            words.append(self._word_list[next_id])
            context = np.roll(context, -1)  # slide the window: drop the oldest id, append the new one
            context[-1] = next_id
        return " ".join(words)

    # --- helpers -----------------------------------------------------------------------------------
    def _check_generate_args(self, n_words, strategy, temperature, top_k) -> int | None:
        if not isinstance(n_words, int) or isinstance(n_words, bool) or n_words < 0:
            raise InputError(f"n_words must be a non-negative integer, got {n_words!r}")
        if strategy not in ("greedy", "sample"):
            raise InputError(f"strategy must be 'greedy' or 'sample', got {strategy!r}")
        if not temperature > 0:
            raise InputError(f"temperature must be positive, got {temperature}")
        return None if top_k is None else self._check_k(top_k)

    def _check_k(self, k) -> int:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise TypeError(f"k must be an int, not {type(k).__name__}")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        return min(int(k), self.vocab_size - 1)  # more words than the vocabulary has: all of them

    def _predict(self, contexts: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """The top k (word, probability) per context row: from the graph's own TopK outputs when it has
        enough of them (a few microseconds in the engine), else selected here from the full distribution."""
        if k > self._graph_top_k:
            return [self._top_k(row, k) for row in self._checked_probs(self.backend.run(contexts), len(contexts))]
        top_probs, top_ids = self.backend.run_top(contexts)
        shape = (len(contexts), self._graph_top_k)
        if top_probs.shape != shape or top_ids.shape != shape:  # rank, rows and width, as the signature declared
            raise CorruptModelError(
                f"{self.source}: the model returned top-k outputs of shapes {list(top_probs.shape)[:4]} and "
                f"{list(top_ids.shape)[:4]} for {len(contexts)} rows; expected {list(shape)}"
            )
        # k numbers per row: plain Python from here on is faster than any further numpy call. The sum catches
        # NaN and infinity (it becomes one), min() a negative value.
        words, rows, vocab_size = self._word_list, [], self.vocab_size
        for probs, ids in zip(top_probs[:, :k].tolist(), top_ids[:, :k].tolist()):
            if min(ids) < 1 or max(ids) >= vocab_size or not 0.0 <= sum(probs) <= PROB_MAX or min(probs) < 0.0:
                raise self._bad_top(ids, probs)
            rows.append(list(zip([words[i] for i in ids], probs)))
        return rows

    def _top_k(self, probs: np.ndarray, k: int) -> list[tuple[str, float]]:
        words = probs[1:]  # a view: id 0 (padding) is never suggested
        # Ties go to the lower id, as in a stable argsort and in metrics' ranks; argpartition alone picks
        # among tied words arbitrarily.
        top = top_k_indices(words, k, self._chunk_starts)
        return list(zip([self._word_list[i + 1] for i in top.tolist()], words[top].tolist()))


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


def sample(probs: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator) -> int:
    """Draw an index from probs sharpened (T < 1) or flattened (T > 1), optionally among the top_k only."""
    logits = np.log(np.maximum(probs, 1e-30)) / temperature
    if top_k is not None and top_k < len(logits):
        cutoff = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= cutoff, logits, -np.inf)
    weights = np.exp(logits - logits.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))


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


def sniff_format(data: bytes, source: str) -> str:
    if len(data) < 8:
        raise CorruptModelError(f"{source} is truncated ({len(data)} bytes)")
    if data[4:8] == TFLITE_IDENTIFIER:
        return "tflite"
    if data[:1] in (b"\x08", b"\x12", b"\x1a", b"\x22", b"\x2a", b"\x3a", b"\x42", b"\x72"):  # a protobuf field tag
        return "onnx"
    raise CorruptModelError(f"{source} is neither a TFLite flatbuffer nor an ONNX model")


def check_signature(engine, bundle: Bundle, source: str) -> None:
    """The graph's shapes must be the ones the bundled config describes."""
    config = bundle.config
    in_shape, out_shape = engine.input_shape, engine.output_shape
    state, state_out = engine.roles.state, engine.roles.state_out
    if (config.kind == "sequence") != (state is not None):
        graph = "a step graph with state" if state is not None else "a window graph"
        raise CorruptModelError(
            f"{source}: the bundled config describes a {config.kind} model but the file holds {graph}"
        )
    if config.kind == "sequence":
        steps = in_shape[1] if len(in_shape) == 2 else None
        if len(in_shape) != 2 or (isinstance(steps, int) and steps not in (-1, 1)):
            raise CorruptModelError(
                f"{source}: ids input shape {list(in_shape)}; a step graph takes [batch, n] with n dynamic or 1"
            )
        for port in (state, state_out):
            if len(port.shape) != 2 or port.shape[1] != config.state_size:
                raise CorruptModelError(
                    f"{source}: {port.name} has shape {list(port.shape)} but the bundled config's state is "
                    f"{config.state_size} wide (2 x {config.layers} layers x {config.units} units)"
                )
    elif len(in_shape) != 2 or in_shape[1] != config.context_len:
        raise CorruptModelError(
            f"{source}: input shape {list(in_shape)} does not take {config.context_len} ids (seq_len {config.seq_len})"
        )
    if len(out_shape) != 2 or out_shape[1] != config.vocab_size:
        raise VocabularyMismatchError(
            f"{source}: model outputs {out_shape[-1] if out_shape else '?'} probabilities "
            f"but the bundled vocabulary has {config.vocab_size} ids"
        )
