"""Would weight-only 8-bit blocks keep the int8 gate? A probe, not an export path: the float32 file's output matmul
(the [V, D] word table) is replaced by onnxruntime's MatMulNBits (8 bits, one scale per block of weights,
accuracy_level 4), and the held-out stream is read in steps of 1 through the float32 file, the int8 file and the
probe, counting how often each keeps the float32 file's top-1; one step of each is timed, interleaved.

    python -m nextword.export.bench.matmul_nbits EXPORT/model.onnx EXPORT/model.int8.onnx --corpus TEXT
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from nextword.runtime.contract import START_ID
from nextword.runtime.evaluate import word_stream
from nextword.runtime.predictor import Predictor
from nextword.runtime.windows import split_stream
from onnx import helper, numpy_helper


def with_nbits_output(proto: onnx.ModelProto, vocab_size: int, block: int) -> onnx.ModelProto:
    """proto with its output Gemm/MatMul over the word table computed by MatMulNBits instead."""
    tables = {t.name: t for t in proto.graph.initializer if len(t.dims) == 2 and vocab_size in t.dims}
    at, node = next((i, n) for i, n in enumerate(proto.graph.node) if n.op_type in ("Gemm", "MatMul") and
                    any(name in tables for name in n.input))  # fmt: skip
    weight = numpy_helper.to_array(tables[next(name for name in node.input if name in tables)])
    trans_b = any(a.name == "transB" and a.i == 1 for a in node.attribute)
    rows = weight if node.op_type == "Gemm" and trans_b else weight.T  # [N words, K inputs]
    n, k = rows.shape
    blocks = rows.reshape(n, k // block, block)
    scales = np.maximum(np.abs(blocks).max(axis=2), 1e-12) / 127.0
    packed = (np.clip(np.round(blocks / scales[..., None]), -127, 127) + 128).astype(np.uint8)  # zero point 128
    proto.graph.initializer.extend(
        [numpy_helper.from_array(packed, "nbits_B"), numpy_helper.from_array(scales.astype(np.float32), "nbits_s")]
    )
    has_bias = node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]
    product = node.output[0] + "_nbits" if has_bias else node.output[0]
    attrs = dict(K=k, N=n, bits=8, block_size=block, accuracy_level=4)
    new = [
        helper.make_node(
            "MatMulNBits", [node.input[0], "nbits_B", "nbits_s"], [product], domain="com.microsoft", **attrs
        )
    ]
    if has_bias:
        new.append(helper.make_node("Add", [product, node.input[2]], [node.output[0]]))
    del proto.graph.node[at]
    for offset, replacement in enumerate(new):
        proto.graph.node.insert(at + offset, replacement)
    if not any(o.domain == "com.microsoft" for o in proto.opset_import):
        proto.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return proto


def top1_stream(session: ort.InferenceSession, stream: np.ndarray, state_size: int) -> np.ndarray:
    state, tops = np.zeros((1, state_size), np.float32), []
    for token in stream.tolist():
        probs, state = session.run(["probs", "state_out"], {"tokens": np.array([[token]], np.int32), "state": state})
        tops.append(int(np.argmax(probs[0])))
    return np.array(tops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("float_model")
    parser.add_argument("int8_model")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--block", type=int, default=32)
    args = parser.parse_args()
    predictor = Predictor.load(args.float_model)
    probe = with_nbits_output(onnx.load(args.float_model), predictor.vocab_size, args.block)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the probe's float table is left unused: onnxruntime would say so
    files = {"float32": Path(args.float_model).read_bytes(), "int8": Path(args.int8_model).read_bytes()}
    files["nbits"] = probe.SerializeToString()
    sessions = {
        name: ort.InferenceSession(data, options, providers=["CPUExecutionProvider"]) for name, data in files.items()
    }
    ids = word_stream(predictor.tokenizer, Path(args.corpus).read_text(encoding="utf-8"))[0]
    held = ids[split_stream(len(ids), predictor.bundle.config.validation_split) :][: args.steps]
    stream = np.concatenate([[START_ID], held]).astype(np.int32)
    state_size = predictor.bundle.config.state_size
    tops = {name: top1_stream(session, stream, state_size) for name, session in sessions.items()}
    feed = {"tokens": np.array([[5]], np.int32), "state": np.zeros((1, state_size), np.float32)}
    times = {name: [] for name in sessions}
    for _ in range(1000):
        for name, session in sessions.items():
            start = time.perf_counter_ns()
            session.run(None, feed)
            times[name].append((time.perf_counter_ns() - start) / 1000)
    for name in sessions:
        agreement = 100 * float(np.mean(tops[name] == tops["float32"]))
        print(f"{name:>8}: top-1 as float32 on {agreement:6.2f} % of {len(stream)} steps, step p50 "
              f"{statistics.median(times[name]):6.1f} µs")  # fmt: skip


if __name__ == "__main__":
    main()
