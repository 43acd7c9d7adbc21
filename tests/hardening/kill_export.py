"""Kill test: SIGKILL `nextword export` at random moments; --out must always hold one complete export.

    python tests/hardening/kill_export.py --train runs/train --kills 30 --json kill.json

Over an existing complete export, `nextword export TRAIN --out OUT --force` is started again and again
and killed at a random moment spread over its measured run time, or just after its staging folder
appears. After each kill OUT must hold the previous complete export or the new one: manifest.json
present, every file it lists present with its sha256, nothing else. Hidden leftovers beside OUT
(.OUT.*.staging / .old) are counted, and the runs after them must still succeed. Then two refusals are
checked: an --out on a read-only filesystem and one on a full filesystem (tmpfs mounts; skipped where
mounting is not allowed) must each end with exit status 2 and a one-line "nextword export: error:"
message, without a traceback.
Exit status 1 if any state was missing, partial or mixed, or a refusal check failed.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXIT_BAD_INPUT = 2
TMPFS_FULL_SIZE = "64k"  # far smaller than any export: the write fails part-way through
WRITE_WINDOW_S = 0.002  # measured: writing ~1.2 MB of files and swapping the folder takes 0.8-1.4 ms


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", required=True, metavar="DIR", help="a training folder (`nextword train --out`)")
    p.add_argument("--out", metavar="DIR", help="export folder to torture (default: a temporary folder)")
    p.add_argument("--corpus", metavar="FILE", help="passed to `nextword export --corpus` (the training text)")
    p.add_argument("--kills", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--duration", type=float, help="seconds one export takes (default: measured by a first full run)")
    p.add_argument("--budget", type=float, help="stop starting new kills after this many seconds")
    p.add_argument("--skip-fs-checks", action="store_true", help="skip the read-only and full-disk checks")
    p.add_argument("--json", metavar="OUT", help="write the results here")
    return p.parse_args(argv)


def export_command(args, out: Path) -> list[str]:
    corpus = ["--corpus", args.corpus] if args.corpus else []
    return [sys.executable, "-m", "nextword.runtime.cli", "export", args.train, "--out", str(out), "--force", *corpus]


def quiet_env() -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


def run_export(args, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(export_command(args, out), capture_output=True, text=True, env=quiet_env())


def state_of(out: Path) -> tuple[str, str | None]:
    """("complete", manifest digest) or ("missing" | "partial", None), judged only by what is on disk."""
    if not out.exists():
        return "missing", None
    manifest_path = out / "manifest.json"
    try:
        raw = manifest_path.read_bytes()
        listed = json.loads(raw)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return "partial", None
    present = {p.name for p in out.iterdir()}
    if present != set(listed) | {"manifest.json"}:
        return "partial", None
    for name, entry in listed.items():
        if hashlib.sha256((out / name).read_bytes()).hexdigest() != entry.get("sha256"):
            return "partial", None
    return "complete", hashlib.sha256(raw).hexdigest()


def leftovers(out: Path) -> list[Path]:
    return sorted(
        p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.") and p.name.endswith((".staging", ".old"))
    )


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def staging_appeared(out: Path, before: set[str]) -> bool:
    return any(name.endswith(".staging") and name not in before for name in os.listdir(out.parent))


def kill_campaign(args, out: Path, duration: float) -> dict:
    """A third of the kills wait for the staging folder to appear, then strike within WRITE_WINDOW_S: the
    write and swap take milliseconds of a run that lasts seconds, and uniform timing would rarely land there."""
    rng = random.Random(args.seed)
    outcomes = collections.Counter()
    events = []
    durations = [duration]
    _, current = state_of(out)
    started = time.monotonic()
    for number in range(args.kills):
        if args.budget and time.monotonic() - started > args.budget:
            break
        mode = rng.choice(("anytime", "anytime", "while writing"))
        typical = statistics.median(durations)
        before = set(os.listdir(out.parent))
        launched = time.monotonic()
        process = subprocess.Popen(
            export_command(args, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=quiet_env()
        )
        atexit.register(process.kill)  # never leave an export running behind an interrupted campaign
        if mode == "anytime":
            deadline = launched + rng.uniform(0.0, typical * 1.05)
        else:
            deadline = launched + 3 * typical
            while process.poll() is None and time.monotonic() < deadline and not staging_appeared(out, before):
                time.sleep(0.0005)
            deadline = time.monotonic() + rng.uniform(0.0, WRITE_WINDOW_S)
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
            killed = False
            durations.append(time.monotonic() - launched)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed = True
        elapsed = time.monotonic() - launched
        state, digest = state_of(out)
        if state == "complete":
            verdict = "previous" if digest == current else "new"
            current = digest
        else:
            verdict = state
        outcomes[("killed" if killed else "finished") + ":" + verdict] += 1
        events.append(
            {
                "kill": number,
                "mode": mode,
                "at_s": round(elapsed, 3),
                "killed": killed,
                "state": verdict,
                "leftovers": len(leftovers(out)),
            }
        )
        print(
            f"kill {number:2d} ({mode:13}): at {elapsed:6.2f} s {'killed' if killed else 'finished'} -> {verdict}, "
            f"{len(leftovers(out))} leftovers",
            flush=True,
        )
    remaining = leftovers(out)
    return {
        "outcomes": dict(outcomes),
        "events": events,
        "kills_done": len(events),
        "leftovers_after_kills": [p.name for p in remaining],
        "leftover_bytes": sum(folder_bytes(p) for p in remaining),
    }


def check_refusal(name: str, args, out: Path, watched: Path) -> dict:
    """Exit 2, one line of ours, no traceback, and nothing left behind in `watched`."""
    before = set(os.listdir(watched))
    result = run_export(args, out)
    ours = [line for line in result.stderr.splitlines() if line.startswith("nextword export:")]
    ok = (
        result.returncode == EXIT_BAD_INPUT
        and len(ours) == 1
        and "Traceback" not in result.stderr
        and set(os.listdir(watched)) == before
    )
    return {
        "check": name,
        "exit": result.returncode,
        "message": ours[-1] if ours else result.stderr.strip()[-300:],
        "ok": ok,
    }


def mounted(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    return (
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True).returncode
        == 0
    )


def filesystem_checks(args, scratch: Path) -> list[dict]:
    results = []
    not_a_folder = scratch / "a-file"
    not_a_folder.write_text("not a folder")
    results.append(check_refusal("parent is a file", args, not_a_folder / "out", scratch))
    for name, options in (("read-only filesystem", "ro,size=64k"), ("full disk", f"size={TMPFS_FULL_SIZE}")):
        mount_point = scratch / name.replace(" ", "-")
        if not mounted(mount_point, options):
            results.append(
                {"check": name, "skipped": "cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)", "ok": True}
            )
            continue
        try:
            results.append(check_refusal(name, args, mount_point / "out", mount_point))
        finally:
            subprocess.run(["umount", str(mount_point)], capture_output=True)
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # run the cleanup below
    scratch = Path(tempfile.mkdtemp(prefix="nextword-kill-"))
    out = Path(args.out) if args.out else scratch / "export"
    report: dict = {"train": args.train, "out": str(out), "seed": args.seed}
    try:
        first = time.monotonic()
        if args.duration is None or state_of(out)[0] != "complete":
            result = run_export(args, out)
            if result.returncode != 0:
                print(
                    f"the first export failed ({result.returncode}): {result.stderr.strip().splitlines()[-1:]}",
                    file=sys.stderr,
                )
                return 1
        duration = args.duration or time.monotonic() - first
        report["export_seconds"] = round(duration, 1)
        print(f"one export takes {duration:.1f} s; killing {args.kills} runs at random moments", flush=True)
        report.update(kill_campaign(args, out, duration))
        final = run_export(args, out)  # with every leftover still beside it
        report["final_run"] = {"exit": final.returncode, "state": state_of(out)[0], "leftovers": len(leftovers(out))}
        print(f"final run over the leftovers: exit {final.returncode}, {report['final_run']['state']}", flush=True)
        report["filesystem_checks"] = [] if args.skip_fs_checks else filesystem_checks(args, scratch)
        for check in report["filesystem_checks"]:
            outcome = "ok" if check["ok"] else f"FAIL (exit {check.get('exit')})"
            detail = "skipped: " + check["skipped"] if "skipped" in check else check["message"]
            print(f"{check['check']}: {detail} -> {outcome}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bad_states = sum(n for key, n in report["outcomes"].items() if key.split(":")[1] in ("missing", "partial"))
    report["ok"] = (
        bad_states == 0
        and report["final_run"]["exit"] == 0
        and report["final_run"]["state"] == "complete"
        and all(c["ok"] for c in report["filesystem_checks"])
    )
    print(
        f"outcomes: {report['outcomes']}; leftovers {len(report['leftovers_after_kills'])} "
        f"({report['leftover_bytes']} bytes) -> {'ok' if report['ok'] else 'FAIL'}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
