"""Shared fixtures: real text, and one tiny model trained once per test session (tests train for seconds)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("NEXTWORD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SHAKESPEARE = SHARED_DATA / "tinyshakespeare.txt"


@pytest.fixture(scope="session")
def shakespeare_text() -> str:
    if not SHAKESPEARE.is_file():
        pytest.skip(f"real corpus {SHAKESPEARE} is absent (set NEXTWORD_SHARED_DATA to its folder)")
    return SHAKESPEARE.read_text(encoding="utf-8")


def tiny_config(**overrides):
    """The test-sized config (litert_torch's fake-config habit): seconds to train, real architecture."""
    from nextword.train.config import TrainConfig

    base = TrainConfig(epochs=2, batch_size=256, validation_split=0.1, seed=1234)
    return dataclasses.replace(base, **overrides)


def corpus_of(text: str, name: str = "test-text"):
    from nextword.train.corpus import Corpus

    return Corpus(name, text, hashlib.sha256(text.encode()).hexdigest())


@pytest.fixture(scope="session")
def embedded_text() -> str:
    from nextword.train.corpus import embedded_text

    return embedded_text()


@pytest.fixture(scope="session")
def trained_corpus(trained_dir) -> Path:
    return trained_dir.parent / "embedded-20k.txt"


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory, embedded_text) -> Path:
    """A real model trained on the first ~20k words of the embedded corpus (real prose, always present)."""
    pytest.importorskip("tensorflow")
    from nextword.train.fit import train

    from nextword.train.corpus import load_corpus

    folder = tmp_path_factory.mktemp("trained")
    corpus_file = folder / "embedded-20k.txt"  # a real file, so export finds and checks the training text
    corpus_file.write_text(" ".join(embedded_text.split()[:20000]), encoding="utf-8")
    return train(load_corpus(corpus_file), tiny_config(), folder / "run", verbose=0)


@pytest.fixture(scope="session")
def exported_dir(tmp_path_factory, trained_dir) -> Path:
    """model.onnx + model.tflite + manifest.json exported (and validated) from `trained_dir`."""
    from nextword.export.pipeline import export

    out = tmp_path_factory.mktemp("exported") / "export"
    export(trained_dir, out, log=lambda *_: None)
    return out


@pytest.fixture(scope="session")
def keras_model(trained_dir):
    from nextword.train.fit import load_training_dir

    return load_training_dir(trained_dir).model
