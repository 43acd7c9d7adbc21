"""Structure-aware mutations of exported model files, for fuzz_models.py.

Random bit flips mostly land in weights or in the bundled JSON, so on their own they rarely reach the
parsers' corner cases. These mutators also edit the files where they are most fragile: ONNX as raw
protobuf wire format (lying length prefixes, spliced metadata_props, external-data references) and
TFLite as raw flatbuffer positions (dangling offsets, huge vector lengths, metadata buffer indexes).
Each mutator is deterministic given its random.Random, so a case id reproduces a file exactly.
"""

from __future__ import annotations

import json
import random
import struct
from dataclasses import dataclass, field

import structure  # noqa: F401 - structure-aware mutators; it imports this module back, lazily used

# Declared sizes meant to make a reader allocate or seek far beyond the file.
HUGE_64 = (2**31 - 1, 2**31, 2**32 - 1, 2**32 + 7, 2**40, 2**62, 2**63 - 1, 2**64 - 1)
HUGE_32 = (0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x40000000, 0x10000000)
# Just over runtime/predictor.py's DEFAULT_MAX_METADATA_BYTES (32 MiB).
OVER_METADATA_LIMIT = 32 * 1024 * 1024 + 1
NUMBER_STRINGS = (
    "",
    "0",
    "2",
    "-1",
    "+1",
    " 1",
    "1 ",
    "01",
    "1.0",
    "\u00b2",
    "\u0661",
    "\uff11",
    "1\x00",
    "9" * 5000,
    "99999999999999999999",
    "\u2474",
    "\U0001d7d9",
    "1e3",
    "NaN",
    "true",
)
JSON_ODDITIES = (-1, 0, 1, 2, 3, 2**31, 10**12, 10**30, 3.0, 2.5, -0.0, 1e308, "3", "", None, [], {}, True, False, [3])


# --- shared ---------------------------------------------------------------------------------------


@dataclass
class Base:
    """One original file and what the mutators need to know about it, computed once."""

    name: str
    fmt: str
    data: bytes
    metadata: dict[str, bytes]  # the nextword entries (and any others) as stored
    other_values: list[bytes] = field(default_factory=list)  # metadata values from the other --model files
    index: object = None  # OnnxIndex or TfliteIndex
    template: bytes | None = None  # TFLite only: the same model with Buffer.offset/size fields present
    template_index: object = None
    other_files: list[bytes] = field(default_factory=list)  # the other --model files (polyglot prefixes)


def bit_flips(base: Base, rng: random.Random) -> tuple[bytes, str]:
    out = bytearray(base.data)
    count = rng.randint(1, 16)
    positions = [rng.randrange(len(out)) for _ in range(count)]
    for pos in positions:
        out[pos] ^= 1 << rng.randrange(8)
    return bytes(out), f"flip {count} bits at {sorted(positions)[:4]}..."


def structural_bit_flips(base: Base, rng: random.Random) -> tuple[bytes, str]:
    """Flips outside the bundled metadata values, where the engines' own parsers are hit."""
    ranges = base.index.structure_ranges
    out = bytearray(base.data)
    count = rng.randint(1, 16)
    for _ in range(count):
        start, end = rng.choices(ranges, weights=[e - s for s, e in ranges])[0]
        out[rng.randrange(start, end)] ^= 1 << rng.randrange(8)
    return bytes(out), f"flip {count} bits outside the metadata"


def overwrite_runs(base: Base, rng: random.Random) -> tuple[bytes, str]:
    out = bytearray(base.data)
    runs = rng.randint(1, 4)
    for _ in range(runs):
        length = rng.randint(1, 64)
        pos = rng.randrange(max(1, len(out) - length))
        fill = rng.choice((None, 0x00, 0xFF, 0x7F, 0x80))
        out[pos : pos + length] = rng.randbytes(length) if fill is None else bytes([fill]) * length
    return bytes(out), f"overwrite {runs} runs"


def truncate(base: Base, rng: random.Random) -> tuple[bytes, str]:
    cut = rng.randrange(64) if rng.random() < 0.1 else rng.randrange(len(base.data))
    return base.data[:cut], f"truncate at {cut}"


def append_garbage(base: Base, rng: random.Random) -> tuple[bytes, str]:
    extra = rng.randbytes(rng.choice((1, 7, 100, 4096)))
    return base.data + extra, f"append {len(extra)} bytes"


def rename_everywhere(base: Base, rng: random.Random) -> tuple[bytes, str]:
    """Every occurrence of one tensor name replaced by bytes of the same length: the graph stays wired
    the same, but the name may stop being UTF-8 or collide with another."""
    names = [name for name in base.index.names if len(name) >= 2]
    name = rng.choice(names)
    choice = rng.random()
    if choice < 0.4:
        new = name[:1] + rng.choice((b"\xff", b"\xc3", b"\x00")) + name[2:]
    elif choice < 0.7:
        new = rng.choice([other for other in names if len(other) == len(name) and other != name] or [name[::-1]])
    else:
        new = rng.randbytes(len(name))
    return base.data.replace(name, new), f"rename {name[:40]!r} -> {new[:40]!r} everywhere"


def metadata_value(key: str, original: bytes, rng: random.Random, base: Base) -> tuple[bytes, str]:
    """A replacement for one bundled metadata value: huge, garbage, another entry's, or a plausible edit."""
    kind = rng.choice(
        (
            "huge_random",
            "huge_text",
            "over_limit",
            "invalid_utf8",
            "garbage_text",
            "number",
            "deep_json",
            "json_shape",
            "other_key",
            "other_file",
            "edited",
            "edited",
            "edited",
            "truncated",
            "empty",
        )
    )
    if kind == "over_limit" and rng.random() < 0.8:
        kind = "huge_random"  # 32 MiB files are slow to make; test the limit now and then
    if kind == "huge_random":
        return rng.randbytes(rng.randint(1, 3) * 1024 * 1024), kind
    if kind == "huge_text":
        return (original * (2 * 1024 * 1024 // max(1, len(original)) + 1))[: 3 * 1024 * 1024], kind
    if kind == "over_limit":
        return b"x" * OVER_METADATA_LIMIT, kind
    if kind == "invalid_utf8":
        return original[: rng.randrange(len(original) + 1)] + rng.choice(
            (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88")
        ), kind
    if kind == "garbage_text":
        return "".join(
            chr(rng.choice((rng.randrange(32, 127), rng.randrange(0x80, 0x2FFF), 0x1F600)))
            for _ in range(rng.randint(1, 200))
        ).encode(), kind
    if kind == "number":
        return rng.choice(NUMBER_STRINGS).encode(), kind
    if kind == "deep_json":
        depth = rng.choice((1000, 100_000))
        nested = rng.choice(("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth))
        if rng.random() < 0.5:  # nested inside a tokenizer table, which is JSON inside JSON
            nested = json.dumps({"class_name": "Tokenizer", "config": {"word_index": nested, "index_word": nested}})
        return nested.encode(), f"deep_json({depth})"
    if kind == "json_shape":
        return rng.choice(
            (
                "null",
                "[]",
                "{}",
                "123",
                '"text"',
                "true",
                '{"class_name": "Tokenizer"}',
                '{"class_name": "Tokenizer", "config": []}',
                '{"version": 1}',
            )
        ).encode(), kind
    if kind == "other_key":
        others = [v for k, v in base.metadata.items() if k != key]
        return (rng.choice(others) if others else b""), kind
    if kind == "other_file":
        return (rng.choice(base.other_values) if base.other_values else original[::-1]), kind
    if kind == "truncated":
        return original[: rng.randrange(len(original) + 1)], kind
    if kind == "empty":
        return b"", kind
    return edited_json(original, rng)


def edited_json(original: bytes, rng: random.Random) -> tuple[bytes, str]:
    try:
        payload = json.loads(original)
    except ValueError:
        return original + b"}", "edited(not json)"
    if isinstance(payload, dict) and payload.get("class_name") == "Tokenizer":
        return json.dumps(_edit_tokenizer(payload, rng)).encode(), "edited(tokenizer)"
    if isinstance(payload, dict):
        for _ in range(rng.randint(1, 3)):
            _edit_object(payload, rng)
        return json.dumps(payload).encode(), "edited(config)"
    return json.dumps(rng.choice(JSON_ODDITIES)).encode(), "edited(scalar)"


def _edit_object(payload: dict, rng: random.Random) -> None:
    key = rng.choice(list(payload) + ["unknown_field"])
    action = rng.random()
    if action < 0.15:
        payload.pop(key, None)
    elif action < 0.35 and isinstance(payload.get(key), int):
        payload[key] += rng.choice((-1, 1, 2))
    elif action < 0.45 and isinstance(payload.get(key), int):
        payload[key] = float(payload[key])  # equal to the int, so only a type check notices
    else:
        payload[key] = rng.choice(JSON_ODDITIES)


_TOKENIZER_OPTION_VALUES = {
    "num_words": (0, 1, 2, -5, 3, 10**9, "5", None, True, 2.0),
    "filters": ("", " ", "abcdefghijklmnopqrstuvwxyz", "x" * 100_000, None),
    "lower": (0, "yes", None, False),
    "split": ("", "  ", "e", "\x00", " ", None),
    "char_level": (True, 1, None),
    "oov_token": ("<OOV>", "", 5, "the", None),
    "document_count": (-1, 2**63, "1", None),
}


def _edit_tokenizer(payload: dict, rng: random.Random) -> dict:
    config = payload.get("config")
    if not isinstance(config, dict) or rng.random() < 0.05:
        payload["config"] = rng.choice(JSON_ODDITIES)
        return payload
    action = rng.random()
    if action < 0.35:
        option = rng.choice(list(_TOKENIZER_OPTION_VALUES))
        config[option] = rng.choice(_TOKENIZER_OPTION_VALUES[option])
    elif action < 0.9:
        table_name = rng.choice(("word_index", "index_word", "word_counts", "word_docs", "index_docs"))
        config[table_name] = _edit_table(config.get(table_name), rng)
    elif action < 0.95:
        config["unknown_option"] = 1
    else:
        payload["class_name"] = rng.choice(("tokenizer", "Tokenizer ", None, 1))
    return payload


def _edit_table(encoded, rng: random.Random):
    try:
        table = json.loads(encoded)
    except (TypeError, ValueError):
        return encoded
    if not isinstance(table, dict) or not table or rng.random() < 0.1:
        return rng.choice(("[]", "not json", "{}", '{"a": 1}', 5, None))
    keys = list(table)
    action = rng.random()
    if action < 0.3:
        del table[rng.choice(keys)]
    elif action < 0.6:
        table[rng.choice(keys)] = rng.choice((-1, 0, 10**9, 2**63, "x", None, 1.5, True, len(table) + 5))
    elif action < 0.8:
        table[rng.choice(("", "zzzz", "-1", "1e3", "abc", str(len(table) + 5), "0", " 1"))] = rng.choice(
            (1, "the", len(table) + 5)
        )
    else:  # make two entries collide
        a, b = rng.choice(keys), rng.choice(keys)
        table[a] = table[b]
    return json.dumps(table)


# --- ONNX: raw protobuf wire format ------------------------------------------------------------------

# Which fields of which onnx.proto message hold which message (enough to reach every tensor and shape).
ONNX_MESSAGES = {
    "model": {7: "graph", 14: "entry", 20: "training_info", 25: "function"},
    "training_info": {1: "graph", 2: "graph"},
    "function": {7: "node"},
    "graph": {1: "node", 5: "tensor", 11: "value_info", 12: "value_info", 13: "value_info", 15: "sparse_tensor"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse_tensor"},
    "sparse_tensor": {1: "tensor", 2: "tensor"},
    "value_info": {2: "type"},
    "type": {1: "tensor_type"},
    "tensor_type": {2: "shape"},
    "shape": {1: "dim"},
    "dim": {},
    "tensor": {13: "entry"},
    "entry": {},
}
# TensorProto float_data, int32_data, int64_data, raw_data: where a tensor's values can be.
TENSOR_DATA_FIELDS = (4, 5, 7, 9)
# (message, field) pairs whose varint is a size: TensorProto.dims and TensorShapeProto.Dimension.dim_value.
SIZE_VARINTS = {("tensor", 1), ("dim", 1)}


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are ten-byte two's complement on the wire
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def len_field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


@dataclass(frozen=True)
class WireField:
    kind: str  # the message this field belongs to
    number: int
    wire: int
    tag_pos: int
    value_pos: int  # the length prefix of a LEN field, or the value of a varint
    start: int  # content of a LEN field / bytes of any other value
    end: int
    ancestors: tuple  # the LEN fields (outermost first) that enclose this one
    child: str | None  # the message kind a LEN field holds, when known


@dataclass
class OnnxIndex:
    fields: list[WireField]
    entries: list[tuple[WireField, str, bytes]]  # metadata_props: (field, key, value)
    structure_ranges: list[tuple[int, int]]
    names: list[bytes] = field(default_factory=list)  # graph input/output and node input/output names


def index_onnx(data: bytes) -> OnnxIndex:
    fields: list[WireField] = []

    def walk(kind: str, pos: int, end: int, ancestors: tuple) -> None:
        while pos < end:
            tag_pos = pos
            tag, pos = read_varint(data, pos)
            number, wire = tag >> 3, tag & 7
            value_pos = pos
            if wire == 0:
                _, pos = read_varint(data, pos)
                start, stop = value_pos, pos
            elif wire == 2:
                length, start = read_varint(data, pos)
                stop = pos = start + length
            elif wire in (1, 5):
                start, stop = pos, pos + (8 if wire == 1 else 4)
                pos = stop
            else:
                raise ValueError(f"unexpected wire type {wire}")
            child = ONNX_MESSAGES[kind].get(number) if wire == 2 else None
            item = WireField(kind, number, wire, tag_pos, value_pos, start, stop, ancestors, child)
            fields.append(item)
            if child:
                walk(child, start, stop, ancestors + (item,))

    walk("model", 0, len(data), ())
    entries = []
    for item in fields:
        if item.kind == "model" and item.number == 14:
            parts = {f.number: data[f.start : f.end] for f in fields if f.ancestors and f.ancestors[-1] is item}
            entries.append((item, parts.get(1, b"").decode("utf-8", "replace"), parts.get(2, b"")))
    values = sorted((f.start, f.end) for f in fields if f.kind == "entry" and f.number == 2)
    names = sorted(
        {data[f.start : f.end] for f in fields if (f.kind, f.number) in (("value_info", 1), ("node", 1), ("node", 2))}
    )
    return OnnxIndex(fields, entries, complement(values, len(data)), names)


def complement(spans: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    ranges, pos = [], 0
    for start, end in spans:
        if start > pos:
            ranges.append((pos, start))
        pos = max(pos, end)
    if pos < size:
        ranges.append((pos, size))
    return ranges


def splice(data: bytes, start: int, end: int, new: bytes, ancestors: tuple) -> bytes:
    """Replace data[start:end] and rewrite the length prefix of every enclosing message to match."""
    out = bytearray(data)
    out[start:end] = new
    delta = len(new) - (end - start)
    for outer in reversed(ancestors):  # innermost first: its prefix lies after its ancestors' prefixes
        encoded = varint(outer.end - outer.start + delta)
        old_width = outer.start - outer.value_pos
        out[outer.value_pos : outer.start] = encoded
        delta += len(encoded) - old_width
    return bytes(out)


def onnx_metadata_replace(base: Base, rng: random.Random) -> tuple[bytes, str]:
    entry, key, value = rng.choice(base.index.entries)
    new_value, kind = metadata_value(key, value, rng, base)
    content = len_field(1, key.encode()) + len_field(2, new_value)
    return splice(
        base.data, entry.start, entry.end, content, (entry,)
    ), f"metadata {key} := {kind} ({len(new_value)} B)"


def onnx_metadata_duplicate(base: Base, rng: random.Random) -> tuple[bytes, str]:
    entry, key, value = rng.choice(base.index.entries)
    if rng.random() < 0.5:
        value, kind = metadata_value(key, value, rng, base)
    else:
        kind = "same value"
    copy = len_field(14, len_field(1, key.encode()) + len_field(2, value))
    at = rng.choice((entry.tag_pos, entry.end, len(base.data)))
    return base.data[:at] + copy + base.data[at:], f"duplicate metadata {key} ({kind})"


def onnx_metadata_drop_or_rename(base: Base, rng: random.Random) -> tuple[bytes, str]:
    entry, key, value = rng.choice(base.index.entries)
    if rng.random() < 0.4:
        return base.data[: entry.tag_pos] + base.data[entry.end :], f"drop metadata {key}"
    others = [k for _, k, _ in base.index.entries if k != key]
    new_key = rng.choice(others + [key.upper(), key + " ", "", "nextword.", key + "\x00", "\udc80x"])
    content = len_field(1, new_key.encode("utf-8", "surrogatepass")) + len_field(2, value)
    return splice(base.data, entry.start, entry.end, content, (entry,)), f"rename metadata {key} -> {new_key!r}"


def onnx_many_entries(base: Base, rng: random.Random) -> tuple[bytes, str]:
    count = rng.choice((1000, 100_000))
    junk = b"".join(len_field(14, len_field(1, f"junk.{i}".encode()) + len_field(2, b"v")) for i in range(count))
    return base.data + junk, f"{count} extra metadata entries"


def onnx_lying_length(base: Base, rng: random.Random) -> tuple[bytes, str]:
    target = rng.choice([f for f in base.index.fields if f.wire == 2])
    length = target.end - target.start
    declared = rng.choice(HUGE_64 + (length + 1, length + rng.randint(2, 4096), max(0, length - 1), 0))
    data = base.data[: target.value_pos] + varint(declared) + base.data[target.start :]
    return data, f"{target.kind}.{target.number} length {length} -> {declared}"


def onnx_huge_dimension(base: Base, rng: random.Random) -> tuple[bytes, str]:
    """A well-formed file (lengths fixed up) whose tensor or shape declares an absurd size."""
    candidates = [f for f in base.index.fields if f.wire == 0 and (f.kind, f.number) in SIZE_VARINTS]
    target = rng.choice(candidates)
    value = rng.choice(HUGE_64 + (-1, -(2**63), 0, 3, 2**31 - 1))
    data = splice(base.data, target.start, target.end, varint(value), target.ancestors)
    return data, f"{target.kind}.{target.number} := {value}"


def external_tensor(rng: random.Random, name: bytes = b"ext") -> bytes:
    """A TensorProto whose data lives in a file named by the model."""
    return varint_field(1, 4) + varint_field(2, 1) + len_field(8, name) + external_refs(rng)


def external_refs(rng: random.Random) -> bytes:
    """TensorProto.external_data entries and/or data_location = EXTERNAL."""
    location = rng.choice((b"/etc/passwd", b"../../../../etc/shadow", b"weights.bin", b"/proc/self/mem", b"\x00"))
    refs = len_field(13, len_field(1, b"location") + len_field(2, location))
    if rng.random() < 0.5:
        refs += len_field(13, len_field(1, b"offset") + len_field(2, b"0"))
        refs += len_field(13, len_field(1, b"length") + len_field(2, str(rng.choice((16, 2**40))).encode()))
    location_flag = rng.choice((varint_field(14, 1), varint_field(14, 1), b"", varint_field(14, 7)))
    return refs + location_flag


def onnx_external_data(base: Base, rng: random.Random) -> tuple[bytes, str]:
    where = rng.choice(
        ("initializer", "initializer", "node_attribute", "sparse_initializer", "training_info", "function")
    )
    if where == "initializer":
        target = rng.choice([f for f in base.index.fields if f.child == "tensor" and f.kind == "graph"])
        kept = b"".join(
            base.data[f.tag_pos : f.end]
            for f in base.index.fields
            if f.ancestors and f.ancestors[-1] is target and f.number not in TENSOR_DATA_FIELDS
        )
        payload = kept + external_refs(rng)  # same name, dims and type; the bytes now live "elsewhere"
        return splice(
            base.data, target.start, target.end, payload, target.ancestors + (target,)
        ), "initializer -> external file"
    graph = next(f for f in base.index.fields if f.child == "graph" and f.kind == "model")
    if where == "node_attribute":
        node = rng.choice([f for f in base.index.fields if f.child == "node" and f.ancestors == (graph,)])
        attribute = len_field(1, b"value") + varint_field(20, 4) + len_field(5, external_tensor(rng))
        return splice(
            base.data, node.end, node.end, len_field(5, attribute), (graph, node)
        ), "node attribute tensor -> external file"
    if where == "sparse_initializer":
        sparse = len_field(1, external_tensor(rng)) + len_field(2, external_tensor(rng, b"idx")) + varint_field(3, 4)
        return splice(
            base.data, graph.end, graph.end, len_field(15, sparse), (graph,)
        ), "sparse initializer -> external file"
    tensor = external_tensor(rng)
    inner_graph = len_field(5, tensor) + len_field(2, b"g")
    if where == "training_info":
        return base.data + len_field(20, len_field(1, inner_graph)), "training_info initializer -> external file"
    node = len_field(4, b"Constant") + len_field(5, len_field(1, b"value") + varint_field(20, 4) + len_field(5, tensor))
    function = len_field(1, b"f") + len_field(10, b"custom") + len_field(7, node)
    return base.data + len_field(25, function), "function Constant -> external file"


# --- TFLite: raw flatbuffer positions ----------------------------------------------------------------

# Field numbers in the TFLite schema (schema.fbs).
MODEL_OPERATOR_CODES, MODEL_SUBGRAPHS, MODEL_BUFFERS, MODEL_METADATA = 1, 2, 4, 6
SUBGRAPH_TENSORS, SUBGRAPH_INPUTS, SUBGRAPH_OUTPUTS, SUBGRAPH_OPERATORS = 0, 1, 2, 3
TENSOR_SHAPE, TENSOR_TYPE, TENSOR_BUFFER, TENSOR_NAME, TENSOR_SHAPE_SIGNATURE = 0, 1, 2, 3, 7
OPERATOR_OPCODE_INDEX, OPERATOR_INPUTS, OPERATOR_OUTPUTS = 0, 1, 2
OPCODE_DEPRECATED_BUILTIN, OPCODE_BUILTIN = 0, 3
BUFFER_DATA, BUFFER_OFFSET, BUFFER_SIZE = 0, 1, 2
METADATA_NAME, METADATA_BUFFER = 0, 1


@dataclass(frozen=True)
class Vector:
    field_pos: int  # where the uoffset to the vector is stored
    len_pos: int
    start: int
    count: int


@dataclass
class TfliteIndex:
    vectors: list[Vector] = field(default_factory=list)
    metadata_vector: Vector | None = None
    metadata: list[dict] = field(default_factory=list)  # name, buffer_pos (field), buffer (index)
    buffers: list[dict] = field(default_factory=list)  # data (Vector|None), offset_pos, size_pos
    tensors: list[dict] = field(default_factory=list)  # shape (Vector|None), type_pos, buffer_pos
    index_slots: list[int] = field(default_factory=list)  # int32 tensor indexes of operators and subgraphs
    opcode_slots: list[tuple[int, str]] = field(default_factory=list)
    opcode_index_slots: list[int] = field(default_factory=list)  # uint32 Operator.opcode_index fields present
    opcode_count: int = 0
    tensor_count: int = 0
    structure_ranges: list[tuple[int, int]] = field(default_factory=list)
    names: list[bytes] = field(default_factory=list)  # tensor names


class FlatReader:
    """Trusting flatbuffer navigation: only ever used on the original, well-formed files."""

    def __init__(self, data: bytes):
        self.data = data

    def u16(self, pos: int) -> int:
        return struct.unpack_from("<H", self.data, pos)[0]

    def u32(self, pos: int) -> int:
        return struct.unpack_from("<I", self.data, pos)[0]

    def field(self, table: int, number: int) -> int | None:
        vtable = table - struct.unpack_from("<i", self.data, table)[0]
        slot = 4 + 2 * number
        if slot >= self.u16(vtable):
            return None
        relative = self.u16(vtable + slot)
        return table + relative if relative else None

    def vector(self, table: int, number: int) -> Vector | None:
        pos = self.field(table, number)
        if pos is None:
            return None
        header = pos + self.u32(pos)
        return Vector(pos, header, header + 4, self.u32(header))

    def tables(self, vector: Vector | None) -> list[int]:
        if vector is None:
            return []
        return [vector.start + 4 * i + self.u32(vector.start + 4 * i) for i in range(vector.count)]


def index_tflite(data: bytes) -> TfliteIndex:
    reader, index = FlatReader(data), TfliteIndex()

    def vector(table: int, number: int) -> Vector | None:
        found = reader.vector(table, number)
        if found is not None:
            index.vectors.append(found)
        return found

    model = reader.u32(0)
    codes = reader.tables(vector(model, MODEL_OPERATOR_CODES))
    index.opcode_count = len(codes)
    for code in codes:
        for number, kind in ((OPCODE_DEPRECATED_BUILTIN, "b"), (OPCODE_BUILTIN, "i")):
            pos = reader.field(code, number)
            if pos is not None:
                index.opcode_slots.append((pos, kind))
    for subgraph in reader.tables(vector(model, MODEL_SUBGRAPHS)):
        tensors = reader.tables(vector(subgraph, SUBGRAPH_TENSORS))
        index.tensor_count = max(index.tensor_count, len(tensors))
        for tensor in tensors:
            shape = vector(tensor, TENSOR_SHAPE)
            vector(tensor, TENSOR_SHAPE_SIGNATURE)
            index.tensors.append(
                {
                    "shape": shape,
                    "type_pos": reader.field(tensor, TENSOR_TYPE),
                    "buffer_pos": reader.field(tensor, TENSOR_BUFFER),
                }
            )
            name = reader.vector(tensor, TENSOR_NAME)
            if name is not None:
                index.names.append(data[name.start : name.start + name.count])
        slots = [vector(subgraph, SUBGRAPH_INPUTS), vector(subgraph, SUBGRAPH_OUTPUTS)]
        for operator in reader.tables(vector(subgraph, SUBGRAPH_OPERATORS)):
            slots += [vector(operator, OPERATOR_INPUTS), vector(operator, OPERATOR_OUTPUTS)]
            opcode_index = reader.field(operator, OPERATOR_OPCODE_INDEX)
            if opcode_index is not None:  # absent means opcode 0 and cannot be rewritten in place
                index.opcode_index_slots.append(opcode_index)
        index.index_slots += [v.start + 4 * i for v in slots if v is not None for i in range(v.count)]
    for buffer in reader.tables(vector(model, MODEL_BUFFERS)):
        index.buffers.append(
            {
                "data": vector(buffer, BUFFER_DATA),
                "offset_pos": reader.field(buffer, BUFFER_OFFSET),
                "size_pos": reader.field(buffer, BUFFER_SIZE),
            }
        )
    index.metadata_vector = vector(model, MODEL_METADATA)
    for entry in reader.tables(index.metadata_vector):
        name = reader.vector(entry, METADATA_NAME)
        buffer_pos = reader.field(entry, METADATA_BUFFER)
        index.metadata.append(
            {
                "name": data[name.start : name.start + name.count].decode(),
                "buffer_pos": buffer_pos,
                "buffer": reader.u32(buffer_pos) if buffer_pos is not None else 0,
            }
        )
    values = []
    for entry in index.metadata:
        vec = index.buffers[entry["buffer"]]["data"]
        if vec is not None:
            values.append((vec.start, vec.start + vec.count))
    index.structure_ranges = complement(sorted(values), len(data))
    return index


def tflite_metadata_values(data: bytes, index: TfliteIndex) -> dict[str, bytes]:
    out = {}
    for entry in index.metadata:
        vec = index.buffers[entry["buffer"]]["data"]
        out[entry["name"]] = b"" if vec is None else data[vec.start : vec.start + vec.count]
    return out


def put(data: bytes, pos: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, pos, value)
    return bytes(out)


def _metadata_buffer(base: Base, rng: random.Random, index: TfliteIndex | None = None):
    index = index or base.index
    entry = rng.choice(index.metadata)
    return entry, index.buffers[entry["buffer"]]


def tflite_metadata_buffer_index(base: Base, rng: random.Random) -> tuple[bytes, str]:
    entry = rng.choice(base.index.metadata)
    buffers = len(base.index.buffers)
    value = rng.choice(
        (
            rng.choice(base.index.metadata)["buffer"],
            rng.randrange(buffers),
            buffers,
            buffers + rng.randint(1, 1000),
            0xFFFFFFFF,
            0x7FFFFFFF,
            0,
        )
    )
    return put(base.data, entry["buffer_pos"], "<I", value), f"metadata {entry['name']} buffer -> {value}"


def tflite_metadata_data_length(base: Base, rng: random.Random) -> tuple[bytes, str]:
    entry, buffer = _metadata_buffer(base, rng)
    if buffer["data"] is None:
        return bit_flips(base, rng)
    count = buffer["data"].count
    value = rng.choice(HUGE_32 + (count + 1, count + rng.randint(2, 100_000), max(0, count - 1), 0, len(base.data)))
    return put(base.data, buffer["data"].len_pos, "<I", value), f"metadata {entry['name']} length {count} -> {value}"


def tflite_metadata_data_offset(base: Base, rng: random.Random) -> tuple[bytes, str]:
    entry, buffer = _metadata_buffer(base, rng)
    if buffer["data"] is None:
        return bit_flips(base, rng)
    field_pos = buffer["data"].field_pos
    target = rng.choice(
        (
            rng.randrange(len(base.data)),
            rng.randrange(0, len(base.data), 4),
            len(base.data),
            len(base.data) + 4096,
            field_pos,
        )
    )
    value = (target - field_pos) & 0xFFFFFFFF
    return put(base.data, field_pos, "<I", value), f"metadata {entry['name']} data offset -> {target}"


def tflite_metadata_count(base: Base, rng: random.Random) -> tuple[bytes, str]:
    vec = base.index.metadata_vector
    value = rng.choice(HUGE_32 + (vec.count + 1, vec.count + 3, 0))
    return put(base.data, vec.len_pos, "<I", value), f"metadata count {vec.count} -> {value}"


def tflite_metadata_value(base: Base, rng: random.Random) -> tuple[bytes, str]:
    """A new value appended after the flatbuffer and the entry's Buffer.data pointed at it (still well-formed)."""
    entry, buffer = _metadata_buffer(base, rng)
    if buffer["data"] is None:
        return bit_flips(base, rng)
    original = base.data[buffer["data"].start : buffer["data"].start + buffer["data"].count]
    value, kind = metadata_value(entry["name"], original, rng, base)
    padded = base.data + b"\x00" * (-len(base.data) % 16)
    header = len(padded)
    data = padded + struct.pack("<I", len(value)) + value
    data = put(data, buffer["data"].field_pos, "<I", header - buffer["data"].field_pos)
    return data, f"metadata {entry['name']} := {kind} ({len(value)} B)"


def tflite_external_buffer(base: Base, rng: random.Random) -> tuple[bytes, str]:
    """Buffer.offset/size (the over-2 GB layout) pointing anywhere: into, past or around the file."""
    if base.template is None:
        return bit_flips(base, rng)
    data, index = base.template, base.template_index
    if rng.random() < 0.6:
        entry, buffer = _metadata_buffer(base, rng, index)
        what = f"metadata {entry['name']}"
    else:
        number = rng.randrange(len(index.buffers))
        buffer, what = index.buffers[number], f"buffer {number}"
    size = len(data)
    offset, length = rng.choice(
        (
            (rng.randrange(2, size), rng.randrange(1, 4096)),
            (size - 8, 64),
            (rng.choice(HUGE_64), 16),
            (16, rng.choice(HUGE_64)),
            (2**64 - 1, 2**64 - 1),
            (8, size),
            (2, 0),
            (size, 4096),
            (size, 0),
        )
    )
    if offset == size and length and rng.random() < 0.5:
        data = data + rng.randbytes(length)  # data really present after the flatbuffer, as large models store it
    data = put(data, buffer["offset_pos"], "<Q", offset)
    data = put(data, buffer["size_pos"], "<Q", length)
    return data, f"{what} offset={offset} size={length}"


def tflite_huge_vector(base: Base, rng: random.Random) -> tuple[bytes, str]:
    vec = rng.choice(base.index.vectors)
    value = rng.choice(HUGE_32 + (vec.count + 1, vec.count * 2 + 1))
    return put(base.data, vec.len_pos, "<I", value), f"vector at {vec.len_pos} length {vec.count} -> {value}"


def tflite_tensor_fields(base: Base, rng: random.Random) -> tuple[bytes, str]:
    tensor = rng.choice(base.index.tensors)
    choice = rng.random()
    if choice < 0.5 and tensor["shape"] is not None and tensor["shape"].count:
        pos = tensor["shape"].start + 4 * rng.randrange(tensor["shape"].count)
        value = rng.choice((0, -1, -(2**31), 2**31 - 1, 2**16, 2**20, 3, 1))
        return put(base.data, pos, "<i", value), f"tensor dim -> {value}"
    if choice < 0.8 and tensor["buffer_pos"] is not None:
        buffers = len(base.index.buffers)
        value = rng.choice((rng.randrange(buffers), buffers, 0xFFFFFFFF, rng.choice(base.index.metadata)["buffer"]))
        return put(base.data, tensor["buffer_pos"], "<I", value), f"tensor buffer -> {value}"
    if tensor["type_pos"] is not None:
        value = rng.randrange(0, 20)
        return put(base.data, tensor["type_pos"], "<b", value), f"tensor type -> {value}"
    return tflite_operator_indexes(base, rng)


def tflite_operator_indexes(base: Base, rng: random.Random) -> tuple[bytes, str]:
    count = base.index.tensor_count
    choice = rng.random()
    if choice < 0.3 and base.index.opcode_index_slots:  # the operator becomes another operator of the model
        value = rng.choice((rng.randrange(base.index.opcode_count), base.index.opcode_count, 0xFFFFFFFF))
        return put(
            base.data, rng.choice(base.index.opcode_index_slots), "<I", value
        ), f"operator opcode index -> {value}"
    if choice < 0.45 and base.index.opcode_slots:
        pos, kind = rng.choice(base.index.opcode_slots)
        value = rng.randrange(0, 210) if kind == "i" else rng.randrange(-128, 128)
        return put(base.data, pos, "<i" if kind == "i" else "<b", value), f"opcode -> {value}"
    pos = rng.choice(base.index.index_slots)
    value = rng.choice((-1, -2, count, count + 100, 2**31 - 1, rng.randrange(count)))
    return put(base.data, pos, "<i", value), f"tensor index -> {value}"


# --- the menu --------------------------------------------------------------------------------------

GENERIC = [
    ("bit_flips", 10, bit_flips),
    ("structural_bit_flips", 10, structural_bit_flips),
    ("overwrite_runs", 12, overwrite_runs),
    ("truncate", 10, truncate),
    ("append_garbage", 2, append_garbage),
    ("rename_everywhere", 4, rename_everywhere),
]
MUTATORS = {
    "onnx": GENERIC
    + [
        ("metadata_replace", 16, onnx_metadata_replace),
        ("metadata_duplicate", 5, onnx_metadata_duplicate),
        ("metadata_drop_or_rename", 4, onnx_metadata_drop_or_rename),
        ("many_entries", 1, onnx_many_entries),
        ("lying_length", 12, onnx_lying_length),
        ("huge_dimension", 8, onnx_huge_dimension),
        ("external_data", 10, onnx_external_data),
        ("structure", 30, lambda base, rng: structure.onnx_structure(base, rng)),
        ("bundle_numbers", 10, lambda base, rng: structure.bundle_numbers(base, rng)),
        ("config_against_graph", 3, lambda base, rng: structure.config_against_graph(base, rng)),
        ("polyglot", 3, lambda base, rng: structure.polyglot(base, rng)),
    ],
    "tflite": GENERIC
    + [
        ("metadata_value", 14, tflite_metadata_value),
        ("metadata_buffer_index", 5, tflite_metadata_buffer_index),
        ("metadata_data_length", 5, tflite_metadata_data_length),
        ("metadata_data_offset", 4, tflite_metadata_data_offset),
        ("metadata_count", 2, tflite_metadata_count),
        ("huge_vector", 8, tflite_huge_vector),
        ("external_buffer", 10, tflite_external_buffer),
        ("tensor_fields", 6, tflite_tensor_fields),
        ("operator_indexes", 8, tflite_operator_indexes),
        ("structure", 30, lambda base, rng: structure.tflite_structure(base, rng)),
        ("bundle_numbers", 10, lambda base, rng: structure.bundle_numbers(base, rng)),
        ("config_against_graph", 3, lambda base, rng: structure.config_against_graph(base, rng)),
        ("polyglot", 3, lambda base, rng: structure.polyglot(base, rng)),
    ],
}


def mutate(base: Base, rng: random.Random) -> tuple[str, bytes, str]:
    """(mutator name, mutated bytes, what was done) for one case."""
    names, weights, functions = zip(*MUTATORS[base.fmt])
    pick = rng.choices(range(len(names)), weights=weights)[0]
    data, detail = functions[pick](base, rng)
    return names[pick], data, detail


def make_base(name: str, data: bytes, fmt: str) -> Base:
    if fmt == "onnx":
        index = index_onnx(data)
        return Base(name, fmt, data, {key: value for _, key, value in index.entries}, index=index)
    index = index_tflite(data)
    base = Base(name, fmt, data, tflite_metadata_values(data, index), index=index)
    base.template = tflite_with_offset_fields(data)
    if base.template is not None:
        base.template_index = index_tflite(base.template)
    return base


def tflite_with_offset_fields(data: bytes) -> bytes | None:
    """The model repacked with every Buffer's offset/size stored (1 and 1: "not external"), so that
    external_buffer mutations can rewrite them in place. Needs the exporter's flatbuffer writer."""
    try:
        from nextword.export.tflite import _rewrite
    except ImportError:
        return None

    def mark(model) -> None:
        for buffer in model.buffers or []:
            buffer.offset, buffer.size = 1, 1

    return _rewrite(data, mark)
