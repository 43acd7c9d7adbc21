"""What a keyboard pays per keystroke: `suggest` for the next word and for the word being typed, with and without
a user model; and the user model's file at 100k entries. `nextword bench` prints these rows for both formats
(keyboard_rows) beside the raw engine step; alone:

    python -m nextword.export.bench.keyboard runs/seq/export/model.onnx --corpus ../shared/data/tinyshakespeare.txt
    ... --caches     # one bar timed with the caches hot, after an engine step, after reading 32 MB

A keystroke inside a word (a completion) costs no engine call in a session: the step's whole distribution is
kept from the word's first letter, so what is timed there is host work only. Figures are medians (µs) over the
keystrokes of real text, measured in one run so they compare as ratios.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from nextword.runtime.corpus import load_corpus
from nextword.runtime.errors import NextwordError
from nextword.runtime.predictor import Predictor
from nextword.runtime.stderr_filter import filter_stderr
from nextword.runtime.user_model import UserModel

WORDS = 400  # typed words per figure: a few thousand keystrokes


def p50_us(samples_ns: list[int]) -> float:
    return statistics.median(samples_ns) / 1000.0


def typed_words(text: str, predictor: Predictor, n: int) -> list[str]:
    words = predictor.tokenizer.encode_words(text)[0][:n]
    return [predictor.words[i] for i in words if predictor.words[i] != predictor.tokenizer.oov_token]


def session_keystrokes(predictor: Predictor, words: list[str], user=None) -> dict[str, float]:
    """Per keystroke of a typed text in a session: the next-word bar after each word, the completion bar
    after each later letter (host work: the distribution is already kept), and the word's one engine step."""
    session = predictor.session(user=user)
    clock = time.perf_counter_ns
    next_word, first_letter, later_letters, feed, word_then_next = [], [], [], [], []
    for word in words:
        t0 = clock()
        session.suggest("", 3)
        next_word.append(clock() - t0)
        if feed:  # what the space after a word costs: its step, then the next-word bar
            word_then_next.append(feed[-1] + next_word[-1])
        for typed in range(1, len(word)):
            t0 = clock()
            session.suggest(word[:typed], 3)
            (first_letter if typed == 1 else later_letters).append(clock() - t0)
        t0 = clock()
        session.feed(word)
        feed.append(clock() - t0)
    return {
        "next_word_us": p50_us(next_word),
        "first_letter_us": p50_us(first_letter),  # the first word's fetches the distribution (one engine call)
        "completion_host_us": p50_us(later_letters),
        "feed_word_us": p50_us(feed),
        "word_then_next_us": p50_us(word_then_next),
    }


def predictor_keystrokes(predictor: Predictor, words: list[str], user=None) -> dict[str, float]:
    """The window kind has no session: each keystroke is Predictor.suggest on the text so far."""
    clock = time.perf_counter_ns
    text, next_word, letters = "", [], []
    for word in words:
        t0 = clock()
        predictor.suggest(text, 3, user=user)
        next_word.append(clock() - t0)
        for typed in range(1, len(word)):
            t0 = clock()
            predictor.suggest(text + word[:typed], 3, user=user)
            letters.append(clock() - t0)
        text = " ".join((text + " " + word).split()[-32:]) + " "
    return {"next_word_us": p50_us(next_word), "completion_us": p50_us(letters)}


def user_file(entries: int) -> dict[str, float]:
    """A user model of `entries` learned words and pairs: its file's size and its load time (median of 5)."""
    rng = np.random.default_rng(0)
    user = UserModel(max_entries=entries)
    words = [f"w{i:06d}" for i in range(entries // 2)]
    user.learn(" ".join(words[i] for i in rng.integers(0, len(words), entries)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "user.nwuser"
        user.save(path)
        seconds = []
        for _ in range(5):
            start = time.perf_counter()
            loaded = UserModel.load(path, max_entries=entries)
            seconds.append(time.perf_counter() - start)
            del loaded  # freeing the previous model is not part of a load
        return {"entries": len(user), "bytes": path.stat().st_size, "load_ms": statistics.median(seconds) * 1000}


def after_new_word(predictor: Predictor, user: UserModel, n: int = 100) -> dict[str, float]:
    """The next-word bar right after the user commits a word the user model has never seen (made-up words), p50
    and the slowest of n, µs: the learned words' index takes it in place (it used to be rebuilt, 50 ms at 34,000
    words). Learns n words into `user`."""
    if predictor.kind == "sequence":
        session = predictor.session(user=user)
        session.feed("and the")
        bar = functools.partial(session.suggest, "", 3)
    else:  # the window kind has no session: the bar is Predictor.suggest on the text so far
        bar = functools.partial(predictor.suggest, "and the ", 3, user=user)
    clock, samples = time.perf_counter_ns, []
    for i in range(n):
        user.learn(f"the zq{i:04d} ")
        t0 = clock()
        bar()
        samples.append(clock() - t0)
    return {"p50": p50_us(samples), "max": max(samples) / 1000.0}


def keystroke_figures(predictor: Predictor, text: str, words: int) -> dict:
    """suggest's cost per keystroke, alone and with a user model that has learned the text's first half, typing
    words of its last tenth (the held-out tail)."""
    typed = typed_words(text[len(text) * 9 // 10 :], predictor, words)
    learned = UserModel()
    learned.learn(text[: len(text) // 2])
    measure = session_keystrokes if predictor.kind == "sequence" else predictor_keystrokes
    measure(predictor, typed[:50])  # warm-up
    # The first pass reads most of its contexts for the first time (each is then ordered once, for as long as
    # the user model lives): timed apart from the second, which is what every later keystroke costs.
    first_pass = measure(predictor, typed, learned)
    return {
        "vocab_size": predictor.vocab_size,
        "typed_words": len(typed),
        "alone": measure(predictor, typed),
        "with_user": measure(predictor, typed, learned),
        "with_user_first_pass": first_pass,
        "user_model_entries": len(learned),
        "after_new_word_us": after_new_word(predictor, learned),  # last: it teaches the user model new words
    }


def cache_figures(predictor: Predictor, text: str, context: str = "And the king said to the", n: int = 1500) -> dict:
    """Why the user model's cost per keystroke is what it is: the same bar, timed with the caches hot, right
    after an engine step (as in a session), and after reading 32 MB; with and without the user model."""
    learned = UserModel()
    learned.learn(text[: len(text) // 2])
    bars = {"alone": predictor.session(), "with_user": predictor.session(user=learned)}
    stepping, big = predictor.session(), np.ones(8_000_000, dtype=np.float32)
    evict = {"hot": lambda: None, "after_engine_step": lambda: stepping.feed("the"), "after_32_mb": big.sum}
    figures = {}
    for partial in ("", "w"):
        for name, session in bars.items():
            session.feed(context)
            session.suggest(partial, 3)
            for state, before in evict.items():
                samples = []
                for _ in range(n):
                    before()
                    t0 = time.perf_counter_ns()
                    session.suggest(partial, 3)
                    samples.append(time.perf_counter_ns() - t0)
                figures[f"{partial or 'next word'} {name} {state}"] = p50_us(samples)
    return figures


def keyboard_rows(paths: dict[str, Path], text: str, words: int, user_entries: int) -> dict:
    """`nextword bench`'s keyboard figures: per format, then the user file once (it holds no model)."""
    rows = {fmt: keystroke_figures(Predictor.load(path), text, words) for fmt, path in paths.items()}
    return {"keyboard_us": rows, "user_file": user_file(user_entries)}


def keyboard_bench(model_path: Path, text: str, words: int = WORDS) -> dict:
    predictor = Predictor.load(model_path)
    return {
        "model": model_path.name,
        "kind": predictor.kind,
        **keystroke_figures(predictor, text, words),
        "user_file_100k": user_file(100_000),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--corpus", default=None, help="text to type (default: the embedded corpus)")
    parser.add_argument("--words", type=int, default=WORDS)
    parser.add_argument("--caches", action="store_true", help="time one bar hot, after an engine step, after 32 MB")
    args = parser.parse_args(argv)
    filter_stderr()  # LiteRT's "Created TensorFlow Lite XNNPACK delegate" is not a result
    try:
        text = load_corpus(args.corpus).text
        if args.caches:
            figures = cache_figures(Predictor.load(args.model), text)
        else:
            figures = keyboard_bench(args.model, text, args.words)
    except NextwordError as exc:
        print(f"keyboard bench: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
