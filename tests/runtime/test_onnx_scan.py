"""The runtime's pre-load ONNX scan refuses hostile files before onnxruntime sees them.

Hostile files are the exported model with parts rewritten by the onnx package (a test tool here; the runtime
itself never imports it).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from nextword.runtime.errors import CorruptModelError, UnsafeModelError
from nextword.runtime.onnx_scan import scan_onnx

onnx = pytest.importorskip("onnx")

LIMIT = 1 << 20


@pytest.fixture(scope="module")
def onnx_bytes(exported_dir) -> bytes:
    return (exported_dir / "model.onnx").read_bytes()


@pytest.fixture(scope="module")
def metadata(onnx_bytes) -> dict[str, str]:
    return {entry.key: entry.value for entry in onnx.load_from_string(onnx_bytes).metadata_props}


def _external(tensor, location="../../etc/passwd"):
    onnx.external_data_helper.set_external_data(tensor, location, offset=0, length=len(tensor.raw_data))
    tensor.ClearField("raw_data")
    return tensor


def _raw_tensor(name="w"):
    return onnx.numpy_helper.from_array(np.ones((2, 2), np.float32), name)


def _with_initializer_external(proto):
    _external(proto.graph.initializer[0])


def _with_location_flag_only(proto):
    proto.graph.initializer[0].data_location = onnx.TensorProto.EXTERNAL


def _with_external_entries_only(proto):
    entry = proto.graph.initializer[0].external_data.add()
    entry.key, entry.value = "location", "/etc/shadow"


def _with_constant_node(proto):
    proto.graph.node.append(onnx.helper.make_node("Constant", [], ["c"], value=_external(_raw_tensor())))


def _with_subgraph(proto):
    branch = onnx.helper.make_graph([], "branch", [], [], initializer=[_external(_raw_tensor())])
    proto.graph.node.append(onnx.helper.make_node("If", ["cond"], ["out"], then_branch=branch, else_branch=branch))


def _with_sparse_initializer(proto):
    values = _external(_raw_tensor("sparse_values"))
    indices = onnx.numpy_helper.from_array(np.array([0, 1], np.int64), "sparse_indices")
    proto.graph.sparse_initializer.append(onnx.helper.make_sparse_tensor(values, indices, [2, 2]))


def _with_function(proto):
    node = onnx.helper.make_node("Constant", [], ["c"], value=_external(_raw_tensor()))
    proto.functions.append(
        onnx.helper.make_function("local", "f", [], ["c"], [node], [onnx.helper.make_opsetid("", 17)])
    )


@pytest.mark.parametrize(
    "make_unsafe",
    [
        _with_initializer_external,
        _with_location_flag_only,
        _with_external_entries_only,
        _with_constant_node,
        _with_subgraph,
        _with_sparse_initializer,
        _with_function,
    ],
)
def test_scan_refuses_external_data_anywhere(onnx_bytes, make_unsafe):
    proto = onnx.load_from_string(onnx_bytes)
    make_unsafe(proto)
    with pytest.raises(UnsafeModelError, match="external|outside"):
        scan_onnx(proto.SerializeToString(), max_metadata_value_bytes=LIMIT)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _metadata_field(key: bytes, value: bytes) -> bytes:
    return _field(14, _field(1, key) + _field(2, value))


def test_scan_refuses_duplicate_metadata_keys(onnx_bytes):
    # Concatenating serialized fields appends to a repeated field: a second "nextword.config" entry.
    hostile = onnx_bytes + _metadata_field(b"nextword.config", b"{}")
    with pytest.raises(CorruptModelError, match="more than once"):
        scan_onnx(hostile, max_metadata_value_bytes=LIMIT)


def test_scan_refuses_non_utf8_metadata(onnx_bytes):
    with pytest.raises(CorruptModelError, match="UTF-8"):
        scan_onnx(onnx_bytes + _metadata_field(b"bad", b"\xff\xfe"), max_metadata_value_bytes=LIMIT)


def test_scan_refuses_oversize_metadata_value(onnx_bytes, metadata):
    longest = max(len(value.encode()) for value in metadata.values())
    assert scan_onnx(onnx_bytes, max_metadata_value_bytes=longest) == metadata
    with pytest.raises(UnsafeModelError, match="more than"):
        scan_onnx(onnx_bytes, max_metadata_value_bytes=longest - 1)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -1])
def test_scan_refuses_truncated_file(onnx_bytes, keep):
    cut = len(onnx_bytes) - 1 if keep == -1 else int(len(onnx_bytes) * keep)
    with pytest.raises(CorruptModelError):
        scan_onnx(onnx_bytes[:cut], max_metadata_value_bytes=LIMIT)


@pytest.mark.parametrize("seed", range(5))
def test_scan_refuses_random_bytes(seed):
    garbage = np.random.default_rng(seed).bytes(4096)
    with pytest.raises(CorruptModelError):
        scan_onnx(garbage, max_metadata_value_bytes=LIMIT)


def test_scan_refuses_model_without_graph():
    with pytest.raises(CorruptModelError, match="no graph"):
        scan_onnx(onnx.ModelProto(ir_version=8).SerializeToString(), max_metadata_value_bytes=LIMIT)


def test_scan_refuses_wrong_wire_type_for_graph():
    ir_version_8 = b"\x08\x08"
    graph_as_varint = _varint(7 << 3 | 0) + b"\x01"
    with pytest.raises(CorruptModelError, match="wire type"):
        scan_onnx(ir_version_8 + graph_as_varint, max_metadata_value_bytes=LIMIT)


def test_scan_refuses_deep_nesting_without_recursion_error():
    # graph -> node -> attribute(g) -> graph -> ... thousands of levels: a well-formed but hostile file.
    inner = b""
    for _ in range(3000):
        inner = _field(1, _field(5, _field(6, inner)))  # graph.node / node.attribute / attribute.g
    hostile = b"\x08\x08" + _field(7, inner)
    with pytest.raises(CorruptModelError, match="deeper"):
        scan_onnx(hostile, max_metadata_value_bytes=LIMIT)


def test_scan_accepts_minimal_model_with_legit_subgraph():
    branch = onnx.helper.make_graph([], "branch", [], [], initializer=[_raw_tensor()])
    node = onnx.helper.make_node("If", ["cond"], ["out"], then_branch=branch, else_branch=branch)
    graph = onnx.helper.make_graph([node], "g", [], [], initializer=[_raw_tensor("top")])
    model = onnx.helper.make_model(graph)
    onnx.helper.set_model_props(model, {"k": "v"})
    assert scan_onnx(model.SerializeToString(), max_metadata_value_bytes=LIMIT) == {"k": "v"}


def test_scan_module_needs_no_onnx_or_tensorflow():
    code = (
        "import sys; import nextword.runtime.onnx_scan; "
        "bad = {'onnx', 'tensorflow', 'keras', 'tf2onnx'} & set(sys.modules); assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
