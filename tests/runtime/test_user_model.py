"""The user model (issue 20): learns the user's words and phrases, mixes them into suggestions for both kinds,
and keeps them in a versioned, checksummed file written atomically and read as strictly as a model file."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
from nextword.runtime import user_file
from nextword.runtime.casing import display, starts_sentence
from nextword.runtime.errors import InputError, NextwordError
from nextword.runtime.predictor import Predictor
from nextword.runtime.user_model import CorruptUserModelError, UserModel


@pytest.fixture(scope="module", params=["window", "sequence"])
def predictor(request, model_path, sequence_model_path) -> Predictor:
    return Predictor.load(model_path if request.param == "window" else sequence_model_path)


def words_of(suggestions) -> list[str]:
    return [word for word, _ in suggestions]


def test_a_new_word_typed_twice_is_offered_for_completion(predictor):
    user = UserModel()
    assert "Kensington" not in words_of(predictor.suggest("we met at Ke", 3, user=user))
    user.learn("We met at Kensington and walked.")
    user.learn("Later we went back to Kensington.")
    assert "Kensington" in words_of(predictor.suggest("we met at ke", 3, user=user))  # the user's casing


def test_a_frequent_next_word_rises(predictor):
    user = UserModel()
    before = words_of(predictor.suggest("the value of ", 10))
    target = next(w for w in predictor.words[50:] if w and w not in before)
    for _ in range(5):
        user.learn(f"the value of {target} is high.")
    assert words_of(predictor.suggest("the value of ", 3, user=user))[0] == target


def test_an_empty_user_model_changes_nothing(predictor):
    for text in ["", "the value of", "the value of t", "x. Th"]:
        assert predictor.suggest(text, 5, user=UserModel()) == predictor.suggest(text, 5)


def test_a_session_mixes_the_user_model_as_the_predictor_does(sequence_model_path):
    predictor = Predictor.load(sequence_model_path)
    user = UserModel()
    user.learn("meet me at Kensington. meet me at Kensington gardens")
    session = predictor.session(user=user)
    session.feed("meet me at")
    for partial in ["", "k", "ke"]:
        assert session.suggest(partial, 3) == predictor.suggest("meet me at " + partial, 3, user=user)


def test_forget_and_clear(predictor):
    user = UserModel()
    user.learn("Zanzibarish Zanzibarish Zanzibarish")
    assert "Zanzibarish" in words_of(predictor.suggest("go to za", 3, user=user))
    assert user.forget("ZANZIBARISH") and not user.forget("never-learned")
    assert "Zanzibarish" not in words_of(predictor.suggest("go to za", 3, user=user))
    user.learn("a b c")
    user.clear()
    assert len(user) == 0 and user.words == {}


def test_bounded_rarest_and_oldest_go_first():
    user = UserModel(max_entries=50)
    for _ in range(20):
        user.learn("keep")
    for i in range(200):
        user.learn(f"w{i}")
    assert len(user) <= 50 and user.words["keep"] == 20
    assert "w199" in user.words and "w0" not in user.words


def test_save_and_load_round_trip(tmp_path):
    user = UserModel()
    user.learn("Hello there, General Kenobi. You are a bold one. Hello there")
    path = tmp_path / "me.nwuser"
    user.save(path)
    again = UserModel.load(path)
    assert again.words == user.words and len(again) == len(user)
    assert again.form("kenobi") == "Kenobi"


def test_a_crash_mid_save_leaves_the_previous_file(tmp_path, monkeypatch):
    import os

    path = tmp_path / "me.nwuser"
    first = UserModel()
    first.learn("first words")
    first.save(path)
    before = path.read_bytes()
    second = UserModel()
    second.learn("second words entirely")

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(InputError, match="cannot save the user model"):
        second.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["me.nwuser"]


def saved(tmp_path) -> bytes:
    user = UserModel()
    user.learn("one two three. one two four")
    user.save(tmp_path / "u")
    return (tmp_path / "u").read_bytes()


def resigned(body: bytes) -> bytes:
    return user_file.sign(body, version=1)


def body(**changes) -> bytes:
    """A valid two-word, one-pair body with some columns changed (a raw string replaces the whole body)."""
    import json

    columns = {"tick": 2, "words": ["a", "b"], "forms": ["", "B"], "counts": [1, 1], "ticks": [1, 2]}
    columns |= {"pair_words": [0], "pair_next": [1], "pair_counts": [1], "pair_ticks": [2]}
    return resigned(json.dumps(columns | changes).encode())


@pytest.mark.parametrize(
    "data, said",
    [
        (b"", "not a nextword user model"),
        (b"nextword-user 3\nsha256:00\n{}", "version"),
        (b"nextword-user 1\nsha256:00\n{}", "checksum"),
        (resigned(b"[]"), "not an object"),
        (body(extra=1), "not an object"),
        (resigned(b'{"tick":1,"tick":1}'), "appears twice"),
        (body(words=["a", "a"]), "appears twice"),
        (body(pair_words=[0, 0], pair_next=[1, 1], pair_counts=[1, 1], pair_ticks=[1, 1]), "pair appears twice"),
        (body(forms=["", "C"]), "does not lowercase"),
        (body(counts=[0, 1]), "out of range"),
        (body(ticks=[1, 5]), "out of range"),
        (body(words=["a b", "b"]), "holds a separator"),
        (body(words=["", "b"]), "empty"),
        (body(words=["a" * 65, "b"]), "longer than"),
        (body(counts=[True, 1]), "not all integers"),
        (body(counts=[1.0, 1]), "not all integers"),
        (body(words=[1, "b"]), "not a string"),
        (body(pair_next=[7]), "out of range"),
        (body(pair_next=[-1]), "out of range"),
        (body(counts=[1]), "differ in length"),
        (body(words="ab"), "wrong type"),
        (resigned(b'{"tick":1e400}'), "not an object"),
        (resigned(b"[" * 100000), "nested too deeply"),
        (resigned(b'{"tick":NaN}'), "not a number"),
        (body(words=["\ud800", "b"]), "lone surrogate"),
        (body(forms=["", "\udc00"]), "lone surrogate"),
        (resigned(b"\xef\xbb\xbf" + body()[body().index(b"{") :]), "malformed"),  # a BOM
        (resigned(body()[body().index(b"{") :].decode().encode("utf-16")), "not UTF-8"),
        (resigned(b'{"tick":1,"words":["\xed\xa0\x80"]}'), "not UTF-8"),  # an encoded surrogate
    ],
)
def test_hostile_user_files_are_typed_refusals(data, said):
    with pytest.raises(CorruptUserModelError, match=said) as info:
        UserModel.from_bytes(data)
    assert "\n" not in str(info.value)


def binary(tick=2, words=("a", "b"), forms=("", "B"), **ints) -> bytes:
    """A valid version 2 file of two words and one pair, with some columns changed."""
    columns = {"counts": [1, 1], "ticks": [1, 2], "pair_words": [0], "pair_next": [1], "pair_counts": [1]}
    return user_file.encode(tick, list(words), list(forms), columns | {"pair_ticks": [2]} | ints)


def resigned_v2(body: bytes) -> bytes:
    return user_file.sign(body, version=2)


def v2_body(data: bytes) -> bytes:
    return data.partition(b"\n")[2].partition(b"\n")[2]


def head_says(n_words: int, n_pairs: int) -> bytes:
    """binary()'s body with its word and pair counts replaced (the arrays left as they are)."""
    body = bytearray(v2_body(binary()))
    body[4:12] = np.array([n_words, n_pairs], "<u4").tobytes()
    return resigned_v2(bytes(body))


@pytest.mark.parametrize(
    "data, said",
    [
        (resigned_v2(b"\x00" * 19), "shorter than its 20-byte head"),
        (resigned_v2(v2_body(binary())[:-1]), "its head says"),
        (resigned_v2(v2_body(binary()) + b"\n"), "its head says"),
        (head_says(2**32 - 1, 0), "over max_entries"),  # a memory bomb is refused before anything is allocated
        (head_says(3, 0), "its head says"),
        (binary(words=("a", "a")), "appears twice"),
        (binary(words=("a b", "b")), "holds a separator"),
        (binary(words=("a", "")), "empty"),
        (binary(words=("a" * 65, "b")), "longer than"),
        (binary(forms=("", "C")), "does not lowercase"),
        (binary(forms=("", "B\nx")), "differ in length"),
        (binary(counts=[0, 1]), "counts are out of range"),
        (binary(counts=[2**31, 1]), "counts are out of range"),
        (binary(ticks=[1, 3]), "ticks are out of range"),
        (binary(tick=2**31), "tick is out of range"),
        (binary(pair_next=[2]), "pair_next are out of range"),
        (binary(pair_words=[0, 0], pair_next=[1, 1], pair_counts=[1, 1], pair_ticks=[1, 1]), "pair appears twice"),
        (
            resigned_v2(v2_body(binary(words=("a", "bcd"), forms=("", ""))).replace(b"bcd", b"\xed\xa0\x80")),
            "not UTF-8",
        ),
        (resigned_v2(v2_body(binary()).replace(b"B\n", b"Bx")), "do not end a line"),
    ],
)
def test_hostile_binary_user_files_are_typed_refusals(data, said):
    assert UserModel.from_bytes(binary()).words == {"a": 1, "b": 1}  # the unchanged file is good
    with pytest.raises(CorruptUserModelError, match=said) as info:
        UserModel.from_bytes(data)
    assert "\n" not in str(info.value)


def test_a_version_1_file_still_loads_and_saves_as_version_2(tmp_path):
    """Nothing a user taught is lost on upgrade: the JSON file of the last release reads into the same model."""
    old = body()
    user = UserModel.from_bytes(old)
    assert user.words == {"a": 1, "b": 1} and user.form("b") == "B" and len(user) == 3
    user.save(tmp_path / "u")
    assert (tmp_path / "u").read_bytes() == binary()


@pytest.mark.parametrize("then", ["learn", "suggest", "forget", "evict"])
def test_a_loaded_model_reads_its_pairs_when_used_and_saves_as_if_read_whole(tmp_path, predictor, then):
    """The pairs stay in the file's columns until a context is read: each path must see, and save, the model a
    user that never went through the file has."""

    def use(user: UserModel):
        bar = words_of(predictor.suggest("the", 3, user=user)) if then == "suggest" else None
        user.learn("the cat ran on. the owl sat on a mat")
        if then == "forget":
            assert user.forget("owl")
        if then == "evict":
            user.max_entries = len(user) - 1
            user.learn("")  # learning checks the bound
        return bar, len(user), user.words

    fresh = UserModel()
    fresh.learn("the cat sat. the dog sat on the mat. a cat ran.")  # ended: the file keeps no last word
    fresh.save(tmp_path / "before")
    loaded = UserModel.load(tmp_path / "before")
    assert use(loaded) == use(fresh)
    loaded.save(tmp_path / "loaded")
    fresh.save(tmp_path / "fresh")
    assert (tmp_path / "loaded").read_bytes() == (tmp_path / "fresh").read_bytes()


def test_a_word_whose_lowercase_is_longer_is_clipped_so_the_file_loads(tmp_path):
    user = UserModel()
    user.learn("İ" * 70 + " and " + "x" * 63 + "İ")  # "İ".lower() is two code points
    user.save(tmp_path / "u")
    again = UserModel.load(tmp_path / "u")
    assert again.words == user.words and all(len(word) <= 64 for word in again.words)


def test_candidates_break_ties_as_a_stable_sort_does():
    import numpy as np
    from nextword.runtime.user_model import most_learned

    rng = np.random.default_rng(0)
    for _ in range(500):
        counts = rng.integers(1, 4, size=int(rng.integers(0, 40))).astype(np.float64)
        k = int(rng.integers(1, 8))
        assert sorted(most_learned(counts, k)) == sorted(np.argsort(-counts, kind="stable")[:k].tolist())


def test_oversized_and_overfull_files_are_refused(tmp_path):
    data = saved(tmp_path)
    (tmp_path / "big").write_bytes(data)
    with pytest.raises(CorruptUserModelError, match="limit"):
        UserModel.load(tmp_path / "big", max_bytes=len(data) - 1)
    with pytest.raises(CorruptUserModelError, match="over max_entries"):
        UserModel.from_bytes(data, max_entries=2)
    with pytest.raises(InputError, match="does not exist"):
        UserModel.load(tmp_path / "missing")


def test_mutated_files_never_crash(tmp_path):
    """A small version of the campaign: every mutation is read or refused with a typed error."""
    data = saved(tmp_path)
    rng = random.Random(0)
    for _ in range(2000):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            choice = rng.random()
            at = rng.randrange(len(mutated))
            if choice < 0.4:
                mutated[at] = rng.randrange(256)
            elif choice < 0.7:
                del mutated[at : at + rng.randint(1, 8)]
            else:
                mutated[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        body = bytes(mutated).partition(b"\n")[2].partition(b"\n")[2]
        for candidate in (bytes(mutated), resigned(body)):  # resigned: past the checksum, into the parser
            try:
                UserModel.from_bytes(candidate)
            except NextwordError:
                pass


def test_one_user_model_shared_by_threads(predictor):
    user = UserModel(max_entries=300)
    errors = []

    def typist(seed):
        rng = random.Random(seed)
        try:
            for i in range(200):
                user.learn(f"word{rng.randrange(100)} and{i % 7}")
                predictor.suggest("the wo", 3, user=user)
        except Exception as exc:  # any exception at all is the failure this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=typist, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(user) <= 300


def test_text_with_a_lone_surrogate_is_refused_and_the_model_still_saves(tmp_path):
    """A lone surrogate (from a mis-decoded file name or a broken clipboard) has no UTF-8 form: learned, it made
    every later save() fail with a UnicodeEncodeError, losing all the user had taught."""
    user = UserModel()
    user.learn("hello world")
    with pytest.raises(InputError, match="lone surrogate"):
        user.learn("ab\ud800cd more words")
    assert user.words == {"hello": 1, "world": 1}  # nothing of the refused text was learned
    user.save(tmp_path / "user.json")
    assert UserModel.load(tmp_path / "user.json").words == user.words
    user.learn("a pair is fine: \U0001f600 émoji")  # astral characters are one code point in Python


def test_a_contexts_successors_stay_in_count_order_as_pairs_are_learned():
    """The order a next-word bar reads them in (highest count first) is kept up to date pair by pair."""
    rng = random.Random(0)
    user = UserModel()
    user.learn("the a")
    for step in range(3000):
        if step % 500 == 0:
            with user.reading("the"):  # builds the context's order; learning then keeps it
                pass
        user.learn(f"the w{min(int(rng.expovariate(0.05)), 300)}")
        if step % 97 == 0:
            with user.reading("the") as scorer:
                ranked = [(word, scorer.successors[word][0]) for word in scorer.ranked.by_count]
                assert [count for _, count in ranked] == sorted((c for _, c in ranked), reverse=True)
                assert dict(ranked) == {word: pair[0] for word, pair in scorer.successors.items()}
                assert list(scorer.fitting_successors("w1")) == sorted(
                    (w, pair[0]) for w, pair in scorer.successors.items() if w.startswith("w1")
                )
        with user.reading("the") as scorer:  # what a completion reads per prefix, kept between bars
            for prefix in ("w", "w1", "w2", "w10", "a", "x"):
                total, fits = scorer.fitting_by_count(prefix)
                fresh = {w: pair[0] for w, pair in scorer.successors.items() if w.startswith(prefix)}
                assert dict(fits) == fresh and total == sum(fresh.values()), (step, prefix)
                assert [count for _, count in fits] == sorted(fresh.values(), reverse=True)


def brute_force_mix(predictor: Predictor, text: str, k: int, user: UserModel) -> list[str]:
    """What Suggester.mixed must return: every candidate scored (the model's top k, every successor that fits,
    the most learned words), none skipped but the word that would show exactly as typed."""
    from nextword.runtime.suggest import previous_word, split_partial

    suggester, model = predictor.suggester, predictor.model
    finished, partial = split_partial(text, predictor.tokenizer)
    state = model.begin(predictor.encode_words(finished)[0], full=True)
    probs, prefix = model.probs(state), suggester.normalize(partial)
    capitalize = starts_sentence(finished) or partial[:1].isupper()
    form = user.form(prefix) or predictor.bundle.casing.get(prefix, prefix)
    as_typed = prefix if partial and display(form, {}, capitalize=capitalize) == partial else None
    # the model's side as mixed reads it: its top k of the words that fit, less the word as typed
    model_ids, model_mass = suggester.model_top(model, state, probs, prefix, as_typed is not None, k)
    with user.reading(previous_word(finished)) as scorer:
        user_mass = scorer.mass(prefix) if partial else 1.0
        weight = 1.0 if model_mass <= 0 else (scorer.weight if user_mass > 0 else 0.0)
        candidates = [predictor.words[i] for i in model_ids] + [w for w in scorer.successors if w.startswith(prefix)]
        candidates += scorer.unigram_candidates(prefix, k + 1) if partial else scorer.index.top
        scores = {}
        for word in set(candidates) - {as_typed}:
            word_id = suggester.id_of(word)
            model_part = float(probs[word_id]) / model_mass if word_id is not None and model_mass > 0 else 0.0
            user_part = scorer.prob(word) / user_mass if user_mass > 0 else 0.0
            scores[word] = (1.0 - weight) * model_part + weight * user_part
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [word for word, p in best if p > 0]


def test_skipping_successors_that_cannot_rank_gives_the_bar_scoring_every_one_gives(predictor):
    rng = random.Random(1)
    vocabulary = [w for w in predictor.words[1:] if w and w.isalpha()]
    user = UserModel()
    for _ in range(400):  # many successors per context, counts from 1 to dozens
        user.learn(" ".join(rng.choice(vocabulary[:40] + [f"zq{i}" for i in range(30)]) for _ in range(12)) + ".")
    compared = 0
    for context in vocabulary[:40:3]:
        for partial in ["", context[:1], "zq", "zq1", context, "zq1" + context[:1]]:
            for k in (1, 3, 8):
                expected = brute_force_mix(predictor, f"x {context} {partial}", k, user)
                got = [w.lower() for w, _ in predictor.suggest(f"x {context} {partial}", k, user=user)]
                assert got == expected, (context, partial, k)
                compared += 1
    assert compared == 14 * 6 * 3


def test_completion_figures_kept_per_prefix_follow_every_learned_word():
    """A completion reads, per typed prefix, the counts' sum and the most learned words: kept between bars, they
    must be what a freshly built index gives after every learned word."""
    from nextword.runtime.user_model import _UserIndex

    rng = random.Random(2)
    user = UserModel()
    for step in range(600):
        user.learn(rng.choice(["ta", "tb", "tc", "tab", "tba", "tz", "ua", f"t{step % 7}"]))
        with user.reading(None) as scorer:
            fresh = _UserIndex(user._words)
            for prefix in ["t", "ta", "tb", "u", "x"]:
                assert scorer.index.total(prefix) == fresh.total(prefix), (step, prefix)
                assert scorer.index.candidates(prefix, 2) == fresh.candidates(prefix, 2), (step, prefix)


def test_a_new_word_goes_into_the_index_in_place_as_a_rebuild_would_put_it():
    """A word learned for the first time is inserted (a rebuild sorted every learned word on the keystroke after
    it): keys, counts and the largest count stay what a freshly built index gives."""
    from nextword.runtime.user_model import _UserIndex

    rng = random.Random(3)
    user = UserModel()
    user.learn("a b c")
    for step in range(400):
        with user.reading(None) as scorer:
            index = scorer.index
            fresh = _UserIndex(user._words)
            assert index.keys == fresh.keys and index.counts.tolist() == fresh.counts.tolist(), step
            assert index.count_of == fresh.count_of and index.largest == fresh.largest, step
            assert set(index.top) <= set(index.keys) and len(index.top) == min(32, len(index.keys))
        user.learn(f"{rng.choice('abcxyz')}{rng.randrange(60)} é{rng.randrange(3)} \U0001f600{rng.randrange(2)}")
    with user.reading(None) as scorer:
        assert scorer.index is index  # kept, never rebuilt, while only learning
