"""A regular install ships every Python package of the source tree (pyproject lists them one by one)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_folder_is_a_listed_package():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    folders = {Path(source): name for name, source in setuptools["package-dir"].items()}
    found = set()
    for stage, name in folders.items():
        for init in (ROOT / stage).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / stage)
            found.add(".".join([name, *relative.parts]))
    assert found <= listed, f"missing from pyproject's packages: {sorted(found - listed)}"
