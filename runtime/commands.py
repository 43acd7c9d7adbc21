"""`nextword predict | generate | evaluate`: argument parsing and printing only; the work is in Predictor."""

from __future__ import annotations

import argparse
import json
import sys

from nextword.runtime.contract import FORMATS
from nextword.runtime.errors import InputError
from nextword.runtime.textio import read_lines, safe_output


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("model", metavar="MODEL", help="an exported model.onnx or model.tflite")
    common.add_argument("--backend", choices=FORMATS, help="override the format read from the file")
    common.add_argument("--threads", type=int, default=1, help="engine threads (default 1: lowest single-call latency)")
    common.add_argument("--json", action="store_true", help="one JSON object per output line")
    return common


def add_predict(subparsers, help_line: str) -> None:
    p = subparsers.add_parser(
        "predict",
        parents=[common_options()],
        help=help_line,
        description="Print the k most likely next words; TEXT '-' reads one input per line from stdin. "
        "--interactive reads a line at a time as the continuation of one text and prints suggestions after each "
        "(a sequence model carries its state: each line costs only its own words); a line '/reset' starts over.",
    )
    p.add_argument("text", metavar="TEXT", nargs="?", default=None)
    p.add_argument("-k", type=int, default=5, help="how many words (default 5)")
    p.add_argument("-i", "--interactive", action="store_true", help="keep one text going over the lines of stdin")
    p.set_defaults(func=run_predict)


def add_suggest(subparsers, help_line: str) -> None:
    p = subparsers.add_parser(
        "suggest",
        parents=[common_options()],
        help=help_line,
        description="Print what a suggestion bar shows for TEXT: the k likeliest words completing the word being "
        "typed when TEXT ends inside one, else the k likeliest next words; never <unk>, in display casing. "
        "TEXT '-' reads one input per line from stdin.",
    )
    p.add_argument("text", metavar="TEXT")
    p.add_argument("-k", type=int, default=3, help="how many words (default 3, a phone's bar)")
    p.set_defaults(func=run_suggest)


def run_suggest(args) -> int:
    predictor = load(args)
    for text in inputs(args.text):
        print_prediction(text, predictor.suggest(text, k=args.k), args.json)
    return 0


def add_generate(subparsers, help_line: str) -> None:
    g = subparsers.add_parser(
        "generate",
        parents=[common_options()],
        help=help_line,
        description="Generate words after TEXT; TEXT '-' reads one prompt per line from stdin.",
    )
    g.add_argument("text", metavar="TEXT")
    g.add_argument("-n", "--n-words", type=int, default=20, help="words to generate (default 20)")
    g.add_argument("--strategy", choices=("greedy", "sample"), default="greedy")
    g.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (sample only)")
    g.add_argument("--top-k", type=int, default=None, help="sample among the top k words only")
    g.add_argument("--seed", type=int, default=None, help="random seed: the same seed gives the same text")
    g.set_defaults(func=run_generate)


def add_evaluate(subparsers, help_line: str) -> None:
    e = subparsers.add_parser(
        "evaluate",
        parents=[common_options()],
        help=help_line,
        description="Score the model on the held-out tail of a corpus, next to an n-gram baseline fitted on the rest: "
        "perplexity, top-k over ids, and what a keyboard's suggestion bar gets (top-1/3 among words it can show, "
        "keystroke savings with --shown words).",
    )
    e.add_argument("--corpus", required=True, metavar="FILE")
    e.add_argument(
        "--holdout", type=float, default=None, help="held-out fraction (default: the model's validation_split)"
    )
    e.add_argument(
        "--order",
        type=int,
        action="append",
        default=None,
        metavar="N",
        help="Kneser-Ney n-gram order to compare with, repeatable (default: the window model's own; 4 and 5 "
        "for the sequence kind)",
    )
    e.add_argument(
        "--shown",
        type=int,
        default=3,
        metavar="N",
        help="suggestions in the simulated keyboard's bar, for keystroke savings (default 3)",
    )
    e.add_argument(
        "--adapt",
        action="store_true",
        help="also type the tail with a user model learning each word (on the model and the last n-gram)",
    )
    e.add_argument(
        "--baseline-corpus",
        metavar="FILE",
        default=None,
        help="fit the n-grams on FILE before its held-out tail instead (e.g. the model's own training text, when "
        "--corpus is text of another kind)",
    )
    e.set_defaults(func=run_evaluate)


def load(args):
    from nextword.runtime.predictor import Predictor

    safe_output()  # words the terminal's encoding lacks are printed as escapes, not a UnicodeEncodeError
    return Predictor.load(args.model, backend=args.backend, threads=args.threads)


def inputs(text: str):
    """The text itself, or each line of stdin for '-' (so one process serves many inputs): any line end,
    lines up to textio.MAX_LINE_CHARS."""
    if text != "-":
        yield text
        return
    yield from read_lines()


def run_predict(args) -> int:
    if args.interactive == (args.text is not None):
        raise InputError("predict needs TEXT (or '-') or --interactive, not both")
    predictor = load(args)
    if args.interactive:
        return run_interactive(predictor, args)
    for text in inputs(args.text):
        print_prediction(text, predictor.predict_next(text, k=args.k), args.json)
    return 0


# The window kind reads only its last few words; this many keeps the text bounded for any seq_len in use.
WINDOW_TEXT_WORDS = 256


def run_interactive(predictor, args) -> int:
    """Each line continues the text. Sequence kind: a Session fed line by line (a line ends a word, so no
    word is split between lines); window kind: the text so far, of which the model reads its last words."""
    try:
        session = predictor.session()  # a kind that carries state pays for each line's words only
    except InputError:
        session = None  # a window model re-reads the end of the text instead
    text = ""
    if sys.stdin.isatty():
        print("type text, Enter for suggestions; /reset starts a new text; Ctrl-D ends", file=sys.stderr)
    for line in inputs("-"):
        if line.strip() == "/reset":
            text = ""
            if session is not None:
                session.reset()
            continue
        if session is not None:
            session.feed(line)
            prediction = session.predict(args.k)
        else:
            text = " ".join((text + " " + line).split()[-WINDOW_TEXT_WORDS:])
            prediction = predictor.predict_next(text, k=args.k)
        print_prediction(line, prediction, args.json)
    return 0


def print_prediction(text: str, prediction, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "text": text,
                    "predictions": [{"word": w, "probability": p} for w, p in prediction],
                    "unknown_words": list(prediction.unknown_words),
                }
            ),
            flush=True,
        )
    else:
        print("  ".join(f"{w} {p:.4f}" for w, p in prediction), flush=True)


def run_generate(args) -> int:
    predictor = load(args)
    for text in inputs(args.text):
        words = predictor.generate(
            text, args.n_words, strategy=args.strategy, temperature=args.temperature, top_k=args.top_k, seed=args.seed
        )
        if args.json:
            print(json.dumps({"text": text, "generated": words}), flush=True)
        else:
            print(f"{text} {words}".strip(), flush=True)
    return 0


def run_evaluate(args) -> int:
    from nextword.runtime.corpus import load_corpus
    from nextword.runtime.evaluate import evaluate
    from nextword.runtime.metrics import text_progress

    predictor = load(args)
    corpus = load_corpus(args.corpus)
    progress = None if args.json else text_progress(sys.stderr)
    options = {"holdout": args.holdout, "orders": args.order, "shown": args.shown, "adapt": args.adapt}
    if args.baseline_corpus is not None:
        options["baseline_text"] = load_corpus(args.baseline_corpus).text
    report = evaluate(predictor, corpus.text, progress=progress, **options)
    if args.json:
        print(json.dumps(report))
        return 0
    print_evaluation(report, args.model, report["unit"])
    return 0


def print_evaluation(report: dict, model: str, unit: str) -> None:
    """The table: the old top-k over ids (a predicted <unk> for an unknown word is a hit) beside what a keyboard's
    bar can use (runtime/keyboard.py has the protocol), one row per model."""
    outside = report["targets_outside_vocabulary"]
    print(
        f"{report['windows']} held-out {unit} ({report['windows_with_unknown_words']} touch unknown words; "
        f"{outside} targets are outside the vocabulary: keyboard misses, typed in full)"
    )
    shown = f"({report['shown']} shown)"
    print(f"{'':<45}{'top-k (ids, <unk> counts)':^27}{'':1}{'keyboard (real words)':^21}{'keystroke savings':>20}")
    print(f"{'':<34}{'perplexity':>11}{'top-1':>9}{'top-3':>9}{'top-5':>9}{'top-1':>12}{'top-3':>10}{shown:>20}")
    if report.get("baseline_fitted_on") == "another text":
        fitted = report["baseline_fitted_ids"]
        print(f"the n-grams were fitted on --baseline-corpus ({fitted:,} words), not on this corpus")
    rows = [("model " + model, report["model"])] + [(row["name"], row) for row in report["baselines"]]
    for name, row in rows:
        ids = "".join(f"{row[key]:>9.2%}" for key in ("top1", "top3", "top5"))
        keyboard = f"{row['keyboard_top1']:>12.2%}{row['keyboard_top3']:>10.2%}{row['keystroke_savings']:>20.2%}"
        print(f"{name[:34]:<34}{row['perplexity']:>11.1f}{ids}{keyboard}")
    adapted = [(name, row) for name, row in rows if "adapted_keystroke_savings" in row]
    if adapted:
        warm = adapted[0][1]["warm_up_words"]
        print(
            f"\nwith a user model learning each typed word (--adapt; after {warm} words: the user model has seen them)"
        )
        print(f"{'':<34}{'keyboard top-1':>16}{'savings':>10}{'after':>10}{'alone, after':>14}")
        for name, row in adapted:
            print(
                f"{name[:34]:<34}{row['adapted_keyboard_top1']:>16.2%}{row['adapted_keystroke_savings']:>10.2%}"
                f"{row['adapted_keystroke_savings_after_warm_up']:>10.2%}{row['keystroke_savings_after_warm_up']:>14.2%}"
            )


COMMANDS = {
    "predict": add_predict,
    "suggest": add_suggest,
    "generate": add_generate,
    "evaluate": add_evaluate,
}  # read by nextword.runtime.cli
