# Two commands do all set-up on a fresh machine with python3 and pip:
#   make demo   venv + install + train on the embedded corpus + export + predict
#   make test   venv + install + the test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := runs/demo
PROMPT ?= the value of the

.PHONY: demo test bench clean

$(BIN)/nextword: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/nextword
	$(BIN)/nextword train --out $(DEMO)/train --force
	$(BIN)/nextword export $(DEMO)/train --out $(DEMO)/export --force
	$(BIN)/nextword predict $(DEMO)/export/model.onnx "$(PROMPT)" -k 5
	$(BIN)/nextword predict $(DEMO)/export/model.tflite "$(PROMPT)" -k 5
	$(BIN)/nextword generate $(DEMO)/export/model.onnx "$(PROMPT)" -n 15 --strategy sample --temperature 0.8 --seed 0

test: $(BIN)/nextword
	$(BIN)/python -m pytest -q

bench: $(BIN)/nextword
	$(BIN)/nextword train --corpus ../shared/data/tinyshakespeare.txt --preset small --out runs/bench/train --force --quiet
	$(BIN)/nextword export runs/bench/train --out runs/bench/export --quantize float16 --force
	$(BIN)/nextword bench runs/bench/train runs/bench/export --json runs/bench/bench.json --plot runs/bench/bench.png

clean:
	rm -rf $(VENV) runs .pytest_cache
