"""Mutation campaign on user-model files (runtime/user_model.py): every mutated file must load or be refused with
a NextwordError, never crash, hang or take memory out of proportion. Stops by itself.

    python tests/hardening/fuzz_user_model.py --files 10000 --seed 0

Both file versions are fuzzed: the binary version 2 that save() writes and the JSON version 1 of older releases.
A third of the mutants are byte edits, a third the same re-signed (a fresh sha256 line, so the damage reaches the
parser and column checks rather than stopping at the checksum), a third structural: whole columns swapped,
emptied, doubled or retyped, then written out again in the file's own version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import sys
import time

import numpy as np
from nextword.runtime import user_file
from nextword.runtime.errors import NextwordError
from nextword.runtime.user_model import UserModel

SLOW_SECONDS = 1.0  # a load slower than this counts as a hang
TOKENS = [b"1e400", b"-1", b"true", b"null", b'"\\u0000"', b"[[[[", b'"a b"', b"99999999999"]  # JSON that misleads


def seed_files() -> list[bytes]:
    """The same small model as version 2 (what save writes) and as version 1 (its JSON columns)."""
    user = UserModel()
    user.learn("Meet me at Kensington. I love Kensington gardens, said Ann. Ann met me at noon")
    path = "/tmp/nextword-fuzz-seed.nwuser"
    user.save(path)
    with open(path, "rb") as f:
        binary = f.read()
    return [binary, as_version_1(binary)]


def as_version_1(data: bytes) -> bytes:
    """A version 2 file written as the JSON version 1 an older release saved."""
    tick, words, forms, ints = user_file.decode(data, 100_000)
    columns = {"tick": tick, "words": words, "forms": forms} | {name: ints[name].tolist() for name in ints}
    return user_file.sign(json.dumps(columns, ensure_ascii=False, separators=(",", ":")).encode(), version=1)


def resign(data: bytes) -> bytes:
    """data's body with a fresh checksum line, under its own (maybe damaged) version line."""
    header, _, rest = data.partition(b"\n")
    body = rest.partition(b"\n")[2]
    return header + b"\nsha256:" + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(out)) if out else 0
        choice = rng.random()
        if choice < 0.3:
            if out:
                out[at] = rng.randrange(256)
        elif choice < 0.5:
            del out[at : at + rng.randint(1, 16)]
        elif choice < 0.7:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif choice < 0.85:
            out[at:at] = rng.choice(TOKENS)
        else:
            start = rng.randrange(len(out)) if out else 0
            out[at:at] = out[start : start + rng.randint(1, 64)]  # a duplicated stretch
    return bytes(out)


def structural(data: bytes, rng: random.Random) -> bytes:
    """Edits that keep the file's layout valid: one column swapped, emptied, doubled or retyped."""
    if data.startswith(b"nextword-user 1"):
        body = json.loads(data.partition(b"\n")[2].partition(b"\n")[2])
        name = rng.choice(sorted(body))
        value = body[name]
        body[name] = rng.choice(
            [[], value * 2 if isinstance(value, list) else value, "x", 3, [True], [2.5], [-1], None, {"a": 1}]
        )
        return user_file.sign(json.dumps(body).encode(), version=1)
    tick, words, forms, ints = user_file.decode(data, 1000)
    columns = {"words": words, "forms": forms} | {name: ints[name].tolist() for name in ints}
    name = rng.choice(sorted(columns))
    other = rng.choice(sorted(columns))
    value = columns[name]
    big = [2**32 - 1] if name not in ("words", "forms") else ["x" * 200]
    columns[name] = rng.choice([[], value * 2, value[::-1], value[:-1], big, columns[other]])
    if name in ("words", "forms") and not all(isinstance(v, str) for v in columns[name]):
        columns[name] = [str(v) for v in columns[name]]
    if name not in ("words", "forms") and not all(isinstance(v, int) for v in columns[name]):
        columns[name] = [len(v) for v in columns[name]]
    tick = rng.choice([tick, 0, 2**32 - 1, tick + 1])
    ints = {key: np.array(columns[key]) % 2**32 for key in user_file.INTEGER_COLUMNS}
    return user_file.encode(tick, columns["words"], columns["forms"], {k: v.tolist() for k, v in ints.items()})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    seeds = seed_files()
    counts = {"files": 0, "loaded": 0, "refused": 0, "untyped": 0, "hangs": 0}
    slowest = 0.0
    for i in range(args.files):
        kind, seed = i % 3, seeds[i // 3 % 2]
        data = mutate(seed, rng) if kind == 0 else resign(mutate(seed, rng)) if kind == 1 else structural(seed, rng)
        start = time.perf_counter()
        try:
            UserModel.from_bytes(data)
            counts["loaded"] += 1
        except NextwordError as exc:
            counts["refused"] += 1
            assert str(exc) and "\n" not in str(exc), repr(exc)
        except Exception as exc:  # the failure this campaign looks for
            counts["untyped"] += 1
            print(f"untyped {type(exc).__name__}: {exc} on mutant {i}", file=sys.stderr)
        elapsed = time.perf_counter() - start
        slowest = max(slowest, elapsed)
        counts["hangs"] += elapsed > SLOW_SECONDS
        counts["files"] += 1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**counts, "slowest_ms": round(slowest * 1000, 2), "peak_rss_mb": round(peak_mb, 1)}))
    return 1 if counts["untyped"] or counts["hangs"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
