"""`nextword train --local-workers N`: N training processes on this machine, one TF_CONFIG each, supervised.

The workers listen on free ports of 127.0.0.1 only. If one dies, the survivors would block in their next
collective (and fail ~10 s later on missed heartbeats), so the launcher kills them at once and relaunches all N
on fresh ports; they resume from the last epoch every worker backed up (train/distributed.py). Relaunches are
bounded by `max_restarts`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nextword.runtime.config import TrainConfig
from nextword.runtime.errors import InputError, NextwordError
from nextword.runtime.files import check_output_dir
from nextword.train.distributed import ATTEMPT_ENV, default_backup_dir
from nextword.train.folder import TRAINING_OUTPUT, check_out_apart
from nextword.train.stream import corpus_name

POLL_SECONDS = 0.2


class WorkersFailed(NextwordError):
    """The workers kept dying: more relaunches than allowed."""


def free_ports(n: int) -> list[int]:
    """n distinct ports the kernel reports free on 127.0.0.1 (held open together, so they differ)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_configs(ports: list[int]) -> list[str]:
    workers = [f"127.0.0.1:{port}" for port in ports]
    return [
        json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
        for i in range(len(workers))
    ]


def launch_local(
    corpus: list,
    config: TrainConfig,
    out: str | Path,
    n_workers: int,
    *,
    force: bool = False,
    verbose: int = 1,
    max_restarts: int = 3,
    backup_dir: str | Path | None = None,
    log=print,
) -> Path:
    """Train with `n_workers` local processes; returns `out` once the chief has written it."""
    if n_workers < 1:
        raise InputError(f"--local-workers must be at least 1, got {n_workers}")
    check_out_apart(out, corpus_name(corpus))  # before any worker starts
    # Workers then replace `out` freely: it is empty or a training folder, so only this run can have made it.
    check_output_dir(out, force=force, kind=TRAINING_OUTPUT)
    backup_dir = Path(backup_dir or default_backup_dir(out))
    backup_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "corpus": [str(p) for p in corpus],
        "config": dataclasses.asdict(config),
        "out": str(out),
        "force": True,
        "verbose": verbose,
        "backup_dir": str(backup_dir),
    }
    with tempfile.TemporaryDirectory(prefix="nextword-launch-") as scratch:
        spec_file = Path(scratch) / "spec.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        for attempt in range(max_restarts + 1):
            failure = run_workers(spec_file, n_workers, attempt)
            if failure is None:
                return Path(out)
            log(f"nextword train: {failure}; relaunching all {n_workers} workers", file=sys.stderr)
    raise WorkersFailed(f"workers failed {max_restarts + 1} times; last: {failure}")


def run_workers(spec_file: Path, n_workers: int, attempt: int) -> str | None:
    """Run the workers to the end; None if all succeed, else what went wrong (the others are killed)."""
    procs = []
    try:
        for tf_config in tf_configs(free_ports(n_workers)):
            env = os.environ | {"TF_CONFIG": tf_config, ATTEMPT_ENV: str(attempt)}
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "nextword.train.distributed", str(spec_file)],
                    env=env,
                    start_new_session=True,  # its own process group: killed whole, never by name
                )
            )
        while True:
            codes = [p.poll() for p in procs]
            if all(code == 0 for code in codes):
                return None
            failed = [(i, code) for i, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                i, code = failed[0]
                how = f"signal {-code}" if code < 0 else f"exit code {code}"
                if code == 2:  # a bad input fails the same way every time: do not relaunch
                    raise InputError(f"worker {i} refused its input (see its error above)")
                return f"worker {i} died ({how})"
            time.sleep(POLL_SECONDS)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
