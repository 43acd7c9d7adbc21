"""The layers hold: runtime <- train <- export, checked by import-linter's layers contract (pyproject.toml)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
pytestmark = pytest.mark.skipif(lint_imports is None, reason="import-linter is not installed (pip install '.[test]')")


def check_layers(root: Path, python_path: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(python_path)) if python_path else None
    return subprocess.run(
        [lint_imports, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_layer_contract_is_kept():
    result = check_layers(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_breaks_when_the_runtime_imports_the_training_stage(tmp_path):
    # A copy of the three stages as a plain nextword/ package tree, found first on PYTHONPATH.
    for stage in ("runtime", "train", "export"):
        shutil.copytree(ROOT / stage, tmp_path / "nextword" / stage, ignore=shutil.ignore_patterns("js", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bundle = tmp_path / "nextword" / "runtime" / "bundle.py"
    bundle.write_text(
        bundle.read_text(encoding="utf-8") + "\nfrom nextword.train import fit  # noqa\n", encoding="utf-8"
    )
    result = check_layers(tmp_path, python_path=tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "nextword.runtime.bundle -> nextword.train.fit" in result.stdout
