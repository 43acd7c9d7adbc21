"""Benchmarks of training's input: pipeline windows/s (streaming vs in-memory vs what training consumes), peak
RSS of a training run at 1x and 10x the corpus (10x = ten copies as shards), and make_windows' rate.

    python -m nextword.train.bench_stream --corpus ../shared/data/tinyshakespeare.txt [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from nextword.train.presets import PRESETS

RSS_CONFIG = {"epochs": 1, "batch_size": 2048}  # one epoch is enough: memory does not grow with steps
WINDOWING_WORDS = 1_000_000


def windowing_rate(seq_len: int, vocab_size: int, repeats: int = 5) -> dict:
    """The in-memory path's windowing: a million-word id stream through runtime/windows.py make_windows (median
    of `repeats`). `nextword bench` reports it too, under "windowing"."""
    from nextword.runtime.windows import make_windows

    ids = np.random.default_rng(0).integers(1, max(vocab_size, 2), WINDOWING_WORDS, dtype=np.int32)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        make_windows(ids, seq_len)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {"words": WINDOWING_WORDS, "seq_len": seq_len, "seconds": median, "words_per_s": WINDOWING_WORDS / median}


def pipeline_rates(corpus: Path, config) -> dict:
    """Windows per second of one epoch's input: streamed (read, tokenize, window, shuffle buffer, batches,
    through tf.data) and in memory (prepare(): tokenize, window; then a full shuffle and batches)."""
    import tensorflow as tf
    from nextword.runtime.corpus import load_corpus
    from nextword.train import stream
    from nextword.train.prepare import prepare

    start = time.perf_counter()
    plan = stream.count_vocabulary([corpus], config)
    counting = time.perf_counter() - start

    def batches():
        yield from stream.training_batches(plan, config, 0)

    spec = tf.TensorSpec([None, config.seq_len], tf.int32)
    start, windows = time.perf_counter(), 0
    for batch in tf.data.Dataset.from_generator(batches, output_signature=spec).prefetch(8):
        windows += int(batch.shape[0])
    streamed = windows / (time.perf_counter() - start)

    start = time.perf_counter()
    data = prepare(load_corpus(corpus).text, config)
    order = np.random.default_rng(0).permutation(data.split_at)
    n = 0
    for i in range(0, data.split_at, config.batch_size):
        rows = order[i : i + config.batch_size]
        n += len(data.contexts[rows]) + len(data.targets[rows]) * 0  # both arrays gathered, as fit does
    in_memory = n / (time.perf_counter() - start)
    return {
        "words": plan.n_words,
        "counting_pass_s": round(counting, 3),
        "streamed_windows_per_s": round(streamed),
        "in_memory_windows_per_s": round(in_memory),
    }


def training_rate(corpus: Path, config, steps: int = 200) -> float:
    """Windows per second the training step consumes (one process, batches prepared beforehand)."""
    import tensorflow as tf
    from nextword.train import stream
    from nextword.train.distributed import Cluster, Run

    plan = stream.count_vocabulary([corpus], config)
    config = dataclasses.replace(config, vocab_size=len(plan.tokenizer.word_index) + 1)
    if config.num_words:
        config = dataclasses.replace(config, vocab_size=min(config.vocab_size, config.num_words))
    run = Run(config, plan, Cluster(1, 0, True), tf.distribute.get_strategy(), verbose=0)
    batches = [tf.constant(b) for b, _ in zip(stream.training_batches(plan, config, 0), range(steps + 10))]
    for b in batches[:10]:  # trace and warm up
        run.train_step(b, np.float32(len(b)))
    start = time.perf_counter()
    for b in batches[10:]:
        out = run.train_step(b, np.float32(len(b)))
    float(out[0])
    return sum(len(b) for b in batches[10:]) / (time.perf_counter() - start)


def peak_rss(paths: list[Path], config, streamed: bool) -> dict:
    """Peak RSS (MiB) of a fresh process that trains one epoch on `paths`."""
    code = (
        "import json, resource, sys, dataclasses, time\n"
        "from nextword.runtime.config import TrainConfig\n"
        "config = TrainConfig.from_json(sys.argv[1]); paths = json.loads(sys.argv[2]); out = sys.argv[3]\n"
        "t = time.perf_counter()\n"
        "if sys.argv[4] == 'stream':\n"
        "    from nextword.train.distributed import train_stream\n"
        "    train_stream(paths, config, out, force=True, verbose=0)\n"
        "else:\n"
        "    from nextword.runtime.corpus import Corpus\n"
        "    from nextword.train.fit import train\n"
        "    text = '\\n'.join(open(p, encoding='utf-8').read() for p in paths)\n"
        "    train(Corpus(paths[0], text, 'x'), config, out, force=True, verbose=0)\n"
        "print(json.dumps({'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,"
        " 'seconds': time.perf_counter() - t}))\n"
    )
    with tempfile.TemporaryDirectory() as scratch:
        argv = [config.to_json(), json.dumps([str(p) for p in paths]), f"{scratch}/t", "stream" if streamed else "mem"]
        result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {k: round(v, 1) for k, v in figures.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS))
    parser.add_argument("--copies", type=int, default=10, help="the larger corpus: this many copies as shards")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    config = PRESETS[args.preset]
    report = {"preset": args.preset, "pipeline": pipeline_rates(args.corpus, config)}
    report["training_windows_per_s"] = round(training_rate(args.corpus, config))
    report["streamed_over_training"] = round(
        report["pipeline"]["streamed_windows_per_s"] / report["training_windows_per_s"], 1
    )
    print(json.dumps(report, indent=2), flush=True)
    rss_config = dataclasses.replace(config, **RSS_CONFIG)
    with tempfile.TemporaryDirectory() as shards:
        copies = []
        for i in range(args.copies):
            copies.append(Path(shards) / f"{i:03d}.txt")
            copies[-1].symlink_to(args.corpus.resolve())
        report["rss"] = {
            "stream_1x": peak_rss([args.corpus], rss_config, True),
            f"stream_{args.copies}x": peak_rss([Path(shards)], rss_config, True),
            "in_memory_1x": peak_rss([args.corpus], rss_config, False),
            f"in_memory_{args.copies}x": peak_rss(copies, rss_config, False),
        }
    report["rss_config"] = RSS_CONFIG
    print(json.dumps(report["rss"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
