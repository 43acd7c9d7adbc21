"""`nextword web`: the demo's static files with the MIME types browsers require, model files from the export
folder only, nothing outside its roots, and what any local client or web page may send it: other Host names,
idle sockets, FIFOs, NUL bytes, resets (a fake runtime/js here: the real page is tested in Chromium by
runtime/js/test/browser.test.js)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from nextword.runtime import InputError
from nextword.runtime.web import make_server

FUZZER = Path(__file__).resolve().parents[1] / "hardening" / "fuzz_web.py"


def fake_js_dir(root: Path) -> Path:
    files = {
        "web/index.html": "<!doctype html>",
        "web/app.js": "export {};",
        "src/web.js": "export {};",
        "secret.txt": "not served",
        "node_modules/onnxruntime-web/package.json": "{}",
        "node_modules/onnxruntime-web/dist/ort.wasm.min.mjs": "export {};",
        "node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm": "\0asm",
        "node_modules/@litertjs/core/package.json": "{}",
        "node_modules/@litertjs/core/wasm/litert_wasm_internal.wasm": "\0asm",
        "node_modules/@litertjs/wasm-utils/package.json": "{}",
        "node_modules/@litertjs/wasm-utils/dist/index.js": "export {};",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "src" / "escape.js").symlink_to(root / "secret.txt")
    os.mkfifo(root / "src" / "pipe.js")
    return root


@pytest.fixture
def served(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "model.onnx").write_bytes(b"onnx bytes")
    (export / "model.batch1.tflite").write_bytes(b"tflite bytes")
    (export / "manifest.json").write_text("{}")
    (tmp_path / "outside.onnx").write_bytes(b"outside")
    (export / "link.onnx").symlink_to(tmp_path / "outside.onnx")
    os.mkfifo(export / "pipe.onnx")  # opening it would block until a writer comes
    (export / "folder.tflite").mkdir()
    with serving(export, fake_js_dir(tmp_path / "js")) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


@contextlib.contextmanager
def serving(export: Path, js: Path, **options):
    """make_server(...) running in a thread for the `with` block."""
    server = make_server(export, 0, js_dir=js, **options)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], b""


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/web/app.js", "text/javascript; charset=utf-8"),
        ("/src/web.js", "text/javascript; charset=utf-8"),
        ("/engines/onnxruntime-web/ort.wasm.min.mjs", "text/javascript; charset=utf-8"),
        ("/engines/onnxruntime-web/ort-wasm-simd-threaded.wasm", "application/wasm"),
        ("/engines/@litertjs/core/wasm/litert_wasm_internal.wasm", "application/wasm"),
        ("/engines/@litertjs/wasm-utils/index.js", "text/javascript; charset=utf-8"),
        ("/models/model.onnx", "application/octet-stream"),
        ("/models/model.batch1.tflite", "application/octet-stream"),
        ("/models/", "application/json"),
    ],
)
def test_serves_the_demo_engines_and_models_with_their_mime_types(served, path, content_type):
    status, got_type, body = get(served + path)
    assert (status, got_type) == (200, content_type) and body


def test_lists_the_models_of_the_export_folder(served):
    # not link.onnx (out of the folder), pipe.onnx (a FIFO) nor folder.tflite
    assert get(served + "/models/")[2] == b'["model.batch1.tflite", "model.onnx"]'


@pytest.mark.parametrize(
    "path",
    [
        "/secret.txt",  # in runtime/js but under no served root
        "/src/../secret.txt",
        "/src/%2e%2e/secret.txt",
        "/web/..%2f..%2fsecret.txt",
        "/engines/onnxruntime-web/../package.json",
        "/models/manifest.json",  # model files only
        "/models/link.onnx",  # a symlink out of the export folder
        "/models/../js/secret.txt",
        "/models/sub/model.onnx",
        "/src/",  # no folder listings
        "/etc/passwd",
        "/src/escape.js",  # a symlink out of its root
    ],
)
def test_refuses_everything_outside_its_roots(served, path):
    assert get(served + path)[0] == 404


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Raw bytes to the server, its whole answer back (it closes the connection after each response)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize(
    ("request_line", "host_lines", "status"),
    [
        ("GET /models/model.onnx HTTP/1.1", "Host: 127.0.0.1:{port}", 200),
        ("GET /models/model.onnx HTTP/1.1", "Host: localhost:{port}", 200),
        ("GET http://127.0.0.1:{port}/models/model.onnx HTTP/1.1", "Host: 127.0.0.1:{port}", 200),
        # DNS rebinding: a page on evil.example, resolved to 127.0.0.1, sends its own name
        ("GET /models/model.onnx HTTP/1.1", "Host: evil.example:{port}", 403),
        ("GET /models/model.onnx HTTP/1.1", "Host: evil.example", 403),
        ("GET /models/model.onnx HTTP/1.1", "Host: 127.0.0.1:{port}.evil.example", 403),
        ("GET /models/model.onnx HTTP/1.1", "Host: 127.0.0.1", 403),
        ("GET /models/model.onnx HTTP/1.1", "Host: localhost:1", 403),
        ("GET /models/model.onnx HTTP/1.0", "", 400),
        ("GET /models/model.onnx HTTP/1.1", "Host: 127.0.0.1:{port}\r\nHost: evil.example", 400),
        ("GET http://evil.example/models/model.onnx HTTP/1.1", "Host: 127.0.0.1:{port}", 403),
        ("GET https://127.0.0.1:{port}/models/model.onnx HTTP/1.1", "Host: 127.0.0.1:{port}", 403),
    ],
)
def test_answers_only_requests_addressed_to_it_by_name(served, request_line, host_lines, status):
    port = port_of(served)
    head = "\r\n".join(line for line in (request_line, host_lines) if line).format(port=port)
    got, body = status_and_body(exchange(port, f"{head}\r\n\r\n".encode()))
    assert got == status
    if status == 200:
        assert body == b"onnx bytes"
    else:
        assert body.startswith(b"%d " % status) and body.count(b"\n") == 1  # one line, no page


def test_idle_and_half_sent_connections_time_out(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "model.onnx").write_bytes(b"onnx bytes")
    with serving(export, fake_js_dir(tmp_path / "js"), timeout=0.3) as server:
        port = server.server_address[1]
        started = time.monotonic()
        exchange(port, b"")  # idle: nothing sent
        exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)  # headers never finished
        assert time.monotonic() - started < 4


def handler_threads() -> int:
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_connections_beyond_the_bound_get_a_503_not_a_thread(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "model.onnx").write_bytes(b"onnx bytes")
    with serving(export, fake_js_dir(tmp_path / "js"), max_connections=3) as server:
        port, before = server.server_address[1], handler_threads()
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        assert wait_for(lambda: handler_threads() == before + 3)
        for _ in range(20):
            assert exchange(port, b"").startswith(b"HTTP/1.0 503 ")
        assert handler_threads() == before + 3
        for sock in idle:
            sock.close()
        assert wait_for(lambda: handler_threads() == before)
        assert get(f"http://127.0.0.1:{port}/models/model.onnx")[0] == 200


def head(url: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize(
    "path",
    [
        "/models/pipe.onnx",  # a FIFO: HEAD used to block a thread forever
        "/models/folder.tflite",
        "/src/pipe.js",
        "/engines/@litertjs/core/wasm/",  # a folder under a root: no listing, for HEAD either
        "/engines/@litertjs/core/wasm",
    ],
)
def test_serves_regular_files_only_for_get_and_head(served, path):
    assert (head(served + path), get(served + path)[0]) == (404, 404)


def test_head_answers_as_get_does(served):
    assert head(served + "/models/model.onnx") == 200 and head(served + "/models/") == 200


def test_revalidation_gets_a_304(served):
    request = urllib.request.Request(
        served + "/web/app.js", headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}
    )
    with pytest.raises(urllib.error.HTTPError, match="304"):
        urllib.request.urlopen(request, timeout=5)


def test_refuses_to_start_without_a_regular_model_file(tmp_path, cli):
    export = tmp_path / "export"
    export.mkdir()
    os.mkfifo(export / "model.onnx")
    (export / "model.tflite").mkdir()
    with pytest.raises(InputError, match="no model file"):
        make_server(export, 0, js_dir=fake_js_dir(tmp_path / "js"))
    status, _, err = cli("web", str(export))
    assert status == 2 and "no model file" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "path",
    [b"/src/%00", b"/models/%00", b"/models/model.onnx%00", b"/src/%ff", b"/web/%c3%28", b"/src/a%0ab", b"/src/\xff"],
)
def test_undecodable_paths_get_a_400_and_no_traceback(served, capsys, path):
    port = port_of(served)
    answer = exchange(port, b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port))
    assert status_and_body(answer)[0] == 400
    assert capsys.readouterr().err == ""


def test_a_client_that_resets_mid_download_prints_nothing(served, capsys, tmp_path):
    (tmp_path / "export" / "big.onnx").write_bytes(bytes(32 << 20))  # more than the socket buffers hold
    port, before = port_of(served), handler_threads()
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /models/big.onnx HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port)
        assert sock.recv(65536).startswith(b"HTTP/1.0 200 ")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends a reset
        sock.close()
    assert wait_for(lambda: handler_threads() == before)
    assert capsys.readouterr().err == ""


def test_one_line_errors_for_what_the_demo_cannot_run(tmp_path):
    js = fake_js_dir(tmp_path / "js")
    with pytest.raises(InputError, match="does not exist"):
        make_server(tmp_path / "missing", 0, js_dir=js)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no model file"):
        make_server(tmp_path / "empty", 0, js_dir=js)
    (tmp_path / "empty" / "model.onnx").write_bytes(b"x")
    with pytest.raises(InputError, match="port"):
        make_server(tmp_path / "empty", 70000, js_dir=js)
    (js / "node_modules" / "onnxruntime-web" / "package.json").unlink()
    with pytest.raises(InputError, match="onnxruntime-web not installed; run: cd .* npm ci"):
        make_server(tmp_path / "empty", 0, js_dir=js)
    with pytest.raises(InputError, match="source checkout"):
        make_server(tmp_path / "empty", 0, js_dir=tmp_path / "nothing")


def test_the_command_fails_in_one_line(tmp_path, cli):
    status, _, err = cli("web", str(tmp_path / "missing"))
    assert status == 2 and "does not exist" in err


def test_a_short_request_fuzz_finds_no_traceback_hang_or_leak(tmp_path):
    report = tmp_path / "fuzz-web.json"
    args = ["--requests", "300", "--seconds", "60", "--seed", "1", "--server-timeout", "0.3", "--json", report]
    result = subprocess.run([sys.executable, FUZZER, *map(str, args)], capture_output=True, text=True, timeout=120)
    figures = json.loads(report.read_text())
    assert result.returncode == 0, (figures["problems"], figures["examples"][:5], figures["server_stderr_head"])
    assert figures["requests"] == 300 and figures["server_stderr_lines"] == 0
    assert figures["modes"]["pending:503"] > 0  # the floods went past the connection bound


def test_an_unexpected_failure_prints_one_line_not_a_traceback(served, capsys, monkeypatch):
    def broken(self, path):
        raise KeyError("a bug")

    monkeypatch.setattr("nextword.runtime.web.DemoHandler.route", broken)
    port = port_of(served)
    assert exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port) == b""
    assert capsys.readouterr().err == "nextword web: a request failed: KeyError: 'a bug'\n"
