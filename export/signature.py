"""The TensorFlow side of the graph contract (names and shapes: nextword.runtime.contract)."""

from __future__ import annotations

from nextword.runtime.contract import PROBS, TOP_IDS, TOP_PROBS, top_k_size


def serving_outputs(probs, vocab_size: int) -> dict:
    """probs [batch, vocab] -> the three named outputs (TensorFlow ops, traced inside a tf.function)."""
    import tensorflow as tf

    values, indices = tf.math.top_k(probs[:, 1:], k=top_k_size(vocab_size), sorted=True)  # id 0 is never a word
    return {PROBS: probs, TOP_PROBS: values, TOP_IDS: indices + 1}
