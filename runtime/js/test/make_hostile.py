"""The one set of hostile model files both runtimes must refuse, each with the error class both must raise.

    python runtime/js/test/make_hostile.py OUT MODEL...      # make_fixtures.sh: the fixtures' exports, both kinds

Each MODEL (an exported model.onnx or model.tflite of either kind) is edited where an attacker or a careless tool
would edit it (tests/hardening/mutations.py and structure.py do the editing): operators nextword never writes (an
ONNX Loop of 2^62 turns, a 2 GiB ConstantOfShape, a TFLite WHILE), numbers that would make an engine allocate
gigabytes (a 2 GiB Expand shape, a tensor dimension of 10^9), a Slice end of -2 (which empties the top-k rows and
killed onnxruntime-node with SIGFPE), a 100,000-node chain, a 2-element tensor holding a million values (packed) or
200,000 fields (one per value), a node of 100,000 bytes, an attribute of 300 ints, a name of 5,000 bytes, 4,000
extra TFLite tensors, 1,000 naming one buffer, a shape of rank 100,000, a
bundled config that
contradicts the graph, and bundle fields Python reads strictly (8.0 for an int, index_word keys "01" / "+1" / " 1",
a float in word_index, no layers, tie_embeddings with embedding_dim != units, seq_len 1,000,000). OUT/manifest.json
lists every file with its `expect`ed class (null: the unedited original, which must load). Every refusal here
happens before an engine sees the bytes: tests/runtime/test_hostile_files.py and runtime/js/test/hostile.test.js
load each file with an engine that records being reached.
"""

from __future__ import annotations

import json
import random
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "hardening"))

import mutations  # noqa: E402
import structure  # noqa: E402

CORRUPT, UNSAFE = "CorruptModelError", "UnsafeModelError"
GIB2_FLOATS = 2**29  # 2 GiB of float32


# --- bundle edits (both formats) ----------------------------------------------------------------------------
def _config(base) -> dict:
    return json.loads(base.metadata["nextword.config"])


def _with_config_text(base, text: str) -> bytes:
    return structure._with_metadata(base, "nextword.config", text.encode())


def _with_config(base, **changes) -> bytes:
    config = _config(base) | changes
    return _with_config_text(base, json.dumps({k: v for k, v in config.items() if v is not _DROP}))


_DROP = object()


def _with_table(base, table: str, edit) -> bytes:
    """The tokenizer with one of its JSON-in-JSON tables rewritten as text by edit(items) -> [(key, value_text)]."""
    payload = json.loads(base.metadata["nextword.tokenizer"])
    items = list(json.loads(payload["config"][table]).items())
    payload["config"][table] = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in edit(items)) + "}"
    return structure._with_metadata(base, "nextword.tokenizer", json.dumps(payload).encode())


def int_written_as_float(base) -> bytes:
    units = _config(base)["units"]
    return _with_config_text(base, json.dumps(_config(base)).replace(f'"units": {units}', f'"units": {units}.0'))


def int_written_with_exponent(base) -> bytes:
    units = _config(base)["units"]
    return _with_config_text(base, json.dumps(_config(base)).replace(f'"units": {units}', f'"units": {units / 10}e1'))


def seq_len_written_5e2(base) -> bytes:
    seq_len = _config(base)["seq_len"]
    return _with_config_text(base, json.dumps(_config(base)).replace(f'"seq_len": {seq_len}', '"seq_len": 5e2'))


def index_word_key(key: str):
    def edit(base) -> bytes:
        return _with_table(
            base, "index_word", lambda items: [(key if k == "1" else k, json.dumps(v)) for k, v in items]
        )

    return edit


def word_index_float(base) -> bytes:
    return _with_table(base, "word_index", lambda items: [(k, f"{v}.0" if v == 2 else json.dumps(v)) for k, v in items])


def config_without_layers(base) -> bytes:
    return _with_config(base, layers=_DROP)


def tied_with_other_widths(base) -> bytes:
    config = _config(base)
    return _with_config(base, tie_embeddings=True, embedding_dim=config["units"] * 2)


def seq_len_of_a_million(base) -> bytes:
    return _with_config(base, seq_len=1_000_000)


def config_nested_deep(base) -> bytes:
    """A config of 2,000 nested objects: past Python's json recursion limit (refused as "nested too deeply"), and
    past the JS scan's MAX_JSON_DEPTH."""
    return _with_config_text(base, '{"a":' * 2000 + "1" + "}" * 2000)


def config_against_graph(base) -> bytes:
    """Layers and units traded so the state stays as wide (sequence), or the units doubled (window): every port
    still matches, the graph's LSTMs do not."""
    config = _config(base)
    if config.get("kind") == "sequence":
        layers, units = config["layers"], config["units"]
        other = (1, layers * units) if layers > 1 else (2, units // 2)
        return _with_config(base, layers=other[0], units=other[1], tie_embeddings=False)
    return _with_config(base, units=config["units"] * 2)


# --- ONNX graph edits ------------------------------------------------------------------------------------------
def _onnx_append(data: bytes, graph_fields: bytes) -> bytes:
    """GraphProto fields appended to the model's graph (every enclosing length rewritten)."""
    index = mutations.index_onnx(data)
    graph = next(f for f in index.fields if f.kind == "model" and f.number == 7)
    return mutations.splice(data, graph.end, graph.end, graph_fields, (graph,))


def _onnx_int64(name: bytes, values: list[int]) -> bytes:
    """GraphProto.initializer: an int64 TensorProto of dims [len(values)] with raw data."""
    tensor = (
        mutations.varint_field(1, len(values))
        + mutations.varint_field(2, 7)
        + mutations.len_field(8, name)
        + mutations.len_field(9, struct.pack(f"<{len(values)}q", *values))
    )
    return mutations.len_field(5, tensor)


def onnx_int64_data(count: int, *, packed: bool, field: int = 7):
    """An unused initializer of dims [2] whose int64_data (field 7; 11 is uint64_data) spells out `count` values:
    packed, one field holding them all; unpacked, one field per value. Before this release the Python reader took
    58 s to accept 20 million unpacked ones (a 40 MB file), and the JS one hung past 5 minutes."""

    def edit(base) -> bytes:
        if packed:
            values = mutations.len_field(field, b"\x01" * count)
        else:
            values = mutations.varint_field(field, 1) * count
        tensor = mutations.varint_field(1, 2) + mutations.varint_field(2, 7) + mutations.len_field(8, b"hostile") + values
        return _onnx_append(base.data, mutations.len_field(5, tensor))

    return edit


def onnx_attribute_ints(count: int):
    """An attribute of `count` packed ints added to the first node: onnxruntime keeps several copies of what it
    parses, and 30 million of them (a 30 MB file) took it 810 MB before it called the model invalid."""

    def edit(base) -> bytes:
        index = mutations.index_onnx(base.data)
        node = next(f for f in index.fields if f.kind == "graph" and f.number == 1)
        graph = next(f for f in index.fields if f.kind == "model" and f.number == 7)
        attribute = mutations.len_field(1, b"perm") + mutations.len_field(8, b"\x01" * count) + mutations.varint_field(20, 7)
        return mutations.splice(base.data, node.end, node.end, mutations.len_field(5, attribute), (graph, node))

    return edit


def onnx_long_name(size: int):
    """An initializer named with `size` bytes (the exporter's longest name is 55)."""

    def edit(base) -> bytes:
        return _onnx_append(base.data, _onnx_int64(b"n" * size, [1]))

    return edit


def _onnx_node(op: bytes, inputs: list[bytes], outputs: list[bytes]) -> bytes:
    fields = [mutations.len_field(1, i) for i in inputs] + [mutations.len_field(2, o) for o in outputs]
    return mutations.len_field(1, b"".join(fields) + mutations.len_field(4, op))


def onnx_loop(base) -> bytes:
    data, _ = structure.onnx_with_loop(base.data, _Fixed(0.0, "Loop"))
    return data


def onnx_constant_of_shape(base) -> bytes:
    return _onnx_append(
        base.data,
        _onnx_int64(b"hostile_shape", [GIB2_FLOATS]) + _onnx_node(b"ConstantOfShape", [b"hostile_shape"], [b"hostile"]),
    )


def onnx_expand(base) -> bytes:
    """An Expand (on the window kind's allowlist) to 2^15 x 2^15 x 2 floats: 8 GiB from 24 bytes of constants."""
    first = next(f for f in base.index.fields if f.kind == "node" and f.number == 2 and len(f.ancestors) == 2)
    name = base.data[first.start : first.end]
    shape = _onnx_int64(b"hostile_shape", [2**15, 2**15, 2])
    return _onnx_append(base.data, shape + _onnx_node(b"Expand", [name, b"hostile_shape"], [b"hostile"]))


def onnx_chain(base) -> bytes:
    return structure.onnx_node_chain(base.data, 100_000)


def onnx_slice_end(value: int):
    """A Slice's ends constant (the exporter writes only positive ones) set to value: an end of -2 empties the rows
    it slices, which killed onnxruntime-node 1.30 with SIGFPE in the JS fuzz campaign."""

    def edit(base) -> bytes:
        fields = base.index.fields
        name = next(
            f
            for f in fields
            if f.kind == "tensor" and f.number == 8 and base.data[f.start : f.end].startswith(b"const_ends")
        )
        raw = next(f for f in fields if f.kind == "tensor" and f.number == 9 and f.ancestors == name.ancestors)
        return mutations.put(base.data, raw.start, "<q" if raw.end - raw.start >= 8 else "<i", value)

    return edit


def onnx_external_data(base) -> bytes:
    data, _ = mutations.onnx_external_data(base, _Fixed(0.0, "initializer"))
    return data


# --- TFLite graph edits ----------------------------------------------------------------------------------------
def tflite_while(base) -> bytes:
    data, _ = structure.tflite_with_control_flow(base.data, _Fixed(0.9, structure.WHILE, 0, 0))
    return data


def tflite_chain(base) -> bytes:
    return structure.tflite_operator_chain(base.data, 100_000)


def tflite_swap_to_while(base) -> bytes:
    return structure.tflite_swap_opcode(base.data, 0, structure.WHILE)


def tflite_huge_dimension(base) -> bytes:
    """The first shaped tensor's first dimension set to 10^9: a tensor of billions of elements."""
    vector = next(t["shape"] for t in base.index.tensors if t["shape"] is not None and t["shape"].count)
    return mutations.put(base.data, vector.start, "<i", 10**9)


def tflite_with_tensors(count: int, *, on_largest_buffer: bool):
    """`count` unused tensors appended: of no data, or each naming the file's largest buffer (the word table):
    before this release Python copied that buffer once per tensor (1,000 on the preset's 12.9 MB file: 7.5 GB,
    22.8 s), and 300,000 tensors (15 MB) took it 6.5 s to read."""

    def edit(base) -> bytes:
        schema = structure._schema()
        model = schema.ModelT.InitFromPackedBuf(bytearray(base.data), 0)
        sizes = [len(b.data) if b.data is not None else 0 for b in model.buffers]
        for _ in range(count):
            tensor = schema.TensorT()
            tensor.shape, tensor.type, tensor.name = [1], 0, b"hostile"
            tensor.buffer = sizes.index(max(sizes)) if on_largest_buffer else 0
            model.subgraphs[0].tensors.append(tensor)
        return structure._pack(model, len(base.data) + 48 * count)

    return edit


def tflite_shape_rank(rank: int):
    def edit(base) -> bytes:
        schema = structure._schema()
        model = schema.ModelT.InitFromPackedBuf(bytearray(base.data), 0)
        model.subgraphs[0].tensors[0].shape = [1] * rank
        return structure._pack(model, len(base.data) + 4 * rank)

    return edit


class _Fixed(random.Random):
    """A Random whose random() is `value` and whose choice() returns the given items in turn: the mutators'
    own code, with the branch each case needs."""

    def __init__(self, value: float, *choices):
        super().__init__(0)
        self.value, self.choices = value, list(choices)

    def random(self) -> float:
        return self.value

    def choice(self, seq):
        return self.choices.pop(0) if self.choices else seq[0]


# case -> (edit, the class both runtimes raise: None for the original, which loads; a dict for one per kind)
BOTH = {
    "original": (lambda base: base.data, None),
    "int-written-8.0": (int_written_as_float, CORRUPT),
    "int-written-0.8e1": (int_written_with_exponent, CORRUPT),
    "seq-len-written-5e2": (seq_len_written_5e2, CORRUPT),
    "index-word-key-01": (index_word_key("01"), CORRUPT),
    "index-word-key-plus-1": (index_word_key("+1"), CORRUPT),
    "index-word-key-space-1": (index_word_key(" 1"), CORRUPT),
    "word-index-float": (word_index_float, CORRUPT),
    "config-without-layers": (config_without_layers, CORRUPT),
    "tied-with-other-widths": (tied_with_other_widths, CORRUPT),
    "seq-len-1000000": (seq_len_of_a_million, UNSAFE),
    "config-against-graph": (config_against_graph, CORRUPT),
    "config-nested-2000-deep": (config_nested_deep, CORRUPT),
}
ONNX = {
    "loop-2-62": (onnx_loop, CORRUPT),
    "constant-of-shape-2gib": (onnx_constant_of_shape, CORRUPT),
    "expand-8gib": (onnx_expand, {"window": UNSAFE, "sequence": CORRUPT}),  # the sequence kind has no Expand
    "chain-100k-nodes": (onnx_chain, UNSAFE),
    "external-data": (onnx_external_data, UNSAFE),
    "slice-end-minus-2": (onnx_slice_end(-2), UNSAFE),
    "slice-end-minus-1": (onnx_slice_end(-1), UNSAFE),
    "int64-data-1m-values-for-2": (onnx_int64_data(1_000_000, packed=True), CORRUPT),
    "int64-data-200k-fields": (onnx_int64_data(200_000, packed=False), UNSAFE),
    "uint64-data-1m-values-for-2": (onnx_int64_data(1_000_000, packed=True, field=11), CORRUPT),
    "node-of-100k-bytes": (onnx_attribute_ints(100_000), CORRUPT),
    "attribute-of-300-ints": (onnx_attribute_ints(300), CORRUPT),
    "name-of-5000-bytes": (onnx_long_name(5000), CORRUPT),
}
TFLITE = {
    "while": (tflite_while, CORRUPT),
    "chain-100k-operators": (tflite_chain, UNSAFE),
    "operator-0-as-while": (tflite_swap_to_while, CORRUPT),
    "dimension-1e9": (tflite_huge_dimension, UNSAFE),
    "tensors-4000": (tflite_with_tensors(4_000, on_largest_buffer=False), UNSAFE),
    "1000-tensors-on-one-buffer": (tflite_with_tensors(1_000, on_largest_buffer=True), UNSAFE),
    "shape-rank-100k": (tflite_shape_rank(100_000), CORRUPT),
}


def write_hostile(models: list[Path], out: Path) -> list[dict]:
    """Write every case of every model into out/ and out/manifest.json; returns the manifest's cases."""
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    for path in models:
        data = Path(path).read_bytes()
        fmt = "tflite" if data[4:8] == b"TFL3" else "onnx"
        base = mutations.make_base(Path(path).name, data, fmt)
        kind = _config(base).get("kind", "window")
        for name, (edit, expect) in (BOTH | (ONNX if fmt == "onnx" else TFLITE)).items():
            expect = expect.get(kind) if isinstance(expect, dict) else expect
            file = f"{kind}-{name}.{fmt}"
            (out / file).write_bytes(edit(base))
            cases.append({"file": file, "kind": kind, "format": fmt, "case": name, "expect": expect})
    (out / "manifest.json").write_text(json.dumps({"cases": cases}, indent=1), encoding="utf-8")
    return cases


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__.splitlines()[2].strip())
    written = write_hostile([Path(p) for p in sys.argv[2:]], Path(sys.argv[1]))
    print(f"wrote {len(written)} hostile files to {sys.argv[1]}", file=sys.stderr)
