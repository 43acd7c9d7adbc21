"""The exported graph's contract, shared by both converters: names, shapes, and the top-k head.

    tokens     int32   [batch, seq_len - 1]   context ids, 0 = padding
    probs      float32 [batch, vocab_size]    next-word distribution, as Keras computes it
    top_probs  float32 [batch, K]             the K most likely words' probabilities, highest first
    top_ids    int32   [batch, K]             their ids (never 0), ties to the lower id

Why top-k lives in the graph: selecting 5 of a few thousand probabilities in numpy costs 8-20 us per
call, as much as the whole LSTM; the engines' TopK kernels do it in a fraction of that and the runtime
copies out K numbers instead of the whole vocabulary.
"""

from __future__ import annotations

INPUT = "tokens"
PROBS = "probs"
TOP_PROBS = "top_probs"
TOP_IDS = "top_ids"
OUTPUTS = (PROBS, TOP_PROBS, TOP_IDS)
MAX_TOP_K = 10  # covers keyboard suggestion bars and top-10 lists; larger k falls back to `probs`


def top_k_size(vocab_size: int) -> int:
    return min(MAX_TOP_K, vocab_size - 1)


def serving_outputs(probs, vocab_size: int) -> dict:
    """probs [batch, vocab] -> the three named outputs (TensorFlow ops, traced inside a tf.function)."""
    import tensorflow as tf

    values, indices = tf.math.top_k(probs[:, 1:], k=top_k_size(vocab_size), sorted=True)  # id 0 is never a word
    return {PROBS: probs, TOP_PROBS: values, TOP_IDS: indices + 1}


def expected_shapes(context_len: int, vocab_size: int) -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (dtype, shape without the batch dimension)."""
    k = top_k_size(vocab_size)
    return {INPUT: ("int32", (context_len,)), PROBS: ("float32", (vocab_size,)),
            TOP_PROBS: ("float32", (k,)), TOP_IDS: ("int32", (k,))}
