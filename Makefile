# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./townhall-data
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test test-sqlite test-postgresql test-web lint install install-dev web browser screenshots bench drill clean

# The web app (web/, served at /app) and the staff console (served at /console): built into the
# package's static folder by Vite, the console's index.html with the app's.
WEB_APP := src/townhall/web/static/app/index.html
WEB_SOURCES := $(shell find web/src web/public web/scripts -type f ! -name schema.d.ts ! -name routes.ts 2>/dev/null) \
	web/index.html web/console/index.html web/package.json web/package-lock.json \
	web/vite.config.ts web/vite.console.config.ts web/tsconfig.json
API_SOURCES := $(shell find src/townhall/api src/townhall/domain -name '*.py' 2>/dev/null)
# Workers that take a file each at a time, the files in the order collected (conftest.py puts the
# modules marked `long` first; xdist would otherwise sort the files by how many tests they hold).
# Three on two cores: the servers the tests talk to also wait (on fsync, on each other), and two
# workers left a fifth of the CPU idle (make test-sqlite: 350 s with two, 322 s with three).
WORKERS ?= 3
PARALLEL = -n $(WORKERS) --dist loadfile --no-loadscope-reorder
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

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
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory web; else \
		echo "==> Node.js 20 and npm are not installed: the web app (/app) is not built; the API serves as usual"; fi
	@echo "==> migrating the database in $(DATA_DIR)"
	$(BIN)/townhall migrate --data-dir $(DATA_DIR)
	@echo "==> serving http://$(HOST):$(PORT)/ (Ctrl-C stops; the classifiers extra is optional: $(BIN)/pip install -e '.[classifiers]')"
	$(BIN)/townhall serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

lint: install-dev
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports
	$(BIN)/mypy src/townhall

web/node_modules/.package-lock.json: web/package-lock.json
	@command -v npm >/dev/null || { echo "error: the web app needs Node.js 20 and npm"; exit 1; }
	@echo "==> installing the web app's packages (npm ci)"
	cd web && npm ci --no-audit --no-fund --loglevel=error

# The API client's types come from the document the server serves: an API change that breaks the
# app fails its type check.
build/openapi.json: $(API_SOURCES) | install
	@mkdir -p build
	$(BIN)/townhall openapi --out $@

web/src/api/schema.d.ts: build/openapi.json web/node_modules/.package-lock.json
	cd web && npm run --silent api-types

$(WEB_APP): web/src/api/schema.d.ts $(WEB_SOURCES)
	@echo "==> type-checking and building the web app and the staff console"
	cd web && npm run --silent typecheck && npm run --silent build

web: $(WEB_APP)

# Debian's chromium and a CJK font for the browser tests (never `playwright install`).
browser:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || { \
		echo "==> installing Debian's chromium and a CJK font for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null; }

# The web app: its unit tests (Vitest), then the browser tests against a real server. Two workers:
# each has a chromium, and more slowed the run (140 s with two, 169 s with four).
test-web: WORKERS = 2
test-web: web browser install-dev
	cd web && npm run --silent test
	$(BIN)/pytest $(PARALLEL) tests/web

# The browser tests, saving the screens they reach under docs/screenshots/.
screenshots: web browser install-dev
	TOWNHALL_SCREENSHOTS=1 $(BIN)/pytest tests/web

# The lint beside the web app's tests (the browser tests keep one core busy, the lint the other),
# then the suite on SQLite, then on PostgreSQL (and Redis). The two suites are not run side by
# side: on two cores that took 15:58 against 14:46 one after the other, and made timing-bound
# tests fail.
test:
	$(MAKE) --no-print-directory --output-sync=target -j2 lint test-web
	$(MAKE) test-sqlite
	$(MAKE) test-postgresql

test-sqlite: install-dev
	$(BIN)/pytest $(PARALLEL) --ignore=tests/web

# The suite on PostgreSQL (TOWNHALL_TEST_DATABASE=postgresql, tests/databases.py), with what only
# several processes do (two servers on one database, --workers, an outage, a copy from SQLite);
# tests/domain and the modules marked database_free touch no database (the bench's own server is
# SQLite's), those marked http_layer test what no database changes, and the tests marked
# sqlite_only read SQLite's file itself.
test-postgresql: install-dev
	TOWNHALL_TEST_DATABASE=postgresql $(BIN)/pytest $(PARALLEL) --ignore=tests/domain --ignore=tests/web \
		-m "not database_free and not http_layer"

# The long versions of the tests marked `drill` (kill -9, slow clients, disk full, malformed
# input, backup under load): minutes, not part of make test.
drill: install-dev
	TOWNHALL_DRILL=1 $(BIN)/pytest -m drill -v

bench: install
	$(BIN)/townhall bench messaging --json bench-results/messaging.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build web/node_modules src/townhall/web/static/app \
		src/townhall/web/static/console
