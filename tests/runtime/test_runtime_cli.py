"""`nextword predict` and `nextword generate`: plain and --json output, '-' for stdin, and refusals as one
stderr line with exit code 2."""

from __future__ import annotations

import json
import os

import pytest
from conftest import run_process
from nextword.runtime.predictor import Predictor


@pytest.fixture(scope="module")
def model(model_path) -> str:
    return str(model_path)


@pytest.fixture(scope="module")
def predictor(model) -> Predictor:
    return Predictor.load(model)


def test_predict_plain(cli, model, predictor):
    code, out, err = cli("predict", model, "the value of", "-k", "3")
    assert code == 0 and err == ""
    expected = predictor.predict_next("the value of", k=3)
    assert out == ["  ".join(f"{w} {p:.4f}" for w, p in expected)]


def test_predict_json(cli, model, predictor):
    code, out, _ = cli("predict", model, "the Zzqxv value of", "--json")
    assert code == 0 and len(out) == 1
    line = json.loads(out[0])
    expected = predictor.predict_next("the Zzqxv value of")
    assert line == {
        "text": "the Zzqxv value of",
        "predictions": [{"word": w, "probability": p} for w, p in expected],
        "unknown_words": ["zzqxv"],
    }
    assert len(line["predictions"]) == 5


def test_generate_plain_repeats_the_prompt(cli, model, predictor):
    code, out, _ = cli("generate", model, "the value", "-n", "6")
    assert code == 0
    assert out == ["the value " + predictor.generate("the value", 6)]


def test_generate_json_sampled(cli, model, predictor):
    argv = (
        "generate",
        model,
        "the",
        "-n",
        "8",
        "--strategy",
        "sample",
        "--seed",
        "5",
        "--top-k",
        "4",
        "--temperature",
        "0.7",
        "--json",
    )
    code, out, _ = cli(*argv)
    assert code == 0
    expected = predictor.generate("the", 8, strategy="sample", seed=5, top_k=4, temperature=0.7)
    assert [json.loads(line) for line in out] == [{"text": "the", "generated": expected}]
    assert cli(*argv)[1] == out, "the same seed gives the same text"


def test_predict_reads_one_input_per_stdin_line(cli, model, predictor):
    lines = ["the value of", "", "zzqxv", "a list"]
    code, out, _ = cli("predict", model, "-", "--json", "-k", "2", stdin="\n".join(lines) + "\n")
    assert code == 0
    got = [json.loads(line) for line in out]
    assert [g["text"] for g in got] == lines
    for g, text in zip(got, lines):
        assert [p["word"] for p in g["predictions"]] == [w for w, _ in predictor.predict_next(text, k=2)]
    assert got[2]["unknown_words"] == ["zzqxv"]


def test_generate_reads_one_prompt_per_stdin_line(cli, model, predictor):
    code, out, _ = cli("generate", model, "-", "-n", "3", stdin="the value\nis a\n")
    assert code == 0
    assert out == [f"{p} {predictor.generate(p, 3)}" for p in ("the value", "is a")]


def test_stdin_without_final_newline_and_empty_stdin(cli, model):
    assert len(cli("predict", model, "-", stdin="the\nvalue")[1]) == 2
    code, out, _ = cli("predict", model, "-", stdin="")
    assert code == 0 and out == []


@pytest.mark.parametrize(
    "argv,message",
    [
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
    ],
)
def test_refusals_are_one_line_with_exit_2(cli, tmp_path, exported_dir, trained_corpus, model, argv, message):
    png = tmp_path / "picture.onnx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    paths = {
        "model": model,
        "missing": tmp_path / "missing",
        "png": png,
        "onnx": exported_dir / "model.onnx",
        "corpus": trained_corpus,
    }
    code, out, err = cli(*(a.format(**paths) for a in argv))
    assert code == 2 and out == []
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert err.startswith(f"nextword {argv[0]}: error: ")


def test_refusal_in_a_real_process_has_no_traceback(tmp_path):
    result = run_process("predict", tmp_path / "missing.onnx", "the")
    err = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b""
    assert err.strip().splitlines() == [f"nextword predict: error: model {tmp_path / 'missing.onnx'} does not exist"]


def test_bad_stdin_bytes_in_a_real_process(exported_dir):
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")
    result = run_process("predict", exported_dir / "model.onnx", "-", stdin=b"the\n\xff\xfe\n", env=env)
    err = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in err
    assert "stdin is not utf-8 text" in err and len(err.strip().splitlines()) == 1


def test_predict_in_a_real_process_serves_many_lines(exported_dir):
    result = run_process("predict", exported_dir / "model.onnx", "-", "-k", "1", stdin=b"the value\n\nis\n")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.decode().splitlines()) == 3
