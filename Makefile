# The README's commands. `make run` and `make test` work on a fresh machine: they build
# .venv and install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint unit bench clean services test-deps dist

install: $(STAMP)

$(STAMP): pyproject.toml examples/heroes/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --python $(BIN)/python --quiet -e ".[dev]" -e examples/heroes
	touch $(STAMP)

run: install
	$(BIN)/heroes serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src examples/heroes/src tests examples/heroes/tests benchmarks
	$(BIN)/mypy --strict src/sqlmodel_async examples/heroes/src/heroes docs/examples tests/typing

unit: install test-deps
	$(BIN)/pytest $(PYTEST_ARGS)

# System packages the tests start themselves (PgBouncer), installed when missing.
test-deps:
	bash .ci/test-deps

test: lint unit

# The quick loop while coding: SQLite only, nothing slow, no processes started.
test-fast: install
	$(BIN)/pytest -q -m "not slow and not subprocess" -k "not postgresql and not mariadb" $(PYTEST_ARGS)

# The wheel a user installs (docs/getting-started.md), in dist/.
dist: install
	$(UV) build --wheel --out-dir dist

# `make bench BENCH="orm_ops http"` runs only those (see docs/benchmarks.md for each one's
# environment variables, e.g. BENCH_BACKENDS, BENCH_ORM_ROWS, BENCH_SECONDS).
bench: install
	$(UV) pip install --python $(BIN)/python --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks $(BENCH)
	$(BIN)/python -m benchmarks.chart

services:
	bash .ci/services

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache heroes.db*
