# Two commands set everything up on a machine with Python 3.11+ and make:
#   make run    the product on SQLite, tasks in-process, at http://127.0.0.1:8000
#   make test   the test dependencies, linters, type checks and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000
# DEMO_DATA=0 skips the synthetic demo cohort.
DEMO_DATA ?= 1
# CTCAE grade criteria are NCI's text, not shipped: `make run CTCAE_CSV=path/to/ctcae.csv`
# loads them from NCI's CTCAE v5.0 file (see the README).
CTCAE_CSV ?=

.PHONY: run test lint typecheck pytest bench bench-disproportionality bench-load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input
	@if [ -n "$(CTCAE_CSV)" ]; then $(BIN)/python manage.py import_ctcae "$(CTCAE_CSV)"; \
	else echo "No CTCAE_CSV given: CTCAE grade criteria will not show (see the README)."; fi
	$(BIN)/python manage.py setup_demo
	@if [ "$(DEMO_DATA)" != "0" ]; then $(BIN)/python manage.py load_demo_cohort; \
	else echo "DEMO_DATA=0: no demo cohort loaded."; fi
	$(BIN)/python manage.py runserver $(HOST)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy .

pytest: $(VENV)/.installed-test
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.installed-test
	$(BIN)/python bench/term_search.py
	$(BIN)/python bench/coding.py
	$(BIN)/python bench/api_submit.py
	$(BIN)/python bench/dashboard.py

# Our disproportionality statistics beside vigipy, installed only in var/bench-venv.
bench-disproportionality: $(VENV)/.installed-test
	$(BIN)/python bench/disproportionality.py $(BENCH_ARGS)

# 16 clients against gunicorn and a Celery worker (needs PostgreSQL and Redis).
bench-load: $(VENV)/.installed-test
	$(BIN)/python bench/load.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/*.sqlite3 var/bench-venv var/bench-disproportionality staticfiles \
		.pytest_cache .mypy_cache .ruff_cache
