"""Structure-aware mutations: edits a byte-level fuzzer almost never makes, where issue 11's crashes were found.

Opcode swaps of one operator (TFLite: each operator given its own OperatorCode entry first, so one write
changes one operator; ONNX: one node's op_type), WHILE/Loop insertion (recursing into subgraph 0, or looping
"forever"), subgraph and tensor index edits, shape, dim and shape-constant edits, bundle-number edits
(vocab_size 2e9, seq_len 1e9, non-canonical ids) and polyglot prefixes (ORT-format identifier, the other
format's bytes). Used by mutations.MUTATORS and by the single-opcode sweeps in fuzz_models.py.
"""

from __future__ import annotations

import json
import random
import struct
from functools import lru_cache

import mutations

ORT_IDENTIFIER = b"ORTM"
WHILE, IF, CALL_ONCE = 119, 118, 129  # schema.fbs BuiltinOperator
MAX_BUILTIN = 210  # LiteRT 2.3's schema defines codes 0..~206; a few past the end test the unknown-code path
ONNX_CONTROL_FLOW = ("Loop", "If", "Scan", "SequenceMap")


# --- TFLite, via the schema's object API (only on the well-formed originals) -------------------------------
def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _pack(model, size_hint: int) -> bytes:
    import flatbuffers

    try:
        from nextword.export.tflite import _AlignedBuffer

        model.buffers = [_AlignedBuffer.of(b) for b in model.buffers or []]
    except ImportError:  # runtime-only install: unaligned buffers still load for these tiny models
        pass
    builder = flatbuffers.Builder(size_hint + 4096)
    builder.ForceDefaults(True)  # every scalar stored, so in-place edits find their field
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@lru_cache(maxsize=8)
def tflite_private_opcodes(data: bytes) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    """The model with one OperatorCode per operator, and where each operator's builtin code is stored
    ((deprecated int8 position, int32 position) per operator, in operator order)."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    codes, operators = [], model.subgraphs[0].operators
    for number, op in enumerate(operators):
        original = model.operatorCodes[op.opcodeIndex]
        code = schema.OperatorCodeT()
        code.builtinCode, code.deprecatedBuiltinCode, code.version = (
            original.builtinCode,
            original.deprecatedBuiltinCode,
            original.version,
        )
        codes.append(code)
        op.opcodeIndex = number
    model.operatorCodes = codes
    packed = _pack(model, len(data))
    reader = mutations.FlatReader(packed)
    root = reader.u32(0)
    positions = tuple(
        (reader.field(code, mutations.OPCODE_DEPRECATED_BUILTIN), reader.field(code, mutations.OPCODE_BUILTIN))
        for code in reader.tables(reader.vector(root, mutations.MODEL_OPERATOR_CODES))
    )
    return packed, positions


def tflite_swap_opcode(data: bytes, operator: int, builtin: int) -> bytes:
    packed, positions = tflite_private_opcodes(data)
    deprecated_pos, builtin_pos = positions[operator]
    out = mutations.put(packed, builtin_pos, "<i", builtin)
    return mutations.put(out, deprecated_pos, "<b", min(builtin, 127))


def tflite_operator_count(data: bytes) -> int:
    return len(tflite_private_opcodes(data)[1])


def tflite_with_control_flow(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A WHILE (or IF / CALL_ONCE) operator added to subgraph 0, its subgraph indexes pointing anywhere."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    builtin = rng.choice((WHILE, WHILE, IF, CALL_ONCE))
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
    model.operatorCodes.append(code)
    graph = model.subgraphs[0]
    op = schema.OperatorT()
    op.opcodeIndex = len(model.operatorCodes) - 1
    first, second = rng.choice((0, 0, 1, 2, -1, 2**31 - 1)), rng.choice((0, 0, 1, 2, -1))
    if builtin == WHILE:
        op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.WhileOptions, schema.WhileOptionsT()
        op.builtinOptions.condSubgraphIndex, op.builtinOptions.bodySubgraphIndex = first, second
    elif builtin == IF:
        op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.IfOptions, schema.IfOptionsT()
        op.builtinOptions.thenSubgraphIndex, op.builtinOptions.elseSubgraphIndex = first, second
    else:
        op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.CallOnceOptions, schema.CallOnceOptionsT()
        op.builtinOptions.initSubgraphIndex = first
    op.inputs, op.outputs = list(graph.inputs), list(graph.outputs[:1])
    graph.operators.insert(rng.choice((0, len(graph.operators))), op)
    if rng.random() < 0.5:  # a second subgraph, so the indexes can be "valid"
        model.subgraphs.append(graph)
    return _pack(model, len(data)), f"{builtin} ({first}, {second}) in {len(model.subgraphs)} subgraphs"


def tflite_shape_edit(base, rng: random.Random) -> tuple[bytes, str]:
    """A tensor's shape entry, or a small int32 constant (FILL's dims come from one), set to a huge size."""
    index = base.index
    value = rng.choice((0, -1, -2, 16384, 2**20, 2**31 - 1, 10**9))
    if rng.random() < 0.5:
        constants = [b["data"] for b in index.buffers if b["data"] is not None and 4 <= b["data"].count * 1 <= 32]
        if constants:
            vector = rng.choice(constants)
            slot = vector.start + 4 * rng.randrange(vector.count // 4)
            return mutations.put(base.data, slot, "<i", value), f"int32 constant -> {value}"
    shaped = [t["shape"] for t in index.tensors if t["shape"] is not None and t["shape"].count]
    vector = rng.choice(shaped)
    slot = vector.start + 4 * rng.randrange(vector.count)
    return mutations.put(base.data, slot, "<i", value), f"tensor shape dim -> {value}"


TANH = 28  # an allowed one-in, one-out float operator of both kinds


def tflite_operator_chain(data: bytes, n: int) -> bytes:
    """n TANH operators chained from the first graph input's float successor, each into a new tensor: allowed
    operators and types, wired correctly, just far more of them than nextword writes."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    tanh = next(i for i, c in enumerate(model.operatorCodes) if max(c.builtinCode, c.deprecatedBuiltinCode) == TANH)
    source = next(op.outputs[0] for op in graph.operators if op.opcodeIndex == tanh)
    for _ in range(n):
        tensor = schema.TensorT()
        tensor.shape, tensor.type, tensor.buffer = list(graph.tensors[source].shape), 0, 0
        tensor.name = f"chain{len(graph.tensors)}".encode()
        graph.tensors.append(tensor)
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = tanh, [source], [len(graph.tensors) - 1]
        graph.operators.append(op)
        source = len(graph.tensors) - 1
    return _pack(model, len(data) + 64 * n)


def tflite_structure(base, rng: random.Random) -> tuple[bytes, str]:
    choice = rng.random()
    if choice < 0.55:
        operator = rng.randrange(tflite_operator_count(base.data))
        builtin = rng.randrange(MAX_BUILTIN)
        return tflite_swap_opcode(base.data, operator, builtin), f"operator {operator} -> builtin {builtin}"
    if choice < 0.65:
        return tflite_with_control_flow(base.data, rng)
    if choice < 0.7:
        n = rng.choice((400, 2_000, 20_000))
        return tflite_operator_chain(base.data, n), f"{n} TANH operators chained"
    return tflite_shape_edit(base, rng)


# --- ONNX, on the wire --------------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def onnx_op_types() -> tuple[str, ...]:
    try:
        import onnx.defs

        return tuple(sorted({s.name for s in onnx.defs.get_all_schemas() if s.domain in ("", "ai.onnx")}))
    except ImportError:  # runtime-only install: a short list with the ones that matter most
        return ("Loop", "If", "Scan", "ConstantOfShape", "Tile", "Resize", "NonZero", "Range", "Reshape", "Identity")


def onnx_nodes(data: bytes) -> list:
    """The op_type field of each top-graph node, in order."""
    index = mutations.index_onnx(data)
    return [f for f in index.fields if f.kind == "node" and f.number == 4 and len(f.ancestors) == 2]


def onnx_set_op_type(data: bytes, node_field, op_type: str) -> bytes:
    return mutations.splice(
        data, node_field.start, node_field.end, op_type.encode(), (*node_field.ancestors, node_field)
    )


def onnx_with_loop(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A Loop (or If/Scan) node with a body graph and a trip count of 2^62 appended to the graph."""
    index = mutations.index_onnx(data)
    graph = next(f for f in index.fields if f.kind == "model" and f.number == 7)
    op = rng.choice(ONNX_CONTROL_FLOW[:3])
    body = mutations.len_field(2, b"body")  # GraphProto.name only
    trip = (
        mutations.len_field(8, b"trip")
        + mutations.varint_field(2, 7)
        + mutations.len_field(9, struct.pack("<q", 2**62))
    )
    node = (
        mutations.len_field(1, b"trip")
        + mutations.len_field(1, b"")
        + mutations.len_field(2, b"loop_out")
        + mutations.len_field(4, op.encode())
        + mutations.len_field(
            5, mutations.len_field(1, b"body") + mutations.len_field(6, body) + mutations.varint_field(20, 5)
        )
    )
    new = mutations.len_field(5, trip) + mutations.len_field(1, node)
    return mutations.splice(data, graph.end, graph.end, new, (graph,)), f"{op} node with a 2^62 trip count"


def onnx_node_chain(data: bytes, n: int, op: str = "Relu") -> bytes:
    """n one-in, one-out nodes of an allowed op type chained from the graph's first node output, appended to
    the graph: the issue's 100,000-node file (3.5 MB) that onnxruntime took 30 s to load."""
    index = mutations.index_onnx(data)
    graph = next(f for f in index.fields if f.kind == "model" and f.number == 7)
    first = next(f for f in index.fields if f.kind == "node" and f.number == 2 and len(f.ancestors) == 2)
    previous, nodes = data[first.start : first.end], []
    for number in range(n):
        name = b"chain%d" % number
        nodes.append(
            mutations.len_field(
                1, mutations.len_field(1, previous) + mutations.len_field(2, name) + mutations.len_field(4, op.encode())
            )
        )
        previous = name
    return mutations.splice(data, graph.end, graph.end, b"".join(nodes), (graph,))


def onnx_constant_edit(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A small int64 initializer (Expand's shape, Slice bounds, TopK's k, axes) set to a huge or negative value."""
    index = mutations.index_onnx(data)
    raws = [f for f in index.fields if f.kind == "tensor" and f.number == 9 and 8 <= f.end - f.start <= 64]
    field = rng.choice(raws)
    value = rng.choice((-2, 2**30, 2**31 - 1, 2**40, 2**62))
    slot = field.start + 8 * rng.randrange((field.end - field.start) // 8)
    return mutations.put(data, slot, "<q", value), f"int64 constant -> {value}"


def onnx_structure(base, rng: random.Random) -> tuple[bytes, str]:
    choice = rng.random()
    if choice < 0.55:
        nodes = onnx_nodes(base.data)
        number = rng.randrange(len(nodes))
        op = rng.choice(onnx_op_types() + ONNX_CONTROL_FLOW)
        return onnx_set_op_type(base.data, nodes[number], op), f"node {number} -> {op}"
    if choice < 0.65:
        return onnx_with_loop(base.data, rng)
    if choice < 0.7:
        n = rng.choice((400, 2_000, 100_000))
        return onnx_node_chain(base.data, n), f"{n} Relu nodes chained"
    return onnx_constant_edit(base.data, rng)


# --- both formats ------------------------------------------------------------------------------------------
def polyglot(base, rng: random.Random) -> tuple[bytes, str]:
    choice = rng.random()
    data = base.data
    if choice < 0.4:
        return data[:4] + ORT_IDENTIFIER + data[8:], "ORT-format identifier at bytes 4..8"
    if choice < 0.7:
        other = rng.choice(base.other_files) if getattr(base, "other_files", None) else data
        return other[:8] + data, "the other format's first 8 bytes prepended"
    return data[:4] + b"TFL3" + data[8:], "TFL3 identifier at bytes 4..8"


BUNDLE_NUMBERS = (0, 1, 2, 2**31, 2 * 10**9, 10**9, 10**30, -1)
ODD_IDS = (" 5 ", "+5", "1_0", "05", "-1", "0", "5.0", "\u0665", "99999999999999999999")


def bundle_numbers(base, rng: random.Random) -> tuple[bytes, str]:
    """A number inside the bundled config or tokenizer edited: sizes, the OOV id, the ids of index_word."""
    key = rng.choice(("nextword.config", "nextword.tokenizer"))
    payload = json.loads(base.metadata[key])
    if key == "nextword.config":
        field = rng.choice(("vocab_size", "seq_len", "units", "embedding_dim", "hidden", "layers", "num_words"))
        value = rng.choice(BUNDLE_NUMBERS)
        if rng.random() < 0.15:
            payload.pop(field, None)
            detail = f"config {field} removed"
        else:
            payload[field] = value
            detail = f"config {field} := {value}"
        text = json.dumps(payload)
    else:
        config = payload["config"]
        table_name = rng.choice(("index_word", "word_index"))
        table = json.loads(config[table_name])
        if table_name == "index_word":
            old = rng.choice(list(table))
            new = rng.choice(ODD_IDS + (str(rng.choice(BUNDLE_NUMBERS)),))
            items = [(new if k == old else k, v) for k, v in table.items()]
            detail = f"index_word id {old} -> {new!r}"
        else:
            word = rng.choice(list(table))
            items = [(k, rng.choice(BUNDLE_NUMBERS) if k == word else v) for k, v in table.items()]
            detail = f"word_index[{word!r}] edited"
        config[table_name] = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in items) + "}"
        text = json.dumps(payload)
    return _with_metadata(base, key, text.encode()), detail


def config_against_graph(base, rng: random.Random) -> tuple[bytes, str]:
    """The bundled config's layers, units or embedding_dim edited so the state stays as wide (2 x layers x
    units): a config that contradicts the graph's LSTMs while every port still matches."""
    config = json.loads(base.metadata["nextword.config"])
    layers, units = config.get("layers", 1), config["units"]
    width = layers * units
    choices = [(n, width // n) for n in (1, 2, 3, 4, 6, 8) if width % n == 0 and n != layers]
    field = rng.choice(("layers", "embedding_dim") if config.get("kind") == "sequence" else ("units", "embedding_dim"))
    if field == "layers" and choices:
        config["layers"], config["units"] = rng.choice(choices)
    else:
        config[field] = config[field] * 2
    detail = f"config layers {config.get('layers')} units {config['units']} embedding_dim {config['embedding_dim']}"
    return _with_metadata(base, "nextword.config", json.dumps(config).encode()), detail


def _with_metadata(base, key: str, value: bytes) -> bytes:
    if base.fmt == "onnx":
        entry = next(item for item, name, _ in base.index.entries if name == key)
        content = mutations.len_field(1, key.encode()) + mutations.len_field(2, value)
        return mutations.splice(base.data, entry.start, entry.end, content, (entry,))
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(base.data), 0)
    entry = next(m for m in model.metadata if (m.name.decode() if isinstance(m.name, bytes) else m.name) == key)
    model.buffers[entry.buffer].data = list(value)
    return _pack(model, len(base.data) + len(value))
