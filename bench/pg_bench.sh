#!/usr/bin/env bash
# make bench, PostgreSQL part: the record and message benchmarks of run.sh with the hub
# on PostgreSQL beside SQLite, with one and two parleyd instances, in one run:
#   sqlite-1  one parleyd on SQLite: the reference of every ratio
#   pg-1      one parleyd on a PostgreSQL server this script starts (fsync and
#             synchronous_commit on, as a hub runs it), the hub key in parleyd-signer
#   pg-2      two parleyd on that server and signer, each driven by half the connections
#             at once (a balancer's work, without a balancer's cost)
# record:   signed GET /v1/states/EST/record (~4 KiB), every request its own nonce (on
#           PostgreSQL claimed in the shared request_nonces table), closed loop
# messages: durable POST /v1/messages of pre-sealed envelopes (BENCH_MSG_SIZE, 3
#           recipients), each sent once, closed loop
#   ./bench/pg_bench.sh BUILD_DIR
# Settings: BENCH_PG_DURATION (5 s per run), BENCH_CONNECTIONS (32), BENCH_PG_MSGS (8000
# envelopes per message run; a run ends early when they are all sent), BENCH_MSG_SIZE
# (2048), BENCH_OUT (BENCHMARKS.md: the section between <!-- pg-bench --> and
# <!-- /pg-bench -->; BENCH_OUT=- prints it). Traffic never leaves the machine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
DURATION=${BENCH_PG_DURATION:-5}
CONNS=${BENCH_CONNECTIONS:-32}
MSGS=${BENCH_PG_MSGS:-8000}
MSG_SIZE=${BENCH_MSG_SIZE:-2048}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
PARLEYD=$BUILD/parleyd
PARLEY=$BUILD/parley
SIGNER=$BUILD/parleyd-signer
LOADGEN=$BUILD/loadgen
MSGPREP=$BUILD/msgprep
T0=$(date +%s)

log() { echo "pg-bench: $*" >&2; }
die() {
  log "$*"
  exit 1
}
for b in "$PARLEYD" "$PARLEY" "$SIGNER" "$LOADGEN" "$MSGPREP"; do
  [ -x "$b" ] || die "$b missing: build first (make build)"
done
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PG_BIN/initdb" ] || die "PostgreSQL server binaries missing (apt-get install postgresql; make deps does)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-pgbench.XXXXXX")
PG_DIR=
PIDS=()
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$PG_DIR" ]; then
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
wait_line() { # FILE PATTERN
  for _ in $(seq 1 150); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  die "no '$2' in $1: $(tail -5 "$1")"
}

# --- PostgreSQL and the signer ----------------------------------------------------------
PG_DIR=$(mktemp -d /tmp/parley-pgbench-db.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
PG_PORT=$(free_port)
pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U parley >/dev/null
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
  -o "-k $PG_DIR -p $PG_PORT -c listen_addresses='' -c fsync=on -c synchronous_commit=on -c max_connections=200" \
  start >/dev/null
pg_as "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U parley parley
PG_URL="postgresql:///parley?host=$PG_DIR&port=$PG_PORT&user=parley"
PG_VERSION=$("$PG_BIN/postgres" --version | awk '{print $3}')
mkdir -p "$WORK/signer"
"$SIGNER" -d "$WORK/signer" --origin bench.parley.localhost --insecure-hub-key \
  >"$WORK/signer/stdout" 2>"$WORK/signer/stderr" &
PIDS+=($!)
wait_line "$WORK/signer/stdout" 'listening on'

for u in op root p1 fin-root f1 f2 f3; do
  "$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/$u.key" >/dev/null
done
pubkey() { "$PARLEY" --config /dev/null --json key show "$WORK/$1.key" | sed 's/.*"sign_pk":"\([^"]*\)".*/\1/'; }
fingerprint() { "$PARLEY" --config /dev/null --json key show "$WORK/$1.key" | sed 's/.*"fingerprint":"\([^"]*\)".*/\1/'; }
OP_PK=$(pubkey op)

# hub NAME PORT [args]: a parleyd with run.sh's budgets (none that a run could reach).
hub() {
  local d=$WORK/$1 port=$2
  shift 2
  mkdir -p "$d"
  "$PARLEYD" --port "$port" --data-dir "$d" --origin bench.parley.localhost --operator-key "$OP_PK" \
    --max-conn-per-ip $((CONNS + 16)) --key-rate 10000000 --key-burst 10000000 \
    --key-nonces 100000000 --state-bytes-per-day 1125899906842624 "$@" >"$d/stdout" 2>"$d/stderr" &
  PIDS+=($!)
  wait_line "$d/stdout" 'listening on'
}
as() { # as USER ARGS: the CLI against $HUB with USER's key
  local u=$1
  shift
  mkdir -p "$WORK/home-$u-$TAG"
  printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$WORK/$u.key" "$WORK/home-$u-$TAG" >"$WORK/$u.conf"
  "$PARLEY" --config "$WORK/$u.conf" "$@"
}
# onboard: EST (the sender and reader, p1) and FIN (three recipients), as run.sh does.
onboard() {
  as op admin state add --code EST --name Estonia --region eastern-european \
    --root-key "$WORK/root.key.pub" --fingerprint "$(fingerprint root)" >/dev/null
  as root state init --state EST --out "$WORK/est-$TAG.json" >/dev/null
  as root state poc add "$WORK/est-$TAG.json" --id est-poc-1 --name "Duty Officer 1" --role technical \
    --email duty1@cert.ee.example --phone "+372 600 0001" --language et --language en \
    --timezone Europe/Tallinn --poc-key "$WORK/p1.key" >/dev/null
  as root state sign "$WORK/est-$TAG.json" >/dev/null
  as root state publish "$WORK/est-$TAG.json" >/dev/null
  as op admin state add --code FIN --name Finland --region western-european-and-others \
    --root-key "$WORK/fin-root.key.pub" --fingerprint "$(fingerprint fin-root)" >/dev/null
  as fin-root state init --state FIN --out "$WORK/fin-$TAG.json" >/dev/null
  for i in 1 2 3; do
    as fin-root state poc add "$WORK/fin-$TAG.json" --id "fin-poc-$i" --name "NCSC Officer $i" \
      --role technical --email "ncsc$i@fin.example" --phone "+358 29 000 000$i" --language fi \
      --poc-key "$WORK/f$i.key" >/dev/null
  done
  as fin-root state sign "$WORK/fin-$TAG.json" >/dev/null
  as fin-root state publish "$WORK/fin-$TAG.json" >/dev/null
  as p1 api GET /v1/states/FIN/record >"$WORK/fin-record-$TAG.json"
}
seal() { # seal FILE COUNT
  "$MSGPREP" --key "$WORK/p1.key" --from EST/est-poc-1 --record "$WORK/fin-record-$TAG.json" \
    --root "$WORK/fin-root.key.pub" --to fin-poc-1,fin-poc-2,fin-poc-3 --size "$MSG_SIZE" \
    --count "$2" --out "$1" >/dev/null || die "sealing envelopes failed"
}

RES=$WORK/results
mkdir -p "$RES"
PRESIGN=
# bench CONFIG URL...: the record run, then the message run, with the connections split
# evenly over the URLs (one load generator per instance, all started together).
bench() {
  local cfg=$1
  shift
  local n=$# c=$((CONNS / $#)) i pids=()
  if [ -z "$PRESIGN" ]; then # size the signed pool once, on the first configuration
    "$LOADGEN" --url "$1/v1/states/EST/record" --key "$WORK/p1.key" --connections "$CONNS" \
      --duration 2 --warmup 0 --presign 40000 --label probe >"$RES/probe.json"
    PRESIGN=$(json "$RES/probe.json" "int(d['rps'] * ($DURATION + 1) * 2) + 5000")
    log "probe: $(json "$RES/probe.json" 'int(d["rps"])') signed GET/s; $PRESIGN pre-signed per run"
  fi
  log "$cfg: record, $n instance(s), $CONNS connections"
  for i in $(seq 1 "$n"); do
    "$LOADGEN" --url "${!i}/v1/states/EST/record" --key "$WORK/p1.key" --connections "$c" \
      --duration "$DURATION" --warmup 1 --presign $((PRESIGN / n)) --label "$cfg-record-$i" \
      >"$RES/$cfg-record-$i.json" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "load generator failed ($cfg record)"; done
  pids=()
  for i in $(seq 1 "$n"); do seal "$WORK/bodies-$i.bin" $((MSGS / n)); done
  log "$cfg: messages, $n instance(s), $CONNS connections"
  for i in $(seq 1 "$n"); do
    "$LOADGEN" --url "${!i}/v1/messages" --method POST --key "$WORK/p1.key" \
      --bodies "$WORK/bodies-$i.bin" --connections "$c" --duration "$DURATION" --warmup 1 \
      --label "$cfg-messages-$i" >"$RES/$cfg-messages-$i.json" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "load generator failed ($cfg messages)"; done
  rm -f "$WORK"/bodies-*.bin
}

TAG=sqlite
HUB=http://127.0.0.1:$(free_port)
hub sqlite "${HUB##*:}" --insecure-hub-key
onboard
bench sqlite-1 "$HUB"

TAG=pg
PORT_A=$(free_port)
PORT_B=$(free_port)
HUB=http://127.0.0.1:$PORT_A
hub pg-a "$PORT_A" --store "$PG_URL" --signer "$WORK/signer/signer.sock"
onboard
bench pg-1 "$HUB"
hub pg-b "$PORT_B" --store "$PG_URL" --signer "$WORK/signer/signer.sock"
bench pg-2 "http://127.0.0.1:$PORT_A" "http://127.0.0.1:$PORT_B"
for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null || die "a process died during the benchmark"; done
STORED=$("$PG_BIN/psql" "$PG_URL" -XAtq -c "SELECT count(*) FROM messages")

# --- the section ------------------------------------------------------------------------------
export RES DURATION CONNS MSGS MSG_SIZE PG_VERSION STORED
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
NPROC=$(nproc)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
export CPU NPROC LOAD
section=$(python3 - <<'PY'
import glob, json, os
res = os.environ["RES"]
def agg(cfg, kind):
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{res}/{cfg}-{kind}-*.json"))]
    return {
        "rps": sum(r["rps"] for r in runs),
        "p50": max(r["latency_ms"]["p50"] for r in runs),
        "p99": max(r["latency_ms"]["p99"] for r in runs),
        "bad": sum(r["non2xx"] + r["errors"] + r["timeouts"] for r in runs),
        "n": len(runs),
    }
cfgs = [("sqlite-1", "SQLite, one parleyd"), ("pg-1", "PostgreSQL, one parleyd"),
        ("pg-2", "PostgreSQL, two parleyd")]
out = []
for kind, title in (("record", "signed GET of a state record"),
                    ("messages", f"durable POST /v1/messages ({os.environ['MSG_SIZE']}-byte envelopes, 3 recipients)")):
    ref = agg("sqlite-1", kind)["rps"]
    out.append(f"\n{title}:\n")
    out.append("| store, instances | req/s | ratio to SQLite, one | p50 ms | p99 ms | non-2xx or errors |")
    out.append("|---|---|---|---|---|---|")
    for cfg, name in cfgs:
        a = agg(cfg, kind)
        out.append(f"| {name} | {a['rps']:.0f} | {a['rps'] / ref:.2f} | {a['p50']:.2f} | {a['p99']:.2f} | {a['bad']} |")
print(f"""## PostgreSQL beside SQLite, one and two instances (issue 17)

Command: `./bench/pg_bench.sh build` (part of `make bench`; the figures below:
`BENCH_PG_DURATION={os.environ['DURATION']} BENCH_PG_MSGS={os.environ['MSGS']} ./bench/pg_bench.sh build`).
{os.environ['CPU']}, {os.environ['NPROC']} cores shared by the hubs, PostgreSQL {os.environ['PG_VERSION']}
(its own server, fsync and synchronous_commit on) and the load generators; load average
at the end {os.environ['LOAD']}. {os.environ['CONNS']} connections in all, split evenly over the
instances; {os.environ['DURATION']} s per run after 1 s of warm-up, closed loop, one run each. On
PostgreSQL the hub key is in parleyd-signer; every signed request's nonce is claimed in
the shared table. The ratios are to SQLite with one parleyd measured in the same run.
{chr(10).join(out)}

With two instances the ratio measures what a second parleyd adds when both share one
machine with the database; on separate machines the hubs' CPU adds up and the database
is the limit. Messages stored on PostgreSQL at the end: {os.environ['STORED']}.""")
PY
)
if [ "$OUT" = - ]; then
  echo "$section"
else
  python3 - "$OUT" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], "<!-- pg-bench -->\n" + sys.argv[2].strip() + "\n<!-- /pg-bench -->"
text = open(path).read()
if "<!-- pg-bench -->" in text:
    text = re.sub(r"<!-- pg-bench -->.*?<!-- /pg-bench -->", lambda m: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
  log "wrote the PostgreSQL section of $OUT"
fi
log "done in $(($(date +%s) - T0)) s"
