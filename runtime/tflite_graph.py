"""Refuse every TFLite graph that is not one nextword's exporter makes, before LiteRT sees the file.

LiteRT's flatbuffer verifier checks that offsets stay inside the file, not that the graph makes sense,
and its kernels trust much of what they read. So the graph must have exactly the subgraphs of its kind (WHILE,
IF and CALL need more, and could loop), every operator a builtin on the allowlist of the model's kind
(runtime/allowlist.py) with exactly the input and output tensor types and options the exporter gives it,
every tensor of an allowed type, no variables, every index in range, operators within a bound set by the
bundled config's LSTM cells, and every size within the limits (runtime/limits.py). Its unrolled LSTM cells (one
SPLIT into the four gates each) must be the bundled config's: layers x unrolled words of them, of its units.
Two older rules stay because they are about wiring, not types (each was a SIGSEGV the fuzzer found on LiteRT
2.3): a required input of -1 ("no tensor"), and an operator output that aliases a constant or another
operator's output; PACK/SPLIT/UNPACK options must also count the tensors they have.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from nextword.runtime import allowlist
from nextword.runtime.errors import CorruptModelError, UnsafeModelError, VocabularyMismatchError
from nextword.runtime.limits import (
    DEFAULT_LIMITS,
    Limits,
    check_node_count,
    check_planned,
    check_shape_constants,
    check_tensor,
    max_graph_nodes,
)
from nextword.runtime.tflite_metadata import CheckedReader, check_entries

# Field numbers in the TFLite schema (schema.fbs).
_MODEL_OPERATOR_CODES, _MODEL_SUBGRAPHS, _MODEL_BUFFERS, _MODEL_SIGNATURE_DEFS = 1, 2, 4, 7
_OPCODE_DEPRECATED_BUILTIN, _OPCODE_CUSTOM_CODE, _OPCODE_BUILTIN = 0, 1, 3
_SUBGRAPH_TENSORS, _SUBGRAPH_INPUTS, _SUBGRAPH_OUTPUTS, _SUBGRAPH_OPERATORS = 0, 1, 2, 3
_TENSOR_SHAPE, _TENSOR_TYPE, _TENSOR_BUFFER, _TENSOR_IS_VARIABLE, _TENSOR_SPARSITY, _TENSOR_SHAPE_SIGNATURE = (
    0,
    1,
    2,
    5,
    6,
    7,
)
_TENSOR_VARIANT_TENSORS = 9
_OPERATOR_OPCODE_INDEX, _OPERATOR_INPUTS, _OPERATOR_OUTPUTS, _OPERATOR_OPTIONS_TYPE, _OPERATOR_OPTIONS = 0, 1, 2, 3, 4
_OPERATOR_CUSTOM_OPTIONS, _OPERATOR_MUTATING_VARIABLE_INPUTS, _OPERATOR_INTERMEDIATES = 5, 7, 8
_BUFFER_DATA, _BUFFER_OFFSET = 0, 1
_SIGNATURE_INPUTS, _SIGNATURE_OUTPUTS, _SIGNATURE_SUBGRAPH_INDEX = 0, 1, 4
_TENSOR_MAP_INDEX = 1
NO_TENSOR = -1

# Operator inputs the schema lets be absent, by builtin code: biases. Everywhere else -1 means a corrupt file.
OPTIONAL_INPUTS = {9: frozenset({2})}  # FULLY_CONNECTED

# Operators whose options state how many inputs or outputs they have: builtin -> (options type, which
# count), the count being the options' first field (SplitOptions.num_splits, PackOptions.values_count,
# UnpackOptions.num). LiteRT's kernels compare the two; its default XNNPACK delegate trusts the options
# and crashed on a SPLIT whose options were missing or another operator's.
COUNTED_BY_OPTIONS = {49: (35, "outputs"), 83: (59, "inputs"), 88: (64, "outputs")}
# An unrolled LSTM cell splits its [batch, 4 x units] pre-activations into the four gates: one SPLIT per cell.
SPLIT = 49
GATHER = 36  # the embedding lookup: table [vocab_size, embedding_dim]
MAX_SHAPE_RANK = 8
MAX_SUBGRAPHS = 64  # nextword writes 1 (and one signature)
MAX_SIGNATURE_TENSORS = 64
ENTRIES_PER_OPERATOR = 4
SHARED_CONSTANT_BYTES = 1 << 20


@dataclass
class Tensor:
    type: int
    shape: list[int]
    constant: memoryview | None  # the data of a constant tensor
    smallest: int | None = None  # an int32 constant's smallest value, once read


def check_graph(buf: bytes, config, limits: Limits = DEFAULT_LIMITS, source: str = "model") -> None:
    """Raise CorruptModelError unless the graph is one the exporter of the bundled `config`'s kind makes for
    it, and UnsafeModelError when its sizes exceed `limits`."""
    reader = CheckedReader(memoryview(buf).cast("B"))
    try:
        _check_model(reader, config, limits, source)
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        raise CorruptModelError(f"TFLite graph is corrupt: {type(exc).__name__}") from None


def _check_model(reader: CheckedReader, config, limits: Limits, source: str) -> None:
    kind = config.kind
    model = reader.indirect(0)
    entries = max_entries(config)
    codes = [
        _builtin_code(reader, code, number)
        for number, code in enumerate(reader.table_vector(model, _MODEL_OPERATOR_CODES, entries, "operator codes"))
    ]
    buffers = reader.table_vector(model, _MODEL_BUFFERS, entries, "buffers")
    subgraphs = reader.table_vector(model, _MODEL_SUBGRAPHS, MAX_SUBGRAPHS, "subgraphs")
    if len(subgraphs) != allowlist.TFLITE_SUBGRAPHS[kind]:
        raise CorruptModelError(
            f"TFLite model has {len(subgraphs)} subgraphs; a {kind} model has {allowlist.TFLITE_SUBGRAPHS[kind]}"
        )
    _check_signature_defs(reader, model, subgraphs)
    for subgraph in subgraphs:
        _check_subgraph(reader, subgraph, codes, buffers, config, limits, source, file_bytes=reader.size)


def _builtin_code(reader: CheckedReader, code: int, number: int) -> int:
    if reader.field(code, _OPCODE_CUSTOM_CODE) is not None:
        raise CorruptModelError(f"TFLite operator code {number} is a custom operator; only builtin operators run")
    return max(reader.scalar(code, _OPCODE_DEPRECATED_BUILTIN, "<b"), reader.scalar(code, _OPCODE_BUILTIN, "<i"))


def _check_signature_defs(reader: CheckedReader, model: int, subgraphs: list[int]) -> None:
    for signature in reader.table_vector(model, _MODEL_SIGNATURE_DEFS, MAX_SUBGRAPHS, "signatures"):
        index = reader.scalar(signature, _SIGNATURE_SUBGRAPH_INDEX, "<I")
        if index >= len(subgraphs):
            raise CorruptModelError(f"TFLite signature names subgraph {index}; the model has {len(subgraphs)}")
        count = reader.vector(subgraphs[index], _SUBGRAPH_TENSORS, 4)[1]
        for field in (_SIGNATURE_INPUTS, _SIGNATURE_OUTPUTS):
            for entry in reader.table_vector(signature, field, MAX_SIGNATURE_TENSORS, "signature tensors"):
                _check_index(reader.scalar(entry, _TENSOR_MAP_INDEX, "<I"), count, "signature tensor")


def _check_subgraph(
    reader, subgraph: int, codes: list[int], buffers: list[int], config, limits, source, *, file_bytes: int
) -> None:
    kind = config.kind
    cells = config.lstm_layers * config.words_per_call
    check_node_count(reader.vector(subgraph, _SUBGRAPH_OPERATORS, 4)[1], cells, "operators", source)  # unread
    operators = reader.table_vector(subgraph, _SUBGRAPH_OPERATORS, max_graph_nodes(cells), "operators")
    entries = max_entries(config)
    tensors = [
        _tensor(reader, t, buffers, kind, number)
        for number, t in enumerate(reader.table_vector(subgraph, _SUBGRAPH_TENSORS, entries, "tensors"))
    ]
    # Tensors may share a buffer (the window kind's files share a few small constants): what is read of them stays
    # about the file's size, however many tensors name its largest buffer.
    if sum(len(t.constant) for t in tensors if t.constant is not None) > file_bytes + SHARED_CONSTANT_BYTES:
        raise UnsafeModelError(f"{source}: the TFLite tensors' constants add up to more than the file holds")
    planned = sum(
        check_tensor(f"#{number}", t.shape, allowlist.TFLITE_ITEMSIZE[t.type], limits, source)
        for number, t in enumerate(tensors)
    )
    check_planned(planned, limits, source, file_bytes)
    graph_inputs = _indexes(reader, subgraph, _SUBGRAPH_INPUTS, entries, "graph inputs")
    for index in graph_inputs + _indexes(reader, subgraph, _SUBGRAPH_OUTPUTS, entries, "graph outputs"):
        _check_index(index, len(tensors), "subgraph input/output")
    written = set(graph_inputs)
    producers: dict[int, tuple[int, list[int]]] = {}
    cells = []  # the output shapes of each SPLIT
    for number, operator in enumerate(operators):
        code_index = reader.scalar(operator, _OPERATOR_OPCODE_INDEX, "<I")
        if code_index >= len(codes):
            raise CorruptModelError(
                f"TFLite operator {number} uses opcode {code_index}; the model defines {len(codes)}"
            )
        code = codes[code_index]
        inputs = _indexes(reader, operator, _OPERATOR_INPUTS, entries, "operator inputs")
        outputs = _indexes(reader, operator, _OPERATOR_OUTPUTS, entries, "operator outputs")
        optional = OPTIONAL_INPUTS.get(code, frozenset())
        for position, index in enumerate(inputs):
            if not (index == NO_TENSOR and position in optional):
                _check_index(index, len(tensors), f"operator {number} input {position}")
        for index in outputs:
            _check_index(index, len(tensors), f"operator {number} output")
            if index in written or tensors[index].constant is not None:
                raise CorruptModelError(
                    f"TFLite operator {number} writes tensor {index}, which is a graph input, a constant "
                    "or another operator's output"
                )
            written.add(index)
            producers[index] = (code, inputs)
        for field, what in (
            (_OPERATOR_CUSTOM_OPTIONS, "custom options"),
            (_OPERATOR_MUTATING_VARIABLE_INPUTS, "variable inputs"),
            (_OPERATOR_INTERMEDIATES, "intermediate tensors"),
        ):
            if reader.field(operator, field) is not None and reader.vector(operator, field, 1)[1]:
                raise CorruptModelError(
                    f"TFLite operator {number} (builtin {code}) has {what}, which nextword never writes"
                )
        options_type = reader.scalar(operator, _OPERATOR_OPTIONS_TYPE, "<B")
        types_in = tuple(None if i == NO_TENSOR else tensors[i].type for i in inputs)
        types_out = tuple(tensors[i].type for i in outputs)
        if not allowlist.tflite_signature_allowed(kind, code, types_in, types_out, options_type):
            form = " in that form" if code in allowlist.TFLITE_OPERATORS[kind] else ""
            raise CorruptModelError(
                f"TFLite operator {number} (builtin {code}, input types {list(types_in)}, output types "
                f"{list(types_out)}, options {options_type}) is not one nextword's {kind} exporter writes{form}"
            )
        _check_counted(reader, operator, code, len(inputs), len(outputs), number)
        _check_int_constants(inputs, tensors, number, code)
        if code == SPLIT:
            cells.append([tensors[i].shape for i in outputs])
        elif code == GATHER and tensors[inputs[0]].shape != [config.vocab_size, config.embedding_dim]:
            table = tensors[inputs[0]].shape
            if len(table) == 2 and table[1] == config.embedding_dim:  # the rows are the words the model outputs
                raise VocabularyMismatchError(
                    f"{source}: the graph's word table has {table[0]} rows (a model that outputs {table[0]} "
                    f"probabilities) but the bundled vocabulary has {config.vocab_size} ids"
                )
            raise CorruptModelError(
                f"TFLite operator {number} looks words up in a table of shape {table[:4]}; the "
                f"bundled config's is [{config.vocab_size}, {config.embedding_dim}]"
            )
    _check_cells(cells, config)
    for number, operator in enumerate(operators):
        code = codes[reader.scalar(operator, _OPERATOR_OPCODE_INDEX, "<I")]
        if code in allowlist.TFLITE_SHAPE_INPUTS:
            inputs = _indexes(reader, operator, _OPERATOR_INPUTS, entries, "operator inputs")
            shape_input = inputs[allowlist.TFLITE_SHAPE_INPUTS[code]]
            values = _shape_constants(shape_input, tensors, producers)
            check_shape_constants(values, f"TFLite operator {number} (builtin {code})", limits, source)


def _check_cells(cells: list, config) -> None:
    """The graph's LSTM cells against the bundled config: a config whose state is merely as wide (2 layers x
    192 units on a 1 x 384 graph) would load, and the state layout it documents would be wrong."""
    layers, words = config.lstm_layers, config.words_per_call
    if words > 1 and len(cells) % layers == 0 and len(cells) != layers * words:
        # A graph that unrolls one cell per word it reads (the window kind's): the count is its input width.
        raise CorruptModelError(
            f"TFLite graph unrolls {len(cells) // layers} words per layer: it does not take {words} ids per "
            "call, as the bundled config's network does"
        )
    if len(cells) != layers * words:
        raise CorruptModelError(
            f"TFLite graph has {len(cells)} LSTM cells; the bundled config's has {layers * words} "
            f"({layers} layer(s) x {words} word(s))"
        )
    for gates in cells:
        if any(not shape or shape[-1] != config.units for shape in gates):
            raise CorruptModelError(
                f"TFLite graph has an LSTM cell with gates of shapes {[s[:4] for s in gates]}; the bundled "
                f"config's layers have {config.units} units"
            )


def _check_int_constants(inputs: list[int], tensors: list[Tensor], number: int, code: int) -> None:
    """nextword's graphs read no negative int32 constant anywhere (every exported option checked): a -1 or -2
    edited into a dimension, slice bound or index made LiteRT allocate 5 GB or run past the fuzzer's 10 s."""
    for index in inputs:
        if index == NO_TENSOR:
            continue
        tensor = tensors[index]
        if tensor.type == allowlist.I32 and tensor.constant and len(tensor.constant) % 4 == 0:
            if tensor.smallest is None:  # once per tensor, however many operators read it; no list of ints
                tensor.smallest = int(np.frombuffer(tensor.constant, dtype="<i4").min())
            if tensor.smallest < 0:
                raise UnsafeModelError(
                    f"TFLite operator {number} (builtin {code}) reads the int32 constant {tensor.smallest}; "
                    "nextword's graphs hold no negative ones"
                )


def _tensor(reader: CheckedReader, table: int, buffers: list[int], kind: str, number: int) -> Tensor:
    tensor_type = reader.scalar(table, _TENSOR_TYPE, "<b")
    if tensor_type not in allowlist.TFLITE_TENSOR_TYPES[kind]:
        raise CorruptModelError(
            f"TFLite tensor {number} has type {tensor_type}, which nextword's {kind} graphs never use"
        )
    if reader.scalar(table, _TENSOR_IS_VARIABLE, "<B"):
        raise CorruptModelError(f"TFLite tensor {number} is a variable; nextword's graphs are stateless")
    for field, what in ((_TENSOR_SPARSITY, "sparse"), (_TENSOR_VARIANT_TENSORS, "a variant")):
        if reader.field(table, field) is not None:
            raise CorruptModelError(f"TFLite tensor {number} is {what} tensor, which nextword never writes")
    shape = _ints(reader, table, _TENSOR_SHAPE, MAX_SHAPE_RANK, f"tensor {number}")
    signature = _ints(reader, table, _TENSOR_SHAPE_SIGNATURE, MAX_SHAPE_RANK, f"tensor {number}'s shape signature")
    if any(d < 0 for d in shape) or any(d < -1 for d in signature):
        raise CorruptModelError(
            f"TFLite tensor {number} has shape {shape[:10]}: negative or rank over {MAX_SHAPE_RANK}"
        )
    buffer = reader.scalar(table, _TENSOR_BUFFER, "<I")
    if buffer >= len(buffers):
        raise CorruptModelError(f"TFLite tensor {number} uses buffer {buffer}; the model has {len(buffers)}")
    constant = None
    if buffer != 0:  # buffer 0 is the schema's "no data" sentinel
        start, length = reader.vector(buffers[buffer], _BUFFER_DATA, 1)
        if length:
            constant = reader.data[start : start + length]  # a view: tensors may share one buffer
        elif reader.scalar(buffers[buffer], _BUFFER_OFFSET, "<Q") > 1:
            constant = b""  # data stored after the flatbuffer (the >2 GB layout): a constant all the same
    return Tensor(tensor_type, shape, constant)


def _shape_constants(index: int, tensors: list[Tensor], producers: dict, depth: int = 0) -> list[int]:
    """The constant numbers a shape tensor is assembled from (SHAPE outputs are real tensors' sizes, bounded)."""
    if depth > 8:
        raise CorruptModelError("TFLite shape is assembled through too many operators")
    tensor = tensors[index]
    if tensor.constant is not None:
        if tensor.type != allowlist.I32 or len(tensor.constant) % 4 or len(tensor.constant) > 4 * MAX_SHAPE_RANK:
            return [-2]  # not a shape: refused by check_shape_constants
        return list(struct.unpack(f"<{len(tensor.constant) // 4}i", tensor.constant))
    if index not in producers:
        return []
    code, inputs = producers[index]
    which = allowlist.TFLITE_SHAPE_PLUMBING.get(code, ())
    chosen = inputs if which is None else [inputs[i] for i in which if i < len(inputs)]
    return [v for i in chosen if i != NO_TENSOR for v in _shape_constants(i, tensors, producers, depth + 1)]


def _ints(reader: CheckedReader, table: int, number: int, limit: int, what: str) -> list[int]:
    """A shape: at most `limit` dims, counted before they are unpacked."""
    start, length = reader.vector(table, number, 4)
    if length > limit:
        raise CorruptModelError(f"TFLite {what} has {length:,} dims; nextword's tensors have at most {limit}")
    return list(struct.unpack_from(f"<{length}i", reader.data, start)) if length else []


def _indexes(reader: CheckedReader, table: int, number: int, limit: int, what: str) -> list[int]:
    """An int32 vector field, refused past `limit` entries before it is unpacked."""
    start, length = reader.vector(table, number, 4)
    check_entries(length, limit, what)
    return list(struct.unpack_from(f"<{length}i", reader.data, start)) if length else []


def max_entries(config) -> int:
    """The most tensors, buffers, operator codes or indexes in one list a nextword graph of this config may have:
    4 per operator it may hold (its files have 1.7 tensors and 1.8 buffers per operator)."""
    return ENTRIES_PER_OPERATOR * max_graph_nodes(config.lstm_layers * config.words_per_call)


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
