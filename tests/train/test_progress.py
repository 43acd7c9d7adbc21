"""Training output fit for a log: Keras' live bar only on a terminal, else one short line per epoch."""

import pytest
from conftest import corpus_of, tiny_kind_config

pytest.importorskip("tensorflow")


class Terminal:
    def isatty(self):
        return True


@pytest.mark.parametrize("kind", ["window", "sequence"])
def test_a_run_whose_stdout_is_not_a_terminal_prints_one_short_line_per_epoch(kind, tmp_path, capsys, embedded_text):
    from nextword.train.fit import train

    corpus = corpus_of(" ".join(embedded_text.split()[:3000]))
    capsys.readouterr()
    train(corpus, tiny_kind_config(kind, epochs=3), tmp_path / "t", verbose=1)
    out = capsys.readouterr().out  # capsys' stdout is not a terminal, like a log file or a pipe
    assert "\b" not in out and "\r" not in out
    epochs = [line for line in out.splitlines() if line.startswith("Epoch ")]
    assert [line.split(" - ")[0] for line in epochs] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert all("val_loss: " in line and "val_top5: " in line and len(line) < 300 for line in epochs)
    assert len(out.splitlines()) == len(epochs) + 1  # and the "kept epoch" line


def test_a_terminal_keeps_the_keras_progress_bar_and_quiet_prints_nothing():
    from nextword.train.progress import fit_progress

    assert fit_progress(1, Terminal()) == (1, [])
    assert fit_progress(0, Terminal()) == (0, [])
    verbose, callbacks = fit_progress(1)  # pytest's captured stdout is no terminal
    assert verbose == 0 and [type(c).__name__ for c in callbacks] == ["EpochLine"]
