"""The legacy Keras Tokenizer, rewritten on the standard library so the runtime tokenizes exactly as training did.

Behaviour and JSON follow keras.src.legacy.preprocessing.text.Tokenizer (Keras 3) and tf.keras 2.x, quirks included,
so a tokenizer saved by either loads here unchanged and gives the same ids. Not supported: the `analyzer` callable
(it cannot live in JSON). One deliberate divergence: legacy emits None ids for unknown words when oov_token is set
but has no index (an unfitted tokenizer); here that raises InputError.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable

from nextword.runtime import strict_json
from nextword.runtime.errors import InputError

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
CLASS_NAME = "Tokenizer"  # the class_name legacy writes, and the only one we accept

# Legacy stores these tables as JSON strings nested inside the config. Keys that JSON turned into strings must be
# turned back into ints; (name, int_keys, value_type).
_TABLES = (
    ("word_counts", False, int),
    ("word_docs", False, int),
    ("index_docs", True, int),
    ("index_word", True, str),
    ("word_index", False, int),
)
_OPTIONS = {
    "num_words": (int, type(None)),
    "filters": str,
    "lower": bool,
    "split": str,
    "char_level": bool,
    "oov_token": (str, type(None)),
    "document_count": int,
}

Text = str | list[str]  # a list is taken as already split into tokens, as legacy does


def text_to_word_sequence(text: str, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " ") -> list[str]:
    """Lowercase, turn every filter character into the split string, split on it, drop empty tokens."""
    if lower:
        text = text.lower()
    text = text.translate(_translation_table(filters, split))
    return [word for word in text.split(split) if word]


@functools.lru_cache(maxsize=16)
def _translation_table(filters: str, split: str) -> dict[int, str]:
    # Built once per (filters, split): rebuilding it was a third of a runtime call's tokenizing time.
    return str.maketrans({char: split for char in filters})


class Tokenizer:
    """Word (or character) to id mapping; id 0 is never assigned, so models can use it for padding."""

    def __init__(
        self,
        num_words: int | None = None,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        document_count: int = 0,
    ):
        if not char_level and not split:
            raise InputError("split must be a non-empty string unless char_level=True")
        # num_words limits conversion only: fitting always indexes every word, and ids >= num_words are dropped
        # (or mapped to the oov id) when texts are converted. Legacy treats num_words=0 like None.
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.document_count = document_count
        self.word_counts: dict[str, int] = {}  # insertion order is first-seen order, which breaks count ties
        self.word_docs: dict[str, int] = {}  # how many texts each word occurs in
        self.index_docs: dict[int, int] = {}
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def _tokens(self, text: Text) -> list[str]:
        if isinstance(text, list):
            return [token.lower() for token in text] if self.lower else list(text)
        if self.char_level:
            # Lowercase the whole string first: some characters (e.g. "İ") lowercase to two.
            return list(text.lower() if self.lower else text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts: Iterable[Text]) -> None:
        """Count words over texts (adding to earlier fits) and rebuild word_index by descending count."""
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for word in tokens:
                self.word_counts[word] = self.word_counts.get(word, 0) + 1
            for word in dict.fromkeys(tokens):
                self.word_docs[word] = self.word_docs.get(word, 0) + 1
        # sorted() is stable even with reverse=True, so equal counts keep first-seen order, as in legacy.
        ranked = sorted(self.word_counts, key=self.word_counts.__getitem__, reverse=True)
        vocabulary = ([] if self.oov_token is None else [self.oov_token]) + ranked
        # dict() keeps the last index of a repeated key: an oov_token that also occurs in the texts loses
        # index 1 to its rank among the words, leaving 1 unused, exactly as legacy does.
        self.word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1)))
        self.index_word = {index: word for word, index in self.word_index.items()}
        for word, docs in self.word_docs.items():
            self.index_docs[self.word_index[word]] = docs

    def encode_words(self, text: Text) -> tuple[list[int], list[str]]:
        """Ids exactly as texts_to_sequences([text])[0], and the words that had no id of their own.

        A word is unknown when it is not in word_index, its id is >= num_words, or it is the oov token itself;
        unknown words are listed in text order, repeats kept.
        """
        oov_id = self.word_index.get(self.oov_token)
        ids: list[int] = []
        unknown: list[str] = []
        for word in self._tokens(text):
            index = self.word_index.get(word)
            if index is not None and self.num_words and index >= self.num_words:
                index = oov_id  # beyond num_words: the oov id, or dropped when there is none
            elif index is None and self.oov_token is not None:
                if oov_id is None:
                    raise InputError(f"oov_token {self.oov_token!r} has no index; fit the tokenizer first")
                index = oov_id
            if index is not None:
                ids.append(index)
            if index is None or index == oov_id:
                unknown.append(word)
        return ids, unknown

    def texts_to_sequences(self, texts: Iterable[Text]) -> list[list[int]]:
        return [self.encode_words(text)[0] for text in texts]

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Ids back to space-joined words; ids beyond num_words or unknown become the oov token, or vanish."""
        oov_id = self.word_index.get(self.oov_token)
        texts = []
        for sequence in sequences:
            words = []
            for index in sequence:
                word = self.index_word.get(index)
                if word is not None and not (self.num_words and index >= self.num_words):
                    words.append(word)
                elif oov_id is not None:
                    words.append(self.oov_token)
            texts.append(" ".join(words))
        return texts

    def trimmed(self) -> Tokenizer:
        """A copy that keeps only ids below num_words: the same ids and unknown words for every text, in a
        fraction of the JSON (an exported file bundles this; a word past num_words can only become the OOV id
        or vanish, and a word the copy lacks does exactly that)."""
        if not self.num_words:
            return self
        copy = Tokenizer(**self.options())
        copy.word_index = {word: i for word, i in self.word_index.items() if i < self.num_words}
        copy.index_word = {i: word for i, word in self.index_word.items() if i < self.num_words}
        copy.word_counts = {word: n for word, n in self.word_counts.items() if word in copy.word_index}
        copy.word_docs = {word: n for word, n in self.word_docs.items() if word in copy.word_index}
        copy.index_docs = {i: n for i, n in self.index_docs.items() if i < self.num_words}
        return copy

    def options(self) -> dict:
        """The constructor arguments: how text becomes ids, without the tables."""
        return {name: getattr(self, name) for name in _OPTIONS}

    def get_config(self) -> dict:
        config = self.options()
        config.update({name: json.dumps(getattr(self, name)) for name, _, _ in _TABLES})
        return config

    def to_json(self, **json_kwargs) -> str:
        """The legacy format: {"class_name": "Tokenizer", "config": {...}} with the tables as JSON strings."""
        return json.dumps({"class_name": CLASS_NAME, "config": self.get_config()}, **json_kwargs)


# The keys legacy writes for ids: str(int) of a positive id. int() would also take " 5 ", "+5", "1_0" and
# "05", so one file could name the same id twice, or an id a reviewer would not read as that number.
_CANONICAL_ID = re.compile(r"[1-9][0-9]{0,9}")
_MAX_ID = 2**31 - 1  # ids are int32 in every graph


def _parse_id(key: str, name: str) -> int:
    if not (_CANONICAL_ID.fullmatch(key) and int(key) <= _MAX_ID):
        raise InputError(f"tokenizer JSON table {name!r} has the key {key[:20]!r}: integer keys must be ids 1, 2, ...")
    return int(key)


def _decode_table(config: dict, name: str, int_keys: bool, value_type: type) -> dict:
    if name not in config:
        raise InputError(f"tokenizer JSON lacks the {name!r} table")
    if not isinstance(config[name], str):
        raise InputError(f"tokenizer JSON field {name!r} is not a JSON-encoded object")
    table = strict_json.loads(config[name], f"tokenizer JSON table {name!r}")
    if not isinstance(table, dict):
        keys = " with integer keys" if int_keys else ""
        raise InputError(f"tokenizer JSON field {name!r} is not a JSON-encoded object{keys}")
    if int_keys:
        table = {_parse_id(key, name): value for key, value in table.items()}
    if not all(isinstance(value, value_type) and not isinstance(value, bool) for value in table.values()):
        raise InputError(f"tokenizer JSON table {name!r} has values that are not {value_type.__name__}")
    return table


def tokenizer_from_json(text: str | bytes, *, strict: bool = False) -> Tokenizer:
    """Load JSON written by Tokenizer.to_json here, by Keras 3's legacy Tokenizer, or by tf.keras 2.x.

    Always refused: duplicate keys (at any level), ids that are not canonical positive decimals. `strict`
    (a bundled vocabulary from an untrusted file) also demands the tables fitting makes: word_index and
    index_word one mapping, ids 1..N without gaps (id 1 may be unused when the oov_token is also a word, a
    legacy quirk), and an oov_token that has an id."""
    payload = strict_json.loads(text, "tokenizer JSON")
    if not isinstance(payload, dict) or payload.get("class_name") != CLASS_NAME:
        found = payload.get("class_name") if isinstance(payload, dict) else type(payload).__name__
        raise InputError(f"expected a JSON object with class_name {CLASS_NAME!r}, got {str(found)[:40]!r}")
    config = payload.get("config")
    if not isinstance(config, dict):
        raise InputError("tokenizer JSON has no 'config' object")
    tables = {name: _decode_table(config, name, int_keys, kind) for name, int_keys, kind in _TABLES}
    options = {name: value for name, value in config.items() if name not in tables}
    for name, value in options.items():
        if name not in _OPTIONS:
            raise InputError(f"tokenizer JSON has an unknown option {name[:40]!r}")
        if not isinstance(value, _OPTIONS[name]) or (isinstance(value, bool) and _OPTIONS[name] is not bool):
            raise InputError(f"tokenizer JSON option {name!r} has the wrong type: {str(value)[:40]!r}")
    tokenizer = Tokenizer(**options)
    for name, table in tables.items():
        setattr(tokenizer, name, table)
    if strict:
        check_tables(tokenizer)
    return tokenizer


def check_tables(tokenizer: Tokenizer) -> None:
    """The shape fit_on_texts gives the tables (see tokenizer_from_json's `strict`); InputError naming the field."""
    index_word, word_index = tokenizer.index_word, tokenizer.word_index
    if tokenizer.num_words is not None and tokenizer.num_words < 0:
        raise InputError(f"tokenizer JSON option 'num_words' is negative: {tokenizer.num_words}")
    if len(word_index) != len(index_word) or any(index_word.get(i) != word for word, i in word_index.items()):
        raise InputError("tokenizer JSON tables 'index_word' and 'word_index' disagree (each id needs one word)")
    if index_word:
        top = max(index_word)
        oov_id = word_index.get(tokenizer.oov_token) if tokenizer.oov_token is not None else None
        first = 2 if 1 not in index_word and oov_id is not None and oov_id != 1 else 1
        if len(index_word) != top - first + 1:
            raise InputError(f"tokenizer JSON table 'index_word' has gaps: {len(index_word)} ids up to {top}")
    if tokenizer.oov_token is not None and tokenizer.oov_token not in word_index:
        raise InputError(f"tokenizer JSON option 'oov_token' {tokenizer.oov_token[:40]!r} has no id in 'word_index'")
