"""Keep the start-up chatter of the engines underneath off a person's terminal.

TensorFlow, absl and LiteRT write INFO lines from C++ straight to file descriptor 2, where no Python
logging setting reaches them ("oneDNN custom operations are on", "NodeDef mentions attribute ...",
"Created TensorFlow Lite XNNPACK delegate for CPU"; TF_CPP_MIN_LOG_LEVEL silences only some of them in
TensorFlow 2.21 and none in LiteRT). The `nextword` command therefore routes fd 2 through a pipe and drops
the lines below, passing everything else (its own messages, real warnings, tracebacks) through unchanged.
Library users keep their stderr as it is.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

CHATTER = re.compile(
    rb"oneDNN custom operations are on"
    rb"|All log messages before absl::InitializeLog\(\) is called"
    rb"|NodeDef mentions attribute .* which is not in the op definition"
    rb"|Created TensorFlow Lite XNNPACK delegate for CPU"
    rb"|This TensorFlow binary is optimized to use available CPU instructions"
    rb"|To enable the following instructions: .* in other operations, rebuild TensorFlow"
    rb"|Unable to register cu(DNN|FFT|BLAS) factory"
    rb"|could not find cuda drivers on your machine"
    rb"|failed call to cuInit"
    rb"|computation placer already registered"
    rb"|TF-TRT Warning: Could not find TensorRT"
)


def filter_stderr() -> None:
    """From now until exit, drop CHATTER lines written to fd 2 by anything in this process."""
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:  # no usable fd 2 (a daemon, a closed stderr): nothing to protect
        return
    pump = threading.Thread(target=_pump, args=(read_end, terminal), name="nextword-stderr", daemon=True)
    pump.start()

    def restore() -> None:
        sys.stderr.flush()
        os.dup2(terminal, 2)  # closes the pipe's last write end, so the pump sees end-of-file
        pump.join(timeout=2)

    atexit.register(restore)


def _pump(read_end: int, terminal: int) -> None:
    pending = b""
    while chunk := os.read(read_end, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        kept = [line + b"\n" for line in lines if not CHATTER.search(line)]
        if kept:
            _write_all(terminal, b"".join(kept))
    if pending and not CHATTER.search(pending):
        _write_all(terminal, pending)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]
