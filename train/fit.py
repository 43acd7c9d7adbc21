"""The in-memory training path: corpus -> prepared ids -> fitted model -> the training folder (train/folder.py).

Corpora bigger than memory, and several workers, take train/distributed.py instead; both score the held-out
tail with train/held_out.py and write through train/folder.py write_training_dir.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off users' terminals

from nextword.runtime.bundle import vocab_size_of
from nextword.runtime.config import TrainConfig
from nextword.runtime.corpus import Corpus
from nextword.runtime.files import check_output_dir
from nextword.train.folder import TRAINING_OUTPUT, check_out_apart, count_casing, write_training_dir
from nextword.train.prepare import Prepared, prepare

# Below this many training words the sequence preset lost to the 5-gram (Python's help pages, 59,236 words:
# +8.0 % perplexity); from ~180,000 up it won (README quality table). Training says so, rather than leave
# the user to find out after the fact.
SMALL_TEXT_WORDS = 100_000


def train(corpus: Corpus, config: TrainConfig, out: str | Path, *, force: bool = False, verbose: int = 1) -> Path:
    """Fit the model on `corpus` and write the training folder `out` atomically. Returns `out`."""
    check_out_apart(out, corpus.name)
    check_output_dir(out, force=force, kind=TRAINING_OUTPUT)  # fail before minutes of training, not after
    import keras
    import tensorflow as tf
    from nextword.train.held_out import held_out_callback
    from nextword.train.history import KeepBestEpoch
    from nextword.train.model import build_model
    from nextword.train.progress import fit_progress

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
    fit_verbose, progress = fit_progress(verbose)
    # In this order: the held-out score joins the epoch's logs before the epoch kept and the progress read them.
    callbacks = [held_out_callback(model, config, data.ids[data.held_start :]), keep_best, *progress]
    fit = fit_sequence if config.kind == "sequence" else fit_windows
    curves = fit(model, data, config, callbacks, verbose=fit_verbose)
    keep_best.restore()
    epochs_run = len(next(iter(curves.values()), []))
    if verbose and keep_best.best_epoch:
        print(f"kept epoch {keep_best.best_epoch} of {epochs_run} (best held-out {config.early_stopping})")
    casing = count_casing(corpus.text, data.tokenizer, config.vocab_size)
    return write_training_dir(
        out, model, data.tokenizer, config, curves, keep_best.best_epoch, force=force, casing=casing
    )


def warn_if_small(config: TrainConfig, training_words: int) -> None:
    if config.kind == "sequence" and training_words < SMALL_TEXT_WORDS:
        print(
            f"warning: {training_words:,} training words. Trained on fewer than {SMALL_TEXT_WORDS:,}, the sequence "
            "model has lost to a Kneser-Ney 5-gram in our measurements (README, 'Quality: the sequence model "
            "against Kneser-Ney'); compare the two with `nextword evaluate`.",
            file=sys.stderr,
        )


def fit_windows(model, data: Prepared, config: TrainConfig, callbacks, *, verbose: int) -> dict[str, list[float]]:
    s = data.split_at
    history = model.fit(
        data.contexts[:s],
        data.targets[:s],
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        verbose=verbose,
        callbacks=callbacks,
    )
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}


def fit_sequence(model, data: Prepared, config: TrainConfig, callbacks, *, verbose: int) -> dict[str, list[float]]:
    """Chunks cut afresh every epoch (train/sequence.py chunk_batches)."""
    import tensorflow as tf
    from nextword.train.sequence import chunk_batches

    n_batches, epoch = chunk_batches(data.ids[: data.stream_split], config)
    chunks = tf.TensorSpec((None, config.chunk_len), tf.int32)
    batches = pipeline(epoch, (chunks, chunks), n_batches)
    history = model.fit(batches, epochs=config.epochs, shuffle=False, verbose=verbose, callbacks=callbacks)
    # shuffle=False: the batches come shuffled (Keras would warn that it cannot shuffle a tf.data pipeline)
    return {k: [float(v) for v in vs] for k, vs in history.history.items()}


def pipeline(generator, signature, n_batches: int | None = None, prefetch: int = 2):
    """A tf.data pipeline that calls generator() afresh for each epoch, with a fixed prefetch and tf.data's
    autotuning off. Closing an epoch's iterator waits for autotuning's background thread, and where that
    thread and training share few cores the wait lasts up to a minute (py-spy: in ~RootDataset::Iterator). On
    2 cores it struck about one epoch boundary in three, a third of the sequence preset's training time."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_generator(generator, output_signature=signature).prefetch(prefetch)
    if n_batches is not None:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(n_batches))  # Keras' progress bar total
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
