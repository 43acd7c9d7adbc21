"""The export stage: a training folder -> model.onnx, model.tflite (+ quantized variants) and manifest.json.

Every file carries the bundled vocabulary and config, and every file is validated against Keras
before the output folder is swapped into place; a failed validation leaves --out as it was.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import re
from dataclasses import dataclass
from importlib import metadata as package_metadata
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from nextword.export import quality, validate, validate_sequence
from nextword.runtime.bundle import encode_bundle
from nextword.runtime.contract import FORMAT_VERSION, FORMATS, QUANTIZE_MODES
from nextword.runtime.corpus import EMBEDDED_CORPUS, Corpus, load_corpus
from nextword.runtime.errors import InputError, ModelFormatError, ValidationError
from nextword.runtime.files import OutputKind, check_apart, check_output_dir, staged_dir
from nextword.runtime.predictor import Predictor
from nextword.train.folder import TrainedModel, load_training_dir
from nextword.train.prepare import prepare

DEFAULT_OPSET = 17
MAX_VALIDATION_WINDOWS = 4096  # a slice of the held-out tail: >= 1,000 windows, bounded memory for big vocabularies
MIN_VALIDATION_WINDOWS = 1000
MAX_VALIDATION_POSITIONS = 2048  # sequence kind: steps of 1 through every file, so fewer than windows


@dataclass(frozen=True)
class ExportOptions:
    formats: tuple[str, ...] = FORMATS
    opset: int = DEFAULT_OPSET
    quantize: str = "none"
    allow_accuracy_loss: bool = False
    corpus: str | None = None  # where the training text is, if not where config.json says
    tflite_batch1: bool = False  # also model.batch1.tflite: batch fixed to 1, for LiteRT.js (cannot resize inputs)

    def __post_init__(self):
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise InputError(f"unknown format {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")
        if self.quantize not in QUANTIZE_MODES:
            raise InputError(f"unknown quantization {self.quantize!r}; choose from {', '.join(QUANTIZE_MODES)}")
        if self.tflite_batch1 and "tflite" not in self.formats:
            raise InputError("--tflite-batch1 needs the tflite format")
        if not 9 <= self.opset <= 21:
            raise InputError(f"opset {self.opset} is outside the range this exporter supports (9 to 21)")


# What --force may replace: a folder holding manifest.json and only model files of any variant
# (model.onnx, model.float16.tflite, model.batch1.tflite, ...).
EXPORT_OUTPUT = OutputKind("export", "manifest.json", re.compile(r"manifest\.json|model(\.[a-z0-9]+)*\.(onnx|tflite)"))


def export(
    train_dir: str | Path, out: str | Path, options: ExportOptions = ExportOptions(), *, force: bool = False, log=print
) -> dict:
    """Convert, validate and write; returns the manifest. Raises ValidationError if any file disagrees with Keras."""
    check_apart(out, [train_dir], "training folder")  # --force would replace the input itself
    check_apart(out, [options.corpus] if options.corpus else [], "corpus")
    check_output_dir(out, force=force, kind=EXPORT_OUTPUT)
    trained = load_training_dir(train_dir)
    corpus = validation_corpus(trained, options.corpus)
    sequence = trained.config.kind == "sequence"
    inputs = (sequence_validation_inputs if sequence else validation_inputs)(trained, corpus)
    expected = {
        name: (keras_sequence_probs if sequence else keras_probs)(trained.model, ids) for name, ids in inputs.items()
    }
    metadata = encode_bundle(trained.tokenizer, trained.config, trained.casing)

    files: dict[str, bytes] = {}
    reports: list[validate.Report] = []
    quantized_files = set()
    for fmt in options.formats:
        for mode, batch1 in variants(fmt, options):
            name = "model" + ("" if mode == "none" else f".{mode}") + (".batch1" if batch1 else "") + f".{fmt}"
            log(f"converting {name} ...")
            if batch1:  # the file just converted, its batch fixed: validated below as a file of its own
                from nextword.export.tflite import fix_batch

                files[name] = fix_batch(files[name.replace(".batch1", "")])
            else:
                files[name] = convert(trained, fmt, mode, metadata, options.opset)
            if mode != "none":
                quantized_files.add(name)
            backend = runtime_backend(files[name], name)
            if sequence:
                reports.extend(
                    validate_sequence.compare_sequence(
                        name,
                        backend,
                        inputs["held-out"][0],
                        expected["held-out"][0],
                        inputs["edges"],
                        expected["edges"],
                        quantized=mode != "none",
                    )
                )
                continue
            for inputs_name, ids in inputs.items():
                reports.append(
                    validate.compare(name, inputs_name, ids, expected[inputs_name], backend, quantized=mode != "none")
                )
    log(validate.format_table(reports))
    validate.raise_on_failures(
        reports, allow_accuracy_loss=options.allow_accuracy_loss, quantized_files=quantized_files
    )
    quality_rows = quality.compare_quality(files, quantized_files, corpus.text, log) if quantized_files else []
    if quality_rows:
        log(quality.format_quality(quality_rows))
        failures = [f"{row.file}: {failure}" for row in quality_rows for failure in row.failures]
        if failures and not options.allow_accuracy_loss:
            more = f" (and {len(failures) - 1} more; see the table above)" if len(failures) > 1 else ""
            raise ValidationError(failures[0] + more + "; --allow-accuracy-loss keeps the files anyway")

    manifest = build_manifest(trained, files, reports, options, train_dir)
    manifest["quality"] = quality.as_json(quality_rows)
    with staged_dir(out, force=force, kind=EXPORT_OUTPUT) as staging:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def variants(fmt: str, options: ExportOptions):
    """(quantization mode, fixed batch of 1?) of each file to write in format fmt."""
    for mode in ("none",) + ((options.quantize,) if options.quantize != "none" else ()):
        yield mode, False
        if fmt == "tflite" and options.tflite_batch1:
            yield mode, True


def runtime_backend(data: bytes, name: str):
    """Load the file exactly as apps will (metadata scan, bundle decode, signature check): a file the
    runtime would refuse is a failed export, not a user's problem later."""
    try:
        return Predictor.from_bytes(data, source=name).backend
    except ModelFormatError as exc:
        raise ValidationError(f"the runtime refuses the exported {name}: {exc}") from None


def convert(trained: TrainedModel, fmt: str, mode: str, metadata: dict[str, str], opset: int) -> bytes:
    if fmt == "onnx":
        from nextword.export.onnx import convert_to_onnx, quantize_onnx

        data = convert_to_onnx(trained.model, trained.config, opset=opset, metadata=metadata)
        return data if mode == "none" else quantize_onnx(data, mode)
    from nextword.export.tflite import convert_to_tflite, embed_metadata

    data = convert_to_tflite(trained.model, trained.config, quantize=mode)
    return embed_metadata(data, {key: value.encode("utf-8") for key, value in metadata.items()})


def validation_corpus(trained: TrainedModel, path: str | None) -> Corpus:
    """The training text, found where config.json says (or at --corpus) and checked by its sha256."""
    config = trained.config
    if path is None:
        shards = config.corpus_name.split(os.pathsep)
        if config.corpus_name == EMBEDDED_CORPUS:
            corpus = load_corpus(None)
        elif Path(config.corpus_name).is_file():
            corpus = load_corpus(config.corpus_name)
        elif len(shards) > 1 or Path(config.corpus_name).is_dir():
            corpus = sharded_corpus(shards)
        else:
            raise InputError(
                f"cannot find the training corpus {config.corpus_name!r} to validate against; pass --corpus FILE"
            )
    else:
        corpus = load_corpus(path)
    if corpus.sha256 != config.corpus_sha256:
        raise InputError(
            f"corpus {corpus.name} is not the text this model was trained on (sha256 differs from config.json)"
        )
    return corpus


def sharded_corpus(paths: list[str]) -> Corpus:
    """A corpus trained from several files or a shard directory (train/stream.py), read back as the one text
    it stands for. Validation reads it whole: the held-out tail is its last tenth, found from the start."""
    import hashlib

    from nextword.train.stream import corpus_files, text_blocks

    digest = hashlib.sha256()
    text = "".join(text_blocks(corpus_files(paths), digest))
    return Corpus(os.pathsep.join(paths), text, digest.hexdigest())


def validation_inputs(trained: TrainedModel, corpus: Corpus) -> dict[str, np.ndarray]:
    config = trained.config
    data = prepare(corpus.text, config, trained.tokenizer)
    start = min(data.split_at, max(0, len(data.contexts) - MIN_VALIDATION_WINDOWS))  # a short tail borrows windows
    held_out = data.contexts[start : start + MAX_VALIDATION_WINDOWS]
    oov_id = trained.tokenizer.word_index.get(config.oov_token, 1) if config.oov_token else 1
    return {"held-out": held_out, **validate.edge_inputs(config.vocab_size, config.context_len, oov_id)}


def sequence_validation_inputs(trained: TrainedModel, corpus: Corpus) -> dict[str, np.ndarray]:
    """ "held-out": [1, T] the start id and >= 1,000 ids of the held-out tail (the last validation_split of the
    text, borrowing from before it when the tail is short); "edges": texts side by side (validate_sequence)."""
    config = trained.config
    data = prepare(corpus.text, config, trained.tokenizer)
    ids = data.ids
    start = min(data.stream_split, max(0, len(ids) - MIN_VALIDATION_WINDOWS))
    held_out = validate_sequence.stream_of(ids[start : start + MAX_VALIDATION_POSITIONS])
    oov_id = trained.tokenizer.word_index.get(config.oov_token, 1) if config.oov_token else 1
    return {"held-out": held_out[None, :], "edges": validate_sequence.edge_streams(config.vocab_size, oov_id)}


def keras_sequence_probs(model, ids: np.ndarray) -> np.ndarray:
    """ids [B, T] -> [B, T, vocab]: the full-sequence model, every position, in one call per row."""
    import tensorflow as tf

    # Eager Keras runs the LSTM's time loop in Python: 35 s for 2,000 positions of a tiny model, 0.1 s traced.
    forward = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec([None, None], tf.int32)])
    return np.stack([np.asarray(forward(row[None, :]))[0] for row in ids])


def keras_probs(model, ids: np.ndarray, chunk: int = 1024) -> np.ndarray:
    return np.concatenate([np.asarray(model(ids[i : i + chunk], training=False)) for i in range(0, len(ids), chunk)])


def build_manifest(trained: TrainedModel, files: dict[str, bytes], reports, options: ExportOptions, train_dir) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "train_dir": str(train_dir),
        "config": json.loads(trained.config.to_json()),
        "files": {
            name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()} for name, data in files.items()
        },
        "opset": options.opset if "onnx" in options.formats else None,
        "quantize": options.quantize,
        "versions": {
            **{
                pkg: installed_version(pkg)
                for pkg in ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy")
            },
            "python": platform.python_version(),
        },
        "validation": validate.as_json(reports),
    }


def installed_version(package: str) -> str | None:
    for name in (package, package + "-cpu"):
        try:
            return package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return None
