"""The training stage on real text: loss goes down, the folder reloads, the same seed gives the same weights."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import corpus_of, tiny_config, tiny_kind_config
from nextword.runtime.errors import InputError

pytest.importorskip("tensorflow")


def test_trained_folder_has_every_file(trained_dir):
    names = {p.name for p in trained_dir.iterdir()}
    assert names == {
        "model.keras",
        "tokenizer.json",
        "config.json",
        "history.json",
        "training_curves.png",
        "casing.json",
    }
    assert (trained_dir / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_loss_goes_down_on_real_text(trained_dir):
    history = json.loads((trained_dir / "history.json").read_text())
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history["loss"][-1] < history["loss"][0]


def test_folder_reloads_with_config_and_same_predictions(trained_dir, trained_corpus):
    from nextword.train.folder import load_training_dir
    from nextword.train.prepare import prepare

    trained = load_training_dir(trained_dir)
    config = trained.config
    assert config.vocab_size == len(trained.tokenizer.index_word) + 1
    assert config.corpus_name == str(trained_corpus) and len(config.corpus_sha256) == 64
    text = trained_corpus.read_text(encoding="utf-8")
    data = prepare(text, config, trained.tokenizer)
    x = data.contexts[data.split_at :][:64]
    probs = np.asarray(trained.model(x))
    assert probs.shape == (len(x), config.vocab_size)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_same_seed_same_weights_different_seed_different(tmp_path):
    from nextword.train.fit import train
    from nextword.train.folder import load_training_dir

    corpus = corpus_of("the cat sat on the mat and the dog sat on the log " * 40)
    config = tiny_config(epochs=1, batch_size=32)
    weights = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        train(corpus, config.__class__(**{**config.__dict__, "seed": seed}), tmp_path / name, verbose=0)
        weights.append(load_training_dir(tmp_path / name).model.get_weights())
    assert all(np.array_equal(x, y) for x, y in zip(weights[0], weights[1]))
    assert not all(np.array_equal(x, y) for x, y in zip(weights[0], weights[2]))


def test_oov_token_and_num_words_shape_the_vocabulary(tmp_path, embedded_text):
    from nextword.train.fit import train
    from nextword.train.folder import load_training_dir

    text = " ".join(embedded_text.split()[:3000])
    train(corpus_of(text), tiny_config(epochs=1, num_words=200, oov_token="<unk>"), tmp_path / "run", verbose=0)
    trained = load_training_dir(tmp_path / "run")
    assert trained.config.vocab_size == 200
    assert trained.tokenizer.word_index["<unk>"] == 1
    assert trained.model.output.shape[-1] == 200


def test_training_folder_errors_are_typed(tmp_path, trained_dir):
    import shutil

    from nextword.train.folder import load_training_dir

    with pytest.raises(InputError, match="does not exist"):
        load_training_dir(tmp_path / "nope")
    broken = tmp_path / "broken"
    shutil.copytree(trained_dir, broken)
    (broken / "tokenizer.json").unlink()
    with pytest.raises(InputError, match="no tokenizer.json"):
        load_training_dir(broken)


def test_vocab_from_training_split_keeps_held_out_words_unknown(tmp_path):
    from nextword.train.prepare import prepare

    text = "the cat sat on the mat " * 30 + "prospero miranda the cat"
    config = tiny_config(seq_len=3, validation_split=0.1, oov_token="<unk>", vocab_from_training_split=True)
    data = prepare(text, config)
    assert "prospero" not in data.tokenizer.word_index and "cat" in data.tokenizer.word_index
    assert len(data.ids) == len(text.split())  # nothing dropped: word i is id i
    oov = data.tokenizer.word_index["<unk>"]
    assert list(data.ids[-4:]) == [oov, oov, data.tokenizer.word_index["the"], data.tokenizer.word_index["cat"]]
    assert oov not in data.targets[: data.split_at]  # every training word is in the vocabulary
    with pytest.raises(InputError, match="needs an oov_token"):
        tiny_config(vocab_from_training_split=True)


def test_min_count_makes_words_seen_once_unknown_so_the_model_sees_the_oov_id_in_training():
    from nextword.train.prepare import prepare

    text = "the cat sat on the mat and the dog sat on the cat " * 10 + "once only words " + "the mat " * 60
    config = tiny_config(kind="sequence", chunk_len=5, oov_token="<unk>", vocab_from_training_split=True, min_count=2)
    data = prepare(text, config)
    oov, index = data.tokenizer.word_index["<unk>"], data.tokenizer.word_index
    assert data.tokenizer.num_words == 2 + len({"the", "cat", "sat", "on", "mat", "and", "dog"})
    assert all(index[w] < data.tokenizer.num_words for w in ("the", "mat", "dog"))
    assert all(index[w] >= data.tokenizer.num_words for w in ("once", "only", "words"))  # seen once
    train_ids = data.ids[: data.stream_split]
    assert (train_ids == oov).sum() == 3  # the training targets now include the OOV id
    assert prepare(text, dataclasses.replace(config, min_count=1)).tokenizer.num_words is None
    with pytest.raises(InputError, match="min_count needs an oov_token"):
        tiny_config(min_count=2)


def test_keep_best_epoch_restores_the_best_and_decays_the_rate_after_a_worse_epoch():
    import keras
    from nextword.train.history import KeepBestEpoch

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    keep = KeepBestEpoch("loss", patience=2, lr_decay=0.5)
    keep.set_model(model)
    best = [w.copy() for w in model.get_weights()]
    keep.on_epoch_end(0, {"val_loss": 1.0})
    model.set_weights([w + 1 for w in best])
    keep.on_epoch_end(1, {"val_loss": 2.0})  # worse: the rate halves, training goes on
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005) and not model.stop_training
    keep.on_epoch_end(2, {"val_loss": 3.0})  # a second worse epoch: patience 2 is used up
    assert model.stop_training and float(model.optimizer.learning_rate) == pytest.approx(0.0025)
    keep.restore()
    assert keep.best_epoch == 1
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), best))


def test_drop_connect_lstm_is_an_lstm_outside_training_and_drops_recurrent_weights_in_it():
    import keras
    from nextword.train.model import DropConnectLSTM

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(3, 7, 5)).astype(np.float32)
    ours = DropConnectLSTM(4, weight_drop=0.5, return_sequences=True, return_state=True)
    plain = keras.layers.LSTM(4, return_sequences=True, return_state=True)
    ours(x), plain(x)
    plain.set_weights(ours.get_weights())
    for a, b in zip(ours(x, training=False), plain(x, training=False)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    dropped = np.asarray(ours(x, training=True)[0])
    assert not np.allclose(dropped, np.asarray(plain(x)[0]), atol=1e-4)  # a mask was applied
    # Only the recurrence is dropped: the first step reads h_0 = 0, so it is the same with or without the mask.
    np.testing.assert_allclose(dropped[:, 0], np.asarray(plain(x)[0])[:, 0], atol=1e-6)
    no_drop = DropConnectLSTM(4, return_sequences=True)
    no_drop(x)
    no_drop.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(no_drop(x, training=True)), np.asarray(plain(x)[0]), atol=1e-6)


def test_sequence_epochs_are_whole_shuffled_batches_cut_afresh_through_an_untuned_pipeline():
    from nextword.train.fit import pipeline
    from nextword.train.sequence import chunk_batches

    ids = np.arange(1, 1000, dtype=np.int32)  # word ids equal to their positions: each chunk shows its cut
    config = tiny_config(kind="sequence", chunk_len=10, batch_size=16)
    n_batches, epoch = chunk_batches(ids, config)
    assert n_batches == 6  # 98 chunks: 6 whole batches of 16, the last 2 chunks wait for the next cut
    first, second = list(epoch()), list(epoch())
    assert len(first) == len(second) == n_batches
    for x, y in first:
        assert x.shape == y.shape == (16, 10)
        assert (x[:, 0] == 0).all() and (x[:, 1:] == y[:, :-1]).all()  # the start id, then y shifted by one
        assert (np.diff(y, axis=1) == 1).all()  # a contiguous piece of the stream
    for batches in (first, second):
        assert len({int(y[0, 0]) % 10 for x, y in batches}) == 1  # one cut per epoch
    assert not np.array_equal(np.concatenate([y for x, y in first]), np.concatenate([y for x, y in second]))
    small = tiny_config(kind="sequence", chunk_len=10, batch_size=64)
    assert chunk_batches(ids, small)[0] == 1  # fewer chunks than a batch: one short batch rather than none

    import tensorflow as tf

    spec = tf.TensorSpec((None, 10), tf.int32)
    dataset = pipeline(epoch, (spec, spec), n_batches)
    assert not dataset.options().autotune.enabled  # its thread stalled epoch ends (train/fit.py pipeline)
    assert int(dataset.cardinality()) == n_batches
    assert sum(1 for _ in dataset) == sum(1 for _ in dataset) == n_batches  # a fresh epoch per iteration


def test_training_counts_display_casing_and_export_bundles_it(trained_dir, exported_dir):
    import json

    from nextword.runtime.predictor import Predictor

    table = json.loads((trained_dir / "casing.json").read_text(encoding="utf-8"))
    assert table and all(form.lower() == word and form != word for word, form in table.items())
    for name in ("model.onnx", "model.tflite"):
        assert Predictor.load(exported_dir / name).bundle.casing == table


def test_a_damaged_casing_file_is_a_typed_refusal(tmp_path, trained_dir):
    import shutil

    from nextword.train.folder import load_training_dir

    copy = tmp_path / "train"
    shutil.copytree(trained_dir, copy)
    (copy / "casing.json").write_text('{"zzzz-not-a-word": "Z"}', encoding="utf-8")
    with pytest.raises(InputError, match="casing.json.*not in the vocabulary"):
        load_training_dir(copy)


def test_activation_penalty_adds_ar_and_tar_in_training_only_and_passes_the_dropped_output_through():
    from nextword.train.model import ActivationPenalty

    rng = np.random.default_rng(0)
    memory, dropped = (rng.normal(size=(3, 6, 4)).astype(np.float32) for _ in range(2))
    penalty = ActivationPenalty(2.0, 1.0)
    out = penalty([memory, dropped], training=True)
    np.testing.assert_array_equal(np.asarray(out), dropped)
    expected = 2.0 * np.mean(dropped**2) + 1.0 * np.mean((memory[:, 1:] - memory[:, :-1]) ** 2)
    assert len(penalty.losses) == 1
    np.testing.assert_allclose(float(penalty.losses[0]), expected, rtol=1e-6)
    inference = ActivationPenalty(2.0, 1.0)
    inference([memory, dropped], training=False)
    assert inference.losses == []


@pytest.mark.parametrize("path", ["in memory", "streamed"])
def test_ar_shrinks_the_lstm_outputs_in_both_training_paths_and_the_model_still_exports(path, tmp_path, embedded_text):
    import keras
    from nextword.train.distributed import train_stream
    from nextword.train.fit import train
    from nextword.train.folder import load_training_dir

    text = " ".join(embedded_text.split()[:6000])
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    ids = np.arange(1, 41, dtype=np.int32).reshape(2, 20)

    def output_square(activation_reg: float) -> tuple[float, Path]:
        config = tiny_kind_config("sequence", epochs=1, activation_reg=activation_reg, temporal_reg=activation_reg)
        out = tmp_path / f"reg-{activation_reg}"
        if path == "in memory":
            train(corpus_of(text), config, out, verbose=0)
        else:  # the custom loop of train/distributed.py, in one process
            train_stream([tmp_path / "text.txt"], config, out, verbose=0)
        model = load_training_dir(out).model
        lstm = keras.Model(model.input, model.get_layer("lstm_1").output[0])
        return float(np.mean(np.asarray(lstm(ids)) ** 2)), out

    plain, _ = output_square(0.0)
    penalized, folder = output_square(50.0)
    assert penalized < 0.5 * plain
    if path == "in memory":  # the penalty layer is training only: the export builds and validates without it
        from nextword.export.pipeline import ExportOptions, export

        manifest = export(
            folder,
            tmp_path / "export",
            ExportOptions(formats=("onnx",), corpus=str(tmp_path / "text.txt")),
            log=lambda *_: None,
        )
        assert (tmp_path / "export" / "model.onnx").is_file() and manifest
