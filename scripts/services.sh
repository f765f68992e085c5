# Throwaway PostgreSQL and Redis for tests and benchmarks. Source this file, then call
# `services_start`; the EXIT trap it sets stops both whatever happens.
# PostgreSQL refuses to run as root, so its server runs as the unprivileged `postgres` user.

SERVICES_DIR=""
PG_BIN=""

_say() { printf '\n==> %s\n' "$*" >&2; }
_loud() { printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n!!! %s\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' "$*" >&2; }

# `make run`: the portal's public address (PORTAL_URL, for links in e-mails, receipts and
# manifests) follows HOST and PORT unless it is set. A wildcard address is reached on loopback.
portal_url_export() {
  local host="$1" port="$2"
  if [ -z "${PORTAL_URL:-}" ]; then
    case "$host" in
      0.0.0.0 | "" ) host=127.0.0.1 ;;
      :: | "[::]" ) host="[::1]" ;;
      \[*\] ) ;;
      *:* ) host="[$host]" ;;
    esac
    PORTAL_URL="http://$host:$port"
  fi
  export PORTAL_URL
}

_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_apt_install() {
  # Installs Debian packages when missing (we are root on these machines).
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    _loud "missing packages ${missing[*]} and not root: install them with apt-get"
    return 1
  fi
  _say "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The portal's message catalogues (locale/), compiled: gettext's msgfmt, installed when missing.
messages_compile() {
  command -v msgfmt >/dev/null 2>&1 || _apt_install gettext || return 1
  .venv/bin/python manage.py compilemessages --ignore .venv --ignore var -v0
}

system_deps_install() {
  _apt_install redis-server chromium || return 1
}

_find_pg_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    PG_BIN="$(dirname "$(readlink -f "$(command -v initdb)")")"
    return 0
  fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then PG_BIN="$d"; return 0; fi
  done
  return 1
}

postgres_start() {
  _find_pg_bin || { _loud "PostgreSQL server binaries (initdb, pg_ctl) not found"; return 1; }
  local port data runas=""
  port="$(_free_port)"
  data="$SERVICES_DIR/pg"
  mkdir -p "$data"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres "$SERVICES_DIR"
    chmod 755 "$SERVICES_DIR"
    runas="runuser -u postgres --"
  fi
  $runas "$PG_BIN/initdb" -D "$data" -A trust -U postgres --no-sync -E UTF8 >"$SERVICES_DIR/initdb.log" 2>&1 \
    || { cat "$SERVICES_DIR/initdb.log" >&2; _loud "initdb failed"; return 1; }
  # Durability is irrelevant for a throwaway test cluster; speed is not.
  $runas "$PG_BIN/pg_ctl" -D "$data" -l "$SERVICES_DIR/postgres.log" -w -t 60 start \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null || { cat "$SERVICES_DIR/postgres.log" >&2; _loud "PostgreSQL did not start"; return 1; }
  PG_RUNAS="$runas"
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres portal \
    || { _loud "could not create the portal database"; return 1; }
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/portal"
  _say "PostgreSQL on 127.0.0.1:$port"
}

redis_start() {
  command -v redis-server >/dev/null 2>&1 || { _loud "redis-server not found"; return 1; }
  local port
  port="$(_free_port)"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$SERVICES_DIR/redis.pid" --logfile "$SERVICES_DIR/redis.log" --dir "$SERVICES_DIR" \
    || { _loud "Redis did not start"; return 1; }
  for _ in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$port" ping >/dev/null 2>&1 || { _loud "Redis does not answer"; return 1; }
  REDIS_PORT="$port"
  export REDIS_URL="redis://127.0.0.1:$port/0"
  _say "Redis on 127.0.0.1:$port"
}

services_stop() {
  set +e
  if [ -n "${REDIS_PORT:-}" ]; then redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1; fi
  if [ -n "$SERVICES_DIR" ] && [ -d "$SERVICES_DIR/pg" ]; then
    ${PG_RUNAS:-} "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -m immediate -w stop >/dev/null 2>&1
  fi
  [ -n "$SERVICES_DIR" ] && rm -rf "$SERVICES_DIR"
}

services_start() {
  SERVICES_DIR="$(mktemp -d /tmp/portal-services.XXXXXX)"
  trap services_stop EXIT
  trap 'exit 130' INT TERM
  postgres_start && redis_start
}
