"""`nextword bench` for the sequence kind: what a keyboard pays per typed word once the text is in a session.

Rows, all timed in the same interleaved blocks (timing.measure_latency) on held-out words:
  session_<fmt>        one typed word: a session at a 20-word text is copied (O(1)), fed one word (tokenize,
                       one engine step) and asked for its top 5 words
  raw_step_<fmt>       the engine call that step makes, alone: ids [1, 1] + state in, top-k + state out
  prefill20_<fmt>      predict_next on a 20-word text from a reset (the cost of a fresh text)
  raw_prefill20_<fmt>  the engine calls of that prefill, alone
  keras_step           the same step through the Keras model (a tf.function of the state model)
  window_<fmt>         with --compare EXPORT_DIR: a window model's predict_next on the same texts
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from nextword.export.bench.timing import (
    GENERATE_NOTE,
    SESSION_GENERATE_NOTE,
    generate_ms_per_word,
    measure_latency,
    session_generate_ms_per_word,
)
from nextword.runtime.contract import START_ID
from nextword.runtime.corpus import Corpus
from nextword.runtime.errors import InputError
from nextword.runtime.predictor import Predictor

PREFIX_WORDS = 20  # the text already typed when a word is added: a sentence and a bit


def run_sequence_bench(trained, paths: dict[str, Path], corpus: Corpus, plan, *, compare: str | None, log):
    """(the sequence kind's figures, a held-out text for the cold starts). `compare`: a window model's export
    folder, timed on the same texts."""
    from nextword.train.prepare import prepare

    data = prepare(corpus.text, trained.config, trained.tokenizer)
    held_ids = data.ids[data.held_start :]
    predictors = {fmt: Predictor.load(path) for fmt, path in paths.items()}
    index_word = trained.tokenizer.index_word
    words = [index_word[int(i)] for i in held_ids if int(i) in index_word]
    if len(words) < PREFIX_WORDS + 200:
        raise InputError(f"the held-out tail has {len(words)} words; the sequence bench needs {PREFIX_WORDS + 200}")
    prefixes = [" ".join(words[i : i + PREFIX_WORDS]) for i in range(0, 200 * PREFIX_WORDS, PREFIX_WORDS)][:200]
    next_words = [words[i + PREFIX_WORDS] for i in range(len(prefixes))]
    log(f"sequence bench on {len(prefixes)} held-out {PREFIX_WORDS}-word texts ...")

    rows = {}
    for fmt, predictor in predictors.items():
        sessions = []
        for prefix in prefixes:
            session = predictor.session()
            session.feed(prefix)
            sessions.append(session)
        cases = list(zip(sessions, next_words))
        rows[f"session_{fmt}"] = (lambda case: typed_word(*case), cases)
        step_inputs = [(np.array([[trained.tokenizer.word_index[w]]], np.int32), s.state[None, :]) for s, w in cases]
        raw = raw_step(predictor, paths[fmt])
        rows[f"raw_step_{fmt}"] = (lambda args, raw=raw: raw(*args), step_inputs)
        rows[f"prefill20_{fmt}"] = (lambda text, p=predictor: p.predict_next(text, k=5), prefixes)
        zero = np.zeros((1, predictor.state_size), np.float32)
        encode = predictor.tokenizer.encode_words
        prefill_ids = [np.array([[START_ID, *encode(text)[0]]], np.int32) for text in prefixes]
        prefill = (lambda ids, raw=raw, z=zero, p=predictor: raw_prefill(raw, ids, z, p), prefill_ids)
        rows[f"raw_prefill20_{fmt}"] = prefill
    if compare is not None:
        for fmt in ("onnx", "tflite"):
            window = Predictor.load(Path(compare) / f"model.{fmt}")
            rows[f"window_{fmt}"] = (lambda text, p=window: p.predict_next(text, k=5), prefixes)
    latency = measure_latency(rows, plan.latency_calls, blocks=plan.blocks, warmup=50)
    keras = keras_step_row(trained, step_inputs, plan)
    latency |= keras

    log("latency done; generation ...")
    prompts = prefixes[: plan.generate_prompts]
    figures = {
        "kind": "sequence",
        "latency_us": latency,
        "ratios": {
            fmt: {
                "session_vs_raw_step": latency[f"session_{fmt}"]["p50"] / latency[f"raw_step_{fmt}"]["p50"],
                "prefill_vs_raw": latency[f"prefill20_{fmt}"]["p50"] / latency[f"raw_prefill20_{fmt}"]["p50"],
                **(
                    {"session_vs_window": latency[f"session_{fmt}"]["p50"] / latency[f"window_{fmt}"]["p50"]}
                    if compare is not None
                    else {}
                ),
            }
            for fmt in predictors
        },
        "generate_ms_per_word": {fmt: generate_ms_per_word(p, prompts) for fmt, p in predictors.items()},
        "session_generate_ms_per_word": {
            fmt: session_generate_ms_per_word(p, prompts) for fmt, p in predictors.items()
        },
        "settings": {"quick": plan.quick, "latency_calls": plan.latency_calls, "compare": compare},
        "notes": {"generate_ms_per_word": GENERATE_NOTE, "session_generate_ms_per_word": SESSION_GENERATE_NOTE},
    }
    return figures, " ".join(index_word[int(i)] for i in held_ids[:20])


def typed_word(session, word: str):
    branch = session.copy()  # the session stays at its 20 words, so every call adds the same word
    branch.feed(word)
    return branch.predict(5)


def raw_step(predictor: Predictor, path: Path):
    """The engine call of one step with nothing around it: names and options taken from the runtime's backend."""
    backend = predictor.backend
    roles = backend.roles
    if backend.name == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(
            path.read_bytes(), backend.session.get_session_options(), providers=["CPUExecutionProvider"]
        )
        outputs = [roles.top_probs.name, roles.top_ids.name, roles.state_out.name]
        names = (backend.input_name, roles.state.name)
        return lambda ids, state: session.run(outputs, {names[0]: ids, names[1]: state})
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=path.read_bytes(), num_threads=1)
    interpreter.allocate_tensors()
    by_name = {d["name"]: d["index"] for d in interpreter.get_input_details() + interpreter.get_output_details()}
    tokens, state_in = by_name[backend.input_name], by_name[roles.state.name]
    outputs = [by_name[roles.top_probs.name], by_name[roles.top_ids.name], by_name[roles.state_out.name]]

    def call(ids, state):
        interpreter.set_tensor(tokens, ids)
        interpreter.set_tensor(state_in, state)
        interpreter.invoke()
        return [interpreter.get_tensor(i) for i in outputs]

    return call


def raw_prefill(raw, ids: np.ndarray, state: np.ndarray, predictor: Predictor):
    """ONNX takes any number of ids per call; a TFLite step graph takes a fixed number (the runtime loops)."""
    per_call = predictor.backend.input_shape[1]
    per_call = per_call if isinstance(per_call, int) and per_call > 0 else ids.shape[1]
    for at in range(0, ids.shape[1], per_call):
        out = raw(ids[:, at : at + per_call], state)
        state = out[2]
    return out


def keras_step_row(trained, step_inputs, plan) -> dict:
    import tensorflow as tf
    from nextword.train.sequence import state_model

    config = trained.config
    stepper = state_model(trained.model, config)
    graph = tf.function(lambda ids, *states: stepper([ids, *states], training=False))

    def call(args):
        ids, state = args
        halves = np.split(state, 2 * config.layers, axis=1)  # [h_1, c_1, ...], each [1, units]
        return [t.numpy() for t in graph(ids, *halves)]

    return measure_latency({"keras_step": (call, step_inputs)}, plan.keras_calls, blocks=plan.blocks, warmup=3)
