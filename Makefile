# Two commands: `make demo` (a plan with a map, offline) and `make test`.
# Both create .venv when it is missing and install the project into it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck pytest maps bench-quick clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,browser,bench]'
	@touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/optimizer demo --out maps/demo --force

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check optimizer tests benchmarks
	$(BIN)/ruff format --check optimizer tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# pytest exits 5 when it collects no tests; that is not a failure of the code.
pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -q -m "not slow" || test $$? -eq 5

test: lint typecheck pytest

maps: $(VENV)/.installed-base
	$(BIN)/python -m optimizer.gallery

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache maps/demo
