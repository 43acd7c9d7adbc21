"""The window kind: the lesson's model, which reads the last seq_len - 1 ids of a text (JS twin:
runtime/js/src/kinds/window.js). Its state is that context, left-padded with 0 as pad_sequences does; every
prediction is one engine call on it."""

from __future__ import annotations

import numpy as np
from nextword.runtime.errors import CorruptModelError, InputError
from nextword.runtime.kinds.base import KindModel


class WindowModel(KindModel):
    name = "window"

    def __init__(self, engine, bundle, source: str):
        super().__init__(engine, bundle, source)
        self.context_len = bundle.config.context_len

    def check_signature(self) -> None:
        engine, source = self.engine, self.source
        if engine.roles.state is not None:
            raise CorruptModelError(
                f"{source}: the bundled config describes a window model but the file holds a step graph with state"
            )
        in_shape = engine.input_shape
        if len(in_shape) != 2 or in_shape[1] != self.context_len:
            raise CorruptModelError(
                f"{source}: input shape {list(in_shape)} does not take {self.context_len} ids "
                f"(seq_len {self.config.seq_len})"
            )
        self.check_vocabulary()

    def warm_up(self) -> None:
        padding = np.zeros((1, self.context_len), dtype=np.int32)
        probs = self.probabilities(padding)[0]
        if self.top_k:
            self.top_rows(padding, self.top_k)
        self.check_sum(probs)

    # --- state: the context --------------------------------------------------------------------------
    def begin(self, ids: list[int], *, full: bool = False) -> np.ndarray:
        tail = ids[-self.context_len :] if self.context_len else []
        return np.array([0] * (self.context_len - len(tail)) + tail, dtype=np.int32)

    def advance(self, context: np.ndarray, ids: list[int], *, full: bool = False) -> np.ndarray:
        # Slide the window: drop the oldest ids, append the new ones.
        return self.begin(context.tolist() + list(ids))

    def top(self, context: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        return self.top_rows(context[None, :], k)[0]

    def probs(self, context: np.ndarray) -> np.ndarray:
        return self.probabilities(context[None, :])[0]

    def choose(self, context: np.ndarray, choice) -> int:
        return choice.from_probs(self.probs(context))

    def top_batch(self, id_lists: list, k: int, batch_size: int) -> list:
        rows = []
        for start in range(0, len(id_lists), batch_size):
            rows.extend(self.top_rows(np.stack([self.begin(ids) for ids in id_lists[start : start + batch_size]]), k))
        return rows

    # --- engine calls ----------------------------------------------------------------------------------
    def top_rows(self, contexts: np.ndarray, k: int) -> list[tuple[list[int], list[float]]]:
        """The top k (ids, probs) per context row: from the graph's own TopK outputs when it has enough of
        them (a few microseconds in the engine), else selected here from the full distribution."""
        if k > self.top_k:
            return [self.ranked(row, k) for row in self.checked_probs(self.engine.run(contexts), len(contexts))]
        top_probs, top_ids = self.engine.run_top(contexts)
        shape = (len(contexts), self.top_k)
        if top_probs.shape != shape or top_ids.shape != shape:  # rank, rows and width, as the signature declared
            raise CorruptModelError(
                f"{self.source}: the model returned top-k outputs of shapes {list(top_probs.shape)[:4]} and "
                f"{list(top_ids.shape)[:4]} for {len(contexts)} rows; expected {list(shape)}"
            )
        # k numbers per row: plain Python from here on is faster than any further numpy call.
        return [self.checked_top(ids, probs) for probs, ids in zip(top_probs[:, :k].tolist(), top_ids[:, :k].tolist())]

    def probabilities(self, contexts: np.ndarray) -> np.ndarray:
        contexts = np.ascontiguousarray(contexts, dtype=np.int32)
        if contexts.ndim != 2 or contexts.shape[1] != self.context_len:
            raise InputError(f"contexts must have shape [batch, {self.context_len}], got {list(contexts.shape)}")
        if contexts.size and (contexts.min() < 0 or contexts.max() >= self.vocab_size):
            raise InputError(f"context ids must be in [0, {self.vocab_size})")
        if not len(contexts):
            # Never hand an engine an empty batch: onnxruntime aborts the whole process on it, LiteRT raises.
            return np.zeros((0, self.vocab_size), dtype=np.float32)
        return self.checked_probs(self.engine.run(contexts), len(contexts))

    def evaluation_orders(self) -> tuple[int, ...]:
        """The Kneser-Ney orders `nextword evaluate` compares with by default."""
        return (self.config.seq_len,)  # the n-gram of the model's own window

    def evaluate_tail(self, predictor, *args, **options):
        """`nextword evaluate`'s held-out tail, read as this kind reads text (runtime/evaluate.py)."""
        # Imported here: evaluation code (n-grams, metrics) is loaded only by those who evaluate.
        from nextword.runtime.evaluate import evaluate_windows_tail

        return evaluate_windows_tail(predictor, *args, **options)

    # --- what this kind does not have ------------------------------------------------------------------
    def stream_reader(self, ids):
        raise InputError(f"{self.source} is a window model; use probabilities() on its windows")

    def session(self, predictor):
        raise InputError(
            f"{self.source} is a window model, which has no state to carry: a session needs a sequence "
            "model; call predict_next(text) with the text so far instead"
        )
