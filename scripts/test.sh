#!/usr/bin/env bash
# `make test`: lint, types, Django checks, then the whole pytest suite on a throwaway PostgreSQL
# and Redis, with a live Celery worker (started by the tests marked `integration`) and Debian's
# Chromium for the browser tests. With CI=true nothing may be skipped for want of a service.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
PY=.venv/bin/python
CI="${CI:-false}"

_say "lint (ruff), types (mypy) and the layer order (import-linter)"
.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy . || exit 1
.venv/bin/lint-imports --no-cache || exit 1

have_services=true
if ! system_deps_install; then have_services=false; fi
if $have_services && ! services_start; then have_services=false; fi

if ! $have_services; then
  if [ "$CI" = true ]; then
    _loud "CI=true and PostgreSQL/Redis/Chromium could not be provided: failing, not skipping"
    exit 1
  fi
  _loud "PostgreSQL/Redis unavailable: running on SQLite WITHOUT integration tests"
  unset DATABASE_URL REDIS_URL
  export PORTAL_TEST_SERVICES=0
  set -- -m "not integration" "$@"
else
  export PORTAL_TEST_SERVICES=1
fi

_say "message catalogues"
messages_compile || { _loud "the message catalogues could not be compiled (gettext's msgfmt)"; exit 1; }

_say "Django checks"
$PY manage.py check --fail-level WARNING || exit 1
$PY manage.py makemigrations --check --dry-run >/dev/null || { _loud "models and migrations differ"; exit 1; }
DJANGO_ENV=production SECRET_KEY="ci-$(head -c 48 /dev/urandom | base64)" \
  FIELD_ENCRYPTION_KEYS="$($PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
  EXPORT_ENCRYPTION_KEYS="ci:$(head -c 32 /dev/urandom | base64)" \
  DSAR_PSEUDONYM_KEY="ci-$(head -c 48 /dev/urandom | base64)" \
  ALLOWED_HOSTS=portal.example.org REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}" \
  $PY manage.py check --deploy --fail-level WARNING || { _loud "check --deploy is not clean"; exit 1; }

_say "pytest"
$PY -m pytest "$@"
status=$?
if [ $status -eq 5 ]; then _loud "pytest collected no tests"; fi
[ $status -eq 0 ] || exit $status

# The API against its schema (schemathesis, every check, stateful phase too), on the embedded
# default and, with the services, on PostgreSQL. Left out when only some tests were asked for.
if [ $# -eq 0 ] || { [ $# -eq 2 ] && [ "$1" = -m ]; }; then
  bash scripts/api_fuzz.sh sqlite || { _loud "the API does not hold to its schema on SQLite"; exit 1; }
  if $have_services; then
    bash scripts/api_fuzz.sh postgres || { _loud "the API does not hold to its schema on PostgreSQL"; exit 1; }
  fi
fi
exit 0
