"""`nextword train`: argument parsing only; the work is nextword.train.fit.train()."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from nextword.runtime.config import EARLY_STOPPING_METRICS, KINDS, TrainConfig
from nextword.runtime.errors import InputError
from nextword.train.presets import PRESETS


def add_train(subparsers, help_line: str) -> None:
    p = subparsers.add_parser(
        "train",
        help=help_line,
        description="Train a next-word LSTM (the lesson's window model or a sequence language model).",
    )
    p.add_argument(
        "--corpus",
        metavar="PATH",
        nargs="+",
        help="UTF-8 text to learn from (default: Python's own help pages, ~65k words); several files or a "
        "directory of shards are streamed, their text joined by newlines",
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
        "min_count",
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
    p.add_argument("--dropout", type=float, default=None, help="sequence: dropout before the softmax (preset value)")
    p.add_argument("--embedding-dropout", type=float, default=None, help="sequence: dropout on the embeddings")
    p.add_argument(
        "--weight-drop", type=float, default=None, help="sequence: DropConnect on the LSTMs' hidden-to-hidden weights"
    )
    p.add_argument(
        "--activation-reg", type=float, default=None, help="sequence: AR, the loss term mean(h^2) is weighted by this"
    )
    p.add_argument(
        "--temporal-reg",
        type=float,
        default=None,
        help="sequence: TAR, the loss term mean((h_t - h_{t-1})^2) is weighted by this",
    )
    p.add_argument(
        "--tie-embeddings",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="sequence: the softmax reuses the embedding table (projected to it when --units is not --embedding-dim)",
    )
    p.add_argument(
        "--lr-decay", type=float, default=None, help="multiply the learning rate by this after an epoch with no gain"
    )
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
    p.add_argument("--stream", action="store_true", help="stream the corpus from disk (implied by shards)")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="one worker of a MultiWorkerMirroredStrategy cluster named by TF_CONFIG (streams the corpus)",
    )
    p.add_argument("--local-workers", type=int, metavar="N", help="launch and supervise N workers on this machine")
    p.add_argument("--max-restarts", type=int, default=3, help="--local-workers: relaunches after a death (3)")
    p.add_argument("--backup-dir", metavar="DIR", help="per-epoch backups for resuming (default: hidden beside --out)")
    p.add_argument("--out", required=True, metavar="DIR", help="training folder to write")
    p.add_argument(
        "--force", action="store_true", help="replace a previous training folder in --out (never other files)"
    )
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
    verbose = 0 if args.quiet else 1
    paths = args.corpus or []
    if args.local_workers:
        from nextword.train.launch import launch_local

        if not paths:
            raise InputError("--local-workers needs --corpus (workers stream it from disk)")
        options = {"force": args.force, "max_restarts": args.max_restarts, "backup_dir": args.backup_dir}
        out = launch_local(paths, config, args.out, args.local_workers, verbose=verbose, **options)
    elif args.distributed or args.stream or len(paths) > 1 or (paths and Path(paths[0]).is_dir()):
        from nextword.train.distributed import train_stream

        if not paths:
            raise InputError("streaming needs --corpus (the embedded corpus is in memory anyway)")
        options = {"distributed": args.distributed, "backup_dir": args.backup_dir}
        out = train_stream(paths, config, args.out, force=args.force, verbose=verbose, **options)
    else:
        out = train(load_corpus(paths[0] if paths else None), config, args.out, force=args.force, verbose=verbose)
    print(f"wrote {out}/ ({', '.join(sorted(path.name for path in Path(out).iterdir()))})")
    return 0


COMMANDS = {"train": add_train}  # read by nextword.runtime.cli
