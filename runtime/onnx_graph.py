"""Refuse every ONNX graph that is not one nextword's exporter makes, before onnxruntime sees the file.

Read with the same small protobuf reader as runtime/onnx_scan.py (which has already checked the file is
well-formed and self-contained): the model may import only the exporter's opset domains, define no
functions or training graphs, and its one graph may hold only the operators of the model kind's allowlist
(runtime/allowlist.py: no Loop, If or Scan, so no call can loop), each with the input and output counts the
exporter gives it and no graph-valued attribute, and as many as a bound set by the bundled config's layers;
every tensor type named anywhere (initializers, inputs, outputs, value_info, Cast targets, constant attributes)
must be one the exporter writes, and every size within the limits (runtime/limits.py). Its LSTMs must be the
bundled config's: as many as its layers, of its units, reading its embedding_dim.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np
from nextword.runtime import allowlist
from nextword.runtime.errors import CorruptModelError, UnsafeModelError
from nextword.runtime.limits import (
    DEFAULT_LIMITS,
    Limits,
    check_node_count,
    check_planned,
    check_shape_constants,
    check_tensor,
)
from nextword.runtime.onnx_scan import WIRE_LEN, WIRE_VARINT, _fields, _varint, start_field_budget

# onnx.proto field numbers
_MODEL_OPSET_IMPORT, _MODEL_GRAPH, _MODEL_TRAINING_INFO, _MODEL_FUNCTIONS = 8, 7, 20, 25
_OPSET_DOMAIN, _OPSET_VERSION = 1, 2
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_OUTPUT, _GRAPH_VALUE_INFO, _GRAPH_SPARSE = 1, 5, 11, 12, 13, 15
_NODE_INPUT, _NODE_OUTPUT, _NODE_OP_TYPE, _NODE_ATTRIBUTE, _NODE_DOMAIN = 1, 2, 4, 5, 7
_ATTR_NAME, _ATTR_I, _ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS = 1, 3, 5, 6, 10, 11
_ATTR_SPARSE, _ATTR_SPARSES = 22, 23
_TENSOR_DIMS, _TENSOR_DATA_TYPE, _TENSOR_INT32_DATA, _TENSOR_INT64_DATA, _TENSOR_NAME, _TENSOR_RAW = 1, 2, 5, 7, 8, 9
_TENSOR_UINT64_DATA = 11
_VALUE_NAME, _VALUE_TYPE = 1, 2
_TYPE_TENSOR, _TENSOR_TYPE_ELEM, _TENSOR_TYPE_SHAPE, _SHAPE_DIM, _DIM_VALUE = 1, 1, 2, 1, 1
MAX_SHAPE_RANK = 8
# Sizes far past what the exporter writes (its longest name is 55 bytes, its longest attribute 37, a node well under
# 1 KiB), refused before onnxruntime parses them: it keeps several copies of what it reads, so 30 million ints in one
# attribute of a 30 MB file took it 810 MB before it said the model was invalid.
MAX_NAME_BYTES = 4096
MAX_NODE_BYTES = 4096
MAX_ATTRIBUTE_BYTES = 256
MAX_SHAPE_CONSTANT = 8  # elements: an integer constant longer than this is not a shape
# The integer constants nextword's graphs read (every export listed: float32, float16, dynamic, both kinds) are
# Slice bounds, axes, TopK's k and shapes: none below -1 (a Slice start of -1, the last step), and every Slice end
# positive. A Slice end of -2 edited in empties the top-k rows, and onnxruntime-node 1.30 then dies of SIGFPE
# (the JS fuzz campaign: 11 of 20,000 files); Python's onnxruntime returned the empty rows, refused at warm-up.
MIN_INT_CONSTANT = -1
SLICE_ENDS = 2  # Slice(data, starts, ends, axes): the input holding the ends
# The LSTM ops and the order of their weights' dims: ONNX LSTM W [1, 4u, in] and R [1, 4u, u];
# com.microsoft's DynamicQuantizeLSTM stores them transposed, [1, in, 4u] and [1, u, 4u].
LSTM_WEIGHT_DIMS = {"LSTM": (1, 2), "DynamicQuantizeLSTM": (2, 1)}  # op -> (the 4u axis, the in axis)
# What exported weights pass through on their way to an LSTM (float16 files Cast them, QDQ files dequantize).
WEIGHT_PLUMBING = ("Cast", "DequantizeLinear")


@dataclass
class Node:
    domain: str
    op_type: str
    inputs: list[str]
    outputs: list[str]
    ints: dict[str, int] = field(default_factory=dict)


def check_onnx_graph(buf: bytes, config, limits: Limits = DEFAULT_LIMITS, source: str = "model") -> None:
    """`config`: the bundled TrainConfig (its kind picks the allowlist, its layers bound the nodes)."""
    data = memoryview(buf)
    start_field_budget()
    try:
        _check_model(data, config, limits, source)
    except (UnicodeDecodeError, struct.error) as exc:
        raise CorruptModelError(f"{source}: ONNX graph is corrupt: {type(exc).__name__}") from None


def _check_model(data: memoryview, config, limits: Limits, source: str) -> None:
    graphs = []
    for number, wire, value in _fields(data, 0, len(data)):
        if number in (_MODEL_FUNCTIONS, _MODEL_TRAINING_INFO):
            what = "functions" if number == _MODEL_FUNCTIONS else "training graphs"
            raise CorruptModelError(f"{source}: ONNX model defines {what}, which nextword never writes")
        if number == _MODEL_OPSET_IMPORT:
            _check_opset(data, _span(number, wire, value), source)
        elif number == _MODEL_GRAPH:
            graphs.append(_span(number, wire, value))
    if len(graphs) != 1:
        raise CorruptModelError(f"{source}: ONNX model has {len(graphs)} graphs, expected 1")
    _check_graph(data, graphs[0], config, limits, source, file_bytes=len(data))


def _check_opset(data, span, source) -> None:
    domain, version = "", 0
    for number, wire, value in _fields(data, *span):
        if number == _OPSET_DOMAIN:
            domain = _text(data, _span(number, wire, value))
        elif number == _OPSET_VERSION and wire == WIRE_VARINT:
            version = value
    low, high = allowlist.ONNX_DOMAINS.get(domain, (1, 0))
    if not low <= version <= high:
        raise CorruptModelError(
            f"{source}: ONNX model imports opset {domain or 'ai.onnx'} {version}, not one nextword writes"
        )


def _check_graph(data, span, config, limits: Limits, source: str, *, file_bytes: int) -> None:
    kind, layers = config.kind, config.lstm_layers
    types = allowlist.ONNX_TENSOR_TYPES[kind]
    nodes, constants, shapes, planned = [], {}, {}, 0
    for number, wire, value in _fields(data, *span):
        if number == _GRAPH_NODE:
            check_node_count(len(nodes) + 1, layers, "nodes", source)  # before parsing the rest of a long chain
            span = _span(number, wire, value)
            if span[1] - span[0] > MAX_NODE_BYTES:
                raise CorruptModelError(
                    f"{source}: ONNX node {len(nodes)} is {span[1] - span[0]:,} bytes; nextword's are under 1 KiB"
                )
            nodes.append(_node(data, span, kind, types, constants, source))
        elif number == _GRAPH_INITIALIZER:
            name, dtype, dims, ints = _tensor(data, _span(number, wire, value), types, source)
            planned += check_tensor(name, dims, allowlist.ONNX_ITEMSIZE[dtype], limits, source)
            shapes[name] = dims
            if ints is not None:
                constants[name] = ints
        elif number in (_GRAPH_INPUT, _GRAPH_OUTPUT, _GRAPH_VALUE_INFO):
            name, dtype, dims = _value_info(data, _span(number, wire, value), types, source)
            planned += check_tensor(name, dims, allowlist.ONNX_ITEMSIZE[dtype], limits, source)
        elif number == _GRAPH_SPARSE:
            raise CorruptModelError(f"{source}: ONNX graph has sparse initializers, which nextword never writes")
    check_planned(planned, limits, source, file_bytes)
    producers = {output: node for node in nodes for output in node.outputs}
    for node in nodes:
        for (op_type, attribute), limit in allowlist.ONNX_SIZE_ATTRIBUTES.items():
            if node.op_type == op_type and node.ints.get(attribute, 0) > getattr(limits, limit):
                raise CorruptModelError(
                    f"{source}: ONNX {op_type} has {attribute} {node.ints[attribute]}, "
                    f"over {limit} {getattr(limits, limit)}"
                )
        if node.op_type in allowlist.ONNX_SHAPE_INPUTS:
            shape_input = node.inputs[allowlist.ONNX_SHAPE_INPUTS[node.op_type]]
            values = _shape_constants(shape_input, constants, producers, 0, source)
            check_shape_constants(values, f"ONNX {node.op_type} {node.outputs[0]!r}", limits, source)
    _check_int_constants(nodes, constants, source)
    _check_lstms(nodes, shapes, producers, config, source)


def _check_int_constants(nodes: list[Node], constants: dict, source: str) -> None:
    for node in nodes:
        for position, name in enumerate(node.inputs):
            values = constants.get(name)
            if not values:
                continue
            low = 1 if node.op_type == "Slice" and position == SLICE_ENDS else MIN_INT_CONSTANT
            if min(values) < low:
                raise UnsafeModelError(
                    f"{source}: ONNX {node.op_type} reads the integer constant {min(values)} as input {position}; "
                    f"nextword's graphs hold none below {low} there"
                )


def _check_lstms(nodes: list[Node], shapes: dict, producers: dict, config, source: str) -> None:
    """The graph's LSTMs against the bundled config: a config whose state is merely as wide (2 layers x 192
    units on a 1 x 384 graph) would load, and the state layout it documents would be wrong."""
    lstms = [node for node in nodes if node.op_type in LSTM_WEIGHT_DIMS]
    layers, units = config.lstm_layers, config.units
    if len(lstms) != layers:
        raise CorruptModelError(
            f"{source}: the ONNX graph has {len(lstms)} LSTM layers; the bundled config says {layers}"
        )
    widths = []
    for node in lstms:
        gates, features = LSTM_WEIGHT_DIMS[node.op_type]
        w, r = (_weight_shape(node.inputs[i], shapes, producers) for i in (1, 2))
        ok = w is not None and r is not None and len(w) == len(r) == 3 and w[0] == r[0] == 1
        if not ok or w[gates] != 4 * units or r[gates] != 4 * units or r[features] != units:
            raise CorruptModelError(
                f"{source}: an ONNX {node.op_type} has weights of shapes {w} and {r}; the bundled config's "
                f"layers have {units} units"
            )
        if node.ints.get("hidden_size", units) != units:
            raise CorruptModelError(
                f"{source}: an ONNX {node.op_type} has hidden_size {node.ints['hidden_size']}; the bundled "
                f"config says {units} units"
            )
        widths.append(w[features])
    expected = [config.embedding_dim] + [units] * (layers - 1)  # the first layer reads the embeddings
    if sorted(widths) != sorted(expected):
        raise CorruptModelError(
            f"{source}: the ONNX LSTMs read {sorted(widths)} features; the bundled config's read {sorted(expected)} "
            f"(embedding_dim {config.embedding_dim}, then {units} units per layer)"
        )


def _weight_shape(name: str, shapes: dict, producers: dict) -> list[int] | None:
    """The dims of the initializer a weight input comes from (through a Cast or a dequantize), or None."""
    for _ in range(4):
        if name in shapes:
            return shapes[name]
        node = producers.get(name)
        if node is None or node.op_type not in WEIGHT_PLUMBING or not node.inputs:
            return None
        name = node.inputs[0]
    return None


def _node(data, span, kind, types, constants, source) -> Node:
    node = Node("", "", [], [])
    for number, wire, value in _fields(data, *span):
        if number == _NODE_INPUT:
            node.inputs.append(_text(data, _span(number, wire, value)))
        elif number == _NODE_OUTPUT:
            node.outputs.append(_text(data, _span(number, wire, value)))
        elif number == _NODE_OP_TYPE:
            node.op_type = _text(data, _span(number, wire, value))
        elif number == _NODE_DOMAIN:
            node.domain = _text(data, _span(number, wire, value))
        elif number == _NODE_ATTRIBUTE:
            span = _span(number, wire, value)
            if span[1] - span[0] > MAX_ATTRIBUTE_BYTES:
                raise CorruptModelError(
                    f"{source}: ONNX {node.op_type or 'node'} has an attribute of {span[1] - span[0]:,} bytes; "
                    f"nextword's are under {MAX_ATTRIBUTE_BYTES}"
                )
            _attribute(data, span, node, types, source)
    domain = "" if node.domain == "ai.onnx" else node.domain
    counts = allowlist.ONNX_OPERATORS[kind].get((domain, node.op_type))
    if counts is None:
        raise CorruptModelError(
            f"{source}: ONNX operator {node.domain + '.' if node.domain else ''}{node.op_type!s:.40} is not one "
            f"nextword's {kind} exporter writes"
        )
    if (len(node.inputs), len(node.outputs)) not in counts:
        raise CorruptModelError(
            f"{source}: ONNX {node.op_type} has {len(node.inputs)} inputs and {len(node.outputs)} outputs; nextword "
            f"writes it with {' or '.join(f'{i} and {o}' for i, o in sorted(counts))}"
        )
    return node


def _attribute(data, span, node: Node, types, source) -> None:
    name, integer = "", None
    for number, wire, value in _fields(data, *span):
        if number == _ATTR_NAME:
            name = _text(data, _span(number, wire, value))
        elif number == _ATTR_I and wire == WIRE_VARINT:
            integer = _signed(value)
        elif number in (_ATTR_G, _ATTR_GRAPHS):
            raise CorruptModelError(f"{source}: ONNX {node.op_type} has a subgraph attribute; nextword writes none")
        elif number in (_ATTR_T, _ATTR_TENSORS, _ATTR_SPARSE, _ATTR_SPARSES):
            raise CorruptModelError(f"{source}: ONNX {node.op_type} has a tensor attribute; nextword writes none")
    if integer is not None:
        node.ints[name] = integer
        if node.op_type == "Cast" and name == "to" and integer not in types:
            raise CorruptModelError(f"{source}: ONNX Cast to type {integer}, which nextword's graphs never use")


def _tensor(data, span, types, source) -> tuple[str, int, list[int], list[int] | None]:
    name, dtype, dim_fields, int_fields, wide_fields, raw = "", 0, [], [], [], None
    for number, wire, value in _fields(data, *span):
        if number == _TENSOR_NAME:
            name = _text(data, _span(number, wire, value))
        elif number == _TENSOR_DATA_TYPE and wire == WIRE_VARINT:
            dtype = value
        elif number == _TENSOR_DIMS:
            dim_fields.append((number, wire, value))
        elif number in (_TENSOR_INT32_DATA, _TENSOR_INT64_DATA):
            int_fields.append((number, wire, value))
        elif number == _TENSOR_UINT64_DATA:  # never read, but onnxruntime would parse each 1-byte value into 8
            wide_fields.append((number, wire, value))
        elif number == _TENSOR_RAW:
            raw = _span(number, wire, value)
    if dtype not in types:
        raise CorruptModelError(
            f"{source}: ONNX tensor {name!r:.60} has type {dtype}, which nextword's graphs never use"
        )
    # Counted before any is decoded: a packed list is one field, however many millions of values it holds.
    rank = sum(_count_varints(data, *f) for f in dim_fields)
    if rank > MAX_SHAPE_RANK:
        raise CorruptModelError(f"{source}: ONNX tensor {name!r:.60} has {rank} dims")
    dims = [_signed(d) for f in dim_fields for d in _varints(data, *f)]
    if any(d < 0 for d in dims):
        raise CorruptModelError(f"{source}: ONNX tensor {name!r:.60} has dims {dims[:10]}")
    stored = sum(_count_varints(data, *f) for f in int_fields + wide_fields)
    if stored and stored != math.prod(dims):
        raise CorruptModelError(f"{source}: ONNX tensor {name!r:.60} stores {stored} integers for its dims {dims}")
    small_int = dtype in (allowlist.INT32, allowlist.INT64) and math.prod(dims) <= MAX_SHAPE_CONSTANT
    if not small_int:
        return name, dtype, dims, None
    ints = [_signed(v) for f in int_fields for v in _varints(data, *f)]
    if raw is not None:
        size = 4 if dtype == allowlist.INT32 else 8
        chunk = bytes(data[raw[0] : raw[1]])
        if len(chunk) % size or len(chunk) > size * MAX_SHAPE_CONSTANT:
            return name, dtype, dims, [-2]
        ints = list(struct.unpack(f"<{len(chunk) // size}{'i' if size == 4 else 'q'}", chunk))
    return name, dtype, dims, ints


def _value_info(data, span, types, source) -> tuple[str, int, list[int]]:
    name, dtype, dims = "", 0, []
    for number, wire, value in _fields(data, *span):
        if number == _VALUE_NAME:
            name = _text(data, _span(number, wire, value))
        elif number == _VALUE_TYPE:
            for n2, w2, v2 in _fields(data, *_span(number, wire, value)):
                if n2 != _TYPE_TENSOR:
                    raise CorruptModelError(f"{source}: ONNX value {name!r:.60} is not a tensor")
                for n3, w3, v3 in _fields(data, *_span(n2, w2, v2)):
                    if n3 == _TENSOR_TYPE_ELEM and w3 == WIRE_VARINT:
                        dtype = v3
                    elif n3 == _TENSOR_TYPE_SHAPE:
                        dims = _shape(data, _span(n3, w3, v3))
    if dtype not in types:
        raise CorruptModelError(
            f"{source}: ONNX value {name!r:.60} has type {dtype}, which nextword's graphs never use"
        )
    if len(dims) > MAX_SHAPE_RANK:
        raise CorruptModelError(f"{source}: ONNX value {name!r:.60} has rank {len(dims)}")
    return name, dtype, dims


def _shape(data, span) -> list[int]:
    dims = []
    for number, wire, value in _fields(data, *span):
        if number == _SHAPE_DIM:
            size = 1  # a named (dynamic) dimension: counted as one, the batch of a single call
            for n2, w2, v2 in _fields(data, *_span(number, wire, value)):
                if n2 == _DIM_VALUE and w2 == WIRE_VARINT:
                    size = v2 if v2 < 1 << 63 else 1
            dims.append(size)
    return dims


def _shape_constants(name: str, constants: dict, producers: dict, depth: int, source: str) -> list[int]:
    if depth > 8:
        raise CorruptModelError(f"{source}: ONNX shape is assembled through too many operators")
    if name in constants:
        return constants[name]
    node = producers.get(name)
    if node is None:
        return []  # a graph input: its own size is bounded
    which = allowlist.ONNX_SHAPE_PLUMBING.get(node.op_type, ())
    chosen = node.inputs if which is None else [node.inputs[i] for i in which if i < len(node.inputs)]
    return [v for i in chosen if i for v in _shape_constants(i, constants, producers, depth + 1, source)]


def _varints(data, number, wire, value) -> list[int]:
    if wire == WIRE_VARINT:
        return [value]
    start, end = _span(number, wire, value)
    out = []
    while start < end:
        item, start = _varint(data, start, end)
        out.append(item)
    return out


def _count_varints(data, number, wire, value) -> int:
    """How many varints a field holds, without decoding them: each ends at a byte below 0x80."""
    if wire == WIRE_VARINT:
        return 1
    start, end = _span(number, wire, value)
    if start < end and data[end - 1] >= 0x80:
        raise CorruptModelError("corrupt or truncated protobuf: a varint runs past the end")
    return int(np.count_nonzero(np.frombuffer(data[start:end], dtype=np.uint8) < 0x80))


def _signed(value: int) -> int:
    """A varint read as protobuf's int64: two's complement past 2^63."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _span(number: int, wire: int, value) -> tuple[int, int]:
    if wire != WIRE_LEN:
        raise CorruptModelError(f"ONNX field {number} has wire type {wire} where a message or string was expected")
    return value


def _text(data, span) -> str:
    if span[1] - span[0] > MAX_NAME_BYTES:
        raise CorruptModelError(f"ONNX name of {span[1] - span[0]:,} bytes; nextword's are under {MAX_NAME_BYTES}")
    return bytes(data[span[0] : span[1]]).decode("utf-8")
