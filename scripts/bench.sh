#!/usr/bin/env bash
# `make bench`: every benchmark in bench/, on SQLite and on a throwaway PostgreSQL + Redis.
# Prints figures; asserts nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
PY=.venv/bin/python

for bench in bench/*.py; do
  _say "$bench on SQLite"
  env -u DATABASE_URL -u REDIS_URL $PY "$bench"
done

if system_deps_install && services_start; then
  for bench in bench/*.py; do
    _say "$bench on PostgreSQL"
    $PY "$bench"
  done
else
  _loud "PostgreSQL/Redis unavailable: PostgreSQL figures skipped"
fi
