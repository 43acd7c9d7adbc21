"""What the Python user model does, for the JS parity test (user-parity.test.js):

- learning: scripts of learn / forget / clear calls (corpus text, names, sentence ends, long words, words whose
  lowercase is longer, Unicode casing, a lone surrogate that must be refused), the size after each call and the
  saved file's bytes at checkpoints, once with the default cap and once with a cap of 40 entries (evictions);
- files: user files as the Python reader judges them (hand-made hostile ones and mutants of the fuzzer,
  tests/hardening/fuzz_user_model.py, half re-signed): refused with which class, or read, with the bytes a save
  of what was read gives;
- suggest: predictor.suggest(text, k, user=...) on both kinds while the user model learns, and typing sessions
  of the sequence kind with the user committing each word after typing it (as evaluate --adapt simulates).

    python make_user_expectations.py WINDOW_ONNX SEQUENCE_ONNX OUT.json
    NEXTWORD_USER_MUTANTS=7000 python make_user_expectations.py ...   # a campaign: scripts/check-user-files.js
"""

from __future__ import annotations

import base64
import json
import os
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root: tests.hardening

from make_expectations import corpus_words
from nextword.runtime import Predictor
from nextword.runtime.errors import InputError, NextwordError
from nextword.runtime.user_model import UserModel
from suggest_fixtures import k_for, make_suggest_texts, row
from tests.hardening.fuzz_user_model import mutate, resign

INVENTED = ["Zorblat", "Kensington", "Ann", "McLeod", "iPhone", "NASA", "Straße", "ΟΔΟΣ", "İstanbul", "naïve"]
ODD = [
    "x" * 70,
    "İ" * 70,
    "a" * 63 + "İ",
    "ΑΣ. Σ σ",
    "😀 the 😀",
    "tab\tsep\nnew line. Next",
    "the value.\x85 again",
    "\ufeffthe value",
    "don't stop",
    "a,b;c",
    "Wait... what?! Yes",
    "",
    "   ",
]
N_LEARN = 200
N_MUTANTS = int(os.environ.get("NEXTWORD_USER_MUTANTS", 1200))  # + half as many column edits
N_SUGGEST = 600
N_SESSIONS = 30


def signed(body: bytes) -> bytes:
    """A user file around body with a valid header and checksum: the damage reaches the JSON and column checks."""
    return resign(b"\n\n" + body)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def saved(user: UserModel) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        user.save(Path(tmp) / "u.nwuser")
        return (Path(tmp) / "u.nwuser").read_bytes()


def committed_text(rng: random.Random, words: list[str]) -> str:
    """A piece of text a user commits: corpus words, now and then a name of theirs, a sentence end, an odd string."""
    if rng.random() < 0.08:
        return rng.choice(ODD)
    start = rng.randrange(len(words))
    pieces = words[start : start + rng.randint(1, 8)]
    if rng.random() < 0.5:
        pieces.insert(rng.randrange(len(pieces) + 1), rng.choice(INVENTED))
    text = " ".join(pieces)
    return text + rng.choice(["", " ", ". ", "? ", "\n", ", "])


def learning_script(rng: random.Random, max_entries: int) -> list[dict]:
    words, user, ops = corpus_words(), UserModel(max_entries=max_entries), []
    for i in range(N_LEARN):
        roll = rng.random()
        if roll < 0.05 and user.words:
            word = rng.choice(sorted(user.words))
            word = word.upper() if rng.random() < 0.5 else word
            ops.append({"op": "forget", "word": word, "known": user.forget(word)})
        elif roll < 0.07:
            ops.append({"op": "forget", "word": "qqqq", "known": user.forget("qqqq")})
        elif roll < 0.08:
            user.clear()
            ops.append({"op": "clear"})
        elif roll < 0.1:
            text = "bad \ud800 text"
            try:
                user.learn(text)
                raise AssertionError("a lone surrogate was learned")
            except InputError:
                ops.append({"op": "learn", "text": text, "error": "InputError"})
        else:
            text = committed_text(rng, words)
            user.learn(text)
            ops.append({"op": "learn", "text": text})
        ops[-1]["size"] = len(user)
        if i % 25 == 24 or i == N_LEARN - 1:
            ops.append({"op": "save", "bytes": b64(saved(user))})
    return ops


def verdict(data: bytes, max_entries: int = 100_000) -> dict:
    try:
        user = UserModel.from_bytes(data, max_entries=max_entries)
    except NextwordError as exc:
        return {"error": type(exc).__name__}
    return {"size": len(user), "resaved": b64(saved(user))}


def hostile_files(seeds: list[bytes], rng: random.Random) -> list[dict]:
    good = seeds[0]
    head, body = good[: good.index(b"{")], good[good.index(b"{") :]
    columns = json.loads(body)
    made = [
        b"",
        b"nextword-user 2\n" + good.partition(b"\n")[2],
        head + body[:-5],
        signed(b"\xef\xbb\xbf" + body),
        signed(body.decode().encode("utf-16")),
        signed(body.replace(b'"tick":', b'"tick":1.0,"x":', 1)),
        signed(body.replace(b'"counts":[', b'"counts":[1.0,', 1)),
        signed(body.replace(b'"counts":[', b'"counts":[true,', 1)),
        signed(body.replace(b'"counts":[', b'"counts":[1e0,', 1)),
        signed(body.replace(b'"tick":', b'"tick":99999999999999999999999,"y":', 1)),
        signed(b"[" * 5000 + b"]" * 5000),
        signed(b'{"tick":1,"tick":1}'),
    ]
    for change in (
        {"words": ["\\ud800"] + columns["words"][1:]},
        {"words": [columns["words"][1]] + columns["words"][1:]},
        {"forms": ["QQ"] + columns["forms"][1:]},
        {"words": ["a b"] + columns["words"][1:]},
        {"words": ["x" * 65] + columns["words"][1:]},
        {"words": ["x" * 64] + columns["words"][1:]},
        {"pair_next": [len(columns["words"])] + columns["pair_next"][1:]},
        {"tick": 0},
    ):
        made.append(signed(json.dumps(columns | change, separators=(",", ":")).encode().replace(b"\\\\ud800", b"\\ud800")))
    files = [{"b64": b64(data), **verdict(data)} for data in made]
    files.append({"b64": b64(good), "max_entries": 5, **verdict(good, 5)})
    for i in range(N_MUTANTS):
        data = mutate(rng.choice(seeds), rng)
        data = resign(data) if i % 2 else data
        files.append({"b64": b64(data), **verdict(data)})
    for _ in range(N_MUTANTS // 2):
        seed = rng.choice(seeds)
        data = signed(edit_columns(json.loads(seed[seed.index(b"{") :]), rng))
        files.append({"b64": b64(data), **verdict(data)})
    return files


POOL = ["a", "Z", " ", ".", "\t", "İ", "ς", "Σ", "😀", "\x85", "\ufeff", "\u00ad", "ß", "0"]


def edit_columns(columns: dict, rng: random.Random) -> bytes:
    """Valid JSON with the columns edited as a careless writer might: a count, tick or index moved, a word or
    form changed by one character, an entry dropped or repeated; read or refused by the deeper checks."""
    for _ in range(rng.randint(1, 3)):
        name = rng.choice(["tick", "words", "forms", "counts", "ticks", "pair_words", "pair_next", "pair_counts", "pair_ticks"])
        if name == "tick":
            columns["tick"] += rng.choice([-1, 1, -columns["tick"], 2**31])
            continue
        column = columns[name]
        if not column:
            continue
        at = rng.randrange(len(column))
        roll = rng.random()
        if roll < 0.2:
            del column[at]
        elif roll < 0.35:
            column.insert(at, column[rng.randrange(len(column))])
        elif isinstance(column[at], int):
            column[at] += rng.choice([-1, 1, 2, -(2**31), 2**31])
        else:
            word = column[at]
            cut = rng.randint(0, len(word))
            column[at] = word[:cut] + rng.choice(POOL) + word[cut + rng.randint(0, 1) :]
    return json.dumps(columns, ensure_ascii=False, separators=(",", ":")).encode()


def suggest_run(predictor: Predictor, rng: random.Random) -> list[dict]:
    words, user, ops = corpus_words(), UserModel(), []
    texts = make_suggest_texts(rng, N_SUGGEST)
    texts += [f"we met at {name[: rng.randint(1, len(name))]}" for name in INVENTED for _ in range(3)]
    for i, text in enumerate(texts):
        if i % 4 == 0:
            learned = committed_text(rng, words)
            user.learn(learned)
            ops.append({"op": "learn", "text": learned})
        k = k_for(i)
        suggestions = predictor.suggest(text, k, user=user)
        ops.append({"op": "suggest", "text": text, "k": k, **row(suggestions), "unknown": list(suggestions.unknown_words)})
    # A long-time user: 30,000 words learned, so frequent words have hundreds of successors and a bar reads only
    # the few that can rank (suggest.py's mixed stops early; the JS one must show the same words).
    start = rng.randrange(len(words) - 30_000)
    learned = " ".join(words[start : start + 30_000])
    user.learn(learned)
    ops.append({"op": "learn", "text": learned})
    for context in ["the", "of", "a", "to", "is", "and", "in", "for"]:
        for partial in ["", "", "t", "s", "co", "a"]:
            k = rng.choice([1, 3, 3, 12])
            text = f"{rng.choice(words)} {context} {partial}"
            suggestions = predictor.suggest(text, k, user=user)
            ops.append({"op": "suggest", "text": text, "k": k, **row(suggestions), "unknown": list(suggestions.unknown_words)})
    return ops


def typing_runs(predictor: Predictor, rng: random.Random) -> list[list[dict]]:
    words, user, runs = corpus_words(), UserModel(), []
    for _ in range(N_SESSIONS):
        session, ops = predictor.session(user=user), []
        start = rng.randrange(len(words))
        typed = words[start : start + rng.randint(2, 8)]
        if rng.random() < 0.7:
            typed.insert(rng.randrange(len(typed) + 1), rng.choice(INVENTED))
        for word in typed:
            for j in range(len(word) + 1):
                try:
                    got = session.suggest(word[:j], 3)
                    ops.append({"op": "suggest", "partial": word[:j], "k": 3, **row(got)})
                except InputError:
                    ops.append({"op": "suggest", "partial": word[:j], "k": 3, "error": "InputError"})
            ending = rng.choice([" ", " ", " ", ". ", ", "])
            session.feed(word + ending)
            user.learn(word + ending)  # the word is committed: the user model learns it
            ops.append({"op": "type", "text": word + ending})
            if rng.random() < 0.1:
                ops.append({"op": "generate", "n": 2, "text": session.generate(2)})
        ops.append({"op": "suggest", "partial": "", "k": 3, **row(session.suggest("", 3))})
        runs.append(ops)
    return runs


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: make_user_expectations.py WINDOW_ONNX SEQUENCE_ONNX OUT.json")
    window, sequence, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    rng = random.Random(20)
    scripts = {"default": learning_script(rng, 100_000), "capped": learning_script(rng, 40)}
    seeds = [base64.b64decode(op["bytes"]) for ops in scripts.values() for op in ops if op["op"] == "save"]
    seeds = [seed for seed in seeds if b'"words":[]' not in seed] or seeds
    expected = {
        "learning": scripts,
        "files": hostile_files(seeds, rng),
        "suggest": {kind: suggest_run(Predictor.load(path), rng) for kind, path in (("window", window), ("sequence", sequence))},
        "sessions": typing_runs(Predictor.load(sequence), rng),
    }
    out.write_text(json.dumps(expected))
    refused = sum("error" in f for f in expected["files"])
    print(f"{out}: {len(expected['files'])} user files ({refused} refused), {N_SUGGEST}+ suggestions per kind")


if __name__ == "__main__":
    main()
