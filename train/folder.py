"""The training folder: what training writes and the export stage reads back.

model.keras, tokenizer.json (the legacy Keras Tokenizer JSON), config.json, history.json,
training_curves.png and casing.json (how each word is written, for display; runtime/casing.py). Every training
path writes through write_training_dir; load_training_dir checks each
file, and check_architecture that the network is one the exporters know how to convert.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # load_training_dir imports Keras: keep its chatter off terminals

from nextword.runtime.bundle import vocab_size_of
from nextword.runtime.casing import CaseCounter, case_table_from_json, case_table_to_json
from nextword.runtime.config import TrainConfig
from nextword.runtime.corpus import EMBEDDED_CORPUS
from nextword.runtime.errors import InputError
from nextword.runtime.files import OutputKind, check_apart, staged_dir
from nextword.runtime.tokenizer import Tokenizer, tokenizer_from_json

MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE, HISTORY_FILE, CURVES_FILE = (
    "model.keras",
    "tokenizer.json",
    "config.json",
    "history.json",
    "training_curves.png",
)
CASING_FILE = "casing.json"
TRAINING_FILES = (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE, HISTORY_FILE, CURVES_FILE, CASING_FILE)
# What --force may replace: a folder holding config.json and only the files above.
TRAINING_OUTPUT = OutputKind(
    "training",
    CONFIG_FILE,
    re.compile("|".join(re.escape(name) for name in TRAINING_FILES)),
)


def corpus_paths(name: str) -> list[str]:
    """The files or shard folders a corpus name stands for (several are joined by os.pathsep)."""
    return [] if name in ("", EMBEDDED_CORPUS) else name.split(os.pathsep)


def check_out_apart(out, corpus_name: str) -> None:
    """Refuse an --out that is, holds or lies inside the corpus (replacing it would delete the text): every
    training path calls this before it trains, and write_training_dir once more before it writes."""
    check_apart(out, corpus_paths(corpus_name), "corpus")


def write_training_dir(
    out, model, tokenizer: Tokenizer, config: TrainConfig, curves, kept_epoch: int, *, force: bool, casing=None
):
    """The training folder, swapped in whole (runtime/files.py staged_dir). Returns `out`.
    `casing`: the display-casing table (runtime/casing.py), written as casing.json when training counted one."""
    from nextword.train.history import plot_history

    history = curves | {"kept_epoch": kept_epoch, "kept_by": "val_" + config.early_stopping}
    check_out_apart(out, config.corpus_name)  # every training path writes through here
    with staged_dir(out, force=force, kind=TRAINING_OUTPUT) as staging:
        model.save(staging / MODEL_FILE)
        (staging / TOKENIZER_FILE).write_text(tokenizer.to_json(), encoding="utf-8")
        (staging / CONFIG_FILE).write_text(config.to_json(), encoding="utf-8")
        (staging / HISTORY_FILE).write_text(json.dumps(history, indent=2), encoding="utf-8")
        if casing:
            (staging / CASING_FILE).write_text(case_table_to_json(casing), encoding="utf-8")
        plot_history(curves, kept_epoch, config.early_stopping, staging / CURVES_FILE)
    return Path(out)


@dataclass
class TrainedModel:
    model: object  # keras.Model
    tokenizer: Tokenizer
    config: TrainConfig
    casing: dict = field(default_factory=dict)  # casing.json, when training wrote one


def load_training_dir(path: str | Path) -> TrainedModel:
    """Read a training folder back, checking each file; the .keras file is loaded in Keras safe mode only."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"training directory {path} does not exist")
    for name in (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE):
        if not (path / name).is_file():
            raise InputError(f"training directory {path} has no {name}")
    config = TrainConfig.from_json((path / CONFIG_FILE).read_text(encoding="utf-8"))
    tokenizer = tokenizer_from_json((path / TOKENIZER_FILE).read_text(encoding="utf-8"))
    if vocab_size_of(tokenizer) != config.vocab_size:
        raise InputError(
            f"tokenizer.json has a vocabulary of {vocab_size_of(tokenizer)} ids "
            f"but config.json says {config.vocab_size}"
        )
    import keras

    try:
        # safe_mode=True refuses lambdas and arbitrary code in the archive: model files come from elsewhere.
        # Our own layers are passed by name, not registered code: the only classes such a file may name.
        from nextword.train.model import DropConnectLSTM, TiedEmbedding

        ours = {"nextword>TiedEmbedding": TiedEmbedding, "nextword>DropConnectLSTM": DropConnectLSTM}
        model = keras.saving.load_model(path / MODEL_FILE, custom_objects=ours, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive; users need one line
        raise InputError(
            f"cannot load {path / MODEL_FILE}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    check_architecture(model, config)
    return TrainedModel(model, tokenizer, config, read_casing(path, tokenizer, config))


def read_casing(path: Path, tokenizer: Tokenizer, config: TrainConfig) -> dict:
    """casing.json, checked as the runtime checks the bundled table (folders from before it have none)."""
    if not (path / CASING_FILE).is_file():
        return {}
    words = {tokenizer.index_word.get(i) for i in range(1, config.vocab_size)}
    try:
        return case_table_from_json((path / CASING_FILE).read_text(encoding="utf-8"), words, str.lower)
    except InputError as exc:
        raise InputError(f"{path / CASING_FILE}: {exc}") from None


def count_casing(text: str, tokenizer: Tokenizer, vocab_size: int) -> dict:
    """The display-casing table of a text, for the words of the vocabulary (ids below vocab_size)."""
    counter = CaseCounter(
        tokenizer, [tokenizer.index_word[i] for i in range(1, vocab_size) if i in tokenizer.index_word]
    )
    counter.update(text)
    return counter.case_table()


def check_architecture(model, config: TrainConfig) -> None:
    """The export stage only knows how to convert the lesson's network; refuse anything else by name."""
    if config.kind == "sequence":
        check_sequence_architecture(model, config)
        return
    expected = [
        ("InputLayer", None),
        ("Embedding", (None, config.context_len, config.embedding_dim)),
        ("LSTM", (None, config.units)),
        ("Dense", (None, config.hidden)),
        ("Dense", (None, config.vocab_size)),
    ]
    layers = [(type(layer).__name__, getattr(layer, "output", None)) for layer in model.layers]
    found = [kind for kind, _ in layers]
    if found != [kind for kind, _ in expected]:
        raise InputError(f"model is not the expected architecture: layers {found}, expected {[k for k, _ in expected]}")
    for (kind, output), (_, shape) in zip(layers[1:], expected[1:]):
        if tuple(output.shape) != shape:
            raise InputError(
                f"model is not the expected architecture: {kind} outputs {tuple(output.shape)}, config says {shape}"
            )
    activations = [getattr(layer.activation, "__name__", "?") for layer in model.layers[3:]]
    if activations != ["relu", "softmax"]:
        raise InputError(
            f"model is not the expected architecture: Dense activations {activations}, expected ['relu', 'softmax']"
        )


def check_sequence_architecture(model, config: TrainConfig) -> None:
    """The sequence kind's network (train/model.py build_sequence_model): export copies weights by these names.
    With tied embeddings the table (embeddings, bias) is the softmax too, and there is no separate "probs"."""
    expected = {"embedding": (config.vocab_size, config.embedding_dim)}
    if not config.tie_embeddings:
        expected["probs"] = (config.units, config.vocab_size)
    if config.projects:
        expected["projection"] = (config.units, config.embedding_dim)
    for layer in range(1, config.layers + 1):
        expected[f"lstm_{layer}"] = (config.embedding_dim if layer == 1 else config.units, 4 * config.units)
    kinds = ("Embedding", "TiedEmbedding", "LSTM", "DropConnectLSTM", "Dense")
    found = {layer.name: layer for layer in model.layers if type(layer).__name__ in kinds}
    if sorted(found) != sorted(expected):
        raise InputError(
            f"model is not the expected sequence architecture: layers {sorted(found)}, expected {sorted(expected)}"
        )
    table = type(found["embedding"]).__name__
    if table != ("TiedEmbedding" if config.tie_embeddings else "Embedding"):
        raise InputError(f"model is not the expected sequence architecture: its embedding is a {table}")
    for name, shape in expected.items():
        kernel = found[name].get_weights()[0]
        if tuple(kernel.shape) != shape:
            raise InputError(
                f"model is not the expected sequence architecture: {name} weights {tuple(kernel.shape)}, "
                f"config says {shape}"
            )
    if not config.tie_embeddings and getattr(found["probs"].activation, "__name__", "?") != "softmax":
        raise InputError("model is not the expected sequence architecture: the probs layer is not a softmax")
