"""Write runtime/js/src/allowlist.js from the Python loader's tables: the operator allowlists (runtime/allowlist.py),
the limits and graph bounds (runtime/limits.py), the graph readers' constants (onnx_graph.py, onnx_scan.py, tflite_graph.py), the
bundled config's field types and required fields (config.py, tokenizer.py) and the output checks' tolerances
(kinds/base.py). Both runtimes must refuse the same files, so these numbers have one
source; tests/runtime/test_js_allowlist.py fails when the committed file differs from this output.

    python runtime/js/scripts/make_allowlist.py      # after changing any of those modules
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from nextword.runtime import (
    allowlist,
    config,
    contract,
    limits,
    model_check,
    onnx_graph,
    onnx_scan,
    predictor,
    tflite_graph,
    tflite_metadata,
    tokenizer,
)
from nextword.runtime.kinds import base

TARGET = Path(__file__).resolve().parents[1] / "src" / "allowlist.js"


def js(value) -> str:
    """A frozen JS literal; sets become sorted arrays, the allowlist's MORE (...) the string '...'."""
    if value is Ellipsis:
        return json.dumps("...")
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: (str(type(item[0])), item[0]))
        return "Object.freeze({ " + ", ".join(f"{json.dumps(str(k))}: {js(v)}" for k, v in items) + " })"
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=repr)
    if isinstance(value, (tuple, list)):
        return "Object.freeze([" + ", ".join(js(item) for item in value) + "])"
    if isinstance(value, bytes):
        return json.dumps(value.decode("ascii"))
    return json.dumps(value)


def onnx_operators(kind: str) -> dict:
    """{domain: {op_type: [[inputs, outputs], ...]}}: nested, so no separator can make two names collide."""
    out: dict = {}
    for (domain, op_type), counts in allowlist.ONNX_OPERATORS[kind].items():
        out.setdefault(domain, {})[op_type] = sorted(counts)
    return out


def tflite_operators(kind: str) -> dict:
    return {code: sorted(forms, key=repr) for code, forms in allowlist.TFLITE_OPERATORS[kind].items()}


JSON_TYPES = {int: "int", float: "float", str: "str", bool: "bool", type(None): "null"}


def config_field_types() -> dict:
    """TrainConfig field -> the JSON types Python's from_dict accepts (a float field also takes an integer)."""
    return {name: [JSON_TYPES[t] for t in types] for name, types in config._field_types().items()}


def constants() -> dict:
    kinds = tuple(allowlist.ONNX_OPERATORS)
    return {
        "ONNX_OPERATORS": {kind: onnx_operators(kind) for kind in kinds},
        "ONNX_TENSOR_TYPES": dict(allowlist.ONNX_TENSOR_TYPES),
        "ONNX_DOMAINS": allowlist.ONNX_DOMAINS,
        "ONNX_ITEMSIZE": allowlist.ONNX_ITEMSIZE,
        "ONNX_SHAPE_INPUTS": allowlist.ONNX_SHAPE_INPUTS,
        "ONNX_SHAPE_PLUMBING": allowlist.ONNX_SHAPE_PLUMBING,
        "ONNX_SIZE_ATTRIBUTES": {f"{op}.{attr}": limit for (op, attr), limit in allowlist.ONNX_SIZE_ATTRIBUTES.items()},
        "ONNX_INT32": allowlist.INT32,
        "ONNX_INT64": allowlist.INT64,
        "ONNX_MAX_SHAPE_RANK": onnx_graph.MAX_SHAPE_RANK,
        "ONNX_MAX_FIELDS": onnx_scan.MAX_FIELDS,
        "ONNX_MAX_NAME_BYTES": onnx_graph.MAX_NAME_BYTES,
        "ONNX_MAX_NODE_BYTES": onnx_graph.MAX_NODE_BYTES,
        "ONNX_MAX_ATTRIBUTE_BYTES": onnx_graph.MAX_ATTRIBUTE_BYTES,
        "ONNX_MAX_SHAPE_CONSTANT": onnx_graph.MAX_SHAPE_CONSTANT,
        "ONNX_LSTM_WEIGHT_DIMS": onnx_graph.LSTM_WEIGHT_DIMS,
        "ONNX_WEIGHT_PLUMBING": onnx_graph.WEIGHT_PLUMBING,
        "ONNX_MIN_INT_CONSTANT": onnx_graph.MIN_INT_CONSTANT,
        "ONNX_SLICE_ENDS": onnx_graph.SLICE_ENDS,
        "TFLITE_OPERATORS": {kind: tflite_operators(kind) for kind in kinds},
        "TFLITE_TENSOR_TYPES": dict(allowlist.TFLITE_TENSOR_TYPES),
        "TFLITE_SUBGRAPHS": allowlist.TFLITE_SUBGRAPHS,
        "TFLITE_ITEMSIZE": allowlist.TFLITE_ITEMSIZE,
        "TFLITE_I32": allowlist.I32,
        "TFLITE_SHAPE_INPUTS": allowlist.TFLITE_SHAPE_INPUTS,
        "TFLITE_SHAPE_PLUMBING": allowlist.TFLITE_SHAPE_PLUMBING,
        "TFLITE_OPTIONAL_INPUTS": tflite_graph.OPTIONAL_INPUTS,
        "TFLITE_COUNTED_BY_OPTIONS": tflite_graph.COUNTED_BY_OPTIONS,
        "TFLITE_SPLIT": tflite_graph.SPLIT,
        "TFLITE_GATHER": tflite_graph.GATHER,
        "TFLITE_MAX_SHAPE_RANK": tflite_graph.MAX_SHAPE_RANK,
        "TFLITE_MAX_SUBGRAPHS": tflite_graph.MAX_SUBGRAPHS,
        "TFLITE_MAX_SIGNATURE_TENSORS": tflite_graph.MAX_SIGNATURE_TENSORS,
        "TFLITE_ENTRIES_PER_OPERATOR": tflite_graph.ENTRIES_PER_OPERATOR,
        "TFLITE_SHARED_CONSTANT_BYTES": tflite_graph.SHARED_CONSTANT_BYTES,
        "TFLITE_MAX_METADATA_ENTRIES": tflite_metadata.MAX_METADATA_ENTRIES,
        "DEFAULT_LIMITS": dataclasses.asdict(limits.DEFAULT_LIMITS),
        "GRAPH_FIXED_NODES": limits.GRAPH_FIXED_NODES,
        "GRAPH_NODES_PER_CELL": limits.GRAPH_NODES_PER_CELL,
        "PLANNED_PER_FILE_BYTE": limits.PLANNED_PER_FILE_BYTE,
        "PLANNED_SLACK_BYTES": limits.PLANNED_SLACK_BYTES,
        "ORT_IDENTIFIER": model_check.ORT_IDENTIFIER,
        "DEFAULT_MAX_FILE_BYTES": predictor.DEFAULT_MAX_FILE_BYTES,
        "DEFAULT_MAX_METADATA_BYTES": predictor.DEFAULT_MAX_METADATA_BYTES,
        "CONFIG_VERSION": config.CONFIG_VERSION,
        "CONFIG_FIELD_TYPES": config_field_types(),
        "CONFIG_REQUIRED_FIELDS": {v: config.required_fields(v) for v in contract.READABLE_FORMAT_VERSIONS},
        "TOKENIZER_MAX_ID": tokenizer._MAX_ID,
        "PROB_SUM_TOLERANCE": base.PROB_SUM_TOLERANCE,
        "PROB_MAX": base.PROB_MAX,
        "TOP_MATCH_TOLERANCE": base.TOP_MATCH_TOLERANCE,
    }


def allowlist_js() -> str:
    lines = [
        "// Generated by runtime/js/scripts/make_allowlist.py from the Python loader (runtime/allowlist.py, limits.py,",
        "// onnx_graph.py, tflite_graph.py, config.py, tokenizer.py, kinds/base.py): edit those, then run the",
        "// script. The operators, tensor types, limits, config schema and tolerances both runtimes refuse files",
        "// by (tests/runtime/test_js_allowlist.py checks it).",
        "// TFLite forms are [input types, output types, options type]; null is an absent optional input, '...' the",
        "// type before it repeated. ONNX operators are {domain: {op_type: [[inputs, outputs], ...]}}.",
    ]
    lines += [f"export const {name} = {js(value)};" for name, value in constants().items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TARGET.write_text(allowlist_js(), encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)
