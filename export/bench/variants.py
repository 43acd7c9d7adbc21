"""float32, float16 and int8 files of one sequence model, side by side in one run: what each costs a keyboard.

    python -m nextword.export.bench.variants EXPORT_DIR --corpus TEXT [--calls 3000] [--json FILE]

EXPORT_DIR holds model.onnx / model.tflite and any of model.float16.* and model.int8.* (`nextword export
--quantize float16`, `--quantize int8`; copy one run's variants beside the other's). Per file:
  size          bytes on disk
  load_ms       Predictor.load, median of 5 (metadata scan, checks, engine start, warm-up)
  peak_rss_mb   of a fresh process that loads the file and types 200 words
  raw_step      the engine call of one typed word alone (bench/sequence.py raw_step)
  session       one typed word through a session: copy, feed, top 5 (bench/sequence.py typed_word)
  suggest       the bar after that word: Session.suggest() for the next word, then with its first letter
All latency rows take turns in the same interleaved blocks (timing.measure_latency), so they compare as ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from nextword.export.bench.sequence import PREFIX_WORDS, raw_step, typed_word
from nextword.export.bench.timing import measure_latency
from nextword.runtime.corpus import load_corpus
from nextword.runtime.errors import InputError
from nextword.runtime.predictor import Predictor
from nextword.runtime.tokenizer import text_to_word_sequence

VARIANTS = ("", ".float16", ".int8")
TEXTS = 200
ROWS = ("raw_step", "session", "suggest next", "suggest letter")

# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child of this (large) process would report
# the parent's size.
RSS_CHILD = """
import sys
from nextword.runtime.predictor import Predictor
session = Predictor.load(sys.argv[1]).session()
for word in sys.argv[2].split():
    session.feed(word)
    session.suggest("")
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(int(status.split()[0]) / 1024)
"""


def run(export_dir: Path, text: str, calls: int, log=print) -> dict:
    files = [export_dir / f"model{v}.{fmt}" for fmt in ("onnx", "tflite") for v in VARIANTS]
    files = [path for path in files if path.is_file()]
    if not files:
        raise InputError(f"{export_dir} has no model*.onnx or model*.tflite")
    predictors = {path.name: Predictor.load(path) for path in files}
    first = next(iter(predictors.values()))
    tok = first.tokenizer
    words = [w for w in text_to_word_sequence(text, tok.filters, tok.lower, tok.split) if w in tok.word_index]
    words = words[len(words) * 9 // 10 :]  # the held-out tenth
    if len(words) < PREFIX_WORDS * TEXTS + 1:
        raise InputError(
            f"the held-out tenth of the text has {len(words)} known words; need {PREFIX_WORDS * TEXTS + 1}"
        )
    prefixes = [" ".join(words[i : i + PREFIX_WORDS]) for i in range(0, PREFIX_WORDS * TEXTS, PREFIX_WORDS)]
    next_words = [words[i + PREFIX_WORDS] for i in range(0, PREFIX_WORDS * TEXTS, PREFIX_WORDS)]
    rows, figures = {}, {}
    for name, predictor in predictors.items():
        if predictor.state_size == 0:
            raise InputError(f"{name} is a window model; this bench compares sequence-model files")
        sessions = []
        for prefix in prefixes:
            session = predictor.session()
            session.feed(prefix)
            sessions.append(session)
        cases = list(zip(sessions, next_words))
        index = predictor.tokenizer.word_index
        step_inputs = [(np.array([[index[w]]], np.int32), s.state[None, :]) for s, w in cases]
        raw = raw_step(predictor, export_dir / name)
        after = []
        for session, word in cases:
            branch = session.copy()
            branch.feed(word)
            after.append(branch)
        rows[f"raw_step {name}"] = (lambda args, raw=raw: raw(*args), step_inputs)
        rows[f"session {name}"] = (lambda case: typed_word(*case), cases)
        rows[f"suggest next {name}"] = (lambda s: s.suggest(""), after)
        rows[f"suggest letter {name}"] = (lambda case: case[0].suggest(case[1][:1]), list(zip(after, next_words)))
        figures[name] = {"size": (export_dir / name).stat().st_size, "load_ms": load_ms(export_dir / name)}
        figures[name]["peak_rss_mb"] = peak_rss_mb(export_dir / name, " ".join(words[:200]))
        log(f"{name}: {figures[name]['size'] / 1e6:.2f} MB, load {figures[name]['load_ms']:.0f} ms")
    log(f"timing {len(rows)} rows, {calls} calls each, interleaved ...")
    latency = measure_latency(rows, calls, blocks=10, warmup=50)
    for name in figures:
        figures[name] |= {
            row: latency[f"{row} {name}"] for row in ("raw_step", "session", "suggest next", "suggest letter")
        }
    return figures


def load_ms(path: Path) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        Predictor.load(path)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def peak_rss_mb(path: Path, text: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, str(path), text], capture_output=True, text=True, timeout=300, check=True
    )
    return float(result.stdout.split()[-1])


def table(figures: dict) -> str:
    header = "| file | MB | load ms | peak RSS MB | raw step | typed word (session) | suggest: next | suggest: 1 letter"
    lines = [header + " |\n" + "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, f in figures.items():
        cells = [f"{f['size'] / 1e6:.2f}", f"{f['load_ms']:.0f}", f"{f['peak_rss_mb']:.0f}"]
        cells += [f"{f[row]['p50']:.1f}" for row in ROWS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n(latency: p50 µs, interleaved in one run)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from nextword.runtime.stderr_filter import filter_stderr

    filter_stderr()  # LiteRT's "Created TensorFlow Lite XNNPACK delegate" is not a result
    try:
        figures = run(args.export_dir, load_corpus(args.corpus).text, args.calls)
    except InputError as exc:
        print(f"variants bench: error: {exc}", file=sys.stderr)
        return 2
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
