"""`nextword evaluate`: the id stream is the tokenizer's own, unknown words are counted per window, and the
report scores the exported model exactly as Keras' probabilities would score."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from nextword.runtime.config import TrainConfig
from nextword.runtime.evaluate import evaluate, id_stream
from nextword.runtime.predictor import Predictor
from nextword.runtime.tokenizer import Tokenizer, text_to_word_sequence

METRICS = {"perplexity", "top1", "top3", "top5"}
KEYBOARD = {"keyboard_top1", "keyboard_top3", "keystroke_savings"}

# Known words a b c d; X, Y and Z are unknown. X sits inside windows 8 and 9 (as the gap before id 10),
# Y Z inside windows 11 and 12 (the gap before id 13); windows 10 and 13 start right after a gap,
# which lies outside them.
HAND_TEXT = "a b c d a b c d a b X c d a Y Z b c d a"


def hand_tokenizer(**options) -> Tokenizer:
    tokenizer = Tokenizer(**options)
    tokenizer.fit_on_texts(["a a a a b b b c c d"])
    return tokenizer


def uniform_predictor(tokenizer: Tokenizer, **config) -> SimpleNamespace:
    """What evaluate() needs from a Predictor, with a model that spreads its mass evenly over every word."""
    vocab_size = len(tokenizer.index_word) + 1
    config = TrainConfig(seq_len=3, vocab_size=vocab_size, validation_split=0.5, **config)

    def probabilities(contexts):
        probs = np.full((len(contexts), vocab_size), 1.0 / (vocab_size - 1), np.float32)
        probs[:, 0] = 0.0
        return probs

    vocabulary = {i: tokenizer.index_word[i] for i in range(1, vocab_size)}
    from nextword.runtime.evaluate import evaluate_windows_tail

    kind = SimpleNamespace(evaluation_orders=lambda: (config.seq_len,), evaluate_tail=evaluate_windows_tail)
    return SimpleNamespace(
        bundle=SimpleNamespace(config=config, casing={}),
        model=kind,  # the window kind's two evaluation hooks (runtime/kinds/window.py)
        tokenizer=tokenizer,
        probabilities=probabilities,
        vocabulary=vocabulary,
        vocab_size=vocab_size,
    )


def test_id_stream_of_the_hand_made_text():
    ids, is_oov, dropped_before = id_stream(hand_tokenizer(), HAND_TEXT)
    a, b, c, d = 1, 2, 3, 4
    assert ids.tolist() == [a, b, c, d, a, b, c, d, a, b, c, d, a, b, c, d, a]
    assert not is_oov.any()
    assert dropped_before.tolist() == [0] * 10 + [1, 0, 0, 2, 0, 0, 0]


def test_windows_touching_dropped_unknown_words():
    report = evaluate(uniform_predictor(hand_tokenizer()), HAND_TEXT)
    # 17 ids -> 15 windows; half held out: int(15 * 0.5) = 7, windows 8..14, of which 8, 9, 11, 12 touch a gap.
    assert report["windows"] == 7 and report["training_windows_for_baseline"] == 8
    assert report["windows_with_unknown_words"] == 4
    assert report["model"]["perplexity"] == pytest.approx(4.0)  # uniform over 4 words


def test_windows_touching_the_oov_id():
    tokenizer = hand_tokenizer(oov_token="<oov>")
    ids, is_oov, dropped_before = id_stream(tokenizer, HAND_TEXT)
    assert np.nonzero(is_oov)[0].tolist() == [10, 14, 15] and not dropped_before.any()
    assert ids[is_oov].tolist() == [1, 1, 1]
    report = evaluate(uniform_predictor(tokenizer, oov_token="<oov>"), HAND_TEXT)
    # 20 ids -> 18 windows, held out 9..17; windows i..i+2 containing id 10, 14 or 15: 9, 10, 12, 13, 14, 15.
    assert report["windows"] == 9 and report["windows_with_unknown_words"] == 6


def test_keyboard_metrics_of_the_uniform_model_by_hand():
    report = evaluate(uniform_predictor(hand_tokenizer()), HAND_TEXT)
    # Held-out targets c d a b c d a; a uniform model's bar is its three lowest ids: a b c. Each word is one letter:
    # a tap (1) for a, b, c; "d" is never shown, its letter and space cost 2. 9 keystrokes instead of 14.
    assert report["model"]["keystroke_savings"] == pytest.approx(1 - 9 / 14)
    assert report["model"]["keyboard_top1"] == pytest.approx(2 / 7) and report["model"]["keyboard_top3"] == 5 / 7
    assert report["shown"] == 3 and report["keystrokes_without_prediction"] == 14
    assert report["targets_outside_vocabulary"] == 0
    assert set(report["baseline"]) == METRICS | KEYBOARD | {"name"}
    shown_one = evaluate(uniform_predictor(hand_tokenizer()), HAND_TEXT, shown=1)
    # A bar of one shows only "a": c 2, d 2, a 1, b 2, c 2, d 2, a 1.
    assert shown_one["model"]["keystroke_savings"] == pytest.approx(1 - 12 / 14)


def test_keyboard_metrics_never_show_the_oov_token_and_miss_unknown_targets():
    tokenizer = hand_tokenizer(oov_token="<oov>")
    report = evaluate(uniform_predictor(tokenizer, oov_token="<oov>"), HAND_TEXT)
    # Held-out targets c d a Y Z b c d a, Y and Z outside the vocabulary. The uniform model's likeliest id is
    # <oov> (id 1, ties to the lower id), so the id-level top-1 counts Y and Z as hits; the bar shows a b c.
    assert report["model"]["top1"] == pytest.approx(2 / 9)
    assert report["model"]["keyboard_top1"] == pytest.approx(2 / 9)  # the two "a"s
    assert report["model"]["keyboard_top3"] == pytest.approx(5 / 9)
    # c 1, d 2, a 1, Y 2, Z 2, b 1, c 1, d 2, a 1: 13 of 18.
    assert report["model"]["keystroke_savings"] == pytest.approx(1 - 13 / 18)
    assert report["targets_outside_vocabulary"] == 2 and report["keystrokes_without_prediction"] == 18


@pytest.mark.parametrize("shown", [0, -2, 2.5, True])
def test_evaluate_refuses_a_bad_bar_size(shown):
    from nextword.runtime.errors import InputError

    with pytest.raises(InputError, match="shown must be"):
        evaluate(uniform_predictor(hand_tokenizer()), HAND_TEXT, shown=shown)


def test_no_unknown_words_no_touched_windows():
    report = evaluate(uniform_predictor(hand_tokenizer()), "a b c d " * 10, holdout=0.3)
    assert report["windows_with_unknown_words"] == 0 and report["windows"] == int(38 * 0.3)


@pytest.mark.parametrize(
    "options",
    [{}, {"oov_token": "<unk>"}, {"num_words": 50}, {"num_words": 50, "oov_token": "<unk>"}],
    ids=["plain", "oov", "num_words", "num_words+oov"],
)
def test_id_stream_equals_texts_to_sequences(trained_corpus, options):
    text = trained_corpus.read_text(encoding="utf-8")
    tokenizer = Tokenizer(**options)
    tokenizer.fit_on_texts([text[: len(text) // 2]])  # the second half has words this tokenizer never saw
    unseen = "Quixotic zzqxv, the value; of 'a' (list)! Zzqxv blorfle"
    for sample in (text, unseen):
        ids, is_oov, dropped_before = id_stream(tokenizer, sample)
        assert ids.tolist() == tokenizer.texts_to_sequences([sample])[0]
        _, unknown = tokenizer.encode_words(sample)
        assert int(is_oov.sum() + dropped_before.sum()) == len(unknown) - trailing_dropped(tokenizer, sample)


def trailing_dropped(tokenizer: Tokenizer, text: str) -> int:
    """Unknown words after the last id: dropped, and outside every window."""
    count = 0
    for word in reversed(text_to_word_sequence(text)):
        if tokenizer.encode_words(word)[0]:
            break
        count += 1
    return count


def test_id_stream_matches_keras_tokenizer(exported_dir, trained_dir, trained_corpus):
    legacy = pytest.importorskip("keras.src.legacy.preprocessing.text", reason="needs Keras 3's legacy Tokenizer")
    keras_tokenizer = legacy.tokenizer_from_json((trained_dir / "tokenizer.json").read_text(encoding="utf-8"))
    text = trained_corpus.read_text(encoding="utf-8")
    ids, _, _ = id_stream(Predictor.load(exported_dir / "model.onnx").tokenizer, text)
    assert ids.tolist() == keras_tokenizer.texts_to_sequences([text])[0]


def test_evaluate_refuses_bad_holdout_and_tiny_text():
    from nextword.runtime.errors import InputError

    predictor = uniform_predictor(hand_tokenizer())
    for holdout in (0, 1, 1.5):
        with pytest.raises(InputError, match="held-out fraction"):
            evaluate(predictor, HAND_TEXT, holdout=holdout)
    with pytest.raises(InputError, match="too few"):
        evaluate(predictor, "a b c d", holdout=0.1)


# --- the command, on the real model --------------------------------------------------------------


def test_evaluate_cli_json_on_the_trained_corpus(cli, model_path, trained_corpus, trained_model):
    code, out, err = cli("evaluate", model_path, "--corpus", trained_corpus, "--json")
    assert code == 0, err
    report = json.loads("\n".join(out))
    assert {"windows", "model", "baseline"} <= set(report)
    assert set(report["model"]) == METRICS | KEYBOARD and set(report["baseline"]) == METRICS | KEYBOARD | {"name"}
    assert "Kneser-Ney 3-gram" in report["baseline"]["name"]

    # The same held-out windows scored straight from Keras' probabilities.
    predictor = Predictor.load(model_path)
    ids, _, _ = id_stream(predictor.tokenizer, trained_corpus.read_text(encoding="utf-8"))
    windows = np.lib.stride_tricks.sliding_window_view(ids, 3)
    held = windows[len(windows) - int(len(windows) * 0.1) :]
    assert report["windows"] == len(held)
    probs = np.asarray(trained_model(held[:, :2], training=False), dtype=np.float64)
    target_probs = probs[np.arange(len(held)), held[:, 2]]
    assert report["model"]["perplexity"] == pytest.approx(np.exp(-np.log(target_probs).mean()), rel=1e-4)
    ranks = (probs > target_probs[:, None]).sum(axis=1)
    for k in (1, 3, 5):
        assert report["model"][f"top{k}"] == pytest.approx(np.mean(ranks < k), abs=2 / len(held))
    for row in (report["model"], report["baseline"]):
        assert row["perplexity"] > 1 and 0 <= row["top1"] <= row["top3"] <= row["top5"] <= 1


def test_evaluate_cli_plain_table(cli, exported_dir, trained_corpus):
    code, out, _ = cli("evaluate", exported_dir / "model.tflite", "--corpus", trained_corpus, "--holdout", "0.2")
    assert code == 0
    assert "touch unknown words" in out[0] and "held-out windows" in out[0] and "outside the vocabulary" in out[0]
    assert out[1].split() == "top-k (ids, <unk> counts) keyboard (real words) keystroke savings".split()
    assert out[2].split() == ["perplexity", "top-1", "top-3", "top-5", "top-1", "top-3", "(3", "shown)"]
    assert out[3].startswith("model ") and out[4].startswith("interpolated Kneser-Ney 3-gram")
    assert len(out) == 5 and len(out[3].split()) == 2 + 7


def test_evaluate_cli_compares_with_the_orders_asked_for(cli, exported_dir, trained_corpus):
    code, out, err = cli(
        "evaluate", exported_dir / "model.onnx", "--corpus", trained_corpus, "--order", "2", "--order", "4"
    )
    assert code == 0, err
    assert [line.split("-gram")[0][-1] for line in out[4:]] == ["2", "4"]
    code, _, err = cli("evaluate", exported_dir / "model.onnx", "--corpus", trained_corpus, "--order", "0")
    assert code == 2 and "orders must be integers" in err


@pytest.mark.parametrize("shown", ["0", "-1"])
def test_evaluate_cli_refuses_a_bad_shown_in_one_line(cli, exported_dir, trained_corpus, shown):
    code, out, err = cli("evaluate", exported_dir / "model.onnx", "--corpus", trained_corpus, "--shown", shown)
    assert code == 2 and out == []
    assert len(err.strip().splitlines()) == 1 and err.startswith("nextword evaluate: error: shown must be at least 1")


def test_evaluate_sequence_kind_scores_the_tail_as_training_did(cli, sequence_model_path, sequence_corpus):
    """The held-out tail read from a reset through the exported file: the same perplexity training measured
    in Keras for the epoch it kept (history.json), beside Kneser-Ney 4- and 5-grams."""
    code, out, err = cli("evaluate", sequence_model_path, "--corpus", sequence_corpus, "--json")
    assert code == 0, err
    report = json.loads("\n".join(out))
    history = json.loads((sequence_model_path.parents[1] / "sequence-train" / "history.json").read_text())
    kept_loss = history["val_loss"][history["kept_epoch"] - 1]
    assert report["model"]["perplexity"] == pytest.approx(np.exp(kept_loss), rel=1e-4)
    assert report["model"]["top1"] == pytest.approx(history["val_accuracy"][history["kept_epoch"] - 1], abs=1e-9)
    assert [row["name"] for row in report["baselines"]] == [f"interpolated Kneser-Ney {n}-gram" for n in (4, 5)]
    predictor = Predictor.load(sequence_model_path)
    ids, _, _ = id_stream(predictor.tokenizer, sequence_corpus.read_text(encoding="utf-8"))
    assert report["windows"] == int(len(ids) * 0.1)
    for row in (report["model"], *report["baselines"]):
        assert row["perplexity"] > 1 and 0 <= row["top1"] <= row["top3"] <= row["top5"] <= 1
        assert set(row) >= KEYBOARD and 0 <= row["keyboard_top1"] <= row["keyboard_top3"] <= 1
        assert 0 < row["keystroke_savings"] < 1


# --- keyboard metrics on the real models, against the protocol read literally ------------------------------


def literal_keyboard(probs, targets, typed, words, oov_id, casing, shown=3) -> dict:
    """The README's protocol with no shortcut: every row fully sorted (ties to the lower id), the words the bar
    may show filtered by the letters typed, less the word as typed unless the casing table writes it otherwise,
    the first `shown` of them on the bar."""
    lowered = np.array([word.lower() for word in words])
    showable = np.array([bool(word) and i not in (0, oov_id) for i, word in enumerate(words)])
    unchanged = np.array([casing.get(word, word) == word for word in lowered])  # shown as the typist types it
    fits: dict[str, np.ndarray] = {}
    hits, keystrokes = {1: 0, 3: 0}, 0
    for row, target, word in zip(probs, targets.tolist(), typed):
        ranking = np.argsort(-row, kind="stable")
        ranking = ranking[showable[ranking]]
        hits[1] += target in ranking[:1]
        hits[3] += target in ranking[:3]
        cost = len(word) + 1
        for letters in range(len(word)):
            prefix = word[:letters].lower()
            if prefix not in fits:
                fits[prefix] = np.char.startswith(lowered, prefix) & ~((lowered == prefix) & unchanged)
            if target in ranking[fits[prefix][ranking]][:shown]:
                cost = letters + 1
                break
        keystrokes += cost
    full = sum(len(word) + 1 for word in typed)
    return {
        "keyboard_top1": hits[1] / len(typed),
        "keyboard_top3": hits[3] / len(typed),
        "keystroke_savings": 1 - keystrokes / full,
    }


def keyboard_part(row: dict) -> dict:
    return {key: row[key] for key in KEYBOARD}


def words_and_oov(predictor):
    from nextword.runtime.evaluate import oov_id, vocabulary_words

    return vocabulary_words(predictor), oov_id(predictor)


def test_keyboard_metrics_of_a_window_model_and_its_n_gram(exported_dir, trained_corpus):
    from nextword.runtime.evaluate import word_stream
    from nextword.runtime.kneser_ney import KneserNey

    predictor = Predictor.load(exported_dir / "model.onnx")
    text = trained_corpus.read_text(encoding="utf-8")
    report = evaluate(predictor, text)
    ids, _, _, typed = word_stream(predictor.tokenizer, text)
    seq_len = predictor.seq_len
    windows = np.lib.stride_tricks.sliding_window_view(ids, seq_len)
    split = len(windows) - report["windows"]
    held, held_typed = windows[split:], typed[split + seq_len - 1 :]
    words, oov = words_and_oov(predictor)
    assert all(words[t] == w for t, w in zip(held[:, -1].tolist(), held_typed) if t != oov)  # ids and words align
    model = literal_keyboard(
        predictor.probabilities(held[:, :-1]), held[:, -1], held_typed, words, oov, predictor.bundle.casing
    )
    assert keyboard_part(report["model"]) == pytest.approx(model, abs=1e-12)
    # The baseline's order is the window's length, so it reads the same contexts.
    baseline = KneserNey.fit(ids[: split + seq_len - 1], predictor.vocab_size, order=seq_len)
    expected = literal_keyboard(
        baseline.probs_batch(held[:, :-1]), held[:, -1], held_typed, words, oov, predictor.bundle.casing
    )
    assert keyboard_part(report["baseline"]) == pytest.approx(expected, abs=1e-12)
    assert report["keystrokes_without_prediction"] == sum(len(word) + 1 for word in held_typed)
    # More suggestions never cost more keystrokes.
    savings = [evaluate(predictor, text, shown=n)["model"]["keystroke_savings"] for n in (1, 5)]
    assert savings[0] <= report["model"]["keystroke_savings"] <= savings[1]


def test_keyboard_metrics_of_a_sequence_model_and_its_n_grams(sequence_exported_dir, sequence_corpus):
    from nextword.runtime.evaluate import word_stream
    from nextword.runtime.kneser_ney import KneserNey

    predictor = Predictor.load(sequence_exported_dir / "model.onnx")
    text = sequence_corpus.read_text(encoding="utf-8")
    report = evaluate(predictor, text, shown=2)
    ids, _, _, typed = word_stream(predictor.tokenizer, text)
    split = len(ids) - report["windows"]
    held, held_typed = ids[split:], typed[split:]
    words, oov = words_and_oov(predictor)
    assert report["targets_outside_vocabulary"] == int(np.count_nonzero(held == oov)) > 0  # the fixture has <unk>
    probs = predictor.stream_reader(held)(len(held))
    expected = literal_keyboard(probs, held, held_typed, words, oov, predictor.bundle.casing, shown=2)
    assert keyboard_part(report["model"]) == pytest.approx(expected, abs=1e-12)
    for row, order in zip(report["baselines"], (4, 5)):
        baseline = KneserNey.fit(ids[:split], predictor.vocab_size, order=order)
        padded = np.concatenate([np.zeros(order - 1, dtype=ids.dtype), held])
        contexts = np.lib.stride_tricks.sliding_window_view(padded, order)[:, :-1]
        expected = literal_keyboard(
            baseline.probs_batch(contexts), held, held_typed, words, oov, predictor.bundle.casing, shown=2
        )
        assert keyboard_part(row) == pytest.approx(expected, abs=1e-12), row["name"]


@pytest.mark.parametrize("kind", ["window", "sequence"])
def test_adapting_with_nothing_learned_types_exactly_as_the_keyboard(
    kind, model_path, sequence_model_path, trained_corpus, sequence_corpus, monkeypatch
):
    """--adapt's bars come from suggest's mixing code; with learning switched off they must cost exactly the
    keystrokes the keyboard protocol counts (the two implementations check each other)."""
    from nextword.runtime.user_model import UserModel

    predictor = Predictor.load(model_path if kind == "window" else sequence_model_path)
    text = (trained_corpus if kind == "window" else sequence_corpus).read_text(encoding="utf-8")
    monkeypatch.setattr(UserModel, "learn", lambda self, text: None)
    report = evaluate(predictor, text, orders=(2,), adapt=True)
    for row in (report["model"], report["baselines"][-1]):
        assert row["adapted_keystroke_savings"] == pytest.approx(row["keystroke_savings"], abs=1e-12)
        assert row["adapted_keyboard_top1"] == pytest.approx(row["keyboard_top1"], abs=1e-12)


def test_adapting_learns_the_users_words(model_path, trained_corpus, cli):
    predictor = Predictor.load(model_path)
    # Words the vocabulary never saw, typed over and over.
    text = trained_corpus.read_text(encoding="utf-8") + " zorbulate grimwald" * 300
    report = evaluate(predictor, text, adapt=True)
    model = report["model"]
    assert model["adapted_keystroke_savings"] > model["keystroke_savings"] + 0.05
    assert model["adapted_keystroke_savings_after_warm_up"] > model["keystroke_savings_after_warm_up"]
    code, out, _ = cli("evaluate", model_path, "--corpus", write_text(text), "--adapt")
    assert code == 0 and any("with a user model" in line for line in out)


def write_text(text: str) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(text)
    return f.name


def test_baselines_fitted_on_another_text(sequence_exported_dir, sequence_corpus, cli):
    """--baseline-corpus: the model's row is unchanged, and each n-gram is the one fitted on the other text before
    its held-out tail (the domain-shift comparison: neither has seen text like the tail)."""
    from nextword.runtime.evaluate import id_stream, word_stream
    from nextword.runtime.kneser_ney import KneserNey
    from nextword.runtime.windows import split_stream

    predictor = Predictor.load(sequence_exported_dir / "model.onnx")
    text = sequence_corpus.read_text(encoding="utf-8")
    other = " ".join(reversed(text.split()[: len(text.split()) // 2]))  # the same words in other n-grams
    plain = evaluate(predictor, text, orders=(3,))
    shifted = evaluate(predictor, text, orders=(3,), baseline_text=other)
    assert shifted["model"] == plain["model"] and shifted["baseline_fitted_on"] == "another text"
    other_ids = id_stream(predictor.tokenizer, other)[0]
    fitted = other_ids[: split_stream(len(other_ids), predictor.bundle.config.validation_split)]
    assert shifted["baseline_fitted_ids"] == len(fitted) != plain["baseline_fitted_ids"]
    ids, _, _, typed = word_stream(predictor.tokenizer, text)
    split = len(ids) - shifted["windows"]
    held, held_typed = ids[split:], typed[split:]
    words, oov = words_and_oov(predictor)
    baseline = KneserNey.fit(fitted, predictor.vocab_size, order=3)
    contexts = np.lib.stride_tricks.sliding_window_view(np.concatenate([[0, 0], held]).astype(held.dtype), 3)[:, :-1]
    expected = literal_keyboard(baseline.probs_batch(contexts), held, held_typed, words, oov, predictor.bundle.casing)
    assert keyboard_part(shifted["baseline"]) == pytest.approx(expected, abs=1e-12)
    assert keyboard_part(shifted["baseline"]) != keyboard_part(plain["baseline"])
    code, out, _ = cli(
        "evaluate",
        sequence_exported_dir / "model.onnx",
        "--corpus",
        sequence_corpus,
        "--baseline-corpus",
        write_text(other),
        "--order",
        "3",
    )
    assert code == 0 and any("fitted on --baseline-corpus" in line for line in out)
