"""Where the window kind's predict_next spends what its raw engine call does not: each piece of the call timed
alone on the same texts, interleaved, beside onnxruntime's plain `run` and the same call through an IO binding
(input and outputs bound once), the cheapest way onnxruntime offers to make it.

    python -m nextword.export.bench.window_overhead EXPORT_DIR/model.onnx --corpus TEXT [--texts 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import numpy as np
from nextword.runtime.predictor import Predictor

ROUNDS = 5


def per_call_us(fn, items) -> float:
    start = time.perf_counter_ns()
    for item in items:
        fn(item)
    return (time.perf_counter_ns() - start) / len(items) / 1000


def io_bound_run(session, names: list[str], input_name: str, context_len: int):
    """session.run through an IO binding for [1, context_len] inputs: the binding is made once."""
    import onnxruntime as ort

    binding = session.io_binding()
    outputs = {o.name: o for o in session.get_outputs()}
    bound_input = ort.OrtValue.ortvalue_from_numpy(np.zeros((1, context_len), dtype=np.int32))
    binding.bind_ortvalue_input(input_name, bound_input)
    for name in names:
        dtype = np.int64 if "int64" in outputs[name].type else np.int32 if "int" in outputs[name].type else np.float32
        shape = [1, *outputs[name].shape[1:]]  # batch 1
        binding.bind_ortvalue_output(name, ort.OrtValue.ortvalue_from_shape_and_type(shape, dtype))

    def run(context):
        bound_input.update_inplace(context)
        session.run_with_iobinding(binding)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--texts", type=int, default=2000)
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    model, engine = predictor.model, predictor.model.engine
    if model.name != "window" or not args.model.endswith(".onnx"):
        raise SystemExit("window_overhead: give a window model's .onnx file")
    words = open(args.corpus, encoding="utf-8").read().split()
    rng = random.Random(0)
    starts = [rng.randrange(len(words) - 8) for _ in range(args.texts)]
    texts = [" ".join(words[i : i + rng.randint(1, 6)]) for i in starts]
    ids = [predictor.encode_words(text)[0] for text in texts]
    contexts = [model.begin(row)[None, :] for row in ids]
    session, names = engine.session, engine._top_names
    outputs = [engine.run_top(context) for context in contexts]
    tops = [model.top(context[0], 5) for context in contexts]
    shapes = [(context.shape[0], model.top_k) for context in contexts]
    rows = {
        "predict_next(text, 5)": (lambda text: predictor.predict_next(text, 5), texts),
        "raw session.run (the bench's raw row)": (lambda c: session.run(names, {engine.input_name: c}), contexts),
        "raw run through an IO binding": (io_bound_run(session, names, engine.input_name, model.context_len), contexts),
        "  tokenize (encode_words)": (predictor.encode_words, texts),
        "  context (begin: last ids, left-padded)": (model.begin, ids),
        "  engine.run_top (run + error mapping)": (engine.run_top, contexts),
        "  shape check, slices, tolist": (
            lambda o: (o[0].shape != shapes[0], o[0][:, :5].tolist(), o[1][:, :5].tolist()),
            outputs,
        ),
        "  output checks (checked_top)": (lambda t: model.checked_top(*t), [(i, p) for i, p in tops]),
        "  words out (prediction)": (lambda t: predictor.prediction(*t, ()), tops),
    }
    times = {name: [] for name in rows}
    for _ in range(ROUNDS):  # interleaved: a noisy machine slows every row alike
        for name, (fn, items) in rows.items():
            times[name].append(per_call_us(fn, items))
    p50 = {name: statistics.median(values) for name, values in times.items()}
    raw = p50["raw session.run (the bench's raw row)"]
    for name, value in p50.items():
        print(f"{name:44s} {value:7.2f} µs  {value / raw:5.2f}× raw")


if __name__ == "__main__":
    main()
