"""Hardening of the export and training stages: kills during export, unwritable output, Keras safe mode.

The kill script in tests/hardening/ runs a full campaign by hand (see its docstring); here it runs small.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARDENING = ROOT / "tests" / "hardening"
sys.path.insert(0, str(HARDENING))  # the scripts import their sibling modules by plain name

import kill_export  # noqa: E402
from nextword.runtime.errors import InputError  # noqa: E402

pytest.importorskip("tensorflow", reason="the export stage needs the `train` extra")


def script(name: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(HARDENING / name), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def test_kill_smoke_leaves_a_complete_export(trained_dir, trained_corpus, exported_dir, tmp_path):
    out = tmp_path / "export"
    shutil.copytree(exported_dir, out)
    report = tmp_path / "kill.json"
    try:
        result = script(
            "kill_export.py",
            "--train",
            trained_dir,
            "--corpus",
            trained_corpus,
            "--out",
            out,
            "--kills",
            3,
            "--duration",
            10,
            "--budget",
            30,
            "--skip-fs-checks",
            "--json",
            report,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("3 killed exports plus a final one take over 60 s on this machine")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(report.read_text())
    assert figures["kills_done"] >= 1
    assert all(event["state"] in ("previous", "new") for event in figures["events"])
    assert (figures["final_run"]["exit"], figures["final_run"]["state"]) == (
        0,
        "complete",
    )  # leftovers do not get in the way


def test_kill_state_check_tells_partial_from_complete(exported_dir, tmp_path):
    out = tmp_path / "export"
    shutil.copytree(exported_dir, out)
    assert kill_export.state_of(out)[0] == "complete"
    (out / "model.onnx").write_bytes((out / "model.onnx").read_bytes()[:-1])
    assert kill_export.state_of(out)[0] == "partial"
    (out / "model.onnx").unlink()
    assert kill_export.state_of(out)[0] == "partial"
    shutil.rmtree(out)
    assert kill_export.state_of(out)[0] == "missing"


# --- unwritable output: one line, exit 2 -------------------------------------------------------


def export_cli(trained_dir, trained_corpus, out, capsys) -> tuple[int, list[str]]:
    from nextword.runtime.cli import main

    code = main(["export", str(trained_dir), "--out", str(out), "--corpus", str(trained_corpus)])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.startswith("nextword export:")] + [
        line for line in err.splitlines() if "Traceback" in line
    ]


@pytest.mark.parametrize("options", ["ro,size=64k", "size=64k"], ids=["read-only", "full-disk"])
def test_export_to_an_unwritable_filesystem_is_one_line_and_exit_2(
    options, trained_dir, trained_corpus, tmp_path, capsys
):
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)")
    try:
        code, lines = export_cli(trained_dir, trained_corpus, mount_point / "out", capsys)
        assert code == 2
        assert len(lines) == 1 and lines[0].startswith("nextword export: error: cannot write"), lines
        assert list(mount_point.iterdir()) == []  # no staging folder or half-written file left behind
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True)


# --- training folders are untrusted too: Keras safe mode only ----------------------------------------


def test_a_keras_archive_with_python_code_is_refused(trained_dir, tmp_path):
    import keras
    from nextword.train.folder import load_training_dir

    marker = tmp_path / "code-ran"
    # The lambda's body is bytecode inside the archive; if it ever runs on load, the marker appears.
    touch = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")  # noqa: S307
    inputs = keras.Input(shape=(2,), dtype="int32", name="tokens")
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Lambda(touch)(keras.ops.cast(inputs, "float32")))
    folder = tmp_path / "train"
    shutil.copytree(trained_dir, folder)
    keras.Model(inputs, outputs).save(folder / "model.keras")
    marker.unlink(missing_ok=True)  # building the model above ran the lambda once, legitimately

    with pytest.raises(InputError, match="(?i)lambda|unsafe|safe_mode"):
        load_training_dir(folder)
    assert not marker.exists()


def unsafe_keras_calls(source: str) -> list[str]:
    """Places in Python source that turn Keras safe mode off."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.keyword)
            and node.arg == "safe_mode"
            and not (isinstance(node.value, ast.Constant) and node.value.value is True)
        ):
            found.append(f"line {node.value.lineno}: safe_mode={ast.unparse(node.value)}")
        if (
            isinstance(node, (ast.Attribute, ast.Name))
            and getattr(node, "attr", getattr(node, "id", None)) == "enable_unsafe_deserialization"
        ):
            found.append(f"line {node.lineno}: enable_unsafe_deserialization")
    return found


def test_the_unsafe_keras_detector_detects():
    assert unsafe_keras_calls("keras.saving.load_model(p, safe_mode=False)")
    assert unsafe_keras_calls("import keras\nkeras.config.enable_unsafe_deserialization()")
    assert not unsafe_keras_calls("keras.saving.load_model(p, compile=False, safe_mode=True)")


@pytest.mark.parametrize("folder", ["export", "train"])
def test_export_and_train_never_turn_keras_safe_mode_off(folder):
    sources = sorted((ROOT / folder).glob("*.py"))
    assert sources
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sources
        if (hits := unsafe_keras_calls(path.read_text(encoding="utf-8")))
    }
    assert found == {}
