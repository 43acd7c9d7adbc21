"""Streaming a sharded corpus gives exactly what the in-memory path computes on the concatenated text."""

import hashlib

import numpy as np
import pytest
from conftest import tiny_config
from nextword.runtime.errors import InputError
from nextword.runtime.tokenizer import Tokenizer


def write_shards(text: str, folder, n: int):
    """Split `text` at newlines into n files whose "\\n"-joined concatenation is `text`."""
    lines = text.split("\n")
    folder.mkdir()
    step = -(-len(lines) // n)
    for i in range(n):
        (folder / f"part-{i:03d}.txt").write_text("\n".join(lines[i * step : (i + 1) * step]), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def shards(shakespeare_text, tmp_path_factory):
    return write_shards(shakespeare_text, tmp_path_factory.mktemp("s") / "shards", 7)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    from nextword.train import stream

    monkeypatch.setattr(stream, "READ_BYTES", 4096)  # many blocks per shard, so block edges are exercised


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"num_words": 500},
        {"num_words": 300, "oov_token": "<unk>"},
        {"num_words": 3000, "oov_token": "<unk>", "vocab_from_training_split": True, "seq_len": 4},
        {"kind": "sequence", "num_words": 500, "oov_token": "<unk>", "vocab_from_training_split": True},
        {"kind": "sequence", "oov_token": "<unk>", "vocab_from_training_split": True, "min_count": 3},
    ],
)
def test_counting_pass_and_ids_equal_the_legacy_tokenizer(shards, shakespeare_text, overrides):
    from nextword.train.prepare import prepare
    from nextword.train.stream import count_vocabulary, id_blocks

    config = tiny_config(**overrides)
    plan = count_vocabulary([shards], config)
    data = prepare(shakespeare_text, config)
    assert list(plan.tokenizer.word_index.items()) == list(data.tokenizer.word_index.items())
    assert list(plan.tokenizer.word_counts.items()) == list(data.tokenizer.word_counts.items())
    assert plan.tokenizer.to_json() == data.tokenizer.to_json()
    assert plan.sha256 == hashlib.sha256(shakespeare_text.encode()).hexdigest()
    assert plan.n_ids == len(data.ids)
    np.testing.assert_array_equal(np.concatenate(list(id_blocks(plan))), data.ids)
    assert plan.held_start == (data.stream_split if config.kind == "sequence" else data.split_at)
    held = np.concatenate(list(id_blocks(plan, plan.held_start)))
    np.testing.assert_array_equal(held, data.ids[plan.held_start :])


def test_whole_text_vocabulary_is_fit_on_texts(shards, shakespeare_text):
    from nextword.train.stream import count_vocabulary

    legacy = Tokenizer()
    legacy.fit_on_texts([shakespeare_text])
    plan = count_vocabulary(sorted(shards.iterdir()), tiny_config())
    assert plan.tokenizer.word_index == legacy.word_index
    assert list(plan.tokenizer.word_counts) == list(legacy.word_counts)  # first appearance breaks ties


def test_windows_and_chunks_are_the_in_memory_ones(shards, shakespeare_text):
    from nextword.train.prepare import prepare
    from nextword.train.sequence import training_chunks
    from nextword.train.stream import chunk_rows, count_vocabulary, window_rows

    config = tiny_config(seq_len=4)
    plan = count_vocabulary([shards], config)
    data = prepare(shakespeare_text, config)
    windows = np.concatenate(list(window_rows(plan, 4, 0, plan.train_end)))
    np.testing.assert_array_equal(windows[:, :-1], data.contexts[: data.split_at])
    np.testing.assert_array_equal(windows[:, -1], data.targets[: data.split_at])

    config = tiny_config(kind="sequence", chunk_len=35)
    plan = count_vocabulary([shards], config)
    ids = prepare(shakespeare_text, config).ids
    n_chunks = (plan.train_end - 35 + 1) // 35
    x, y = training_chunks(ids[: plan.train_end], 35, 17, n_chunks)
    rows = np.concatenate(list(chunk_rows(plan, config, 17)))
    np.testing.assert_array_equal(rows[:, :35], x)
    np.testing.assert_array_equal(rows[:, 35:], y)


def test_shuffled_batches_keep_every_row_once():
    from nextword.train import stream

    rows = [np.arange(i, i + 1000, dtype=np.int32).reshape(-1, 2) for i in range(0, 100_000, 1000)]
    batches = list(stream.shuffled_batches(iter(rows), 96, np.random.default_rng(0)))
    assert all(len(b) == 96 for b in batches[:-1])
    got = np.concatenate(batches)
    np.testing.assert_array_equal(np.sort(got[:, 0]), np.arange(0, 100_000, 2))
    assert not np.array_equal(got[:, 0], np.arange(0, 100_000, 2))


def test_local_slices_tile_the_global_batch():
    from nextword.train.stream import local_slice

    for rows in (0, 1, 5, 128):
        for workers in (1, 2, 3):
            parts = [range(rows)[local_slice(rows, workers, w)] for w in range(workers)]
            assert [i for part in parts for i in part] == list(range(rows))


def test_refusals(tmp_path):
    from nextword.train.stream import corpus_files, count_vocabulary

    with pytest.raises(InputError, match="does not exist"):
        corpus_files([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="has no files"):
        corpus_files([tmp_path / "empty"])
    (tmp_path / "bin.txt").write_bytes(b"words \x00\x01 more")
    with pytest.raises(InputError, match="binary"):
        count_vocabulary([tmp_path / "bin.txt"], tiny_config())
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        count_vocabulary([tmp_path / "latin1.txt"], tiny_config())
    (tmp_path / "punct.txt").write_text("... !!! ,,,")
    with pytest.raises(InputError, match="no words"):
        count_vocabulary([tmp_path / "punct.txt"], tiny_config())


@pytest.mark.parametrize("joiner", ["\t", ",", "\t.", "Σ.,", "Σ:Σ ", "-"])
def test_blocks_cut_anywhere_a_word_ends_give_the_whole_texts_words(tmp_path, joiner):
    """A single line whose words are joined by tabs or punctuation (no space, no newline) is cut into blocks
    without splitting a word, and lowercased per block exactly as the whole text is (Greek final sigma before
    a case-ignorable '.' or ':' included)."""
    from nextword.runtime.tokenizer import DEFAULT_FILTERS, text_to_word_sequence
    from nextword.train.stream import text_blocks

    text = joiner.join(f"ΑΣ{i % 97}Word{i}" for i in range(3000))  # ~40 KB: ten 4 KiB blocks
    path = tmp_path / "line.txt"
    path.write_text(text, encoding="utf-8")
    blocks = list(text_blocks([path]))
    assert len(blocks) > 5 and "".join(blocks) == text
    words = [w for b in blocks for w in text_to_word_sequence(b, DEFAULT_FILTERS, True, " ")]
    assert words == text_to_word_sequence(text, DEFAULT_FILTERS, True, " ")


def test_a_run_without_separators_is_refused_with_its_offset(tmp_path, monkeypatch):
    from nextword.train import stream

    monkeypatch.setattr(stream, "MAX_RUN_BYTES", 20_000)
    path = tmp_path / "hex.txt"
    path.write_bytes(b"start here\n" + b"ab" * 30_000)
    with pytest.raises(InputError, match=r"bytes without a space.*from offset 11"):
        list(stream.text_blocks([path]))


def test_a_tab_separated_line_is_read_in_bounded_blocks(tmp_path):
    """Each block ends in the chunk just read, so no block outgrows two reads (the reader used to cut only at a
    space or newline, re-copying and re-scanning everything since the last one: quadratic in a line of tabs)."""
    from nextword.train import stream

    path = tmp_path / "tabs.txt"
    path.write_text("\t".join(["word"] * 50_000), encoding="utf-8")  # 250 KB, one line, no space
    blocks = list(stream.text_blocks([path]))
    assert "".join(blocks) == path.read_text(encoding="utf-8")
    assert len(blocks) > 50 and max(map(len, blocks)) <= 2 * stream.READ_BYTES
