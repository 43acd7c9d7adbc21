"""The user-model file (runtime/user_model.py keeps the state; JS twin: the file half of runtime/js/src/user-model.js).

Every version starts with two text lines, "nextword-user V" and "sha256:<hex of the body>", then the body. Save
writes version 2; load reads 2 and 1, so a file saved by an older release is never lost.

Version 2, binary so that a 100k-entry file loads in milliseconds: every integer a little-endian uint32.

    tick, n_words, n_pairs, words_bytes, forms_bytes         5 integers
    counts[n_words], ticks[n_words]                          per word: times learned, when last learned
    pair_words[n_pairs], pair_next[n_pairs]                  per pair: indices into the words
    pair_counts[n_pairs], pair_ticks[n_pairs]
    words     words_bytes of UTF-8: each lowercase key followed by "\\n"
    forms     forms_bytes of UTF-8: how the user writes each word followed by "\\n" ("" when as the key)

Version 1 holds the same columns as one JSON object {"tick": T, "words": [...], ...} (the names above).

Reading is as strict as a model file's: the body must have exactly the length its counts give, and any damage
is a CorruptUserModelError with a one-line message. Checks run on whole columns (numpy, one regex), not per entry.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from nextword.runtime import strict_json
from nextword.runtime.errors import InputError, NextwordError
from nextword.runtime.tokenizer import DEFAULT_FILTERS

MAGIC = "nextword-user"
VERSION = 2  # written; READS are read
READS = (1, 2)
MAX_WORD_CHARS = 64
MAX_COUNT = 2**31 - 1
COLUMNS = ("words", "forms", "counts", "ticks", "pair_words", "pair_next", "pair_counts", "pair_ticks")
INTEGER_COLUMNS = COLUMNS[2:]
HEAD = 5  # tick, n_words, n_pairs, words_bytes, forms_bytes
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a Python str holds surrogates only unpaired
WORDS_TEXT = re.compile(f"(?:[^\\s{re.escape(DEFAULT_FILTERS)}]{{1,{MAX_WORD_CHARS}}}\n)*")


class CorruptUserModelError(NextwordError):
    """A user-model file that is damaged, truncated, hostile or of another version."""


def encode(tick: int, words: list[str], forms: list[str], ints: dict[str, list[int]]) -> bytes:
    """A version 2 file: header lines, then the body (columns written as given: a test may pass bad ones)."""
    words_text = "".join(word + "\n" for word in words).encode("utf-8")
    forms_text = "".join(form + "\n" for form in forms).encode("utf-8")
    head = [tick, len(words), len(ints["pair_words"]), len(words_text), len(forms_text)]
    numbers = np.array(head + [n for name in INTEGER_COLUMNS for n in ints[name]], dtype="<u4")
    return sign(numbers.tobytes() + words_text + forms_text)


def sign(body: bytes, version: int = VERSION) -> bytes:
    """A file of that version around body: its header line and its checksum line."""
    return f"{MAGIC} {version}\nsha256:{hashlib.sha256(body).hexdigest()}\n".encode() + body


def decode(data: bytes, max_entries: int) -> tuple[int, list[str], list[str], dict[str, np.ndarray]]:
    """(tick, words, forms, integer columns as int64 arrays) of a file, every check passed."""
    header, _, rest = data.partition(b"\n")
    digest_line, _, body = rest.partition(b"\n")
    if not header.startswith(MAGIC.encode() + b" "):
        raise CorruptUserModelError("not a nextword user model")
    version = header[len(MAGIC) + 1 :]
    if version not in [str(v).encode() for v in READS]:
        raise CorruptUserModelError(
            f"user model version {version[:12]!r}; this runtime reads {READS[0]} and {READS[1]}"
        )
    if digest_line != f"sha256:{hashlib.sha256(body).hexdigest()}".encode():
        raise CorruptUserModelError("its checksum does not match (truncated or edited)")
    tick, words, forms, ints = (_columns_v1 if version == b"1" else _columns_v2)(body, max_entries)
    _check(tick, words, forms, ints)
    return tick, words, forms, ints


def _columns_v2(body: bytes, max_entries: int):
    if len(body) < 4 * HEAD:
        raise CorruptUserModelError(f"its body is {len(body)} bytes, shorter than its {4 * HEAD}-byte head")
    tick, n_words, n_pairs, words_bytes, forms_bytes = np.frombuffer(body, "<u4", HEAD).tolist()
    if n_words + n_pairs > max_entries:
        raise CorruptUserModelError(f"it holds {n_words + n_pairs} entries, over max_entries {max_entries}")
    n_ints = 2 * n_words + 4 * n_pairs
    expected = 4 * (HEAD + n_ints) + words_bytes + forms_bytes
    if len(body) != expected:
        raise CorruptUserModelError(f"its body is {len(body)} bytes; its head says {expected}")
    numbers = np.frombuffer(body, "<u4", n_ints, 4 * HEAD).astype(np.int64)
    sizes = [n_words, n_words, n_pairs, n_pairs, n_pairs, n_pairs]
    ints = dict(zip(INTEGER_COLUMNS, np.split(numbers, np.cumsum(sizes)[:-1])))
    at = 4 * (HEAD + n_ints)
    try:
        # Strict UTF-8, as the JS runtime's TextDecoder reads it: no encoded surrogates, nothing lost.
        words_text = body[at : at + words_bytes].decode("utf-8")
        forms_text = body[at + words_bytes :].decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptUserModelError("its words are not UTF-8") from None
    if WORDS_TEXT.fullmatch(words_text) is None:
        raise CorruptUserModelError(f"a word is empty, longer than {MAX_WORD_CHARS} or holds a separator")
    if forms_text and not forms_text.endswith("\n"):
        raise CorruptUserModelError("its forms do not end a line")
    words, forms = words_text.split("\n")[:-1], forms_text.split("\n")[:-1]
    if len(words) != n_words or len(forms) != n_words:
        raise CorruptUserModelError("its columns differ in length")
    return tick, words, forms, ints


def _columns_v1(body: bytes, max_entries: int):
    try:
        # Strict UTF-8, as the JS runtime's TextDecoder reads it: json.loads on bytes would also take UTF-16, a BOM
        # and encoded surrogates, and a word holding a lone surrogate could never be saved again.
        doc = strict_json.loads(body.decode("utf-8"), "its body")
    except UnicodeDecodeError:
        raise CorruptUserModelError("its body is not UTF-8") from None
    except InputError as exc:
        raise CorruptUserModelError(str(exc)) from None
    if not isinstance(doc, dict) or set(doc) != set(COLUMNS) | {"tick"}:
        raise CorruptUserModelError(f"its body is not an object of tick and {', '.join(COLUMNS)}")
    tick = doc["tick"]
    if type(tick) is not int or not all(isinstance(doc[name], list) for name in COLUMNS):
        raise CorruptUserModelError("its tick or columns have the wrong type")
    words, forms = doc["words"], doc["forms"]
    n_words, n_pairs = len(words), len(doc["pair_words"])
    if n_words + n_pairs > max_entries:
        raise CorruptUserModelError(f"it holds {n_words + n_pairs} entries, over max_entries {max_entries}")
    if any(len(doc[name]) != n_words for name in COLUMNS[:4]) or any(len(doc[name]) != n_pairs for name in COLUMNS[4:]):
        raise CorruptUserModelError("its columns differ in length")
    if not set(map(type, words)) <= {str} or not set(map(type, forms)) <= {str}:
        raise CorruptUserModelError("a word or form is not a string")
    if WORDS_TEXT.fullmatch("".join(word + "\n" for word in words)) is None:
        raise CorruptUserModelError(f"a word is empty, longer than {MAX_WORD_CHARS} or holds a separator")
    if LONE_SURROGATE.search("".join(words)) or LONE_SURROGATE.search("".join(forms)):
        raise CorruptUserModelError("a word or form holds a lone surrogate (an escape JSON allows, UTF-8 cannot save)")
    ints = {}
    for name in INTEGER_COLUMNS:
        if not set(map(type, doc[name])) <= {int}:  # bool and float are not integers here
            raise CorruptUserModelError(f"its {name} are not all integers")
        values = doc[name]
        if values and not (0 <= min(values) and max(values) <= MAX_COUNT):
            raise CorruptUserModelError(f"its {name} are out of range")
        ints[name] = np.array(values, dtype=np.int64)
    return tick, words, forms, ints


def _check(tick: int, words: list[str], forms: list[str], ints: dict[str, np.ndarray]) -> None:
    """What both versions must hold: unique words and pairs, forms of their words, counts and ticks in range."""
    n_words = len(words)
    if not 0 <= tick <= MAX_COUNT:
        raise CorruptUserModelError("its tick is out of range")
    if len(set(words)) != n_words:
        raise CorruptUserModelError("a word appears twice")
    cased = len(forms) - forms.count("")  # forms.count: C speed, and most words are written as their key
    if cased and any(form.lower() != word for word, form in zip(words, forms) if form):
        raise CorruptUserModelError("a form does not lowercase to its word")
    limits = {"counts": (1, MAX_COUNT), "ticks": (0, tick), "pair_words": (0, n_words - 1)}
    limits |= {"pair_next": (0, n_words - 1), "pair_counts": (1, MAX_COUNT), "pair_ticks": (0, tick)}
    for name, (low, high) in limits.items():
        values = ints[name]
        if len(values) and not (low <= values.min() and values.max() <= high):
            raise CorruptUserModelError(f"its {name} are out of range")
    pairs = np.sort(ints["pair_words"] * max(n_words, 1) + ints["pair_next"])  # a sort: np.unique hashes, slower
    if np.any(pairs[1:] == pairs[:-1]):
        raise CorruptUserModelError("a pair appears twice")
