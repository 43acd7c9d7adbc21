"""`nextword train` refusals: one line on stderr naming the problem, exit code 2, nothing written; and a run's
terminal output without the libraries' start-up chatter."""

import os
import subprocess
import sys

import pytest
from nextword.runtime.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err.strip()


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out"


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    "corpus,message",
    [
        (None, "does not exist"),
        (b"", "is empty"),
        (b"  \n\t ", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks binary"),
        (b"the cat sat on the mat " * 4000 + b"\x00", "looks binary"),  # NUL after the first 64 KiB
        ("caf\xe9 au lait".encode("latin-1"), "not UTF-8"),
        (b"two words", "fewer than seq_len=3"),
        (b"!!! ... ???", "no words"),
    ],
)
def test_bad_corpus(capsys, tmp_path, out, corpus, message):
    path = str(tmp_path / "missing.txt") if corpus is None else write(tmp_path, "c.txt", corpus)
    code, err = run_cli(capsys, "train", "--corpus", path, "--out", str(out), "--quiet")
    assert code == 2
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_corpus_directory_without_shards(capsys, tmp_path, out):
    (tmp_path / "shards").mkdir()
    code, err = run_cli(capsys, "train", "--corpus", str(tmp_path / "shards"), "--out", str(out))
    assert code == 2 and "has no files" in err


@pytest.mark.parametrize(
    "flag,value,message",
    [
        ("--seq-len", "1", "seq_len must be at least 2"),
        ("--units", "0", "units must be a positive integer"),
        ("--embedding-dim", "-3", "embedding_dim must be a positive integer"),
        ("--hidden", "0", "hidden must be a positive integer"),
        ("--epochs", "0", "epochs must be a positive integer"),
        ("--batch-size", "0", "batch_size must be a positive integer"),
        ("--validation-split", "1.0", "validation_split must be in [0, 1)"),
        ("--num-words", "1", "num_words must be an integer of at least 2"),
    ],
)
def test_bad_sizes(capsys, tmp_path, out, flag, value, message):
    corpus = write(tmp_path, "c.txt", b"some real words here and there " * 10)
    code, err = run_cli(capsys, "train", "--corpus", corpus, flag, value, "--out", str(out))
    assert code == 2 and message in err
    assert not out.exists()


def test_non_empty_out_needs_force(capsys, tmp_path, out):
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    corpus = write(tmp_path, "c.txt", b"some real words here and there " * 10)
    code, err = run_cli(capsys, "train", "--corpus", corpus, "--out", str(out))
    assert code == 2 and "pass --force" in err
    assert (out / "keep.txt").read_text() == "mine"  # nothing lost


def test_force_replaces_whole_folder(capsys, tmp_path, out):
    pytest.importorskip("tensorflow")
    out.mkdir()  # a previous training folder (only names train writes), with a casing table this run will not write
    (out / "config.json").write_text("{}")
    (out / "casing.json").write_text("old")
    corpus = write(tmp_path, "c.txt", b"the cat sat on the mat and the dog sat on the log " * 20)  # no capitals
    code, _ = run_cli(capsys, "train", "--corpus", corpus, "--out", str(out), "--force", "--epochs", "1", "--quiet")
    assert code == 0
    assert not (out / "casing.json").exists() and (out / "model.keras").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging leftovers


def test_errors_have_no_traceback_in_a_real_process(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nextword.runtime.cli",
            "train",
            "--corpus",
            str(tmp_path / "none.txt"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"nextword train: error: corpus {tmp_path / 'none.txt'} does not exist"


def test_leftovers_of_a_killed_writer_are_removed_and_a_live_ones_kept(tmp_path):
    from conftest import ANY_OUTPUT
    from nextword.runtime.files import staged_dir

    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = tmp_path / f".out.nwstage-{int(dead.stdout)}-abc123.staging"  # a writer killed mid-write left this
    live = tmp_path / f".out.nwstage-{os.getpid()}-def456.staging"  # another writer, still running
    # Another writer's staging for an output named "out.5" (its pid is live), and a user's own folders.
    others = [tmp_path / f".out.5.nwstage-{os.getpid()}-x.staging", tmp_path / ".out.5", tmp_path / ".out.7.staging"]
    for folder in (orphan, live, *others):
        folder.mkdir()
    with staged_dir(out, force=False, kind=ANY_OUTPUT) as staging:
        (staging / "f").write_text("new")
    assert (out / "f").read_text() == "new"
    assert not orphan.exists() and live.exists() and all(folder.exists() for folder in others)


def test_a_sequence_run_prints_progress_and_the_small_text_warning_without_library_chatter(tmp_path, embedded_text):
    import re

    from conftest import run_process

    corpus = tmp_path / "prose.txt"
    corpus.write_text(" ".join(embedded_text.split()[:4000]), encoding="utf-8")
    result = run_process(
        "train", "--corpus", corpus, "--model", "sequence", "--units", "8", "--embedding-dim", "8",
        "--epochs", "2", "--out", tmp_path / "t",
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},  # as a user's shell has it
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    output = result.stdout + result.stderr
    assert b"Epoch 2/2" in output and b"kept epoch" in output
    warning = [line for line in result.stderr.decode().splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and "training words" in warning[0] and "nextword evaluate" in warning[0]
    # absl/TensorFlow log lines ("I0000 00:00:... generator_dataset_op.cc:213] Memory patch applied ...") and
    # the known start-up lines must not reach a terminal (runtime/stderr_filter.py).
    chatter = re.compile(rb"^[IWE]\d{4} \d\d:\d\d|oneDNN custom operations|Memory patch applied", re.M)
    assert not chatter.search(output), chatter.search(output).group(0)
