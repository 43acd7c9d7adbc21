"""Our stdlib Tokenizer against the legacy Keras one, on real text: same tables, same ids, JSON both ways."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from nextword.runtime.errors import InputError
from nextword.runtime.tokenizer import Tokenizer, tokenizer_from_json

FIT_LINES = 3000  # enough to make a vocabulary of a few thousand words, small enough to keep the file fast
HELD_OUT = slice(3000, 5000)  # lines never fitted on: full of unknown words

# Keyword arguments for both tokenizers; each exercises one branch of the id mapping.
CONFIGS = {
    "default": {},
    "oov": {"oov_token": "<OOV>"},
    "num_words": {"num_words": 100},
    "num_words_oov": {"num_words": 100, "oov_token": "<OOV>"},
    "cased_few_filters": {"lower": False, "filters": ".,;:!?", "oov_token": "oov"},
    "other_split": {"split": "e", "num_words": 50},
    "char_level": {"char_level": True, "num_words": 20, "oov_token": "~"},
    # An oov_token that also occurs in the text: legacy leaves index 1 unused; we must too.
    "oov_in_text": {"oov_token": "the", "num_words": 30},
}

EDGE_TEXTS = [
    "",
    "   ",
    "!!! ... ,,, --- ?!",
    "\t\n\t\n",
    "Ünïcödé STRASSE Straße ΣΊΣΥΦΟΣ 東京タワー مرحبا 🙂 naïve—dash",
    "İstanbul ǅemal",  # lowercase to more code points than they have
    "tab\tseparated\nlines\r\nwith CR",
    "don't won't o'er",
]


@pytest.fixture(scope="module")
def legacy():
    return pytest.importorskip("keras.src.legacy.preprocessing.text", reason="needs Keras 3 for the legacy Tokenizer")


@pytest.fixture(scope="module")
def lines(shakespeare_text) -> list[str]:
    return shakespeare_text.splitlines()


@pytest.fixture(scope="module")
def probe_texts(lines) -> list[str]:
    """Seen lines, unseen lines and edge cases: what conversions are checked on."""
    return lines[:500] + lines[HELD_OUT] + EDGE_TEXTS


@pytest.fixture(scope="module", params=list(CONFIGS))
def pair(request, legacy, lines):
    """(ours, legacy's), fitted on the same lines with the same options."""
    options = CONFIGS[request.param]
    ours, theirs = Tokenizer(**options), legacy.Tokenizer(**options)
    for tokenizer in (ours, theirs):
        tokenizer.fit_on_texts(lines[:FIT_LINES] + EDGE_TEXTS)
    return ours, theirs


def _unknown_by_legacy(theirs, legacy, text: str) -> list[str]:
    """Ask legacy about each token alone: unknown when it yields no id or the oov id."""
    if theirs.char_level:
        tokens = list(text.lower() if theirs.lower else text)
    else:
        tokens = legacy.text_to_word_sequence(text, theirs.filters, theirs.lower, theirs.split)
    oov_id = theirs.word_index.get(theirs.oov_token)
    return [token for token in tokens if theirs.texts_to_sequences([[token]])[0] in ([], [oov_id])]


def test_fitted_tables_match_legacy(pair):
    ours, theirs = pair
    assert list(ours.word_index.items()) == list(theirs.word_index.items())
    assert ours.index_word == theirs.index_word
    assert list(ours.word_counts.items()) == list(theirs.word_counts.items())
    assert ours.word_docs == dict(theirs.word_docs)
    assert ours.index_docs == dict(theirs.index_docs)
    assert ours.document_count == theirs.document_count


def test_texts_to_sequences_match_legacy(pair, probe_texts):
    ours, theirs = pair
    assert ours.texts_to_sequences(probe_texts) == theirs.texts_to_sequences(probe_texts)


def test_sequences_to_texts_match_legacy(pair, probe_texts):
    ours, theirs = pair
    sequences = theirs.texts_to_sequences(probe_texts) + [[0, 1, 2, len(theirs.word_index) + 5, 99, 150]]
    assert ours.sequences_to_texts(sequences) == theirs.sequences_to_texts(sequences)


def test_encode_words_gives_sequence_ids_and_unknown_words(pair, legacy, probe_texts):
    ours, theirs = pair
    total_unknown = 0
    for text in probe_texts:
        ids, unknown = ours.encode_words(text)
        assert ids == theirs.texts_to_sequences([text])[0]
        assert unknown == _unknown_by_legacy(theirs, legacy, text)
        total_unknown += len(unknown)
    assert total_unknown > 0  # held-out lines must exercise the unknown path


def test_our_json_loads_in_legacy_with_same_ids(pair, legacy, probe_texts):
    ours, theirs = pair
    reloaded = legacy.tokenizer_from_json(ours.to_json())
    assert reloaded.word_index == theirs.word_index
    assert reloaded.texts_to_sequences(probe_texts) == theirs.texts_to_sequences(probe_texts)


def test_legacy_json_loads_here_with_same_ids(pair, probe_texts):
    ours, theirs = pair
    loaded = tokenizer_from_json(theirs.to_json())
    assert loaded.get_config().keys() == theirs.get_config().keys()
    assert loaded.index_word == theirs.index_word  # keys back to ints
    assert loaded.index_docs == dict(theirs.index_docs)
    assert loaded.texts_to_sequences(probe_texts) == theirs.texts_to_sequences(probe_texts)
    assert loaded.sequences_to_texts([[1, 2, 3, 99]]) == theirs.sequences_to_texts([[1, 2, 3, 99]])


def test_refitting_adds_to_counts_like_legacy(legacy, lines):
    ours, theirs = Tokenizer(oov_token="<OOV>"), legacy.Tokenizer(oov_token="<OOV>")
    for tokenizer in (ours, theirs):
        tokenizer.fit_on_texts(lines[:300])
        tokenizer.fit_on_texts(lines[300:700])
    assert list(ours.word_index.items()) == list(theirs.word_index.items())
    assert ours.index_docs == dict(theirs.index_docs)
    assert ours.document_count == theirs.document_count == 700


def test_pretokenized_lists_match_legacy(legacy):
    texts = [["The", "Cat", "sat"], ["the", "DOG"], ["new", "cat"]]
    ours, theirs = Tokenizer(num_words=3, oov_token="?"), legacy.Tokenizer(num_words=3, oov_token="?")
    ours.fit_on_texts(texts[:2])
    theirs.fit_on_texts(texts[:2])
    assert ours.word_index == theirs.word_index
    assert ours.texts_to_sequences(texts) == theirs.texts_to_sequences(texts)


def test_ties_keep_first_seen_order_and_zero_is_never_assigned():
    tokenizer = Tokenizer(oov_token="<OOV>")
    tokenizer.fit_on_texts(["b a", "a b c"])
    assert tokenizer.word_index == {"<OOV>": 1, "b": 2, "a": 3, "c": 4}
    assert 0 not in tokenizer.index_word


def test_encode_words_reports_unknown_and_beyond_num_words():
    tokenizer = Tokenizer(num_words=3)
    tokenizer.fit_on_texts(["the cat the cat sat", "dog"])  # the:1 cat:2 sat:3 dog:4
    assert tokenizer.encode_words("The CAT, a zebra; sat!") == ([1, 2], ["a", "zebra", "sat"])
    tokenizer.oov_token = "<OOV>"
    tokenizer.fit_on_texts([])  # re-index with the oov token at 1: <OOV>:1 the:2 cat:3 sat:4 dog:5
    assert tokenizer.encode_words("the cat zebra") == ([2, 1, 1], ["cat", "zebra"])


@pytest.mark.parametrize("text", ["", " \t\n ", "!!! ... ,,, --- ?!"])
def test_texts_without_words_give_nothing(text):
    tokenizer = Tokenizer(oov_token="<OOV>")
    tokenizer.fit_on_texts(["some words"])
    assert tokenizer.encode_words(text) == ([], [])
    assert tokenizer.texts_to_sequences([text]) == [[]]


def test_mixed_scripts_are_words():
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(["Straße 東京 مرحبا\tΣΊΣΥΦΟΣ\n🙂"])
    assert list(tokenizer.word_index) == ["straße", "東京", "مرحبا", "σίσυφος", "🙂"]


LEGACY_2X_JSON = (  # written by hand in the format tf.keras 2.x saves: ASCII-escaped, tables as JSON strings
    '{"class_name": "Tokenizer", "config": {"num_words": null, "filters": "!\\"#$%&()*+,-./:;<=>?@[\\\\]^_`{|}~\\t\\n",'
    ' "lower": true, "split": " ", "char_level": false, "oov_token": null, "document_count": 2,'
    ' "word_counts": "{\\"stra\\\\u00dfe\\": 2, \\"east\\": 1}",'
    ' "word_docs": "{\\"stra\\\\u00dfe\\": 2, \\"east\\": 1}",'
    ' "index_docs": "{\\"1\\": 2, \\"2\\": 1}", "index_word": "{\\"1\\": \\"stra\\\\u00dfe\\", \\"2\\": \\"east\\"}",'
    ' "word_index": "{\\"stra\\\\u00dfe\\": 1, \\"east\\": 2}"}}'
)


def test_hand_written_tf_keras_2_json_loads():
    tokenizer = tokenizer_from_json(LEGACY_2X_JSON)
    assert tokenizer.index_word == {1: "straße", 2: "east"}
    assert tokenizer.encode_words("East STRASSE straße") == ([2, 1], ["strasse"])
    assert tokenizer_from_json(tokenizer.to_json()).get_config() == tokenizer.get_config()


def _config_with(**changes) -> str:
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(["a b"])
    config = tokenizer.get_config() | changes
    return json.dumps({"class_name": "Tokenizer", "config": config})


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{not json", "malformed"),
        ("", "malformed"),
        (None, "malformed"),
        ("[1, 2]", "class_name"),
        ('{"class_name": "TextVectorization", "config": {}}', "class_name"),
        ('{"class_name": "Tokenizer"}', "config"),
        ('{"class_name": "Tokenizer", "config": {}}', "word_counts"),
        (_config_with(word_index={"a": 1}), "word_index"),  # a dict, not a JSON string
        (_config_with(word_index="[1, 2]"), "word_index"),
        (_config_with(index_word='{"one": "a"}'), "integer keys"),
        (_config_with(word_counts='{"a": "many"}'), "word_counts"),
        (_config_with(analyzer="split"), "unknown option"),
        (_config_with(num_words="100"), "num_words"),
        (_config_with(lower=1), "lower"),
    ],
)
def test_bad_json_is_refused_in_one_line(text, problem):
    with pytest.raises(InputError, match=problem) as caught:
        tokenizer_from_json(text)
    assert "\n" not in str(caught.value)


def test_refuses_empty_split_and_unfitted_oov():
    with pytest.raises(InputError, match="split"):
        Tokenizer(split="")
    with pytest.raises(InputError, match="fit the tokenizer"):
        Tokenizer(oov_token="<OOV>").encode_words("hello")


def test_module_imports_nothing_heavy():
    probe = "import sys, nextword.runtime.tokenizer; print(sorted({'numpy', 'keras', 'tensorflow'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("oov_token", [None, "<unk>"])
def test_trimmed_copy_gives_the_same_ids_and_unknown_words(lines, probe_texts, oov_token):
    full = Tokenizer(num_words=300, oov_token=oov_token)
    full.fit_on_texts(lines[:3000])
    small = full.trimmed()
    assert max(small.index_word) == 299 and len(small.to_json()) < len(full.to_json()) / 5
    for text in probe_texts:
        assert small.encode_words(text) == full.encode_words(text)
    reloaded = tokenizer_from_json(small.to_json())
    assert reloaded.texts_to_sequences(probe_texts) == full.texts_to_sequences(probe_texts)
    assert Tokenizer().trimmed().num_words is None  # without num_words there is nothing to trim


def test_vocab_size_counts_to_the_largest_id_when_the_oov_token_is_also_a_word():
    from nextword.runtime.bundle import vocab_size_of

    tokenizer = Tokenizer(oov_token="unk")
    tokenizer.fit_on_texts(["the unk cat the"])  # legacy quirk: "unk" takes its rank's id, id 1 goes unused
    assert 1 not in tokenizer.index_word
    assert vocab_size_of(tokenizer) == max(tokenizer.index_word) + 1 == len(tokenizer.index_word) + 2
