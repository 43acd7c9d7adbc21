"""`nextword web`: the demo's static files with the MIME types browsers require, model files from the export
folder only, nothing outside its roots (a fake runtime/js here: the real page is tested in Chromium by
runtime/js/test/browser.test.js)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from nextword.runtime import InputError
from nextword.runtime.web import make_server


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
    server = make_server(export, 0, js_dir=fake_js_dir(tmp_path / "js"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
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
    ],
)
def test_refuses_everything_outside_its_roots(served, path):
    assert get(served + path)[0] == 404


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
