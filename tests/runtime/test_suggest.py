"""suggest: what a suggestion bar shows (issue 19). Completions of the word being typed or the next words, never
the OOV token, ranked as the model ranks them (checked against a brute-force ranking of the whole distribution),
in display casing; Session.suggest agrees with Predictor.suggest on the same text."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from nextword.runtime.bundle import decode_bundle, encode_bundle
from nextword.runtime.casing import CaseCounter, display, starts_sentence
from nextword.runtime.completion import PrefixIndex, top_ids
from nextword.runtime.errors import CorruptModelError, InputError
from nextword.runtime.predictor import Predictor
from nextword.runtime.suggest import split_partial
from nextword.runtime.tokenizer import Tokenizer

TEXTS = [
    "",
    "the",
    "the value of",
    "the value of t",
    "the value of th",
    "if the obj",
    "x. Th",
    "x. The",
    "and ",
    "a, b",
    "qqqq",
]


@pytest.fixture(scope="module", params=["window", "sequence"])
def predictor(request, model_path, sequence_model_path) -> Predictor:
    return Predictor.load(model_path if request.param == "window" else sequence_model_path)


def brute_force(predictor: Predictor, text: str, k: int) -> list[tuple[str, float]]:
    """Rank every word by hand: the whole distribution, ties to the lower id, filtered by the typed prefix, less the
    word that would show exactly as typed."""
    finished, partial = split_partial(text, predictor.tokenizer)
    ids, _ = predictor.encode_words(finished)
    probs = predictor.model.probs(predictor.model.begin(ids, full=True))
    ranked = sorted(range(1, predictor.vocab_size), key=lambda i: (-probs[i], i))
    fits = [
        i
        for i in ranked
        if i != predictor.oov_id and predictor.words[i] and predictor.words[i].startswith(partial.lower())
    ]
    capitalize = starts_sentence(finished) or partial[:1].isupper()
    shown = [display(predictor.words[i], predictor.bundle.casing, capitalize=capitalize) for i in fits]
    mass = sum(float(probs[i]) for i in fits) if partial else 1.0  # completions: among the words that fit
    offered = [(word, float(probs[i]) / mass) for word, i in zip(shown, fits) if not partial or word != partial]
    return offered[:k]


@pytest.mark.parametrize("text", TEXTS)
def test_suggestions_are_the_models_ranking_of_the_words_that_fit(predictor, text):
    for k in (1, 3, 12):
        got = predictor.suggest(text, k)
        want = brute_force(predictor, text, k)
        assert [word for word, _ in got] == [word for word, _ in want]
        np.testing.assert_allclose([p for _, p in got], [p for _, p in want], rtol=1e-5, atol=1e-7)


def test_never_the_oov_token_nor_padding(predictor):
    oov = predictor.tokenizer.oov_token
    for text in TEXTS + ["<", "<u", "<unk", "zzz "]:
        for word, probability in predictor.suggest(text, 10):
            assert word.lower() != oov and word and 0.0 <= probability <= 1.0


def test_typed_letters_that_start_no_word_show_nothing(predictor):
    assert predictor.suggest("the value of qxqxq", 3) == []


@pytest.mark.parametrize(
    "text, finished, partial",
    [
        ("", "", ""),
        ("to be or n", "to be or ", "n"),
        ("to be or ", "to be or ", ""),
        ("end.", "end.", ""),
        ("a,b", "a,", "b"),
        ("tab\tx", "tab\t", "x"),
        ("don't", "", "don't"),
    ],
)
def test_the_word_being_typed_ends_where_the_tokenizer_ends_words(text, finished, partial):
    assert split_partial(text, Tokenizer()) == (finished, partial)


def test_char_level_models_have_no_partial_words():
    assert split_partial("abc", Tokenizer(char_level=True)) == ("abc", "")


def test_the_prefix_index_finds_exactly_the_words_that_start_with_the_prefix():
    words = ["", "<unk>", "the", "then", "they", "a", "théâtre", "th", "zebra", ""]
    index = PrefixIndex(words, skip={1})
    for prefix in ["", "t", "th", "the", "then", "thé", "x", "<"]:
        expected = sorted(i for i, w in enumerate(words) if i > 1 and w and w.startswith(prefix))
        lo, hi = index.range(prefix)
        assert sorted(index.ids[lo:hi].tolist()) == expected
    probs = np.array([0, 0, 0.2, 0.1, 0.2, 0.3, 0.05, 0.1, 0.05, 0])
    lo, hi = index.range("th")
    assert top_ids(probs, index.ids[lo:hi], 3).tolist() == [2, 4, 3]  # ties to the lower id


def test_a_session_suggests_what_the_predictor_suggests(sequence_model_path):
    predictor = Predictor.load(sequence_model_path)
    session = predictor.session()
    assert session.suggest() == predictor.suggest("")
    session.feed("the value")
    for partial in ["", "o", "of"]:
        assert session.suggest(partial, 5) == predictor.suggest("the value " + partial, 5)
    session.feed("of the object.")
    assert session.suggest("", 3) == predictor.suggest("the value of the object. ", 3)
    assert session.suggest("i", 3) == predictor.suggest("the value of the object. i", 3)


def test_a_session_refuses_a_partial_of_more_than_one_word(sequence_model_path):
    session = Predictor.load(sequence_model_path).session()
    with pytest.raises(InputError, match="letters of one word"):
        session.suggest("to b")
    with pytest.raises(TypeError):
        session.suggest(3)


def test_completing_in_a_session_costs_one_engine_call_per_word_not_per_letter(sequence_model_path, monkeypatch):
    predictor = Predictor.load(sequence_model_path)
    calls = [0]
    real = predictor.backend.step

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(predictor.backend, "step", counting)
    session = predictor.session()
    session.feed("the value")
    before = calls[0]
    for partial in ["o", "of", "of"]:
        session.suggest(partial)
    assert calls[0] == before + 1  # the distribution of the first letter, kept for the rest of the word


# --- display casing ----------------------------------------------------------------------------------


def test_the_case_table_keeps_the_written_form_of_words_not_starting_sentences():
    text = (
        "I think so. Then I went to London.\nAnd so I did, and then London and london. ANNE saw Anne go, saw BBC news"
    )
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts([text])
    counter = CaseCounter(tokenizer, tokenizer.word_index)
    counter.update(text)
    table = counter.case_table()
    assert table["i"] == "I" and table["london"] == "London" and table["anne"] == "Anne"
    assert "then" not in table and "and" not in table  # capitalized only where they start a sentence or line
    assert table["bbc"] == "BBC"  # capitals throughout win only where no other form was written


def test_display_casing_and_sentence_starts():
    table = {"i": "I", "london": "London"}
    assert display("i", table, capitalize=False) == "I"
    assert display("london", table, capitalize=False) == "London"
    assert display("the", table, capitalize=True) == "The"
    assert starts_sentence("") and starts_sentence("Yes. ") and starts_sentence("why?")
    assert not starts_sentence("the value ")


def test_a_bundled_case_table_round_trips_and_shows(model_path):
    real = Predictor.load(model_path)
    word = real.words[5]
    form = word.upper() if len(word) > 1 else word.upper()
    entries = encode_bundle(real.tokenizer, real.bundle.config, {word: form})
    bundle = decode_bundle(entries, source="m")
    assert bundle.casing == {word: form}
    cased = Predictor(real.backend, dataclasses.replace(real.bundle, casing={word: form}), "m")
    plain = [w for w, _ in real.suggest("the value of ", 50)]
    shown = [w for w, _ in cased.suggest("the value of ", 50)]
    assert (form in shown) == (word in plain) and [w.lower() for w in shown] == plain


def test_a_completion_never_offers_the_word_as_typed_unless_its_casing_differs(model_path):
    real = Predictor.load(model_path)
    # A word without a casing entry that starts longer words: typed in full, the bar leaves it out.
    word = next(
        w
        for w in real.words[2:]
        if w.isalpha() and w not in real.bundle.casing and sum(o.startswith(w) for o in real.words[1:]) > 6
    )
    plain = dict(real.suggest(f"the value of {word}", 5))
    assert len(plain) == 5 and word not in plain and all(w.lower().startswith(word) for w in plain)
    # Written otherwise by the casing table, it is offered (the tap fixes the case) at its rank among the same
    # words, whose probabilities do not change: the word as typed counts in the mass of the words that fit.
    form = word.upper()
    casing = {**real.bundle.casing, word: form}
    cased = Predictor(real.backend, dataclasses.replace(real.bundle, casing=casing), "m")
    shown = dict(cased.suggest(f"the value of {word}", 5))
    assert form in shown and [w for w in shown if w != form] == list(plain)[:4]
    assert all(shown[w] == plain[w] for w in shown if w != form)
    # Typed as the table writes it, it is the word as typed again.
    assert dict(cased.suggest(f"the value of {form}", 5)) == {w[:1].upper() + w[1:]: p for w, p in plain.items()}


@pytest.mark.parametrize(
    "table, said",
    [
        ('["i"]', "not a JSON object"),
        ('{"zzzz-not-a-word": "Z"}', "not in the vocabulary"),
        ('{"WORD": "Other"}', "is not that word"),
        ('{"WORD": 5}', "is not that word"),
        ('{"WORD": "W", "WORD": "W"}', "appears twice"),
        ("{", "malformed"),
    ],
)
def test_a_hostile_case_table_is_a_typed_refusal(model_path, table, said):
    real = Predictor.load(model_path)
    word = real.words[5]
    entries = encode_bundle(real.tokenizer, real.bundle.config)
    entries["nextword.casing"] = table.replace("WORD", word)
    with pytest.raises(CorruptModelError, match=said) as info:
        decode_bundle(entries, source="m")
    assert "\n" not in str(info.value)


def test_the_suggest_command(cli, model_path):
    import json

    code, out, _ = cli("suggest", model_path, "the value of t", "-k", "2", "--json")
    assert code == 0
    shown = json.loads(out[0])["predictions"]
    expected = Predictor.load(model_path).suggest("the value of t", 2)
    assert [(row["word"], row["probability"]) for row in shown] == list(expected)
    code, out, err = cli("suggest", model_path, "x", "-k", "0")
    assert code == 2 and out == [] and len(err.strip().splitlines()) == 1 and "k must be at least 1" in err
