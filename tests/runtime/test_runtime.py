"""Predictor on both exported formats: Keras parity on real held-out text, the input rules, generation,
threads, and proof that the runtime runs with TensorFlow, Keras, tf2onnx and onnx unimportable."""

from __future__ import annotations

import json
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import MODEL_FILES, run_python, tiny_config
from nextword.runtime.contract import FORMAT_VERSION
from nextword.runtime.predictor import Prediction, Predictor
from nextword.runtime.signature import Port, Roles

PROBABILITY_ATOL = 1e-5
# Keras probabilities closer than this are a tie: engines may order them either way (export/validate.py agrees).
TIE_TOLERANCE = 1e-6
N_PARITY_TEXTS = 400


@pytest.fixture(scope="module")
def predictor(model_path) -> Predictor:
    return Predictor.load(model_path)


@pytest.fixture(scope="module")
def keras_tokenizer(trained_dir):
    """Keras' own legacy Tokenizer, loaded from the training folder: an independent reference for the ids."""
    legacy = pytest.importorskip("keras.src.legacy.preprocessing.text", reason="needs Keras 3's legacy Tokenizer")
    return legacy.tokenizer_from_json((trained_dir / "tokenizer.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def heldout_texts(trained_corpus) -> list[str]:
    """Raw snippets (1 to 6 words, punctuation and unknown words included) from the text's held-out tail."""
    words = trained_corpus.read_text(encoding="utf-8").split()
    tail = words[int(len(words) * 0.9) :]
    rng = np.random.default_rng(0)
    starts = rng.choice(len(tail) - 6, N_PARITY_TEXTS, replace=False)
    return [" ".join(tail[s : s + 1 + s % 6]) for s in starts]


def keras_contexts(keras_tokenizer, texts, context_len):
    import keras

    sequences = keras_tokenizer.texts_to_sequences(texts)
    return keras.utils.pad_sequences(sequences, maxlen=context_len, padding="pre", truncating="pre").astype(np.int32)


def keras_top_k(probs: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k most likely words per row, id 0 (padding) excluded, ties to the lower id."""
    return np.argsort(-probs[:, 1:], axis=1, kind="stable")[:, :k] + 1


def ids_of(predictor: Predictor, prediction) -> list[int]:
    return [predictor.tokenizer.word_index[word] for word, _ in prediction]


# --- parity with Keras ---------------------------------------------------------------------------


def test_top_k_and_probabilities_match_keras_on_heldout_text(predictor, trained_model, keras_tokenizer, heldout_texts):
    k = 5
    contexts = keras_contexts(keras_tokenizer, heldout_texts, predictor.context_len)
    assert np.count_nonzero(contexts.all(axis=1)) > N_PARITY_TEXTS // 2, "most snippets should fill the window"
    expected = np.asarray(trained_model(contexts, training=False))
    expected_top = keras_top_k(expected, k)
    for row, text in enumerate(heldout_texts):
        prediction = predictor.predict_next(text, k=k)
        got = ids_of(predictor, prediction)
        want = expected_top[row].tolist()
        if got != want:
            # Only a swap between words Keras itself scores as equal is allowed.
            assert np.allclose(expected[row, got], expected[row, want], atol=TIE_TOLERANCE, rtol=0), (text, got, want)
        np.testing.assert_allclose(
            [p for _, p in prediction], expected[row, got], atol=PROBABILITY_ATOL, rtol=0, err_msg=text
        )


def test_batch_equals_one_at_a_time(predictor, heldout_texts):
    texts = heldout_texts[:150]
    batch = predictor.predict_next_batch(texts, k=4, batch_size=64)
    assert len(batch) == len(texts)
    for text, got in zip(texts, batch):
        single = predictor.predict_next(text, k=4)
        assert isinstance(got, Prediction)
        assert [w for w, _ in got] == [w for w, _ in single], text
        # A batch may go through other kernels than a single row; the numbers agree to float32 rounding.
        np.testing.assert_allclose([p for _, p in got], [p for _, p in single], atol=1e-6, rtol=0)
        assert got.unknown_words == single.unknown_words


def test_batch_makes_one_backend_call_per_chunk(predictor, heldout_texts, monkeypatch):
    calls = []

    def spy_on(method):
        real = getattr(predictor.backend, method)

        def spy(ids):
            calls.append(ids.shape)
            return real(ids)

        monkeypatch.setattr(predictor.backend, method, spy)

    spy_on("run")  # the full distribution, or
    spy_on("run_top")  # the graph's own top-k head: either way, one engine call per chunk
    predictor.predict_next_batch(heldout_texts[:130], k=3, batch_size=64)
    assert calls == [(64, predictor.context_len), (64, predictor.context_len), (2, predictor.context_len)]
    calls.clear()
    assert predictor.predict_next_batch([], k=3) == []
    assert calls == []


def test_batch_refuses_a_single_string(predictor):
    with pytest.raises(TypeError, match="single str"):
        predictor.predict_next_batch("the value", k=3)
    with pytest.raises(ValueError, match="batch_size"):
        predictor.predict_next_batch(["the"], batch_size=0)


# --- how text becomes the model's input ----------------------------------------------------------


def known_words(predictor: Predictor, n: int) -> list[str]:
    return [predictor.vocabulary[i] for i in range(3, 3 + n)]


def test_long_text_uses_the_last_context_words(predictor):
    words = known_words(predictor, 6)
    context, unknown = predictor.encode(" ".join(words))
    expected = [predictor.tokenizer.word_index[w] for w in words[-predictor.context_len :]]
    assert context.tolist() == expected and unknown == ()
    assert predictor.predict_next(" ".join(words)) == predictor.predict_next(" ".join(words[-predictor.context_len :]))
    assert predictor.predict_next(" ".join(words)) != predictor.predict_next(" ".join(words[: predictor.context_len]))


def test_short_text_is_left_padded_like_pad_sequences(predictor, trained_model, keras_tokenizer):
    word = known_words(predictor, 1)[0]
    context, _ = predictor.encode(word)
    padded = keras_contexts(keras_tokenizer, [word], predictor.context_len)
    assert context.dtype == np.int32
    assert (
        context.tolist()
        == padded[0].tolist()
        == [0] * (predictor.context_len - 1) + [predictor.tokenizer.word_index[word]]
    )
    expected = np.asarray(trained_model(padded, training=False))[0]
    prediction = predictor.predict_next(word, k=3)
    assert ids_of(predictor, prediction) == keras_top_k(expected[None], 3)[0].tolist()


def test_unknown_words_are_dropped_and_reported(predictor):
    first, second = known_words(predictor, 2)
    prediction = predictor.predict_next(f"{first} Zzqxv {second} blorfle", k=5)
    assert prediction.unknown_words == ("zzqxv", "blorfle")  # lowercased, as the tokenizer sees them
    assert prediction == predictor.predict_next(f"{first} {second}", k=5)
    assert predictor.predict_next(f"{first} {second}").unknown_words == ()


@pytest.mark.parametrize("text", ["", "   ", "zzqxv blorfle", "!!! ... ?", "\n\t"])
def test_empty_unknown_or_punctuation_text_predicts_from_all_padding(predictor, trained_model, text):
    context, _ = predictor.encode(text)
    assert context.tolist() == [0] * predictor.context_len
    expected = np.asarray(trained_model(np.zeros((1, predictor.context_len), np.int32), training=False))[0]
    prediction = predictor.predict_next(text, k=5)
    assert ids_of(predictor, prediction) == keras_top_k(expected[None], 5)[0].tolist()
    np.testing.assert_allclose(
        [p for _, p in prediction], expected[ids_of(predictor, prediction)], atol=PROBABILITY_ATOL
    )


@pytest.mark.parametrize("bad", [None, b"the value", 3, ["the", "value"]])
def test_non_string_text_is_a_type_error(predictor, bad):
    with pytest.raises(TypeError, match="must be str"):
        predictor.predict_next(bad)
    with pytest.raises(TypeError, match="must be str"):
        predictor.predict_next_batch(["the", bad])
    with pytest.raises(TypeError, match="must be str"):
        predictor.generate(bad, 3)


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_a_value_error(predictor, k):
    with pytest.raises(ValueError, match="k must be at least 1"):
        predictor.predict_next("the", k=k)
    with pytest.raises(ValueError, match="k must be at least 1"):
        predictor.predict_next_batch(["the"], k=k)


@pytest.mark.parametrize("k", [2.5, True, "3"])
def test_k_of_the_wrong_type_is_a_type_error(predictor, k):
    with pytest.raises(TypeError, match="k must be an int"):
        predictor.predict_next("the", k=k)


def test_k_beyond_the_vocabulary_returns_every_word(predictor):
    prediction = predictor.predict_next("the", k=predictor.vocab_size + 100)
    words = [w for w, _ in prediction]
    probs = np.array([p for _, p in prediction])
    assert len(words) == predictor.vocab_size - 1 == len(set(words))
    assert set(words) == set(predictor.vocabulary.values())
    assert np.all(np.diff(probs) <= 0), "highest first"
    full = predictor.probabilities(predictor.encode("the")[0][None])[0]
    assert probs.sum() == pytest.approx(1.0 - full[0], abs=1e-4)


def test_vocabulary_seq_len_and_metadata(predictor, trained_dir):
    config = json.loads((trained_dir / "config.json").read_text())
    index_word = json.loads(json.loads((trained_dir / "tokenizer.json").read_text())["config"]["index_word"])
    vocabulary = predictor.vocabulary
    assert vocabulary == {int(i): w for i, w in index_word.items()}
    assert 0 not in vocabulary and len(vocabulary) == predictor.vocab_size - 1 == config["vocab_size"] - 1
    assert predictor.seq_len == config["seq_len"] == 3 and predictor.context_len == 2
    metadata = predictor.metadata
    assert metadata["format_version"] == FORMAT_VERSION == 2  # 2 since the model kinds
    assert metadata["backend"] == predictor.backend.name == predictor.source.split(".")[-1]
    assert metadata["config"] == config
    assert metadata["tokenizer"] == {
        "num_words": None,
        "filters": predictor.tokenizer.filters,
        "lower": True,
        "split": " ",
        "char_level": False,
        "oov_token": None,
        "document_count": predictor.tokenizer.document_count,
    }  # options, no vocabulary
    json.dumps(metadata)  # printable as is


def test_probabilities_checks_its_input(predictor):
    probs = predictor.probabilities(np.array([[0, 0], [5, 7]]))
    assert probs.shape == (2, predictor.vocab_size) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        predictor.probabilities(np.zeros((2, predictor.context_len + 1)))
    with pytest.raises(ValueError, match="ids must be in"):
        predictor.probabilities(np.array([[0, predictor.vocab_size]]))


def test_an_empty_batch_never_reaches_the_engine(predictor, monkeypatch):
    # onnxruntime aborts the whole process on a 0-row batch of this graph, so a spy stands in for it.
    def refuse_empty(ids):
        raise AssertionError(f"engine called with {ids.shape}")

    monkeypatch.setattr(predictor.backend, "run", refuse_empty)
    probs = predictor.probabilities(np.zeros((0, predictor.context_len), np.int32))
    assert probs.shape == (0, predictor.vocab_size) and probs.dtype == np.float32
    assert predictor.predict_next_batch([]) == []


class TiedBackend:
    """Every word equally likely except three that tie above the rest."""

    name = "tied"
    roles = Roles(Port("probs", "float32", (None, 0)))  # no top-k head: the runtime ranks in numpy

    def __init__(self, vocab_size: int, favourites: list[int]):
        self.row = np.full(vocab_size, 1.0 / vocab_size, np.float32)
        self.row[0] = 0.0
        self.row[favourites] = 0.01
        self.row /= self.row.sum()  # a distribution, as every call's output must be (ties stay ties)

    def run(self, ids):
        return np.tile(self.row, (len(ids), 1))


def test_ties_go_to_the_lower_id(exported_dir):
    real = Predictor.load(exported_dir / "model.onnx")
    tied = Predictor(TiedBackend(real.vocab_size, [1200, 700, 900]), real.bundle, "tied")
    assert ids_of(tied, tied.predict_next("the", k=2)) == [700, 900]
    assert ids_of(tied, tied.predict_next("the", k=5)) == [700, 900, 1200, 1, 2]
    assert ids_of(tied, tied.predict_next("the", k=5)) == keras_top_k(tied.backend.row[None], 5)[0].tolist()
    # Greedy generation and top-1 prediction agree even on ties.
    assert tied.generate("the", 1) == tied.predict_next("the", k=1)[0][0] == tied.vocabulary[700]


# --- generation ----------------------------------------------------------------------------------


def test_greedy_is_deterministic_and_chains_top_1(predictor):
    prompt = "the value of"
    generated = predictor.generate(prompt, 12)
    assert generated == predictor.generate(prompt, 12)
    text, chained = prompt, []
    for _ in range(12):
        word = predictor.predict_next(text, k=1)[0][0]
        chained.append(word)
        text += " " + word
    assert generated == " ".join(chained)
    assert len(generated.split()) == 12


def test_sampling_is_reproducible_per_seed_and_varies_across_seeds(predictor):
    runs = {seed: predictor.generate("the", 15, strategy="sample", seed=seed) for seed in range(4)}
    for seed, text in runs.items():
        assert predictor.generate("the", 15, strategy="sample", seed=seed) == text
        assert len(text.split()) == 15
    assert len(set(runs.values())) > 1, "different seeds should give different texts"


def test_top_k_restricts_the_sampled_words(predictor):
    # top_k=1 leaves one choice at every step: sampling becomes greedy, whatever the seed.
    greedy = predictor.generate("the value", 10)
    assert all(predictor.generate("the value", 10, strategy="sample", top_k=1, seed=s) == greedy for s in range(3))
    # top_k=3 at a high temperature: every word is among the top 3 for the text before it.
    text = "the value"
    for word in predictor.generate(text, 15, strategy="sample", top_k=3, temperature=5.0, seed=7).split():
        assert word in [w for w, _ in predictor.predict_next(text, k=3)]
        text += " " + word


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan")])
def test_temperature_must_be_positive(predictor, temperature):
    with pytest.raises(ValueError, match="temperature"):
        predictor.generate("the", 3, strategy="sample", temperature=temperature)


def test_generate_argument_checks(predictor):
    assert predictor.generate("the value", 0) == ""
    with pytest.raises(ValueError, match="n_words"):
        predictor.generate("the", -1)
    with pytest.raises(ValueError, match="n_words"):
        predictor.generate("the", 2.0)
    with pytest.raises(ValueError, match="strategy"):
        predictor.generate("the", 3, strategy="beam")
    with pytest.raises(ValueError, match="k must be at least 1"):
        predictor.generate("the", 3, strategy="sample", top_k=0)


# --- threads -------------------------------------------------------------------------------------


def test_concurrent_calls_match_single_threaded(predictor, heldout_texts):
    texts = heldout_texts[:60]
    batches = [texts[i : i + 3] for i in range(0, 30, 3)]
    expected_single = {text: predictor.predict_next(text, k=5) for text in texts}
    expected_batch = [predictor.predict_next_batch(batch, k=5) for batch in batches]

    def hammer(worker: int) -> list[str]:
        mismatches = []
        for call in range(300):
            # Mixing batch sizes makes each thread resize its interpreter between calls.
            if call % 10 == 0:
                index = (worker + call) % len(batches)
                if predictor.predict_next_batch(batches[index], k=5) != expected_batch[index]:
                    mismatches.append(f"batch {index}")
            else:
                text = texts[(worker * 7 + call) % len(texts)]
                got = predictor.predict_next(text, k=5)
                if got != expected_single[text] or got.unknown_words != expected_single[text].unknown_words:
                    mismatches.append(text)
        return mismatches

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(hammer, range(8)))
    assert results == [[]] * 8


# --- no TensorFlow -------------------------------------------------------------------------------

BLOCK_TRAINING_STACK = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = {"tensorflow", "keras", "tf2onnx", "onnx"}

    class RefuseTrainingStack(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the runtime must not import it")
            return None

    sys.meta_path.insert(0, RefuseTrainingStack())

    def assert_nothing_leaked():
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not leaked, f"imported: {leaked}"
""")


def test_runtime_works_with_training_stack_unimportable(exported_dir):
    code = BLOCK_TRAINING_STACK + textwrap.dedent("""
        import json
        # The blocker itself must work, or this test would prove nothing.
        for name in ("tensorflow", "keras", "onnx"):
            try:
                __import__(name)
            except ImportError:
                pass
            else:
                raise SystemExit(f"{name} imported despite the blocker")
        from nextword.runtime import Predictor
        out = {}
        for path in sys.argv[1:]:
            p = Predictor.load(path)
            out[p.backend.name] = [p.predict_next("the value of", k=3), p.generate("the", 5),
                                   p.generate("the", 5, strategy="sample", seed=3)]
        assert_nothing_leaked()
        print(json.dumps(out))
    """)
    result = run_python(code, exported_dir / "model.onnx", exported_dir / "model.tflite")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for name in MODEL_FILES:
        p = Predictor.load(exported_dir / name)
        predictions, greedy, sampled = out[p.backend.name]
        assert [w for w, _ in predictions] == [w for w, _ in p.predict_next("the value of", k=3)]
        assert greedy == p.generate("the", 5)
        assert sampled == p.generate("the", 5, strategy="sample", seed=3)


def test_cli_predict_works_with_training_stack_unimportable(exported_dir):
    code = BLOCK_TRAINING_STACK + textwrap.dedent("""
        from nextword.runtime.cli import main
        status = main(["predict", sys.argv[1], "-", "--json", "-k", "2"])
        assert_nothing_leaked()
        stages = sorted(m for m in sys.modules if m.startswith(("nextword.train", "nextword.export")))
        assert not stages, f"nextword predict imported {stages}"
        sys.exit(status)
    """)
    result = run_python(code, exported_dir / "model.tflite", stdin="the value of\n\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["the value of", ""]
    assert all(len(line["predictions"]) == 2 for line in lines)


def test_graph_top_k_and_numpy_fallback_agree(predictor, heldout_texts):
    """k <= the graph's TopK width uses the engine's ranking; larger k ranks the full distribution here."""
    assert predictor.backend.roles.top_k == 10
    for text in heldout_texts[:50]:
        from_graph = predictor.predict_next(text, k=10)
        from_numpy = predictor.predict_next(text, k=11)
        assert [w for w, _ in from_numpy[:10]] == [w for w, _ in from_graph]
        np.testing.assert_allclose([p for _, p in from_numpy[:10]], [p for _, p in from_graph], atol=1e-6)


def test_generate_never_writes_the_oov_token(tmp_path, embedded_text):
    """A vocabulary of 30 words + <unk>: <unk> is the likeliest next word often, and still never generated."""
    pytest.importorskip("tensorflow", reason="trains its own model")
    from nextword.export.pipeline import export
    from nextword.runtime.corpus import load_corpus
    from nextword.train.fit import train

    corpus = tmp_path / "c.txt"
    corpus.write_text(" ".join(embedded_text.split()[:4000]), encoding="utf-8")
    config = tiny_config(epochs=1, num_words=32, oov_token="<unk>")
    train(load_corpus(corpus), config, tmp_path / "t", verbose=0)
    export(tmp_path / "t", tmp_path / "e", log=lambda *_: None)
    predictor = Predictor.load(tmp_path / "e" / "model.tflite")
    assert any(p.predict_next(t, k=1)[0][0] == "<unk>" for p in [predictor] for t in ("the", "of the", "a", "in"))
    for seed in range(3):
        words = predictor.generate("the", 40, strategy="sample", seed=seed).split()
        assert len(words) == 40 and "<unk>" not in words
    assert "<unk>" not in predictor.generate("the", 40).split()
