"""What the Python runtime suggests, for the JS parity tests (suggest.test.js): Predictor.suggest on 1,000 texts
per kind (mid-word, after a space, after a sentence end, empty, capitalized letters, letters matching nothing),
Session.suggest as a typist calls it; on the exported model and on two copies, one without a casing table
(words as learned) and one with a table that also holds forms a counter never writes ("THE"), which
tests/export/casing_copies.py writes. make_expectations.py and make_sequence_expectations.py import it.
"""

from __future__ import annotations

import random

from make_expectations import corpus_words
from nextword.runtime import Predictor
from nextword.runtime.errors import InputError

N_SUGGEST = 1000
N_SESSIONS = 80
HOSTILE = [
    "",
    " ",
    "\n",
    ".",
    "end. ",
    "why?",
    "x. th",
    "x. Th",
    "x.Th",
    "the value of ",
    "the value of t",
    "the value of T",
    "the value of THE",
    "the value of qxqxq",
    "the <",
    "the <u",
    "<unk",
    "a,b",
    "a, b",
    "tab\tx",
    "the\x00val",
    "don't",
    "İ",
    "İs",
    "ß",
    "Straße ",
    "Σ",
    "ΑΣ ",
    "ǅ",
    "😀",
    "the 😀",
    "\ud800",
    "the \ud800",
    "\ufeff",
    "the value\ufeff",
    "the value.\x85",
    "the value.\ufeff",
    "the value.\x1c",
    "café o",
    "I",
    "i",
    "I ",
    "Python i",
]


def make_suggest_texts(rng: random.Random, n: int = N_SUGGEST) -> list[str]:
    words = corpus_words()
    texts = list(HOSTILE)
    while len(texts) < n:
        start = rng.randrange(len(words))
        text = " ".join(words[start : start + rng.randint(0, 6)])
        word = rng.choice(words)
        letters = word[: rng.randint(1, len(word))]
        roll = rng.random()
        if roll < 0.3:  # mid-word
            text += " " + letters
        elif roll < 0.4:  # a capitalized partial, or all capitals
            text += " " + (letters.upper() if rng.random() < 0.3 else letters[:1].upper() + letters[1:])
        elif roll < 0.55:  # between words
            text += " "
        elif roll < 0.7:  # after a sentence ends, or mid-word after one
            text += rng.choice([".", ". ", "? ", "! ", ".\n", ". " + letters, ". " + letters.capitalize()])
        elif roll < 0.78:  # letters that start no word
            text += " " + rng.choice(["qxz", "zzq", "xq", "Qxz", "ǅx", "ßq"])
        elif roll < 0.82:
            text = rng.choice(["", " ", letters, letters.capitalize()])
        texts.append(text)  # else: as sliced, ending inside its last word
    return texts


def k_for(i: int) -> int:
    """3, what a bar shows; now and then 1, 12 (past the graph's own top 10 with the OOV token hidden) or 50."""
    return {0: 1, 3: 12, 5: 50}.get(i % 7, 3)


def row(suggestions) -> dict:
    return {"words": [w for w, _ in suggestions], "probs": [p for _, p in suggestions]}


def suggest_rows(predictor: Predictor, texts: list[str]) -> list[dict]:
    rows = []
    for i, text in enumerate(texts):
        suggestions = predictor.suggest(text, k_for(i))
        rows.append({"k": k_for(i), **row(suggestions), "unknown": list(suggestions.unknown_words)})
    return rows


def session_runs(predictor: Predictor, rng: random.Random, n: int = N_SESSIONS) -> list[list[dict]]:
    """Typists: each word typed letter by letter (session.suggest after every letter; a letter that ends the
    word, like '(' or ',', is an InputError in both runtimes), then fed; now and then a sentence ends or
    words are generated (greedy)."""
    words = corpus_words()
    runs = []
    for _ in range(n):
        session, ops = predictor.session(), []
        start = rng.randrange(len(words))
        for word in words[start : start + rng.randint(1, 7)]:
            if rng.random() < 0.2:
                word = word[:1].upper() + word[1:]
            for j in range(len(word) + 1):
                ops.append(suggest_op(session, word[:j], 12 if j == 2 else 3))
            ending = rng.choice([" ", " ", " ", ". ", "? ", ", "])
            session.feed(word + ending)
            ops.append({"op": "feed", "text": word + ending})
            if rng.random() < 0.1:
                ops.append({"op": "generate", "n": 2, "text": session.generate(2)})
        ops.append(suggest_op(session, "", 3))
        runs.append(ops)
    return runs


def suggest_op(session, partial: str, k: int) -> dict:
    try:
        suggestions = session.suggest(partial, k)
    except InputError as exc:
        return {"op": "suggest", "partial": partial, "k": k, "error": str(exc)}
    return {"op": "suggest", "partial": partial, "k": k, **row(suggestions), "unknown": list(suggestions.unknown_words)}
