"""The JS loader refuses files by the Python loader's numbers: runtime/js/src/allowlist.js is generated from
runtime/allowlist.py, limits.py, onnx_graph.py, tflite_graph.py and kinds/base.py, and must match that output."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from nextword.runtime import allowlist, limits

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "runtime" / "js" / "scripts" / "make_allowlist.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_allowlist", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_js_allowlist_is_generated_from_the_python_loader():
    generator = load_generator()
    committed = generator.TARGET.read_text(encoding="utf-8")
    assert committed == generator.allowlist_js(), "run: python runtime/js/scripts/make_allowlist.py"


def test_every_kind_and_operator_is_written():
    js = load_generator().allowlist_js()
    for kind in allowlist.ONNX_OPERATORS:
        for _domain, op_type in allowlist.ONNX_OPERATORS[kind]:
            assert f'"{op_type}": ' in js
        for code in allowlist.TFLITE_OPERATORS[kind]:
            assert f'"{code}": ' in js
    assert '"Loop"' not in js and '"Scan"' not in js  # the allowlist's point: no control flow


def test_a_changed_table_or_bound_is_caught(monkeypatch):
    generator = load_generator()
    committed = generator.TARGET.read_text(encoding="utf-8")
    monkeypatch.setattr(limits, "GRAPH_NODES_PER_CELL", 65)
    assert generator.allowlist_js() != committed
    monkeypatch.undo()
    monkeypatch.setitem(allowlist.ONNX_OPERATORS["window"], ("", "Loop"), {(3, 1)})
    assert generator.allowlist_js() != committed
