# `make run`  : set up a virtualenv, migrate a SQLite database, load the demo data, serve on :8000
#               (`make run PORT=8001` when 8000 is taken).
# `make test` : set up, make sure Chromium is there, run the whole suite on PostgreSQL.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT := 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/trunkpool
# Test processes (pytest-xdist); each gets its own test database (test_<name>_gw0, ...).
TEST_WORKERS ?= 2

.PHONY: setup run run-https test test-sqlite lint bench
comma := ,

# The virtualenv, and the front-end packages (the camera scanner's decoder among them).
setup: $(VENV)/.installed node_modules/.installed

# xstatic-bootstrap ships only an sdist whose setup.py imports pkg_resources, which newer
# setuptools dropped; building it without isolation against setuptools<81 keeps it installable.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check "setuptools<81" wheel
	$(BIN)/pip install -q --disable-pip-version-check --no-build-isolation "xstatic-bootstrap>=5.3,<6"
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Front-end packages from package-lock.json, never copied into the repository.
# Without npm (not root, no Node) the app still runs: the scan boxes take typed and pasted codes
# and the scanner says it is not installed; the next `make` tries again.
node_modules/.installed: package.json package-lock.json
	@if .ci/ensure-node; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "The camera scanner stays off until Node and npm are installed." >&2; \
	fi

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

# The same demo over HTTPS for a phone on this network: browsers give the camera only to
# https:// pages (and localhost). The certificate is self-signed, made once in .tls/ for this
# machine's first address (LAN_IP); the phone asks once to trust it. DEBUG and any host name
# make this a demo on a trusted network, never a deployment.
HTTPS_PORT := 8443
LAN_IP ?= $(shell hostname -I 2>/dev/null | awk '{print $$1}')
HTTPS_ENV = DEBUG=1 ALLOWED_HOSTS='*' SITE_URL="$${SITE_URL:-https://$(LAN_IP):$(HTTPS_PORT)}"
.tls/cert.pem:
	mkdir -p .tls
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=Trunkpool demo" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1$(if $(LAN_IP),$(comma)IP:$(LAN_IP))" \
		-keyout .tls/key.pem -out .tls/cert.pem 2>/dev/null
run-https: setup .tls/cert.pem
	$(HTTPS_ENV) $(BIN)/python manage.py migrate --noinput
	$(HTTPS_ENV) $(BIN)/python manage.py seed_demo
	@echo "On the phone, open https://$(LAN_IP):$(HTTPS_PORT)/ and accept the certificate."
	$(HTTPS_ENV) $(BIN)/python manage.py db_worker --queue-name='*' --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(HTTPS_ENV) $(BIN)/gunicorn config.wsgi --bind 0.0.0.0:$(HTTPS_PORT) --workers 2 \
		--certfile .tls/cert.pem --keyfile .tls/key.pem

test: setup
	.ci/ensure-chromium
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" $(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Quick loop without PostgreSQL: PostgreSQL-only tests are skipped (CI refuses such a run).
test-sqlite: setup
	DATABASE_URL=sqlite:///:memory: $(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
