"""Keras model -> TFLite flatbuffer with builtin ops only, plus named metadata entries.

Route chosen: clone the model with LSTM(unroll=True), freeze its weights into constants and
convert that concrete function. Measured against the fused-LSTM alternative (a tf.function
tagged api_implements="lstm_*", which becomes one UNIDIRECTIONAL_SEQUENCE_LSTM op) on a
2-word window, LiteRT 2.3, batch 1, XNNPACK on:
  vocab 300:   unrolled 41 ops, 31 KB, 3.8 us/invoke; fused 6 ops, 25 KB, 4.2 us (incl. reset)
  vocab 12000: unrolled 41 ops, 780 KB, 39 us/invoke;  fused 6 ops, 774 KB, 46 us (incl. reset)
  max abs diff vs Keras: both <= 1e-9.
The fused op is not faster here, and it costs two things the runtime would have to carry:
a fixed batch size, and LSTM state kept in variable tensors between invokes (every call
would need reset_all_variables() or it silently continues the previous sentence). The
unrolled graph has a dynamic batch and is stateless, so it ships.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema
from nextword.export import signature, step_graph
from nextword.runtime import contract
from nextword.runtime.config import TrainConfig
from nextword.runtime.errors import InputError, ValidationError
from nextword.runtime.tflite_metadata import TFLITE_IDENTIFIER
from nextword.train.folder import check_architecture

if TYPE_CHECKING:
    import keras

# The TFLite Support library owns this name for its own metadata schema; readers would misparse ours.
RESERVED_METADATA_NAME = "TFLITE_METADATA"
# Ops that mean resource variables or a TF (Flex) fallback: the file would need more than the builtin runtime.
# Control flow (WHILE, IF, CALL) is refused too: neither kind needs it, and a later check forbids it in files.
FORBIDDEN_BUILTINS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE", "WHILE", "IF", "CALL"})
# The schema declares Buffer.data force_align: 16, which the generated Python packer ignores.
BUFFER_ALIGNMENT = 16

_BUILTIN_NAMES = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")}


def convert_to_tflite(model: keras.Model, config: TrainConfig, *, quantize: str = "none") -> bytes:
    """Builtin-ops-only flatbuffer: int32 "tokens" -> "probs", "top_probs", "top_ids" (see runtime/contract.py)."""
    if quantize not in contract.QUANTIZE_MODES:
        raise InputError(f"quantize must be one of {', '.join(contract.QUANTIZE_MODES)}, got {quantize!r}")
    check_architecture(model, config)  # the lesson's network, sized as config says
    import tensorflow as tf  # export-only dependency; keep `import nextword.export.tflite` cheap

    if config.kind == "sequence":
        frozen = step_graph.frozen_serving_function(model, config)
        names = (contract.INPUT, contract.STATE, *contract.OUTPUTS, contract.STATE_OUT)
    else:
        frozen = _frozen_serving_function(model, config)
        names = (contract.INPUT, *contract.OUTPUTS)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen.get_concrete_function()], tf.Module())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    tflite_bytes = _rewrite(converter.convert(), lambda model: _name_io_tensors(model, names))
    _check_builtin_only(tflite_bytes)
    return tflite_bytes


def embed_metadata(tflite_bytes: bytes, entries: dict[str, bytes]) -> bytes:
    """Add each entry as a Model.metadata item with its own buffer, keeping the existing items."""
    for name, value in entries.items():
        if not isinstance(name, str) or not name:
            raise InputError(f"metadata name must be a non-empty string, got {name!r}")
        if name == RESERVED_METADATA_NAME:
            raise InputError(f"metadata name {name} is reserved for the TFLite Support metadata schema")
        if not isinstance(value, (bytes, bytearray)):
            raise InputError(f"metadata value for {name} must be bytes, got {type(value).__name__}")

    def add_entries(model: schema.ModelT) -> None:
        existing = {_text(item.name) for item in model.metadata or []}
        clashes = sorted(existing & set(entries))
        if clashes:
            raise InputError(f"model already has metadata named {', '.join(clashes)}")
        model.metadata = list(model.metadata or [])
        model.buffers = list(model.buffers or [])
        for name, value in entries.items():
            model.buffers.append(schema.BufferT(data=np.frombuffer(bytes(value), dtype=np.uint8)))
            model.metadata.append(schema.MetadataT(name=name, buffer=len(model.buffers) - 1))

    return _rewrite(tflite_bytes, add_entries)


def fix_batch(tflite_bytes: bytes, batch: int = 1) -> bytes:
    """The same graph with its dynamic batch dimension fixed to `batch`, for engines that cannot resize
    inputs (LiteRT.js refuses Int32[1, n] for a declared Int32[-1, n]). The converter already sizes every
    tensor at batch 1, so only the declared signatures change; export validates the result like any file."""
    if batch != 1:
        raise InputError(f"only a batch of 1 can be fixed (the converter plans tensors at batch 1), got {batch}")

    def fix(model: schema.ModelT) -> None:
        for subgraph in model.subgraphs or []:
            for tensor in subgraph.tensors or []:
                signature = tensor.shapeSignature
                if signature is not None and len(signature) and signature[0] == -1:
                    signature[0] = batch

    return _rewrite(tflite_bytes, fix)


def tflite_op_names(tflite_bytes: bytes) -> list[str]:
    """One name per operator in every subgraph; custom ops (Flex included) as "CUSTOM:<code>"."""
    model = _unpack(tflite_bytes)
    codes = model.operatorCodes or []
    names = []
    for subgraph in model.subgraphs or []:
        for operator in subgraph.operators or []:
            code = codes[operator.opcodeIndex]
            # Codes above 127 live only in builtinCode; older files only fill the deprecated byte.
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            if builtin == schema.BuiltinOperator.CUSTOM:
                names.append(f"CUSTOM:{_text(code.customCode)}")
            else:
                names.append(_BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}"))
    return names


def _frozen_serving_function(model, config: TrainConfig):
    """A variable-free tf.function named tokens -> {"probs": ...} with a dynamic batch.

    unroll=True: the default LSTM becomes a while loop over TensorLists whose element shape
    depends on the batch, which the builtin converter rejects for a dynamic batch.
    Freezing: captured Keras variables convert to VAR_HANDLE/READ_VARIABLE ops (uninitialized
    at load time, NaN outputs), so the weights must be constants before conversion.
    """
    import keras
    import tensorflow as tf

    # Private, but it is the freezing step the converter itself and tf2onnx use; no public twin.
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    def unrolled(layer):
        layer_config = layer.get_config()
        if isinstance(layer, keras.layers.LSTM):
            layer_config["unroll"] = True
        return layer.__class__.from_config(layer_config)

    clone = keras.models.clone_model(model, clone_function=unrolled)
    clone.set_weights(model.get_weights())
    spec = tf.TensorSpec([None, config.context_len], tf.int32, name=contract.INPUT)

    @tf.function(input_signature=[spec])
    def forward(tokens):
        return clone(tokens, training=False)

    constant_forward = convert_variables_to_constants_v2(forward.get_concrete_function())

    # Freezing drops the output structure; this wrapper names the signature outputs.
    @tf.function(input_signature=[spec])
    def serving(tokens):
        return signature.serving_outputs(constant_forward(tokens)[0], config.vocab_size)

    return serving


def _name_io_tensors(model: schema.ModelT, expected: tuple[str, ...]) -> None:
    """The converter names I/O tensors after TF internals ("serving_default_tokens:0"); apps see tensor names."""
    if len(model.subgraphs or []) != 1 or len(model.signatureDefs or []) != 1:
        raise ValidationError("converted model must have exactly one subgraph and one signature")
    subgraph = model.subgraphs[0]
    names = {}
    for tensor_map in (*(model.signatureDefs[0].inputs or []), *(model.signatureDefs[0].outputs or [])):
        names[int(tensor_map.tensorIndex)] = _text(tensor_map.name)
    if sorted(names.values()) != sorted(expected) or set(names) != {
        int(i) for i in (*subgraph.inputs, *subgraph.outputs)
    }:
        raise ValidationError(
            f"converted model's inputs and outputs are {sorted(names.values())}, expected {sorted(expected)}"
        )
    for index, name in names.items():
        subgraph.tensors[index].name = name


def _check_builtin_only(tflite_bytes: bytes) -> None:
    refused = sorted(
        {name for name in tflite_op_names(tflite_bytes) if name.startswith("CUSTOM:") or name in FORBIDDEN_BUILTINS}
    )
    if refused:
        raise ValidationError(f"converted model needs non-builtin or variable ops: {', '.join(refused)}")


def _unpack(tflite_bytes: bytes) -> schema.ModelT:
    if len(tflite_bytes) < 8 or bytes(tflite_bytes[4:8]) != TFLITE_IDENTIFIER:
        raise InputError("not a TFLite flatbuffer (file identifier is not TFL3)")
    return schema.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)


def _rewrite(tflite_bytes: bytes, edit: Callable[[schema.ModelT], None]) -> bytes:
    """Unpack, edit, repack. Repacking moves every table, so data addressed by file offset cannot follow."""
    model = _unpack(tflite_bytes)
    if any(buffer.offset > 1 for buffer in model.buffers or []):
        # Files over 2 GB keep tensor data after the flatbuffer, addressed from the file start.
        raise InputError("model stores tensor data outside the flatbuffer (over-2 GB layout); cannot rewrite it")
    edit(model)
    model.buffers = [_AlignedBuffer.of(buffer) for buffer in model.buffers or []]
    builder = flatbuffers.Builder(len(tflite_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_IDENTIFIER)
    return bytes(builder.Output())


class _AlignedBuffer(schema.BufferT):
    """BufferT whose data starts on a 16-byte boundary, as the schema asks and kernels may assume."""

    @classmethod
    def of(cls, buffer: schema.BufferT) -> _AlignedBuffer:
        return cls(data=buffer.data, offset=buffer.offset, size=buffer.size)

    def Pack(self, builder: flatbuffers.Builder) -> int:
        data = None
        if self.data is not None:
            payload = np.asarray(self.data, dtype=np.uint8).tobytes()
            builder.StartVector(1, len(payload), BUFFER_ALIGNMENT)
            # Same bulk copy flatbuffers' own CreateNumpyVector does, with our alignment.
            builder.head = builder.head - len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        schema.BufferAddOffset(builder, self.offset)
        schema.BufferAddSize(builder, self.size)
        return schema.BufferEnd(builder)


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else (value or "")
