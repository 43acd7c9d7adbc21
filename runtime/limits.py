"""Bounds on what the numbers inside a model file may make the runtime allocate, checked before anything is.

A file's byte size bounds nothing here: a 1.4 KB file can declare a 2-billion-word vocabulary, a
10^9-word context or a FILL of 16384 x 16384 floats. Every such number is checked against these limits
(keyword arguments of Predictor.load / from_bytes) before the runtime or an engine allocates by it.

The defaults fit a phone and leave room above every model nextword trains: the `small` preset has
3,001 ids, 64 units and 3,000 x 32 embeddings; a 100k-word vocabulary with 1,024 units is a few hundred MB
of weights, which is what max_planned_bytes allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from nextword.runtime.errors import InputError, UnsafeModelError


@dataclass(frozen=True)
class Limits:
    max_vocab_size: int = 262_144  # ids, padding included; the id -> word list is built from it at load
    max_seq_len: int = 1_024  # window kind: words per window (the context is one fewer), read on every call
    max_state_size: int = 65_536  # sequence kind: floats of LSTM state per text (2 * layers * units)
    max_units: int = 8_192  # embedding_dim, units and hidden: one layer's width
    max_layers: int = 64
    max_tensor_elements: int = 64 * 1024 * 1024  # any one tensor of the graph (256 MiB of float32)
    max_planned_bytes: int = 512 * 1024 * 1024  # all tensors of the graph together, at a batch of one

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{f.name} must be a positive integer, got {value!r}")

    @classmethod
    def of(cls, overrides: dict) -> Limits:
        """Limits from Predictor.load's keyword arguments; an unknown name is a TypeError, as for any function."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
        return cls(**overrides)


DEFAULT_LIMITS = Limits()


def check_config_sizes(config, limits: Limits, source: str) -> None:
    """The bundled config's sizes, before the id -> word list or any input array is made from them."""
    checks = [("vocab_size", config.vocab_size, "max_vocab_size"), ("seq_len", config.seq_len, "max_seq_len")]
    checks += [(name, getattr(config, name), "max_units") for name in ("units", "embedding_dim", "hidden")]
    checks.append(("layers", getattr(config, "layers", 1), "max_layers"))
    for name, value, limit in checks:
        if value > getattr(limits, limit):
            raise UnsafeModelError(f"{source}: bundled config {name} is {value}, over {limit} {getattr(limits, limit)}")
    state_size = getattr(config, "state_size", 0)  # 2 * layers * units for the sequence kind, 0 for windows
    if state_size > limits.max_state_size:
        raise UnsafeModelError(
            f"{source}: the model's state is {state_size} floats per text, over max_state_size {limits.max_state_size}"
        )


def check_tensor(name: str, shape, itemsize: int, limits: Limits, source: str) -> int:
    """Bytes of one tensor at a batch of one (dynamic dimensions, -1 or named, count as 1), within the limits."""
    elements = math.prod(max(int(d), 1) for d in shape)
    if elements > limits.max_tensor_elements:
        raise UnsafeModelError(
            f"{source}: tensor {name!r} of shape {list(shape)[:8]} has {elements} elements, over "
            f"max_tensor_elements {limits.max_tensor_elements}"
        )
    return elements * itemsize


# A real graph's tensors at a batch of one are its weights, which the file stores (at most 4x the file once
# float16 or int8 weights are widened to float32), plus activations of a few rows: far below this. A file that
# declares more has edited shapes; the fuzzer found 1 MB files that made LiteRT allocate 600 MB within
# max_planned_bytes.
PLANNED_PER_FILE_BYTE = 4
PLANNED_SLACK_BYTES = 64 * 1024 * 1024


def check_planned(total_bytes: int, limits: Limits, source: str, file_bytes: int | None = None) -> None:
    if total_bytes > limits.max_planned_bytes:
        raise UnsafeModelError(
            f"{source}: the graph's tensors need {total_bytes} bytes, over max_planned_bytes {limits.max_planned_bytes}"
        )
    if file_bytes is not None and total_bytes > PLANNED_PER_FILE_BYTE * file_bytes + PLANNED_SLACK_BYTES:
        raise UnsafeModelError(
            f"{source}: the graph's tensors need {total_bytes} bytes, more than a {file_bytes}-byte file's weights "
            f"can take ({PLANNED_PER_FILE_BYTE}x the file + {PLANNED_SLACK_BYTES >> 20} MiB)"
        )


# Nodes (ONNX) or operators (TFLite) per graph, from the bundled config: nextword's graphs are a fixed part
# (embedding, dense layers, softmax, top-k, shape plumbing) plus a part per LSTM cell, which is one layer in ONNX
# (an LSTM node each) and one layer x one unrolled word in TFLite (the window kind unrolls its context). Measured
# on exports of both kinds (1-3 layers, 2 and 5 context words; float32, float16 and dynamic): at most 42 nodes
# for one layer + 11 per further layer (ONNX), 16 operators + 21 per cell (TFLite). The bounds leave 3-6x that,
# room for int8 graphs (a DynamicQuantizeLinear, MatMulInteger and DequantizeLinear per matmul), and refuse a
# 100,000-node chain (3.5 MB, which onnxruntime took 30 s to load) before it is parsed.
GRAPH_FIXED_NODES = 256
GRAPH_NODES_PER_CELL = 64


def max_graph_nodes(cells: int) -> int:
    return GRAPH_FIXED_NODES + GRAPH_NODES_PER_CELL * cells


def check_node_count(count: int, cells: int, what: str, source: str) -> None:
    bound = max_graph_nodes(cells)
    if count > bound:
        raise UnsafeModelError(
            f"{source}: the graph has more than {bound} {what}, the most nextword's graphs of {cells} LSTM "
            f"cell(s) may hold ({GRAPH_FIXED_NODES} + {GRAPH_NODES_PER_CELL} per cell)"
        )


def check_shape_constants(values: list[int], where: str, limits: Limits, source: str) -> None:
    """The constant numbers a shape is built from (the rest come from real tensors' own shapes): a FILL or
    Expand whose dimensions multiply past max_tensor_elements would allocate them at load or at run."""
    size = math.prod(max(v, 1) for v in values)
    if any(v < -1 for v in values) or size > limits.max_tensor_elements:
        raise UnsafeModelError(
            f"{source}: {where} builds a shape from constants {values[:8]}, over max_tensor_elements "
            f"{limits.max_tensor_elements} or negative"
        )
