# Two commands do all set-up on a fresh machine with python3 and pip (make test also needs Node 20 and npm, and
# Debian's chromium for the browser test, which it installs through apt when run as root):
#   make demo   venv + install + train on the embedded corpus + export + predict
#   make test   venv + install + lint + the whole test suite, then the runtime's tests again in a
#               second venv with only the base install + LiteRT (no TensorFlow), then the JavaScript
#               runtime's tests (test-js: Node and headless Chromium). What CI runs.
PYTHON ?= python3
VENV ?= .venv
RUNTIME_VENV ?= .venv-runtime
BIN := $(VENV)/bin
RUNTIME_BIN := $(RUNTIME_VENV)/bin
DEMO := runs/demo
PROMPT ?= the value of the
# The full suite trains and exports its test model here once; the runtime-only suite reuses the files.
TEST_MODELS := build/test-models

.PHONY: demo test test-full test-runtime lint bench clean test-js

$(BIN)/nextword: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(RUNTIME_BIN)/nextword: pyproject.toml
	$(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_BIN)/python -m pip install --quiet --upgrade pip
	$(RUNTIME_BIN)/python -m pip install --quiet '.[test-runtime]'
	touch $@

demo: $(BIN)/nextword
	$(BIN)/nextword train --out $(DEMO)/train --force
	$(BIN)/nextword export $(DEMO)/train --out $(DEMO)/export --force
	$(BIN)/nextword predict $(DEMO)/export/model.onnx "$(PROMPT)" -k 5
	$(BIN)/nextword predict $(DEMO)/export/model.tflite "$(PROMPT)" -k 5
	$(BIN)/nextword generate $(DEMO)/export/model.onnx "$(PROMPT)" -n 15 --strategy sample --temperature 0.8 --seed 0

test: lint test-full test-runtime test-js

lint: $(BIN)/nextword
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-full: $(BIN)/nextword
	rm -rf $(TEST_MODELS)
	NEXTWORD_TEST_MODELS=$(abspath $(TEST_MODELS)) $(BIN)/python -m pytest -q

# A regular (not editable) install of the current source, as `pip install 'nextword[tflite]'` gives a device.
test-runtime: $(RUNTIME_BIN)/nextword test-full
	$(RUNTIME_BIN)/python -m pip install --quiet --no-deps --force-reinstall .
	$(RUNTIME_BIN)/python -c "import importlib.util as u, sys; sys.exit(bool(u.find_spec('tensorflow')))" \
		|| (echo "the runtime-only venv has TensorFlow" && false)
	NEXTWORD_TEST_MODELS=$(abspath $(TEST_MODELS)) $(RUNTIME_BIN)/python -m pytest -q tests/runtime

# The JavaScript package (runtime/js): Python writes the tokenizer golden file and the parity fixtures
# (a tiny model, exported, with the Python runtime's predictions), then node --test compares.
JS := runtime/js
JS_FIXTURES := $(abspath runs/js-fixtures)
# The browser test drives Debian's chromium through playwright-core (Playwright's own download cannot work
# offline); CI runs as root and starts without it.
CHROMIUM := /usr/bin/chromium
test-js: $(BIN)/nextword
	test -x $(CHROMIUM) || (test "$$(id -u)" = 0 && apt-get update -qq \
		&& apt-get install -y -qq --no-install-recommends chromium >/dev/null) \
		|| (echo "the browser test needs $(CHROMIUM): apt-get install -y --no-install-recommends chromium" && false)
	cd $(JS) && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python $(JS)/test/make_golden.py
	NEXTWORD=$(abspath $(BIN)/nextword) PYTHON=$(abspath $(BIN)/python) $(JS)/test/make_fixtures.sh $(JS_FIXTURES)
	cd $(JS) && NEXTWORD_JS_FIXTURES=$(JS_FIXTURES) node --test test/

bench: $(BIN)/nextword
	$(BIN)/nextword train --corpus ../shared/data/tinyshakespeare.txt --preset small --out runs/bench/train --force --quiet
	$(BIN)/nextword export runs/bench/train --out runs/bench/export --quantize float16 --force
	$(BIN)/nextword bench runs/bench/train runs/bench/export --json runs/bench/bench.json --plot runs/bench/bench.png

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) runs build .pytest_cache
