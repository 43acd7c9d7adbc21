"""Refuse TFLite graphs whose wiring LiteRT's kernels do not survive, before LiteRT sees the file.

LiteRT's flatbuffer verifier checks that offsets stay inside the file, not that the graph makes sense,
and some kernels use an input without checking it exists. Measured with tests/hardening/fuzz_models.py
on LiteRT 2.3: a required operator input set to -1 ("no tensor": TRANSPOSE, STRIDED_SLICE, SPLIT) and an
operator output aliasing a constant tensor both crash the process with SIGSEGV. Exported graphs are
single-assignment and use -1 only for the optional inputs below, so these rules refuse no honest file.
"""

from __future__ import annotations

import struct

from nextword.runtime.errors import CorruptModelError
from nextword.runtime.tflite_metadata import _CheckedReader

# Field numbers in the TFLite schema (schema.fbs).
_MODEL_OPERATOR_CODES, _MODEL_SUBGRAPHS, _MODEL_BUFFERS = 1, 2, 4
_OPCODE_DEPRECATED_BUILTIN, _OPCODE_BUILTIN = 0, 3
_SUBGRAPH_TENSORS, _SUBGRAPH_INPUTS, _SUBGRAPH_OUTPUTS, _SUBGRAPH_OPERATORS = 0, 1, 2, 3
_TENSOR_BUFFER = 2
_OPERATOR_OPCODE_INDEX, _OPERATOR_INPUTS, _OPERATOR_OUTPUTS = 0, 1, 2
_BUFFER_DATA, _BUFFER_OFFSET = 0, 1
NO_TENSOR = -1

# Operator inputs the schema lets be absent, by builtin code: biases, and the LSTM's optional
# peephole, projection and layer-norm weights. Everywhere else -1 means a corrupt file.
_LSTM_OPTIONAL = frozenset({1, 5, 9, 10, 11, 12, 16, 17, 20, 21, 22, 23})
OPTIONAL_INPUTS = {
    3: frozenset({2}),  # CONV_2D
    4: frozenset({2}),  # DEPTHWISE_CONV_2D
    9: frozenset({2}),  # FULLY_CONNECTED
    16: _LSTM_OPTIONAL,  # LSTM
    44: _LSTM_OPTIONAL,  # UNIDIRECTIONAL_SEQUENCE_LSTM
    67: frozenset({3}),  # TRANSPOSE_CONV
}


def check_graph(buf: bytes) -> None:
    """Raise CorruptModelError unless every operator reads existing tensors and each tensor has one writer."""
    reader = _CheckedReader(memoryview(buf).cast("B"))
    try:
        _check_model(reader)
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        raise CorruptModelError(f"TFLite graph is corrupt: {type(exc).__name__}") from None


def _check_model(reader: _CheckedReader) -> None:
    model = reader.indirect(0)
    codes = [max(reader.scalar(code, _OPCODE_DEPRECATED_BUILTIN, "<b"), reader.scalar(code, _OPCODE_BUILTIN, "<i"))
             for code in reader.table_vector(model, _MODEL_OPERATOR_CODES)]
    buffers = reader.table_vector(model, _MODEL_BUFFERS)
    for subgraph in reader.table_vector(model, _MODEL_SUBGRAPHS):
        tensors = reader.table_vector(subgraph, _SUBGRAPH_TENSORS)
        graph_inputs = _indexes(reader, subgraph, _SUBGRAPH_INPUTS)
        for index in graph_inputs + _indexes(reader, subgraph, _SUBGRAPH_OUTPUTS):
            _check_index(index, len(tensors), "subgraph input/output")
        written = set(graph_inputs)
        for number, operator in enumerate(reader.table_vector(subgraph, _SUBGRAPH_OPERATORS)):
            code_index = reader.scalar(operator, _OPERATOR_OPCODE_INDEX, "<I")
            if code_index >= len(codes):
                raise CorruptModelError(f"TFLite operator {number} uses opcode {code_index}; the model defines {len(codes)}")
            optional = OPTIONAL_INPUTS.get(codes[code_index], frozenset())
            for position, index in enumerate(_indexes(reader, operator, _OPERATOR_INPUTS)):
                if not (index == NO_TENSOR and position in optional):
                    _check_index(index, len(tensors), f"operator {number} input {position}")
            for index in _indexes(reader, operator, _OPERATOR_OUTPUTS):
                _check_index(index, len(tensors), f"operator {number} output")
                if index in written or _is_constant(reader, tensors[index], buffers):
                    raise CorruptModelError(f"TFLite operator {number} writes tensor {index}, which is a graph input, a constant or another operator's output")
                written.add(index)


def _indexes(reader: _CheckedReader, table: int, number: int) -> list[int]:
    start, length = reader.vector(table, number, 4)
    return list(struct.unpack_from(f"<{length}i", reader.data, start)) if length else []


def _check_index(index: int, count: int, where: str) -> None:
    if not 0 <= index < count:
        raise CorruptModelError(f"TFLite {where} is tensor {index}; the subgraph has {count} tensors")


def _is_constant(reader: _CheckedReader, tensor: int, buffers: list[int]) -> bool:
    buffer = reader.scalar(tensor, _TENSOR_BUFFER, "<I")
    if buffer == 0 or buffer >= len(buffers):  # buffer 0 is the schema's "no data" sentinel
        return False
    _, length = reader.vector(buffers[buffer], _BUFFER_DATA, 1)
    return length > 0 or reader.scalar(buffers[buffer], _BUFFER_OFFSET, "<Q") > 1
