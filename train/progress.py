"""What training prints per epoch: Keras' live progress bar on a terminal, one line per epoch anywhere else.

Keras redraws its bar in place (backspaces and carriage returns) whenever the `posix` module is loaded, that
is always on Linux, terminal or not: in a log or a pipe every epoch became one line of redraws, up to 13 kB
(`make demo`'s log was 217 kB). The bar goes to stdout, so stdout is the stream asked whether it is a terminal
(fd 2 is a pipe anyway under the `nextword` command: runtime/stderr_filter.py).
"""

from __future__ import annotations

import sys
import time

import keras


def fit_progress(verbose: int, stream=None) -> tuple[int, list[keras.callbacks.Callback]]:
    """(the `verbose` to give model.fit, the callbacks to add after all others): the bar for a terminal,
    an EpochLine otherwise, nothing when quiet."""
    stream = stream or sys.stdout
    if not verbose:
        return 0, []
    if getattr(stream, "isatty", lambda: False)():
        return verbose, []
    return 0, [EpochLine(stream)]


class EpochLine(keras.callbacks.Callback):
    """One line per epoch, once the epoch's logs are complete: "Epoch 2/20 - 41s - loss: 5.1234 - ...". Put it
    after the callbacks that add to the logs (the held-out score), as Keras puts its own bar."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.started
        shown = "".join(f" - {name}: {float(value):.4f}" for name, value in (logs or {}).items())
        print(f"Epoch {epoch + 1}/{self.params['epochs']} - {seconds:.0f}s{shown}", file=self.stream, flush=True)
