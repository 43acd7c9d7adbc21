"""Both runtimes read one contract: runtime/js/src/contract.js is generated from runtime/contract.py, and
each runtime's kinds are the contract's kinds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from nextword.runtime import contract
from nextword.runtime.kinds import KINDS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "runtime" / "js" / "scripts" / "make_contract.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_contract", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_js_contract_is_generated_from_the_python_one():
    generator = load_generator()
    committed = generator.TARGET.read_text(encoding="utf-8")
    assert committed == generator.contract_js(), "run: python runtime/js/scripts/make_contract.py"


def test_every_shared_name_is_written_and_every_kind_has_a_room():
    js = load_generator().contract_js()
    for name in contract.SHARED_WITH_JS:
        assert f"export const {name} = " in js
    assert tuple(KINDS) == contract.KINDS
    assert set(contract.KINDS_BY_VERSION) == set(contract.READABLE_FORMAT_VERSIONS)
    assert contract.KINDS_BY_VERSION[contract.FORMAT_VERSION] == contract.KINDS


def test_a_changed_constant_is_caught(monkeypatch):
    generator = load_generator()
    monkeypatch.setattr(contract, "START_ID", 7)
    assert generator.contract_js() != generator.TARGET.read_text(encoding="utf-8")
