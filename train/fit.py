"""The training stage: corpus -> tokenizer -> ids -> windows -> fitted model, saved as one folder.

The folder holds model.keras, tokenizer.json (the legacy Keras Tokenizer JSON), config.json,
history.json and training_curves.png; later stages rebuild everything from it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off users' terminals

import numpy as np
from nextword.runtime.bundle import vocab_size_of
from nextword.runtime.config import TrainConfig
from nextword.runtime.corpus import EMBEDDED_CORPUS, Corpus
from nextword.runtime.errors import InputError
from nextword.runtime.files import check_apart, check_output_dir, staged_dir
from nextword.runtime.tokenizer import Tokenizer, text_to_word_sequence, tokenizer_from_json
from nextword.runtime.windows import make_windows, split_stream, split_train_holdout

# Below this many training words the sequence preset lost to the 5-gram (Python's help pages, 59,236 words:
# +8.0 % perplexity); from ~180,000 up it won (README quality table). Training says so, rather than leave
# the user to find out after the fact.
SMALL_TEXT_WORDS = 100_000

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
    contexts: np.ndarray  # window kind: [n_windows, seq_len - 1] (sequence kind: empty)
    targets: np.ndarray  # window kind: [n_windows]
    split_at: int  # window kind: windows[split_at:] are held out
    stream_split: int  # ids[stream_split:] are the held-out tail, the last validation_split of the text


def training_words_end(words: list[str], config: TrainConfig) -> int:
    """How many leading words the training split covers (the vocabulary may come from these only)."""
    if config.kind == "sequence":
        return split_stream(len(words), config.validation_split)
    # The training windows cover the first split_at + seq_len - 1 words.
    split_at = split_train_holdout(max(0, len(words) - config.seq_len + 1), config.validation_split)
    return split_at + config.seq_len - 1


def prepare(corpus_text: str, config: TrainConfig, tokenizer: Tokenizer | None = None) -> Prepared:
    if tokenizer is None:
        tokenizer = Tokenizer(num_words=config.num_words, oov_token=config.oov_token)
        if config.vocab_from_training_split:
            # With an OOV token no word is dropped, so word i is id i.
            words = text_to_word_sequence(corpus_text, tokenizer.filters, tokenizer.lower, tokenizer.split)
            tokenizer.fit_on_texts([words[: training_words_end(words, config)]])
        else:
            tokenizer.fit_on_texts([corpus_text])  # the classic lesson: the vocabulary of the whole text
        drop_rare_words(tokenizer, config)
    if not tokenizer.word_index:
        raise InputError("the corpus has no words once punctuation is removed")
    ids = np.asarray(tokenizer.texts_to_sequences([corpus_text])[0], dtype=np.int32)
    if config.kind == "sequence":
        stream_split = split_stream(len(ids), config.validation_split)
        if stream_split < 2 * config.chunk_len:
            raise InputError(f"the corpus has {len(ids)} known words, too few for chunks of {config.chunk_len}")
        no_windows = np.zeros((0, 0), dtype=np.int32)
        return Prepared(tokenizer, ids, no_windows, np.zeros(0, dtype=np.int32), 0, stream_split)
    contexts, targets = make_windows(ids, config.seq_len)
    split_at = split_train_holdout(len(targets), config.validation_split)
    return Prepared(tokenizer, ids, contexts, targets, split_at, split_at + config.seq_len - 1)


def drop_rare_words(tokenizer: Tokenizer, config: TrainConfig) -> None:
    """config.min_count, by lowering num_words: the tokenizer ranks words by count, so the words seen fewer
    times than min_count hold the last ids, and every id from num_words on converts to the OOV id."""
    if config.min_count > 1:
        kept = sum(1 for count in tokenizer.word_counts.values() if count >= config.min_count)
        cap = kept + 2  # id 0 is padding and id 1 the OOV token
        tokenizer.num_words = min(tokenizer.num_words or cap, cap)


def train(corpus: Corpus, config: TrainConfig, out: str | Path, *, force: bool = False, verbose: int = 1) -> Path:
    """Fit the model on `corpus` and write the training folder `out` atomically. Returns `out`."""
    check_output_dir(out, force=force)  # fail before minutes of training, not after
    check_apart(out, corpus_paths(corpus.name), "corpus")
    import keras
    import tensorflow as tf
    from nextword.train.history import KeepBestEpoch
    from nextword.train.model import build_model

    data = prepare(corpus.text, config)
    if verbose:
        warn_if_small(config, data.stream_split)
    config = dataclasses.replace(
        config,
        num_words=data.tokenizer.num_words,  # min_count may have lowered it
        vocab_size=vocab_size_of(data.tokenizer),
        corpus_sha256=corpus.sha256,
        corpus_name=corpus.name,
    )
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()  # same seed -> same weights, even with threads
    model = build_model(config)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")],
    )
    keep_best = KeepBestEpoch(config.early_stopping, config.patience, lr_decay=config.lr_decay)
    fit = fit_sequence if config.kind == "sequence" else fit_windows
    curves = fit(model, data, config, keep_best, verbose=verbose)
    keep_best.restore()
    epochs_run = len(next(iter(curves.values()), []))
    if verbose and keep_best.best_epoch:
        print(f"kept epoch {keep_best.best_epoch} of {epochs_run} (best held-out {config.early_stopping})")
    return write_training_dir(out, model, data.tokenizer, config, curves, keep_best.best_epoch, force=force)


def warn_if_small(config: TrainConfig, training_words: int) -> None:
    if config.kind == "sequence" and training_words < SMALL_TEXT_WORDS:
        print(
            f"warning: {training_words:,} training words. Trained on fewer than {SMALL_TEXT_WORDS:,}, the sequence "
            "model has lost to a Kneser-Ney 5-gram in our measurements (README, 'Quality: the sequence model "
            "against Kneser-Ney'); compare the two with `nextword evaluate`.",
            file=sys.stderr,
        )


def corpus_paths(name: str) -> list[str]:
    """The files or shard folders a corpus name stands for (several are joined by os.pathsep)."""
    return [] if name in ("", EMBEDDED_CORPUS) else name.split(os.pathsep)


def write_training_dir(out, model, tokenizer: Tokenizer, config: TrainConfig, curves, kept_epoch: int, *, force: bool):
    """The training folder, swapped in whole (runtime/files.py staged_dir). Returns `out`."""
    from nextword.train.history import plot_history

    history = curves | {"kept_epoch": kept_epoch, "kept_by": "val_" + config.early_stopping}
    check_apart(out, corpus_paths(config.corpus_name), "corpus")  # every training path writes through here
    with staged_dir(out, force=force) as staging:
        model.save(staging / MODEL_FILE)
        (staging / TOKENIZER_FILE).write_text(tokenizer.to_json(), encoding="utf-8")
        (staging / CONFIG_FILE).write_text(config.to_json(), encoding="utf-8")
        (staging / HISTORY_FILE).write_text(json.dumps(history, indent=2), encoding="utf-8")
        plot_history(curves, kept_epoch, config.early_stopping, staging / CURVES_FILE)
    return Path(out)


def fit_windows(model, data: Prepared, config: TrainConfig, keep_best, *, verbose: int) -> dict[str, list[float]]:
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
        callbacks=[keep_best],
    )
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}


def fit_sequence(model, data: Prepared, config: TrainConfig, keep_best, *, verbose: int) -> dict[str, list[float]]:
    """Chunks cut afresh every epoch; the held-out tail is read after each epoch as the runtime reads text,
    and its scores join the epoch's logs as val_loss / val_accuracy / val_top5."""
    import keras
    import tensorflow as tf
    from nextword.train.sequence import chunk_batches, held_out_scores, state_model

    train_ids, held_ids = data.ids[: data.stream_split], data.ids[data.stream_split :]
    stepper = state_model(model, config)

    class HeldOutStream(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if len(held_ids) and logs is not None:
                logs.update(held_out_scores(stepper, config, held_ids))

    n_batches, epoch = chunk_batches(train_ids, config)
    chunks = tf.TensorSpec((None, config.chunk_len), tf.int32)
    batches = pipeline(epoch, (chunks, chunks), n_batches)
    history = model.fit(
        batches, epochs=config.epochs, shuffle=False, verbose=verbose, callbacks=[HeldOutStream(), keep_best]
    )  # shuffle=False: the batches come shuffled (Keras would warn that it cannot shuffle a tf.data pipeline)
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}


def pipeline(generator, signature, n_batches: int | None = None, prefetch: int = 2):
    """A tf.data pipeline that calls generator() afresh for each epoch, with a fixed prefetch and tf.data's
    autotuning off. Autotuning runs a background thread that closing an epoch's iterator waits for: on this
    2-core machine that left the CPU idle for up to a minute at about one epoch boundary in three (seen with
    py-spy in ~RootDataset::Iterator), a third of the sequence preset's training time."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_generator(generator, output_signature=signature).prefetch(prefetch)
    if n_batches is not None:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(n_batches))  # Keras' progress bar total
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


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
        # Our own layers are passed by name, not registered code: the only classes such a file may name.
        from nextword.train.model import DropConnectLSTM, TiedEmbedding

        ours = {"nextword>TiedEmbedding": TiedEmbedding, "nextword>DropConnectLSTM": DropConnectLSTM}
        model = keras.saving.load_model(path / MODEL_FILE, custom_objects=ours, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive; users need one line
        raise InputError(
            f"cannot load {path / MODEL_FILE}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    check_architecture(model, config)
    return TrainedModel(model, tokenizer, config)


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
