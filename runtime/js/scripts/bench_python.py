"""The Python runtime's side of the JS figures: p50 per next word (predict_next, k=5) and load time, on the
texts the Node and browser benches use; writes those texts too.

python scripts/bench_python.py EXPORT_DIR CORPUS TEXTS_OUT.json [CALLS]
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from nextword.runtime import Predictor

N_TEXTS = 1000


def texts_of(corpus: Path) -> list[str]:
    """1 to 6 consecutive words from anywhere in the corpus: what a person has typed so far."""
    words = corpus.read_text(encoding="utf-8").split()
    rng = random.Random(0)
    return [" ".join(words[s : s + rng.randint(1, 6)]) for s in (rng.randrange(len(words)) for _ in range(N_TEXTS))]


def bench(path: Path, texts: list[str], calls: int) -> dict:
    start = time.perf_counter()
    predictor = Predictor.load(path)
    predictor.predict_next(texts[0], k=5)
    load_ms = (time.perf_counter() - start) * 1000
    for i in range(1000):
        predictor.predict_next(texts[i % len(texts)], k=5)
    times = []
    for i in range(calls):
        start = time.perf_counter()
        predictor.predict_next(texts[i % len(texts)], k=5)
        times.append(time.perf_counter() - start)
    times.sort()
    us = lambda q: round(times[int(q * (len(times) - 1))] * 1e6, 1)  # noqa: E731
    return {
        "model": path.name,
        "calls": calls,
        "load_and_first_prediction_ms": round(load_ms, 1),
        "p50_us": us(0.5),
        "p99_us": us(0.99),
    }


def main() -> None:
    export_dir, corpus, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    calls = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    texts = texts_of(corpus)
    out.write_text(json.dumps({"texts": texts}))
    for name in ("model.onnx", "model.tflite", "model.batch1.tflite"):
        if (export_dir / name).is_file():
            print(json.dumps(bench(export_dir / name, texts, calls)))


if __name__ == "__main__":
    main()
