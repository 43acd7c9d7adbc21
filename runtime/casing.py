"""Display casing: each suggested word shown the way people write it ("I", "London", "Monday"), though the
legacy Tokenizer lowercases every word it learns (JS twin: runtime/js/src/casing.js).

Training counts each vocabulary word's written forms in the raw text, leaving out words that start a sentence
or a line (there everything is capitalized), and keeps the forms that beat the lowercase one: the table maps
"i" -> "I", "london" -> "London" and holds nothing for words written in lowercase. It travels in the model file
under nextword.casing (optional: a file without it shows lowercase words). At suggestion time a word is shown
in its table form, with its first letter capitalized at the start of a sentence or after capitalized typing.
"""

from __future__ import annotations

import json
import re
from collections import Counter

from nextword.runtime import strict_json
from nextword.runtime.errors import InputError

SENTENCE_ENDS = ".!?"  # after one of these (or at the start of a text) the next word starts a sentence
MAX_FORM_LENGTH = 64  # a written form is its word's length in letters; longer values are refused at load


class CaseCounter:
    """Counts written forms block by block, so a streamed corpus never has to be in memory at once."""

    def __init__(self, tokenizer, vocabulary):
        self.vocabulary = set(vocabulary)
        # Only a lowercasing word tokenizer with a one-character split loses case in a way a table can undo
        # (translate() then keeps every character where it was, so forms line up with the raw text).
        self.usable = tokenizer.lower and not tokenizer.char_level and len(tokenizer.split) == 1
        self.split = tokenizer.split
        self.table = str.maketrans({char: tokenizer.split for char in tokenizer.filters})
        self.forms: dict[str, Counter] = {}
        self.sentence_start = True

    def update(self, text: str) -> None:
        if not self.usable:
            return
        masked, at = text.translate(self.table), 0
        for match in re.finditer(f"[^{re.escape(self.split)}]+", masked):
            gap = text[at : match.start()]
            if "\n" in gap or any(char in gap for char in SENTENCE_ENDS):
                self.sentence_start = True
            form = text[match.start() : match.end()]
            word = form.lower()
            # A form opening with a quote mark often opens a quoted sentence ("'Tis", "'The"): not evidence.
            if not self.sentence_start and word in self.vocabulary and form[:1].isalnum():
                self.forms.setdefault(word, Counter())[form] += 1
            self.sentence_start = False
            at = match.end()

    def case_table(self) -> dict[str, str]:
        """word -> its most written form, for the words whose most written form is not the word itself (ties go
        to the lowercase form, then to the first form seen). Capitals throughout ("ANNE" in a speaker's line,
        a heading) lose to any other capitalized form, so they win only for words always written so ("BBC")."""
        table = {}
        for word, forms in self.forms.items():
            ranked = sorted(forms.items(), key=lambda item: (shouted(item[0]), -item[1]))
            form, count = ranked[0] if ranked[0][0] != word else (word, 0)
            if form != word and count > forms.get(word, 0) and len(form) <= MAX_FORM_LENGTH:
                table[word] = form
        return dict(sorted(table.items()))


def shouted(form: str) -> bool:
    """All capitals and longer than a letter: "ANNE", not "I"."""
    return len(form) > 1 and form.isupper()


def case_table_to_json(table: dict[str, str]) -> str:
    return json.dumps(table, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def case_table_from_json(text: str, words: set[str], lower) -> dict[str, str]:
    """Read a bundled table strictly: an object of vocabulary words to forms that lowercase back to them."""
    table = strict_json.loads(text, "the casing table")
    if not isinstance(table, dict):
        raise InputError("the casing table is not a JSON object")
    for word, form in table.items():
        if word not in words:
            raise InputError(f"the casing table names {word[:40]!r}, which is not in the vocabulary")
        if not isinstance(form, str) or len(form) > MAX_FORM_LENGTH or lower(form) != word:
            raise InputError(f"the casing table's form for {word[:40]!r} is not that word in other letters' case")
    return table


def display(word: str, table: dict[str, str], *, capitalize: bool) -> str:
    form = table.get(word, word)
    return form[:1].upper() + form[1:] if capitalize else form


def starts_sentence(finished: str) -> bool:
    """Whether the next word starts a sentence: nothing written yet, or the text so far ends one."""
    stripped = finished.rstrip()
    return not stripped or stripped[-1] in SENTENCE_ENDS
