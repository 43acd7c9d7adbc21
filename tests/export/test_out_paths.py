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
    err = refused(cli, "train", "--corpus", shards, *how, "--out", shards / "out", "--epochs", "1")
    assert "lies inside the corpus" in err
    assert [p.name for p in shards.iterdir()] == ["part-0.txt"]
