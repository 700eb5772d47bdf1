# Two commands for a fresh machine (Python >= 3.11, Node >= 20, make):
#   make run    set everything up, migrate, load the demo county once, serve on 127.0.0.1:$(PORT)
#   make test   set up what the tests need, lint, type-check and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
export FLASK_APP := server:create_app
export PYTHONPATH := $(CURDIR)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test setup setup-dev pwa pwa-test db demo lint typecheck pytest test-unit test-integration test-e2e clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

setup: $(VENV)/.runtime-installed
setup-dev: $(VENV)/.dev-installed

# The PWA is built when it exists (npm ci uses the committed package-lock.json); installs are redone only
# when the lock file changes.
pwa/node_modules/.installed: pwa/package-lock.json
	cd pwa && npm ci --no-audit --no-fund
	touch $@

pwa: $(if $(wildcard pwa/package.json),pwa/node_modules/.installed)
	@if [ -f pwa/package.json ]; then cd pwa && npm run build; fi

# The PWA's npm test: ESLint, tsc --checkJs per context (pwa/tsconfig.*.json) and Vitest.
pwa-test: $(if $(wildcard pwa/package.json),pwa/node_modules/.installed)
	@if [ -f pwa/package.json ]; then cd pwa && npm test; fi

db: setup
	$(BIN)/flask db upgrade

demo: db
	DEMO=1 $(BIN)/flask seed-demo

run: setup pwa demo
	@echo ""
	@echo "Serving on http://$(HOST):$(PORT)/   (Ctrl-C to stop)"
	@$(BIN)/flask demo-logins
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c deploy/gunicorn.conf.py 'server:create_app()'

lint: setup-dev
	$(BIN)/ruff check server sync tests $(wildcard bench docs pwa/scripts)
	$(BIN)/ruff format --check server sync tests $(wildcard bench docs pwa/scripts)

typecheck: setup-dev
	$(BIN)/mypy

pytest: setup-dev pwa
	$(BIN)/pytest -q

test: lint typecheck pwa-test pytest

test-unit: setup-dev
	$(BIN)/pytest -q tests/unit

# Run with TEST_DATABASE_URL=postgresql+psycopg://... to use PostgreSQL.
test-integration: setup-dev
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -q -m integration tests/integration

test-e2e: setup-dev pwa
	$(BIN)/pytest -q tests/e2e

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache pwa/node_modules pwa/dist pwa/dist-web
