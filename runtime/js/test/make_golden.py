"""Write test/golden/tokenizer.json: Python's ids for hostile texts, for the JS tokenizer test to match, and
Python's answers for what suggestions are made of (its "suggest" section, for suggest.test.js): where the
word being typed starts (split_partial), sentence starts, display casing (str.upper and isupper of every
code point, display() over tricky words), the prefix index's order and ranges, and hostile casing tables.

Run with the project's Python (the one models are trained with):
    .venv/bin/python runtime/js/test/make_golden.py
Deterministic (seeded): rerunning gives the same file unless Python's tokenizer or Unicode data changed,
which is exactly what the test should then catch.

Texts must survive JSON: a Python string with a lone high surrogate right before a lone low one would
read back in JavaScript as one astral character, so such texts are not generated (lone surrogates
otherwise are, written as \\uXXXX escapes).
"""

from __future__ import annotations

import json
import random
import sys
import unicodedata
from pathlib import Path

from nextword.runtime.casing import case_table_from_json, display, starts_sentence
from nextword.runtime.completion import PrefixIndex
from nextword.runtime.errors import InputError
from nextword.runtime.suggest import split_partial
from nextword.runtime.tokenizer import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from make_unicode_tables import sigma_classes, where  # noqa: E402  (Python's Final_Sigma sets, probed afresh)

OUT = Path(__file__).resolve().parent / "golden" / "tokenizer.json"
N_TEXTS = 1200

WORDS = [
    "the",
    "The",
    "THE",
    "value",
    "of",
    "a",
    "to",
    "be",
    "or",
    "not",
    "İstanbul",
    "ISTANBUL",
    "ıi",
    "straße",
    "STRASSE",
    "ẞ",
    "ß",
    "ΟΔΟΣ",
    "ὈΔΥΣΣΕΎΣ",
    "Σ",
    "ΣΑ",
    "ΑΣ",
    "σς",
    "café",
    "cafe\u0301",
    "Ωhm",
    "\u2126",
    "\u212a",
    "\u212b",
    "ǅ",
    "ǈ",
    "Ꭰ",
    "ꭰ",
    "Ა",
    "𐐀",
    "𐐨",
    "😀",
    "👍🏽",
    "🇫🇷",
    "𝔄𝔅",
    "ǰ",
    "ŉ",
    "ﬁ",
    "ﬃ",
    "\u0345",
    "Ⅻ",
    "Ⓐ",
    "Ａ",
    "\ua7cb",
    "\u1c89",
    "\U00010d50",
    "\U00016ea0",
    "x\u0307",
    "I\u0307",
    "word",
    "words",
    "hello",
    "world",
    "<unk>",
    "unk",
    "ΑΣ'Β",
    "ΑΣ.",
    "Σ\u0301",
    "A\u00adΣ",
    "ǲΣ",
    "ᾼΣ",
]
SEPARATORS = [
    " ",
    "  ",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\xa0",
    "\u2028",
    "\u3000",
    "\x00",
    ".",
    ",",
    "!",
    "--",
    "'",
    "-",
    "…",
    "😀",
    "Σ",
    "a",
    "\u200b",
    "\ufeff",
]
ODD = [
    "\ud800",
    "\udfff",
    "\ud83d",
    "\ude00",
    "\x00",
    "\x7f",
    "\u0301",
    "\u0345",
    "\U0010ffff",
    "\ufffd",
    "\u0130",
    "\u03a3",
]

# Tokenizer options per case; each case's vocabulary is fitted on the first FIT_TEXTS texts.
CASES = [
    {},
    {"lower": False},
    {"filters": ""},
    {"filters": "Σ😀é\u0301"},
    {"filters": "!\ud83d"},
    {"split": "a"},
    {"split": "--"},
    {"split": "ab"},
    {"split": "\t", "filters": " "},
    {"split": "Σ"},
    {"split": "😀"},
    {"split": "\ude00"},
    {"char_level": True},
    {"char_level": True, "lower": False, "num_words": 40, "oov_token": "\x00"},
    {"num_words": 10},
    {"num_words": 10, "oov_token": "<unk>"},
    {"num_words": 30, "oov_token": "the"},  # an oov token that is also a word: id 1 unused
    {"oov_token": "<unk>"},
]
FIT_TEXTS = 300

# Texts where the word being typed is easy to get wrong: a split string or filter next to half a pair.
SPLIT_TEXTS = [
    "to be or n",
    "to be or ",
    "end.",
    "a,b",
    "tab\tx",
    "don't",
    "a--b",
    "a-",
    "x😀y",
    "😀",
    "a\ud83d",
    "\ude00b",
]
# display(): a table of forms (not checked, as display never checks), then words shown with and without it.
DISPLAY_TABLE = {"i": "I", "london": "London", "straße": "Straße", "ǆ": "ǅ", "ß": "ß", "ﬁx": "ﬁX", "𐐨x": "𐐨X"}
DISPLAY_WORDS = [*WORDS, *DISPLAY_TABLE, "", "ŉ", "ǰ", "ΐ", "ᾳ", "ﬃx", "ǉ", "\ud800a", "\ude00", "ⓐ", "ꭰb"]
# Hostile casing tables over one vocabulary: Python's table or its refusal.
CASE_WORDS = ["the", "i", "london", "straße", "σς", "ǆ", "𐐨" * 64, "𐐨" * 65, "7", "__proto__"]
CASE_TABLES = [
    '{"i": "I", "london": "London", "straße": "STRASSE"}',
    '{"straße": "Straße", "σς": "ΣΣ", "ǆ": "ǅ", "7": "7", "__proto__": "__PROTO__"}',
    '{"σς": "Σς"}',
    '{"σς": "ΣΣ "}',
    json.dumps({"𐐨" * 64: "𐐀" * 64}),
    json.dumps({"𐐨" * 65: "𐐀" * 65}),
    '{"THE": "THE"}',
    '{"the": "The", "zz": "Zz"}',
    '{"the": 5}',
    '{"the": null}',
    '{"the": "The", "the": "THE"}',
    '{"the": "The", "\\u0074he": "THE"}',
    '["the"]',
    '"the"',
    "null",
    "{",
    '{"the": "The"} x',
    "{}",
]


def json_safe(text: str) -> bool:
    return json.loads(json.dumps(text)) == text


def make_text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 12)):
        roll = rng.random()
        if roll < 0.55:
            parts.append(rng.choice(WORDS))
        elif roll < 0.9:
            parts.append(rng.choice(SEPARATORS))
        elif roll < 0.97:
            parts.append(rng.choice(ODD))
        else:
            parts.append(
                chr(
                    rng.choice(
                        [rng.randrange(0x20, 0x250), rng.randrange(0x370, 0x2000), rng.randrange(0x10000, 0x20000)]
                    )
                )
            )
    return "".join(parts)


def make_texts(rng: random.Random) -> list[str]:
    texts = [
        "",
        " ",
        "   ",
        "\x00",
        "ΑΣ",
        "ΑΣ Β",
        "ΑΣ.Β",
        "Σ",
        "ΣΣ",
        "AΣ\u0301",
        "A\u0301Σ",
        "İ",
        "ẞ",
        "\ud800",
        "\ud800 \udc00",
        "a" * 3000,
        "the " * 500,
        "x" + "\u0301" * 100 + "Σ",
    ]
    while len(texts) < N_TEXTS:
        text = make_text(rng)
        if json_safe(text):
            texts.append(text)
    return texts


def main() -> None:
    rng = random.Random(12)
    texts = make_texts(rng)
    cases = []
    for options in CASES:
        tokenizer = Tokenizer(**options)
        tokenizer.fit_on_texts(texts[:FIT_TEXTS])
        for saved in (tokenizer, tokenizer.trimmed()):
            expected = []
            for text in texts:
                ids, unknown = saved.encode_words(text)
                expected.append([ids, unknown])
            cases.append({"options": options, "tokenizer": saved.to_json(), "expected": expected})
            if saved is tokenizer and not tokenizer.num_words:
                break  # trimmed() is the same tokenizer
    OUT.parent.mkdir(exist_ok=True)
    lower = {c: chr(c).lower() for c in range(0x110000) if chr(c).lower() != chr(c)}
    suggest = suggest_cases(texts, random.Random(13))
    ignorable, cased = sigma_classes()
    OUT.write_text(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "unicode": unicodedata.unidata_version,
                "texts": texts,
                "cases": cases,
                "lower": lower,
                "case_ignorable": ignorable,
                "cased": cased,
                "suggest": suggest,
            }
        )
    )
    print(
        f"{OUT}: {len(texts)} texts x {len(cases)} tokenizers; suggest: {len(suggest['split'])} split_partial "
        f"cases, {len(suggest['display'])} display words, {len(suggest['prefix']['ranges'])} prefixes, "
        f"{len(suggest['case_tables'])} casing tables; {OUT.stat().st_size} bytes"
    )


def suggest_cases(texts: list[str], rng: random.Random) -> dict:
    texts = [*SPLIT_TEXTS, *texts]
    split = []
    for options in CASES:
        tokenizer = Tokenizer(**options)
        # The finished text's length in code points (the JS test counts its own the same way).
        split.append({"options": options, "finished": [len(split_partial(t, tokenizer)[0]) for t in texts]})
    upper = {c: chr(c).upper() for c in range(0x110000) if chr(c).upper() != chr(c)}
    shown = [
        [w, display(w, DISPLAY_TABLE, capitalize=False), display(w, DISPLAY_TABLE, capitalize=True)]
        for w in DISPLAY_WORDS
    ]
    return {
        "texts": texts,
        "split": split,
        "starts_sentence": [starts_sentence(t) for t in texts],
        "upper": upper,
        "isupper": where(str.isupper),
        "isspace": where(str.isspace),
        "display_table": DISPLAY_TABLE,
        "display": [[w, *forms, w[:1].isupper()] for w, *forms in shown],
        "prefix": prefix_cases(rng),
        "case_words": CASE_WORDS,
        "case_tables": [[table, case_table_outcome(table)] for table in CASE_TABLES],
    }


def prefix_cases(rng: random.Random) -> dict:
    """A vocabulary where UTF-16 and code point order disagree (surrogates against U+E000..U+FFFF, lone
    surrogates, U+10FFFF), with padding, an OOV id to skip, empty words and a repeated word."""
    odd = [
        "\ue000",
        "\uff21",
        "\uffff",
        "😀",
        "😀a",
        "\ud800",
        "\ud800x",
        "\udc00",
        "\udfff",
        "\U0010ffff",
        "a\U0010ffff",
    ]
    words = ["", "<unk>", "the", "then", "th", "", "the", *odd, "a\U0010ffffb", "ab", "a", "b", "ᾳ", "é", "e\u0301"]
    alphabet = ["a", "b", "\ue000", "\uffff", "😀", "𐐨", "\ud800", "\udc00", "\U0010ffff", "é"]
    while len(words) < 400:
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
        if json_safe(word):
            words.append(word)
    index = PrefixIndex(words, {1})
    prefixes = {""} | {w[:n] for w in words for n in range(len(w) + 1)} | {p + "\U0010ffff" for p in alphabet}
    prefixes = sorted(p for p in prefixes if json_safe(p))
    return {
        "words": words,
        "skip": [1],
        "order": index.ids.tolist(),
        "ranges": [[p, *index.range(p)] for p in prefixes],
    }


def case_table_outcome(text: str) -> dict:
    try:
        return {"table": case_table_from_json(text, set(CASE_WORDS), str.lower)}
    except InputError as exc:
        return {"error": str(exc)}


if __name__ == "__main__":
    main()
