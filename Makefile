# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./townhall-data
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test test-postgresql lint install install-dev bench drill clean

$(BIN)/townhall: pyproject.toml
	@echo "==> creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> installing Townhall and its dependencies (about a minute the first time)"
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -e .
	touch $@

install: $(BIN)/townhall

$(VENV)/.dev-installed: pyproject.toml $(BIN)/townhall
	@echo "==> installing the test tools, the classifiers and the bench extras"
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install-dev: $(VENV)/.dev-installed

run: install
	@echo "==> migrating the database in $(DATA_DIR)"
	$(BIN)/townhall migrate --data-dir $(DATA_DIR)
	@echo "==> serving http://$(HOST):$(PORT)/ (Ctrl-C stops; the classifiers extra is optional: $(BIN)/pip install -e '.[classifiers]')"
	$(BIN)/townhall serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

lint: install-dev
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports
	$(BIN)/mypy src/townhall

# Two workers: most of a test's time is spent waiting on the server processes it talks to.
# Then the tests again on PostgreSQL (and Redis), which several server processes share.
test: lint
	$(BIN)/pytest -n 2 --dist loadfile
	$(MAKE) test-postgresql

# The suite on PostgreSQL (TOWNHALL_TEST_DATABASE=postgresql, tests/databases.py), with what only
# several processes do (two servers on one database, --workers, an outage, a copy from SQLite);
# tests/domain and the modules marked database_free touch no database (the bench's own server is
# SQLite's), those marked http_layer test what no database changes, and the tests marked
# sqlite_only read SQLite's file itself.
test-postgresql: install-dev
	TOWNHALL_TEST_DATABASE=postgresql $(BIN)/pytest -n 2 --dist loadfile --ignore=tests/domain \
		-m "not database_free and not http_layer"

# The long versions of the tests marked `drill` (kill -9, slow clients, disk full, malformed
# input, backup under load): minutes, not part of make test.
drill: install-dev
	TOWNHALL_DRILL=1 $(BIN)/pytest -m drill -v

bench: install
	$(BIN)/townhall bench messaging --json bench-results/messaging.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
