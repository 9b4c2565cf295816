# Two commands do everything: `make run` (demo on http://127.0.0.1:8000, or HOST=... PORT=...) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run HOST=0.0.0.0 PORT=8080` serves elsewhere (add the host name to ALLOWED_HOSTS to reach it by name).
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck settings-table docs matrix test-install dist bench bench-smoke fuzz chaos screenshots clean

$(STAMP): requirements.txt requirements-base.txt requirements-test.txt requirements-dev.txt constraints/django-5.2.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

CHROMIUM ?= /usr/bin/chromium

# The browser tests' screenshots go to build/screenshots/ (ignored): `make screenshots` publishes them.
test: lint typecheck
	$(BIN)/python manage.py makemigrations --check --dry-run intercom_identity
	@test -x $(CHROMIUM) || echo "NOTE: $(CHROMIUM) not found: the browser tests (tests/browser) will be SKIPPED. Install it with: apt-get install -y chromium"
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

# The screenshots docs/admin.md shows: the browser tests take them under build/screenshots/, copied to docs/screenshots/.
screenshots: $(STAMP)
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) not found: apt-get install -y chromium"; exit 1; }
	rm -rf build/screenshots
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest tests/browser -q
	mkdir -p docs/screenshots
	cp build/screenshots/*.png docs/screenshots/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy intercom_identity

# Rewrites the settings table of docs/reference/settings.md from the declarations in intercom_identity/conf.py.
settings-table: $(STAMP)
	$(BIN)/python -c "import re, pathlib; from intercom_identity.conf import settings_table; \
	p = pathlib.Path('docs/reference/settings.md'); s = p.read_text(); \
	a, b = '<!-- --8<-- [start:settings-table] -->\n', '<!-- --8<-- [end:settings-table] -->'; \
	p.write_text(s.split(a)[0] + a + settings_table() + b + s.split(b)[1])"

# The documentation site, built as Read the Docs builds it (warnings are errors) into build/docs/.
DOCS_VENV := .venv-docs
$(DOCS_VENV)/.installed: docs/requirements.txt
	test -x $(DOCS_VENV)/bin/python || $(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install --quiet -r docs/requirements.txt
	touch $@

docs: $(DOCS_VENV)/.installed
	$(DOCS_VENV)/bin/sphinx-build -W --keep-going -q -b html docs build/docs

# The matrix of tox.ini (every Django line on its Pythons, SQLite and PostgreSQL), then the install-path
# tests. The interpreters are found without any shell set-up (pyenv's included); a missing one fails here.
PYTHONS := .tox/pythons
# The environments are made in parallel (mostly waiting on pip), their suites run one at a time (they
# share Redis databases and the multi-server test's PostgreSQL database).
matrix: $(STAMP)
	$(BIN)/python tests/interpreters.py --link $(PYTHONS)
	PATH="$(CURDIR)/$(PYTHONS):$$PATH" $(BIN)/tox run-parallel --notest --parallel 4 --parallel-no-spinner
	CHROMIUM=$(CHROMIUM) PATH="$(CURDIR)/$(PYTHONS):$$PATH" $(BIN)/tox run
	$(MAKE) test-install

# Builds the sdist and wheel, checks them, and installs the wheel into fresh venvs (newest Python with the
# newest Django, Python 3.10 with Django 5.2) following the README's installation steps.
test-install: $(STAMP)
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -m install tests/test_install.py

# The release files: dist/intercom_identity-VERSION.tar.gz and dist/intercom_identity-VERSION-py3-none-any.whl.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

fuzz: $(STAMP)
	FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest tests/test_fuzz.py -q -s

# The chaos test (about a minute; needs initdb, postgres and redis-server, not the shared services):
# gunicorn under load while Redis is stopped, then frozen, and PostgreSQL stopped. Prints each scenario's figures.
chaos: $(STAMP)
	$(BIN)/python -m pytest -m chaos tests/test_chaos.py -q -s

# Benchmarks 1-11 (numbered as on the performance page, named in each script's first line). adoption.py,
# activity_scale.py, recording_stats.py and web.py need the local PostgreSQL (activity_scale.py and web.py Redis too,
# web.py wrk); each prints PASS/MISS per target and fails only on errors.
# Every benchmark script once at a tiny size (tests/test_bench.py, `-m bench`): they run and print their
# tables; nothing is timed. Needs PostgreSQL, Redis and wrk (skipped without them, failed in CI).
bench-smoke: $(STAMP)
	$(BIN)/python -m pytest -m bench tests/test_bench.py -q

bench: $(STAMP)
	@command -v wrk >/dev/null || echo "NOTE: wrk not found: bench/web.py will fail. Install it with: apt-get install -y wrk"
	$(BIN)/python bench/hashing.py
	$(BIN)/python bench/template.py
	$(BIN)/python bench/login.py
	$(BIN)/python bench/adoption.py
	$(BIN)/python bench/activity_scale.py
	$(BIN)/python bench/recording_stats.py
	$(BIN)/python bench/resolver.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/asgi.py
	$(BIN)/python bench/memory.py

clean:
	rm -rf $(VENV) $(DOCS_VENV) .tox build dist *.egg-info db.sqlite3 .pytest_cache .ruff_cache .mypy_cache
