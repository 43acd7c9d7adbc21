"""`nextword bench --quick` on the session's tiny model: the JSON has every row and every number is a real,
positive measurement. No assertion about speed: on a shared machine timings are for reading, not for failing."""

from __future__ import annotations

import json
import math

import pytest
from nextword.runtime.cli import main

LATENCY_ROWS = {
    "runtime_onnx",
    "runtime_tflite",
    "raw_onnx",
    "raw_tflite",
    "keras_predict",
    "keras_call",
    "tf_function",
}
THROUGHPUT_ROWS = {"runtime_onnx", "runtime_tflite", "raw_onnx", "raw_tflite"}
COLD_ROWS = {"runtime_onnx", "runtime_tflite", "cli_onnx", "cli_tflite", "keras"}


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory, trained_dir, exported_dir):
    out = tmp_path_factory.mktemp("bench")
    code = main(
        [
            "bench",
            str(trained_dir),
            str(exported_dir),
            "--quick",
            "--repeats",
            "60",
            "--json",
            str(out / "bench.json"),
            "--plot",
            str(out / "bench.png"),
        ]
    )
    return code, out


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def test_bench_exits_zero_and_writes_both_files(bench_run):
    code, out = bench_run
    assert code == 0
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.loads((out / "bench.json").read_text(encoding="utf-8"))


def test_bench_json_has_every_row_with_positive_finite_numbers(bench_run):
    result = json.loads((bench_run[1] / "bench.json").read_text(encoding="utf-8"))
    assert set(result["latency_us"]) == LATENCY_ROWS
    for name, row in result["latency_us"].items():
        assert set(row) == {"p50", "p99"}, name
        assert positive(row["p50"]) and positive(row["p99"]) and row["p99"] >= row["p50"], (name, row)
    assert THROUGHPUT_ROWS <= set(result["throughput_wps"])
    for name, row in result["throughput_wps"].items():
        assert set(row) == {"1", "32", "256", "4096"}, name
        assert all(positive(v) for v in row.values()), (name, row)
    for key in ("cold_start_s", "peak_rss_mb"):
        assert set(result[key]) == COLD_ROWS, key
        assert all(positive(v) for v in result[key].values()), (key, result[key])
    assert {"model.keras", "model.onnx", "model.tflite"} <= set(result["size_bytes"])
    assert all(isinstance(v, int) and v > 0 for v in result["size_bytes"].values())
    assert set(result["generate_ms_per_word"]) == {"runtime_onnx", "runtime_tflite"}
    assert all(positive(v) for v in result["generate_ms_per_word"].values())
    assert positive(result["windowing"]["seconds"]) and result["windowing"]["words"] == 1_000_000
    for key in ("cpu", "cores", "python", "numpy", "onnxruntime", "ai-edge-litert", "tensorflow", "keras", "date_utc"):
        assert result["machine"][key], key


def test_bench_runtime_children_never_import_tensorflow(bench_run):
    detail = json.loads((bench_run[1] / "bench.json").read_text(encoding="utf-8"))["cold_start_detail"]
    assert not detail["runtime_onnx"]["tensorflow_loaded"]
    assert not detail["runtime_tflite"]["tensorflow_loaded"]
    assert detail["keras"]["tensorflow_loaded"]  # the check can tell the difference


def test_bench_reports_every_target_as_pass_or_miss(bench_run):
    targets = json.loads((bench_run[1] / "bench.json").read_text(encoding="utf-8"))["targets"]
    assert len(targets) == 8 + 2 + 2  # speed and cold starts; a user model's cost per format; the user file
    assert {t["status"] for t in targets} <= {"PASS", "MISS"}


def assert_keyboard_rows(result: dict, alone_rows: set[str]) -> None:
    """suggest per keystroke in both formats, alone and with a learned user model, and the user file."""
    assert set(result["keyboard_us"]) == {"onnx", "tflite"}
    for fmt, row in result["keyboard_us"].items():
        assert set(row["alone"]) == set(row["with_user"]) == set(row["with_user_first_pass"]) == alone_rows, fmt
        assert all(positive(us) for us in row["alone"].values()), (fmt, row)
        assert all(positive(us) for us in row["with_user"].values()), (fmt, row)
        assert all(positive(us) for us in row["with_user_first_pass"].values()), (fmt, row)
        assert (
            positive(row["after_new_word_us"]["p50"])
            and row["after_new_word_us"]["max"] >= row["after_new_word_us"]["p50"]
        )
        assert row["typed_words"] > 0 and row["user_model_entries"] > 0
        assert row["vocab_size"] > 1
    user = result["user_file"]
    assert 5_000 < user["entries"] <= 10_000 and user["bytes"] > 0 and positive(user["load_ms"])  # --quick: 10k cap


def test_bench_times_suggest_per_keystroke_and_the_user_file(bench_run):
    code, out = bench_run
    result = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert_keyboard_rows(result, {"next_word_us", "completion_us"})
    assert any(t["target"].startswith("onnx user model adds") for t in result["targets"])


def test_bench_refuses_an_export_folder_without_models(tmp_path, trained_dir, capsys):
    assert main(["bench", str(trained_dir), str(tmp_path), "--quick"]) == 2
    assert "has no model.onnx" in capsys.readouterr().err


def test_sequence_bench_times_a_typed_word_beside_its_raw_step(
    tmp_path, sequence_keras_dir, sequence_exported_dir, exported_dir, sequence_corpus, cli
):
    code, out, err = cli(
        "bench",
        sequence_keras_dir,
        sequence_exported_dir,
        "--quick",
        "--repeats",
        "40",
        "--corpus",
        sequence_corpus,
        "--compare",
        exported_dir,
        "--json",
        tmp_path / "seq.json",
        "--plot",
        tmp_path / "seq.png",
    )
    assert code == 0, err
    result = json.loads((tmp_path / "seq.json").read_text(encoding="utf-8"))
    rows = {
        f"{row}_{fmt}"
        for row in ("session", "raw_step", "prefill20", "raw_prefill20", "window")
        for fmt in ("onnx", "tflite")
    }
    assert set(result["latency_us"]) == rows | {"keras_step"}
    assert all(positive(row["p50"]) and row["p99"] >= row["p50"] for row in result["latency_us"].values())
    assert set(result["ratios"]["onnx"]) == {"session_vs_raw_step", "prefill_vs_raw", "session_vs_window"}
    assert set(result["cold_start_s"]) == {"runtime_onnx", "runtime_tflite", "cli_onnx", "cli_tflite"}
    assert all(positive(ms) for ms in result["generate_ms_per_word"].values())
    assert (tmp_path / "seq.png").stat().st_size > 0
    assert any("session_onnx typed word" in line for line in out)
    rows = {"next_word_us", "first_letter_us", "completion_host_us", "feed_word_us", "word_then_next_us"}
    assert_keyboard_rows(result, rows)
    names = [t["target"] for t in result["targets"]]
    assert any(name.startswith("session_onnx word + next-word suggest") for name in names)
    assert any(name.startswith("tflite completion suggest") for name in names)
    assert any("completion_host_us" in line for line in out)
