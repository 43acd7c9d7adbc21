"""ONNX export agrees with Keras and carries its metadata (hostile files: tests/runtime/test_onnx_scan.py)."""

from __future__ import annotations

import numpy as np
import pytest
from nextword.runtime.errors import InputError
from nextword.runtime.onnx_scan import scan_onnx

pytest.importorskip("tensorflow")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


VOCAB = 200
METADATA = {"nextword.vocab": '["<pad>", "the", "king"]', "nextword.config": '{"seq_len": 3}', "note": "naïve ✓"}
LIMIT = 1 << 20


@pytest.fixture(scope="module")
def keras_model_and_config():
    from nextword.runtime.config import TrainConfig
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
    assert outputs == {
        "probs": ("tensor(float)", ["batch", VOCAB]),
        "top_probs": ("tensor(float)", ["batch", 10]),
        "top_ids": ("tensor(int32)", ["batch", 10]),
    }


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
