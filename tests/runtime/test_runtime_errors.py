"""Every file the runtime refuses, refused with a typed error whose one-line message names the problem.

Hostile files are real exports with edited metadata: the onnx package rewrites metadata_props (fine in
tests; it is not a runtime dependency), and TFLite entries are stripped and re-embedded with the exporter's
own flatbuffer helpers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from nextword.runtime.contract import KEY_CONFIG, KEY_FORMAT_VERSION, KEY_TOKENIZER
from nextword.runtime.errors import (
    CorruptModelError,
    InputError,
    MissingMetadataError,
    ModelFormatError,
    UnsafeModelError,
    UnsupportedVersionError,
    VocabularyMismatchError,
)
from nextword.runtime.predictor import Predictor
from nextword.runtime.tokenizer import tokenizer_from_json


@pytest.fixture(scope="module")
def model_file(model_path):
    return model_path


def read_entries(data: bytes, fmt: str) -> dict[str, str]:
    if fmt == "onnx":
        import onnx

        return {entry.key: entry.value for entry in onnx.load_from_string(data).metadata_props}
    from nextword.runtime.tflite_metadata import read_metadata

    return {k: v.decode() for k, v in read_metadata(data, max_value_bytes=1 << 30).items() if k.startswith("nextword.")}


def with_entries(data: bytes, fmt: str, entries: dict[str, str]) -> bytes:
    """The same model with its nextword metadata replaced by `entries` (all other bytes of the graph kept)."""
    if fmt == "onnx":
        onnx = pytest.importorskip("onnx")
        proto = onnx.load_from_string(data)
        del proto.metadata_props[:]
        for key, value in entries.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        return proto.SerializeToString()
    from nextword.export.tflite import _rewrite, embed_metadata

    def strip(model):
        model.metadata = [item for item in model.metadata or [] if not _name(item.name).startswith("nextword.")]

    stripped = _rewrite(data, strip)
    return (
        embed_metadata(stripped, {key: value.encode("utf-8") for key, value in entries.items()})
        if entries
        else stripped
    )


def _name(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def edited(model_file, tmp_path, edit) -> tuple:
    """Write a copy of `model_file` whose metadata is edit(entries); returns (path, original entries)."""
    data = model_file.read_bytes()
    fmt = model_file.suffix[1:]
    entries = read_entries(data, fmt)
    path = tmp_path / model_file.name
    path.write_bytes(with_entries(data, fmt, edit(dict(entries))))
    return path, entries


def load_error(path, **kwargs) -> Exception:
    with pytest.raises(ModelFormatError) as info:
        Predictor.load(path, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message, "one line"
    return info.value


def test_rewriting_the_metadata_unchanged_still_loads(model_file, tmp_path):
    # Guards the helpers below: a refusal must come from the edit, not from the rewrite itself.
    path, _ = edited(model_file, tmp_path, lambda entries: entries)
    assert Predictor.load(path).predict_next("the value", 3) == Predictor.load(model_file).predict_next("the value", 3)


# --- not a usable file ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        Predictor.load(tmp_path / "nope.onnx")


def test_directory(tmp_path):
    with pytest.raises(InputError, match="not a file"):
        Predictor.load(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"")
    error = load_error(tmp_path / "model.onnx")
    assert isinstance(error, CorruptModelError) and "truncated (0 bytes)" in str(error)


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.25, 0.5, 0.75, 0.98, 0.9999])
def test_truncated_model(model_file, tmp_path, fraction):
    data = model_file.read_bytes()
    cut = max(4, int(len(data) * fraction))
    path = tmp_path / model_file.name
    path.write_bytes(data[:cut])
    error = load_error(path)
    assert isinstance(error, CorruptModelError)
    assert any(
        word in str(error) for word in ("truncated", "outside the file", "runs past", "not a valid", "corrupt")
    ), error


def test_cut_by_one_byte(model_file, tmp_path):
    path = tmp_path / model_file.name
    path.write_bytes(model_file.read_bytes()[:-1])
    assert isinstance(load_error(path), CorruptModelError)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    "prefix", [b"", b"\x08", b"\x1c\x00\x00\x00TFL3"], ids=["plain", "protobuf-tag", "tflite-header"]
)
def test_random_bytes(tmp_path, seed, prefix):
    data = np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path = tmp_path / "model.bin"
    path.write_bytes(prefix + data[len(prefix) :])
    assert isinstance(load_error(path), CorruptModelError)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00",
        json.dumps({"nextword.format_version": "1", "weights": [0.1, 0.2]}).encode(),
    ],
    ids=["png", "json"],
)
def test_file_of_neither_format(tmp_path, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    error = load_error(path)
    assert isinstance(error, CorruptModelError) and "neither a TFLite flatbuffer nor an ONNX model" in str(error)


# --- metadata ------------------------------------------------------------------------------------


def test_no_nextword_metadata(model_file, tmp_path):
    path, _ = edited(model_file, tmp_path, lambda entries: {})
    error = load_error(path)
    assert isinstance(error, MissingMetadataError)
    assert "no nextword metadata" in str(error) and KEY_TOKENIZER in str(error)


@pytest.mark.parametrize("key", [KEY_FORMAT_VERSION, KEY_TOKENIZER, KEY_CONFIG])
def test_one_entry_missing_is_named(model_file, tmp_path, key):
    path, _ = edited(model_file, tmp_path, lambda entries: {k: v for k, v in entries.items() if k != key})
    error = load_error(path)
    assert isinstance(error, MissingMetadataError) and key in str(error)


def test_newer_format_version(model_file, tmp_path):
    path, _ = edited(model_file, tmp_path, lambda entries: entries | {KEY_FORMAT_VERSION: "3"})
    error = load_error(path)
    assert isinstance(error, UnsupportedVersionError)
    assert "format version 3" in str(error) and "version 2" in str(error)


def test_version_1_files_of_the_window_kind_still_load(model_file, tmp_path):
    # What the previous release wrote: format version 1 and a config without `kind`.
    def as_version_1(entries):
        config = json.loads(entries[KEY_CONFIG])
        config = {k: v for k, v in config.items() if k in VERSION_1_CONFIG_FIELDS}
        return entries | {KEY_FORMAT_VERSION: "1", KEY_CONFIG: json.dumps(config)}

    path, _ = edited(model_file, tmp_path, as_version_1)
    predictor = Predictor.load(path)
    assert predictor.bundle.format_version == 1 and predictor.bundle.config.kind == "window"
    assert predictor.predict_next("the value of") == Predictor.load(model_file).predict_next("the value of")


def test_version_1_files_cannot_claim_the_sequence_kind(model_file, tmp_path):
    path, _ = edited(
        model_file, tmp_path, lambda e: e | {KEY_FORMAT_VERSION: "1", KEY_CONFIG: with_kind(e, "sequence")}
    )
    error = load_error(path)
    assert isinstance(error, CorruptModelError) and "version 1" in str(error)


def with_kind(entries, kind: str) -> str:
    return json.dumps(json.loads(entries[KEY_CONFIG]) | {"kind": kind})


# The config fields a format-version-1 file carried (the release before the model kinds).
VERSION_1_CONFIG_FIELDS = {
    "seq_len",
    "embedding_dim",
    "units",
    "hidden",
    "epochs",
    "batch_size",
    "validation_split",
    "learning_rate",
    "seed",
    "num_words",
    "oov_token",
    "vocab_from_training_split",
    "vocab_size",
    "corpus_sha256",
    "corpus_name",
    "preset",
    "version",
}


@pytest.mark.parametrize("version", ["", "one", "-1", "1.0"])
def test_malformed_format_version(model_file, tmp_path, version):
    path, _ = edited(model_file, tmp_path, lambda entries: entries | {KEY_FORMAT_VERSION: version})
    error = load_error(path)
    assert isinstance(error, CorruptModelError) and "format version" in str(error)


def test_unreadable_bundled_tokenizer(model_file, tmp_path):
    path, _ = edited(model_file, tmp_path, lambda entries: entries | {KEY_TOKENIZER: "{not json"})
    error = load_error(path)
    assert isinstance(error, CorruptModelError) and "bundled metadata" in str(error)


def test_config_vocab_size_disagrees_with_tokenizer(model_file, tmp_path):
    def shrink_config(entries):
        config = json.loads(entries[KEY_CONFIG])
        return entries | {KEY_CONFIG: json.dumps(config | {"vocab_size": config["vocab_size"] - 1})}

    path, entries = edited(model_file, tmp_path, shrink_config)
    error = load_error(path)
    vocab_size = json.loads(entries[KEY_CONFIG])["vocab_size"]
    assert isinstance(error, VocabularyMismatchError)
    assert f"{vocab_size} ids" in str(error) and str(vocab_size - 1) in str(error)


def test_bundled_vocabulary_disagrees_with_model_output(model_file, tmp_path):
    # Tokenizer and config agree with each other (num_words caps both at 100) but not with the graph.
    def cap_vocabulary(entries):
        config = json.loads(entries[KEY_CONFIG])
        tokenizer = tokenizer_from_json(entries[KEY_TOKENIZER])
        tokenizer.num_words = 100
        kept = {key: value for key, value in entries.items() if key != "nextword.casing"}  # it names dropped words
        return kept | {
            KEY_CONFIG: json.dumps(config | {"vocab_size": 100, "num_words": 100}),
            KEY_TOKENIZER: tokenizer.trimmed().to_json(),  # a bundle holds ids below vocab_size only
        }

    path, entries = edited(model_file, tmp_path, cap_vocabulary)
    error = load_error(path)
    vocab_size = json.loads(entries[KEY_CONFIG])["vocab_size"]
    assert isinstance(error, VocabularyMismatchError)
    assert f"outputs {vocab_size} probabilities" in str(error) and "100 ids" in str(error)


def test_config_context_disagrees_with_model_input(model_file, tmp_path):
    def longer_window(entries):
        return entries | {KEY_CONFIG: json.dumps(json.loads(entries[KEY_CONFIG]) | {"seq_len": 5})}

    path, _ = edited(model_file, tmp_path, longer_window)
    error = load_error(path)
    assert isinstance(error, CorruptModelError) and "does not take 4 ids" in str(error)


def test_metadata_over_the_limit(model_file):
    error = load_error(model_file, max_metadata_bytes=1000)
    assert isinstance(error, UnsafeModelError) and "1000" in str(error)


# --- options -------------------------------------------------------------------------------------


def test_backend_override_that_disagrees_with_the_file(model_file):
    fmt = model_file.suffix[1:]
    other = "tflite" if fmt == "onnx" else "onnx"
    error = load_error(model_file, backend=other)
    assert isinstance(error, CorruptModelError) and f"in the {fmt} format, not {other}" in str(error)
    assert Predictor.load(model_file, backend=fmt).backend.name == fmt


def test_unknown_backend(model_file):
    with pytest.raises(InputError, match="unknown backend 'torch'"):
        Predictor.load(model_file, backend="torch")


def test_file_over_max_file_bytes(model_file):
    size = model_file.stat().st_size
    error = load_error(model_file, max_file_bytes=size - 1)
    assert isinstance(error, UnsafeModelError)
    assert f"{size} bytes" in str(error) and f"{size - 1}-byte limit" in str(error)
    assert Predictor.load(model_file, max_file_bytes=size).vocab_size > 1


def test_threads_must_be_positive(model_file):
    with pytest.raises(InputError, match="threads"):
        Predictor.load(model_file, threads=0)
