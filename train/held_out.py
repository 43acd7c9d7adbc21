"""The held-out score of every training path (in memory or streamed, one process or several workers).

After each epoch the held-out tail is scored by runtime/metrics.py evaluate_windows, the function behind
`nextword evaluate`: the same probability floor, and ties in top-k going to the lower id. So an epoch's
val_loss / val_accuracy / val_top5 mean what the evaluation of the exported file means.

The tail arrives as id blocks in text order, from memory or streamed from disk. The window kind reads it as
windows of seq_len ids, across block edges; the sequence kind as one text from a reset (START_ID first), its
LSTM state carried from call to call, as a runtime session reads text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from nextword.runtime.config import TrainConfig
from nextword.runtime.contract import START_ID
from nextword.runtime.metrics import evaluate_windows
from nextword.train.stream import windows_of

EVAL_ROWS = 512  # window kind: held-out windows per model call
EVAL_PIECE = 512  # sequence kind: held-out ids per call, the state carried from piece to piece


def held_out_scorer(model, config: TrainConfig):
    """score(blocks) -> {"val_loss", "val_accuracy", "val_top5"} of `model`'s current weights over the
    held-out ids (ids[held_start:], as blocks in text order); {} when the tail holds nothing to score."""
    return SequenceScorer(model, config) if config.kind == "sequence" else WindowScorer(model, config)


def held_out_callback(model, config: TrainConfig, held_ids: np.ndarray):
    """For model.fit: a callback that adds the held-out scores to each epoch's logs, where the callbacks after
    it (the epoch kept, the progress line) and the history find them."""
    import keras

    score = held_out_scorer(model, config)

    class HeldOutScore(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs.update(score([held_ids]))

    return HeldOutScore()


class WindowScorer:
    def __init__(self, model, config: TrainConfig):
        import tensorflow as tf

        self.seq_len = config.seq_len
        self.graph = tf.function(
            lambda x: model(x, training=False), input_signature=[tf.TensorSpec([None, config.seq_len - 1], tf.int32)]
        )

    def __call__(self, blocks: Iterable[np.ndarray]) -> dict[str, float]:
        def probs(contexts):
            return finite(self.graph(contexts).numpy())

        total = Total()
        try:
            for rows in windows_of(blocks, self.seq_len):
                total.add(evaluate_windows(probs, rows[:, :-1], rows[:, -1], batch_size=EVAL_ROWS))
        except NotFinite:
            return Total.diverged()
        return total.scores()


class SequenceScorer:
    def __init__(self, model, config: TrainConfig):
        import tensorflow as tf
        from nextword.train.sequence import state_model

        stepper = state_model(model, config)
        self.zero_state = [np.zeros((1, config.units), np.float32) for _ in range(2 * config.layers)]
        state_spec = [tf.TensorSpec([1, config.units], tf.float32)] * len(self.zero_state)

        @tf.function(input_signature=[tf.TensorSpec([1, None], tf.int32), state_spec])
        def step(ids, states):
            out = stepper([ids, *states], training=False)
            return out[0], list(out[1:])

        self.step = step

    def __call__(self, blocks: Iterable[np.ndarray]) -> dict[str, float]:
        states, previous = self.zero_state, START_ID

        def read(contexts):  # contexts [n, 1]: each target's previous id, in text order
            nonlocal states
            probs, states = self.step(np.ascontiguousarray(contexts.T), states)
            return finite(probs[0].numpy())

        total = Total()
        try:
            for block in blocks:
                if not len(block):
                    continue
                inputs = np.concatenate([[previous], block[:-1]]).astype(np.int32)
                previous = int(block[-1])
                total.add(evaluate_windows(read, inputs[:, None], block, batch_size=EVAL_PIECE))
        except NotFinite:
            return Total.diverged()
        return total.scores()


class NotFinite(Exception):
    """A diverged model: its epoch's scores are NaN, as Keras' own would be, rather than the run stopping."""


def finite(probs: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(probs)):
        raise NotFinite
    return probs


class Total:
    """evaluate_windows results of several blocks, weighted by their windows."""

    def __init__(self):
        self.windows, self.nll, self.top1, self.top5 = 0, 0.0, 0.0, 0.0

    def add(self, result: dict) -> None:
        n = result["windows"]
        self.windows += n
        self.nll += n * math.log(result["perplexity"])  # perplexity = exp(mean negative log-likelihood)
        self.top1 += n * result["top1"]
        self.top5 += n * result["top5"]

    def scores(self) -> dict[str, float]:
        if not self.windows:
            return {}
        n = self.windows
        return {"val_loss": self.nll / n, "val_accuracy": self.top1 / n, "val_top5": self.top5 / n}

    @staticmethod
    def diverged() -> dict[str, float]:
        return dict.fromkeys(("val_loss", "val_accuracy", "val_top5"), math.nan)
