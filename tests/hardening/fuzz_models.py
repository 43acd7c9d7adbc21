"""Fuzz campaign: load thousands of mutated model files and check the runtime only ever refuses them by name.

    python tests/hardening/fuzz_models.py --model out/model.onnx --model out/model.tflite --count 10000 --json fuzz.json

Every mutated file (see mutations.py) is loaded with Predictor.load or Predictor.from_bytes and, when it
loads, asked for predictions (see exercise()), in a forked child, so a segfault or a hang inside
onnxruntime/LiteRT is observed rather than suffered. Outcomes:

    ran      loaded and predicted (a mutation in the weights is not something a runtime can detect)
    refused  raised a NextwordError subclass: the intended answer to a bad file
    other    raised any other exception: a bug, the runtime must name the problem with its own types
    crash    the child died on a signal (segfault, abort, ...)
    hang     the child outlived --timeout

The parent imports the runtime and loads each original once, then forks per file (a fork server), which
makes a case cost milliseconds instead of an interpreter start. Exit status 1 if any case was other,
crash or hang. Replay one case, in-process with its traceback: --replay MODEL_INDEX:CASE.
"""

from __future__ import annotations

import argparse
import collections
import faulthandler
import json
import os
import random
import resource
import select
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # mutations.py, when run as a script
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mutations  # noqa: E402
from nextword.runtime.errors import NextwordError  # noqa: E402
from nextword.runtime.predictor import Predictor, sniff_format  # noqa: E402

PROMPT = "to be or not to"
OUTCOMES = ("ran", "refused", "other", "crash", "hang")
PROBLEMS = ("other", "crash", "hang")
EXIT_RAN, EXIT_REFUSED, EXIT_OTHER = 0, 3, 4
# Room for the engines' own allocations in a child; a file that needs more than this is refused by
# the allocator (MemoryError/bad_alloc) instead of swapping the machine.
CHILD_MEMORY_HEADROOM = 2 * 1024**3
MAX_PROBLEMS_LISTED = 200


@dataclass
class Case:
    id: str
    fmt: str
    mutator: str
    detail: str
    data: bytes
    via_file: bool  # Predictor.load(path) instead of Predictor.from_bytes(data)


@dataclass
class Running:
    case: Case
    pid: int
    pidfd: int
    pipe: int
    deadline: float
    path: str | None


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", required=True, metavar="FILE", help="an exported model (repeatable)")
    p.add_argument(
        "--count", type=int, default=10000, help="mutated files per --model, i.e. per format (default 10000)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per file before it counts as a hang")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--json", metavar="OUT", help="write the results here")
    p.add_argument("--keep-crashes", metavar="DIR", help="save every file that crashed, hung or raised 'other'")
    p.add_argument("--replay", metavar="M:I", help="re-create case I of model M and run it in this process")
    return p.parse_args(argv)


def load_bases(paths: list[str]) -> list[mutations.Base]:
    bases = []
    for path in paths:
        data = Path(path).read_bytes()
        bases.append(mutations.make_base(Path(path).name, data, sniff_format(data, path)))
    for base in bases:  # "other file" splices come from the other models given
        base.other_values = [v for other in bases if other is not base for v in other.metadata.values()]
    return bases


def make_case(bases: list[mutations.Base], model: int, number: int, seed: int) -> Case:
    base = bases[model]
    rng = random.Random(f"{seed}/{model}/{number}")
    mutator, data, detail = mutations.mutate(base, rng)
    return Case(f"{model}:{number}", base.fmt, mutator, detail, data, via_file=rng.random() < 0.2)


def exercise(case: Case, path: str | None) -> None:
    """What an app does with a file: load it, ask for words. Raises whatever the runtime raises.

    k=5 is served by the graph's own top-k outputs, k=50 ranks the full distribution in numpy, and the
    batch call makes LiteRT re-plan for a second batch size: three paths a file can break differently."""
    predictor = Predictor.load(path) if path else Predictor.from_bytes(case.data, source=f"case-{case.id}")
    for k in (5, 50):
        prediction = predictor.predict_next(PROMPT, k=k)
        if not isinstance(prediction, list) or len(prediction) > k:
            raise AssertionError(f"predict_next returned {type(prediction).__name__} of {len(prediction)} items")
    predictor.predict_next_batch([PROMPT, "", "the"], k=5)


def child_main(case: Case, path: str | None, pipe: int) -> None:
    """Runs in the forked child; never returns."""
    code, message = EXIT_OTHER, "child did not finish"
    try:
        faulthandler.disable()  # a crash is the parent's to classify; a forked pytest would print a dump
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # LiteRT and onnxruntime log to the C streams
        os.dup2(devnull, 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        limit = address_space_bytes() + CHILD_MEMORY_HEADROOM
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        exercise(case, path)
        code, message = EXIT_RAN, ""
    except NextwordError as exc:
        code, message = EXIT_REFUSED, f"{type(exc).__name__}: {str(exc)[:300]}"
    except BaseException as exc:  # noqa: BLE001 - classifying every escape is the point
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        code, message = EXIT_OTHER, f"{type(exc).__name__}{where}: {str(exc)[:300]}"
    finally:
        try:
            os.write(pipe, message.encode("utf-8", "replace")[:4000])
        finally:
            os._exit(code)


def address_space_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def start(case: Case, timeout: float, scratch: str) -> Running:
    path = None
    if case.via_file:
        path = os.path.join(scratch, f"case-{case.id.replace(':', '-')}.{case.fmt}")
        with open(path, "wb") as f:
            f.write(case.data)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        child_main(case, path, write_end)
    os.close(write_end)
    return Running(case, pid, os.pidfd_open(pid), read_end, time.monotonic() + timeout, path)


def finish(job: Running, timed_out: bool) -> tuple[str, str]:
    if timed_out:
        os.kill(job.pid, signal.SIGKILL)
    _, status = os.waitpid(job.pid, 0)
    message = os.read(job.pipe, 65536).decode("utf-8", "replace")
    os.close(job.pipe)
    os.close(job.pidfd)
    if job.path:
        os.unlink(job.path)
    if timed_out:
        return "hang", "still running after the time limit"
    if os.WIFSIGNALED(status):
        return "crash", signal.Signals(os.WTERMSIG(status)).name
    code = os.WEXITSTATUS(status)
    return {EXIT_RAN: "ran", EXIT_REFUSED: "refused"}.get(code, "other"), message or f"exit status {code}"


class Tally:
    def __init__(self):
        self.totals = collections.defaultdict(collections.Counter)  # fmt -> outcome -> n
        self.by_mutator = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
        self.refusals = collections.defaultdict(collections.Counter)  # fmt -> error class -> n
        self.problems: list[dict] = []
        self.problem_count = 0

    def add(self, case: Case, outcome: str, message: str, keep_dir: str | None) -> None:
        self.totals[case.fmt][outcome] += 1
        self.by_mutator[case.fmt][case.mutator][outcome] += 1
        if outcome == "refused":
            self.refusals[case.fmt][message.split(":", 1)[0]] += 1
        if outcome in PROBLEMS:
            self.problem_count += 1
            if len(self.problems) < MAX_PROBLEMS_LISTED:
                self.problems.append(
                    {
                        "case": case.id,
                        "format": case.fmt,
                        "mutator": case.mutator,
                        "detail": case.detail,
                        "outcome": outcome,
                        "message": message,
                        "via_file": case.via_file,
                    }
                )
            if keep_dir:
                Path(keep_dir).mkdir(parents=True, exist_ok=True)
                (Path(keep_dir) / f"{outcome}-{case.id.replace(':', '-')}.{case.fmt}").write_bytes(case.data)

    def as_json(self) -> dict:
        return {
            "totals": {fmt: dict(c) for fmt, c in self.totals.items()},
            "by_mutator": {fmt: {m: dict(c) for m, c in ms.items()} for fmt, ms in self.by_mutator.items()},
            "refusals": {fmt: dict(c.most_common()) for fmt, c in self.refusals.items()},
            "problem_count": self.problem_count,
            "problems": self.problems,
        }


def campaign(bases, args) -> Tally:
    """All cases, --workers at a time; on any exit (Ctrl-C, SIGTERM) the running children are killed too."""
    tally = Tally()
    cases = (make_case(bases, m, i, args.seed) for i in range(args.count) for m in range(len(bases)))
    running: dict[int, Running] = {}
    done, total, started = 0, args.count * len(bases), time.monotonic()
    with tempfile.TemporaryDirectory(
        prefix="nextword-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
    ) as scratch:
        pending = next(cases, None)
        try:
            while pending is not None or running:
                while pending is not None and len(running) < args.workers:
                    job = start(pending, args.timeout, scratch)
                    running[job.pidfd] = job
                    pending = next(cases, None)
                wait = max(0.0, min(job.deadline for job in running.values()) - time.monotonic())
                ready, _, _ = select.select(list(running), [], [], wait)
                now = time.monotonic()
                for fd in list(running):
                    job = running[fd]
                    if fd in ready or now >= job.deadline:
                        del running[fd]
                        outcome, message = finish(job, timed_out=fd not in ready)
                        tally.add(job.case, outcome, message, args.keep_crashes)
                        done += 1
                        if done % 1000 == 0:
                            print(
                                f"  {done}/{total} files, {time.monotonic() - started:.0f} s",
                                file=sys.stderr,
                                flush=True,
                            )
        finally:
            for job in running.values():
                os.kill(job.pid, signal.SIGKILL)
                os.waitpid(job.pid, 0)
    return tally


def check_originals(bases, args) -> None:
    """The unmutated files must run in a forked child, or every result below would be meaningless."""
    for base in bases:
        case = Case("original", base.fmt, "none", "", base.data, via_file=False)
        with tempfile.TemporaryDirectory() as scratch:
            job = start(case, args.timeout, scratch)
            ready, _, _ = select.select([job.pidfd], [], [], args.timeout)
            outcome, message = finish(job, timed_out=not ready)
        if outcome != "ran":
            raise SystemExit(f"original {base.name} does not run in a forked child: {outcome} {message}")


def print_summary(tally: Tally, elapsed: float) -> None:
    print(f"{'format':8} " + " ".join(f"{o:>8}" for o in OUTCOMES) + f" {'total':>8}")
    for fmt, counts in sorted(tally.totals.items()):
        print(f"{fmt:8} " + " ".join(f"{counts[o]:8d}" for o in OUTCOMES) + f" {sum(counts.values()):8d}")
    print(f"\n{'format':8} {'mutator':26} " + " ".join(f"{o:>8}" for o in OUTCOMES))
    for fmt, mutators in sorted(tally.by_mutator.items()):
        for name, counts in sorted(mutators.items()):
            print(f"{fmt:8} {name:26} " + " ".join(f"{counts[o]:8d}" for o in OUTCOMES))
    for fmt, counts in sorted(tally.refusals.items()):
        print(f"\n{fmt} refusals: " + ", ".join(f"{name} {n}" for name, n in counts.most_common()))
    for problem in tally.problems[:30]:
        print(
            f"\n{problem['outcome'].upper()} case {problem['case']} "
            f"({problem['format']}, {problem['mutator']}: {problem['detail']})\n  {problem['message']}"
        )
    print(
        f"\n{sum(sum(c.values()) for c in tally.totals.values())} files in {elapsed:.0f} s; "
        f"{tally.problem_count} crash/hang/other"
    )


def replay(bases, spec: str, seed: int) -> int:
    model, number = (int(part) for part in spec.split(":"))
    case = make_case(bases, model, number, seed)
    print(
        f"case {case.id}: {case.fmt} {case.mutator}: {case.detail} ({len(case.data)} bytes, via_file={case.via_file})"
    )
    try:
        Predictor.from_bytes(case.data, source=f"case-{case.id}").predict_next(PROMPT, k=5)
        print("ran")
    except NextwordError as exc:
        print(f"refused: {type(exc).__name__}: {exc}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # clean up children and scratch
    bases = load_bases(args.model)
    if args.replay:
        return replay(bases, args.replay, args.seed)
    check_originals(bases, args)
    started = time.monotonic()
    tally = campaign(bases, args)
    elapsed = time.monotonic() - started
    print_summary(tally, elapsed)
    if args.json:
        report = {
            "models": args.model,
            "count_per_model": args.count,
            "seed": args.seed,
            "timeout_s": args.timeout,
            "workers": args.workers,
            "elapsed_s": round(elapsed, 1),
            **tally.as_json(),
        }
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 1 if tally.problem_count else 0


if __name__ == "__main__":
    sys.exit(main())
