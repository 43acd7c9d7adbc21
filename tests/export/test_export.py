"""The export stage end to end: files, bundled metadata, manifest, validation that fails the export, bad inputs."""

import hashlib
import json
import shutil

import numpy as np
import pytest
from nextword.runtime.cli import main

pytest.importorskip("tf2onnx")
pytest.importorskip("ai_edge_litert")


def test_export_writes_both_formats_and_a_manifest(exported_dir):
    names = {p.name for p in exported_dir.iterdir()}
    assert names == {"model.onnx", "model.tflite", "manifest.json"}
    manifest = json.loads((exported_dir / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        data = (exported_dir / name).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert manifest["format_version"] == 2 and manifest["opset"] == 17
    assert all(
        manifest["versions"][pkg] for pkg in ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert")
    )
    rows = manifest["validation"]
    assert {(r["file"], r["inputs"]) for r in rows} >= {("model.onnx", "held-out"), ("model.tflite", "batch-256")}
    assert all(r["passed"] and r["max_abs_diff"] <= 1e-5 for r in rows)
    held_out = [r for r in rows if r["inputs"] == "held-out"]
    assert all(r["windows"] >= 1000 for r in held_out)


def test_vocabulary_is_bundled_in_each_file(exported_dir, trained_dir):
    import onnxruntime as ort
    from nextword.export.tflite import tflite_op_names
    from nextword.runtime.contract import KEY_CONFIG, KEY_FORMAT_VERSION, KEY_TOKENIZER
    from nextword.runtime.tflite_metadata import read_metadata

    tokenizer_json = (trained_dir / "tokenizer.json").read_text()
    session = ort.InferenceSession(str(exported_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    onnx_meta = session.get_modelmeta().custom_metadata_map
    assert onnx_meta[KEY_TOKENIZER] == tokenizer_json and onnx_meta[KEY_FORMAT_VERSION] == "2"
    tflite_bytes = (exported_dir / "model.tflite").read_bytes()
    tflite_meta = read_metadata(tflite_bytes, max_value_bytes=1 << 26)
    assert tflite_meta[KEY_TOKENIZER].decode() == tokenizer_json
    assert json.loads(tflite_meta[KEY_CONFIG]) == json.loads((trained_dir / "config.json").read_text())
    assert "min_runtime_version" in tflite_meta  # the converter's own entries are kept
    ops = tflite_op_names(tflite_bytes)
    assert not [
        op for op in ops if "FLEX" in op.upper() or op.startswith("CUSTOM") or "VARIABLE" in op or op == "VAR_HANDLE"
    ]


def test_golden_same_text_same_top5_in_keras_onnx_and_tflite(exported_dir, trained_model):
    """llama2.c's habit: one prompt through every implementation, the same answer."""
    from nextword.runtime import Predictor

    onnx, tflite = Predictor.load(exported_dir / "model.onnx"), Predictor.load(exported_dir / "model.tflite")
    for text in ("the value of the", "return a new", "if the object is", "a list of"):
        context, _ = onnx.encode(text)
        probs = np.asarray(trained_model(context[None, :]))[0]
        keras_top5 = [onnx.vocabulary[i] for i in np.argsort(-probs[1:], kind="stable")[:5] + 1]
        assert [w for w, _ in onnx.predict_next(text, k=5)] == keras_top5
        assert [w for w, _ in tflite.predict_next(text, k=5)] == keras_top5


def export_cli(capsys, *argv):
    code = main(["export", *map(str, argv)])
    return code, capsys.readouterr()


def test_failed_validation_exits_1_and_keeps_previous_export(capsys, monkeypatch, trained_dir, exported_dir, tmp_path):
    from nextword.export import validate

    out = tmp_path / "out"
    shutil.copytree(exported_dir, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(validate, "FLOAT_ATOL", -1.0)  # nothing can pass: every row must fail, and be reported
    code, captured = export_cli(capsys, trained_dir, "--out", out, "--force", "--formats", "onnx")
    assert code == 1
    assert "validation failed" in captured.err and "max abs diff" in captured.err
    assert captured.out.count("FAIL") == 6  # every failure collected in the table before failing
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    fresh = tmp_path / "fresh"
    code, _ = export_cli(capsys, trained_dir, "--out", fresh, "--formats", "onnx")
    assert code == 1 and not fresh.exists()


def test_quantized_variants_are_validated_and_reported(capsys, trained_dir, tmp_path):
    out = tmp_path / "q"
    code, captured = export_cli(capsys, trained_dir, "--out", out, "--quantize", "float16")
    assert code == 0, captured.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.onnx", "model.tflite", "model.float16.onnx", "model.float16.tflite"}
    quantized = [r for r in manifest["validation"] if ".float16." in r["file"]]
    assert quantized and all(r["top1_agreement"] >= 0.99 and r["mean_kl"] < 1e-2 for r in quantized)
    from nextword.runtime import Predictor

    assert len(Predictor.load(out / "model.float16.tflite").predict_next("the value of", k=3)) == 3


def break_dir(trained_dir, tmp_path, edit):
    broken = tmp_path / "broken"
    shutil.copytree(trained_dir, broken)
    edit(broken)
    return broken


def edit_json(path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def wrong_architecture(folder):
    import keras

    config = json.loads((folder / "config.json").read_text())
    tokens = keras.Input(shape=(2,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(config["vocab_size"], 8)(tokens)
    x = keras.layers.GRU(8)(x)
    probs = keras.layers.Dense(config["vocab_size"], activation="softmax")(x)
    keras.Model(tokens, probs).save(folder / "model.keras")


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: (d / "model.keras").unlink(), "has no model.keras"),
        (lambda d: (d / "config.json").unlink(), "has no config.json"),
        (lambda d: edit_json(d / "config.json", version=99), "config version 99 is not supported"),
        (lambda d: edit_json(d / "config.json", vocab_size=7), "tokenizer.json has a vocabulary of"),
        (lambda d: (d / "tokenizer.json").write_text("{not json"), "tokenizer"),
        (lambda d: (d / "model.keras").write_bytes(b"PK\x03\x04 not a real archive"), "cannot load"),
        (wrong_architecture, "not the expected architecture"),
    ],
)
def test_bad_training_dir_exits_2_and_writes_nothing(capsys, trained_dir, tmp_path, edit, message):
    broken = break_dir(trained_dir, tmp_path, edit)
    out = tmp_path / "out"
    code, captured = export_cli(capsys, broken, "--out", out)
    assert code == 2, captured.err
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert not out.exists()


def test_wrong_corpus_is_refused(capsys, trained_dir, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("a different text entirely " * 50)
    code, captured = export_cli(capsys, trained_dir, "--out", tmp_path / "out", "--corpus", other)
    assert code == 2 and "not the text this model was trained on" in captured.err


@pytest.mark.parametrize(
    "flag,value,message",
    [
        ("--formats", "onnx,coreml", "unknown format coreml"),
        ("--opset", "3", "opset 3 is outside"),
    ],
)
def test_bad_export_options(capsys, trained_dir, tmp_path, flag, value, message):
    code, captured = export_cli(capsys, trained_dir, "--out", tmp_path / "out", flag, value)
    assert code == 2 and message in captured.err
