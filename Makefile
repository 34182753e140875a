# Spotcheck: two commands. `make run` sets up everything and serves the demo;
# `make test` sets up what the tests need (Chromium included) and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_WORKERS ?= 2
PWA_SOURCES := $(shell find pwa/src pwa/public pwa/pages pwa/*.mjs -type f 2>/dev/null)

.PHONY: run test setup secret venv pwa db chromium fonts test-sqlite test-postgres lint bench migration clean

run: setup fonts secret db
	@$(FLASK) demo refresh
	@HOST=$(HOST) PORT=$(PORT) $(FLASK) demo logins
	@echo "Serving on http://$(HOST):$(PORT)"
	$(FLASK) run --host $(HOST) --port $(PORT)

setup: venv pwa

venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

pwa: pwa/dist/.stamp

pwa/dist/.stamp: pwa/package.json pwa/package-lock.json $(PWA_SOURCES)
	cd pwa && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	touch $@

# The demo's SECRET_KEY: random, made once, private to its owner; create_app reads it when
# SECRET_KEY is not in the environment (outside debug and tests the built-in one is refused).
secret: instance/secret_key

instance/secret_key:
	mkdir -p instance
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

db: venv secret
	$(FLASK) db upgrade
	$(FLASK) demo load

# The archival PDFs embed these fonts (server/services/documents/fonts.py): Chinese text,
# CJK Extensions A and B (names like 𠮷), codes; pdffonts (poppler-utils) checks the embedding.
PDF_FONT_FILES := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc /usr/share/fonts/truetype/hanazono/HanaMinA.ttf \
	/usr/share/fonts/truetype/hanazono/HanaMinB.ttf /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf
fonts:
	@if ! ls $(PDF_FONT_FILES) >/dev/null 2>&1 || ! command -v pdffonts >/dev/null; then \
		echo "Installing the PDF fonts and poppler-utils"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei fonts-hanazono fonts-dejavu-core poppler-utils >/dev/null; \
	fi

# Debian's Chromium drives the browser tests; never a downloaded browser.
chromium:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then \
		echo "Installing Debian's chromium and CJK fonts"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk ffmpeg >/dev/null; \
	fi

test: setup chromium fonts
	$(MAKE) test-sqlite
	@if [ "$$CI" = "true" ]; then \
		$(MAKE) test-postgres; \
	elif $(PY) scripts/pg_reachable.py "$(PG_TEST_URL)"; then \
		$(MAKE) test-postgres; \
	else \
		echo "PostgreSQL at $(PG_TEST_URL) is not reachable: PostgreSQL run skipped (CI=true makes it mandatory)"; \
	fi

test-sqlite: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

test-postgres: setup
	TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider -m "not e2e"

lint: venv
	$(VENV)/bin/ruff check server sync schemas tests bench

bench: setup
	$(PY) bench/run_all.py

# Regenerate the single initial migration from the models (pre-release only).
migration: venv
	$(PY) scripts/regen_migration.py

clean:
	rm -rf $(VENV) pwa/node_modules pwa/dist instance
