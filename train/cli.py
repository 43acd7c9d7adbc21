"""`nextword train`: argument parsing only; the work is nextword.train.fit.train()."""

from __future__ import annotations

import argparse
import dataclasses

from nextword.runtime.config import TrainConfig
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
        help="named sizes: 'default' is the classic lesson's model, 'small' the recommended one",
    )
    defaults = TrainConfig()
    for field in ("seq_len", "embedding_dim", "units", "hidden", "epochs", "batch_size", "num_words"):
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
