"""The shared hostile set (runtime/js/test/make_hostile.py) through the Python loader: every file refused with the
class its manifest names, before an engine sees it, and every original loaded. runtime/js/test/hostile.test.js
asserts the same of the JS loader on the same files (written by make_fixtures.sh)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from nextword.runtime import errors, predictor
from nextword.runtime.predictor import Predictor

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "runtime" / "js" / "test" / "make_hostile.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_hostile", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, exported_dir, sequence_exported_dir) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("hostile")
    models = [folder / f"model.{fmt}" for folder in (exported_dir, sequence_exported_dir) for fmt in ("onnx", "tflite")]
    return out, load_generator().write_hostile(models, out)


def test_the_set_covers_both_kinds_formats_and_the_issue_cases(hostile):
    _, cases = hostile
    pairs = {(k, f) for k in ("window", "sequence") for f in ("onnx", "tflite")}
    assert {(c["kind"], c["format"]) for c in cases} == pairs
    names = {c["case"] for c in cases}
    assert {"loop-2-62", "constant-of-shape-2gib", "chain-100k-nodes", "chain-100k-operators", "while"} <= names
    assert json.loads((hostile[0] / "manifest.json").read_text())["cases"] == cases


def test_every_hostile_file_is_refused_with_its_class_before_an_engine(hostile, monkeypatch):
    out, cases = hostile
    reached = []
    real = dict(predictor.BACKENDS)

    def recording(fmt):
        def start(data, **kwargs):
            reached.append(fmt)
            return real[fmt](data, **kwargs)

        return start

    monkeypatch.setattr(predictor, "BACKENDS", {fmt: recording(fmt) for fmt in real})
    for case in cases:
        reached.clear()
        path = out / case["file"]
        if case["expect"] is None:
            Predictor.load(path)  # the original: loads and warms up
            assert reached, case["file"]
            continue
        with pytest.raises(getattr(errors, case["expect"])) as caught:
            Predictor.load(path)
        assert type(caught.value).__name__ == case["expect"], f"{case['file']}: {caught.value}"
        assert "\n" not in str(caught.value)
        assert not reached, f"{case['file']} reached the {reached[0]} engine"
