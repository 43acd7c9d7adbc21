"""The classic lesson's network: Embedding -> LSTM -> Dense(relu) -> Dense(softmax)."""

from __future__ import annotations

import keras
from nextword.runtime.config import TrainConfig


def build_model(config: TrainConfig) -> keras.Model:
    """ids [batch, seq_len - 1] -> next-word probabilities [batch, vocab_size]."""
    if config.vocab_size < 2:
        raise ValueError(f"vocab_size must be set (at least 2), got {config.vocab_size}")
    keras.utils.set_random_seed(config.seed)  # weight init is part of "same seed, same weights"
    tokens = keras.Input(shape=(config.context_len,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")(tokens)
    x = keras.layers.LSTM(config.units, name="lstm")(x)
    x = keras.layers.Dense(config.hidden, activation="relu", name="hidden")(x)
    probs = keras.layers.Dense(config.vocab_size, activation="softmax", name="probs")(x)
    return keras.Model(tokens, probs, name="nextword")
