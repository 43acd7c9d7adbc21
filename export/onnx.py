"""Keras model -> one self-contained ONNX file (vocabulary and config in metadata_props), plus
optional weight quantization. Export-time only: imports tensorflow, tf2onnx and onnx."""

from __future__ import annotations

import importlib.metadata
import logging
import tempfile
from pathlib import Path

import keras
import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
from nextword.export import signature, step_graph
from nextword.runtime import contract
from nextword.runtime.config import TrainConfig
from nextword.runtime.errors import InputError, ValidationError
from nextword.train.folder import check_architecture
from onnx import numpy_helper

BATCH_DIM = "batch"
STEPS_DIM = "n"  # the sequence kind's ids per call
FORBIDDEN_ONNX_OPS = frozenset({"Loop", "Scan", "If"})

_FLOAT16_MAX = float(np.finfo(np.float16).max)


def convert_to_onnx(model: keras.Model, config: TrainConfig, *, opset: int = 17, metadata: dict[str, str]) -> bytes:
    """Serialized ModelProto: int32 "tokens" -> "probs", "top_probs", "top_ids" (see runtime/contract.py)."""
    check_architecture(model, config)  # the lesson's network, sized as config says
    _check_metadata(metadata)

    if config.kind == "sequence":
        serve = step_graph.serving_function(model, config)  # one ONNX LSTM op per layer, dynamic n
    else:
        # tf2onnx.convert.from_keras breaks on Keras 3; a tf.function with a named signature converts cleanly,
        # and returning a dict is how tf2onnx learns the output's name.
        @tf.function(input_signature=[tf.TensorSpec([None, config.context_len], tf.int32, name=contract.INPUT)])
        def serve(tokens):
            return signature.serving_outputs(model(tokens, training=False), config.vocab_size)

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=serve.input_signature, opset=opset)
    if config.kind == "sequence" and config.tie_embeddings:
        _share_tied_table(proto)
    _name_dynamic_dimensions(proto)
    _check_signature(proto, config)
    _check_ops(proto)
    proto.producer_name = "nextword"
    proto.producer_version = _nextword_version()
    proto.doc_string = f"converted from Keras with tf2onnx {tf2onnx.__version__} at opset {opset}"
    _set_metadata(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString()


def _share_tied_table(proto: onnx.ModelProto) -> None:
    """Store the tied table once. tf2onnx folds the softmax's E^T into an initializer of its own, beside the E
    that Gather reads, so the file would hold the largest tensor twice; Gemm(h, E, transB=1) computes the same
    h E^T from E itself. Nothing changes if the graph is not the one expected (the export's validation then
    still compares it with Keras)."""
    graph = proto.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    ranks = {
        value.name: len(value.type.tensor_type.shape.dim)
        for value in onnx.shape_inference.infer_shapes(proto).graph.value_info
    }
    readers = [name for node in graph.node for name in node.input]
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in initializers or ranks.get(node.input[0]) != 2:
            continue
        folded_name = node.input[1]
        folded = numpy_helper.to_array(initializers[folded_name])
        for table in graph.initializer:
            if tuple(table.dims) != folded.shape[::-1] or not np.array_equal(numpy_helper.to_array(table).T, folded):
                continue
            gemm = onnx.helper.make_node(
                "Gemm", [node.input[0], table.name], list(node.output), name=node.name, transB=1
            )
            node.CopyFrom(gemm)
            if readers.count(folded_name) == 1:
                graph.initializer.remove(initializers[folded_name])
            return


def quantize_onnx(onnx_bytes: bytes, mode: str) -> bytes:
    """ "dynamic": uint8 weights, activations quantized at run time; "float16": weights stored
    as float16 and cast back to float32 on load, so every op still computes in float32; "int8": int8 weights
    per output channel, the word table stored once (export/int8.py)."""
    if mode not in contract.QUANTIZE_MODES or mode == "none":
        raise InputError(
            f"unknown ONNX quantization mode {mode!r}; choose one of {', '.join(contract.QUANTIZE_MODES[1:])}"
        )
    proto = onnx.load_from_string(onnx_bytes)
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    if mode == "int8":
        from nextword.export.int8 import quantize_int8

        quantized = quantize_int8(onnx.load_from_string(onnx_bytes))
    elif mode == "dynamic":
        quantized = _quantize_dynamic(proto)
    else:
        quantized = _float16_weights(onnx.load_from_string(onnx_bytes))
    # Exactly the exported metadata: onnxruntime's quantizer adds its own "onnx.infer" entry and renames the producer.
    _set_metadata(quantized, metadata)
    quantized.producer_name, quantized.producer_version = proto.producer_name, proto.producer_version
    quantized.doc_string = f"{proto.doc_string}; weights quantized ({mode})"
    onnx.checker.check_model(quantized, full_check=True)
    return quantized.SerializeToString()


def _quantize_dynamic(proto: onnx.ModelProto) -> onnx.ModelProto:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    previous_level = root.level
    # Its "consider pre-processing" warning goes to the root logger and is noise for this tiny model.
    root.setLevel(max(previous_level, logging.ERROR))
    try:
        # quantize_dynamic only writes to a path.
        with tempfile.TemporaryDirectory(prefix="nextword-quantize-") as tmp:
            out_path = Path(tmp) / "quantized.onnx"
            # Measured on a Shakespeare model: uint8 weights keep top-1 agreement with float32 at ~97%,
            # int8 weights only ~91% (u8 x s8 products can saturate on x86).
            quantize_dynamic(proto, out_path, weight_type=QuantType.QUInt8)
            return onnx.load(out_path)
    finally:
        root.setLevel(previous_level)


def _float16_weights(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Store each float32 initializer of the main graph as float16 behind a Cast node."""
    graph = proto.graph
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(initializer)
        if values.size and np.abs(values).max() > _FLOAT16_MAX:
            continue  # would become inf; keep it exact instead
        name = initializer.name
        stored_name = f"{name}__float16"
        initializer.CopyFrom(numpy_helper.from_array(values.astype(np.float16), stored_name))
        casts.append(
            onnx.helper.make_node("Cast", [stored_name], [name], to=onnx.TensorProto.FLOAT, name=f"{name}__to_float32")
        )
    # Nodes must stay topologically sorted: the casts feed everything else, so they go first.
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return proto


def _check_metadata(metadata: dict[str, str]) -> None:
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key:
            raise InputError(f"ONNX metadata must map non-empty str to str, got {key!r}: {type(value).__name__}")


def _set_metadata(proto: onnx.ModelProto, metadata: dict[str, str]) -> None:
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def _name_dynamic_dimensions(proto: onnx.ModelProto) -> None:
    # tf2onnx names unknown dims "unk__N"; one shared symbolic name tells readers input and output batch agree.
    for value_info in (*proto.graph.input, *proto.graph.output):
        dims = value_info.type.tensor_type.shape.dim
        if not dims[0].HasField("dim_value"):
            dims[0].dim_param = BATCH_DIM
        if value_info.name == contract.INPUT and len(dims) == 2 and not dims[1].HasField("dim_value"):
            dims[1].dim_param = STEPS_DIM


def expected_signature(config: TrainConfig) -> dict[str, tuple[str, tuple]]:
    """name -> (dtype, shape without the batch dimension); None marks the sequence kind's dynamic n."""
    shapes = contract.expected_shapes(config.context_len, config.vocab_size)
    if config.kind == "sequence":
        shapes[contract.INPUT] = ("int32", (None,))
        shapes[contract.STATE] = shapes[contract.STATE_OUT] = ("float32", (config.state_size,))
    return shapes


def _check_signature(proto: onnx.ModelProto, config: TrainConfig) -> None:
    dtypes = {"int32": onnx.TensorProto.INT32, "float32": onnx.TensorProto.FLOAT}
    expected = {
        name: (dtypes[dtype], [BATCH_DIM, *(STEPS_DIM if d is None else d for d in shape)])
        for name, (dtype, shape) in expected_signature(config).items()
    }
    actual = {
        v.name: (v.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])
        for v in (*proto.graph.input, *proto.graph.output)
    }
    if actual != expected:
        raise ValidationError(f"tf2onnx produced signature {actual}, expected {expected}")


def onnx_op_types(proto: onnx.ModelProto) -> list[str]:
    """Sorted op types of the main graph and of any subgraph (attributes of type GRAPH)."""
    types, graphs = set(), [proto.graph]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            types.add(node.op_type)
            graphs.extend(a.g for a in node.attribute if a.HasField("g"))
            graphs.extend(g for a in node.attribute for g in a.graphs)
    return sorted(types)


def _check_ops(proto: onnx.ModelProto) -> None:
    # Control flow would let a file loop for as long as its author likes; the step graph never needs it.
    refused = sorted(set(onnx_op_types(proto)) & FORBIDDEN_ONNX_OPS)
    if refused:
        raise ValidationError(f"converted model has control-flow ops: {', '.join(refused)}")


def _nextword_version() -> str:
    try:
        return importlib.metadata.version("nextword")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
