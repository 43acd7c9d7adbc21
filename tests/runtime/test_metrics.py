"""Perplexity/top-k metrics, keyboard metrics and the Kneser-Ney baseline, checked against hand arithmetic."""

import io
import math

import numpy as np
import pytest
from nextword.runtime.errors import InputError
from nextword.runtime.keyboard import Keyboard, check_shown
from nextword.runtime.kneser_ney import MAX_DISCOUNT, KneserNey
from nextword.runtime.metrics import evaluate_windows, text_progress

# ---------------------------------------------------------------- metrics

# Three windows over V=4. Rows are what the fake model returns for each context.
HAND_PROBS = np.array(
    [
        [0.1, 0.6, 0.2, 0.1],  # target 1: most probable            -> rank 0
        [0.1, 0.4, 0.3, 0.2],  # target 2: only id 1 beats it       -> rank 1
        [0.25, 0.25, 0.25, 0.25],  # target 3: ties with 0,1,2, which sort first -> rank 3
    ]
)
HAND_TARGETS = np.array([1, 2, 3])


def hand_prob_fn(contexts):
    # The context's first id says which row to return, so batching cannot reorder rows.
    return HAND_PROBS[contexts[:, 0]]


def test_metrics_match_hand_computation():
    contexts = np.array([[0, 9], [1, 9], [2, 9]])
    result = evaluate_windows(hand_prob_fn, contexts, HAND_TARGETS, batch_size=2)
    expected_perplexity = math.exp(-(math.log(0.6) + math.log(0.3) + math.log(0.25)) / 3)
    assert result["windows"] == 3
    assert abs(result["perplexity"] - expected_perplexity) < 1e-9
    assert result["top1"] == pytest.approx(1 / 3)
    assert result["top3"] == pytest.approx(2 / 3)  # rank 3 is not < 3
    assert result["top5"] == pytest.approx(1.0)


def test_zero_probability_is_floored_not_infinite():
    result = evaluate_windows(lambda c: np.tile([0.0, 1.0], (len(c), 1)), np.zeros((2, 2), int), np.array([0, 0]))
    assert result["perplexity"] == pytest.approx(1e12)
    assert result["top1"] == 0.0


def test_progress_reports_every_batch_and_ends_at_total():
    calls = []
    contexts = np.array([[0, 9], [1, 9], [2, 9]])
    evaluate_windows(hand_prob_fn, contexts, HAND_TARGETS, batch_size=2, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 3), (3, 3)]


def test_text_progress_is_silent_off_terminal_and_draws_when_forced():
    quiet = io.StringIO()
    text_progress(quiet)(1, 2)
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    bar = text_progress(shown, force=True, width=4)
    bar(1, 2)
    bar(2, 2)
    assert shown.getvalue() == "\r[##..] 1/2 (50%)\r[####] 2/2 (100%)\n"


@pytest.mark.parametrize(
    "contexts, targets, prob_fn",
    [
        (np.zeros((2, 2), int), np.array([1]), hand_prob_fn),  # length mismatch
        (np.zeros((0, 2), int), np.zeros(0, int), hand_prob_fn),  # nothing to score
        (np.zeros((1, 2), int), np.array([7]), hand_prob_fn),  # target beyond V
        (np.zeros((1, 2), int), np.array([1]), lambda c: np.ones(4)),  # wrong output shape
        (np.zeros((1, 2), int), np.array([1]), lambda c: np.full((1, 4), np.nan)),
    ],
)
def test_bad_windows_or_outputs_are_refused(contexts, targets, prob_fn):
    with pytest.raises(InputError):
        evaluate_windows(prob_fn, contexts, targets)


# ---------------------------------------------------------------- keyboard

# Padding, the OOV token and three words. Every row is the same distribution: <unk> is the likeliest id but no bar
# shows it, and "to" and "the" tie, so "to" (the lower id) goes first.
KB_WORDS = ["", "<unk>", "to", "the", "then"]
KB_OOV = 1
KB_ROW = [0.0, 0.5, 0.2, 0.2, 0.1]
# Typed: "to", "the", "then", and "xyz", outside the vocabulary (the OOV id); 3 + 4 + 5 + 4 = 16 keystrokes in full.
KB_TARGETS = np.array([2, 3, 4, KB_OOV])
KB_TYPED = ["to", "the", "then", "xyz"]


def keyboard_scores(shown: int, row=KB_ROW, targets=KB_TARGETS, typed=KB_TYPED, words=KB_WORDS, oov=KB_OOV):
    probs = np.tile(np.asarray(row), (len(targets), 1))
    tally = Keyboard(words, oov, shown).tally(targets, typed)
    half = len(targets) // 2
    tally.add(probs[:half], 0)  # two batches, as evaluate_windows feeds them
    tally.add(probs[half:], half)
    return tally.result()


@pytest.mark.parametrize(
    "shown, keystrokes",
    [
        # 1 shown: "to" at once (1); "the": bar [to], [to] after "t", [the] after "th": 2 letters + tap = 3;
        # "then": [to], [to], [the] after "th", and after "the" not "the", the word as typed: [then], 3 + tap = 4;
        # "xyz": 4.
        (1, 1 + 3 + 4 + 4),
        # 2 shown: "to" and "the" at once; "then": [to, the] twice, then "th" leaves only [the, then]: 3; "xyz": 4.
        (2, 1 + 1 + 3 + 4),
        # 3 shown: every word of the vocabulary is in the first bar; the OOV word is still typed in full.
        (3, 1 + 1 + 1 + 4),
    ],
)
def test_keystroke_savings_by_hand(shown, keystrokes):
    assert keyboard_scores(shown)["keystroke_savings"] == pytest.approx(1 - keystrokes / 16)


def test_keyboard_top_k_counts_real_words_only():
    scores = keyboard_scores(3)
    # Real words ranked: to, the, then (<unk> left out). Top-1 hits "to" only; top-3 all three; "xyz" misses both,
    # although the id-level top-1 (below) counts its <unk> as the hit.
    assert scores["keyboard_top1"] == pytest.approx(1 / 4)
    assert scores["keyboard_top3"] == pytest.approx(3 / 4)
    contexts = np.zeros((4, 1), int)
    by_ids = evaluate_windows(lambda c: np.tile(KB_ROW, (len(c), 1)), contexts, KB_TARGETS)
    assert by_ids["top1"] == pytest.approx(1 / 4)  # the <unk> target, and nothing else


def test_ties_go_to_the_lower_id():
    # The same words under other ids: "the" is now id 2 and wins the tie with "to".
    words = ["", "<unk>", "the", "to", "then"]
    scores = keyboard_scores(1, targets=np.array([3, 2, 4, 1]), words=words)
    # "to": [the] before both its letters, so 2 letters + space = 3; "the": 1; "then": [the] up to "th", then
    # [then] (not "the" as typed): 4; "xyz": 4.
    assert scores["keystroke_savings"] == pytest.approx(1 - (3 + 1 + 4 + 4) / 16)
    assert scores["keyboard_top1"] == pytest.approx(1 / 4)  # "the"


def test_the_oov_token_and_padding_are_never_shown():
    # All mass on padding and <unk>, and an equal tiny share elsewhere: the bar still shows words, the lowest ids.
    row = [0.4, 0.59, 0.003, 0.003, 0.004]
    scores = keyboard_scores(1, row=row)
    # Real words ranked: then (0.004), to, the. Top-1 hits "then"; keystrokes: "to": [then] before both
    # letters, 3; "the": [then] before each of its 3 letters, 4; "then": 1; "xyz": 4.
    assert scores["keyboard_top1"] == pytest.approx(1 / 4)
    assert scores["keystroke_savings"] == pytest.approx(1 - (3 + 4 + 1 + 4) / 16)
    keyboard = Keyboard(KB_WORDS, KB_OOV)
    assert not keyboard.visible[0] and not keyboard.visible[KB_OOV]
    assert sorted(keyboard.index.ids.tolist()) == [2, 3, 4]


def test_prefix_ranges_are_contiguous_and_ignore_case():
    words = ["", "<unk>", "The", "then", "a", "Théâtre", "to", "tHe"]
    keyboard = Keyboard(words, oov_id=1)
    for prefix in ["", "t", "th", "the", "then", "thé", "x", "a"]:
        lo, hi = keyboard.index.range(prefix)
        expected = sorted(i for i, w in enumerate(words) if i > 1 and w.lower().startswith(prefix))
        assert sorted(keyboard.index.ids[lo:hi].tolist()) == expected, prefix
    assert keyboard.index.range("zz")[0] == keyboard.index.range("zz")[1]
    # Typed letters match a word whatever its case. Before any letter the bar is [to, then, a]; after "t" it is
    # [to, then, The] (three words tie at 0.1, "The" has the lowest id): 1 letter + tap of 4 keystrokes.
    row = [0, 0, 0.1, 0.2, 0.2, 0.1, 0.3, 0.1]
    scores = keyboard_scores(3, row=row, targets=np.array([2]), typed=["the"], words=words, oov=1)
    assert scores["keystroke_savings"] == pytest.approx(1 - 2 / 4)


def test_evaluate_windows_adds_keyboard_metrics_and_keeps_the_old_ones():
    contexts = np.zeros((4, 1), int)

    def prob_fn(c):
        return np.tile(KB_ROW, (len(c), 1))

    plain = evaluate_windows(prob_fn, contexts, KB_TARGETS, batch_size=3)
    tally = Keyboard(KB_WORDS, KB_OOV, 2).tally(KB_TARGETS, KB_TYPED)
    with_keyboard = evaluate_windows(prob_fn, contexts, KB_TARGETS, batch_size=3, keyboard=tally)
    assert set(plain) == {"windows", "perplexity", "top1", "top3", "top5"}
    assert with_keyboard == {**plain, **keyboard_scores(2)}
    assert set(with_keyboard) - set(plain) == {"keyboard_top1", "keyboard_top3", "keystroke_savings"}


@pytest.mark.parametrize("shown", [0, -1, 1.5, True, "3", None])
def test_bad_shown_is_refused(shown):
    with pytest.raises(InputError, match="shown must be"):
        check_shown(shown)
    with pytest.raises(InputError, match="shown must be"):
        Keyboard(KB_WORDS, KB_OOV, shown)


def test_tally_refuses_rows_out_of_order_or_missing():
    probs = np.tile(KB_ROW, (4, 1))
    tally = Keyboard(KB_WORDS, KB_OOV).tally(KB_TARGETS, KB_TYPED)
    with pytest.raises(InputError, match="out of order"):
        tally.add(probs[:2], 1)
    tally.add(probs[:2], 0)
    with pytest.raises(InputError, match="scored 2 of 4"):
        tally.result()
    with pytest.raises(InputError, match="wrong width"):
        tally.add(probs[2:, :3], 2)
    with pytest.raises(InputError, match="typed words"):
        Keyboard(KB_WORDS, KB_OOV).tally(KB_TARGETS, KB_TYPED[:3])
    with pytest.raises(InputError, match="target ids"):
        Keyboard(KB_WORDS, KB_OOV).tally(np.array([5]), ["x"])


# ---------------------------------------------------------------- Kneser-Ney

# Stream "1 2 3 1 2 4 1 2 3" over V=6 (id 5 never occurs, id 0 is padding); fit adds a
# boundary 0 in front, so the padded stream is 0 1 2 3 1 2 4 1 2 3.
TINY = np.array([1, 2, 3, 1, 2, 4, 1, 2, 3])


def test_trigram_probability_matches_hand_arithmetic():
    model = KneserNey.fit(TINY, vocab_size=6, order=3, discount=0.5)
    # Trigram (raw counts): 123 x2, 124 x1 -> c(1 2 .) = 3, two distinct followers.
    #   P3(3|1 2) = (2 - 0.5)/3 + 0.5 * 2/3 * P2(3|2)
    # Bigram (continuation counts = distinct left neighbours, boundary included):
    #   N(. 2 3) = |{1}| = 1, N(. 2 4) = |{1}| = 1 -> N(. 2 .) = 2, two distinct followers.
    #   P2(3|2) = (1 - 0.5)/2 + 0.5 * 2/2 * P1(3)
    # Unigram: N(. 1) = |{0,3,4}| = 3, N(. 2) = N(. 3) = N(. 4) = 1 -> total 6, four types;
    #   uniform over ids 1..5 is 1/5.
    #   P1(3) = (1 - 0.5)/6 + 0.5 * 4/6 * 1/5 = 1/12 + 1/15 = 0.15
    #   P2(3|2) = 0.25 + 0.5 * 0.15 = 0.325
    #   P3(3|1 2) = 0.5 + (1/3) * 0.325 = 0.608333...
    assert model.probs(np.array([1, 2]))[3] == pytest.approx(0.5 + 0.325 / 3, abs=1e-12)
    # Id 5 was never seen: only the uniform share survives, 0.5 * 4/6 * 1/5 at the unigram.
    assert model.probs(np.array([]))[5] == pytest.approx(0.5 * 4 / 6 / 5, abs=1e-12)


def test_default_discounts_come_from_counts_of_counts():
    model = KneserNey.fit(TINY, vocab_size=6, order=3)
    # Trigram counts: 123 twice, 231 312 124 241 412 once -> n1 = 5, n2 = 1 -> 5 / (5 + 2).
    assert model.discounts[2] == pytest.approx(5 / 7)
    # Unigram continuation counts 3,1,1,1 -> n1 = 3, n2 = 0 -> 1, clipped below 1.
    assert model.discounts[0] == MAX_DISCOUNT


@pytest.mark.parametrize("discount", [None, 0.5])
def test_distributions_sum_to_one_never_zero_and_never_predict_padding(discount):
    model = KneserNey.fit(TINY, vocab_size=6, order=3, discount=discount)
    every_context = np.array([[a, b] for a in range(6) for b in range(6)])
    probs = model.probs_batch(every_context)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(probs[:, 0] == 0.0)
    assert np.all(probs[:, 1:] > 0.0)


def test_unseen_or_padded_contexts_back_off():
    model = KneserNey.fit(TINY, vocab_size=6, order=3, discount=0.5)
    bigram_after_3 = model.probs(np.array([3]))
    assert np.array_equal(model.probs(np.array([4, 3])), bigram_after_3)  # "4 3" never seen
    assert np.array_equal(model.probs(np.array([0, 3])), bigram_after_3)  # left padding
    unigram = model.probs(np.array([], dtype=int))
    assert np.array_equal(model.probs(np.array([5, 5])), unigram)  # nothing known about 5
    assert np.array_equal(model.probs(np.array([2, 0])), unigram)  # the 0 cuts everything before it
    assert not np.array_equal(model.probs(np.array([1, 2])), model.probs(np.array([2])))  # seen: no back-off


def test_probs_batch_equals_stacked_probs():
    rng = np.random.default_rng(0)
    stream = rng.integers(1, 30, size=400)
    model = KneserNey.fit(stream, vocab_size=30, order=3)
    contexts = rng.integers(0, 30, size=(50, 2))
    stacked = np.stack([model.probs(c) for c in contexts])
    assert np.array_equal(model.probs_batch(contexts), stacked)


def test_pruning_drops_rare_entries_and_hands_their_mass_to_the_backoff():
    model = KneserNey.fit(TINY, vocab_size=6, order=3, discount=0.5)
    every_context = np.array([[a, b] for a in range(6) for b in range(6)])
    # min_count 1 keeps everything: the fitted model itself, so the n-gram probe's ends stay evaluate's exactly
    assert np.array_equal(model.pruned(1).probs_batch(every_context), model.probs_batch(every_context))
    pruned = model.pruned(2)
    # Of the trigrams only "1 2 3" (twice) survives, and no bigram continuation (each seen once): so
    # P(3 | 1 2) = 1.5/3 + (1 - 0.5) * P1(3) = 0.575 and P(4 | 1 2) = 0.5 * P1(4) = 0.075 (P1 as above: 0.15).
    assert 0 < pruned.entries < model.entries
    probs = pruned.probs_batch(every_context)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-12) and np.all(probs[:, 0] == 0.0)
    after_1_2, before = pruned.probs(np.array([1, 2])), model.probs(np.array([1, 2]))
    assert after_1_2[3] == pytest.approx(0.575, abs=1e-12) and after_1_2[4] == pytest.approx(0.075, abs=1e-12)
    assert after_1_2[3] < before[3] and after_1_2[4] < before[4]
    assert np.array_equal(pruned.probs(np.array([])), model.probs(np.array([])))  # the unigram is kept whole
    assert model.pruned(100).entries == 0
    assert np.allclose(model.pruned(100).probs(np.array([1, 2])), model.probs(np.array([])))
    with pytest.raises(InputError, match="pruned already"):
        pruned.pruned(3)  # its counts can no longer be read back from its weights
    for bad in (0, 1.5, True):
        with pytest.raises(InputError, match="min_count"):
            model.pruned(bad)


def test_bad_fit_inputs_are_refused():
    with pytest.raises(InputError):
        KneserNey.fit(np.array([1, 7]), vocab_size=6, order=3)
    with pytest.raises(InputError):
        KneserNey.fit(TINY, vocab_size=6, order=3, discount=1.0)
    with pytest.raises(InputError):
        KneserNey.fit(TINY.astype(float), vocab_size=6, order=3)


def test_big_vocabularies_use_exact_python_integer_keys(monkeypatch):
    """A 5-gram over more than 6,208 words overflows int64 keys; Python integers give the same model."""
    from nextword.runtime import kneser_ney

    rng = np.random.default_rng(3)
    stream = rng.integers(1, 40, size=3000)
    contexts = rng.integers(0, 40, size=(200, 4))
    with_int64 = KneserNey.fit(stream, vocab_size=40, order=5)
    monkeypatch.setattr(kneser_ney, "_key_dtype", lambda vocab_size, order: object)
    with_objects = KneserNey.fit(stream, vocab_size=40, order=5)
    assert with_objects.key_dtype is object and with_int64.key_dtype is np.int64
    np.testing.assert_allclose(with_objects.probs_batch(contexts), with_int64.probs_batch(contexts), rtol=0, atol=0)
    monkeypatch.undo()
    huge = KneserNey.fit(np.concatenate([stream, [20000]]), vocab_size=20001, order=5)  # 20001**5 > 2**63
    row = huge.probs(np.array([1, 2, 3, 4]))
    assert huge.key_dtype is object and row.sum() == pytest.approx(1.0) and row[0] == 0


# ---------------------------------------------------------------- real text

HELD_OUT_WINDOWS = 5000  # the first windows after the 90% cut; enough to separate the models


def additive_trigram_probs(train, contexts, targets, vocab_size):
    """Add-one trigram: (c(h w) + 1) / (c(h) + V - 1) over ids 1..V-1."""
    grams = np.lib.stride_tricks.sliding_window_view(train, 3)
    context_of_gram = grams[:, 0] * vocab_size + grams[:, 1]
    gram_keys, gram_counts = np.unique(context_of_gram * vocab_size + grams[:, 2], return_counts=True)
    ctx_keys, ctx_counts = np.unique(context_of_gram, return_counts=True)

    def lookup(keys, table, counts):
        slot = np.minimum(np.searchsorted(table, keys), len(table) - 1)
        return np.where(table[slot] == keys, counts[slot], 0)

    query_ctx = contexts[:, 0] * vocab_size + contexts[:, 1]
    c_hw = lookup(query_ctx * vocab_size + targets, gram_keys, gram_counts)
    c_h = lookup(query_ctx, ctx_keys, ctx_counts)
    return (c_hw + 1) / (c_h + vocab_size - 1)


def test_kneser_ney_beats_unigram_and_add_one_on_tinyshakespeare(shakespeare_path):
    path = shakespeare_path
    word_ids: dict[str, int] = {}
    ids = np.array([word_ids.setdefault(w, len(word_ids) + 1) for w in path.read_text().lower().split()])
    vocab_size = len(word_ids) + 1  # closed vocabulary: held-out words have ids, seen or not
    cut = int(len(ids) * 0.9)
    train = ids[:cut]
    windows = np.lib.stride_tricks.sliding_window_view(ids[cut:], 3)[:HELD_OUT_WINDOWS]
    contexts, targets = windows[:, :2], windows[:, 2]

    kn = evaluate_windows(KneserNey.fit(train, vocab_size, order=3).probs_batch, contexts, targets)

    unigram = (np.bincount(train, minlength=vocab_size)[1:] + 1) / (len(train) + vocab_size - 1)
    unigram_perplexity = math.exp(-np.log(unigram[targets - 1]).mean())
    add_one = additive_trigram_probs(train, contexts, targets, vocab_size)
    add_one_perplexity = math.exp(-np.log(add_one).mean())

    print(
        f"held-out perplexity: KN {kn['perplexity']:.1f}, add-one unigram {unigram_perplexity:.1f}, "
        f"add-one trigram {add_one_perplexity:.1f}; KN top1/3/5 {kn['top1']:.3f}/{kn['top3']:.3f}/{kn['top5']:.3f}"
    )
    assert kn["perplexity"] < unigram_perplexity
    assert kn["perplexity"] < add_one_perplexity


def test_the_bar_never_offers_the_word_as_typed_unless_its_casing_differs():
    words = ["", "<unk>", "the", "there", "i", "it"]
    row = [0.0, 0.0, 0.5, 0.1, 0.3, 0.1]
    targets, typed = np.array([3, 5]), ["there", "it"]  # 6 + 3 keystrokes in full
    probs = np.tile(np.asarray(row), (2, 1))

    def keystrokes(casing):
        tally = Keyboard(words, 1, 1, casing).tally(targets, typed)
        tally.add(probs, 0)
        return round((1 - tally.result()["keystroke_savings"]) * 9)

    # "there": [the] before "t", "th" and "the"? No: after "the" the bar leaves out "the" as typed: [there], 3 + tap.
    # "it": [the], then after "i" the bar leaves out "i": [it], 1 + tap.
    assert keystrokes(None) == 4 + 2
    # With "i" written "I", the bar offers "I" after "i" (its tap fixes the case): "it" is never shown, 3.
    assert keystrokes({"i": "I"}) == 4 + 3
