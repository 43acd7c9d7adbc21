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
def trained_dir(tmp_path_factory, embedded_text) -> Path:
    """A real model trained on the first ~20k words of the embedded corpus (real prose, always present)."""
    pytest.importorskip("tensorflow")
    from nextword.train.fit import train

    text = " ".join(embedded_text.split()[:20000])
    out = tmp_path_factory.mktemp("trained") / "run"
    return train(corpus_of(text, "embedded-20k"), tiny_config(), out, verbose=0)
