"""What carrying the Kneser-Ney n-gram inside the file would buy a keyboard, before building it: the held-out tail
read as `nextword evaluate` reads it, each position's distribution mixed as

    P(w) = lam * P_model(w) + (1 - lam) * P_KN(w)

and scored by evaluate's own keyboard code (runtime/keyboard.py) for several lam. lam = 1 is evaluate's model row,
lam = 0 its n-gram row, so the two ends reproduce `nextword evaluate` exactly. A copy inside a file must be bounded:
`--min-count N` drops the entries counted fewer than N times (KneserNey.pruned) and prints how many are left.

    python -m nextword.export.bench.ngram_mix EXPORT/model.onnx --corpus TEXT [--baseline-corpus TRAINING_TEXT]
        [--order 5] [--min-count 1]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from nextword.runtime.corpus import load_corpus
from nextword.runtime.errors import NextwordError
from nextword.runtime.evaluate import id_stream, oov_id, vocabulary_words, word_stream
from nextword.runtime.keyboard import DEFAULT_SHOWN, Keyboard
from nextword.runtime.kneser_ney import KneserNey
from nextword.runtime.predictor import Predictor
from nextword.runtime.stderr_filter import filter_stderr
from nextword.runtime.windows import split_stream

BATCH = 512
WEIGHTS = (1.0, 0.8, 0.7, 0.6, 0.5, 0.0)


def mix_rows(
    predictor, text: str, *, order: int = 5, weights=WEIGHTS, baseline_text: str | None = None, min_count: int = 1
) -> tuple[list, int]:
    """([(lam, keyboard result, perplexity)] over the held-out tail of text, the n-gram's entries), for a
    sequence-kind predictor."""
    holdout = predictor.bundle.config.validation_split
    ids, _, _, words = word_stream(predictor.tokenizer, text)
    split = split_stream(len(ids), holdout)
    held, held_words = ids[split:], words[split:]
    if baseline_text is None:
        training = ids[:split]
    else:
        baseline_ids = id_stream(predictor.tokenizer, baseline_text)[0]
        training = baseline_ids[: split_stream(len(baseline_ids), holdout)]
    ngram = KneserNey.fit(training, predictor.vocab_size, order=order).pruned(min_count)
    contexts = np.lib.stride_tricks.sliding_window_view(np.concatenate([np.zeros(order - 1, np.int32), held]), order)
    keyboard = Keyboard(vocabulary_words(predictor), oov_id(predictor), DEFAULT_SHOWN, predictor.bundle.casing)
    tallies = {lam: keyboard.tally(held, held_words) for lam in weights}
    nll = dict.fromkeys(weights, 0.0)
    read = predictor.stream_reader(held)
    for start in range(0, len(held), BATCH):
        n = min(BATCH, len(held) - start)
        model, kn = read(n).astype(np.float64), ngram.probs_batch(contexts[start : start + n, :-1])
        for lam in weights:
            mixed = lam * model + (1 - lam) * kn
            tallies[lam].add(mixed, start)
            nll[lam] -= float(np.log(mixed[np.arange(n), held[start : start + n]]).sum())
    rows = [(lam, tallies[lam].result(), float(np.exp(nll[lam] / len(held)))) for lam in weights]
    return rows, ngram.entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--baseline-corpus", help="fit the n-gram on this text's training part instead")
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=1, help="drop n-gram entries counted fewer times")
    args = parser.parse_args()
    filter_stderr()  # LiteRT's "Created TensorFlow Lite XNNPACK delegate" is not a result
    try:
        predictor = Predictor.load(args.model)
        baseline = load_corpus(args.baseline_corpus).text if args.baseline_corpus else None
        text = load_corpus(args.corpus).text
        rows, entries = mix_rows(predictor, text, order=args.order, baseline_text=baseline, min_count=args.min_count)
    except NextwordError as exc:
        print(f"ngram mix bench: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"order {args.order}, min count {args.min_count}: {entries:,} entries of orders >= 2")
    print(f"{'lam (model share)':>18} {'keyboard top-1':>15} {'top-3':>7} {'savings':>8} {'perplexity':>11}")
    for lam, result, perplexity in rows:
        top1, top3, savings = (100 * result[key] for key in ("keyboard_top1", "keyboard_top3", "keystroke_savings"))
        print(f"{lam:>18.2f} {top1:>14.2f}% {top3:>6.2f}% {savings:>7.2f}% {perplexity:>11.1f}")


if __name__ == "__main__":
    main()
