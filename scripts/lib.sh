# Shared by scripts/test and scripts/dev: install what is missing, start what is needed.
# Sourced, not run. Everything started here is stopped by `cleanup` (trap it on EXIT).

STARTED_PIDS=()
STARTED_PG_DATA=""
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Builds are slow on small machines: share one target dir between clones by default.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/skillreel-target}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: FFmpeg libraries and CLI, clang for bindgen, pkg-config, PostgreSQL.
ensure_packages() {
  local wanted=(ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
                libavfilter-dev libavdevice-dev clang libclang-dev pkg-config postgresql curl ca-certificates
                python3 python3-venv)
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

pg_answers() { pg_isready -q -d "$1" 2>/dev/null || psql "$1" -qAtc 'select 1' >/dev/null 2>&1; }

# Exports DATABASE_URL: the given one if it answers, the local server if it answers,
# else a throwaway cluster started with the system's initdb/pg_ctl.
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ] && pg_answers "$DATABASE_URL"; then
    log "using PostgreSQL at $DATABASE_URL"; return
  fi
  if pg_answers "postgres://postgres@127.0.0.1:5432/postgres"; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    log "using PostgreSQL at 127.0.0.1:5432"; return
  fi
  start_private_postgres
}

# Exports DATABASE_URL of a throwaway cluster started with the system's initdb/pg_ctl,
# sized for the test suite: each test instance holds its pool plus the catalog's
# listeners, and four tests with two instances each outgrow a default server's 100.
start_private_postgres() {
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -x "$bin/initdb" ] || die "no PostgreSQL server binaries found"
  local port; port=$(free_port)
  STARTED_PG_DATA=$(mktemp -d /tmp/skillreel-pg.XXXXXX)
  local run=()
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$STARTED_PG_DATA"; run=(runuser -u postgres --); fi
  log "starting a throwaway PostgreSQL cluster on port $port"
  "${run[@]}" "$bin/initdb" -D "$STARTED_PG_DATA" -U postgres --auth=trust -E UTF8 --no-instructions >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$STARTED_PG_DATA" -l "$STARTED_PG_DATA/server.log" -w -o \
    "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300 -c fsync=off" start >/dev/null
  PG_BIN="$bin"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# Starts s3s-fs (an S3 server that checks SigV4 signatures) on a free port and exports
# the SKILLREEL_TEST_S3_* variables the storage and end-to-end tests read.
ensure_s3() {
  if ! command -v s3s-fs >/dev/null; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v s3s-fs >/dev/null; then
    log "installing s3s-fs"
    cargo install s3s-fs --version 0.14.1 --locked --features binary
  fi
  local port dir; port=$(free_port); dir=$(mktemp -d /tmp/skillreel-s3.XXXXXX)
  export SKILLREEL_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export SKILLREEL_TEST_S3_ACCESS_KEY="skillreel-test"
  export SKILLREEL_TEST_S3_SECRET_KEY="skillreel-test-secret"
  s3s-fs --host 127.0.0.1 --port "$port" --access-key "$SKILLREEL_TEST_S3_ACCESS_KEY" \
    --secret-key "$SKILLREEL_TEST_S3_SECRET_KEY" "$dir" >"$dir.log" 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port" && break; sleep 0.2; done
  curl -s -o /dev/null "http://127.0.0.1:$port" || die "s3s-fs did not start (see $dir.log)"
  log "s3s-fs listening on $SKILLREEL_TEST_S3_ENDPOINT"
}

# cargo-deny, which checks licences, banned crates and sources (deny.toml).
ensure_cargo_deny() {
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! cargo deny --version 2>/dev/null | grep -q '^cargo-deny 0.20'; then
    log "installing cargo-deny"
    cargo install cargo-deny --version 0.20.2 --locked
  fi
}

# The independent Python tools the tests drive, in a venv of their own: tuspy (the tus
# client of the upload tests) and schemathesis (the contract test, scripts/contract).
ensure_python_tools() {
  local venv="$HOME/.cache/skillreel-venv"
  if ! "$venv/bin/python" -c 'import tusclient' 2>/dev/null \
     || [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version 4.32.5" ]; then
    log "installing tuspy and schemathesis"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check tuspy==1.1.0 schemathesis==4.32.5
  fi
  export SKILLREEL_TEST_PYTHON="$venv/bin/python"
}

# Ralph, a real xAPI LRS (PyPI ralph-malph), in its own virtualenv; the learning tests
# start it with tests/lrs/ralph_server.py. The `lrs` extra alone lacks the CLI (used to
# validate statements against the xAPI Video Profile) and `requests`.
ensure_ralph() {
  local venv="${SKILLREEL_RALPH_VENV:-$HOME/.cache/ralph-venv}"
  if ! "$venv/bin/python" -c 'import importlib.metadata as m, requests, uvicorn, bcrypt
assert m.version("ralph-malph") == "5.1.0"' 2>/dev/null || [ ! -x "$venv/bin/ralph" ]; then
    log "installing Ralph (xAPI LRS) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'ralph-malph[cli,lrs]==5.1.0' requests
  fi
  export SKILLREEL_TEST_RALPH_PYTHON="$venv/bin/python"
  export SKILLREEL_TEST_RALPH_CLI="$venv/bin/ralph"
  export SKILLREEL_TEST_RALPH_SERVER="$ROOT_DIR/tests/lrs/ralph_server.py"
}

# bovine (PyPI, MIT), an independent ActivityPub implementation, in its own virtualenv:
# the federation interop test runs tests/federation/bovine_peer.py with it.
ensure_bovine() {
  local venv="${SKILLREEL_BOVINE_VENV:-$HOME/.cache/bovine-venv}"
  if ! "$venv/bin/python" -c 'import importlib.metadata as m, aiohttp
assert m.version("bovine") == "0.5.19"' 2>/dev/null; then
    log "installing bovine (ActivityPub) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'bovine==0.5.19'
  fi
  export SKILLREEL_TEST_BOVINE_PYTHON="$venv/bin/python"
  export SKILLREEL_TEST_BOVINE_PEER="$ROOT_DIR/tests/federation/bovine_peer.py"
}

# A database with the schema, for the compile-time checked queries.
ensure_build_database() {
  local base="${DATABASE_URL%/*}"
  export SKILLREEL_BUILD_DATABASE_URL="$base/skillreel_build"
  psql "$DATABASE_URL" -qc "drop database if exists skillreel_build with (force)" >/dev/null
  psql "$DATABASE_URL" -qc "create database skillreel_build" >/dev/null
  for f in "$ROOT_DIR"/migrations/*.sql; do
    psql "$SKILLREEL_BUILD_DATABASE_URL" -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null
  done
}

cleanup() {
  for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$STARTED_PG_DATA" ]; then
    local run=(); [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
    "${run[@]}" "$PG_BIN/pg_ctl" -D "$STARTED_PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$STARTED_PG_DATA"
  fi
}
