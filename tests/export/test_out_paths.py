"""`export` and `train` refuse an --out that is, contains or lies inside their input (issue 11): --force
would otherwise replace the training folder or the corpus with the output. Exit 2, one line, input intact."""

from __future__ import annotations

import pytest


def refused(cli, *argv) -> str:
    code, _, err = cli(*argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def train_copy(trained_dir, tmp_path):
    import shutil

    copy = tmp_path / "parent" / "train"
    shutil.copytree(trained_dir, copy)
    return copy


@pytest.mark.parametrize("where, relation", [("itself", "is"), ("parent", "contains"), ("inside", "lies inside")])
def test_export_out_overlapping_the_training_folder(cli, train_copy, trained_corpus, where, relation):
    out = {"itself": train_copy, "parent": train_copy.parent, "inside": train_copy / "export"}[where]
    before = sorted(p.name for p in train_copy.iterdir())
    argv = ("export", train_copy, "--corpus", trained_corpus, "--out", out, "--force")
    assert f"{relation} the training folder" in refused(cli, *argv)
    assert sorted(p.name for p in train_copy.iterdir()) == before


@pytest.mark.parametrize("where, relation", [("parent", "contains"), ("itself", "is")])
def test_train_out_overlapping_the_corpus(cli, tmp_path, where, relation):
    corpus_dir = tmp_path / "text"
    corpus_dir.mkdir()
    corpus = corpus_dir / "corpus.txt"
    corpus.write_text("the cat sat on the mat " * 50)
    out = {"parent": corpus_dir, "itself": corpus_dir}[where]
    target = corpus if where == "parent" else corpus_dir
    assert f"{relation} the corpus" in refused(
        cli, "train", "--corpus", target, "--out", out, "--force", "--epochs", "1"
    )
    assert corpus.read_text().startswith("the cat")


@pytest.mark.parametrize("how", [("--stream",), ("--local-workers", "2")])
def test_streamed_training_refuses_an_out_inside_the_corpus_before_it_reads_or_trains(cli, tmp_path, monkeypatch, how):
    from nextword.train import launch, stream

    def never(*args, **kwargs):
        raise AssertionError("training began before the --out check")

    monkeypatch.setattr(stream, "count_vocabulary", never)  # the streamed path's first pass over the text
    monkeypatch.setattr(launch, "run_workers", never)
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "part-0.txt").write_text("the cat sat on the mat " * 50)
    err = refused(cli, "train", "--corpus", shards, *how, "--out", shards / "out", "--epochs", "1", "--force")
    assert "lies inside the corpus" in err
    assert [p.name for p in shards.iterdir()] == ["part-0.txt"]  # no .out.backup/ or staging left in the corpus
    assert [p.name for p in shards.iterdir()] == ["part-0.txt"]


@pytest.fixture
def documents(tmp_path):
    """A folder of the user's own files, which no --force may delete."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work")
    (folder / "notes").mkdir()
    return folder


def unchanged(folder) -> list:
    return sorted((p.name, p.read_text() if p.is_file() else None) for p in folder.iterdir())


@pytest.mark.parametrize("through", ["folder", "symlink"])
def test_export_force_never_replaces_a_folder_nextword_did_not_write(cli, trained_dir, documents, through):
    from nextword.export import pipeline

    before = unchanged(documents)
    out = documents
    if through == "symlink":
        out = documents.parent / "link"
        out.symlink_to(documents)
    err = refused(cli, "export", trained_dir, "--out", out, "--force")
    assert "is not a nextword export folder (it holds notes, thesis.txt); --force replaces only" in err
    assert unchanged(documents) == before
    assert pipeline.EXPORT_OUTPUT.foreign(documents) == ["notes", "thesis.txt"]


def test_export_force_does_not_replace_a_training_folder(cli, train_copy, trained_dir):
    before = sorted(p.name for p in train_copy.iterdir())
    err = refused(cli, "export", trained_dir, "--out", train_copy, "--force")
    assert "is not a nextword export folder" in err and "config.json" in err
    assert sorted(p.name for p in train_copy.iterdir()) == before


def test_train_force_never_replaces_a_folder_nextword_did_not_write(cli, documents, monkeypatch):
    import keras

    def never(*args, **kwargs):
        raise AssertionError("training began before the --out check")

    monkeypatch.setattr(keras.Model, "fit", never)
    before = unchanged(documents)
    corpus = documents.parent / "corpus.txt"
    corpus.write_text("the cat sat on the mat " * 50)
    for how in [(), ("--stream",)]:
        err = refused(cli, "train", "--corpus", corpus, *how, "--out", documents, "--force", "--epochs", "1")
        assert "is not a nextword training folder (it holds notes, thesis.txt)" in err
    assert unchanged(documents) == before


def test_force_replaces_a_previous_export(cli, trained_dir, tmp_path):
    out = tmp_path / "export"
    for _ in range(2):
        code, _, err = cli("export", trained_dir, "--out", out, "--formats", "onnx", "--force")
        assert code == 0, err
    assert {"manifest.json", "model.onnx"} <= {p.name for p in out.iterdir()}
