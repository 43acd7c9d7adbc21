"""Every training path scores its held-out tail with the runtime's own evaluation (train/held_out.py), so the
epoch kept reports what `nextword evaluate` then measures on the exported file."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")


def test_the_kept_epochs_held_out_scores_are_what_evaluate_reports(kind_model):
    from nextword.runtime.evaluate import evaluate
    from nextword.runtime.predictor import Predictor

    _, train_dir, export_dir, corpus = kind_model
    history = json.loads((train_dir / "history.json").read_text(encoding="utf-8"))
    kept = history["kept_epoch"] - 1
    report = evaluate(Predictor.load(export_dir / "model.onnx"), corpus.read_text(encoding="utf-8"), orders=(2,))
    model = report["model"]
    np.testing.assert_allclose(history["val_loss"][kept], np.log(model["perplexity"]), rtol=1e-4)
    # float32 Keras against float32 ONNX: a rank may flip where two words are all but equally likely.
    assert history["val_accuracy"][kept] == pytest.approx(model["top1"], abs=2 / report["windows"])
    assert history["val_top5"][kept] == pytest.approx(model["top5"], abs=2 / report["windows"])
