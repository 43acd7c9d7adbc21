"""ONNX export agrees with Keras and carries its metadata; the runtime's pre-load scan refuses hostile files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nextword.runtime.errors import CorruptModelError, InputError, UnsafeModelError
from nextword.runtime.onnx_scan import scan_onnx

pytest.importorskip("tensorflow")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.slow

VOCAB = 200
METADATA = {"nextword.vocab": '["<pad>", "the", "king"]', "nextword.config": '{"seq_len": 3}', "note": "naïve ✓"}
LIMIT = 1 << 20


@pytest.fixture(scope="module")
def keras_model_and_config():
    from nextword.train.config import TrainConfig
    from nextword.train.model import build_model

    config = TrainConfig(vocab_size=VOCAB, seed=7)
    model = build_model(config)
    # Random (not freshly initialised) weights: zero biases would let a converter drop the bias adds unnoticed.
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return model, config


@pytest.fixture(scope="module")
def onnx_bytes(keras_model_and_config):
    from nextword.export.onnx import convert_to_onnx

    model, config = keras_model_and_config
    return convert_to_onnx(model, config, metadata=METADATA)


@pytest.fixture(scope="module")
def session(onnx_bytes):
    return ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])


def _tokens(batch: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCAB, size=(batch, 2), dtype=np.int32)


@pytest.mark.parametrize("batch", [1, 9])
def test_matches_keras(keras_model_and_config, session, batch):
    model, _ = keras_model_and_config
    tokens = _tokens(batch)
    expected = np.asarray(model(tokens))
    actual, top_probs, top_ids = session.run(["probs", "top_probs", "top_ids"], {"tokens": tokens})
    assert actual.shape == (batch, VOCAB)
    assert np.abs(actual - expected).max() <= 1e-5
    # the graph's TopK head ranks ids 1.. (never padding) as a stable sort of Keras' probabilities does
    want = np.argsort(-expected[:, 1:], axis=1, kind="stable")[:, :10] + 1
    np.testing.assert_array_equal(top_ids, want)
    np.testing.assert_allclose(top_probs, np.take_along_axis(expected, want, axis=1), atol=1e-5)


def test_signature_is_named_typed_and_batch_dynamic(session):
    (tokens,) = session.get_inputs()
    outputs = {o.name: (o.type, o.shape) for o in session.get_outputs()}
    assert (tokens.name, tokens.type, tokens.shape) == ("tokens", "tensor(int32)", ["batch", 2])
    assert outputs == {"probs": ("tensor(float)", ["batch", VOCAB]), "top_probs": ("tensor(float)", ["batch", 10]),
                       "top_ids": ("tensor(int32)", ["batch", 10])}


def test_graph_has_exactly_one_lstm(onnx_bytes):
    ops = [node.op_type for node in onnx.load_from_string(onnx_bytes).graph.node]
    assert ops.count("LSTM") == 1
    assert not {"Loop", "Scan"} & set(ops)  # the recurrence must not be unrolled into a loop


def test_metadata_round_trips(onnx_bytes, session):
    meta = session.get_modelmeta()
    assert meta.custom_metadata_map == METADATA
    assert meta.producer_name == "nextword"
    assert scan_onnx(onnx_bytes, max_metadata_value_bytes=LIMIT) == METADATA


def test_config_mismatch_is_refused(keras_model_and_config):
    import dataclasses

    from nextword.export.onnx import convert_to_onnx

    model, config = keras_model_and_config
    with pytest.raises(InputError, match="not the expected architecture"):
        convert_to_onnx(model, dataclasses.replace(config, vocab_size=VOCAB + 1), metadata={})


@pytest.mark.parametrize("mode,tolerance", [("dynamic", 0.05), ("float16", 1e-3)])
def test_quantized_models_run_close_to_float_and_keep_metadata(onnx_bytes, session, mode, tolerance):
    from nextword.export.onnx import quantize_onnx

    quantized = quantize_onnx(onnx_bytes, mode)
    assert len(quantized) < len(onnx_bytes)
    tokens = _tokens(64, seed=2)
    (expected,) = session.run(["probs"], {"tokens": tokens})
    small = ort.InferenceSession(quantized, providers=["CPUExecutionProvider"])
    (actual,) = small.run(["probs"], {"tokens": tokens})
    assert np.abs(actual - expected).max() <= tolerance
    assert small.get_modelmeta().custom_metadata_map == METADATA
    assert small.get_modelmeta().producer_name == "nextword"
    assert scan_onnx(quantized, max_metadata_value_bytes=LIMIT) == METADATA


def test_unknown_quantization_mode_is_refused(onnx_bytes):
    from nextword.export.onnx import quantize_onnx

    with pytest.raises(InputError, match="int4"):
        quantize_onnx(onnx_bytes, "int4")


# --- scan_onnx on hostile files ---------------------------------------------------------------

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
    proto.functions.append(onnx.helper.make_function("local", "f", [], ["c"], [node], [onnx.helper.make_opsetid("", 17)]))


@pytest.mark.parametrize("make_unsafe", [
    _with_initializer_external, _with_location_flag_only, _with_external_entries_only, _with_constant_node,
    _with_subgraph, _with_sparse_initializer, _with_function,
])
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
    # Concatenating serialized fields appends to a repeated field: a second "note" entry.
    hostile = onnx_bytes + _metadata_field(b"note", b"other")
    with pytest.raises(CorruptModelError, match="more than once"):
        scan_onnx(hostile, max_metadata_value_bytes=LIMIT)


def test_scan_refuses_non_utf8_metadata(onnx_bytes):
    with pytest.raises(CorruptModelError, match="UTF-8"):
        scan_onnx(onnx_bytes + _metadata_field(b"bad", b"\xff\xfe"), max_metadata_value_bytes=LIMIT)


def test_scan_refuses_oversize_metadata_value(onnx_bytes):
    longest = max(len(value.encode()) for value in METADATA.values())
    assert scan_onnx(onnx_bytes, max_metadata_value_bytes=longest) == METADATA
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
    code = ("import sys; import nextword.runtime.onnx_scan; "
            "bad = {'onnx', 'tensorflow', 'keras', 'tf2onnx'} & set(sys.modules); assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
