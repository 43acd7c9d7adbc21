"""The n-gram mix probe (export/bench/ngram_mix.py): its two ends are evaluate's own model and n-gram rows."""

import pytest
from nextword.export.bench.ngram_mix import mix_rows
from nextword.runtime import Predictor
from nextword.runtime.evaluate import evaluate


def test_the_mix_ends_reproduce_evaluates_model_and_ngram_rows(sequence_exported_dir, sequence_keras_dir):
    predictor = Predictor.load(sequence_exported_dir / "model.onnx")
    text = (sequence_keras_dir.parent / "sequence-corpus.txt").read_text(encoding="utf-8")
    report = evaluate(predictor, text, orders=(5,))
    mixed, _ = mix_rows(predictor, text, weights=(1.0, 0.5, 0.0))
    rows = {lam: (result, perplexity) for lam, result, perplexity in mixed}
    for lam, row in ((1.0, report["model"]), (0.0, report["baselines"][0])):
        result, perplexity = rows[lam]
        assert result == {key: row[key] for key in result}
        assert perplexity == pytest.approx(row["perplexity"], rel=1e-6)
    # log is concave, so an even mix's perplexity is at most the geometric mean of the two ends' (equal only if
    # the two agree everywhere): a probe that did not mix, or mixed the wrong rows, breaks it.
    assert rows[0.5][1] <= (rows[1.0][1] * rows[0.0][1]) ** 0.5
