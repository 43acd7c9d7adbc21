"""`nextword predict` and `nextword generate`: plain and --json output, '-' for stdin, and refusals as one
stderr line with exit code 2."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from nextword.runtime.cli import main
from nextword.runtime.predictor import Predictor

pytestmark = pytest.mark.slow  # the session fixtures train and export a model once

FORMATS = ["model.onnx", "model.tflite"]


@pytest.fixture(scope="module", params=FORMATS)
def model(request, exported_dir) -> str:
    return str(exported_dir / request.param)


@pytest.fixture(scope="module")
def predictor(model) -> Predictor:
    return Predictor.load(model)


def run(capsys, *argv, stdin: str | None = None, monkeypatch=None) -> tuple[int, list[str], str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_predict_plain(capsys, model, predictor):
    code, out, err = run(capsys, "predict", model, "the value of", "-k", "3")
    assert code == 0 and err == ""
    expected = predictor.predict_next("the value of", k=3)
    assert out == ["  ".join(f"{w} {p:.4f}" for w, p in expected)]


def test_predict_json(capsys, model, predictor):
    code, out, _ = run(capsys, "predict", model, "the Zzqxv value of", "--json")
    assert code == 0 and len(out) == 1
    line = json.loads(out[0])
    expected = predictor.predict_next("the Zzqxv value of")
    assert line == {"text": "the Zzqxv value of",
                    "predictions": [{"word": w, "probability": p} for w, p in expected],
                    "unknown_words": ["zzqxv"]}
    assert len(line["predictions"]) == 5


def test_generate_plain_repeats_the_prompt(capsys, model, predictor):
    code, out, _ = run(capsys, "generate", model, "the value", "-n", "6")
    assert code == 0
    assert out == ["the value " + predictor.generate("the value", 6)]


def test_generate_json_sampled(capsys, model, predictor):
    argv = ("generate", model, "the", "-n", "8", "--strategy", "sample", "--seed", "5", "--top-k", "4",
            "--temperature", "0.7", "--json")
    code, out, _ = run(capsys, *argv)
    assert code == 0
    expected = predictor.generate("the", 8, strategy="sample", seed=5, top_k=4, temperature=0.7)
    assert [json.loads(line) for line in out] == [{"text": "the", "generated": expected}]
    assert run(capsys, *argv)[1] == out, "the same seed gives the same text"


def test_predict_reads_one_input_per_stdin_line(capsys, monkeypatch, model, predictor):
    lines = ["the value of", "", "zzqxv", "a list"]
    code, out, _ = run(capsys, "predict", model, "-", "--json", "-k", "2", stdin="\n".join(lines) + "\n",
                       monkeypatch=monkeypatch)
    assert code == 0
    got = [json.loads(line) for line in out]
    assert [g["text"] for g in got] == lines
    for g, text in zip(got, lines):
        assert [p["word"] for p in g["predictions"]] == [w for w, _ in predictor.predict_next(text, k=2)]
    assert got[2]["unknown_words"] == ["zzqxv"]


def test_generate_reads_one_prompt_per_stdin_line(capsys, monkeypatch, model, predictor):
    code, out, _ = run(capsys, "generate", model, "-", "-n", "3", stdin="the value\nis a\n", monkeypatch=monkeypatch)
    assert code == 0
    assert out == [f"{p} {predictor.generate(p, 3)}" for p in ("the value", "is a")]


def test_stdin_without_final_newline_and_empty_stdin(capsys, monkeypatch, model):
    assert len(run(capsys, "predict", model, "-", stdin="the\nvalue", monkeypatch=monkeypatch)[1]) == 2
    code, out, _ = run(capsys, "predict", model, "-", stdin="", monkeypatch=monkeypatch)
    assert code == 0 and out == []


@pytest.mark.parametrize("argv,message", [
    (("predict", "{model}", "the", "-k", "0"), "k must be at least 1"),
    (("generate", "{model}", "the", "-n", "-1"), "n_words must be a non-negative integer"),
    (("generate", "{model}", "the", "--strategy", "sample", "--temperature", "0"), "temperature must be positive"),
    (("generate", "{model}", "the", "--strategy", "sample", "--top-k", "0"), "k must be at least 1"),
    (("predict", "{model}", "the", "--threads", "0"), "threads must be at least 1"),
    (("predict", "{missing}", "the"), "does not exist"),
    (("predict", "{png}", "the"), "neither a TFLite flatbuffer nor an ONNX model"),
    (("predict", "{onnx}", "the", "--backend", "tflite"), "is in the onnx format, not tflite"),
    (("evaluate", "{model}", "--corpus", "{missing}"), "does not exist"),
    (("evaluate", "{model}", "--corpus", "{corpus}", "--holdout", "1.5"), "held-out fraction"),
])
def test_refusals_are_one_line_with_exit_2(capsys, tmp_path, exported_dir, trained_corpus, model, argv, message):
    png = tmp_path / "picture.onnx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    paths = {"model": model, "missing": tmp_path / "missing", "png": png, "onnx": exported_dir / "model.onnx",
             "corpus": trained_corpus}
    code, out, err = run(capsys, *(a.format(**paths) for a in argv))
    assert code == 2 and out == []
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert err.startswith(f"nextword {argv[0]}: error: ")


def run_cli_process(*argv, stdin: bytes = b"", env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nextword.runtime.cli", *map(str, argv)], input=stdin,
                          capture_output=True, timeout=120, env=env)


def test_refusal_in_a_real_process_has_no_traceback(tmp_path):
    result = run_cli_process("predict", tmp_path / "missing.onnx", "the")
    err = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b""
    assert err.strip().splitlines() == [f"nextword predict: error: model {tmp_path / 'missing.onnx'} does not exist"]


def test_bad_stdin_bytes_in_a_real_process(exported_dir):
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")
    result = run_cli_process("predict", exported_dir / "model.onnx", "-", stdin=b"the\n\xff\xfe\n", env=env)
    err = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in err
    assert "stdin is not utf-8 text" in err and len(err.strip().splitlines()) == 1


def test_predict_in_a_real_process_serves_many_lines(exported_dir):
    result = run_cli_process("predict", exported_dir / "model.onnx", "-", "-k", "1", stdin=b"the value\n\nis\n")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.decode().splitlines()) == 3
