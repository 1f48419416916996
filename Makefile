# `make run`  : set up a virtualenv, migrate a SQLite database, load the demo data, serve on :8000
#               (`make run PORT=8001` when 8000 is taken).
# `make test` : set up, make sure Chromium is there, run the whole suite on PostgreSQL.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT := 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/trunkpool

.PHONY: setup run test test-sqlite lint bench

setup: $(VENV)/.installed

# xstatic-bootstrap ships only an sdist whose setup.py imports pkg_resources, which newer
# setuptools dropped; building it without isolation against setuptools<81 keeps it installable.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check "setuptools<81" wheel
	$(BIN)/pip install -q --disable-pip-version-check --no-build-isolation "xstatic-bootstrap>=5.3,<6"
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Front-end packages from package-lock.json, never copied into the repository.
node_modules/.installed: package.json package-lock.json
	.ci/ensure-node
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# DEBUG is on only for this local demo; production leaves it off (README, "Production").
# One job worker runs beside the server; the trap stops it when the server stops (Ctrl-C).
# Without --no-reload the worker's autoreloader would leave a child running after the kill.
# SITE_URL follows PORT (unless set in the shell) so links in emails and the login address
# seed_demo prints point at the server this starts.
RUN_ENV = DEBUG=1 SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}"
run: setup
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	$(RUN_ENV) $(BIN)/python manage.py db_worker --queue-name='*' --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(RUN_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: setup node_modules/.installed
	.ci/ensure-chromium
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" $(BIN)/python -m pytest $(PYTEST_ARGS)

# Quick loop without PostgreSQL: PostgreSQL-only tests are skipped (CI refuses such a run).
test-sqlite: setup
	DATABASE_URL=sqlite:///:memory: $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
