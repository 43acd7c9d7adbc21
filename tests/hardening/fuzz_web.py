"""Request fuzzer for `nextword web`: random hostile requests to a server on 127.0.0.1, bounded in count and time.

    python tests/hardening/fuzz_web.py --requests 20000 --seconds 900 --seed 0 --json fuzz-web.json

Builds a sandbox (an export folder and a stand-in runtime/js, with canary files outside the served roots,
symlinks out of the roots, a FIFO and a folder named like models), starts the server in a child process
(make_server on 127.0.0.1, any free port, stderr to a file) and sends random requests, one connection each:
methods, paths (traversal in a dozen encodings, NUL, undecodable bytes, up to 70 KB), Host variants, huge and
many headers, absolute URIs, half-sent requests left open, resets before and during the answer, and floods of
idle connections beyond the server's bound. Problems, each counted:

    traceback  the server printed a traceback (it may print one line per unexpected failure, never more)
    hang       no answer or close within --bound seconds (a half-sent request: the server's timeout + --bound)
    leak       a 200 whose body is not one of the allowed files, or holds the canary
    host       a 2xx/3xx to a request not addressed to 127.0.0.1:PORT or localhost:PORT
    page       an error answer longer than one line
    threads    the server process held more threads than its connection bound allows
    crash      the server process died, or stopped answering a plain GET
Exit status 1 if any.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANARY = b"NEXTWORD-FUZZ-CANARY"  # in every file the server must not hand out, in none it may
PROBLEMS = ("traceback", "hang", "leak", "host", "page", "threads", "crash")
MAX_CONNECTIONS = 32  # the server's default bound
FLOOD = MAX_CONNECTIONS + 8
FLOOD_EVERY = 250  # requests; each flood waits for the server to time the idle sockets out
MAX_PENDING = 8  # half-sent or idle sockets held open at once between floods
BIG_MODEL_BYTES = 4 << 20  # more than loopback socket buffers, so a reset lands mid-download

SERVE = """
import sys
from pathlib import Path
from nextword.runtime.web import make_server
server = make_server(sys.argv[1], 0, js_dir=Path(sys.argv[2]), timeout=float(sys.argv[3]))
print(server.server_address[1], flush=True)
server.serve_forever()
"""

ALLOWED = {
    "js/web/index.html": b"<!doctype html>",
    "js/web/app.js": b"export {};",
    "js/src/web.js": b"export const web = 1;",
    "js/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs": b"export const ort = 1;",
    "js/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm": b"\0asm ort",
    "js/node_modules/@litertjs/core/wasm/litert_wasm_internal.wasm": b"\0asm litert",
    "js/node_modules/@litertjs/core/package.json": b"{}",  # this engine's root is its whole package folder
    "js/node_modules/@litertjs/wasm-utils/dist/index.js": b"export const utils = 1;",
    "export/model.onnx": b"onnx bytes",
    "export/model.batch1.tflite": b"tflite bytes",
}
CANARIES = (
    "js/secret.txt",
    "js/package.json",
    "js/node_modules/onnxruntime-web/package.json",
    "js/node_modules/@litertjs/wasm-utils/package.json",
    "export/manifest.json",
    "outside.onnx",
    "passwd",
)
SYMLINKS = {  # in a root or the export folder, pointing out of it
    "js/src/escape.js": "js/secret.txt",
    "js/web/up": "js",
    "export/link.onnx": "outside.onnx",
    "js/node_modules/onnxruntime-web/dist/pkg.json": "js/node_modules/onnxruntime-web/package.json",
}
FIFOS = ("export/pipe.onnx", "js/src/pipe.js")
FOLDERS = ("export/folder.tflite", "js/src/dir.js")


def build_sandbox(root: Path) -> tuple[Path, Path, set[str]]:
    """The export folder, the stand-in runtime/js, and the SHA-256 of every body a 200 may carry."""
    for name, data in ALLOWED.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "export/big.onnx").write_bytes(bytes(BIG_MODEL_BYTES))
    for name in CANARIES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(CANARY + b" " + name.encode())
    for name, target in SYMLINKS.items():
        (root / name).symlink_to(root / target)
    for name in FIFOS:
        os.mkfifo(root / name)
    for name in FOLDERS:
        (root / name).mkdir()
    bodies = [*ALLOWED.values(), bytes(BIG_MODEL_BYTES), b'["big.onnx", "model.batch1.tflite", "model.onnx"]']
    return root / "export", root / "js", {sha256(b) for b in bodies}


# ---- requests ----

GOOD_PATHS = (
    "/",
    "/index.html",
    "/web/app.js",
    "/src/web.js",
    "/models/",
    "/models/model.onnx",
    "/models/model.batch1.tflite",
    "/models/big.onnx",
    "/engines/onnxruntime-web/ort.wasm.min.mjs",
    "/engines/onnxruntime-web/ort-wasm-simd-threaded.wasm",
    "/engines/@litertjs/core/wasm/litert_wasm_internal.wasm",
    "/engines/@litertjs/wasm-utils/index.js",
)
PREFIXES = ("", "/web", "/src", "/models", "/engines/onnxruntime-web", "/engines/@litertjs/core", "/x")
TARGETS = (
    "secret.txt",
    "package.json",
    "manifest.json",
    "outside.onnx",
    "link.onnx",
    "pipe.onnx",
    "folder.tflite",
    "escape.js",
    "pipe.js",
    "dir.js",
    "up/secret.txt",
    "pkg.json",
    "passwd",
    "etc/passwd",
    "js/secret.txt",
    "",
)
DOTS = ("..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%252e%252e", "%c0%ae%c0%ae", "%ef%bc%8e%ef%bc%8e", "...", "..;")
SLASHES = ("/", "%2f", "%2F", "%252f", "\\", "%5c", "//", "/./", "%c0%af", "%00/")
JUNK = ("%00", "%ff", "%c3%28", "%0a", "%0d%0a", "%", "%zz", "\x00", "\xff", "\x7f", "\t", "?", "#", ";", "*")
METHODS = ("POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH", "get", "G\x00T", "")
VERSIONS = ("HTTP/1.0", "", "HTTP/2.0", "HTTP/1.10", "HTTP/x", "http/1.1", "HTTP/1.1 extra", "HTTP/0.9")


def random_path(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        path = rng.choice(GOOD_PATHS)
    elif kind < 0.75:  # traversal
        hops = "".join(rng.choice(DOTS) + rng.choice(SLASHES) for _ in range(rng.randrange(0, 7)))
        path = rng.choice(PREFIXES) + rng.choice(("/", "/%2f", "//")) + hops + rng.choice(TARGETS)
    elif kind < 0.85:  # long
        path = "/" + "/".join("a" * rng.randrange(1, 300) for _ in range(rng.randrange(1, 250)))
    else:  # a good path with characters percent-encoded
        path = "".join(f"%{ord(c):02x}" if rng.random() < 0.3 else c for c in rng.choice(GOOD_PATHS))
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        at = rng.randrange(len(path) + 1)
        path = path[:at] + rng.choice(JUNK) + path[at:]
    return path


def host_variants(port: int) -> tuple[list[str], list[str]]:
    good = [f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"]
    bad = [
        "evil.example",
        f"evil.example:{port}",
        "127.0.0.1",
        "localhost",
        f"127.0.0.1:{port}.evil.example",
        f"evil.example#@127.0.0.1:{port}",
        f"[::1]:{port}",
        f"127.0.0.2:{port}",
        f"0.0.0.0:{port}",
        f"127.1:{port}",
        f"127.0.0.1:{port + 1}",
        f"127.0.0.1:0{port}",
        f"127.0.0.1:{port}\x00",
        "",
        "x" * 70000,
    ]
    return good, bad


def random_request(rng: random.Random, port: int) -> tuple[bytes, bool]:
    """The request's bytes, and whether it is addressed to this server (the oracle for `host`)."""
    good_hosts, bad_hosts = host_variants(port)
    method = "GET" if rng.random() < 0.55 else "HEAD" if rng.random() < 0.4 else rng.choice(METHODS)
    version = "HTTP/1.1" if rng.random() < 0.7 else rng.choice(VERSIONS)
    path = random_path(rng)
    addressed = True
    if rng.random() < 0.1:  # absolute form
        netloc = rng.choice(good_hosts + bad_hosts[:12])
        scheme = rng.choice(("http", "http", "https", "ftp", "HTTP"))
        path = f"{scheme}://{netloc}{path if path.startswith('/') else '/' + path}"
        addressed = scheme.lower() == "http" and netloc.lower() in {h.lower() for h in good_hosts}
    hosts = []
    roll = rng.random()
    if roll < 0.6:
        hosts = [rng.choice(good_hosts)]
    elif roll < 0.9:
        hosts = [rng.choice(bad_hosts)]
    elif roll < 0.95:
        hosts = [rng.choice(good_hosts), rng.choice(good_hosts + bad_hosts)]
    addressed = addressed and len(hosts) == 1 and hosts[0].strip().lower() in {h.lower() for h in good_hosts}
    lines = [" ".join(w for w in (method, path, version) if w)] + [f"Host: {h}" for h in hosts]
    lines += extra_headers(rng)
    return "\r\n".join(lines).encode("latin-1", "replace") + b"\r\n\r\n", addressed


def extra_headers(rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.6:
        return []
    if roll < 0.65:
        return ["X-Big: " + "b" * rng.choice((1000, 65000, 70000))]
    if roll < 0.7:
        return [f"X-{i}: {i}" for i in range(rng.choice((50, 99, 101, 200)))]
    return rng.sample(
        [
            "Content-Length: 100",
            "Content-Length: -1",
            "Transfer-Encoding: chunked",
            "Expect: 100-continue",
            "Connection: keep-alive",
            "Range: bytes=0-3",
            "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT",
            "If-Modified-Since: yesterday",
            "If-Modified-Since: Mon, 01 Jan 0001 00:00:00 +9999",
            "Accept: */*",
            "NoColonHere",
            ": empty name",
            "X-Bytes: \xff\xfe",
            " folded continuation",
        ],
        rng.randrange(1, 4),
    )


# ---- the server ----


class Server:
    def __init__(self, export: Path, js: Path, timeout: float, scratch: Path):
        self.stderr_path = scratch / "server.stderr"
        self.stderr = open(self.stderr_path, "wb")  # noqa: SIM115 (open for the child's whole life)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(export), str(js), str(timeout)],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise SystemExit(f"fuzz_web: the server did not start: {self.stderr_path.read_text()[-2000:]}")
        self.port = int(line)

    def threads(self) -> int:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0
        return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:")), 0)

    def alive(self, bound: float) -> bool:
        if self.proc.poll() is not None:
            return False
        answer = exchange(self.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % self.port, bound)
        return answer[0] == "answered" and answer[1].startswith(b"HTTP/1.0 200 ")

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(10)
        self.stderr.close()
        return self.stderr_path.read_text(errors="replace")


def connect(port: int, bound: float) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=bound)


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
    sock.close()


def exchange(port: int, data: bytes, bound: float) -> tuple[str, bytes]:
    """('answered' | 'reset' | 'hang', bytes read): the request sent, everything read until the server closes."""
    deadline = time.monotonic() + bound
    chunks = []
    try:
        with connect(port, bound) as sock:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered early (a line too long) and closed; its answer may still be readable
            while time.monotonic() < deadline:
                sock.settimeout(max(deadline - time.monotonic(), 0.01))
                chunk = sock.recv(1 << 20)
                if not chunk:
                    return "answered", b"".join(chunks)
                chunks.append(chunk)
            return "hang", b"".join(chunks)
    except TimeoutError:
        return "hang", b"".join(chunks)
    except ConnectionError:
        return "reset", b"".join(chunks)


def judge(answer: bytes, method: str, addressed: bool, bodies: set[str]) -> list[str]:
    """The problems one answer shows."""
    if CANARY in answer:
        return ["leak"]
    if not answer.startswith(b"HTTP/"):  # nothing (an empty request line), or an HTTP/0.9 answer: a bare body
        one_line_error = answer[:3].isdigit() and answer.count(b"\n") <= 1
        return [] if not answer or one_line_error or sha256(answer) in bodies else ["leak"]
    head, _, body = answer.partition(b"\r\n\r\n")
    status, problems = int(head.split(b" ", 2)[1]), []
    if status < 400 and not addressed:
        problems.append("host")
    if status == 200 and method == "GET" and sha256(body) not in bodies:
        problems.append("leak")
    if status >= 400 and body.count(b"\n") > 1:
        problems.append("page")
    return problems


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- the campaign ----


def fuzz(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="fuzz-web-") as scratch:
        export, js, bodies = build_sandbox(Path(scratch))
        server = Server(export, js, args.server_timeout, Path(scratch))
        problems: collections.Counter = collections.Counter()
        outcomes: collections.Counter = collections.Counter()
        statuses: collections.Counter = collections.Counter()
        examples: list[dict] = []
        pending: list[tuple[socket.socket, float, str]] = []  # half-sent or idle, with the deadline for a close
        max_threads, started, sent = 0, time.monotonic(), 0

        def problem(kind: str, what: str) -> None:
            problems[kind] += 1
            if len(examples) < 50:
                examples.append({"problem": kind, "request": what[:300]})

        def settle(wait: float) -> None:
            """Reap the pending sockets the server closed; those past their deadline are hangs."""
            nonlocal max_threads
            end = time.monotonic() + wait
            while pending:
                max_threads = max(max_threads, server.threads())
                ready = select.select([s for s, _, _ in pending], [], [], max(0.0, min(0.05, end - time.monotonic())))
                now = time.monotonic()
                for item in list(pending):
                    sock, deadline, what = item
                    closed = False
                    if sock in ready[0]:
                        try:
                            data = sock.recv(65536)
                        except OSError:
                            data = b""
                        closed = not data or data.startswith(b"HTTP/1.0 503 ")
                        outcomes["pending:503" if data.startswith(b"HTTP/1.0 503 ") else "pending:closed"] += 1
                    if closed or now > deadline:
                        if not closed:
                            problem("hang", what)
                        sock.close()
                        pending.remove(item)
                if now >= end:
                    return

        while sent < args.requests and time.monotonic() - started < args.seconds:
            if sent % FLOOD_EVERY == 0:  # idle connections beyond the bound: a 503 each, not a thread
                flood = [connect(server.port, args.bound) for _ in range(FLOOD)]
                pending += [(s, time.monotonic() + args.server_timeout + args.bound, "idle flood") for s in flood]
                settle(args.server_timeout + args.bound)
                outcomes["flood"] += 1
            data, addressed = random_request(rng, server.port)
            method = data.split(b" ", 1)[0].decode("latin-1")
            what = repr(data[:300])
            mode = rng.choices(("full", "half", "idle", "reset-early", "reset-mid"), (80, 8, 2, 5, 5))[0]
            outcomes[mode] += 1
            sent += 1
            if mode in ("half", "idle"):
                sock = connect(server.port, args.bound)
                if mode == "half":
                    sock.sendall(data[: rng.randrange(0, len(data) - 4)] if len(data) > 4 else data[:1])
                pending.append((sock, time.monotonic() + args.server_timeout + args.bound, f"{mode} {what}"))
                if len(pending) > MAX_PENDING:
                    settle(args.server_timeout + args.bound)
            elif mode == "reset-early":
                sock = connect(server.port, args.bound)
                sock.sendall(data)
                reset(sock)
            elif mode == "reset-mid":
                sock = connect(server.port, args.bound)
                sock.sendall(b"GET /models/big.onnx HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % server.port)
                try:
                    sock.recv(rng.randrange(1, 1 << 20))
                except OSError:
                    pass
                reset(sock)
            else:
                outcome, answer = exchange(server.port, data, args.bound)
                outcomes[f"answer:{outcome}"] += 1
                if outcome == "hang":
                    problem("hang", what)
                words = answer.split(b" ", 2)
                statuses[words[1].decode("latin-1") if len(words) > 1 and words[1].isdigit() else "none"] += 1
                for kind in judge(answer, method, addressed, bodies):
                    problem(kind, what)
            settle(0.0)
            if sent % 50 == 0:
                max_threads = max(max_threads, server.threads())
                if server.proc.poll() is not None:
                    problem("crash", "the server exited")
                    break
        settle(args.server_timeout + args.bound)
        max_threads = max(max_threads, server.threads())
        if server.proc.poll() is None and not server.alive(args.bound):
            problem("crash", "no answer to GET / at the end")
        if max_threads > MAX_CONNECTIONS + 2:  # the main thread, the handlers; the rest is a leak
            problem("threads", f"{max_threads} threads")
        stderr = server.stop()
        problems["traceback"] = stderr.count("Traceback")
        return {
            "requests": sent,
            "seconds": round(time.monotonic() - started, 1),
            "seed": args.seed,
            "server_timeout_s": args.server_timeout,
            "problems": {kind: problems[kind] for kind in PROBLEMS},
            "modes": dict(sorted(outcomes.items())),
            "statuses": dict(sorted(statuses.items())),
            "max_server_threads": max_threads,
            "server_stderr_lines": len(stderr.splitlines()),
            "server_stderr_head": stderr[:2000],
            "examples": examples,
        }


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000, help="stop after this many requests (default 2000)")
    p.add_argument("--seconds", type=float, default=300.0, help="or after this long (default 300)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bound", type=float, default=5.0, help="seconds an answer may take (default 5)")
    p.add_argument(
        "--server-timeout",
        type=float,
        default=1.0,
        help="the server's socket timeout (default 1 s, not 10: half-sent cases finish sooner, same code path)",
    )
    p.add_argument("--json", metavar="OUT", help="write the figures here")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = fuzz(args)
    text = json.dumps(report, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(json.dumps({k: report[k] for k in ("requests", "seconds", "problems", "max_server_threads")}))
    return 1 if any(report["problems"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
