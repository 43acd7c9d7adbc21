"""CLI and files (issue 11): any line end on stdin, a bounded line length, --threads bounded to the machine,
non-regular corpus files refused without hanging, output the terminal cannot encode escaped, staging folders
that cannot be mistaken for a user's. Every CLI refusal: exit 2, one line, no traceback."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import ANY_OUTPUT
from nextword.runtime.errors import InputError
from nextword.runtime.files import check_apart, read_regular_file, staged_dir
from nextword.runtime.predictor import Prediction, Predictor
from nextword.runtime.textio import read_lines, safe_output


def one_line_exit_2(code: int, err: str) -> str:
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def binary_stdin(data: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)), encoding="utf-8")


@pytest.mark.parametrize("end", ["\r\n", "\r", "\u2028", "\x85"])
def test_any_line_end_reads_as_text_lines(cli, model_path, end):
    texts = ["the value of", "is a", "", "the"]
    _, expected, _ = cli("predict", model_path, "-", "--json", stdin="\n".join(texts) + "\n")
    code, out, _ = cli("predict", model_path, "-", "--json", stdin=end.join(texts) + end)
    assert code == 0 and out == expected
    assert all("\r" not in word for line in out for word in json.loads(line)["unknown_words"])


@pytest.mark.parametrize("data", [b"a\r\nb\rc\nd", b"a\r", b"x" * 70000 + b"\r\nb\n", b"\xe2\x80\xa8\n"])
def test_line_ends_split_across_blocks_of_bytes(data):
    assert list(read_lines(binary_stdin(data))) == data.decode().splitlines()


class Endless(io.RawIOBase):
    """A stdin that never ends and never has a line end: reading it whole would take all memory."""

    reads = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        Endless.reads += 1
        buffer[:] = b"x" * len(buffer)
        return len(buffer)


def test_a_line_past_the_limit_is_refused_after_reading_about_the_limit():
    stream = io.TextIOWrapper(io.BufferedReader(Endless(), 65536), encoding="utf-8")
    with pytest.raises(InputError, match="stdin line 1 is longer than 1048576 characters"):
        list(read_lines(stream))
    assert Endless.reads <= 20  # 1 MiB in 64 KiB blocks, plus one


def test_a_long_stdin_line_is_exit_2_in_a_real_process(process, exported_dir):
    result = process("predict", exported_dir / "model.onnx", "-", stdin=b"the\n" + b"a " * (1 << 20) + b"\n")
    err = one_line_exit_2(result.returncode, result.stderr.decode())
    assert "stdin line 2 is longer than" in err and len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("threads", [0, 2**40, 1_000_000, (os.cpu_count() or 1) + 1])
def test_threads_beyond_the_machine_are_exit_2(cli, model_path, threads):
    code, _, err = cli("predict", model_path, "the", "--threads", threads)
    assert "threads must be at least 1 and at most" in one_line_exit_2(code, err)


def test_threads_up_to_the_machine_are_fine(cli, model_path):
    assert cli("predict", model_path, "the", "--threads", os.cpu_count() or 1)[0] == 0


@pytest.fixture(params=["fifo", "dev-zero", "directory", "socket"])
def odd_corpus(request, tmp_path):
    if request.param == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
        yield path, "not a regular file"
    elif request.param == "dev-zero":
        yield "/dev/zero", "not a regular file"
    elif request.param == "directory":
        yield tmp_path, "is a directory"
    else:
        path = tmp_path / "sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        yield path, "not a regular file"
        server.close()


def test_non_regular_corpus_files_are_refused_without_reading(odd_corpus):
    path, said = odd_corpus
    with pytest.raises(InputError, match=said):
        read_regular_file(path, "corpus")


def test_evaluate_on_a_fifo_or_dev_zero_is_exit_2_not_a_hang(process, exported_dir, odd_corpus):
    path, said = odd_corpus
    result = process("evaluate", exported_dir / "model.onnx", "--corpus", path, timeout=60)
    assert said in one_line_exit_2(result.returncode, result.stderr.decode())


def test_words_the_terminal_cannot_encode_are_escaped(cli, model_path, monkeypatch):
    monkeypatch.setattr(Predictor, "predict_next", lambda self, text, k=5: Prediction([("\udc80x", 0.5), ("é", 0.25)]))
    monkeypatch.setattr(Predictor, "generate", lambda self, text, n, **options: "\udc80x é")
    for argv in (("predict", model_path, "the"), ("generate", model_path, "the")):
        raw = io.BytesIO()
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
        from nextword.runtime.cli import main

        assert main([str(a) for a in argv]) == 0
        sys.stdout.flush()
        assert "\\udc80x" in raw.getvalue().decode() and "\\xe9" in raw.getvalue().decode()


def test_surrogates_in_a_real_process_with_an_ascii_terminal(python, model_path):
    code = (
        "import sys; from nextword.runtime.predictor import Predictor, Prediction\n"
        "Predictor.predict_next = lambda self, text, k=5: Prediction([('\\udc80x', 0.5)])\n"
        "from nextword.runtime.cli import main; sys.exit(main(['predict', sys.argv[1], 'the']))"
    )
    result = python(code, model_path, env=os.environ | {"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0 and result.stdout.strip() == "\\udc80x 0.5000", result.stderr


def test_safe_output_leaves_streams_without_reconfigure_alone():
    safe_output(io.StringIO())


def test_out_that_is_contains_or_lies_inside_the_input_is_refused(tmp_path):
    source = tmp_path / "train"
    (source / "sub").mkdir(parents=True)
    for out, relation in [(source, "is"), (tmp_path, "contains"), (source / "sub", "lies inside")]:
        with pytest.raises(InputError, match=f"--out .* {relation} the training folder"):
            check_apart(out, [source], "training folder")
    (tmp_path / "link").symlink_to(source)
    with pytest.raises(InputError, match=" is the training folder"):
        check_apart(tmp_path / "link", [source], "training folder")
    check_apart(tmp_path / "train2", [source], "training folder")  # a sibling with a common prefix is fine


def test_out_given_as_a_symlink_leaves_no_staging_link_behind(tmp_path):
    target = tmp_path / "real"
    target.mkdir()
    (target / "old").write_text("old")
    link = tmp_path / "link"
    link.symlink_to(target)
    with staged_dir(link, force=True, kind=ANY_OUTPUT) as staging:
        (staging / "new").write_text("new")
    assert link.is_symlink() and (link / "new").read_text() == "new" and not (link / "old").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_orphan_cleanup_keeps_live_writers_and_user_folders(tmp_path):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)
    live = os.getpid()
    orphan = tmp_path / f".run.nwstage-{dead}-abcd1234.staging"
    keep = [
        tmp_path / f".run.nwstage-{live}-abcd1234.staging",  # a live writer of "run"
        tmp_path / f".run.5.nwstage-{live}-abcd1234.staging",  # a live writer of "run.5"
        tmp_path / f".run.{dead}.abcd1234.staging",  # a name of the old scheme: could be a user's
        tmp_path / ".run.5",  # a user's own folders
        tmp_path / "run.5",
    ]
    for folder in (orphan, *keep):
        folder.mkdir()
    with staged_dir(tmp_path / "run", force=False, kind=ANY_OUTPUT) as staging:
        assert staging.name.startswith(f".run.nwstage-{live}-")
    assert not orphan.exists() and all(folder.exists() for folder in keep)
    with staged_dir(tmp_path / "run.5", force=False, kind=ANY_OUTPUT):  # the other writer's staging is still live: kept
        pass
    assert keep[1].exists()


@pytest.mark.parametrize("at", [0, 65_535, 65_536, 1_000_000])
def test_a_nul_byte_anywhere_in_a_corpus_file_is_refused(tmp_path, at):
    from nextword.runtime.corpus import load_corpus

    text = b"the cat sat on the mat " * 50_000
    path = tmp_path / "c.txt"
    path.write_bytes(text[:at] + b"\x00" + text[at:])
    with pytest.raises(InputError, match="looks binary"):
        load_corpus(path)


def test_force_replaces_only_a_folder_the_stage_wrote(tmp_path):
    """--force deletes what --out holds, so only a previous output of the same stage may be replaced: the
    stage's signature file and nothing else (a user's document, a subfolder, a symlink, an empty-named look-alike
    without the signature) is refused with a one-line InputError that names what is there, and nothing moves."""
    import re

    from nextword.runtime.files import OutputKind, check_output_dir

    kind = OutputKind("export", "manifest.json", re.compile(r"manifest\.json|model\.onnx"))
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "manifest.json").write_text("{}")
    (ours / "model.onnx").write_bytes(b"x")
    assert check_output_dir(ours, force=True, kind=kind) == ours
    with pytest.raises(InputError, match="not empty; pass --force"):
        check_output_dir(ours, force=False, kind=kind)
    assert check_output_dir(tmp_path / "new", force=False, kind=kind) == tmp_path / "new"

    cases = {
        "a user's file": {"manifest.json": "{}", "thesis.txt": "years of work"},
        "no signature": {"model.onnx": "x"},
        "a subfolder": {"manifest.json": "{}", "model.onnx/": None},
    }
    for name, files in cases.items():
        folder = tmp_path / name.replace(" ", "-").replace("'", "")
        folder.mkdir()
        for entry, text in files.items():
            (folder / entry.rstrip("/")).mkdir() if text is None else (folder / entry).write_text(text)
        with pytest.raises(InputError) as refused:
            check_output_dir(folder, force=True, kind=kind)
        message = str(refused.value)
        assert "is not a nextword export folder" in message and "\n" not in message, name
        assert sorted(p.name for p in folder.iterdir()) == sorted(e.rstrip("/") for e in files), name
    assert "(it holds thesis.txt)" in str(
        pytest.raises(InputError, check_output_dir, tmp_path / "a-users-file", force=True, kind=kind).value
    )

    # A symlinked --out is judged by its target, the folder --force would empty.
    (tmp_path / "link").symlink_to(tmp_path / "a-users-file")
    with pytest.raises(InputError, match="thesis.txt"):
        check_output_dir(tmp_path / "link", force=True, kind=kind)
    # A symlink inside an output is not one of the files the stage writes.
    (ours / "model.onnx").unlink()
    (ours / "model.onnx").symlink_to(tmp_path / "a-users-file" / "thesis.txt")
    with pytest.raises(InputError, match=r"holds model\.onnx"):
        check_output_dir(ours, force=True, kind=kind)
