"""--quantize int8 for ONNX: int8 weights per output channel where onnxruntime has int8 kernels, the word table
stored once.

The sequence preset ties its word table: one [V, D] float tensor feeds both the embedding Gather and the output
Gemm (transB). onnxruntime's quantize_dynamic quantizes each use separately, so the table ends up twice (once
per layout) and the file barely shrinks. Here the table is stored once, in 8 bits in the layout the output matmul
wants, [D, V], with one scale per word (per output channel):

    embedding   Gather(Q, ids, axis=1) -> Transpose -> Cast -> - 128 -> * scale[ids]   (a few rows per call)
    output      DynamicQuantizeLinear(h) -> MatMulInteger(h_q, Q) -> Cast -> * (h_scale * scale)

An untied output matrix ([K, V] MatMul or Gemm) gets the same output path; an untied embedding the same
Gather path. The LSTM goes through onnxruntime's own DynamicQuantizeLSTM (int8 weights per channel). All
other operators stay float32.

Bits: the word table keeps 8 (symmetric, -127..127), stored as uint8 with zero point 128, so the output matmul
is uint8 x uint8. x86 CPUs without VNNI multiply uint8 activations by *int8* weights in pairs that saturate at
16 bits (255 * 127 * 2 > 32767): with int8 8-bit table weights onnxruntime on such a CPU (this AMD EPYC) ranked
words differently from onnxruntime-web, which computes exactly. Its uint8 x uint8 kernels widen to 16 bits before
multiplying, so they are exact on every CPU (tests/export/test_int8_export.py checks it on the CPU it runs on).
The int8 way out, 7-bit table weights, cost top-1 agreement: tinyshakespeare preset, 3,000 held-out steps, 98.93 %
against 99.23 % with this table (the uint8 x uint8 matmul costs the step about a tenth more time). The LSTM keeps
onnxruntime's int8 weights with reduce_range (7 bits), exact everywhere: uint8 weights without it measured no
better (99.13 %).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WEIGHT_RANGE = 127  # the word table: 8-bit symmetric, one scale per word
ZERO_POINT = 128  # ... stored as uint8 around this (why uint8: the docstring)


def quantize_int8(proto: onnx.ModelProto) -> onnx.ModelProto:
    _quantize_word_tables(proto)
    # After the tables: onnxruntime's quantizer would otherwise add a transposed float copy of a Gemm's weight.
    return _quantize_lstms(proto)


def _quantize_word_tables(proto: onnx.ModelProto) -> None:
    graph = proto.graph
    initializers = {t.name: t for t in graph.initializer}
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            if name in initializers:
                users.setdefault(name, []).append(node)
    ranks = _value_ranks(proto)
    replaced: dict[int, list[onnx.NodeProto]] = {}  # id(node) -> the nodes that take its place
    for name, nodes in users.items():
        tensor = initializers[name]
        if tensor.data_type != TensorProto.FLOAT or len(tensor.dims) != 2:
            continue
        layouts = [_layout(node, name) for node in nodes]
        if not nodes or None in layouts:
            continue  # a use we do not rewrite: keep the float tensor whole
        values = numpy_helper.to_array(tensor)
        # Every use reads rows of "words": Gather rows of [V, D], Gemm transB rows of [V, K], MatMul columns
        # of [K, V]. Store Q as [D, V] with one scale per word.
        words_by_row = layouts[0] != "matmul"
        if any((layout != "matmul") != words_by_row for layout in layouts):
            continue
        per_word = values if words_by_row else values.T  # [V, D]
        scale = np.abs(per_word).max(axis=1) / WEIGHT_RANGE
        scale[scale == 0] = 1.0
        q = np.clip(np.rint(per_word / scale[:, None]), -WEIGHT_RANGE, WEIGHT_RANGE) + ZERO_POINT
        q_name, s_name = f"{name}__uint8", f"{name}__scale"
        graph.initializer.remove(tensor)
        graph.initializer.extend(
            [
                numpy_helper.from_array(np.ascontiguousarray(q.T.astype(np.uint8)), q_name),
                numpy_helper.from_array(scale.astype(np.float32), s_name),
            ]
        )
        for node, layout in zip(nodes, layouts):
            replace = _gather_nodes if layout == "gather" else _matmul_nodes
            replaced[id(node)], constants = replace(node, q_name, s_name, ranks)
            graph.initializer.extend(constants)
    nodes = [new for node in graph.node for new in replaced.get(id(node), [node])]
    del graph.node[:]
    graph.node.extend(nodes)
    _add_opset(proto)


def _layout(node: onnx.NodeProto, name: str) -> str | None:
    """How `node` reads the weight `name`, or None for a use this rewrite does not handle."""
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Gather" and list(node.input).index(name) == 0 and attributes.get("axis", 0) == 0:
        return "gather"
    if node.op_type == "Gemm" and node.input[1] == name and node.input[0] != name:
        if attributes.get("transA", 0) or attributes.get("alpha", 1.0) != 1.0:
            return None
        if len(node.input) > 2 and node.input[2] and attributes.get("beta", 1.0) != 1.0:
            return None
        return "gemm_t" if attributes.get("transB", 0) else "matmul"
    if node.op_type == "MatMul" and node.input[1] == name and node.input[0] != name:
        return "matmul"
    return None


def _gather_nodes(node, q_name, s_name, ranks) -> tuple[list, list]:
    """Gather(T, ids) -> [*ids, D] from Q [D, V]: gather columns, move D last, dequantize by each word's scale."""
    ids, out, tag = node.input[1], node.output[0], node.output[0].replace(":", "_")
    rank = ranks[ids]
    return [
        helper.make_node("Gather", [q_name, ids], [f"{tag}__q"], axis=1),
        helper.make_node("Transpose", [f"{tag}__q"], [f"{tag}__qt"], perm=[*range(1, rank + 1), 0]),
        helper.make_node("Cast", [f"{tag}__qt"], [f"{tag}__c"], to=TensorProto.FLOAT),
        helper.make_node("Add", [f"{tag}__c", f"{tag}__minus_zero"], [f"{tag}__f"]),  # Add: the allowlist's op
        helper.make_node("Gather", [s_name, ids], [f"{tag}__s"], axis=0),
        helper.make_node("Unsqueeze", [f"{tag}__s", f"{tag}__last"], [f"{tag}__s1"]),
        helper.make_node("Mul", [f"{tag}__f", f"{tag}__s1"], [out]),
    ], [
        numpy_helper.from_array(np.array([-1], np.int64), f"{tag}__last"),
        numpy_helper.from_array(np.array(-ZERO_POINT, np.float32), f"{tag}__minus_zero"),
    ]


def _matmul_nodes(node, q_name, s_name, ranks) -> tuple[list, list]:
    """x @ W (+ C) with W as Q [K, V] uint8: quantize x at run time, multiply in integers, rescale per word."""
    x, out, tag = node.input[0], node.output[0], node.output[0].replace(":", "_")
    nodes = [
        helper.make_node("DynamicQuantizeLinear", [x], [f"{tag}__xq", f"{tag}__xs", f"{tag}__xz"]),
        helper.make_node("MatMulInteger", [f"{tag}__xq", q_name, f"{tag}__xz", f"{tag}__wz"], [f"{tag}__i"]),
        helper.make_node("Cast", [f"{tag}__i"], [f"{tag}__f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", [f"{tag}__xs", s_name], [f"{tag}__scale"]),
    ]
    bias = node.input[2] if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2] else None
    if bias:
        nodes += [
            helper.make_node("Mul", [f"{tag}__f", f"{tag}__scale"], [f"{tag}__y"]),
            helper.make_node("Add", [f"{tag}__y", bias], [out]),
        ]
    else:
        nodes.append(helper.make_node("Mul", [f"{tag}__f", f"{tag}__scale"], [out]))
    return nodes, [numpy_helper.from_array(np.array(ZERO_POINT, np.uint8), f"{tag}__wz")]


def _value_ranks(proto: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(proto)
    ranks = {}
    for value in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output):
        if value.type.tensor_type.HasField("shape"):
            ranks[value.name] = len(value.type.tensor_type.shape.dim)
    return ranks


def _quantize_lstms(proto: onnx.ModelProto) -> onnx.ModelProto:
    """LSTM -> DynamicQuantizeLSTM (com.microsoft) with int8 weights per channel, through onnxruntime."""
    if not any(node.op_type == "LSTM" for node in proto.graph.node):
        return proto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(max(previous_level, logging.ERROR))  # its "consider pre-processing" advice is noise here
    try:
        with tempfile.TemporaryDirectory(prefix="nextword-int8-") as tmp:
            source, target = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
            onnx.save(proto, source)
            quantize_dynamic(
                source,
                target,
                op_types_to_quantize=["LSTM"],
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=True,
            )
            return onnx.load(target)
    finally:
        root.setLevel(previous_level)


def _add_opset(proto: onnx.ModelProto) -> None:
    # DynamicQuantizeLinear and MatMulInteger are in the default domain from opset 10 and 11: the exports use 17.
    if not any(entry.domain in ("", "ai.onnx") for entry in proto.opset_import):
        proto.opset_import.append(helper.make_opsetid("", 17))
