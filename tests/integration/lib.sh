# Shared helpers for the integration tests: start the real parleyd on a free port,
# drive it with the real parley and curl, check answers. Sourced by test_*.sh.
set -euo pipefail

: "${PARLEYD:?PARLEYD must point at the parleyd binary}"
: "${PARLEY:?PARLEY must point at the parley binary}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-it.XXXXXX")
HUB_PID=
PASS=0
FAIL=0

cleanup() {
  if [ -n "$HUB_PID" ] && kill -0 "$HUB_PID" 2>/dev/null; then
    kill -TERM "$HUB_PID" 2>/dev/null || true
    wait "$HUB_PID" 2>/dev/null || true
  fi
  if [ -n "${PG_DIR:-}" ]; then
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
  if [ "${KEEP_WORK:-0}" = 1 ] || [ "$FAIL" -gt 0 ]; then
    echo "work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
  local what=$1
  shift
  if "$@" >"$WORK/last.out" 2>&1; then ok "$what"; else
    not_ok "$what"
    sed 's/^/    /' "$WORK/last.out" | head -20
  fi
}

# With PARLEY_TEST_STORE=postgresql the hub runs on a real PostgreSQL server that this
# script starts (and removes) itself: the same tests cover both store backends.
PG_DIR=
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
start_postgres() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; return 1; }
  PG_DIR=$(mktemp -d /tmp/parley-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U parley >/dev/null
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-k $PG_DIR -p $port -c listen_addresses='' -c fsync=on" start >/dev/null
  pg_as "$PG_BIN/createdb" -h "$PG_DIR" -p "$port" -U parley parley
  PG_URL="postgresql:///parley?host=$PG_DIR&port=$port&user=parley"
}
STORE_ARGS=()
if [ "${PARLEY_TEST_STORE:-sqlite}" = postgresql ]; then
  start_postgres
  STORE_ARGS=(--store "$PG_URL")
fi

# start_hub DATADIR [extra parleyd args...]: starts parleyd on a free port; sets HUB.
start_hub() {
  local data=$1
  shift
  mkdir -p "$data"
  "$PARLEYD" --port 0 --data-dir "$data" --insecure-hub-key --origin test.parley.localhost \
    "${STORE_ARGS[@]}" "$@" >"$data/stdout" 2>"$data/stderr" &
  HUB_PID=$!
  for _ in $(seq 1 100); do
    if grep -q 'listening on' "$data/stdout" 2>/dev/null; then
      HUB=$(sed -n 's/^parleyd listening on //p' "$data/stdout")
      return 0
    fi
    if ! kill -0 "$HUB_PID" 2>/dev/null; then
      echo "parleyd exited at start:" >&2
      cat "$data/stderr" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "parleyd did not start" >&2
  return 1
}

# stop_hub: SIGTERM and wait; returns parleyd's exit status.
stop_hub() {
  local rc=0
  kill -TERM "$HUB_PID"
  wait "$HUB_PID" || rc=$?
  HUB_PID=
  return $rc
}

# http METHOD PATH [curl args...]: raw (unsigned) request; prints "STATUS BODY".
http() {
  local method=$1 path=$2
  shift 2
  curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" "$@" "$HUB$path" >"$WORK/status" || true
  echo "$(cat "$WORK/status") $(cat "$WORK/body")"
}

# expect_code WANT_STATUS WANT_CODE OUTPUT: OUTPUT is "STATUS BODY".
expect_code() {
  local status=${3%% *} body=${3#* }
  [ "$status" = "$1" ] || { echo "status $status, want $1: $body"; return 1; }
  [ -z "$2" ] || grep -q "\"code\":\"$2\"" <<<"$body" || { echo "want code $2: $body"; return 1; }
}

# as USER ARGS...: runs parley with USER's key against the hub.
as() {
  local who=$1
  shift
  "$PARLEY" --config "$WORK/$who.conf" "$@"
}

# new_user NAME: key pair without passphrase plus a config file for it.
new_user() {
  "$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/$1.key" >/dev/null
  mkdir -p "$WORK/home-$1"
  printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$WORK/$1.key" "$WORK/home-$1" >"$WORK/$1.conf"
}

pubkey() { "$PARLEY" --config /dev/null --json key show "$WORK/$1.key" | sed 's/.*"sign_pk":"\([^"]*\)".*/\1/'; }
fingerprint() { "$PARLEY" --config /dev/null --json key show "$WORK/$1.key" | sed 's/.*"fingerprint":"\([^"]*\)".*/\1/'; }

# expect_fail CODE COMMAND...: the command must fail and print CODE.
expect_fail() {
  local code=$1
  shift
  if "$@" >"$WORK/ef.out" 2>&1; then
    echo "succeeded, expected $code:"
    cat "$WORK/ef.out"
    return 1
  fi
  grep -q "$code" "$WORK/ef.out" || { echo "want $code, got:"; cat "$WORK/ef.out"; return 1; }
}

finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}
