# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
# Both create .venv and install the pinned dependencies first.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo dev test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install  ## run the demo on the embedded stack (starts and stops it if none runs)
	$(BIN)/appeals demo

dev: install  ## the embedded stack in the foreground (Ctrl-C stops it)
	$(BIN)/appeals dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

test: install lint  ## the whole suite: unit, workflow (time-skipping), end to end
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
