"""What nextword's exporter emits, per model kind: the only operators and tensor types the runtime will run.

A list of known crashes never ends (issue 11: 40 of 9,240 single-opcode swaps crashed LiteRT, a WHILE
recursing into its own subgraph, an ONNX Loop of 2^62 turns); a list of what the exporter writes does.
Anything else is refused before an engine sees the file, so no engine call can loop (no WHILE, IF, CALL,
Loop, Scan, If, functions or subgraphs) and no kernel nextword never tested is reached.

How the window lists were derived: `nextword export` of a tiny trained model (tests/conftest.py's
tiny_config) with every option (float32, --quantize dynamic, --quantize float16; ONNX opset 17 and TFLite),
then every operator of every file listed with its input and output tensor types and options type
(tests/hardening/list_ops.py prints exactly these tables; rerun it when the exporter changes).
Variadic counts follow the config, not the exporter: UNPACK has one output per context word.
The sequence lists below were derived the same way from a 2-layer sequence-kind export.
"""

from __future__ import annotations

# --- TFLite (schema.fbs) --------------------------------------------------------------------------------
F32, F16, I32, U8, I64, BOOL, I8 = 0, 1, 2, 3, 4, 6, 9  # TensorType
NONE = None  # an optional input left out (-1)
MORE = ...  # the type before it, repeated any number of further times

# builtin code -> {(input types, output types, builtin options type)}
_TFLITE_WINDOW = {
    0: {((F32, F32), (F32,), 11), ((I32, I32), (I32,), 11)},  # ADD
    6: {((F16,), (F32,), 0), ((I8,), (F32,), 0)},  # DEQUANTIZE (float16 and dynamic-range weights)
    # FULLY_CONNECTED; int8 weights without a bias: the tied output layer of --quantize int8 / dynamic
    9: {
        ((F32, F32, F32), (F32,), 8),
        ((F32, F32, NONE), (F32,), 8),
        ((F32, I8, F32), (F32,), 8),
        ((F32, I8, NONE), (F32,), 8),
    },
    14: {((F32,), (F32,), 0)},  # LOGISTIC
    18: {((F32, F32), (F32,), 21)},  # MUL
    25: {((F32,), (F32,), 9)},  # SOFTMAX
    28: {((F32,), (F32,), 0)},  # TANH
    36: {((F32, I32), (F32,), 23), ((I8, I32), (I8,), 23)},  # GATHER
    39: {((F32, I32), (F32,), 0)},  # TRANSPOSE
    45: {((F32, I32, I32, I32), (F32,), 32), ((I32, I32, I32, I32), (I32,), 32)},  # STRIDED_SLICE
    48: {((F32, I32), (F32, I32), 34)},  # TOPK_V2
    49: {((I32, F32), (F32, F32, F32, F32), 35)},  # SPLIT (the LSTM's four gates)
    58: {((I32, I32), (BOOL,), 0)},  # LESS
    77: {((F32,), (I32,), 55)},  # SHAPE
    83: {((I32, I32, MORE), (I32,), 59)},  # PACK
    88: {((F32,), (F32, MORE), 64)},  # UNPACK
    94: {((I32, F32), (F32,), 0)},  # FILL
    123: {((BOOL, I32, I32), (I32,), 98)},  # SELECT_V2
}
# The sequence kind's step graph (export/step_graph.py, TFLite unrolled at n = 1), listed the same way from a
# 2-layer export with every option: no SHAPE/FILL (the state is an input), a CONCATENATION of the 2 * layers
# state halves, and PACK/UNPACK over floats.
_TFLITE_SEQUENCE = {code: forms for code, forms in _TFLITE_WINDOW.items() if code not in (77, 94)}
_TFLITE_SEQUENCE.update(
    {
        2: {((F32, F32, MORE), (F32,), 10)},  # CONCATENATION
        83: {((F32, MORE), (F32,), 59)},  # PACK
    }
)
TFLITE_OPERATORS = {"window": _TFLITE_WINDOW, "sequence": _TFLITE_SEQUENCE}
TFLITE_TENSOR_TYPES = {"window": frozenset({F32, F16, I32, BOOL, I8}), "sequence": frozenset({F32, F16, I32, BOOL, I8})}
TFLITE_SUBGRAPHS = {"window": 1, "sequence": 1}
TFLITE_ITEMSIZE = {F32: 4, F16: 2, I32: 4, U8: 1, I64: 8, BOOL: 1, I8: 1}
# Where an operator's output shape comes from numbers rather than from its inputs' shapes: builtin -> input.
TFLITE_SHAPE_INPUTS = {94: 0}  # FILL(dims, value)
# Operators a shape is assembled through, and which of their inputs carry it (None: all).
TFLITE_SHAPE_PLUMBING = {83: None, 45: (0,), 0: None, 123: (1, 2)}  # PACK, STRIDED_SLICE, ADD, SELECT_V2

# --- ONNX (onnx.proto) ----------------------------------------------------------------------------------
FLOAT, UINT8, INT8, INT32, INT64, BOOLEAN, FLOAT16 = 1, 2, 3, 6, 7, 9, 10  # TensorProto.DataType
MS = "com.microsoft"

# (domain, op_type) -> {(inputs, outputs)}, empty-named optional inputs counted as tf2onnx writes them
_ONNX_WINDOW = {
    ("", "Add"): {(2, 1)},
    ("", "Cast"): {(1, 1)},
    ("", "Concat"): {(2, 1)},
    ("", "DequantizeLinear"): {(3, 1)},
    ("", "DynamicQuantizeLinear"): {(1, 3)},
    ("", "Expand"): {(2, 1)},
    ("", "Gather"): {(2, 1)},
    ("", "LSTM"): {(7, 3)},
    ("", "Less"): {(2, 1)},
    ("", "MatMul"): {(2, 1)},
    ("", "MatMulInteger"): {(4, 1)},
    ("", "Mul"): {(2, 1)},
    ("", "Not"): {(1, 1)},
    ("", "Relu"): {(1, 1)},
    ("", "Shape"): {(1, 1)},
    ("", "Slice"): {(4, 1)},
    ("", "Softmax"): {(1, 1)},
    ("", "Squeeze"): {(2, 1)},
    ("", "TopK"): {(2, 2)},
    ("", "Transpose"): {(1, 1)},
    ("", "Unsqueeze"): {(2, 1)},
    (MS, "DynamicQuantizeLSTM"): {(12, 3)},
}
# Sequence kind (one ONNX LSTM per layer, dynamic n): no Shape/Expand (the state is an input), and a Concat of
# the 2 * layers state halves.
_ONNX_SEQUENCE = {op: counts for op, counts in _ONNX_WINDOW.items() if op not in (("", "Shape"), ("", "Expand"))}
_ONNX_SEQUENCE[("", "Concat")] = {(n, 1) for n in range(2, 2 * 64 + 1)}  # up to Limits.max_layers
ONNX_OPERATORS = {"window": _ONNX_WINDOW, "sequence": _ONNX_SEQUENCE}
ONNX_TENSOR_TYPES = {
    "window": frozenset({FLOAT, UINT8, INT8, INT32, INT64, BOOLEAN, FLOAT16}),
    "sequence": frozenset({FLOAT, UINT8, INT8, INT32, INT64, BOOLEAN, FLOAT16}),
}
ONNX_DOMAINS = {"": (9, 21), "ai.onnx.ml": (1, 5), MS: (1, 1)}  # opset versions the exporter may stamp
ONNX_ITEMSIZE = {FLOAT: 4, UINT8: 1, INT8: 1, INT32: 4, INT64: 8, BOOLEAN: 1, FLOAT16: 2}
ONNX_SHAPE_INPUTS = {"Expand": 1}  # op_type -> the input its output shape is read from
ONNX_SHAPE_PLUMBING = {"Concat": None, "Cast": None, "Unsqueeze": (0,), "Squeeze": (0,), "Slice": (0,)}
# Attributes that size tensors directly: (op_type, attribute) -> which limit bounds it.
ONNX_SIZE_ATTRIBUTES = {("LSTM", "hidden_size"): "max_units", ("DynamicQuantizeLSTM", "hidden_size"): "max_units"}


def tflite_signature_allowed(kind: str, code: int, inputs: tuple, outputs: tuple, options: int) -> bool:
    return any(
        _matches(inputs, want_in) and _matches(outputs, want_out) and options == want_options
        for want_in, want_out, want_options in TFLITE_OPERATORS[kind].get(code, ())
    )


def _matches(actual: tuple, pattern: tuple) -> bool:
    if pattern and pattern[-1] is MORE:
        fixed = pattern[:-1]
        return (
            len(actual) >= len(fixed)
            and actual[: len(fixed)] == fixed
            and all(t == fixed[-1] for t in actual[len(fixed) :])
        )
    return actual == pattern


# --- the sequence kind's step graph (export/step_graph.py) ------------------------------------------------
# Listed from its exports (1 and 2 layers; float32, dynamic, float16) as for the window kind. Beyond the
# window's operators it concatenates every layer's (h, c) into state_out (2 x layers inputs) and, in TFLite,
# packs the last layer's one-step output.
ONNX_OPERATORS["sequence"][("", "Concat")] = {(2 * layers, 1) for layers in range(1, 65)}  # limits.max_layers
ONNX_OPERATORS["sequence"][("", "Gemm")] = {(2, 1)}  # the tied softmax, h E^T, reading the embedding table itself
TFLITE_OPERATORS["sequence"][2] = {((F32, F32, MORE), (F32,), 10)}  # CONCATENATION
TFLITE_OPERATORS["sequence"][83] = TFLITE_OPERATORS["sequence"][83] | {((F32, MORE), (F32,), 59)}  # PACK
