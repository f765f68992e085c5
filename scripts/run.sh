#!/usr/bin/env bash
# `make run`: the portal with demo data on the embedded default (SQLite, tasks run in-process,
# e-mail on the console), and beside it the example product service (examples/product_service)
# on a PostgreSQL server kept in var/product-pg, when PostgreSQL's server binaries are here: a
# newcomer's copy or deletion request then reaches the product and its support desk too.
# Without them the portal runs alone and says so. The periodic schedule (the sweeps `make beat`
# runs in production) runs in-process too, beside runserver. Ctrl-C stops everything.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
PY=.venv/bin/python
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
PRODUCT_PORT="${PRODUCT_PORT:-8765}"
PRODUCT_PG_PORT="${PRODUCT_PG_PORT:-54329}"
VAR="$(pwd)/var"
PG_DATA="$VAR/product-pg"
PRODUCT_PID=""
SERVER_PID=""
SCHEDULE_PID=""
PG_STARTED=false
RUNAS=""
# One `make run` per checkout: the database in var/ and the product's cluster in var/product-pg
# are shared, and stopping a second run would stop the first one's cluster under it.
LOCK="$VAR/run.pid"
LOCKED=false

run_stop() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$SCHEDULE_PID" ] && kill "$SCHEDULE_PID" 2>/dev/null && wait "$SCHEDULE_PID" 2>/dev/null
  [ -n "$PRODUCT_PID" ] && kill "$PRODUCT_PID" 2>/dev/null
  if $PG_STARTED; then $RUNAS "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1; fi
}
# Whose pid is in the lock file, when that process is still a `make run`.
run_lock_holder() {
  local pid port
  read -r pid port <"$LOCK" 2>/dev/null || return 1
  [ -n "$pid" ] && ps -p "$pid" -o args= 2>/dev/null | grep -q 'scripts/run.sh' || return 1
  echo "$pid ${port:-?}"
}

run_lock() {
  mkdir -p "$VAR"
  local holder
  for _ in 1 2; do
    # noclobber: creating the file is the test, so two runs starting at once cannot both win.
    if (set -o noclobber; echo "$$ $PORT" >"$LOCK") 2>/dev/null; then
      LOCKED=true
      return 0
    fi
    if holder="$(run_lock_holder)"; then
      _loud "make run is already running in this checkout (pid ${holder% *}, at PORT ${holder#* }): stop it (Ctrl-C in its terminal) before starting another"
      exit 1
    fi
    rm -f "$LOCK" # left by a run that was killed: taken over
  done
  _loud "could not take $LOCK"
  exit 1
}

run_unlock() {
  if $LOCKED; then rm -f "$LOCK"; fi
}

trap 'run_stop; run_unlock' EXIT
trap 'exit 130' INT TERM
run_lock

product_db_start() {
  _find_pg_bin || return 1
  mkdir -p "$VAR"
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: its own unprivileged user owns the cluster.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres || return 1
    RUNAS="runuser -u postgres --"
  fi
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    mkdir -p "$PG_DATA"
    [ -n "$RUNAS" ] && chown postgres "$PG_DATA"
    $RUNAS "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 >"$VAR/product-initdb.log" 2>&1 \
      || { cat "$VAR/product-initdb.log" >&2; return 1; }
  fi
  # A cluster an earlier run left running (its terminal closed) is taken over, not started twice.
  if ! $RUNAS "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    $RUNAS "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start \
      -o "-p $PRODUCT_PG_PORT -k $PG_DATA -c listen_addresses=127.0.0.1" >/dev/null \
      || { tail -20 "$PG_DATA/server.log" >&2; return 1; }
  fi
  PG_STARTED=true
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PRODUCT_PG_PORT" -U postgres product_demo 2>/dev/null || true
}

product_start() {
  local dsn="postgresql://postgres@127.0.0.1:$PRODUCT_PG_PORT/product_demo"
  $PY examples/product_service/seed.py --dsn "$dsn" --email demo@example.com >/dev/null || return 1
  [ -s "$VAR/product-secret" ] || { $PY -c 'import secrets; print(secrets.token_urlsafe(32))' >"$VAR/product-secret"; chmod 600 "$VAR/product-secret"; }
  $PY manage.py seed_demo --product-url "http://127.0.0.1:$PRODUCT_PORT/" \
    --product-secret-file "$VAR/product-secret" --support-dsn "$dsn" \
    --product-keys-file "$VAR/product-keys" || return 1
  PRODUCT_SERVICE_KEYS="$(cat "$VAR/product-keys")" $PY examples/product_service/service.py \
    --dsn "$dsn" --port "$PRODUCT_PORT" >"$VAR/product-service.log" 2>&1 &
  PRODUCT_PID=$!
  _say "example product service on http://127.0.0.1:$PRODUCT_PORT/ (log: var/product-service.log)"
}

# Links in e-mails, receipts and manifests, and the product service's callbacks, use PORTAL_URL:
# set before anything (migrations too) writes one.
portal_url_export "$HOST" "$PORT"
mkdir -p "$VAR"
messages_compile || _loud "the message catalogues could not be compiled (install gettext): pages show the libraries' own wording"
$PY manage.py migrate --noinput || exit 1

if product_db_start && product_start; then
  :
else
  _loud "the example product service could not be started (it needs PostgreSQL's server binaries and free ports PRODUCT_PG_PORT=$PRODUCT_PG_PORT, PRODUCT_PORT=$PRODUCT_PORT; see above): the portal runs alone"
  run_stop
  PRODUCT_PID=""; PG_STARTED=false
  $PY manage.py seed_demo || exit 1
fi
# In the background and waited for: a signal to this script then stops everything at once.
if [ -z "${CELERY_BROKER_URL:-}${REDIS_URL:-}" ]; then
  # Tasks run in-process; so do the periodic sweeps that take up work left waiting.
  $PY manage.py run_schedule &
  SCHEDULE_PID=$!
else
  _say "a broker is configured: tasks and the schedule need \`make worker\` and \`make beat\`"
fi
$PY manage.py runserver "$HOST:$PORT" &
SERVER_PID=$!
wait "$SERVER_PID"
