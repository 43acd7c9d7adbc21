"""The sequence kind's data: an id stream -> training chunks, and the network as an explicit-state step model.

A text starts from the zero state with START_ID (0) fed first (runtime/contract.py). Every training chunk
starts that way, so the model learns to predict from "start of text" and from every context length up to
chunk_len; the held-out tail is then read as one long text (train/held_out.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from nextword.runtime.config import TrainConfig
from nextword.runtime.contract import START_ID


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
