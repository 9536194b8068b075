# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./townhall-data
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint install install-dev bench clean

$(BIN)/townhall: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

install: $(BIN)/townhall

$(VENV)/.dev-installed: pyproject.toml $(BIN)/townhall
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install-dev: $(VENV)/.dev-installed

run: install
	$(BIN)/townhall migrate --data-dir $(DATA_DIR)
	$(BIN)/townhall serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

lint: install-dev
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports
	$(BIN)/mypy src/townhall

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/townhall bench messaging --json bench-results/messaging.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
