"""`nextword bench`: an export's speed against its raw engines (and Keras), measured in one run.

The kind's own rows are export/bench/window.py and export/bench/sequence.py (timing loops: timing.py); this
module loads the folders, picks the kind and adds what every result holds: suggest per keystroke and the user
file (keyboard.py), cold starts (cold.py), file sizes and the machine. Nothing here asserts a speed; report.py
prints the targets as PASS/MISS.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nextword.runtime.errors import InputError


@dataclass(frozen=True)
class Plan:
    """How much to measure: --quick keeps the whole benchmark to seconds (for tests), not to precision."""

    latency_calls: int  # timed calls per fast row
    keras_calls: int  # Keras rows are 1,000 times slower: fewer calls
    blocks: int  # latency rows take turns this many times
    throughput_seconds: float  # timing budget per (row, batch size)
    runtime_processes: int
    keras_processes: int
    generate_prompts: int
    keyboard_words: int  # typed words per keyboard figure (keyboard.py)
    user_entries: int  # learned words and pairs in the timed user file
    quick: bool

    @classmethod
    def make(cls, quick: bool, repeats: int | None) -> Plan:
        if repeats is not None and repeats < 1:
            raise InputError(f"--repeats must be at least 1, got {repeats}")
        if quick:
            repeats = repeats or 300
            return cls(repeats, max(10, repeats // 50), 3, 0.05, 5, 1, 2, 40, 10_000, True)
        repeats = repeats or 10_000
        return cls(repeats, max(10, repeats // 50), 10, 0.5, 7, 5, 10, 400, 100_000, False)


def run_bench(
    train_dir: str | Path,
    export_dir: str | Path,
    *,
    quick: bool = False,
    repeats: int | None = None,
    corpus: str | None = None,
    compare: str | None = None,
    log=print,
) -> dict:
    """Measure everything and return the JSON-ready result (report.py prints and plots it).
    `compare`: a window model's export folder, timed beside a sequence model."""
    from nextword.export.bench.cold import measure_cold_starts
    from nextword.export.bench.keyboard import keyboard_rows
    from nextword.export.bench.report import check_targets
    from nextword.export.pipeline import validation_corpus
    from nextword.train.folder import load_training_dir

    plan = Plan.make(quick, repeats)
    train_dir, export_dir = Path(train_dir), Path(export_dir)
    paths = {fmt: export_dir / f"model.{fmt}" for fmt in ("onnx", "tflite")}
    for path in paths.values():
        if not path.is_file():
            raise InputError(f"{export_dir} has no {path.name}; run `nextword export` first")
    trained = load_training_dir(train_dir)
    text = validation_corpus(trained, corpus)
    if trained.config.kind == "sequence":
        from nextword.export.bench.sequence import run_sequence_bench

        figures, sample = run_sequence_bench(trained, paths, text, plan, compare=compare, log=log)
        keras_processes = 0  # Keras' cold start is the window kind's baseline only
    else:
        from nextword.export.bench.window import run_window_bench
        from nextword.train.bench_stream import windowing_rate

        figures, sample = run_window_bench(trained, paths, text, plan, log)
        # A training figure (make_windows, train/bench_stream.py), kept in this JSON for its readers.
        figures["windowing"] = windowing_rate(trained.config.seq_len, trained.config.vocab_size)
        keras_processes = plan.keras_processes
    log("keyboard: suggest per keystroke, alone and with a user model ...")
    figures |= keyboard_rows(paths, text.text, plan.keyboard_words, plan.user_entries)
    log("cold starts ...")
    context_len = trained.config.context_len if keras_processes else 0
    cold = measure_cold_starts(paths, train_dir, sample, context_len, plan.runtime_processes, keras_processes)
    result = figures | {
        "cold_start_s": {name: row["child_s"] for name, row in cold.items()},
        "peak_rss_mb": {name: row["peak_rss_mb"] for name, row in cold.items()},
        "cold_start_detail": cold,
        "size_bytes": file_sizes(train_dir, export_dir),
        "machine": machine_info(),
    }
    result["targets"] = check_targets(result)
    return result


def file_sizes(train_dir: Path, export_dir: Path) -> dict[str, int]:
    files = (
        [train_dir / "model.keras"] + sorted(export_dir.glob("model*.onnx")) + sorted(export_dir.glob("model*.tflite"))
    )
    return {path.name: path.stat().st_size for path in files if path.is_file()}


def machine_info() -> dict:
    from nextword.export.pipeline import installed_version

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{pkg: installed_version(pkg) for pkg in ("numpy", "onnxruntime", "ai-edge-litert", "tensorflow", "keras")},
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_json(result: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
