"""`nextword web EXPORT_DIR`: serve the in-browser demo (runtime/js/web/) on 127.0.0.1.

The page runs the model itself (onnxruntime-web for .onnx, LiteRT.js for the batch-1 .tflite); this server
only hands out static files, from four fixed roots, with MIME types browsers insist on (.wasm as
application/wasm, .mjs as JavaScript). Standard library only, and nothing outside the roots is reachable:
every path is resolved and must stay inside its root, and the model files are the export folder's own
files, by name, with no subfolders.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import sys
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


def make_server(export_dir: str | Path, port: int = 0, js_dir: Path = JS_DIR) -> ThreadingHTTPServer:
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        raise InputError(f"export folder {export_dir} does not exist")
    if not list_models(export_dir):
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
    handler = partial(DemoHandler, export_dir=export_dir.resolve(), js_dir=js_dir.resolve())
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None


def list_models(export_dir: Path) -> list[str]:
    """The model files the server hands out: in the folder itself (a symlink out of it is not)."""
    folder = export_dir.resolve()
    return sorted(p.name for p in folder.iterdir() if p.suffix in MODEL_SUFFIXES and p.resolve().parent == folder)


class DemoHandler(SimpleHTTPRequestHandler):
    server_version = "nextword-web"

    def __init__(self, *args, export_dir: Path, js_dir: Path, **kwargs):
        self.export_dir, self.js_dir = export_dir, js_dir
        super().__init__(*args, directory=str(js_dir), **kwargs)

    def translate_path(self, path: str) -> str:
        """URL path -> file, or '' (a 404) for anything outside the roots."""
        parts = [p for p in posixpath.normpath(unquote(urlsplit(path).path)).split("/") if p]
        if not parts or parts == ["index.html"]:
            return str(self.js_dir / "web" / "index.html")
        if parts[0] == "models" and len(parts) == 2:
            return str(self.export_dir / parts[1]) if parts[1] in list_models(self.export_dir) else ""
        for prefix, folder in ROOTS.items():
            depth = prefix.count("/") + 1
            if "/".join(parts[:depth]) == prefix and len(parts) > depth:
                root = (self.js_dir / folder).resolve()
                target = root.joinpath(*parts[depth:]).resolve()  # symlinks followed, then checked
                return str(target) if target.is_relative_to(root) else ""
        return ""

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/models/":
            return self.send_json(list_models(self.export_dir))
        if not Path(self.translate_path(self.path) or "/nonexistent").is_file():  # no folder listings either
            return self.send_error(HTTPStatus.NOT_FOUND)
        return super().do_GET()

    def guess_type(self, path) -> str:
        return TYPES.get(Path(path).suffix, "application/octet-stream")

    def end_headers(self) -> None:
        # Cross-origin isolation: performance.now() gets 5 us resolution instead of 100 us (the page times
        # calls of ~50 us), and SharedArrayBuffer is available to the engines. Every file is same-origin.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def send_json(self, value) -> None:
        body = json.dumps(value).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass  # a page load is ~15 requests; the terminal keeps only the URL line


COMMANDS = {"web": add_web}  # read by nextword.runtime.cli
