"""Read the named metadata entries of an untrusted .tflite file, touching nothing else.

Why this is careful: LiteRT verifies the flatbuffer only when the interpreter loads it from
bytes, but we parse Model.metadata in Python first (to find the vocabulary before building an
interpreter). The generated flatbuffers accessors trust every offset, and Python's
struct.unpack_from silently reads from the END of the buffer when handed a negative offset,
so a crafted file would yield garbage instead of an error. Hence a small reader that walks
only root -> metadata -> buffers and checks every offset against the file before using it.
"""

from __future__ import annotations

import struct

from nextword.runtime.errors import CorruptModelError, UnsafeModelError

TFLITE_IDENTIFIER = b"TFL3"

# Field numbers in the TFLite schema (schema.fbs); a field's vtable slot is 4 + 2 * number.
_MODEL_BUFFERS = 4
_MODEL_METADATA = 6
_METADATA_NAME = 0
_METADATA_BUFFER = 1
_BUFFER_DATA = 0
_BUFFER_OFFSET = 1
_BUFFER_SIZE = 2
MAX_METADATA_ENTRIES = 1024  # nextword writes 4


def check_entries(length: int, limit: int, what: str) -> None:
    if length > limit:
        raise UnsafeModelError(f"TFLite {what} lists {length:,} entries; nextword's files list at most {limit:,}")


def read_metadata(buf: bytes, *, max_value_bytes: int) -> dict[str, bytes]:
    """Every Model.metadata entry: name -> the bytes of its buffer."""
    reader = CheckedReader(memoryview(buf).cast("B"))
    try:
        return _read_entries(reader, max_value_bytes)
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        # UnicodeDecodeError lands here too: it is a ValueError.
        raise CorruptModelError(f"TFLite metadata is corrupt: {type(exc).__name__}") from None


def _read_entries(reader: CheckedReader, max_value_bytes: int) -> dict[str, bytes]:
    if reader.size < 8 or bytes(reader.data[4:8]) != TFLITE_IDENTIFIER:
        raise CorruptModelError("not a TFLite model (file identifier is not TFL3)")
    model = reader.indirect(0)
    if not 8 <= model < reader.size:
        raise CorruptModelError(f"TFLite root table offset {model} is outside the file")
    metadata = reader.table_vector(model, _MODEL_METADATA, MAX_METADATA_ENTRIES, "metadata")
    entries: dict[str, bytes] = {}
    total = 0
    for entry in metadata:
        name = reader.string(entry, _METADATA_NAME)
        if name in entries:
            raise CorruptModelError(f"duplicate metadata key {name!r} in TFLite model")
        index = reader.scalar(entry, _METADATA_BUFFER, "<I")
        buffer = reader.table_at(model, _MODEL_BUFFERS, index)
        if buffer is None:
            count = reader.vector(model, _MODEL_BUFFERS, 4)[1]
            raise CorruptModelError(f"metadata {name!r} points at buffer {index}, but the model has {count}")
        entries[name] = _buffer_bytes(reader, buffer, name, max_value_bytes)
        total += len(entries[name])
        if total > reader.size:
            # Honest files store each value once; entries sharing one big buffer would
            # multiply memory use far beyond the file's size.
            raise UnsafeModelError("TFLite metadata values add up to more than the file holds")
    return entries


def _buffer_bytes(reader: CheckedReader, buffer: int, name: str, max_value_bytes: int) -> bytes:
    offset = reader.scalar(buffer, _BUFFER_OFFSET, "<Q")
    if offset > 1:
        # Over-2 GB layout: data lies after the flatbuffer, addressed from the start of the file.
        size = reader.scalar(buffer, _BUFFER_SIZE, "<Q")
        _check_value_size(name, size, max_value_bytes)
        if offset + size > reader.size:
            raise CorruptModelError(f"metadata {name!r} data lies outside the file")
        return bytes(reader.data[offset : offset + size])
    start, length = reader.vector(buffer, _BUFFER_DATA, 1)
    _check_value_size(name, length, max_value_bytes)
    return bytes(reader.data[start : start + length])


def _check_value_size(name: str, size: int, max_value_bytes: int) -> None:
    if size > max_value_bytes:
        raise UnsafeModelError(f"metadata {name!r} is {size} bytes, over the {max_value_bytes}-byte limit")


class CheckedReader:
    """Flatbuffer navigation where each read is first checked to lie inside the file."""

    def __init__(self, data: memoryview):
        self.data = data
        self.size = len(data)

    def read(self, pos: int, fmt: str) -> int:
        if pos < 0 or pos + struct.calcsize(fmt) > self.size:
            raise CorruptModelError(f"TFLite model is truncated or corrupt (offset {pos} outside the file)")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def indirect(self, pos: int) -> int:
        """Follow the uoffset stored at pos."""
        return pos + self.read(pos, "<I")

    def field(self, table: int, number: int) -> int | None:
        """Absolute position of a table field, or None when the field is absent (default value)."""
        vtable = table - self.read(table, "<i")
        vtable_size = self.read(vtable, "<H")
        table_size = self.read(vtable + 2, "<H")
        slot = 4 + 2 * number
        if vtable_size < 4 or vtable + vtable_size > self.size or table + table_size > self.size:
            raise CorruptModelError("TFLite model is corrupt (bad vtable)")
        if slot + 2 > vtable_size:
            return None
        relative = self.read(vtable + slot, "<H")
        if relative == 0:
            return None
        if relative >= table_size:
            raise CorruptModelError("TFLite model is corrupt (field outside its table)")
        return table + relative

    def scalar(self, table: int, number: int, fmt: str) -> int:
        pos = self.field(table, number)
        return 0 if pos is None else self.read(pos, fmt)

    def vector(self, table: int, number: int, element_size: int) -> tuple[int, int]:
        """(start of elements, element count) of a vector field; (0, 0) when absent."""
        pos = self.field(table, number)
        if pos is None:
            return 0, 0
        header = self.indirect(pos)
        length = self.read(header, "<I")
        start = header + 4
        if start + length * element_size > self.size:
            raise CorruptModelError("TFLite model is truncated or corrupt (vector runs past the end)")
        return start, length

    def table_vector(self, table: int, number: int, limit: int, what: str) -> list[int]:
        """Positions of the tables in a vector-of-tables field, refused past `limit` before any is read: the
        entries are 4-byte offsets that may all name one table, so a file can list millions of them."""
        start, length = self.vector(table, number, 4)
        check_entries(length, limit, what)
        return [self.indirect(start + 4 * i) for i in range(length)]

    def table_at(self, table: int, number: int, index: int) -> int | None:
        """The position of entry `index` of a vector-of-tables field (None past its end), the others unread."""
        start, length = self.vector(table, number, 4)
        return self.indirect(start + 4 * index) if index < length else None

    def string(self, table: int, number: int) -> str:
        start, length = self.vector(table, number, 1)
        return bytes(self.data[start : start + length]).decode("utf-8")
