"""`nextword bench` for the window kind: the runtime against its raw engines and against Keras.

Every row reads the same held-out windows of the training corpus: the runtime gets them as text (their
words joined by spaces), the raw engines and Keras get their ids. Rows are timed in interleaved blocks so
that load from other processes on a shared machine falls on all rows alike, and every ratio compares
numbers measured in this run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from nextword.export.bench.timing import (
    GENERATE_NOTE,
    generate_ms_per_word,
    measure_latency,
    measure_throughput,
    runtime_breakdown,
)
from nextword.runtime.corpus import Corpus
from nextword.runtime.errors import ValidationError
from nextword.runtime.predictor import Predictor

TOP_K = 5
RAW_OF = {
    "runtime_onnx": "raw_onnx",
    "runtime_tflite": "raw_tflite",
    "raw_onnx": "raw_onnx",
    "raw_tflite": "raw_tflite",
}


def run_window_bench(trained, paths: dict[str, Path], corpus: Corpus, plan, log) -> tuple[dict, str]:
    """(the window kind's figures, a held-out text for the cold starts)."""
    from nextword.export.pipeline import validation_inputs

    contexts = validation_inputs(trained, corpus)["held-out"]
    predictors = {f"runtime_{fmt}": Predictor.load(path) for fmt, path in paths.items()}
    texts = window_texts(predictors["runtime_onnx"], trained.tokenizer.index_word, contexts)
    model = trained.model
    engines = {
        "raw_onnx": raw_onnx(predictors["runtime_onnx"], paths["onnx"]),
        "raw_tflite": RawLiteRT(paths["tflite"], predictors["runtime_tflite"].backend.output_name),
    }
    keras_rows = keras_callables(model, trained.config.context_len)
    log(f"benchmarking on {len(contexts)} held-out windows (vocabulary {trained.config.vocab_size}) ...")

    single_ids = [np.ascontiguousarray(row[None, :]) for row in contexts]
    latency_rows = {name: (lambda text, p=p: p.predict_next(text, k=TOP_K), texts) for name, p in predictors.items()}
    latency_rows |= {name: (engine, single_ids) for name, engine in engines.items()}
    # Keras rows go after, never between, the others: TensorFlow's pool threads keep spinning on the cores for
    # a while after each call, which would slow whichever row came next.
    latency = measure_latency(latency_rows, plan.latency_calls, blocks=plan.blocks, warmup=50)
    latency |= measure_latency(
        {name: (fn, single_ids) for name, fn in keras_rows.items()}, plan.keras_calls, blocks=plan.blocks, warmup=3
    )
    breakdown = {name: runtime_breakdown(p, texts, plan.latency_calls, TOP_K) for name, p in predictors.items()}
    log("latency done; throughput ...")

    throughput_rows = {
        name: (lambda batch, p=p: p.predict_next_batch(batch, k=TOP_K, batch_size=len(batch)), "texts")
        for name, p in predictors.items()
    }
    throughput_rows |= {name: (engine, "ids") for name, engine in engines.items()}
    throughput = measure_throughput(throughput_rows, texts, contexts, plan.throughput_seconds)
    throughput |= measure_throughput(
        {"keras_call": (keras_rows["keras_call"], "ids")}, texts, contexts, plan.throughput_seconds
    )
    log("throughput done")
    figures = {
        "latency_us": latency,
        "throughput_wps": throughput,
        "generate_ms_per_word": {
            name: generate_ms_per_word(p, texts[: plan.generate_prompts]) for name, p in predictors.items()
        },
        "ratios": latency_ratios(latency),
        "runtime_breakdown_us": breakdown,
        "settings": {
            "quick": plan.quick,
            "windows": len(contexts),
            "k": TOP_K,
            "latency_calls": {name: plan.keras_calls if name in keras_rows else plan.latency_calls for name in latency},
            "cold_start_processes": {"runtime": plan.runtime_processes, "keras": plan.keras_processes},
        },
        "notes": NOTES,
    }
    return figures, texts[0]


NOTES = {
    "inputs": "held-out windows of the training corpus; runtime rows get their words as text, all other rows their ids",
    "runtime_rows": "Predictor.predict_next(text, k=5): tokenize, run, top-5 words as Python (word, probability) pairs",
    "raw_onnx": "an InferenceSession built with the runtime backend's own SessionOptions "
    "(session.get_session_options()), fetching probs, so runtime_onnx / raw_onnx is the runtime's own cost alone: "
    "its Python work, and the colder caches "
    "it leaves the engine (see runtime_breakdown_us)",
    "raw_tflite": "a LiteRT Interpreter with the runtime's num_threads: set_tensor, invoke, get_tensor of probs",
    "keras_rows": "Keras at its defaults (TensorFlow's own thread pools); keras_call and tf_function include .numpy(); "
    "Keras rows return probabilities only (no tokenizing, no top-k)",
    "ratios": "vs_raw = p50 / p50 of the same engine's raw row (1.0 = no overhead); "
    "speedup_vs_keras_predict = keras_predict p50 / this row's p50",
    "throughput_wps": "windows per second = batch / median time of one call at that batch",
    "cold_start_s": "reported by the child itself: from the first line of its -c script (after interpreter start-up) "
    "to the first prediction, import + load + predict (cli_*: `nextword predict MODEL TEXT` through the entry "
    "point); cold_start_detail.parent_wall_s is spawn-to-exit",
    "peak_rss_mb": "the child's own peak RSS (VmHWM) at its first prediction",
    "generate_ms_per_word": GENERATE_NOTE,
    "runtime_breakdown_us": "median µs of each step of predict_next timed separately "
    "(steps do not sum exactly to total)",
}


def window_texts(predictor: Predictor, index_word: dict[int, str], contexts: np.ndarray) -> list[str]:
    """Each window's words joined by spaces: the text a user would type to get exactly those ids."""
    texts = [" ".join(index_word[int(i)] for i in ids) for ids in contexts]
    for text, ids in zip(texts, contexts):
        if not np.array_equal(predictor.encode(text)[0], ids):
            raise ValidationError(f"benchmark text {text!r} does not encode back to its window's ids {ids.tolist()}")
    return texts


def raw_onnx(predictor: Predictor, path: Path):
    import onnxruntime as ort

    backend = predictor.backend
    session = ort.InferenceSession(
        path.read_bytes(), backend.session.get_session_options(), providers=["CPUExecutionProvider"]
    )
    outputs, name = [backend.output_name], backend.input_name
    return lambda ids: session.run(outputs, {name: ids})[0]


class RawLiteRT:
    """The LiteRT calls the runtime makes, with nothing around them."""

    def __init__(self, path: Path, output_name: str, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.output_index = next(d["index"] for d in self.interpreter.get_output_details() if d["name"] == output_name)
        self.batch = 1

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        if ids.shape[0] != self.batch:
            self.interpreter.resize_tensor_input(self.input_index, ids.shape, strict=True)
            self.interpreter.allocate_tensors()
            self.batch = ids.shape[0]
        self.interpreter.set_tensor(self.input_index, ids)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index)


def keras_callables(model, context_len: int) -> dict:
    import tensorflow as tf

    graph = tf.function(
        lambda x: model(x, training=False), input_signature=[tf.TensorSpec([None, context_len], tf.int32)]
    )
    return {
        "keras_predict": lambda ids: model.predict(ids, verbose=0),
        "keras_call": lambda ids: model(ids, training=False).numpy(),
        "tf_function": lambda ids: graph(ids).numpy(),
    }


def latency_ratios(latency: dict) -> dict:
    keras_p50 = latency["keras_predict"]["p50"]
    return {
        name: {
            "vs_raw": row["p50"] / latency[RAW_OF[name]]["p50"] if name in RAW_OF else None,
            "speedup_vs_keras_predict": keras_p50 / row["p50"],
        }
        for name, row in latency.items()
    }
