"""Timing loops for `nextword bench`: per-call latency, batch throughput, generation, windowing, and where a
runtime call's time goes. Medians and percentiles, never means: one preemption on a shared machine moves a
mean but not a median."""

from __future__ import annotations

import statistics
import time

import numpy as np

BATCH_SIZES = (1, 32, 256, 4096)
GENERATED_WORDS = 100
WINDOWING_WORDS = 1_000_000


def measure_latency(rows: dict, calls: int, *, blocks: int, warmup: int) -> dict[str, dict[str, float]]:
    """{name: {p50, p99}} in µs for rows {name: (fn, inputs)}: each call timed alone, inputs cycled.

    Rows take turns in `blocks` rounds, so a busy moment on the machine falls on every row alike.
    """
    for fn, inputs in rows.values():  # first calls trace graphs and fill caches
        for i in range(warmup):
            fn(inputs[i % len(inputs)])
    clock = time.perf_counter_ns
    per_block = max(1, calls // blocks)
    times = {name: [] for name in rows}
    for block in range(blocks):
        for name, (fn, inputs) in rows.items():
            n_inputs, samples = len(inputs), times[name]
            for i in range(block * per_block, (block + 1) * per_block):
                arg = inputs[i % n_inputs]
                start = clock()
                fn(arg)
                samples.append(clock() - start)
    return {name: {"p50": percentile_us(t, 50), "p99": percentile_us(t, 99)} for name, t in times.items()}


def percentile_us(samples_ns: list[int], q: float) -> float:
    return float(np.percentile(np.asarray(samples_ns, dtype=np.float64), q)) / 1000.0


def measure_throughput(rows: dict, texts: list[str], contexts: np.ndarray, budget_s: float) -> dict:
    """{name: {batch: windows per second}} for rows {name: (fn, "texts" | "ids")}: batch / median call time."""
    result = {name: {} for name in rows}
    for batch in BATCH_SIZES:
        inputs = {
            "texts": [texts[i % len(texts)] for i in range(batch)],
            "ids": np.ascontiguousarray(np.resize(contexts, (batch, contexts.shape[1]))),
        }
        for name, (fn, kind) in rows.items():
            arg = inputs[kind]
            fn(arg)  # LiteRT re-plans its memory for a new batch size: not part of the steady state
            calls = []
            deadline = time.perf_counter() + budget_s
            while len(calls) < 3 or time.perf_counter() < deadline:
                start = time.perf_counter()
                fn(arg)
                calls.append(time.perf_counter() - start)
            result[name][str(batch)] = batch / statistics.median(calls)
    return result


def runtime_breakdown(predictor, texts: list[str], calls: int, k: int) -> dict[str, float]:
    """Median µs of each step predict_next takes, done one by one: where the runtime's overhead goes."""
    clock = time.perf_counter_ns
    steps = {"encode": [], "engine_and_top_k": [], "result_list": [], "total": []}
    for i in range(calls):
        t0 = clock()
        ids, unknown = predictor.encode_words(texts[i % len(texts)])
        context = predictor.model.begin(ids)
        t1 = clock()
        top = predictor.model.top(context, k)  # the engine call plus ranking (in the graph when it can)
        t2 = clock()
        predictor.prediction(*top, unknown)
        t3 = clock()
        for name, ns in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
            steps[name].append(ns)
    return {name: percentile_us(ns, 50) for name, ns in steps.items()}


def generate_ms_per_word(predictor, prompts: list[str]) -> float:
    predictor.generate(prompts[0], n_words=GENERATED_WORDS)  # warm-up
    seconds = []
    for prompt in prompts:
        start = time.perf_counter()
        predictor.generate(prompt, n_words=GENERATED_WORDS, strategy="greedy")
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1000.0 / GENERATED_WORDS


def windowing_benchmark(seq_len: int, vocab_size: int, repeats: int = 5) -> dict:
    """The training issue's check: a million-word id stream windowed by make_windows."""
    from nextword.runtime.windows import make_windows

    ids = np.random.default_rng(0).integers(1, max(vocab_size, 2), WINDOWING_WORDS, dtype=np.int32)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        make_windows(ids, seq_len)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {"words": WINDOWING_WORDS, "seq_len": seq_len, "seconds": median, "words_per_s": WINDOWING_WORDS / median}
