"""A command loads only what it runs: the runtime's commands never import the training or export stages."""

from __future__ import annotations

import json

import pytest
from conftest import run_python

REPORT_IMPORTS = """
import json, sys
from nextword.runtime.cli import main
status = main(sys.argv[1:])
stages = sorted(m for m in sys.modules if m.startswith(("nextword.train", "nextword.export")))
heavy = sorted(m for m in ("tensorflow", "keras", "tf2onnx", "onnx", "matplotlib") if m in sys.modules)
print(json.dumps({"status": status, "stages": stages, "heavy": heavy}), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ("predict", "{model}", "the value of"),
        ("generate", "{model}", "the value of", "-n", "3"),
        ("evaluate", "{model}", "--corpus", "{corpus}", "--json"),
        ("predict", "--help"),
    ],
)
def test_runtime_commands_import_no_other_stage(argv, model_path, trained_corpus):
    args = [a.format(model=model_path, corpus=trained_corpus) for a in argv]
    result = run_python(REPORT_IMPORTS, *args)
    if argv[-1] == "--help":  # argparse exits inside main(); the report is not reached, but the exit code is 0
        assert result.returncode == 0 and "usage: nextword predict" in result.stdout
        return
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report == {"status": 0, "stages": [], "heavy": []}


def test_the_command_list_imports_no_command_module():
    code = """
import sys
from nextword.runtime.cli import build_parser
build_parser().format_help()
print(sorted(m for m in sys.modules if m.startswith("nextword.")))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['nextword.runtime', 'nextword.runtime.cli', 'nextword.runtime.errors']"
