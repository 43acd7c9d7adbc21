"""Timing loops for `nextword bench`: per-call latency, batch throughput, generation, and where a runtime
call's time goes. Medians and percentiles, never means: one preemption on a shared machine moves a
mean but not a median."""

from __future__ import annotations

import statistics
import time

import numpy as np

BATCH_SIZES = (1, 32, 256, 4096)
GENERATED_WORDS = 100  # per generation timed
GENERATE_NOTE = (
    f"median ms per word of Predictor.generate(prompt, {GENERATED_WORDS} words, greedy) on held-out prompts: "
    "encoding and reading the prompt included"
)
SESSION_GENERATE_NOTE = (
    f"sequence kind: median ms per word of Session.generate({GENERATED_WORDS}) after the prompt was fed: "
    "the generated words alone"
)


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
    """Median ms per word of Predictor.generate(prompt, GENERATED_WORDS words, greedy): what `nextword generate`
    pays, from the prompt's text to the last word (encoding and reading the prompt included), for either kind."""
    predictor.generate(prompts[0], n_words=GENERATED_WORDS)  # warm-up
    seconds = []
    for prompt in prompts:
        start = time.perf_counter()
        predictor.generate(prompt, n_words=GENERATED_WORDS, strategy="greedy")
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1000.0 / GENERATED_WORDS


def session_generate_ms_per_word(predictor, prompts: list[str]) -> float:
    """Sequence kind: median ms per word of Session.generate(GENERATED_WORDS) once the prompt is in the session,
    the words alone (what a keyboard pays after the text is typed)."""
    session = predictor.session()
    session.feed(prompts[0])
    session.generate(GENERATED_WORDS)  # warm-up
    seconds = []
    for prompt in prompts:
        session = predictor.session()
        session.feed(prompt)
        start = time.perf_counter()
        session.generate(GENERATED_WORDS)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1000.0 / GENERATED_WORDS
