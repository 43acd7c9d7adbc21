"""The runtime's bounds-checked TFLite metadata reader on hostile files: typed errors, never a crash.

Hostile files are the exported model rewritten through LiteRT's generated schema (a test tool here).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import repack_tflite
from nextword.runtime.errors import CorruptModelError, UnsafeModelError
from nextword.runtime.tflite_metadata import read_metadata

schema = pytest.importorskip("ai_edge_litert.schema_py_generated")

LIMIT = 1 << 22
TOKENIZER_KEY = "nextword.tokenizer"


@pytest.fixture(scope="module")
def with_metadata(exported_dir) -> bytes:
    return (exported_dir / "model.tflite").read_bytes()


@pytest.fixture(scope="module")
def tokenizer_blob(with_metadata) -> bytes:
    return read_metadata(with_metadata, max_value_bytes=LIMIT)[TOKENIZER_KEY]


def entry_buffer(model, name: str):
    return next(item for item in model.metadata if item.name.decode() == name)


@pytest.mark.parametrize("cut", ["empty", "inside header", "after identifier", "inside root", "half", "inside vocab"])
def test_reader_refuses_truncated_files(with_metadata, tokenizer_blob, cut):
    # Only truncations that cut what the reader walks must fail: bytes it never needs
    # (operator tables packed at the end) are the interpreter verifier's business.
    vocab_middle = with_metadata.index(tokenizer_blob) + len(tokenizer_blob) // 2
    size = {
        "empty": 0,
        "inside header": 3,
        "after identifier": 8,
        "inside root": 12,
        "half": len(with_metadata) // 2,
        "inside vocab": vocab_middle,
    }[cut]
    with pytest.raises(CorruptModelError):
        read_metadata(with_metadata[:size], max_value_bytes=LIMIT)


def test_reader_refuses_wrong_identifier(with_metadata):
    with pytest.raises(CorruptModelError, match="TFL3"):
        read_metadata(with_metadata[:4] + b"ONNX" + with_metadata[8:], max_value_bytes=LIMIT)


def test_reader_refuses_root_offset_outside_file(with_metadata):
    with pytest.raises(CorruptModelError, match="outside the file"):
        read_metadata(b"\xff\xff\xff\x7f" + with_metadata[4:], max_value_bytes=LIMIT)


def test_reader_refuses_duplicate_keys(with_metadata):
    def duplicate_vocab(model):
        vocab = entry_buffer(model, TOKENIZER_KEY).buffer
        model.metadata.append(schema.MetadataT(name=TOKENIZER_KEY, buffer=vocab))

    with pytest.raises(CorruptModelError, match="duplicate metadata key 'nextword.tokenizer'"):
        read_metadata(repack_tflite(with_metadata, duplicate_vocab), max_value_bytes=LIMIT)


def test_reader_refuses_oversized_values(with_metadata, tokenizer_blob):
    with pytest.raises(UnsafeModelError, match=TOKENIZER_KEY):
        read_metadata(with_metadata, max_value_bytes=len(tokenizer_blob) - 1)
    assert read_metadata(with_metadata, max_value_bytes=len(tokenizer_blob))[TOKENIZER_KEY] == tokenizer_blob


def test_reader_refuses_entries_sharing_a_buffer_beyond_the_file_size(with_metadata, tokenizer_blob):
    def alias_vocab_many_times(model):
        vocab = entry_buffer(model, TOKENIZER_KEY).buffer
        copies = len(with_metadata) // len(tokenizer_blob) + 1
        model.metadata += [schema.MetadataT(name=f"copy{i}", buffer=vocab) for i in range(copies)]

    with pytest.raises(UnsafeModelError, match="more than the file"):
        read_metadata(repack_tflite(with_metadata, alias_vocab_many_times), max_value_bytes=LIMIT)


def test_reader_refuses_buffer_index_out_of_range(with_metadata):
    def point_past_buffers(model):
        entry_buffer(model, TOKENIZER_KEY).buffer = len(model.buffers) + 5

    with pytest.raises(CorruptModelError, match="buffer"):
        read_metadata(repack_tflite(with_metadata, point_past_buffers), max_value_bytes=LIMIT)


def test_reader_follows_external_data_only_inside_the_file(with_metadata):
    def external(offset, size):
        def edit(model):
            buffer = model.buffers[entry_buffer(model, TOKENIZER_KEY).buffer]
            buffer.data, buffer.offset, buffer.size = None, offset, size

        return edit

    inside = repack_tflite(with_metadata, external(16, 32))
    assert read_metadata(inside, max_value_bytes=LIMIT)[TOKENIZER_KEY] == inside[16:48]
    with pytest.raises(CorruptModelError, match="outside the file"):
        read_metadata(repack_tflite(with_metadata, external(len(with_metadata) - 8, 64)), max_value_bytes=LIMIT)
    with pytest.raises(UnsafeModelError):
        read_metadata(repack_tflite(with_metadata, external(16, 1 << 40)), max_value_bytes=LIMIT)


def test_reader_fails_only_with_typed_errors_on_random_damage(with_metadata):
    rng = np.random.default_rng(5)
    original = np.frombuffer(with_metadata, dtype=np.uint8)
    # Aim half of the damage at the metadata tables, which the writer puts beside the entry names.
    near = with_metadata.find(b"nextword.")
    assert near > 0
    outcomes = set()
    for trial in range(400):
        damaged = original.copy()
        low, high = (max(0, near - 512), min(len(damaged), near + 512)) if trial % 2 else (0, len(damaged))
        positions = rng.integers(low, high, size=rng.integers(1, 4))
        damaged[positions] = rng.integers(0, 256, size=len(positions))
        try:
            read_metadata(damaged.tobytes(), max_value_bytes=LIMIT)
            outcomes.add("read")
        except (CorruptModelError, UnsafeModelError) as exc:
            assert "\n" not in str(exc)
            outcomes.add(type(exc).__name__)
    assert "CorruptModelError" in outcomes
