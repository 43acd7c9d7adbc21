"""Which format a model file is in, read from its first bytes (JS twin: runtime/js/src/formats/sniff.js)."""

from __future__ import annotations

from nextword.runtime.errors import CorruptModelError
from nextword.runtime.tflite_metadata import TFLITE_IDENTIFIER  # bytes 4..8 of every TFLite flatbuffer

# The first byte of an ONNX ModelProto: the tag of one of its fields (a protobuf key, field number << 3 | type).
ONNX_FIRST_BYTES = (b"\x08", b"\x12", b"\x1a", b"\x22", b"\x2a", b"\x3a", b"\x42", b"\x72")


def sniff_format(data: bytes, source: str) -> str:
    if len(data) < 8:
        raise CorruptModelError(f"{source} is truncated ({len(data)} bytes)")
    if data[4:8] == TFLITE_IDENTIFIER:
        return "tflite"
    if data[:1] in ONNX_FIRST_BYTES:
        return "onnx"
    raise CorruptModelError(f"{source} is neither a TFLite flatbuffer nor an ONNX model")
