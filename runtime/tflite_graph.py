"""Refuse TFLite graphs whose wiring LiteRT's kernels do not survive, before LiteRT sees the file.

LiteRT's flatbuffer verifier checks that offsets stay inside the file, not that the graph makes sense,
and some kernels use an input without checking it exists. Measured with tests/hardening/fuzz_models.py
on LiteRT 2.3, each of these crashes the process with SIGSEGV: a required operator input set to -1
("no tensor": TRANSPOSE, STRIDED_SLICE, SPLIT), an operator output aliasing a constant tensor, and an
operator whose opcode index names another operator (an UNPACK read as a one-input SPLIT; an ADD read as
a SPLIT, whose options then do not match its outputs). Exported graphs are single-assignment, use -1
only for the optional inputs below and give each operator the inputs, outputs and options its kernel
expects, so these rules refuse no honest file.
"""

from __future__ import annotations

import struct

from nextword.runtime.errors import CorruptModelError
from nextword.runtime.tflite_metadata import CheckedReader

# Field numbers in the TFLite schema (schema.fbs).
_MODEL_OPERATOR_CODES, _MODEL_SUBGRAPHS, _MODEL_BUFFERS = 1, 2, 4
_OPCODE_DEPRECATED_BUILTIN, _OPCODE_BUILTIN = 0, 3
_SUBGRAPH_TENSORS, _SUBGRAPH_INPUTS, _SUBGRAPH_OUTPUTS, _SUBGRAPH_OPERATORS = 0, 1, 2, 3
_TENSOR_BUFFER = 2
_OPERATOR_OPCODE_INDEX, _OPERATOR_INPUTS, _OPERATOR_OUTPUTS, _OPERATOR_OPTIONS_TYPE, _OPERATOR_OPTIONS = 0, 1, 2, 3, 4
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

# (fewest, most) inputs and outputs accepted by the kernels of the operators nextword's graphs use
# (None: no limit; absent -1 inputs count). Other operators are left to LiteRT's own checks.
ARITY = {
    0: ((2, 2), (1, 1)),  # ADD
    6: ((1, 1), (1, 1)),  # DEQUANTIZE
    9: ((2, 3), (1, 2)),  # FULLY_CONNECTED (a second output is the shuffled-weights workspace)
    14: ((1, 1), (1, 1)),  # LOGISTIC
    18: ((2, 2), (1, 1)),  # MUL
    25: ((1, 1), (1, 1)),  # SOFTMAX
    28: ((1, 1), (1, 1)),  # TANH
    36: ((2, 2), (1, 1)),  # GATHER
    39: ((2, 2), (1, 1)),  # TRANSPOSE
    45: ((4, 4), (1, 1)),  # STRIDED_SLICE
    48: ((2, 2), (2, 2)),  # TOPK_V2
    49: ((2, 2), (1, None)),  # SPLIT
    58: ((2, 2), (1, 1)),  # LESS
    77: ((1, 1), (1, 1)),  # SHAPE
    83: ((1, None), (1, 1)),  # PACK
    88: ((1, 1), (1, None)),  # UNPACK
    94: ((2, 2), (1, 1)),  # FILL
    123: ((3, 3), (1, 1)),  # SELECT_V2
}

# Operators whose options state how many inputs or outputs they have: builtin -> (options type, which
# count), the count being the options' first field (SplitOptions.num_splits, PackOptions.values_count,
# UnpackOptions.num). LiteRT's kernels compare the two; its default XNNPACK delegate trusts the options
# and crashed on a SPLIT whose options were missing or another operator's.
COUNTED_BY_OPTIONS = {49: (35, "outputs"), 83: (59, "inputs"), 88: (64, "outputs")}


def check_graph(buf: bytes) -> None:
    """Raise CorruptModelError unless every operator reads existing tensors, has the inputs, outputs and
    options its kernel expects, and writes tensors nothing else writes."""
    reader = CheckedReader(memoryview(buf).cast("B"))
    try:
        _check_model(reader)
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        raise CorruptModelError(f"TFLite graph is corrupt: {type(exc).__name__}") from None


def _check_model(reader: CheckedReader) -> None:
    model = reader.indirect(0)
    codes = [
        max(reader.scalar(code, _OPCODE_DEPRECATED_BUILTIN, "<b"), reader.scalar(code, _OPCODE_BUILTIN, "<i"))
        for code in reader.table_vector(model, _MODEL_OPERATOR_CODES)
    ]
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
                raise CorruptModelError(
                    f"TFLite operator {number} uses opcode {code_index}; the model defines {len(codes)}"
                )
            optional = OPTIONAL_INPUTS.get(codes[code_index], frozenset())
            inputs, outputs = (
                _indexes(reader, operator, _OPERATOR_INPUTS),
                _indexes(reader, operator, _OPERATOR_OUTPUTS),
            )
            _check_arity(codes[code_index], len(inputs), len(outputs), number)
            _check_counted(reader, operator, codes[code_index], len(inputs), len(outputs), number)
            for position, index in enumerate(inputs):
                if not (index == NO_TENSOR and position in optional):
                    _check_index(index, len(tensors), f"operator {number} input {position}")
            for index in outputs:
                _check_index(index, len(tensors), f"operator {number} output")
                if index in written or _is_constant(reader, tensors[index], buffers):
                    raise CorruptModelError(
                        f"TFLite operator {number} writes tensor {index}, which is a graph input, a constant "
                        "or another operator's output"
                    )
                written.add(index)


def _indexes(reader: CheckedReader, table: int, number: int) -> list[int]:
    start, length = reader.vector(table, number, 4)
    return list(struct.unpack_from(f"<{length}i", reader.data, start)) if length else []


def _check_arity(code: int, inputs: int, outputs: int, number: int) -> None:
    if code not in ARITY:
        return
    for (low, high), count, kind in zip(ARITY[code], (inputs, outputs), ("inputs", "outputs")):
        if count < low or (high is not None and count > high):
            allowed = str(low) if low == high else f"{low} or more" if high is None else f"{low} to {high}"
            raise CorruptModelError(
                f"TFLite operator {number} (builtin {code}) has {count} {kind}; its kernel takes {allowed}"
            )


def _check_counted(reader: CheckedReader, operator: int, code: int, inputs: int, outputs: int, number: int) -> None:
    if code not in COUNTED_BY_OPTIONS:
        return
    options_type, kind = COUNTED_BY_OPTIONS[code]
    declared = 0  # what the kernel reads when the options are absent or of another operator
    if reader.scalar(operator, _OPERATOR_OPTIONS_TYPE, "<B") == options_type:
        options = reader.field(operator, _OPERATOR_OPTIONS)
        if options is not None:
            declared = reader.scalar(reader.indirect(options), 0, "<i")
    actual = inputs if kind == "inputs" else outputs
    if declared != actual:
        raise CorruptModelError(
            f"TFLite operator {number} (builtin {code}) has {actual} {kind} but its options declare {declared}"
        )


def _check_index(index: int, count: int, where: str) -> None:
    if not 0 <= index < count:
        raise CorruptModelError(f"TFLite {where} is tensor {index}; the subgraph has {count} tensors")


def _is_constant(reader: CheckedReader, tensor: int, buffers: list[int]) -> bool:
    buffer = reader.scalar(tensor, _TENSOR_BUFFER, "<I")
    if buffer == 0 or buffer >= len(buffers):  # buffer 0 is the schema's "no data" sentinel
        return False
    _, length = reader.vector(buffers[buffer], _BUFFER_DATA, 1)
    return length > 0 or reader.scalar(buffers[buffer], _BUFFER_OFFSET, "<Q") > 1
