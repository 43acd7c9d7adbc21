"""Inspect an untrusted ONNX file before onnxruntime sees it: read its metadata_props and refuse
tensors stored as external data, which would make onnxruntime open paths named by the file.

A minimal protobuf wire-format reader (stdlib only; the onnx package is not a runtime dependency).
It descends only into the fields that can lead to a TensorProto, skipping everything else by length,
so every byte is read once and the time is linear in the file size; and it reads at most MAX_FIELDS fields per
pass over a file, so a file of millions of tiny fields is refused in a fraction of a second, not walked for minutes.
"""

from __future__ import annotations

import threading

from nextword.runtime.errors import CorruptModelError, UnsafeModelError

# Field numbers from onnx.proto, named <Message>_<field>.
MODEL_IR_VERSION = 1
MODEL_GRAPH = 7
MODEL_METADATA_PROPS = 14
MODEL_TRAINING_INFO = 20
MODEL_FUNCTIONS = 25
TRAINING_INFO_INITIALIZATION = 1
TRAINING_INFO_ALGORITHM = 2
FUNCTION_NODE = 7
FUNCTION_ATTRIBUTE_PROTO = 11
GRAPH_NODE = 1
GRAPH_INITIALIZER = 5
GRAPH_SPARSE_INITIALIZER = 15
NODE_ATTRIBUTE = 5
ATTRIBUTE_T = 5
ATTRIBUTE_G = 6
ATTRIBUTE_TENSORS = 10
ATTRIBUTE_GRAPHS = 11
ATTRIBUTE_SPARSE_TENSOR = 22
ATTRIBUTE_SPARSE_TENSORS = 23
SPARSE_TENSOR_VALUES = 1
SPARSE_TENSOR_INDICES = 2
TENSOR_EXTERNAL_DATA = 13
TENSOR_DATA_LOCATION = 14
STRING_STRING_ENTRY_KEY = 1
STRING_STRING_ENTRY_VALUE = 2

WIRE_VARINT, WIRE_FIXED64, WIRE_LEN, WIRE_FIXED32 = 0, 1, 2, 5
_FIXED_SIZES = {WIRE_FIXED64: 8, WIRE_FIXED32: 4}

# Legitimate models nest a few levels per subgraph; protobuf's own parser stops at 100.
MAX_NESTING = 100

# The most protobuf fields one pass reads. nextword's files hold 800-2,000 (both kinds, every variant); ONNX's
# writers pack repeated numbers into one field. A 40 MB file whose 2-element int64 tensor spelled out 20 million
# values, one field each, took the Python reader 58 s to accept and hung the JS one past 5 minutes.
MAX_FIELDS = 100_000


class _FieldBudget(threading.local):
    """The fields left to read in this thread's current pass (scan_onnx and onnx_graph's check each start one)."""

    left = MAX_FIELDS


FIELD_BUDGET = _FieldBudget()


def start_field_budget() -> None:
    FIELD_BUDGET.left = MAX_FIELDS


# Which fields of each message hold which message: the only paths down to a TensorProto.
_CHILDREN = {
    "model": {MODEL_GRAPH: "graph", MODEL_TRAINING_INFO: "training_info", MODEL_FUNCTIONS: "function"},
    "training_info": {TRAINING_INFO_INITIALIZATION: "graph", TRAINING_INFO_ALGORITHM: "graph"},
    "function": {FUNCTION_NODE: "node", FUNCTION_ATTRIBUTE_PROTO: "attribute"},
    "graph": {GRAPH_NODE: "node", GRAPH_INITIALIZER: "tensor", GRAPH_SPARSE_INITIALIZER: "sparse_tensor"},
    "node": {NODE_ATTRIBUTE: "attribute"},
    "attribute": {
        ATTRIBUTE_T: "tensor",
        ATTRIBUTE_G: "graph",
        ATTRIBUTE_TENSORS: "tensor",
        ATTRIBUTE_GRAPHS: "graph",
        ATTRIBUTE_SPARSE_TENSOR: "sparse_tensor",
        ATTRIBUTE_SPARSE_TENSORS: "sparse_tensor",
    },
    "sparse_tensor": {SPARSE_TENSOR_VALUES: "tensor", SPARSE_TENSOR_INDICES: "tensor"},
    "tensor": {},
}


def scan_onnx(buf: bytes, *, max_metadata_value_bytes: int) -> dict[str, str]:
    """metadata_props of a serialized ModelProto, after checking it is well-formed and self-contained."""
    data = memoryview(buf)
    start_field_budget()
    metadata: dict[str, str] = {}
    seen: set[int] = set()
    for field, wire, value in _fields(data, 0, len(data)):
        seen.add(field)
        if field == MODEL_METADATA_PROPS:
            key, text = _metadata_entry(data, _expect_len(field, wire, value), max_metadata_value_bytes)
            if key in metadata:
                raise CorruptModelError(f"ONNX metadata key {key!r} appears more than once")
            metadata[key] = text
        elif field in _CHILDREN["model"]:
            _walk(data, _expect_len(field, wire, value), _CHILDREN["model"][field], depth=1)
    for required, name in ((MODEL_IR_VERSION, "ir_version"), (MODEL_GRAPH, "graph")):
        if required not in seen:
            raise CorruptModelError(f"not an ONNX model: ModelProto has no {name}")
    return metadata


def _walk(data: memoryview, span: tuple[int, int], kind: str, depth: int) -> None:
    if depth > MAX_NESTING:
        raise CorruptModelError(f"ONNX model nests messages deeper than {MAX_NESTING} levels")
    children = _CHILDREN[kind]
    for field, wire, value in _fields(data, *span):
        if field in children:
            _walk(data, _expect_len(field, wire, value), children[field], depth + 1)
        elif kind == "tensor" and field == TENSOR_EXTERNAL_DATA:
            raise UnsafeModelError("ONNX model refers to external tensor data; only self-contained files are accepted")
        elif kind == "tensor" and field == TENSOR_DATA_LOCATION:
            if wire != WIRE_VARINT:
                raise CorruptModelError(f"ONNX TensorProto.data_location has wire type {wire}, expected a varint")
            if value != 0:  # anything but DEFAULT; EXTERNAL is 1
                raise UnsafeModelError("ONNX model stores a tensor outside the file (data_location is not DEFAULT)")


def _metadata_entry(data: memoryview, span: tuple[int, int], max_bytes: int) -> tuple[str, str]:
    parts = {STRING_STRING_ENTRY_KEY: b"", STRING_STRING_ENTRY_VALUE: b""}
    for field, wire, value in _fields(data, *span):
        if field in parts:
            start, end = _expect_len(field, wire, value)
            if end - start > max_bytes:
                raise UnsafeModelError(f"ONNX metadata entry is {end - start} bytes, more than the {max_bytes} allowed")
            parts[field] = data[start:end]  # last occurrence wins, as in protobuf
    try:
        return bytes(parts[STRING_STRING_ENTRY_KEY]).decode("utf-8"), bytes(parts[STRING_STRING_ENTRY_VALUE]).decode(
            "utf-8"
        )
    except UnicodeDecodeError:
        raise CorruptModelError("ONNX metadata key or value is not valid UTF-8") from None


def _expect_len(field: int, wire: int, value) -> tuple[int, int]:
    if wire != WIRE_LEN:
        raise CorruptModelError(f"ONNX field {field} has wire type {wire} where a message was expected")
    return value


def _fields(data: memoryview, pos: int, end: int):
    """(field number, wire type, value) for each field in data[pos:end]; value is an int for varints,
    (start, end) for length-delimited fields, None for fixed-width ones."""
    budget = FIELD_BUDGET
    while pos < end:
        budget.left -= 1
        if budget.left < 0:
            raise UnsafeModelError(
                f"ONNX model holds more than {MAX_FIELDS:,} protobuf fields; nextword's files hold a few thousand"
            )
        tag, pos = _varint(data, pos, end)
        field, wire = tag >> 3, tag & 7
        if field == 0 or field >= 1 << 29:
            raise CorruptModelError(f"corrupt protobuf: invalid field number {field}")
        if wire == WIRE_VARINT:
            value, pos = _varint(data, pos, end)
        elif wire == WIRE_LEN:
            length, pos = _varint(data, pos, end)
            if length > end - pos:
                raise CorruptModelError("corrupt or truncated protobuf: a field runs past the end of its message")
            value, pos = (pos, pos + length), pos + length
        elif wire in _FIXED_SIZES:
            value, pos = None, pos + _FIXED_SIZES[wire]
            if pos > end:
                raise CorruptModelError("corrupt or truncated protobuf: a fixed-width field runs past the end")
        else:  # groups (3, 4) are unused by ONNX; 6 and 7 do not exist
            raise CorruptModelError(f"corrupt protobuf: wire type {wire} in field {field}")
        yield field, wire, value


def _varint(data: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = 0
    for shift in range(0, 70, 7):
        if pos >= end:
            raise CorruptModelError("corrupt or truncated protobuf: a varint runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if result >= 1 << 64:
                raise CorruptModelError("corrupt protobuf: varint larger than 64 bits")
            return result, pos
    raise CorruptModelError("corrupt protobuf: varint longer than 10 bytes")
