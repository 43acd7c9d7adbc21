"""Load test: one Predictor per model file, hammered from many threads, must answer exactly as it does alone.

    python tests/hardening/load_test.py --model out/model.onnx --model out/model.tflite --threads 8 --calls 10000

For each model: the single-threaded answer to every prompt is recorded first; then --threads threads call
predict_next(prompt, k=5) --calls times each on the same Predictor and every answer is compared to the
recorded one, exactly (same words, same float probabilities). Resident memory is sampled after loading,
after a warm-up round on the same threads (LiteRT builds one interpreter per thread on first use), and at
the end; growth after warm-up beyond --max-growth-mb (default 20 MB) counts as a leak.
Exit status 1 on any mismatch, exception in a thread, or growth over the bound.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

from nextword.runtime.predictor import Predictor

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "tinyshakespeare.txt"
DISTINCT_PROMPTS = 2000
WARMUP_CALLS = 500  # per thread: enough for every lazy allocation (interpreters, arenas, caches) to happen
K = 5
# Prompts an app sends besides prose: empty, punctuation only, unknown words, other scripts.
ODD_PROMPTS = (
    "",
    "   ",
    "?!...",
    "zzqx flurb",
    "日本語 テキスト",
    "emoji 🙂 🚀",
    "THE KING",
    "the\x00king",
    "a " * 500,
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", required=True, metavar="FILE", help="an exported model (repeatable)")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--calls", type=int, default=10000, help="predict_next calls per thread (default 10000)")
    p.add_argument(
        "--corpus",
        metavar="FILE",
        help=f"text to cut prompts from (default {DEFAULT_CORPUS}, else Python's help pages)",
    )
    p.add_argument("--max-growth-mb", type=float, default=20.0, help="allowed RSS growth after warm-up (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="OUT", help="write the figures here")
    return p.parse_args(argv)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def prompts(corpus: str | None, seed: int) -> list[str]:
    """Real text cut at random places into 0..12-word prompts, plus the odd inputs apps also send."""
    if corpus:
        text = Path(corpus).read_text(encoding="utf-8")
    elif DEFAULT_CORPUS.is_file():
        text = DEFAULT_CORPUS.read_text(encoding="utf-8")
    else:
        from pydoc_data.topics import topics  # always there: the text the default training corpus comes from

        text = "\n".join(topics.values())
    words = text.split()
    rng = random.Random(seed)
    cut = []
    for _ in range(DISTINCT_PROMPTS - len(ODD_PROMPTS)):
        start, length = rng.randrange(len(words)), rng.randint(0, 12)
        cut.append(" ".join(words[start : start + length]))
    return cut + list(ODD_PROMPTS)


class Hammer:
    """Threads that stay alive from warm-up to the end, so per-thread state is counted once."""

    def __init__(self, predictor: Predictor, texts: list[str], expected: list, threads: int, calls: int):
        self.predictor, self.texts, self.expected = predictor, texts, expected
        self.calls = calls
        self.gate = threading.Barrier(threads + 1)  # the workers plus the sampling main thread
        self.lock = threading.Lock()
        self.mismatches: list[dict] = []
        self.mismatch_count = 0
        self.errors: list[str] = []
        self.workers = [threading.Thread(target=self._work, args=(n,), daemon=True) for n in range(threads)]

    def _call(self, index: int) -> None:
        text = self.texts[index % len(self.texts)]
        got = self.predictor.predict_next(text, k=K)
        if got != self.expected[index % len(self.texts)]:
            with self.lock:
                self.mismatch_count += 1
                if len(self.mismatches) < 10:
                    self.mismatches.append(
                        {"text": text[:80], "got": list(got), "expected": list(self.expected[index % len(self.texts)])}
                    )

    def _work(self, number: int) -> None:
        rng = random.Random(number)
        try:
            self.gate.wait()
            for _ in range(WARMUP_CALLS):
                self._call(rng.randrange(len(self.texts)))
            self.gate.wait()  # main samples RSS after warm-up
            self.gate.wait()
            for _ in range(self.calls):
                self._call(rng.randrange(len(self.texts)))
        except threading.BrokenBarrierError:
            return
        except Exception as exc:  # noqa: BLE001 - any escape is a failure to report, not to hide
            with self.lock:
                self.errors.append(f"thread {number}: {type(exc).__name__}: {exc}")
            self.gate.abort()

    def run(self) -> dict:
        for worker in self.workers:
            worker.start()
        figures = {}
        try:
            self.gate.wait()
            self.gate.wait()
            gc.collect()
            figures["rss_after_warmup"] = rss_bytes()
            started = time.perf_counter()
            self.gate.wait()
        except threading.BrokenBarrierError:
            started = time.perf_counter()
        for worker in self.workers:
            worker.join()
        figures["seconds"] = time.perf_counter() - started
        gc.collect()
        figures["rss_end"] = rss_bytes()
        return figures


def measure_model(path: str, texts: list[str], args) -> dict:
    rss_before_load = rss_bytes()
    predictor = Predictor.load(path)
    rss_loaded = rss_bytes()
    expected = [predictor.predict_next(text, k=K) for text in texts]  # the single-threaded truth
    hammer = Hammer(predictor, texts, expected, args.threads, args.calls)
    figures = hammer.run()
    growth = figures["rss_end"] - figures.get("rss_after_warmup", figures["rss_end"])
    calls = args.threads * args.calls
    result = {
        "model": path,
        "backend": predictor.backend.name,
        "threads": args.threads,
        "calls": calls,
        "seconds": round(figures["seconds"], 2),
        "calls_per_s": round(calls / figures["seconds"]) if figures["seconds"] else None,
        "mismatches": hammer.mismatch_count,
        "mismatch_examples": hammer.mismatches,
        "errors": hammer.errors,
        "rss_mb": {
            "before_load": mb(rss_before_load),
            "loaded": mb(rss_loaded),
            "after_warmup": mb(figures.get("rss_after_warmup", 0)),
            "end": mb(figures["rss_end"]),
        },
        "growth_after_warmup_mb": mb(growth),
        "max_growth_mb": args.max_growth_mb,
    }
    result["ok"] = not hammer.mismatch_count and not hammer.errors and growth <= args.max_growth_mb * 1024 * 1024
    return result


def mb(n: int) -> float:
    return round(n / (1024 * 1024), 1)


def main(argv=None) -> int:
    args = parse_args(argv)
    texts = prompts(args.corpus, args.seed)
    results = [measure_model(path, texts, args) for path in args.model]
    for r in results:
        rss = r["rss_mb"]
        print(
            f"{r['backend']:7} {r['threads']} threads x {r['calls'] // r['threads']} calls: {r['seconds']} s "
            f"({r['calls_per_s']}/s), {r['mismatches']} mismatches, {len(r['errors'])} thread errors; "
            f"RSS loaded {rss['loaded']} MB, after warm-up {rss['after_warmup']} MB, end {rss['end']} MB "
            f"(growth {r['growth_after_warmup_mb']} MB, bound {r['max_growth_mb']} MB) -> {'ok' if r['ok'] else 'FAIL'}"
        )
        for example in r["mismatch_examples"][:3]:
            print(f"  mismatch on {example['text']!r}: {example['got']} != {example['expected']}")
        for error in r["errors"][:3]:
            print(f"  {error}")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results}, indent=2), encoding="utf-8")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
