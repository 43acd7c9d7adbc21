"""What the Python user model does, for the JS parity test (user-parity.test.js):

- learning: scripts of learn / forget / clear calls (corpus text, names, sentence ends, long words, words whose
  lowercase is longer, Unicode casing, a lone surrogate that must be refused), the size after each call and the
  saved file's bytes at checkpoints, once with the default cap and once with a cap of 40 entries (evictions);
- files: user files of both versions (the binary 2 that save writes, the JSON 1 of older releases) as the Python
  reader judges them (hand-made hostile ones, mutants of the fuzzer, tests/hardening/fuzz_user_model.py, half
  re-signed, and column edits): refused with which class, or read, with the bytes a save of what was read gives;
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

import numpy as np
from make_expectations import corpus_words
from nextword.runtime import Predictor, user_file
from nextword.runtime.errors import InputError, NextwordError
from nextword.runtime.user_model import UserModel
from suggest_fixtures import k_for, make_suggest_texts, row

from tests.hardening.fuzz_user_model import as_version_1, mutate, resign

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


def signed(body: bytes, version: int = 1) -> bytes:
    """A user file around body with a valid header and checksum: the damage reaches the parser and column checks."""
    return user_file.sign(body, version)


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
    made = json_hostile_files(as_version_1(seeds[0])) + binary_hostile_files(seeds[0])
    files = [{"b64": b64(data), **verdict(data)} for data in made]
    files.append({"b64": b64(seeds[0]), "max_entries": 5, **verdict(seeds[0], 5)})
    seeds = seeds + [as_version_1(seed) for seed in seeds]
    for i in range(N_MUTANTS):
        data = mutate(rng.choice(seeds), rng)
        data = resign(data) if i % 2 else data
        files.append({"b64": b64(data), **verdict(data)})
    for _ in range(N_MUTANTS // 2):
        seed = rng.choice(seeds)
        tick, words, forms, ints = user_file.decode(seed, 100_000)
        columns = {"tick": tick, "words": words, "forms": forms} | {name: ints[name].tolist() for name in ints}
        columns = edit_columns(columns, rng)
        if seed.startswith(b"nextword-user 1"):
            data = signed(json.dumps(columns, ensure_ascii=False, separators=(",", ":")).encode())
        else:  # the binary file holds uint32s: an edit past them wraps, as a careless C writer's would
            ints = {name: (np.array(columns[name], np.int64) % 2**32).tolist() for name in user_file.INTEGER_COLUMNS}
            data = user_file.encode(columns["tick"] % 2**32, columns["words"], columns["forms"], ints)
        files.append({"b64": b64(data), **verdict(data)})
    return files


def json_hostile_files(good: bytes) -> list[bytes]:
    head, body = good[: good.index(b"{")], good[good.index(b"{") :]
    columns = json.loads(body)
    made = [
        b"",
        b"nextword-user 3\n" + good.partition(b"\n")[2],
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
        made.append(
            signed(json.dumps(columns | change, separators=(",", ":")).encode().replace(b"\\\\ud800", b"\\ud800"))
        )
    return made


def binary_hostile_files(good: bytes) -> list[bytes]:
    """Version 2 files whose head, lengths, text or columns lie (tests/runtime/test_user_model.py has each case)."""
    body = good.partition(b"\n")[2].partition(b"\n")[2]
    tick, words, forms, ints = user_file.decode(good, 100_000)
    ints = {name: ints[name].tolist() for name in ints}

    def head(**fields) -> bytes:
        numbers = np.frombuffer(body[:20], "<u4").copy()
        for name, value in fields.items():
            numbers[["tick", "n_words", "n_pairs", "words_bytes", "forms_bytes"].index(name)] = value
        return signed(numbers.tobytes() + body[20:], version=2)

    def encoded(**changes) -> bytes:
        columns = {"tick": tick, "words": words, "forms": forms} | ints | changes
        return user_file.encode(columns["tick"], columns["words"], columns["forms"], {n: columns[n] for n in ints})

    first = words[0]
    return [
        signed(body[:19], version=2),
        signed(body[:-1], version=2),
        signed(body + b"\n", version=2),
        head(n_words=2**32 - 1),
        head(n_pairs=len(ints["pair_words"]) + 1),
        head(words_bytes=0),
        head(tick=2**31),
        signed(body.replace(first.encode() + b"\n", b"\xff" * len(first.encode()) + b"\n", 1), version=2),  # not UTF-8
        encoded(words=[words[1]] + words[1:]),
        encoded(words=["a b"] + words[1:]),
        encoded(words=["x" * 65] + words[1:]),
        encoded(words=["x" * 64] + words[1:]),
        encoded(words=["ΑΣ"] + words[1:], forms=["ας"] + forms[1:]),
        encoded(forms=["QQ"] + forms[1:]),
        encoded(forms=[forms[0] + "\n"] + forms[1:]),
        encoded(counts=[0] + ints["counts"][1:]),
        encoded(counts=[2**31] + ints["counts"][1:]),
        encoded(ticks=[tick + 1] + ints["ticks"][1:]),
        encoded(pair_next=[len(words)] + ints["pair_next"][1:]),
        encoded(
            **{name: ints[name][:1] + ints[name] for name in ("pair_words", "pair_next", "pair_counts", "pair_ticks")}
        ),
        encoded(tick=0),
    ]


POOL = ["a", "Z", " ", ".", "\t", "İ", "ς", "Σ", "😀", "\x85", "\ufeff", "\u00ad", "ß", "0"]


def edit_columns(columns: dict, rng: random.Random) -> dict:
    """Valid JSON with the columns edited as a careless writer might: a count, tick or index moved, a word or
    form changed by one character, an entry dropped or repeated; read or refused by the deeper checks."""
    for _ in range(rng.randint(1, 3)):
        name = rng.choice(
            ["tick", "words", "forms", "counts", "ticks", "pair_words", "pair_next", "pair_counts", "pair_ticks"]
        )
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
    return columns


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
        ops.append(
            {"op": "suggest", "text": text, "k": k, **row(suggestions), "unknown": list(suggestions.unknown_words)}
        )
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
            ops.append(
                {"op": "suggest", "text": text, "k": k, **row(suggestions), "unknown": list(suggestions.unknown_words)}
            )
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
    seeds = [seed for seed in seeds if len(UserModel.from_bytes(seed).words) > 1] or seeds
    expected = {
        "learning": scripts,
        "files": hostile_files(seeds, rng),
        "suggest": {
            kind: suggest_run(Predictor.load(path), rng) for kind, path in (("window", window), ("sequence", sequence))
        },
        "sessions": typing_runs(Predictor.load(sequence), rng),
    }
    out.write_text(json.dumps(expected))
    refused = sum("error" in f for f in expected["files"])
    print(f"{out}: {len(expected['files'])} user files ({refused} refused), {N_SUGGEST}+ suggestions per kind")


if __name__ == "__main__":
    main()
