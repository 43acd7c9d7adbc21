"""Sessions over a sequence-kind model, on both formats: state carried between calls gives the same answers as
running the whole text, branches are independent, reset is a fresh start, and generation costs one engine
step per word. Runs without TensorFlow (model files from NEXTWORD_TEST_MODELS)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from nextword.runtime import InputError
from nextword.runtime.predictor import Predictor

TEXTS = ["the value of the", "return a new", "", "if the object is a list of", "zzyzx", "a", "the value of the"]


@pytest.fixture(scope="module")
def predictor(sequence_model_path) -> Predictor:
    return Predictor.load(sequence_model_path)


@pytest.fixture
def engine_calls(predictor, monkeypatch):
    """The number of backend.step calls so far (the engine work a session causes)."""
    calls = [0]
    real = predictor.backend.step

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(predictor.backend, "step", counting)
    return calls


def test_feeding_in_pieces_equals_feeding_at_once(predictor):
    whole = predictor.session()
    whole.feed("if the object is a list of")
    pieces = predictor.session()
    for piece in ("if the", "object", "is a list", "", "of"):
        pieces.feed(piece)
    np.testing.assert_allclose(pieces.state, whole.state, atol=1e-5, rtol=0)
    assert [w for w, _ in pieces.predict(10)] == [w for w, _ in whole.predict(10)]
    assert pieces.words_fed == whole.words_fed == 7
    assert [w for w, _ in predictor.predict_next("if the object is a list of", 10)] == [w for w, _ in whole.predict(10)]


def test_predict_without_new_words_calls_no_engine(predictor, engine_calls):
    session = predictor.session()
    session.feed("the value of")
    before = engine_calls[0]
    first = session.predict(5)
    assert session.predict(5) == first and session.predict(3) == first[:3]
    assert engine_calls[0] == before
    assert len(session.predict(50)) == 50  # beyond the graph's top-k: one call for the full distribution
    assert engine_calls[0] == before + 1


def test_once_a_word_was_completed_each_step_brings_its_distribution(predictor, engine_calls):
    """A keyboard completes most words: after its first completion, a session fetches the whole distribution with
    each step, so the next word's first letter costs no second engine call (and the bars are the same)."""
    session, text = predictor.session(), "the value"
    session.feed(text)
    assert not session.fetches_full
    assert session.suggest("o", 3) == predictor.suggest(text + " o", 3)  # the first completion: the step again
    for word in ["of", "the", "list"]:
        session.feed(word)
        text += " " + word
        before = engine_calls[0]
        bar = session.suggest("a", 3)
        assert engine_calls[0] == before, word  # the step that fed the word brought its distribution
        assert bar == predictor.suggest(text + " a", 3)
    assert session.copy().fetches_full


def test_copies_branch_independently(predictor):
    session = predictor.session()
    session.feed("the value")
    branch = session.copy()
    branch.feed("of the object")
    assert session.predict(5) == predictor.predict_next("the value", 5)
    assert branch.predict(5) == predictor.predict_next("the value of the object", 5)
    session.feed("is")
    assert branch.predict(5) == predictor.predict_next("the value of the object", 5)


def test_reset_is_a_fresh_start(predictor, engine_calls):
    session = predictor.session()
    fresh = session.predict(10)
    session.feed("a list of many words that change the state")
    session.reset()
    before = engine_calls[0]
    assert session.predict(10) == fresh == predictor.predict_next("", 10)
    assert engine_calls[0] == before  # the state after the start id is cached by the predictor
    assert session.words_fed == 0 and session.unknown_words == ()
    np.testing.assert_array_equal(session.state, predictor.session().state)


def test_generate_costs_one_engine_step_per_word(predictor, engine_calls):
    session = predictor.session()
    session.feed("the value of")
    for strategy, kwargs in (("greedy", {}), ("sample", {"top_k": 5, "seed": 1})):
        before = engine_calls[0]
        words = session.generate(12, strategy=strategy, **kwargs)
        assert len(words.split()) == 12 and engine_calls[0] - before == 12, strategy
    before = engine_calls[0]
    session.generate(12, strategy="sample", seed=1)  # full distribution each step: at most one extra call
    assert engine_calls[0] - before <= 13
    assert session.words_fed == 3 + 36


def test_generate_matches_stepping_by_hand_and_predictor_generate(predictor):
    session = predictor.session()
    session.feed("return a new")
    generated = session.copy().generate(6)
    by_hand = session.copy()
    words = []
    for _ in range(6):
        word = next(w for w, _ in by_hand.predict(10) if w != predictor.tokenizer.oov_token)
        words.append(word)
        by_hand.feed(word)
    assert generated == " ".join(words) == predictor.generate("return a new", 6)
    sampled = [predictor.generate("a", 8, strategy="sample", seed=3) for _ in range(2)]
    assert sampled[0] == sampled[1]
    assert predictor.tokenizer.oov_token not in predictor.generate("zzyzx", 30, strategy="sample", seed=0).split()


def test_batch_equals_one_at_a_time(predictor):
    batch = predictor.predict_next_batch(TEXTS, k=5, batch_size=2)
    for text, prediction in zip(TEXTS, batch):
        single = predictor.predict_next(text, k=5)
        assert [w for w, _ in prediction] == [w for w, _ in single], text
        np.testing.assert_allclose([p for _, p in prediction], [p for _, p in single], atol=1e-6, rtol=0)
        assert prediction.unknown_words == single.unknown_words
    assert batch[4].unknown_words == ("zzyzx",)


def test_k_beyond_the_graph_top_k_ranks_the_whole_distribution(predictor):
    """k = 20 > the graph's 10: predict_next, its batch form and a session all give 20 words, in the same order."""
    for text in TEXTS:
        session = predictor.session()
        session.feed(text)
        expected = session.predict(20)
        assert len(expected) == 20
        for got in (predictor.predict_next(text, k=20), predictor.predict_next_batch([text, text], k=20)[1]):
            assert [w for w, _ in got] == [w for w, _ in expected], text
            np.testing.assert_allclose([p for _, p in got], [p for _, p in expected], atol=1e-6, rtol=0)


def test_one_predictor_shared_by_threads(predictor):
    def work(seed: int):
        session = predictor.session()
        out = []
        for text in TEXTS:
            session.feed(text)
            out.append(session.predict(5))
        return out, session.generate(5, strategy="sample", seed=seed)

    expected = [work(seed) for seed in range(8)]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, range(8))) == expected


def test_bad_arguments(predictor):
    session = predictor.session()
    with pytest.raises(TypeError):
        session.feed(None)
    with pytest.raises(InputError):
        session.predict(0)
    with pytest.raises(InputError):
        session.feed_ids([0])  # the start id is the session's to feed
    with pytest.raises(InputError):
        session.feed_ids([predictor.vocab_size])
    with pytest.raises(InputError):
        session.generate(-1)
    with pytest.raises(InputError):
        predictor.probabilities(np.zeros((1, 2), np.int32))


@pytest.mark.parametrize(
    "ids",
    [
        [1.5],  # ran as id 1
        [2.0],
        np.array([3.7, 2.2]),  # truncated by numpy to 3, 2
        np.array([3, 2], np.float32),
        [True],  # ran as id 1
        np.array([True]),
        [np.True_],
        b"ab",  # ran as ids 97, 98
        bytearray(b"ab"),
        "ab",
        ["5"],
        [float("nan")],  # an untyped ValueError
        [float("inf")],
        [None],
        np.array([[3, 2]]),
    ],
)
def test_feed_ids_refuses_anything_but_integer_ids(predictor, ids):
    session = predictor.session()
    before = session.state
    with pytest.raises(InputError, match="ids must be integers") as info:
        session.feed_ids(ids)
    assert "\n" not in str(info.value)
    assert session.words_fed == 0 and np.array_equal(session.state, before)


@pytest.mark.parametrize("ids", [[3, 2], (3, 2), np.array([3, 2]), np.array([3, 2], np.uint16), [np.int64(3), 2]])
def test_feed_ids_takes_integers_of_any_kind(predictor, ids):
    session, expected = predictor.session(), predictor.session()
    expected.feed_ids([3, 2])
    session.feed_ids(ids)
    assert session.words_fed == 2 and np.array_equal(session.state, expected.state)


def test_window_models_have_no_session(model_path):
    window = Predictor.load(model_path)
    assert window.kind == "window"
    with pytest.raises(InputError, match="sequence model"):
        window.session()


def test_metadata_names_the_kind_and_state(predictor):
    config = predictor.metadata["config"]
    assert config["kind"] == "sequence" and predictor.state_size == 2 * config["layers"] * config["units"]
    assert predictor.backend.roles.state.shape[-1] == predictor.state_size == len(predictor.session().state)


def test_interactive_cli_keeps_the_session(cli, sequence_model_path, predictor):
    lines_in = "the value\nof\n/reset\nof\n"
    code, lines, _ = cli("predict", sequence_model_path, "--interactive", "-k", "3", stdin=lines_in)
    assert code == 0 and len(lines) == 3
    words = [line.split()[::2] for line in lines]
    assert words[1] == [w for w, _ in predictor.predict_next("the value of", 3)]
    assert words[2] == [w for w, _ in predictor.predict_next("of", 3)]
    code, lines, _ = cli("generate", sequence_model_path, "the value of", "-n", "4")
    assert code == 0 and lines == [f"the value of {predictor.generate('the value of', 4)}"]
    code, _, err = cli("predict", sequence_model_path)
    assert code == 2 and "interactive" in err
