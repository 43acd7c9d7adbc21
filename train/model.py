"""The networks, one per model kind.

window:   the classic lesson's network, Embedding -> LSTM -> Dense(relu) -> Dense(softmax), ids of a fixed
          context -> the next word.
sequence: a language model, Embedding -> LSTM x layers -> Dense(softmax) at every position, trained on
          contiguous chunks of the text; export turns it into a step graph with explicit state. Tied, the softmax
          is the embedding table read backwards, after a linear projection when the LSTM is wider than the table.
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

    Dropout (Zaremba et al. 2014: on the non-recurrent connections only; one mask per sequence, shared over
    time, as Gal & Ghahramani 2016 found better) is active in training alone, so the exported graph is the same
    network without it. Layer names are what export copies weights by. The LSTMs also return their state
    (unused here) so that the same layers can run from an explicit state (train/sequence.py's state_model)."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    if config.tie_embeddings:
        table = TiedEmbedding(config.vocab_size, config.embedding_dim, name="embedding")
    else:
        table = keras.layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")
    x = table(tokens)
    x = keras.layers.Dropout(config.embedding_dropout, noise_shape=(None, 1, config.embedding_dim), name="dropout_0")(x)
    for layer in range(1, config.layers + 1):
        lstm = DropConnectLSTM(
            config.units, weight_drop=config.weight_drop, return_sequences=True, return_state=True, name=f"lstm_{layer}"
        )
        memory, _, _ = lstm(x)
        x = keras.layers.Dropout(config.dropout, noise_shape=(None, 1, config.units), name=f"dropout_{layer}")(memory)
    if config.activation_reg or config.temporal_reg:
        x = ActivationPenalty(config.activation_reg, config.temporal_reg, name="activation_penalty")([memory, x])
    if config.projects:
        x = keras.layers.Dense(config.embedding_dim, name="projection")(x)  # linear: the tied table's own space
    if config.tie_embeddings:
        probs = table(x, project=True)
    else:
        probs = keras.layers.Dense(config.vocab_size, activation="softmax", name="probs")(x)
    return keras.Model(tokens, probs, name="nextword_sequence")


def output_layer(model, config: TrainConfig):
    """The softmax at the top of a sequence model: its own Dense, or the embedding table read backwards (after
    the projection, when the LSTM is wider than the table)."""
    if config.tie_embeddings:
        table = model.get_layer("embedding")
        projection = model.get_layer("projection") if config.projects else None
        return lambda x: table(projection(x) if projection else x, project=True)
    return model.get_layer("probs")


@keras.saving.register_keras_serializable(package="nextword")
class ActivationPenalty(keras.layers.Layer):
    """AR and TAR (Merity et al. 2018), in training only: activation_reg * mean(dropped^2) keeps the last LSTM's
    outputs small, temporal_reg * mean((h_t - h_{t-1})^2) keeps them from jumping between steps. On
    tinyshakespeare the preset's held-out perplexity fell 6.3 % with the AWD-LSTM values (2 and 1). Passes the
    dropped output through unchanged and holds no weights: export never sees it."""

    def __init__(self, activation_reg: float, temporal_reg: float, **kwargs):
        super().__init__(**kwargs)
        self.activation_reg, self.temporal_reg = activation_reg, temporal_reg

    def call(self, inputs, training=False):
        memory, dropped = inputs
        if training:
            ops = keras.ops
            steps = memory[:, 1:] - memory[:, :-1]
            self.add_loss(
                self.activation_reg * ops.mean(ops.square(dropped)) + self.temporal_reg * ops.mean(ops.square(steps))
            )
        return dropped

    def get_config(self):
        return {**super().get_config(), "activation_reg": self.activation_reg, "temporal_reg": self.temporal_reg}


@keras.saving.register_keras_serializable(package="nextword")
class TiedEmbedding(keras.layers.Layer):
    """One table for both ends of a language model (Press & Wolf 2017, Inan et al. 2017): ids -> rows of E,
    and hidden states -> softmax(h E^T + b). It halves the parameters and, on small text, overfits less.
    Called twice in the model, the second time with project=True; export reads E and b as an ordinary
    Embedding and Dense(softmax) would hold them."""

    def __init__(self, vocab_size: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.dim = vocab_size, dim

    def build(self, input_shape=None):
        # Keras' Embedding initializer, so that tying changes what is shared, not where training starts.
        init = keras.initializers.RandomUniform(-0.05, 0.05)
        self.embeddings = self.add_weight(shape=(self.vocab_size, self.dim), initializer=init, name="embeddings")
        self.bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="bias")

    def call(self, inputs, project: bool = False):
        if project:
            logits = keras.ops.matmul(inputs, keras.ops.transpose(self.embeddings)) + self.bias
            return keras.ops.softmax(logits, axis=-1)
        return keras.ops.take(self.embeddings, keras.ops.cast(inputs, "int32"), axis=0)

    def compute_output_spec(self, inputs, project: bool = False):
        last = self.vocab_size if project else self.dim
        shape = tuple(inputs.shape) if project else (*inputs.shape, self.dim)
        return keras.KerasTensor((*shape[:-1], last) if project else shape, dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim}


@keras.saving.register_keras_serializable(package="nextword")
class DropConnectLSTM(keras.layers.LSTM):
    """Keras' LSTM with two changes to training, none to what it computes:
    - weight drop (Merity et al. 2018): in training, the hidden-to-hidden kernel gets one DropConnect mask per
      batch, shared by every step. It regularizes the recurrence without touching the state, and costs one
      multiply per batch where Keras' per-step recurrent_dropout costs four matmuls per step;
    - the input half of every gate, x_t W + b, is one matmul for all steps before the loop instead of one per
      step, so the loop does h_{t-1} U alone.
    Its weights are an LSTM's (kernel, recurrent_kernel, bias); export builds a plain LSTM from them."""

    def __init__(self, units: int, weight_drop: float = 0.0, **kwargs):
        if kwargs.get("go_backwards") or kwargs.get("stateful"):
            raise ValueError("DropConnectLSTM reads its sequences forwards and from the given state only")
        super().__init__(units, **kwargs)
        self.weight_drop = weight_drop
        # Only when used: making a seed generator draws from the global seed, which would shift every later draw.
        self.drop_seed = keras.random.SeedGenerator() if weight_drop > 0 else None

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell, ops = self.cell, keras.ops
        recurrent = cell.recurrent_kernel
        if training and self.weight_drop > 0:
            recurrent = keras.random.dropout(recurrent, self.weight_drop, seed=self.drop_seed)
        # [time, batch, 4 * units]: every step's input half of the gates, for ops.scan to walk along time
        projected = ops.transpose(ops.matmul(sequences, cell.kernel) + cell.bias, (1, 0, 2))

        def step(state, z_input):
            h, c = state
            i, f, g, o = ops.split(z_input + ops.matmul(h, recurrent), 4, axis=-1)
            c = cell.recurrent_activation(f) * c + cell.recurrent_activation(i) * cell.activation(g)
            h = cell.recurrent_activation(o) * cell.activation(c)
            return (h, c), (h, c)  # Keras' scan wants the per-step output shaped like the carry

        (h, c), (outputs, _) = ops.scan(step, tuple(initial_state), projected)
        # What Keras' RNN expects back from inner_loop: (last output, all outputs [batch, time, units], states)
        return h, ops.transpose(outputs, (1, 0, 2)), [h, c]

    def get_config(self):
        return {**super().get_config(), "weight_drop": self.weight_drop}
