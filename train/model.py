"""The networks, one per model kind.

window:   the classic lesson's network, Embedding -> LSTM -> Dense(relu) -> Dense(softmax), ids of a fixed
          context -> the next word.
sequence: a language model, Embedding -> LSTM x layers -> Dense(softmax) at every position, trained on
          contiguous chunks of the text; export turns it into a step graph with explicit state.
"""

from __future__ import annotations

import keras
from nextword.runtime.config import TrainConfig


def build_model(config: TrainConfig) -> keras.Model:
    if config.vocab_size < 2:
        raise ValueError(f"vocab_size must be set (at least 2), got {config.vocab_size}")
    keras.utils.set_random_seed(config.seed)  # weight init is part of "same seed, same weights"
    return build_sequence_model(config) if config.kind == "sequence" else build_window_model(config)


def build_window_model(config: TrainConfig) -> keras.Model:
    """ids [batch, seq_len - 1] -> next-word probabilities [batch, vocab_size]."""
    tokens = keras.Input(shape=(config.context_len,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")(tokens)
    x = keras.layers.LSTM(config.units, name="lstm")(x)
    x = keras.layers.Dense(config.hidden, activation="relu", name="hidden")(x)
    probs = keras.layers.Dense(config.vocab_size, activation="softmax", name="probs")(x)
    return keras.Model(tokens, probs, name="nextword")


def build_sequence_model(config: TrainConfig) -> keras.Model:
    """ids [batch, time] -> the next word's probabilities at every position [batch, time, vocab_size].

    Dropout (Zaremba et al. 2014: on the non-recurrent connections only) is active in training alone, so
    the exported graph is the same network without it. Layer names are what export copies weights by. The
    LSTMs also return their state (unused here) so that the same layers can run from an explicit state
    (train/sequence.py's state_model)."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")(tokens)
    x = keras.layers.Dropout(config.dropout, name="dropout_0")(x)
    for layer in range(1, config.layers + 1):
        x, _, _ = keras.layers.LSTM(config.units, return_sequences=True, return_state=True, name=f"lstm_{layer}")(x)
        x = keras.layers.Dropout(config.dropout, name=f"dropout_{layer}")(x)
    probs = keras.layers.Dense(config.vocab_size, activation="softmax", name="probs")(x)
    return keras.Model(tokens, probs, name="nextword_sequence")
