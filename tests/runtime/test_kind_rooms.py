"""One room per model kind: outside runtime/kinds/ (and runtime/config.py, where the config describes the
network's shape per kind), no module of the runtime compares anything with a kind's name. A new kind then
touches its room, the config and the tables keyed by kind (allowlist.py, contract.py), not every module."""

from __future__ import annotations

import ast
from pathlib import Path

from nextword.runtime.contract import KINDS

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
ALLOWED = {"config.py"}


def kind_comparisons(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                names = [side] + (list(side.elts) if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [])
                if any(isinstance(n, ast.Constant) and n.value in KINDS for n in names):
                    found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_module_outside_the_kinds_branches_on_the_kind():
    modules = [p for p in RUNTIME.glob("*.py") if p.name not in ALLOWED]
    assert len(modules) > 30
    assert [hit for path in modules for hit in kind_comparisons(path)] == []


def test_the_scan_sees_a_kind_branch(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('if config.kind == "window":\n    pass\nx = kind in ("sequence", "other")\n')
    assert kind_comparisons(sample) == ["sample.py:1", "sample.py:3"]
