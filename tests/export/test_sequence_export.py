"""The sequence kind through export: a step graph with explicit state, validated against Keras' full-sequence
outputs at every position, in both formats; control flow never appears; a mismatch fails the export."""

import json

import numpy as np
import onnx
import pytest
from nextword.runtime import ValidationError
from nextword.runtime.contract import KEY_CONFIG, KEY_FORMAT_VERSION, START_ID

pytest.importorskip("tf2onnx")
pytest.importorskip("ai_edge_litert")


def test_validation_covers_steps_chunks_reset_and_batches(sequence_exported_dir):
    manifest = json.loads((sequence_exported_dir / "manifest.json").read_text())
    rows = {(r["file"], r["inputs"]): r for r in manifest["validation"]}
    assert set(rows) == {
        ("model.onnx", "steps-of-1"),
        ("model.onnx", "chunks"),  # ONNX takes any n; the TFLite graph takes 1 id per call
        ("model.onnx", "reset"),
        ("model.onnx", "batch-8"),
        ("model.tflite", "steps-of-1"),
        ("model.tflite", "reset"),
        ("model.tflite", "batch-8"),
    }
    assert all(r["passed"] and r["max_abs_diff"] <= 1e-5 and r["top1_agreement"] == 1.0 for r in rows.values())
    assert rows[("model.onnx", "steps-of-1")]["windows"] >= 1000 and rows[("model.onnx", "chunks")]["windows"] > 50
    assert manifest["format_version"] == 2 and manifest["config"]["kind"] == "sequence"


def test_graphs_have_state_io_and_no_control_flow(sequence_exported_dir):
    from nextword.export.onnx import onnx_op_types
    from nextword.export.tflite import tflite_op_names

    proto = onnx.load(sequence_exported_dir / "model.onnx")
    ops = onnx_op_types(proto)
    assert "LSTM" in ops and not {"Loop", "Scan", "If"} & set(ops)
    dims = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in (*proto.graph.input, *proto.graph.output)
    }
    config = json.loads({e.key: e.value for e in proto.metadata_props}[KEY_CONFIG])
    state = 2 * config["layers"] * config["units"]
    assert dims == {
        "tokens": ["batch", "n"],
        "state": ["batch", state],
        "probs": ["batch", config["vocab_size"]],
        "top_probs": ["batch", 10],
        "top_ids": ["batch", 10],
        "state_out": ["batch", state],
    }
    assert {e.key: e.value for e in proto.metadata_props}[KEY_FORMAT_VERSION] == "2"
    tflite_ops = set(tflite_op_names((sequence_exported_dir / "model.tflite").read_bytes()))
    assert not {op for op in tflite_ops if op.startswith("CUSTOM") or op in ("WHILE", "IF", "CALL", "VAR_HANDLE")}
    assert {"FULLY_CONNECTED", "TANH", "LOGISTIC", "TOPK_V2", "CONCATENATION"} <= tflite_ops


def test_float16_variants_pass_the_top1_gate(sequence_keras_dir, tmp_path):
    from nextword.export.pipeline import ExportOptions, export

    manifest = export(sequence_keras_dir, tmp_path / "out", ExportOptions(quantize="float16"), log=lambda *_: None)
    quantized = [r for r in manifest["validation"] if ".float16." in r["file"]]
    assert {r["inputs"] for r in quantized} >= {"steps-of-1", "reset", "batch-8"}
    assert all(r["passed"] and r["top1_agreement"] >= 0.99 for r in quantized)
    sizes = {name: entry["bytes"] for name, entry in manifest["files"].items()}
    assert sizes["model.float16.onnx"] < sizes["model.onnx"] and sizes["model.float16.tflite"] < sizes["model.tflite"]


class DriftingState:
    """A backend whose state drifts a little each step: one step looks right, a stream does not."""

    def __init__(self, backend):
        self.backend, self.roles, self.input_shape = backend, backend.roles, backend.input_shape

    def step(self, ids, state, *, full=False):
        top_probs, top_ids, state_out, probs = self.backend.step(ids, state, full=full)
        return top_probs, top_ids, state_out * 1.01, probs


def validation_arguments(sequence_exported_dir, sequence_keras_dir):
    """The ONNX file's backend, and compare_sequence's inputs with Keras' outputs for them, as export makes them."""
    from nextword.export.pipeline import keras_sequence_probs, runtime_backend, sequence_validation_inputs
    from nextword.runtime.corpus import load_corpus
    from nextword.train.folder import load_training_dir

    trained = load_training_dir(sequence_keras_dir)
    corpus = load_corpus(sequence_keras_dir.parent / "sequence-corpus.txt")
    inputs = sequence_validation_inputs(trained, corpus)
    expected = {name: keras_sequence_probs(trained.model, ids) for name, ids in inputs.items()}
    assert inputs["held-out"][0, 0] == START_ID and inputs["held-out"].shape[1] >= 1001
    backend = runtime_backend((sequence_exported_dir / "model.onnx").read_bytes(), "model.onnx")
    return backend, (inputs["held-out"][0], expected["held-out"][0], inputs["edges"], expected["edges"])


def test_a_state_mismatch_fails_validation(sequence_exported_dir, sequence_keras_dir):
    from nextword.export.validate import raise_on_failures
    from nextword.export.validate_sequence import compare_sequence

    backend, args = validation_arguments(sequence_exported_dir, sequence_keras_dir)
    good = compare_sequence("model.onnx", backend, *args, quantized=False)
    assert all(r.passed for r in good)
    bad = compare_sequence("model.onnx", DriftingState(backend), *args, quantized=False)
    assert {r.inputs for r in bad if not r.passed} >= {"steps-of-1", "chunks", "reset"}
    with pytest.raises(ValidationError, match="max abs diff"):
        raise_on_failures(bad, allow_accuracy_loss=False, quantized_files=set())


def test_golden_same_text_same_top5_in_keras_onnx_and_tflite(sequence_exported_dir, sequence_keras_dir):
    from nextword.runtime import Predictor
    from nextword.train.folder import load_training_dir

    trained = load_training_dir(sequence_keras_dir)
    onnx_p, tflite_p = (Predictor.load(sequence_exported_dir / f"model.{f}") for f in ("onnx", "tflite"))
    for text in ("the value of the", "return a new", "if the object is", "a list of", ""):
        ids, _ = trained.tokenizer.encode_words(text)
        probs = np.asarray(trained.model(np.array([[START_ID, *ids]], np.int32), training=False))[0, -1]
        want = (np.argsort(-probs[1:], kind="stable")[:5] + 1).tolist()
        for p in (onnx_p, tflite_p):
            got = [p.tokenizer.word_index[w] for w, _ in p.predict_next(text, k=5)]
            assert got == want, (p.source, text)


def test_tied_embeddings_train_reload_and_export_as_plain_graphs(tmp_path, embedded_text):
    """The sequence preset ties its softmax to the embedding table and drops recurrent weights: the training
    folder reloads in safe mode, the architecture check knows both layers, and both exports match Keras at every
    position."""
    from conftest import tiny_sequence_config
    from nextword.export.pipeline import export
    from nextword.runtime.corpus import load_corpus
    from nextword.train.fit import train
    from nextword.train.folder import load_training_dir

    corpus = tmp_path / "c.txt"
    corpus.write_text(" ".join(embedded_text.split()[:8000]), encoding="utf-8")
    import dataclasses

    config = dataclasses.replace(
        tiny_sequence_config(),
        layers=1,
        tie_embeddings=True,
        embedding_dropout=0.3,
        dropout=0.4,
        weight_drop=0.5,
        lr_decay=0.5,
    )
    train(load_corpus(corpus), config, tmp_path / "t", verbose=0)
    trained = load_training_dir(tmp_path / "t")
    assert type(trained.model.get_layer("embedding")).__name__ == "TiedEmbedding"
    assert "probs" not in {layer.name for layer in trained.model.layers}
    assert trained.model.get_layer("lstm_1").weight_drop == 0.5
    manifest = export(tmp_path / "t", tmp_path / "e", log=lambda *_: None)
    assert sorted(manifest["files"]) == ["model.onnx", "model.tflite"]
    assert manifest["validation"] and all(row["passed"] for row in manifest["validation"])
    import onnx

    # The table is stored once: Gather reads it as E, and the softmax's Gemm reads it as E^T (transB).
    proto = onnx.load(tmp_path / "e" / "model.onnx")
    table_shape = sorted([trained.config.vocab_size, trained.config.embedding_dim])
    assert [sorted(t.dims) for t in proto.graph.initializer].count(table_shape) == 1
    assert [(n.op_type, n.attribute[0].i) for n in proto.graph.node if n.op_type == "Gemm"] == [("Gemm", 1)]


def test_a_tied_model_wider_than_its_table_projects_before_the_softmax(tmp_path, embedded_text):
    """units != embedding_dim with tied tables: a linear projection (units -> embedding_dim) reads the last LSTM,
    training reloads it, both exports match Keras at every position and the runtime suggests from them."""
    import dataclasses

    from conftest import tiny_sequence_config
    from nextword.export.pipeline import export
    from nextword.runtime import Predictor
    from nextword.runtime.corpus import load_corpus
    from nextword.train.fit import train
    from nextword.train.folder import load_training_dir

    corpus = tmp_path / "c.txt"
    corpus.write_text(" ".join(embedded_text.split()[:8000]), encoding="utf-8")
    config = dataclasses.replace(tiny_sequence_config(), layers=1, embedding_dim=12, units=20, tie_embeddings=True)
    train(load_corpus(corpus), config, tmp_path / "t", verbose=0)
    trained = load_training_dir(tmp_path / "t")
    assert trained.model.get_layer("projection").get_weights()[0].shape == (20, 12)
    manifest = export(tmp_path / "t", tmp_path / "e", log=lambda *_: None)
    assert manifest["validation"] and all(row["passed"] for row in manifest["validation"])
    for name in ("model.onnx", "model.tflite"):
        predictor = Predictor.load(tmp_path / "e" / name)
        assert predictor.bundle.config.units == 20 and predictor.bundle.config.projects
        assert len(predictor.suggest("the ", k=3)) == 3


def test_a_tied_config_refuses_an_untied_model(sequence_keras_dir):
    import dataclasses

    from nextword.runtime.errors import InputError
    from nextword.train.folder import check_architecture, load_training_dir

    trained = load_training_dir(sequence_keras_dir)
    tied = dataclasses.replace(trained.config, tie_embeddings=True, units=trained.config.embedding_dim)
    with pytest.raises(InputError, match="sequence architecture"):
        check_architecture(trained.model, tied)


class StaleAfterFirstStream:
    """A backend that, once it has run a stream, ignores a zero state: a file whose state survives a reset."""

    def __init__(self, backend):
        self.backend, self.roles, self.input_shape = backend, backend.roles, backend.input_shape
        self.last, self.ran = None, False

    def step(self, ids, state, *, full=False):
        if self.ran and not state.any() and self.last is not None and len(state) == len(self.last):
            state = self.last
        top_probs, top_ids, self.last, probs = self.backend.step(ids, state, full=full)
        if ids.shape[1] == 1 and self.last is not None:
            self.ran = True
        return top_probs, top_ids, self.last, probs


def test_a_quantized_reset_must_reproduce_the_files_own_fresh_start(sequence_exported_dir, sequence_keras_dir):
    """A quantized file's reset is compared with its own first run, exactly: a reset that is a fresh start passes
    with identical figures, one that keeps the old state fails, although both would be near Keras' top-1."""
    from nextword.export.validate_sequence import compare_sequence

    backend, args = validation_arguments(sequence_exported_dir, sequence_keras_dir)
    good = {r.inputs: r for r in compare_sequence("model.onnx", backend, *args, quantized=True)}
    assert good["reset"].passed and good["reset"].max_abs_diff == 0.0 and good["reset"].top1_agreement == 1.0
    stale = {r.inputs: r for r in compare_sequence("model.onnx", StaleAfterFirstStream(backend), *args, quantized=True)}
    assert not stale["reset"].passed and any("max abs diff" in f for f in stale["reset"].failures)
