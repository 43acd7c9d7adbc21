"""The sequence kind's data and held-out score: an id stream -> training chunks, and the held-out tail read
the way the runtime reads text (from a reset, state carried across the whole tail).

A text starts from the zero state with START_ID (0) fed first (runtime/contract.py). Every training chunk
starts that way, so the model learns to predict from "start of text" and from every context length up to
chunk_len; the held-out tail is then read as one long text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from nextword.runtime.config import TrainConfig
from nextword.runtime.contract import START_ID

EVAL_PIECE = 512  # ids per call when reading the held-out tail; the state carries from piece to piece


def training_chunks(train_ids: np.ndarray, chunk_len: int, offset: int, n_chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """Tile the stream from `offset` into chunks: x = [START, w_s .. w_{s+L-2}], y = [w_s .. w_{s+L-1}]."""
    y = train_ids[offset : offset + n_chunks * chunk_len].reshape(n_chunks, chunk_len)
    x = np.concatenate([np.full((n_chunks, 1), START_ID, dtype=np.int32), y[:, :-1]], axis=1)
    return x, y


def chunk_batches(train_ids: np.ndarray, config: TrainConfig) -> tuple[int, Callable[[], Iterator]]:
    """(batches per epoch, epoch): each call of epoch() cuts the stream at a new offset and yields its chunks
    as shuffled batches (x, y), so every word is a target about once per epoch and no word is always the first
    of its chunk. Whole batches only: the last few chunks of a shuffle wait for the next epoch's cut."""
    rng = np.random.default_rng(config.seed)
    # The same number of chunks whatever the offset, so every epoch has the same length.
    n_chunks = (len(train_ids) - config.chunk_len + 1) // config.chunk_len
    n_batches = max(1, n_chunks // config.batch_size)

    def epoch() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        offset = int(rng.integers(0, config.chunk_len))
        x, y = training_chunks(train_ids, config.chunk_len, offset, n_chunks)
        order = rng.permutation(n_chunks)
        for start in range(0, n_batches * config.batch_size, config.batch_size):
            rows = order[start : start + config.batch_size]
            yield x[rows], y[rows]

    return n_batches, epoch


def state_model(model, config: TrainConfig):
    """The trained network with its LSTM state as explicit inputs and outputs, made of `model`'s own layers
    (so it always has the current weights): (tokens [B, T], h_1, c_1, ...) -> (probs [B, T, V], h_1', c_1',
    ...). Dropout is left out: it is inactive outside training anyway."""
    import keras
    from nextword.train.model import output_layer

    tokens = keras.Input(shape=(None,), dtype="int32")
    x = model.get_layer("embedding")(tokens)
    states_in, states_out = [], []
    for layer in range(1, config.layers + 1):
        h, c = keras.Input(shape=(config.units,)), keras.Input(shape=(config.units,))
        x, h_out, c_out = model.get_layer(f"lstm_{layer}")(x, initial_state=[h, c])
        states_in += [h, c]
        states_out += [h_out, c_out]
    probs = output_layer(model, config)(x)
    return keras.Model([tokens, *states_in], [probs, *states_out])


def held_out_scores(stepper, config: TrainConfig, held_ids: np.ndarray) -> dict[str, float]:
    """val_loss (mean negative log-likelihood), val_accuracy (top-1) and val_top5 over the held-out ids."""
    inputs = np.concatenate([[START_ID], held_ids[:-1]]).astype(np.int32)
    states = [np.zeros((1, config.units), np.float32) for _ in range(2 * config.layers)]
    nll, top1, top5 = [], [], []
    for start in range(0, len(inputs), EVAL_PIECE):
        out = stepper.predict_on_batch([inputs[None, start : start + EVAL_PIECE], *states])
        probs, states = np.asarray(out[0][0], dtype=np.float64), [np.asarray(s) for s in out[1:]]
        targets = held_ids[start : start + EVAL_PIECE]
        target_probs = probs[np.arange(len(targets)), targets]
        # Rank = how many words are strictly likelier: ties count for the target, as Keras' accuracy does.
        rank = (probs > target_probs[:, None]).sum(axis=1)
        nll.append(-np.log(np.maximum(target_probs, 1e-12)))
        top1.append(rank < 1)
        top5.append(rank < 5)
    return {
        "val_loss": float(np.concatenate(nll).mean()),
        "val_accuracy": float(np.concatenate(top1).mean()),
        "val_top5": float(np.concatenate(top5).mean()),
    }
