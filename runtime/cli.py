"""The `nextword` command: one entry point, a subcommand per stage.

Each stage registers its own subcommands and imports its heavy dependencies only when run, so
`nextword predict` works on a device with the base install (numpy + onnxruntime) alone.
"""

from __future__ import annotations

import argparse
import sys

from nextword.runtime.errors import NextwordError, ValidationError

EXIT_OK, EXIT_FAILED_CHECK, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    from nextword.export import cli as export_cli
    from nextword.runtime import commands as runtime_cli
    from nextword.train import cli as train_cli

    parser = argparse.ArgumentParser(prog="nextword", description="Train, export and run a next-word prediction LSTM.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train_cli.register(subparsers)
    export_cli.register(subparsers)
    runtime_cli.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValidationError as exc:
        print(f"nextword {args.command}: validation failed: {exc}", file=sys.stderr)
        return EXIT_FAILED_CHECK
    except NextwordError as exc:
        print(f"nextword {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as exc:
        extra = "train" if exc.name and exc.name.split(".")[0] in {"tensorflow", "keras", "tf2onnx", "onnx", "matplotlib"} else "tflite"
        print(f"nextword {args.command}: error: {exc.name} is not installed; pip install 'nextword[{extra}]'", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"nextword {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nextword predict - | head` closes the pipe early; that is not an error
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
