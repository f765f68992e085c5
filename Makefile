# privacy-portal. `make run` serves the portal with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test install install-dev worker beat bench fuzz lint format migrate clean

$(VENV)/.installed-runtime: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements-dev.lock
	touch $@ $(VENV)/.installed-runtime

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

migrate: install
	mkdir -p var
	$(PY) manage.py migrate --noinput

# scripts/run.sh migrates itself, once PORTAL_URL follows HOST and PORT.
run: install
	PORT=$(PORT) HOST=$(HOST) bash scripts/run.sh

worker: install
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A config beat --loglevel=INFO

test: install-dev
	bash scripts/test.sh $(PYTEST_ARGS)

bench: install-dev
	bash scripts/bench.sh

# The API against its OpenAPI schema (schemathesis, every check); `make test` runs it too.
fuzz: install-dev
	bash scripts/api_fuzz.sh sqlite

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .mypy_cache .ruff_cache
