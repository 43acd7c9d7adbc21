"""`nextword web EXPORT_DIR`: serve the in-browser demo (runtime/js/web/) on 127.0.0.1.

The page runs the model itself (onnxruntime-web for .onnx, LiteRT.js for the batch-1 .tflite); this server
only hands out static files, from four fixed roots, with MIME types browsers insist on (.wasm as
application/wasm, .mjs as JavaScript). Standard library only, and nothing outside the roots is reachable:
every path is resolved and must stay inside its root, and the model files are the export folder's own
regular files, by name, with no subfolders.

Any web page the user visits can send requests to 127.0.0.1, so the server answers only requests addressed
to it by name (`Host: 127.0.0.1:PORT` or `localhost:PORT`: a DNS-rebinding page sends its own name), times
idle connections out, serves a bounded number at once, and prints no traceback whatever a client sends.
"""

from __future__ import annotations

import argparse
import datetime
import email.utils
import io
import json
import os
import posixpath
import shutil
import stat
import sys
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from nextword.runtime.errors import InputError

JS_DIR = Path(__file__).resolve().parent / "js"
# URL prefix -> folder under runtime/js. The engines are whatever npm installed in runtime/js/node_modules.
ROOTS = {
    "web": "web",
    "src": "src",
    "engines/onnxruntime-web": "node_modules/onnxruntime-web/dist",
    "engines/@litertjs/core": "node_modules/@litertjs/core",
    "engines/@litertjs/wasm-utils": "node_modules/@litertjs/wasm-utils/dist",
}
ENGINES = ("onnxruntime-web", "@litertjs/core", "@litertjs/wasm-utils")
MODEL_SUFFIXES = (".onnx", ".tflite")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".onnx": "application/octet-stream",
    ".tflite": "application/octet-stream",
}
HOST_NAMES = ("127.0.0.1", "localhost")  # the server binds IPv4 only, so [::1] never reaches it
TIMEOUT_S = 10.0  # per socket read or write: an idle or half-sent connection is dropped after this
MAX_CONNECTIONS = 32  # a page load opens ~6 at once; beyond this a connection gets a 503, not a thread


def add_web(subparsers, help_line: str) -> None:
    p = subparsers.add_parser(
        "web",
        help=help_line,
        description="Serve the next-word demo page on 127.0.0.1; the model runs in the browser, from static files.",
    )
    p.add_argument("export_dir", metavar="EXPORT_DIR", help="a folder written by `nextword export`")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    p.set_defaults(func=run_web)


def run_web(args: argparse.Namespace) -> int:
    server = make_server(args.export_dir, args.port)
    host, port = server.server_address[:2]
    models = ", ".join(list_models(Path(args.export_dir))) or "none"
    print(f"nextword web: http://{host}:{port}/  (models: {models}; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("nextword web: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def make_server(
    export_dir: str | Path,
    port: int = 0,
    js_dir: Path = JS_DIR,
    *,
    timeout: float = TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
) -> ThreadingHTTPServer:
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        raise InputError(f"export folder {export_dir} does not exist")
    try:
        models = list_models(export_dir)
    except OSError as exc:
        raise InputError(f"cannot read the export folder {export_dir}: {exc.strerror}") from None
    if not models:
        raise InputError(f"{export_dir} holds no model file (.onnx or .tflite); run `nextword export` first")
    if not (js_dir / "web" / "index.html").is_file():
        raise InputError(f"the demo page is not at {js_dir / 'web'}: `nextword web` runs from a source checkout")
    missing = [name for name in ENGINES if not (js_dir / "node_modules" / name / "package.json").is_file()]
    if missing:
        raise InputError(
            f"{', '.join(missing)} not installed; run: cd {js_dir} && ONNXRUNTIME_NODE_INSTALL=skip npm ci"
        )
    if not 0 <= port <= 65535:
        raise InputError(f"port must be 0 to 65535, got {port}")
    handler = partial(DemoHandler, export_dir=export_dir.resolve(), js_dir=js_dir.resolve(), timeout=timeout)
    try:
        return BoundedServer(("127.0.0.1", port), handler, max_connections)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None


def list_models(export_dir: Path) -> list[str]:
    """The model files the server hands out: regular files in the folder itself (not a symlink out of it, nor a
    FIFO, whose open would block a thread, nor a folder)."""
    folder = export_dir.resolve()
    return sorted(p.name for p in folder.iterdir() if p.suffix in MODEL_SUFFIXES and regular_file_in(p, folder))


def regular_file_in(path: Path, folder: Path) -> bool:
    try:
        target = path.resolve()
        return target.parent == folder and stat.S_ISREG(target.stat().st_mode)
    except (OSError, RuntimeError):  # dangling link, no permission; RuntimeError: a symlink loop
        return False


def open_regular(path: Path) -> int | None:
    """A read-only descriptor of `path` if it is a regular file, else None. O_NONBLOCK: a FIFO swapped in
    after the listing must not block the open; O_NOFOLLOW: the path was resolved, a symlink now is a swap."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(os.fstat(fd).st_mode):
        return fd
    os.close(fd)
    return None


class BoundedServer(ThreadingHTTPServer):
    """One thread per connection, at most `max_connections` at once: the rest get a 503 from the accepting
    thread, so a pile of idle sockets cannot pile up threads."""

    # The listen backlog (5 by default): connections beyond it wait a 1 s SYN retry instead of their 503.
    request_queue_size = 64
    BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def __init__(self, address, handler, max_connections: int):
        self.slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.setblocking(False)  # a few bytes into an empty send buffer; never wait on this client
                request.send(self.BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()  # no thread started, so none will release it
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address) -> None:
        # The base prints a traceback per failed request; a client that resets or stalls is not news, anything
        # else gets one line.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            reason = " ".join(str(exc).split())  # one line whatever the message holds
            print(f"nextword web: a request failed: {type(exc).__name__}: {reason}"[:300], file=sys.stderr)


class DemoHandler(SimpleHTTPRequestHandler):
    server_version = "nextword-web"
    error_message_format = "%(code)d %(message)s\n"  # one line, no HTML page echoing the request
    error_content_type = "text/plain; charset=utf-8"

    def __init__(self, *args, export_dir: Path, js_dir: Path, timeout: float, **kwargs):
        self.export_dir, self.js_dir = export_dir, js_dir
        self.timeout = timeout  # read by setup() as the socket timeout
        super().__init__(*args, directory=str(js_dir), **kwargs)

    def parse_request(self) -> bool:
        """The base's parsing, then: addressed to this server by name, and the target as a plain path."""
        if not super().parse_request():
            return False
        port = self.server.server_address[1]
        allowed = {f"{name}:{port}" for name in HOST_NAMES} | (set(HOST_NAMES) if port == 80 else set())
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1:
            self.send_error(HTTPStatus.BAD_REQUEST, "one Host header required")
            return False
        if hosts[0].lower() not in allowed:
            self.send_error(HTTPStatus.FORBIDDEN, "only 127.0.0.1 and localhost are served")
            return False
        if not self.path.startswith("/"):  # absolute form: http://HOST:PORT/path must name this server too
            try:
                url = urlsplit(self.path)
            except ValueError:
                url = None
            if url is None or url.scheme != "http" or url.netloc.lower() not in allowed:
                self.send_error(HTTPStatus.FORBIDDEN, "only 127.0.0.1 and localhost are served")
                return False
            self.path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        return True

    def route(self, path: str) -> Path | bytes | None:
        """URL path -> file, the model list's JSON, or None (a 404) for anything outside the roots.
        Raises ValueError for a path no file has: undecodable, or with control characters (NUL included)."""
        path = path.split("?", 1)[0].split("#", 1)[0]
        if not path.isascii():
            raise ValueError(path)
        name = unquote(path, errors="strict")  # UnicodeDecodeError is a ValueError
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValueError(path)
        if path == "/models/":
            return json.dumps(list_models(self.export_dir)).encode()
        parts = [p for p in posixpath.normpath(name).split("/") if p]
        if not parts or parts == ["index.html"]:
            return (self.js_dir / "web" / "index.html").resolve()
        if parts[0] == "models" and len(parts) == 2:
            return (self.export_dir / parts[1]).resolve() if parts[1] in list_models(self.export_dir) else None
        for prefix, folder in ROOTS.items():
            depth = prefix.count("/") + 1
            if "/".join(parts[:depth]) == prefix and len(parts) > depth:
                root = (self.js_dir / folder).resolve()
                target = root.joinpath(*parts[depth:]).resolve()  # symlinks followed, then checked
                return target if target.is_relative_to(root) else None
        return None

    def send_head(self):
        """GET and HEAD alike: status and headers sent, then the body to copy (or None). Only regular files,
        opened without blocking: no folder listings or redirects, no FIFO."""
        try:
            target = self.route(self.path)
        except ValueError:
            self.send_error(HTTPStatus.BAD_REQUEST, "bad path")
            return None
        except (OSError, RuntimeError):  # the export folder gone, a symlink loop
            target = None
        if isinstance(target, bytes):
            return self.send_body(io.BytesIO(target), "application/json", len(target))
        fd = open_regular(target) if target is not None else None
        if fd is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        f = os.fdopen(fd, "rb")
        st = os.fstat(fd)
        if unchanged_since(self.headers, st.st_mtime):
            f.close()
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.end_headers()
            return None
        return self.send_body(f, self.guess_type(target), st.st_size, st.st_mtime)

    def send_body(self, body, content_type: str, size: int, mtime: float | None = None):
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(size))
        if mtime is not None:
            self.send_header("Last-Modified", self.date_time_string(mtime))
        self.end_headers()
        return body

    def copyfile(self, source, outputfile) -> None:
        try:
            shutil.copyfileobj(source, outputfile)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client left mid-download: nothing to report

    def guess_type(self, path) -> str:
        return TYPES.get(Path(path).suffix, "application/octet-stream")

    def send_error(self, code, message=None, explain=None) -> None:
        # The base's reasons quote the request line (up to 64 KiB): keep the one line short.
        super().send_error(code, message if message is None else message[:100], explain)

    def end_headers(self) -> None:
        # Cross-origin isolation: performance.now() gets 5 us resolution instead of 100 us (the page times
        # calls of ~50 us), and SharedArrayBuffer is available to the engines. Every file is same-origin.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass  # a page load is ~15 requests; the terminal keeps only the URL line


def unchanged_since(headers, mtime: float) -> bool:
    """If-Modified-Since as the base class reads it: the browser revalidates (no-cache) and gets a 304."""
    if "If-Modified-Since" not in headers or "If-None-Match" in headers:
        return False
    try:
        since = email.utils.parsedate_to_datetime(headers["If-Modified-Since"])
    except (TypeError, IndexError, OverflowError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=datetime.UTC)
    return int(mtime) <= since.timestamp()


COMMANDS = {"web": add_web}  # read by nextword.runtime.cli
