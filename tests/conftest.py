"""The one test harness: real text, one tiny model trained and exported once per session, and runners.

tests/runtime/ needs only the base install (+ LiteRT): CI also runs it in an environment without
TensorFlow, where the model files come from NEXTWORD_TEST_MODELS, a folder the full suite filled.
tests/train/ and tests/export/ need the `train` extra.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nextword.runtime.files import OutputKind

SHARED_DATA = Path(os.environ.get("NEXTWORD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SHAKESPEARE = SHARED_DATA / "tinyshakespeare.txt"
# When set, the session's trained and exported model live here and are reused by later runs (and by the
# runtime-only environment, which cannot make them).
TEST_MODELS = os.environ.get("NEXTWORD_TEST_MODELS")
MODEL_FILES = ("model.onnx", "model.tflite")  # the float32 files every export writes
FORMATS = ("onnx", "tflite")
# For tests of the staging mechanics: a stage whose folders hold a file named "old" and anything else.
ANY_OUTPUT = OutputKind("test", "old", re.compile(".+"))


# --- real text -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shakespeare_path() -> Path:
    if not SHAKESPEARE.is_file():
        pytest.skip(f"real corpus {SHAKESPEARE} is absent (set NEXTWORD_SHARED_DATA to its folder)")
    return SHAKESPEARE


@pytest.fixture(scope="session")
def shakespeare_text(shakespeare_path) -> str:
    return shakespeare_path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def embedded_text() -> str:
    from nextword.runtime.corpus import embedded_text

    return embedded_text()


def tiny_config(**overrides):
    """The test-sized config (litert_torch's fake-config habit): seconds to train, real architecture."""
    from nextword.runtime.config import TrainConfig

    base = TrainConfig(epochs=2, batch_size=256, validation_split=0.1, seed=1234)
    return dataclasses.replace(base, **overrides)


def tiny_kind_config(kind: str, **overrides):
    """A training-path test's config of either kind: the window kind's tiny_config at batch 64, or a sequence
    model as small (8 units, chunks of 10 words, 300 words)."""
    if kind == "sequence":
        small = {"embedding_dim": 8, "units": 8, "chunk_len": 10, "batch_size": 16, "num_words": 300}
        return tiny_config(**{"kind": "sequence", **small, "oov_token": "<unk>", **overrides})
    return tiny_config(**{"batch_size": 64, **overrides})


def corpus_of(text: str, name: str = "test-text"):
    from nextword.runtime.corpus import Corpus

    return Corpus(name, text, hashlib.sha256(text.encode()).hexdigest())


# --- one model per session -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def models_root(tmp_path_factory) -> Path:
    return Path(TEST_MODELS) if TEST_MODELS else tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def trained_dir(models_root, embedded_text) -> Path:
    """A real model trained on the first ~20k words of the embedded corpus (real prose, always present)."""
    root = models_root
    run = root / "train"
    if (run / "config.json").is_file() and (root / "embedded-20k.txt").is_file():
        return run
    pytest.importorskip("tensorflow", reason="training needs the `train` extra (or NEXTWORD_TEST_MODELS)")
    from nextword.runtime.corpus import load_corpus
    from nextword.train.fit import train

    corpus_file = root / "embedded-20k.txt"  # a real file, so export finds and checks the training text
    root.mkdir(parents=True, exist_ok=True)
    corpus_file.write_text(" ".join(embedded_text.split()[:20000]), encoding="utf-8")
    return train(load_corpus(corpus_file), tiny_config(), run, force=True, verbose=0)


@pytest.fixture(scope="session")
def trained_corpus(models_root, request) -> Path:
    """The text `trained_dir` learned from; present without TensorFlow when NEXTWORD_TEST_MODELS is filled."""
    path = models_root / "embedded-20k.txt"
    if not path.is_file():
        request.getfixturevalue("trained_dir")  # trains (and writes the text), or skips without TensorFlow
    return path


@pytest.fixture(scope="session")
def exported_dir(tmp_path_factory, trained_dir) -> Path:
    """model.onnx + model.tflite + manifest.json exported (and validated) from `trained_dir`."""
    out = trained_dir.parent / "export"
    if all((out / name).is_file() for name in MODEL_FILES):
        return out
    pytest.importorskip("tensorflow", reason="exporting needs the `train` extra (or NEXTWORD_TEST_MODELS)")
    from nextword.export.pipeline import export

    export(trained_dir, out, log=lambda *_: None, force=True)
    return out


@pytest.fixture(scope="session")
def trained_model(trained_dir):
    """The Keras model of `trained_dir` (needs TensorFlow)."""
    pytest.importorskip("tensorflow")
    from nextword.train.folder import load_training_dir

    return load_training_dir(trained_dir).model


@pytest.fixture(scope="session", params=FORMATS)
def model_path(request, exported_dir) -> Path:
    """Each exported float32 file in turn."""
    return exported_dir / f"model.{request.param}"


# --- runners ---------------------------------------------------------------------------------------


@pytest.fixture
def cli(capsys, monkeypatch):
    """cli(*argv, stdin=None) -> (exit code, stdout lines, stderr): `nextword` in this process."""
    import io

    from nextword.runtime.cli import main

    def run(*argv, stdin: str | None = None) -> tuple[int, list[str], str]:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out.splitlines(), err

    return run


def run_process(
    *argv, stdin: bytes | str = b"", env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """`nextword ARGV` in a fresh Python process (what a user's shell runs)."""
    text = isinstance(stdin, str)
    return subprocess.run(
        [sys.executable, "-m", "nextword.runtime.cli", *map(str, argv)],
        input=stdin,
        capture_output=True,
        text=text,
        env=env,
        timeout=timeout,
    )


def run_python(
    code: str, *args, stdin: str | None = None, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """`python -c CODE ARGS` in a fresh process: for what must hold from a cold start (imports, crashes)."""
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def repack_tflite(model_bytes: bytes, edit) -> bytes:
    """A real TFLite file rewritten through LiteRT's generated schema (edit(model) changes it): for crafting
    broken ones."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    edit(model)
    builder = flatbuffers.Builder(len(model_bytes))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.fixture
def process():
    return run_process


@pytest.fixture
def python():
    return run_python


# --- a sequence-kind model (a step graph with state) -----------------------------------------------


def tiny_sequence_config(**overrides):
    """A sequence model small enough to fit in seconds: 2 layers (so the state layout is exercised), 500 words."""
    return tiny_config(
        kind="sequence", embedding_dim=16, units=16, layers=2, num_words=500, oov_token="<unk>", **overrides
    )


@pytest.fixture(scope="session")
def sequence_keras_dir(models_root, embedded_text) -> Path:
    """The training folder of a tiny sequence model, trained on the first ~20k words of the embedded corpus."""
    run = models_root / "sequence-train"
    corpus_file = models_root / "sequence-corpus.txt"
    if (run / "config.json").is_file() and corpus_file.is_file():
        return run
    pytest.importorskip("tensorflow", reason="training needs the `train` extra (or NEXTWORD_TEST_MODELS)")
    from nextword.runtime.corpus import load_corpus
    from nextword.train.fit import train

    models_root.mkdir(parents=True, exist_ok=True)
    corpus_file.write_text(" ".join(embedded_text.split()[:20000]), encoding="utf-8")
    return train(load_corpus(corpus_file), tiny_sequence_config(), run, force=True, verbose=0)


@pytest.fixture(scope="session")
def sequence_corpus(models_root, request) -> Path:
    """The text `sequence_keras_dir` learned from (present without TensorFlow once NEXTWORD_TEST_MODELS is filled)."""
    path = models_root / "sequence-corpus.txt"
    if not path.is_file():
        request.getfixturevalue("sequence_keras_dir")
    return path


@pytest.fixture(scope="session")
def sequence_exported_dir(models_root, request) -> Path:
    """model.onnx + model.tflite (+ manifest.json) of the tiny sequence model, exported and validated."""
    out = models_root / "sequence-export"
    if all((out / name).is_file() for name in MODEL_FILES):
        return out
    train_dir = request.getfixturevalue("sequence_keras_dir")
    pytest.importorskip("tensorflow", reason="exporting needs the `train` extra (or NEXTWORD_TEST_MODELS)")
    from nextword.export.pipeline import export

    export(train_dir, out, log=lambda *_: None, force=True)
    return out


@pytest.fixture(scope="session", params=FORMATS)
def sequence_model_path(request, sequence_exported_dir) -> Path:
    """Each exported float32 sequence file in turn."""
    return sequence_exported_dir / f"model.{request.param}"


# --- either kind ---------------------------------------------------------------------------------

KIND_FIXTURES = {  # kind: its session model's (training folder, export folder, training text) fixtures
    "window": ("trained_dir", "exported_dir", "trained_corpus"),
    "sequence": ("sequence_keras_dir", "sequence_exported_dir", "sequence_corpus"),
}


@pytest.fixture(scope="session", params=sorted(KIND_FIXTURES))
def kind_model(request) -> tuple[str, Path, Path, Path]:
    """(kind, training folder, export folder, training text) of each kind's session model in turn."""
    return request.param, *(request.getfixturevalue(name) for name in KIND_FIXTURES[request.param])
