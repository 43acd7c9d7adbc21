"""The training stage: corpus -> tokenizer -> ids -> windows -> fitted model, saved as one folder.

The folder holds model.keras, tokenizer.json (the legacy Keras Tokenizer JSON), config.json,
history.json and training_curves.png; later stages rebuild everything from it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off users' terminals

import numpy as np
from nextword.runtime.bundle import vocab_size_of
from nextword.runtime.config import TrainConfig
from nextword.runtime.corpus import Corpus
from nextword.runtime.errors import InputError
from nextword.runtime.files import check_output_dir, staged_dir
from nextword.runtime.tokenizer import Tokenizer, text_to_word_sequence, tokenizer_from_json
from nextword.runtime.windows import make_windows, split_train_holdout

MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE, HISTORY_FILE, CURVES_FILE = (
    "model.keras",
    "tokenizer.json",
    "config.json",
    "history.json",
    "training_curves.png",
)


@dataclass
class Prepared:
    """Everything between text and model, shared by training, export validation and benchmarks."""

    tokenizer: Tokenizer
    ids: np.ndarray  # [n_words] int32, the corpus as the model sees it
    contexts: np.ndarray  # [n_windows, seq_len - 1]
    targets: np.ndarray  # [n_windows]
    split_at: int  # windows[split_at:] are held out


def prepare(corpus_text: str, config: TrainConfig, tokenizer: Tokenizer | None = None) -> Prepared:
    if tokenizer is None:
        tokenizer = Tokenizer(num_words=config.num_words, oov_token=config.oov_token)
        if config.vocab_from_training_split:
            # With an OOV token no word is dropped, so word i is id i: the training windows cover the
            # first split_at + seq_len - 1 words, exactly the ones the vocabulary may come from.
            words = text_to_word_sequence(corpus_text, tokenizer.filters, tokenizer.lower, tokenizer.split)
            split_at = split_train_holdout(max(0, len(words) - config.seq_len + 1), config.validation_split)
            tokenizer.fit_on_texts([words[: split_at + config.seq_len - 1]])
        else:
            tokenizer.fit_on_texts([corpus_text])  # the classic lesson: the vocabulary of the whole text
    if not tokenizer.word_index:
        raise InputError("the corpus has no words once punctuation is removed")
    ids = np.asarray(tokenizer.texts_to_sequences([corpus_text])[0], dtype=np.int32)
    contexts, targets = make_windows(ids, config.seq_len)
    return Prepared(tokenizer, ids, contexts, targets, split_train_holdout(len(targets), config.validation_split))


def train(corpus: Corpus, config: TrainConfig, out: str | Path, *, force: bool = False, verbose: int = 1) -> Path:
    """Fit the model on `corpus` and write the training folder `out` atomically. Returns `out`."""
    check_output_dir(out, force=force)  # fail before minutes of training, not after
    import keras
    import tensorflow as tf
    from nextword.train.model import build_model

    data = prepare(corpus.text, config)
    config = dataclasses.replace(
        config, vocab_size=vocab_size_of(data.tokenizer), corpus_sha256=corpus.sha256, corpus_name=corpus.name
    )
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()  # same seed -> same weights, even with threads
    model = build_model(config)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    s = data.split_at
    validation = (data.contexts[s:], data.targets[s:]) if s < len(data.targets) else None
    history = model.fit(
        data.contexts[:s],
        data.targets[:s],
        validation_data=validation,
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        verbose=verbose,
    )
    curves = {k: [float(v) for v in vs] for k, vs in history.history.items()}

    with staged_dir(out, force=force) as staging:
        model.save(staging / MODEL_FILE)
        (staging / TOKENIZER_FILE).write_text(data.tokenizer.to_json(), encoding="utf-8")
        (staging / CONFIG_FILE).write_text(config.to_json(), encoding="utf-8")
        (staging / HISTORY_FILE).write_text(json.dumps(curves, indent=2), encoding="utf-8")
        plot_history(curves, staging / CURVES_FILE)
    return Path(out)


def plot_history(curves: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = curves.get(prefix + metric)
            if values:
                ax.plot(
                    range(1, len(values) + 1), values, style, label=("validation " if prefix else "train ") + metric
                )
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@dataclass
class TrainedModel:
    model: object  # keras.Model
    tokenizer: Tokenizer
    config: TrainConfig


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
        model = keras.saving.load_model(path / MODEL_FILE, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive; users need one line
        raise InputError(
            f"cannot load {path / MODEL_FILE}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    check_architecture(model, config)
    return TrainedModel(model, tokenizer, config)


def check_architecture(model, config: TrainConfig) -> None:
    """The export stage only knows how to convert the lesson's network; refuse anything else by name."""
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
