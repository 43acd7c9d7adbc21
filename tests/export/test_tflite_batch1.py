"""The batch-1 TFLite variant (`export --tflite-batch1`), for engines that cannot resize inputs (LiteRT.js):
validated like every file, and the Python runtime runs it with any batch, one row per engine call."""

from __future__ import annotations

import json

import numpy as np
import pytest
from nextword.runtime import InputError, Predictor

pytest.importorskip("ai_edge_litert")

TEXTS = ["the value of", "a list of", "", "zzyzx qqq the", "of"] * 60  # 300: more than one 256-text chunk


@pytest.fixture(scope="module")
def batch1_pair(exported_dir):
    from nextword.export.tflite import fix_batch

    dynamic = (exported_dir / "model.tflite").read_bytes()
    return Predictor.from_bytes(fix_batch(dynamic), source="model.batch1.tflite"), Predictor.from_bytes(dynamic)


def test_fixed_batch_graph_gives_the_dynamic_graphs_answers(batch1_pair):
    fixed, dynamic = batch1_pair
    assert fixed.backend.input_shape[0] == 1 and dynamic.backend.input_shape[0] == -1
    assert fixed.predict_next("the value of", k=5) == dynamic.predict_next("the value of", k=5)
    assert fixed.predict_next_batch(TEXTS, k=5) == dynamic.predict_next_batch(TEXTS, k=5)
    assert fixed.predict_next_batch(TEXTS[:7], k=30) == dynamic.predict_next_batch(TEXTS[:7], k=30)  # from probs
    contexts = np.stack([fixed.encode(t)[0] for t in TEXTS[:9]])
    np.testing.assert_array_equal(fixed.probabilities(contexts), dynamic.probabilities(contexts))
    assert fixed.generate("the value of", n_words=10) == dynamic.generate("the value of", n_words=10)


def test_only_batch_1_can_be_fixed(exported_dir):
    from nextword.export.tflite import fix_batch

    with pytest.raises(InputError, match="batch of 1"):
        fix_batch((exported_dir / "model.tflite").read_bytes(), 2)


def test_export_writes_and_validates_the_batch1_file(trained_dir, trained_corpus, tmp_path):
    from nextword.export.pipeline import ExportOptions, export

    options = ExportOptions(formats=("tflite",), tflite_batch1=True, corpus=str(trained_corpus))
    manifest = export(trained_dir, tmp_path / "out", options, log=lambda *_: None)
    assert set(manifest["files"]) == {"model.tflite", "model.batch1.tflite"}
    rows = [r for r in manifest["validation"] if r["file"] == "model.batch1.tflite"]
    assert {r["inputs"] for r in rows} >= {"held-out", "batch-256"} and all(r["passed"] for r in rows)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["files"] == manifest["files"]
    assert Predictor.load(tmp_path / "out" / "model.batch1.tflite").backend.input_shape[0] == 1


def test_batch1_needs_the_tflite_format():
    from nextword.export.pipeline import ExportOptions

    with pytest.raises(InputError, match="tflite"):
        ExportOptions(formats=("onnx",), tflite_batch1=True)


def test_fixed_batch_sequence_graph_gives_the_dynamic_graphs_answers(sequence_exported_dir):
    from nextword.export.tflite import fix_batch

    dynamic_bytes = (sequence_exported_dir / "model.tflite").read_bytes()
    fixed, dynamic = Predictor.from_bytes(fix_batch(dynamic_bytes)), Predictor.from_bytes(dynamic_bytes)
    assert fixed.backend.input_shape[0] == 1 and fixed.backend.roles.state.shape[0] == 1
    assert fixed.predict_next_batch(TEXTS, k=5) == dynamic.predict_next_batch(TEXTS, k=5)  # a row per call
    session, reference = fixed.session(), dynamic.session()
    for word in ("the", "value", "of"):
        session.feed(word)
        reference.feed(word)
        assert session.predict(k=20) == reference.predict(k=20)
    assert session.generate(6) == reference.generate(6)
