"""The last gate before an engine sees a file: one format only, the exporter's graph only, sizes within limits.

Called by Predictor.from_bytes once the bundled config is read (its kind picks the allowlist), so every
number the runtime or an engine would allocate by has been checked first.
"""

from __future__ import annotations

from nextword.runtime.errors import CorruptModelError, UnsafeModelError
from nextword.runtime.limits import Limits, check_config_sizes

# onnxruntime runs a flatbuffer with this identifier at bytes 4..8 as an ORT-format model, whatever else the
# bytes parse as: a file can be a harmless ModelProto to our scanner and a different graph to onnxruntime.
ORT_IDENTIFIER = b"ORTM"


def check_model(data: bytes, fmt: str, config, limits: Limits, source: str) -> None:
    if data[4:8] == ORT_IDENTIFIER:
        raise UnsafeModelError(
            f"{source} is an ORT-format flatbuffer; only ONNX protobuf and TFLite files are accepted"
        )
    check_config_sizes(config, limits, source)
    if fmt == "tflite":
        if _parses_as_onnx(data):
            raise UnsafeModelError(f"{source} reads both as a TFLite flatbuffer and as an ONNX model")
        from nextword.runtime.tflite_graph import check_graph

        check_graph(data, config, limits, source)
    else:
        from nextword.runtime.onnx_graph import check_onnx_graph

        check_onnx_graph(data, config, limits, source)


def _parses_as_onnx(data: bytes) -> bool:
    from nextword.runtime.onnx_scan import scan_onnx

    try:
        scan_onnx(data, max_metadata_value_bytes=len(data))
    except (CorruptModelError, UnsafeModelError):
        return False
    return True
