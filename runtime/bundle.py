"""What every exported file carries so that nothing else has to ship beside it.

Three metadata entries, the same in ONNX metadata_props and in TFLite Model.metadata:
the format version, the legacy-Keras tokenizer JSON, and the training config JSON.
The runtime names both versions when it refuses a file (as llama2.c does with its "Bad version").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nextword.runtime.casing import case_table_from_json, case_table_to_json
from nextword.runtime.config import TrainConfig, required_fields
from nextword.runtime.contract import (
    FORMAT_VERSION,
    KEY_CASING,
    KEY_CONFIG,
    KEY_FORMAT_VERSION,
    KEY_TOKENIZER,
    KINDS_BY_VERSION,
    METADATA_KEYS,
    READABLE_FORMAT_VERSIONS,
)
from nextword.runtime.errors import (
    CorruptModelError,
    InputError,
    MissingMetadataError,
    NextwordError,
    UnsupportedVersionError,
    VocabularyMismatchError,
)
from nextword.runtime.tokenizer import Tokenizer, tokenizer_from_json


def vocab_size_of(tokenizer: Tokenizer) -> int:
    """Ids the model can output: 0 (padding) up to the largest word id, capped by num_words as the Tokenizer
    caps it. The largest id, not the count: an oov_token that also occurs in the text leaves id 1 unused."""
    size = max(tokenizer.index_word, default=0) + 1
    return min(size, tokenizer.num_words) if tokenizer.num_words else size


@dataclass(frozen=True)
class Bundle:
    format_version: int
    tokenizer: Tokenizer
    config: TrainConfig
    casing: dict = field(default_factory=dict)  # word -> display form (runtime/casing.py); empty: lowercase


def encode_bundle(tokenizer: Tokenizer, config: TrainConfig, casing: dict | None = None) -> dict[str, str]:
    # trimmed(): with num_words set, the words past it are dead weight in a file bound for a device.
    entries = {
        KEY_FORMAT_VERSION: str(FORMAT_VERSION),
        KEY_TOKENIZER: tokenizer.trimmed().to_json(),
        KEY_CONFIG: config.to_json(),
    }
    if casing:
        entries[KEY_CASING] = case_table_to_json(casing)
    return entries


def decode_bundle(entries: dict[str, str], *, source: str = "model") -> Bundle:
    missing = [key for key in METADATA_KEYS if key not in entries]
    if missing:
        raise MissingMetadataError(
            f"{source} has no nextword metadata ({', '.join(missing)} missing); was it exported by `nextword export`?"
        )
    raw_version = entries[KEY_FORMAT_VERSION]
    # isdigit() alone also accepts "²" and 5,000-digit strings, which int() then rejects with a bare ValueError.
    if not (raw_version.isascii() and raw_version.isdigit() and len(raw_version) <= 9):
        raise CorruptModelError(f"{source} has a malformed format version {raw_version[:20]!r}")
    version = int(raw_version)
    if version not in READABLE_FORMAT_VERSIONS:
        relation = "newer than" if version > FORMAT_VERSION else "older than"
        raise UnsupportedVersionError(
            f"{source} has format version {version}, {relation} this runtime's version {FORMAT_VERSION} "
            f"(it reads versions {', '.join(map(str, READABLE_FORMAT_VERSIONS))})"
        )
    try:
        tokenizer = tokenizer_from_json(entries[KEY_TOKENIZER], strict=True)
        config = TrainConfig.from_json(entries[KEY_CONFIG], required=required_fields(version))
    except UnsupportedVersionError:
        raise
    except (InputError, TypeError, ValueError, KeyError, RecursionError) as exc:  # RecursionError: deeply nested JSON
        if isinstance(exc, NextwordError):
            detail = str(exc)
        else:
            detail = f"{type(exc).__name__}: {str(exc)[:120]}"
        raise CorruptModelError(f"{source} has unreadable bundled metadata: {detail}") from None
    if config.kind not in KINDS_BY_VERSION[version]:  # version 1 predates the kinds: its files are window models
        raise CorruptModelError(
            f"{source}: format version {version} holds {' and '.join(KINDS_BY_VERSION[version])} models only, "
            f"not {config.kind!r}"
        )
    if config.vocab_size < 2:  # id 0 is padding: a model needs at least one word to suggest
        raise VocabularyMismatchError(f"{source}: bundled config vocab_size is {config.vocab_size}; at least 2 needed")
    if vocab_size_of(tokenizer) != config.vocab_size:
        raise VocabularyMismatchError(
            f"{source}: bundled tokenizer has {vocab_size_of(tokenizer)} ids but the config says {config.vocab_size}"
        )
    top = max(tokenizer.index_word)  # not empty: vocab_size_of is at least 2
    if top >= config.vocab_size:  # the exporter trims the tokenizer to its num_words
        raise VocabularyMismatchError(
            f"{source}: bundled tokenizer has ids up to {top}, past vocab_size {config.vocab_size}"
        )
    casing = {}
    if KEY_CASING in entries:
        words = {tokenizer.index_word.get(i) for i in range(1, config.vocab_size)}
        try:
            casing = case_table_from_json(entries[KEY_CASING], words, str.lower)
        except InputError as exc:
            raise CorruptModelError(f"{source} has an unreadable casing table: {exc}") from None
    return Bundle(version, tokenizer, config, casing)


def entries_to_text(raw: dict[str, bytes], *, source: str) -> dict[str, str]:
    """TFLite stores bytes; decode the nextword entries (others, like the converter's, are left alone)."""
    out = {}
    for key, value in raw.items():
        if key.startswith("nextword."):
            try:
                out[key] = value.decode("utf-8")
            except UnicodeDecodeError:
                raise CorruptModelError(f"{source}: metadata {key} is not UTF-8") from None
    return out
