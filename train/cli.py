"""`nextword train`: argument parsing only; the work is nextword.train.fit.train()."""

from __future__ import annotations

import argparse
import dataclasses

from nextword.runtime.config import EARLY_STOPPING_METRICS, KINDS, TrainConfig
from nextword.train.presets import PRESETS


def add_train(subparsers, help_line: str) -> None:
    p = subparsers.add_parser(
        "train", help=help_line, description="Train the classic Keras next-word LSTM and write a training folder."
    )
    p.add_argument(
        "--corpus", metavar="FILE", help="UTF-8 text to learn from (default: Python's own help pages, ~65k words)"
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="default",
        help="named configurations: 'default' is the classic lesson's model, 'sequence' the recommended one",
    )
    p.add_argument(
        "--model",
        dest="kind",
        choices=KINDS,
        default=None,
        help="window: the lesson's fixed-context model; sequence: a stateful language model (preset value)",
    )
    defaults = TrainConfig()
    for field in (
        "seq_len",
        "embedding_dim",
        "units",
        "hidden",
        "layers",
        "chunk_len",
        "epochs",
        "batch_size",
        "num_words",
        "patience",
    ):
        p.add_argument(
            "--" + field.replace("_", "-"),
            type=int,
            default=None,
            help=f"(preset value; default preset: {getattr(defaults, field)})",
        )
    p.add_argument(
        "--validation-split",
        type=float,
        default=None,
        help=f"held-out tail fraction (default {defaults.validation_split})",
    )
    p.add_argument(
        "--learning-rate", type=float, default=None, help=f"Adam learning rate (default {defaults.learning_rate})"
    )
    p.add_argument("--dropout", type=float, default=None, help="sequence: dropout rate (preset value)")
    p.add_argument("--clipnorm", type=float, default=None, help="clip gradients to this global norm (preset value)")
    p.add_argument(
        "--early-stopping",
        choices=EARLY_STOPPING_METRICS,
        default=None,
        help="held-out metric that picks the epoch kept (preset value)",
    )
    p.add_argument("--oov-token", default=None, help="map unknown words to this token (id 1) instead of dropping them")
    p.add_argument(
        "--vocab-from-training-split",
        action="store_true",
        default=None,
        help="fit the vocabulary on the training split only (needs --oov-token): an honest held-out set",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"random seed; the same seed gives the same weights (default {defaults.seed})",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="training folder to write")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    overrides = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if getattr(args, f.name, None) is not None
    }
    return dataclasses.replace(PRESETS[args.preset], **overrides)


def run(args: argparse.Namespace) -> int:
    from nextword.runtime.corpus import load_corpus
    from nextword.train.fit import train

    config = config_from_args(args)  # validates sizes before the corpus is read
    corpus = load_corpus(args.corpus)
    out = train(corpus, config, args.out, force=args.force, verbose=0 if args.quiet else 1)
    print(f"wrote {out}/ (model.keras, tokenizer.json, config.json, history.json, training_curves.png)")
    return 0


COMMANDS = {"train": add_train}  # read by nextword.runtime.cli
