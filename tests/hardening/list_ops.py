"""Print every operator of exported files with its input/output tensor types and options type: the tables
runtime/allowlist.py is written from.  python tests/hardening/list_ops.py export/model.onnx export/model.tflite ..."""

import collections
import sys

import onnx

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
from nextword.export.tflite import _unpack

files = sys.argv[1:]
onnx_ops = collections.defaultdict(set)
onnx_dtypes = set()
tfl = collections.defaultdict(set)
tfl_types = set()
casts = set()
attrs = set()
for f in files:
    data = open(f, "rb").read()
    if f.endswith(".onnx"):
        m = onnx.load_from_string(data)
        g = m.graph
        print(
            f, "opset", [(o.domain, o.version) for o in m.opset_import], "ir", m.ir_version, "funcs", len(m.functions)
        )
        for t in g.initializer:
            onnx_dtypes.add(t.data_type)
        for v in list(g.input) + list(g.output) + list(g.value_info):
            onnx_dtypes.add(v.type.tensor_type.elem_type)
        for n in g.node:
            onnx_ops[(n.domain, n.op_type)].add((len(n.input), len(n.output)))
            for a in n.attribute:
                attrs.add((n.op_type, a.name, a.type))
                if n.op_type == "Cast" and a.name == "to":
                    casts.add(a.i)
                if a.type == onnx.AttributeProto.TENSOR:
                    onnx_dtypes.add(a.t.data_type)
    else:
        m = _unpack(data)
        print(
            f,
            "subgraphs",
            len(m.subgraphs),
            "sigdefs",
            len(m.signatureDefs or []),
            "codes",
            [(c.builtinCode, c.deprecatedBuiltinCode, c.version) for c in m.operatorCodes],
        )
        for sg in m.subgraphs:
            for t in sg.tensors:
                tfl_types.add(t.type)
            for op in sg.operators:
                code = m.operatorCodes[op.opcodeIndex]
                b = max(code.builtinCode, code.deprecatedBuiltinCode)
                ins = tuple(sg.tensors[i].type if i >= 0 else None for i in op.inputs)
                outs = tuple(sg.tensors[i].type for i in op.outputs)
                tfl[b].add((ins, outs, op.builtinOptionsType))
print("ONNX ops")
[print(" ", k, sorted(v)) for k, v in sorted(onnx_ops.items())]
print("ONNX dtypes", sorted(onnx_dtypes), "casts", sorted(casts))
print("attrs", sorted(attrs))
print("TFL")
[print(" ", k, sorted(v, key=str)) for k, v in sorted(tfl.items())]
print("TFL types", sorted(tfl_types))
