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

Children run WITHOUT an address-space limit, as on a device: a file that makes the runtime allocate
gigabytes is not turned into a tidy MemoryError here, it counts. Each child's peak RSS (wait4's ru_maxrss)
and time are recorded; a file whose child peaks over --rss-factor x the originals' peak is a problem
("memory"). --sweep adds the single-opcode sweep: every operator of each TFLite file x every builtin code,
every node of each ONNX file x every ONNX op type (structure.py), one file each.

The parent imports the runtime and loads each original once, then forks per file (a fork server), which
makes a case cost milliseconds instead of an interpreter start. Exit status 1 if any case was other,
crash or hang. Replay one case, in-process with its traceback: --replay MODEL_INDEX:CASE.
"""

from __future__ import annotations

import argparse
import collections
import faulthandler
import itertools
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
import structure  # noqa: E402
from nextword.runtime.errors import NextwordError  # noqa: E402
from nextword.runtime.predictor import Predictor  # noqa: E402
from nextword.runtime.sniff import sniff_format  # noqa: E402

PROMPT = "to be or not to"
OUTCOMES = ("ran", "refused", "other", "crash", "hang", "memory")
PROBLEMS = ("other", "crash", "hang", "memory")
EXIT_RAN, EXIT_REFUSED, EXIT_OTHER = 0, 3, 4
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
    started: float = 0.0
    rss_kb: int = 0  # peak RSS of the child (wait4)
    seconds: float = 0.0


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
    p.add_argument("--sweep", action="store_true", help="also run the full single-opcode / op-type sweep")
    p.add_argument("--rss-factor", type=float, default=4.0, help="peak RSS over this x the originals' is a problem")
    return p.parse_args(argv)


def load_bases(paths: list[str]) -> list[mutations.Base]:
    bases = []
    for path in paths:
        data = Path(path).read_bytes()
        bases.append(mutations.make_base(Path(path).name, data, sniff_format(data, path)))
    for base in bases:  # "other file" splices come from the other models given
        base.other_values = [v for other in bases if other is not base for v in other.metadata.values()]
        base.other_files = [other.data for other in bases if other.fmt != base.fmt]
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
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no RLIMIT_AS: a memory bomb must show as one
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
    now = time.monotonic()
    return Running(case, pid, os.pidfd_open(pid), read_end, now + timeout, path, now)


def finish(job: Running, timed_out: bool) -> tuple[str, str]:
    if timed_out:
        os.kill(job.pid, signal.SIGKILL)
    _, status, usage = os.wait4(job.pid, 0)
    job.rss_kb, job.seconds = usage.ru_maxrss, time.monotonic() - job.started
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
        self.rss_limit_kb = 0  # set from the originals' peak RSS
        self.peak_rss_kb = collections.Counter()  # fmt -> the largest child peak RSS
        self.slowest_s = collections.Counter()  # fmt -> the slowest child
        self.seconds = collections.Counter()  # fmt -> child seconds in total

    def add(self, case: Case, outcome: str, message: str, keep_dir: str | None, rss_kb: int = 0, seconds: float = 0):
        self.peak_rss_kb[case.fmt] = max(self.peak_rss_kb[case.fmt], rss_kb)
        self.slowest_s[case.fmt] = max(self.slowest_s[case.fmt], seconds)
        self.seconds[case.fmt] += seconds
        if self.rss_limit_kb and rss_kb > self.rss_limit_kb and outcome not in ("crash", "hang"):
            outcome, message = (
                "memory",
                f"peak RSS {rss_kb // 1024} MB, over {self.rss_limit_kb // 1024} MB ({message})",
            )
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
            "rss_limit_mb": self.rss_limit_kb // 1024,
            "peak_rss_mb": {fmt: kb // 1024 for fmt, kb in self.peak_rss_kb.items()},
            "slowest_file_s": {fmt: round(v, 2) for fmt, v in self.slowest_s.items()},
            "child_seconds": {fmt: round(v, 1) for fmt, v in self.seconds.items()},
            "problems": self.problems,
        }


def sweep_cases(bases):
    """Every operator x every builtin code (TFLite), every node x every op type (ONNX): one file each."""
    for model, base in enumerate(bases):
        if base.fmt == "tflite":
            for operator in range(structure.tflite_operator_count(base.data)):
                for builtin in range(structure.MAX_BUILTIN):
                    data = structure.tflite_swap_opcode(base.data, operator, builtin)
                    yield Case(
                        f"{model}:op{operator}:{builtin}", "tflite", "sweep", f"op {operator} -> {builtin}", data, False
                    )
        else:
            for number, node in enumerate(structure.onnx_nodes(base.data)):
                for op_type in structure.onnx_op_types() + structure.ONNX_CONTROL_FLOW:
                    data = structure.onnx_set_op_type(base.data, node, op_type)
                    yield Case(
                        f"{model}:node{number}:{op_type}", "onnx", "sweep", f"node {number} -> {op_type}", data, False
                    )


def sweep_size(bases) -> int:
    return sum(
        structure.tflite_operator_count(b.data) * structure.MAX_BUILTIN
        if b.fmt == "tflite"
        else len(structure.onnx_nodes(b.data)) * len(structure.onnx_op_types() + structure.ONNX_CONTROL_FLOW)
        for b in bases
    )


def campaign(bases, args, rss_limit_kb: int = 0) -> Tally:
    """All cases, --workers at a time; on any exit (Ctrl-C, SIGTERM) the running children are killed too."""
    tally = Tally()
    tally.rss_limit_kb = rss_limit_kb
    cases = itertools.chain(
        (make_case(bases, m, i, args.seed) for i in range(args.count) for m in range(len(bases))),
        sweep_cases(bases) if args.sweep else (),
    )
    running: dict[int, Running] = {}
    done, started = 0, time.monotonic()
    total = args.count * len(bases) + (sweep_size(bases) if args.sweep else 0)
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
                        tally.add(job.case, outcome, message, args.keep_crashes, job.rss_kb, job.seconds)
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


def check_originals(bases, args) -> int:
    """The unmutated files must run in a forked child, or every result below would be meaningless.
    Returns the largest peak RSS (KB) of those children: the runtime's normal peak."""
    peak = 0
    for base in bases:
        case = Case("original", base.fmt, "none", "", base.data, via_file=False)
        with tempfile.TemporaryDirectory() as scratch:
            job = start(case, args.timeout, scratch)
            ready, _, _ = select.select([job.pidfd], [], [], args.timeout)
            outcome, message = finish(job, timed_out=not ready)
        if outcome != "ran":
            raise SystemExit(f"original {base.name} does not run in a forked child: {outcome} {message}")
        peak = max(peak, job.rss_kb)
    return peak


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
    for fmt in sorted(tally.totals):
        print(
            f"{fmt}: peak child RSS {tally.peak_rss_kb[fmt] // 1024} MB (limit {tally.rss_limit_kb // 1024} MB), "
            f"slowest file {tally.slowest_s[fmt]:.2f} s"
        )
    print(
        f"\n{sum(sum(c.values()) for c in tally.totals.values())} files in {elapsed:.0f} s; "
        f"{tally.problem_count} crash/hang/other/memory"
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
    normal_kb = check_originals(bases, args)
    started = time.monotonic()
    tally = campaign(bases, args, int(normal_kb * args.rss_factor))
    elapsed = time.monotonic() - started
    print_summary(tally, elapsed)
    if args.json:
        report = {
            "models": args.model,
            "count_per_model": args.count,
            "seed": args.seed,
            "timeout_s": args.timeout,
            "sweep": args.sweep,
            "workers": args.workers,
            "elapsed_s": round(elapsed, 1),
            **tally.as_json(),
        }
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 1 if tally.problem_count else 0


if __name__ == "__main__":
    sys.exit(main())
