# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench profile clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: the whole product embedded (Temporal dev server, SQLite, worker, bot, Slack simulator)
run: $(STAMP)
	$(BIN)/procure dev

## test: the whole suite (unit, workflow, persistence on SQLite and PostgreSQL, bot, end-to-end)
test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## bench: benchmarks that print figures (not part of CI)
bench: $(STAMP)
	$(BIN)/python -m bench

## profile: where the stack's CPU goes under load (py-spy flame graphs in bench/profiles/)
profile: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,profile]'
	$(BIN)/python -m bench.profile_stack

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
