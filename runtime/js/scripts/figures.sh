#!/usr/bin/env bash
# The JS figures beside the Python runtime's, on one export (with model.batch1.tflite) and its corpus:
#   runtime/js/scripts/figures.sh EXPORT_DIR CORPUS [CALLS]      (prints JSON lines; CALLS defaults to 10000)
# NEXTWORD and PYTHON override the CLI and interpreter (default: the repo's .venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
export_dir="$(cd "$1" && pwd)"; corpus="$2"; calls="${3:-10000}"
python="${PYTHON:-$root/.venv/bin/python}"
texts="$(mktemp --suffix=.json)"; trap 'rm -f "$texts"' EXIT
echo "# python runtime"; "$python" "$here/bench_python.py" "$export_dir" "$corpus" "$texts" "$calls" 2>/dev/null
echo "# node, onnxruntime-node"; (cd "$here/.." && node scripts/bench-node.js "$export_dir/model.onnx" "$texts" "$calls")
echo "# chromium"; (cd "$here/.." && node scripts/bench-browser.js "$export_dir" "$texts" "$calls")
