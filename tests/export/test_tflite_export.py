"""TFLite export: builtin ops only, named dynamic-batch I/O, Keras parity, metadata in and out."""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter
from conftest import repack_tflite
from nextword.export.tflite import FORBIDDEN_BUILTINS, convert_to_tflite, embed_metadata, tflite_op_names
from nextword.runtime.config import TrainConfig
from nextword.runtime.errors import InputError
from nextword.runtime.tflite_metadata import read_metadata
from nextword.train.model import build_model

VOCAB = 300  # big enough that dynamic-range quantization has weights over its 1024-element floor
CONFIG = TrainConfig(vocab_size=VOCAB, seed=3)
VOCAB_BLOB = "\n".join(f"word{i}" for i in range(VOCAB)).encode()
LIMIT = 1 << 20


@pytest.fixture(scope="module")
def random_keras_model():
    model = build_model(CONFIG)
    # Glorot-initialized weights give near-uniform softmax rows, where a broken export would
    # still land within 1e-5; unit-variance weights make the outputs peaked and input-dependent.
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(0.0, 1.0, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def windows():
    return np.random.default_rng(11).integers(0, VOCAB, size=(7, CONFIG.context_len)).astype(np.int32)


@pytest.fixture(scope="module")
def expected(random_keras_model, windows):
    probs = np.asarray(random_keras_model(windows))
    assert probs.max() > 0.1 and np.abs(probs[0] - probs[1]).max() > 0.01, "test model is too flat to catch errors"
    return probs


@pytest.fixture(scope="module")
def tflite_bytes(random_keras_model):
    return convert_to_tflite(random_keras_model, CONFIG)


@pytest.fixture(scope="module")
def with_metadata(tflite_bytes):
    return embed_metadata(tflite_bytes, {"nextword.vocab": VOCAB_BLOB, "nextword.config": CONFIG.to_json().encode()})


def run(model_bytes: bytes, windows: np.ndarray) -> np.ndarray:
    interpreter = Interpreter(model_content=model_bytes)
    input_index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(input_index, list(windows.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(input_index, windows)
    interpreter.invoke()
    probs = [d for d in interpreter.get_output_details() if d["name"] == "probs"]
    return interpreter.get_tensor(probs[0]["index"])


# --- conversion -------------------------------------------------------------------------------


def test_batch_of_one_matches_keras_call_after_call(tflite_bytes, windows, expected):
    interpreter = Interpreter(model_content=tflite_bytes)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    # One interpreter for all rows: a stateful export would drift from the second call on.
    for row, want in zip(windows, expected):
        interpreter.set_tensor(input_index, row[None, :])
        interpreter.invoke()
        assert np.abs(interpreter.get_tensor(output_index)[0] - want).max() <= 1e-5


def test_batch_of_seven_matches_keras(tflite_bytes, windows, expected):
    got = run(tflite_bytes, windows)
    assert got.shape == (7, VOCAB)
    assert np.abs(got - expected).max() <= 1e-5


def test_only_builtin_ops_without_variables(tflite_bytes):
    ops = tflite_op_names(tflite_bytes)
    assert "FULLY_CONNECTED" in ops and "SOFTMAX" in ops
    assert not [op for op in ops if op.startswith("CUSTOM:") or op in FORBIDDEN_BUILTINS]


def test_op_names_report_custom_ops(tflite_bytes):
    def make_first_op_flex(model):
        code = model.operatorCodes[model.subgraphs[0].operators[0].opcodeIndex]
        code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
        code.customCode = "FlexMatMul"

    assert tflite_op_names(repack_tflite(tflite_bytes, make_first_op_flex))[0] == "CUSTOM:FlexMatMul"


def test_io_is_named_typed_and_batch_dynamic(tflite_bytes):
    interpreter = Interpreter(model_content=tflite_bytes)
    assert interpreter.get_signature_list() == {
        "serving_default": {"inputs": ["tokens"], "outputs": ["probs", "top_ids", "top_probs"]}
    }
    described = sorted(
        (d["name"], d["dtype"], list(d["shape_signature"]))
        for d in (*interpreter.get_input_details(), *interpreter.get_output_details())
    )
    assert described == [
        ("probs", np.float32, [-1, VOCAB]),
        ("tokens", np.int32, [-1, CONFIG.context_len]),
        ("top_ids", np.int32, [-1, 10]),
        ("top_probs", np.float32, [-1, 10]),
    ]


@pytest.mark.parametrize("mode, tolerance", [("dynamic", 0.05), ("float16", 0.01)])
def test_quantized_variants_run_close_to_keras(random_keras_model, tflite_bytes, windows, expected, mode, tolerance):
    quantized = convert_to_tflite(random_keras_model, CONFIG, quantize=mode)
    assert len(quantized) < 0.8 * len(tflite_bytes)
    assert not [op for op in tflite_op_names(quantized) if op.startswith("CUSTOM:") or op in FORBIDDEN_BUILTINS]
    interpreter = Interpreter(model_content=quantized)
    assert [d["dtype"] for d in interpreter.get_input_details()] == [np.int32]
    assert sorted(d["dtype"].__name__ for d in interpreter.get_output_details()) == ["float32", "float32", "int32"]
    assert np.abs(run(quantized, windows) - expected).max() <= tolerance


def test_refuses_unknown_quantize_mode(random_keras_model):
    with pytest.raises(InputError, match="quantize"):
        convert_to_tflite(random_keras_model, CONFIG, quantize="int4")


def test_refuses_config_that_does_not_match_model(random_keras_model):
    with pytest.raises(InputError, match="not the expected architecture"):
        convert_to_tflite(random_keras_model, TrainConfig(vocab_size=VOCAB + 1))


# --- embedding metadata -----------------------------------------------------------------------


def test_metadata_round_trips_and_keeps_converter_entries(tflite_bytes, with_metadata):
    original = read_metadata(tflite_bytes, max_value_bytes=LIMIT)
    assert {"min_runtime_version", "CONVERSION_METADATA"} <= set(original)
    found = read_metadata(with_metadata, max_value_bytes=LIMIT)
    assert found["nextword.vocab"] == VOCAB_BLOB
    assert found["nextword.config"] == CONFIG.to_json().encode()
    assert {name: found[name] for name in original} == original


def test_reader_agrees_with_generated_schema(with_metadata):
    model = schema.ModelT.InitFromPackedBuf(bytearray(with_metadata), 0)
    by_schema = {item.name.decode(): model.buffers[item.buffer].data.tobytes() for item in model.metadata}
    assert read_metadata(with_metadata, max_value_bytes=LIMIT) == by_schema


def test_model_with_metadata_still_runs_and_stays_aligned(with_metadata, windows, expected):
    assert with_metadata[4:8] == b"TFL3"
    assert np.abs(run(with_metadata, windows) - expected).max() <= 1e-5
    model = schema.Model.GetRootAs(with_metadata)
    starts = []
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        if buffer.DataLength():
            starts.append(buffer._tab.Vector(buffer._tab.Offset(4)))
    assert starts and all(start % 16 == 0 for start in starts)


@pytest.mark.parametrize("name", ["TFLITE_METADATA", "min_runtime_version", "nextword.vocab"])
def test_embed_refuses_reserved_and_existing_names(with_metadata, name):
    with pytest.raises(ValueError, match=name):
        embed_metadata(with_metadata, {name: b"x"})


def test_embed_refuses_data_stored_outside_the_flatbuffer(tflite_bytes):
    def move_largest_buffer_out(model):
        largest = max(model.buffers, key=lambda b: 0 if b.data is None else len(b.data))
        largest.offset, largest.size, largest.data = len(tflite_bytes), len(largest.data), None

    with pytest.raises(InputError, match="outside the flatbuffer"):
        embed_metadata(repack_tflite(tflite_bytes, move_largest_buffer_out), {"nextword.vocab": b"x"})
