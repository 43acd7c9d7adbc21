"""The Python campaign's mutated files, served to runtime/js/scripts/fuzz-models.js: the same cases, case for case.

    python runtime/js/scripts/fuzz_cases.py --model A.onnx --model B.tflite --seed 0 --out DIR

Reads "START END" lines on stdin; for each, writes case I of every model (tests/hardening/fuzz_models.py's
make_case, so case M:I here is case M:I of `fuzz_models.py --seed` with the same models) to DIR/M-I.FORMAT, prints
one JSON line per case ({id, format, mutator, detail, file, via_file, python}) and then "done". EOF on stdin ends
it. `python` is the Python loader's verdict before its engine: the class it refuses the file with, or null when
every check passed (the JS side compares its own). The JS side deletes each file once loaded, so DIR holds one
chunk at a time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "hardening"))

import fuzz_models  # noqa: E402
from nextword.runtime import predictor  # noqa: E402
from nextword.runtime.errors import NextwordError  # noqa: E402


class PassedChecks(Exception):
    """Raised by the stand-in engine: every check before the engine let the file through."""


def _stand_in(data, **kwargs):
    raise PassedChecks


def python_verdict(case) -> str | None:
    """The class Predictor.from_bytes refuses the file with before an engine starts, or None."""
    try:
        predictor.Predictor.from_bytes(case.data, source=f"case-{case.id}")
    except PassedChecks:
        return None
    except NextwordError as exc:
        return type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - an untyped escape is a finding, reported as such
        return f"other:{type(exc).__name__}"
    return "other:loaded without an engine"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bases = fuzz_models.load_bases(args.model)
    predictor.BACKENDS = {fmt: _stand_in for fmt in predictor.BACKENDS}  # verdicts only: no engine in this process
    print(json.dumps({"models": [{"name": b.name, "format": b.fmt} for b in bases]}), flush=True)
    for line in sys.stdin:
        start, end = (int(part) for part in line.split())
        for number in range(start, end):
            for model in range(len(bases)):
                case = fuzz_models.make_case(bases, model, number, args.seed)
                path = out / f"{model}-{number}.{case.fmt}"
                path.write_bytes(case.data)
                record = {"id": case.id, "format": case.fmt, "mutator": case.mutator, "detail": case.detail[:200]}
                extra = {"file": str(path), "via_file": case.via_file, "python": python_verdict(case)}
                print(json.dumps(record | extra), flush=False)
        print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
