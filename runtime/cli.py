"""The `nextword` command: one entry point, a subcommand per stage.

A command loads only what it runs: the table below names each command's module as a string, and only
the module of the command being run is imported. `nextword predict` on a device with the base install
(numpy + onnxruntime) therefore never imports the training or export stages, nor TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from nextword.runtime.errors import NextwordError, ValidationError

EXIT_OK, EXIT_FAILED_CHECK, EXIT_BAD_INPUT = 0, 1, 2

# command -> (module whose COMMANDS[command] adds its parser, one line for `nextword --help`)
COMMANDS = {
    "train": ("nextword.train.cli", "train the next-word LSTM on a text corpus"),
    "export": ("nextword.export.cli", "convert a training folder to ONNX and TFLite, validated against Keras"),
    "predict": ("nextword.runtime.commands", "the k most likely next words"),
    "suggest": ("nextword.runtime.commands", "a suggestion bar: complete the word being typed, or the next words"),
    "generate": ("nextword.runtime.commands", "continue a text word by word"),
    "evaluate": ("nextword.runtime.commands", "perplexity, top-k and keystroke savings beside a Kneser-Ney baseline"),
    "bench": ("nextword.export.cli", "time the runtime against its raw engines and Keras"),
    "web": ("nextword.runtime.web", "serve the in-browser demo: next words as you type, the model in the page"),
}
# What to install when a command's module needs a package the base install lacks.
EXTRA_OF_PACKAGE = {
    "tensorflow": "train",
    "keras": "train",
    "tf2onnx": "train",
    "onnx": "train",
    "matplotlib": "train",
    "ai_edge_litert": "tflite",
    "flatbuffers": "tflite",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser of `command`; every other command is listed by name and help line only."""
    parser = argparse.ArgumentParser(prog="nextword", description="Train, export and run a next-word prediction LSTM.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_line) in COMMANDS.items():
        if name == command:
            importlib.import_module(module).COMMANDS[name](subparsers, help_line)
        else:
            subparsers.add_parser(name, help=help_line)
    return parser


def command_of(argv: list[str]) -> str | None:
    # argparse puts the subcommand first among the positionals; no top-level option takes a value.
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = command_of(argv)
    try:
        args = build_parser(command if command in COMMANDS else None).parse_args(argv)
        return args.func(args)
    except ValidationError as exc:
        print(f"nextword {command}: validation failed: {exc}", file=sys.stderr)
        return EXIT_FAILED_CHECK
    except NextwordError as exc:
        print(f"nextword {command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as exc:
        extra = EXTRA_OF_PACKAGE.get((exc.name or "").split(".")[0], "train")
        print(
            f"nextword {command}: error: {exc.name} is not installed; pip install 'nextword[{extra}]'", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"nextword {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nextword predict - | head` closes the pipe early; that is not an error
        return EXIT_OK


def entry_point() -> None:
    """The installed `nextword` command: main() with the engines' start-up chatter kept off the terminal."""
    from nextword.runtime.stderr_filter import filter_stderr

    filter_stderr()
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
