# Two commands do everything: `make run` (demo on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench fuzz chaos clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py runserver 127.0.0.1:8000

CHROMIUM ?= /usr/bin/chromium

test: lint typecheck
	$(BIN)/python manage.py makemigrations --check --dry-run intercom_identity
	@test -x $(CHROMIUM) || echo "NOTE: $(CHROMIUM) not found: the browser tests (tests/browser) will be SKIPPED. Install it with: apt-get install -y chromium"
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy intercom_identity

fuzz: $(STAMP)
	FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest tests/test_fuzz.py -q -s

# The chaos test (about a minute; needs initdb, postgres and redis-server, not the shared services):
# gunicorn under load while Redis is stopped, then frozen, and PostgreSQL stopped. Prints each scenario's figures.
chaos: $(STAMP)
	$(BIN)/python -m pytest -m chaos tests/test_chaos.py -q -s

# Benchmarks 1-6 of the README's Performance section. adoption.py, activity_scale.py and web.py
# need the local PostgreSQL (activity_scale.py and web.py Redis too, web.py wrk); each prints PASS/MISS per target and fails only on errors.
bench: $(STAMP)
	@command -v wrk >/dev/null || echo "NOTE: wrk not found: bench/web.py will fail. Install it with: apt-get install -y wrk"
	$(BIN)/python bench/hashing.py
	$(BIN)/python bench/template.py
	$(BIN)/python bench/adoption.py
	$(BIN)/python bench/activity_scale.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache .mypy_cache
