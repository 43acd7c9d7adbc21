#!/usr/bin/env bash
# Fixtures for the parity test: train a tiny model, export it, and write what the Python runtime predicts.
#   runtime/js/test/make_fixtures.sh [OUT]     (OUT defaults to runtime/js/test/fixtures)
# then: NEXTWORD_JS_FIXTURES=OUT node --test test/
# NEXTWORD and PYTHON override the CLI and interpreter (default: the repo's .venv).
set -euo pipefail
int8_copy() { mkdir -p "$2" && cp "$1/model.int8.onnx" "$2/model.onnx" && cp "$1/model.int8.tflite" "$2/model.tflite"; }
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$here/fixtures}"
nextword="${NEXTWORD:-$root/.venv/bin/nextword}"
python="${PYTHON:-$root/.venv/bin/python}"
# num_words with an OOV token: the parity texts then cover unknown words, the OOV id and ids past num_words.
"$nextword" train --out "$out/train" --epochs 2 --num-words 2000 --oov-token "<unk>" --seed 0 --force --quiet
# --tflite-batch1: LiteRT.js (the browser test) runs only a TFLite file whose batch is fixed.
# --quantize int8: the int8 files load and run in both runtimes too (int8/ holds them under the plain names;
# the tiny model's near-flat distributions miss the 99 % top-1 gate, which is for real models).
"$nextword" export "$out/train" --out "$out/export" --tflite-batch1 --quantize int8 --allow-accuracy-loss --force
int8_copy "$out/export" "$out/int8"
# Copies of each export without a casing table and with one (bare/, cased/): display casing parity both ways.
"$python" "$root/tests/export/casing_copies.py" "$out/export" "$out"
"$python" "$here/make_expectations.py" "$out/export/model.onnx" "$out/expected.json" \
  bare="$out/bare/model.onnx" cased="$out/cased/model.onnx" int8="$out/int8/model.onnx"
"$python" "$here/make_browser_expectations.py" "$out/export" "$out/browser-expected.json"
# The sequence kind: 2 layers, so the state layout [h_1, c_1, h_2, c_2] is exercised.
"$nextword" train --model sequence --out "$out/sequence/train" --epochs 2 --num-words 2000 --oov-token "<unk>" \
  --layers 2 --units 16 --embedding-dim 16 --seed 0 --force --quiet
"$nextword" export "$out/sequence/train" --out "$out/sequence/export" --tflite-batch1 --quantize int8 \
  --allow-accuracy-loss --force
int8_copy "$out/sequence/export" "$out/sequence/int8"
"$python" "$root/tests/export/casing_copies.py" "$out/sequence/export" "$out/sequence"
"$python" "$here/make_sequence_expectations.py" "$out/sequence/export/model.onnx" "$out/sequence/expected.json" \
  bare="$out/sequence/bare/model.onnx" cased="$out/sequence/cased/model.onnx" int8="$out/sequence/int8/model.onnx"
"$python" "$here/make_browser_expectations.py" "$out/sequence/export" "$out/sequence/browser-expected.json"
# The shared hostile set (both kinds, both formats): hostile.test.js and tests/runtime/test_hostile_files.py.
"$python" "$here/make_hostile.py" "$out/hostile" "$out/export/model.onnx" "$out/export/model.tflite" \
  "$out/sequence/export/model.onnx" "$out/sequence/export/model.tflite"
# The user model (both kinds): learning scripts, user files as Python reads them, suggestions while it learns.
"$python" "$here/make_user_expectations.py" "$out/export/model.onnx" "$out/sequence/export/model.onnx" \
  "$out/user-expected.json"
