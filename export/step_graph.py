"""The sequence kind's step graph: (ids [batch, n], state [batch, S]) -> next-word outputs and the new state.

Built from the trained full-sequence model by copying its weights, by layer name, into Keras LSTM layers
that take an initial state and return their final one (runtime/contract.py has the contract). Measured
routes (TF 2.21, Keras 3.15, tf2onnx 1.17):
- ONNX: Keras' LSTM in a tf.function with a dynamic time axis converts to one ONNX `LSTM` op per layer
  (tf2onnx's LSTM rewriter), so n is dynamic and the graph has no Loop/Scan/If.
- TFLite: the same layers with unroll=True and a fixed n, frozen to constants (as for the window kind):
  builtin ops only, a dynamic batch, no variables; the runtime loops over the ids one step at a time.
Only the last position's output goes through the softmax: prefilling n words pays for one softmax, not n.
"""

from __future__ import annotations

from nextword.export import signature
from nextword.runtime import contract
from nextword.runtime.config import TrainConfig

TFLITE_STEPS = 1  # ids per TFLite call: a fixed n > 1 could not take texts of other lengths


def step_layers(model, config: TrainConfig, *, unroll: bool) -> list:
    """One LSTM per trained layer with return_state, weights copied from the trained lstm_1..lstm_L."""
    import keras

    layers = []
    for index in range(1, config.layers + 1):
        source = model.get_layer(f"lstm_{index}")
        layer_config = source.get_config()
        layer_config.pop("weight_drop", None)  # training only (train/model.py DropConnectLSTM): a plain LSTM here
        layer_config.update(
            name=f"step_lstm_{index}",
            return_sequences=index < config.layers,  # the last layer's final h is all the softmax needs
            return_state=True,
            unroll=unroll,
        )
        layer = keras.layers.LSTM.from_config(layer_config)
        layer.build((None, None, config.embedding_dim if index == 1 else config.units))
        layer.set_weights(source.get_weights())
        layers.append(layer)
    return layers


def step_forward(model, config: TrainConfig, *, unroll: bool):
    """A Python function (tokens, state) -> (probs, state_out) over TensorFlow tensors."""
    import tensorflow as tf
    from nextword.train.model import output_layer

    embedding, dense = model.get_layer("embedding"), output_layer(model, config)
    lstms = step_layers(model, config, unroll=unroll)
    units = config.units

    def forward(tokens, state):
        x = embedding(tokens)
        states = []
        for index, lstm in enumerate(lstms):
            h0 = state[:, 2 * index * units : (2 * index + 1) * units]
            c0 = state[:, (2 * index + 1) * units : (2 * index + 2) * units]
            x, h, c = lstm(x, initial_state=[h0, c0], training=False)
            states += [h, c]
        return dense(x), tf.concat(states, axis=1)

    return forward


def input_signature(config: TrainConfig, steps: int | None) -> list:
    import tensorflow as tf

    return [
        tf.TensorSpec([None, steps], tf.int32, name=contract.INPUT),
        tf.TensorSpec([None, config.state_size], tf.float32, name=contract.STATE),
    ]


def serving_function(model, config: TrainConfig):
    """For tf2onnx: dynamic batch and n; variables are frozen by the converter."""
    import tensorflow as tf

    forward = step_forward(model, config, unroll=False)

    @tf.function(input_signature=input_signature(config, None))
    def serve(tokens, state):
        probs, state_out = forward(tokens, state)
        return {**signature.serving_outputs(probs, config.vocab_size), contract.STATE_OUT: state_out}

    return serve


def frozen_serving_function(model, config: TrainConfig, steps: int = TFLITE_STEPS):
    """For the TFLite converter: unrolled over a fixed n, weights frozen to constants (see export/tflite.py)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    forward = step_forward(model, config, unroll=True)
    spec = input_signature(config, steps)

    @tf.function(input_signature=spec)
    def traced(tokens, state):
        return forward(tokens, state)

    constant = convert_variables_to_constants_v2(traced.get_concrete_function())

    @tf.function(input_signature=spec)
    def serve(tokens, state):
        probs, state_out = constant(tokens, state)
        return {**signature.serving_outputs(probs, config.vocab_size), contract.STATE_OUT: state_out}

    return serve
