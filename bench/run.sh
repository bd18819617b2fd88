#!/usr/bin/env bash
# make bench: measured speed of parleyd beside references taken in the same run.
#   ./bench/run.sh BUILD_DIR        (BUILD_DIR holds parleyd, parley and libparley.a)
# Builds the bench tools into BUILD_DIR/bench, starts nginx and a fresh parleyd on free
# ports of 127.0.0.1, publishes a ~4 KiB state record with the real parley CLI, serves
# the same bytes from nginx, drives both with the same load generator, connections and
# duration, and writes BENCHMARKS.md. Traffic never leaves 127.0.0.1. Not part of
# `make check`. Parts (BENCH_PARTS, default all of "record messages tiles tlog"):
#   record    signed GET of a state record against nginx serving the same bytes (issue 3)
#   messages  durable POST /v1/messages of pre-sealed 2 KiB, 3-recipient envelopes, at max
#             rate and at a steady 500/s, beside the Ed25519 verify and fsync rates (issue 4)
#   tiles     GET /log/tile/0/000 from parleyd against nginx serving the same bytes (issue 5)
#   tlog      the log on the store API without HTTP: appends (1 and 100 per transaction,
#             with checkpoints) and inclusion proofs at 1 M and 10 M leaves (issue 5). The
#             1 M and 10 M stores are built once into BUILD_DIR/bench/tlog/ and reused (the
#             first run takes about 4 minutes longer for that, 2 GB of disk;
#             BENCH_TLOG_DIR puts them elsewhere, BENCH_TLOG_REBUILD=1 builds them again,
#             BENCH_TLOG_SIZES="1000000" skips the 10 M one).
# Settings: BENCH_CONNECTIONS (32), BENCH_DURATION (10 s per run),
# BENCH_ROUNDS (2: the record runs (a), (b), (c), the max-rate message runs, the tile runs,
# the store-API appends and the proofs are measured that many times, and the best of each
# is reported, as other work on a shared machine only ever slows a run down; the steady
# runs once), BENCH_PROFILE (auto: profile parleyd when a target is missed;
# 1 always; 0 never), BENCH_MSG_RATE (500: the steady message rate), BENCH_MSG_SIZE (2048:
# the envelope's size in bytes, as POSTed), BENCH_OUT
# (BENCHMARKS.md).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
CONNS=${BENCH_CONNECTIONS:-32}
DURATION=${BENCH_DURATION:-10}
WARMUP=1
ROUNDS=${BENCH_ROUNDS:-2}
PROFILE_MODE=${BENCH_PROFILE:-auto}
PARTS=" ${BENCH_PARTS:-record messages tiles tlog} "
MSG_RATE=${BENCH_MSG_RATE:-500}
MSG_SIZE=${BENCH_MSG_SIZE:-2048}
TLOG_SIZES=${BENCH_TLOG_SIZES:-1000000 10000000}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
PARLEYD=$BUILD/parleyd
PARLEY=$BUILD/parley
TOOLS=$BUILD/bench
T0=$(date +%s)

log() { echo "bench: $*" >&2; }
part() { [[ "$PARTS" == *" $1 "* ]]; }
die() {
  log "$*"
  exit 1
}
for b in "$PARLEYD" "$PARLEY" "$BUILD/libparley.a"; do
  [ -e "$b" ] || die "$b missing: build first (make build)"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx missing: apt-get install nginx-light (make deps does)"
command -v python3 >/dev/null || die "python3 missing"

# --- tools ---------------------------------------------------------------------------
mkdir -p "$TOOLS"
CFLAGS="-std=c11 -O2 -g -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
  -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral"
# shellcheck disable=SC2086
{
  cc $CFLAGS -o "$TOOLS/ed25519_rate" "$ROOT/bench/ed25519_rate.c" $(pkg-config --cflags --libs libsodium)
  cc $CFLAGS -o "$TOOLS/fsync_rate" "$ROOT/bench/fsync_rate.c"
  cc $CFLAGS -I "$ROOT/include" -I "$ROOT/src/daemon" -o "$TOOLS/budget_bench" \
    "$ROOT/bench/budget_bench.c" "$ROOT/src/daemon/budget.c" "$ROOT/src/daemon/nonce_cache.c" \
    "$BUILD/libparley.a" $(pkg-config --cflags --libs libsodium) -lpthread
  for t in loadgen msgprep tlog_bench; do
    cc $CFLAGS -I "$ROOT/include" -o "$TOOLS/$t" "$ROOT/bench/$t.c" "$BUILD/libparley.a" \
      $(pkg-config --cflags --libs libsodium jansson sqlite3) \
      $(pkg-config --libs libpq 2>/dev/null || echo -lpq) -lpthread -lm
  done
} || die "building the bench tools failed"
LOADGEN=$TOOLS/loadgen

# --- work dir and cleanup --------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
HUB_PID=
NGINX_PID=
cleanup() {
  for p in $HUB_PID $NGINX_PID; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
json() { # json FILE EXPR: a field of a one-line JSON result, e.g. json f.json 'd["rps"]'
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$HUB_PID/status"; }

# --- parleyd, a state and its ~4 KiB record, through the real CLI -------------------
for u in op root p1 p2 p3 p4 p5 p6 p7 fin-root f1 f2 f3; do
  "$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/$u.key" >/dev/null
done
pubkey() { "$PARLEY" --config /dev/null --json key show "$WORK/$1.key" | sed 's/.*"sign_pk":"\([^"]*\)".*/\1/'; }
fingerprint() { "$PARLEY" --config /dev/null --json key show "$WORK/$1.key" | sed 's/.*"fingerprint":"\([^"]*\)".*/\1/'; }

mkdir -p "$WORK/hub"
"$PARLEYD" --port 0 --data-dir "$WORK/hub" --insecure-hub-key --origin bench.parley.localhost \
  --operator-key "$(pubkey op)" --max-conn-per-ip $((CONNS + 16)) \
  --key-rate 10000000 --key-burst 10000000 --key-nonces 100000000 \
  --state-bytes-per-day 1125899906842624 \
  >"$WORK/hub.stdout" 2>"$WORK/hub.stderr" &
HUB_PID=$!
HUB=
for _ in $(seq 1 100); do
  HUB=$(sed -n 's/^parleyd listening on //p' "$WORK/hub.stdout" 2>/dev/null || true)
  [ -n "$HUB" ] && break
  kill -0 "$HUB_PID" 2>/dev/null || die "parleyd exited at start: $(cat "$WORK/hub.stderr")"
  sleep 0.1
done
[ -n "$HUB" ] || die "parleyd did not start"
log "parleyd (pid $HUB_PID) on $HUB"
conf() {
  mkdir -p "$WORK/home-$1"
  printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$WORK/$2.key" "$WORK/home-$1" >"$WORK/$1.conf"
}
conf op op
conf root root
conf reader p1 # EST's first duty officer reads its state's record
as() {
  local who=$1
  shift
  "$PARLEY" --config "$WORK/$who.conf" "$@"
}
as op admin state add --code EST --name Estonia --region eastern-european \
  --root-key "$WORK/root.key.pub" --fingerprint "$(fingerprint root)" >/dev/null
R=$WORK/est.json
as root state init --state EST --out "$R" >/dev/null
for i in 1 2 3 4 5 6 7; do
  as root state poc add "$R" --id "est-poc-$i" --name "Duty Officer $i" --position "Duty officer" \
    --role technical --email "duty$i@cert.ee.example" --phone "+372 600 000$i" --language et \
    --language en --timezone Europe/Tallinn --poc-key "$WORK/p$i.key" >/dev/null
done
as root state sign "$R" >/dev/null
as root state publish "$R" >/dev/null
RECORD_PATH=/v1/states/EST/record
# FIN, whose three technical POCs receive the benchmark's messages.
conf fin-root fin-root
conf fin1 f1
as op admin state add --code FIN --name Finland --region western-european-and-others \
  --root-key "$WORK/fin-root.key.pub" --fingerprint "$(fingerprint fin-root)" >/dev/null
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
for i in 1 2 3; do
  as fin-root state poc add "$WORK/fin.json" --id "fin-poc-$i" --name "NCSC Officer $i" \
    --position "Duty officer" --role technical --email "ncsc$i@fin.example" \
    --phone "+358 29 000 000$i" --language fi --language en --poc-key "$WORK/f$i.key" >/dev/null
done
as fin-root state sign "$WORK/fin.json" >/dev/null
as fin-root state publish "$WORK/fin.json" >/dev/null

# The exact bytes the hub serves, fetched once with a signed request.
mkdir -p "$WORK/www/v1/states/EST"
as reader api --headers-only GET "$RECORD_PATH" >"$WORK/sig-headers.txt"
H=()
while IFS= read -r line; do H+=(-H "$line"); done <"$WORK/sig-headers.txt"
code=$(curl -s -o "$WORK/www$RECORD_PATH" -w '%{http_code}' "${H[@]}" "$HUB$RECORD_PATH")
[ "$code" = 200 ] || die "signed GET of the record: HTTP $code: $(cat "$WORK/www$RECORD_PATH")"
RECORD_BYTES=$(wc -c <"$WORK/www$RECORD_PATH")
log "record: $RECORD_BYTES bytes"
sleep 1
RSS_IDLE=$(kib VmRSS)
HWM_IDLE=$(kib VmHWM)

# --- nginx serving the same bytes ----------------------------------------------------
NG=$WORK/nginx
mkdir -p "$NG"
chmod 711 "$WORK" # nginx workers (user nobody when started as root) must reach www/
chmod -R a+rX "$WORK/www"
NGINX_PORT=$(free_port)
ngconf() { # $1 = 1 to set every temp path (needs the fastcgi/uwsgi/scgi modules)
  cat <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  default_type application/json;
  client_body_temp_path $NG/body;
$( [ "$1" = 1 ] && printf '  proxy_temp_path %s/proxy;\n  fastcgi_temp_path %s/fastcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n' "$NG" "$NG" "$NG" "$NG")
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    location / { }
  }
}
EOF
}
ngconf 1 >"$NG/nginx.conf"
if ! "$NGINX" -t -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" >/dev/null 2>&1; then
  ngconf 0 >"$NG/nginx.conf"
fi
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" >"$NG/stdout" 2>&1 &
NGINX_PID=$!
NGX="http://127.0.0.1:$NGINX_PORT"
for _ in $(seq 1 50); do
  curl -s -o /dev/null "$NGX$RECORD_PATH" && break
  kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$NG/error.log" "$NG/stdout")"
  sleep 0.1
done
curl -s "$NGX$RECORD_PATH" | cmp -s - "$WORK/www$RECORD_PATH" || die "nginx does not serve the record"
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')
ngx_pids() { echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"; }
log "nginx $NGINX_VERSION (pid $NGINX_PID) on $NGX"

# --- measurements --------------------------------------------------------------------
RES=$WORK/results
mkdir -p "$RES"
# run NAME SERVER_PIDS... -- LOADGEN ARGS: one load run; the load generator samples the
# servers' CPU over its measured window.
run() {
  local name=$1
  shift
  local pids=()
  while [ "$1" != -- ]; do
    pids+=(--pid "$1")
    shift
  done
  shift
  log "run $name"
  "$LOADGEN" --label "$name" --connections "$CONNS" --duration "$DURATION" --warmup "$WARMUP" \
    "${pids[@]}" "$@" >"$RES/$name.json" || die "load generator failed in $name"
  log "  $(json "$RES/$name.json" '"%.0f req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d, errors %d, other processes %.2f cores" % (d["rps"], d["latency_ms"]["p50"], d["latency_ms"]["p99"], d["non2xx"], d["errors"] + d["timeouts"], d["other_cpu_s"] / (d["cpu_window_s"] or 1))')"
}
best() { # best NAME_PREFIX: the round with the highest req/s
  python3 - "$RES" "$1" <<'PY'
import glob, json, os, sys
runs = sorted(glob.glob(os.path.join(sys.argv[1], sys.argv[2] + "_r*.json")))
print(os.path.basename(max(runs, key=lambda f: json.load(open(f))["rps"]))[:-5])
PY
}
hub_alive() {
  kill -0 "$HUB_PID" 2>/dev/null || die "parleyd died during the benchmark: $(tail -20 "$WORK/hub.stderr")"
}
# The hub's log size, from its public health check.
log_size() { curl -s "$HUB/healthz" | python3 -c 'import json, sys; print(json.load(sys.stdin)["log_size"])'; }
# add_fields FILE KEY=VALUE...: adds numeric fields to a one-line JSON result.
add_fields() {
  python3 - "$@" <<'PY'
import json, sys
f = sys.argv[1]
d = json.load(open(f))
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    d[k] = json.loads(v)
open(f, "w").write(json.dumps(d) + "\n")
PY
}

# --- (issue 3) the signed record against nginx ---------------------------------------
SIGN_URL=$HUB$RECORD_PATH
MET=skipped
BEST_A= BEST_B= RSS_LOAD= HWM_LOAD= WRK_RPS= PRESIGN= MSG_PROBE= TILE_BYTES= HUB_CHECKPOINT_SIZE=
if part record; then
  # Size the pre-signed pool of (b) with a short probe, so that client signing never runs
  # inside a timed window and the pool does not run out.
  "$LOADGEN" --url "$HUB$RECORD_PATH" --key "$WORK/p1.key" --connections "$CONNS" --duration 2 \
    --warmup 0 --presign 60000 --label probe >"$RES/probe.json"
  PROBE_RPS=$(json "$RES/probe.json" 'int(d["rps"])')
  PRESIGN=$(python3 -c "print(int($PROBE_RPS * ($DURATION + $WARMUP) * 1.6) + 5000)")
  log "probe: $PROBE_RPS signed req/s; pre-signing $PRESIGN per run"
  for i in $(seq 1 "$ROUNDS"); do
    # (a) nginx, the same signed requests (nginx ignores the signature headers; replays
    # are harmless to it, so a pool of pre-signed requests is reused).
    # shellcheck disable=SC2046
    run "a_nginx_record_r$i" $(ngx_pids) -- --url "$NGX$RECORD_PATH" --key "$WORK/p1.key" \
      --sign-url "$SIGN_URL" --presign 2000 --cycle
    # (b) parleyd, every request signed with its own nonce, every check included.
    run "b_parleyd_record_signed_r$i" "$HUB_PID" -- --url "$HUB$RECORD_PATH" \
      --key "$WORK/p1.key" --presign "$PRESIGN"
    # (c) parleyd's public health check: the HTTP layer's ceiling.
    run "c_parleyd_healthz_r$i" "$HUB_PID" -- --url "$HUB/healthz"
  done
  BEST_B=$(best b_parleyd_record_signed)
  # Latency at a steady half of parleyd's slowest round, open loop, both servers.
  HALF=$(python3 -c "import glob, json; print(max(100, int(min(json.load(open(f))['rps'] for f in glob.glob('$RES/b_*_r*.json')) / 2)))")
  # shellcheck disable=SC2046
  run s_nginx_record_steady $(ngx_pids) -- --url "$NGX$RECORD_PATH" --key "$WORK/p1.key" \
    --sign-url "$SIGN_URL" --presign 2000 --cycle --rate "$HALF"
  run s_parleyd_record_steady "$HUB_PID" -- --url "$HUB$RECORD_PATH" --key "$WORK/p1.key" \
    --rate "$HALF"
  RSS_LOAD=$(kib VmRSS)
  HWM_LOAD=$(kib VmHWM)
  # A check of the load generator itself: wrk on nginx, same connections.
  if command -v wrk >/dev/null; then
    log "wrk on nginx (load generator check)"
    WRK_RPS=$(wrk -t1 -c"$CONNS" -d5s "$NGX$RECORD_PATH" 2>/dev/null |
      awk '/^Requests\/sec/ {printf "%d", $2}')
  fi
  BEST_A=$(best a_nginx_record)
  MET=$(python3 -c "import json; a=json.load(open('$RES/$BEST_A.json')); b=json.load(open('$RES/$BEST_B.json')); print('met' if b['rps'] >= 0.5 * a['rps'] else 'NOT met')")
  hub_alive
fi
log "Ed25519 and fsync rates"
"$TOOLS/ed25519_rate" 2 >"$RES/ed25519_r1.json"
# The per-key and per-state budgets per request, beside one Ed25519 verify (budget_bench.c).
"$TOOLS/budget_bench" 1 >"$RES/budget.json" || die "budget_bench failed"
log "budgets per request: $(cat "$RES/budget.json")"
"$TOOLS/fsync_rate" "$WORK/hub" 2 >"$RES/fsync_r1.json"
# The same with 112 KiB per write: about what the hub writes per message (WAL frames and
# checkpoint copy-back).
"$TOOLS/fsync_rate" "$WORK/hub" 2 114688 >"$RES/fsync_112k.json"

# --- (issue 4) messages: durable submissions of sealed envelopes -----------------------
# The sender is EST's first duty officer; the recipients are FIN's three POCs, whose
# encryption keys msgprep takes from FIN's record as the hub serves it, verified with
# FIN's root key. Every envelope has its own id and every request its own nonce; both are
# made before the timed runs.
FIN_REC=$WORK/fin-record.json
seal() { # seal NAME COUNT: WORK/NAME.bin, COUNT envelopes of ~MSG_SIZE bytes to 3 recipients
  log "sealing $2 envelopes ($1)"
  "$TOOLS/msgprep" --key "$WORK/p1.key" --from EST/est-poc-1 --record "$FIN_REC" \
    --root "$WORK/fin-root.key.pub" --to fin-poc-1,fin-poc-2,fin-poc-3 --size "$MSG_SIZE" \
    --count "$2" --out "$WORK/$1.bin" >"$RES/seal_$1.json" || die "sealing envelopes failed"
}
# msg_run NAME BODIES [LOADGEN ARGS]: POST /v1/messages, one envelope per request; the
# result gains the log's size before and after (one leaf per accepted message).
writer_metric() { # writer_metric commits|writes: the group-commit writer's counter
  curl -s "$HUB/metrics" | awk -v m="parley_writer_$1_total" '$1 == m {print $2}'
}
msg_run() {
  local name=$1 bodies=$2 before after c0 w0
  shift 2
  before=$(log_size)
  c0=$(writer_metric commits)
  w0=$(writer_metric writes)
  run "$name" "$HUB_PID" -- --url "$HUB/v1/messages" --method POST --key "$WORK/p1.key" \
    --bodies "$WORK/$bodies.bin" "$@"
  after=$(log_size)
  add_fields "$RES/$name.json" "log_before=$before" "log_after=$after" \
    "writer_commits=$(($(writer_metric commits) - c0))" "writer_writes=$(($(writer_metric writes) - w0))"
  rm -f "$WORK/$bodies.bin"
}
MSG_MET=skipped
if part messages || part tiles; then
  as reader api GET /v1/states/FIN/record >"$FIN_REC" || die "GET FIN's record failed"
fi
if part messages; then
  # A short probe sizes the pool, so that the timed run does not run out of envelopes.
  seal probe 3000
  "$LOADGEN" --url "$HUB/v1/messages" --method POST --key "$WORK/p1.key" \
    --bodies "$WORK/probe.bin" --connections "$CONNS" --duration 3 --warmup 0 \
    --label msg_probe >"$RES/msg_probe.json" || die "message probe failed"
  [ "$(json "$RES/msg_probe.json" 'd["non2xx"] + d["errors"]')" = 0 ] ||
    die "message probe: refusals: $(json "$RES/msg_probe.json" 'd["status"]')"
  MSG_PROBE=$(json "$RES/msg_probe.json" 'int(d["rps"])')
  MSG_POOL=$(python3 -c "print(min(400000, int($MSG_PROBE * ($DURATION + $WARMUP) * 1.5) + 2000))")
  log "message probe: $MSG_PROBE msgs/s; sealing $MSG_POOL per max-rate run"
  for i in $(seq 1 "$ROUNDS"); do
    seal "max_r$i" "$MSG_POOL"
    msg_run "m_parleyd_messages_r$i" "max_r$i"
  done
  seal steady "$(python3 -c "print(int($MSG_RATE * ($DURATION + $WARMUP) * 1.05) + $CONNS + 100)")"
  msg_run s_parleyd_messages_steady steady --rate "$MSG_RATE"
  # One of the benchmark's envelopes, read and decrypted by a recipient with the real CLI.
  FIRST_ID=$(json "$RES/seal_max_r1.json" 'd["first_id"]')
  as fin1 read "$FIRST_ID" >"$WORK/read.out" 2>&1 ||
    die "FIN's officer cannot read benchmark message $FIRST_ID: $(cat "$WORK/read.out")"
  log "FIN's officer read and verified message $FIRST_ID"
  MSG_MET=$(python3 -c "
import json
m = json.load(open('$RES/$(best m_parleyd_messages).json')); e = json.load(open('$RES/ed25519_r1.json'))
print('met' if m['rps'] >= 0.5 * e['ed25519_verify_per_s'] / 2 * $(nproc) else 'NOT met')")
  hub_alive
fi

# --- (issue 5c) tiles: GET /log/tile/0/000 against nginx -----------------------------
TILE_PATH=/log/tile/0/000
if part tiles; then
  # A full tile needs 256 leaves in the latest checkpoint.
  have=$(log_size)
  if [ "$have" -lt 256 ]; then
    seal fill $((256 - have))
    "$LOADGEN" --url "$HUB/v1/messages" --method POST --key "$WORK/p1.key" \
      --bodies "$WORK/fill.bin" --connections 4 --duration 30 --warmup 0 >/dev/null ||
      die "filling the log failed"
  fi
  for _ in $(seq 1 40); do
    cp_size=$(curl -s "$HUB/log/checkpoint" | sed -n 2p)
    [ "${cp_size:-0}" -ge 256 ] && break
    sleep 0.5
  done
  [ "${cp_size:-0}" -ge 256 ] || die "no checkpoint of 256 leaves or more"
  mkdir -p "$WORK/www/log/tile/0"
  code=$(curl -s -o "$WORK/www$TILE_PATH" -w '%{http_code}' "$HUB$TILE_PATH")
  [ "$code" = 200 ] || die "GET $TILE_PATH: HTTP $code"
  TILE_BYTES=$(wc -c <"$WORK/www$TILE_PATH")
  [ "$TILE_BYTES" = 8192 ] || die "tile of $TILE_BYTES bytes, expected 8192"
  chmod -R a+rX "$WORK/www"
  curl -s "$NGX$TILE_PATH" | cmp -s - "$WORK/www$TILE_PATH" || die "nginx does not serve the tile"
  for i in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2046
    run "t_nginx_tile_r$i" $(ngx_pids) -- --url "$NGX$TILE_PATH"
    run "t_parleyd_tile_r$i" "$HUB_PID" -- --url "$HUB$TILE_PATH"
  done
  hub_alive
fi
if part messages || part tiles; then
  curl -s "$HUB/log/checkpoint" >"$WORK/checkpoint.txt"
  HUB_CHECKPOINT_SIZE=$(sed -n 2p "$WORK/checkpoint.txt")
fi

# --- (issue 5a, 5b) the log on the store API -------------------------------------------
if part tlog; then
  # Appends as src/daemon/log.c makes them, one per transaction (a durable commit each,
  # as the hub does per message) and 100 per transaction, with a checkpoint signed every
  # second; on a fresh store in the same file system as the hub's data directory.
  # The machine's limits again, later in the run (the CPUs and the disk are shared): the
  # report takes the faster of the two measurements.
  "$TOOLS/fsync_rate" "$WORK/hub" 2 >"$RES/fsync_r2.json"
  "$TOOLS/ed25519_rate" 2 >"$RES/ed25519_r2.json"
  for i in $(seq 1 "$ROUNDS"); do
    for b in 1 100; do
      log "tlog: appends on the store API, $b per transaction (round $i)"
      "$TOOLS/tlog_bench" append "sqlite:$WORK/tlog-append.db" 5 "$b" 1 2>/dev/null \
        >"$RES/tlog_append_${b}_r$i.json" || die "tlog_bench append failed"
      log "  $(json "$RES/tlog_append_${b}_r$i.json" '"%.0f appends/s" % d["appends_per_s"]')"
    done
  done
  # Inclusion proofs in large logs. The stores are built once into BUILD/bench/tlog/ and
  # reused by later runs; each larger one starts as a copy of the one before.
  TL=${BENCH_TLOG_DIR:-$TOOLS/tlog}
  mkdir -p "$TL"
  prev=
  for n in $TLOG_SIZES; do
    db=$TL/tlog-$n.db
    if [ "${BENCH_TLOG_REBUILD:-0}" = 1 ]; then rm -f "$db" "$db-wal" "$db-shm" "$db.build.json"; fi
    if [ ! -f "$db.build.json" ]; then
      rm -f "$db" "$db-wal" "$db-shm"
      if [ -n "$prev" ] && [ ! -e "$prev-wal" ]; then cp "$prev" "$db"; fi
      log "tlog: building a store of $n leaves in $db (once; reused by later runs)"
      "$TOOLS/tlog_bench" build "sqlite:$db" "$n" 500000 2> >(grep --line-buffered -v 'level=' >&2) \
        >"$db.build.tmp" || die "tlog_bench build failed"
      add_fields "$db.build.tmp" "built_at=\"$(date -u +%Y-%m-%dT%H:%MZ)\"" \
        "db_bytes=$(stat -c %s "$db")"
      mv "$db.build.tmp" "$db.build.json"
      add_fields "$db.build.json" "built_in_this_run=true"
    else
      add_fields "$db.build.json" "built_in_this_run=false"
    fi
    cp "$db.build.json" "$RES/tlog_build_$n.json"
    # Round 1 finds the store's pages wherever the OS left them (this VM's kernel reclaims
    # idle page cache), so its proofs may read from the disk; then the file is read once
    # into the page cache and the later rounds measure a warm store.
    for i in $(seq 1 "$ROUNDS"); do
      if [ "$i" = 2 ]; then cat "$db" >/dev/null; fi
      log "tlog: 20000 inclusion proofs at $n leaves (round $i)"
      "$TOOLS/tlog_bench" prove "sqlite:$db" 20000 2>/dev/null >"$RES/tlog_prove_${n}_r$i.json" ||
        die "tlog_bench prove failed"
      log "  $(json "$RES/tlog_prove_${n}_r$i.json" '"p50 %.3f ms, p99 %.3f ms, %.1f MB read from disk, other processes %.2f cores" % (d["p50_ms"], d["p99_ms"], d["disk_read_bytes"] / 1e6, d["other_cores"])')"
    done
    prev=$db
  done
fi

hub_alive
RSS_END=$(kib VmRSS)
HWM_END=$(kib VmHWM)
kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died during the benchmark"
HUB_ERRORS=$(grep -c -E 'level=(error|warn)' "$WORK/hub.stderr" || true)
NGINX_ERRORS=$(grep -c -E '\[(error|crit|alert|emerg)\]' "$NG/error.log" || true)

# --- quick profiles when a target is missed ---------------------------------------------
want_profile() { # want_profile MET
  { [ "$PROFILE_MODE" = 1 ] || { [ "$PROFILE_MODE" = auto ] && [ "$1" = "NOT met" ]; }; } &&
    command -v perf >/dev/null
}
# profile NAME STAGES LOADGEN ARGS...: perf record of parleyd for 5 s while the load
# generator runs; the summary goes to RES/profile_NAME.txt, syscall counts (fsync and
# friends, over the same 5 s) to RES/profile_NAME.json.
profile() {
  local name=$1 stages=$2 before after
  shift 2
  log "profiling parleyd under $name (perf, 5 s)"
  rm -f "$WORK/ready"
  "$LOADGEN" --connections "$CONNS" --duration 7 --warmup 0 --ready "$WORK/ready" \
    --label "profile_$name" "$@" >"$RES/profile_$name.loadgen.json" &
  local lg=$!
  for _ in $(seq 1 600); do [ -e "$WORK/ready" ] && break; sleep 0.1; done
  sleep 1
  before=$(log_size)
  local io_before
  io_before=$(awk '$1 == "write_bytes:" {print $2}' "/proc/$HUB_PID/io" 2>/dev/null || echo 0)
  local ev=fsync,fdatasync,pwrite64,futex,clock_nanosleep,fcntl
  perf stat -x, -e "syscalls:sys_enter_${ev//,/,syscalls:sys_enter_}" \
    -p "$HUB_PID" -o "$WORK/perf-stat.txt" -- sleep 5 >/dev/null 2>&1 &
  local ps=$!
  if perf record -q --call-graph dwarf,16384 -F 299 -p "$HUB_PID" -o "$WORK/perf.data" \
    -- sleep 5 >/dev/null 2>&1; then
    wait "$ps" || true
    after=$(log_size)
    local io_after
    io_after=$(awk '$1 == "write_bytes:" {print $2}' "/proc/$HUB_PID/io" 2>/dev/null || echo 0)
    python3 - "$WORK/perf-stat.txt" "$before" "$after" "$io_before" "$io_after" \
      >"$RES/profile_$name.json" <<'PY'
import json, sys
d = {"log_before": int(sys.argv[2]), "log_after": int(sys.argv[3]),
     "write_bytes": int(sys.argv[5] or 0) - int(sys.argv[4] or 0)}
for line in open(sys.argv[1]):
    f = line.strip().split(",")
    if len(f) > 2 and f[2].startswith("syscalls:sys_enter_"):
        try:
            d[f[2][len("syscalls:sys_enter_"):]] = int(f[0])
        except ValueError:
            pass
print(json.dumps(d))
PY
    {
      perf script -i "$WORK/perf.data" -F ip,sym,dso 2>/dev/null |
        python3 "$ROOT/bench/perf_summary.py" "$stages" || true
      echo
      echo "By library (self time):"
      perf report -i "$WORK/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -8 | sed -E 's/^ +//; s/ +$//' || true
      echo
      echo "parleyd functions, inclusive time (children), >= 2 %:"
      perf report -i "$WORK/perf.data" --stdio --children --sort dso,symbol -g none \
        --percent-limit 2 2>/dev/null | grep -E '^ +[0-9].* parleyd ' | head -20 |
        sed -E 's/^ +//; s/ +- +- *$//; s/ +$//; s/ +/ /g' || true
      echo
      echo "Hottest functions, self time, >= 1 %:"
      perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol -g none \
        --percent-limit 1 2>/dev/null | grep -E '^ +[0-9]' | head -15 |
        sed -E 's/^ +//; s/ +- +- *$//; s/ +$//; s/ +/ /g' || true
    } >"$RES/profile_$name.txt"
  else
    wait "$ps" || true
    log "perf record failed; no profile"
  fi
  wait "$lg" || true
}
if part record && want_profile "$MET"; then
  profile record record --url "$HUB$RECORD_PATH" --key "$WORK/p1.key" --presign "$PRESIGN"
fi
if part tiles; then
  TILE_MET=$(python3 -c "
import json
a = json.load(open('$RES/$(best t_nginx_tile).json')); b = json.load(open('$RES/$(best t_parleyd_tile).json'))
print('met' if b['rps'] >= 0.5 * a['rps'] else 'NOT met')")
  # No target was set for tiles; the directory's (half of nginx) decides on a profile.
  if want_profile "$TILE_MET"; then
    profile tiles tiles --url "$HUB$TILE_PATH"
  fi
fi
if part messages && want_profile "$MSG_MET"; then
  seal prof "$(python3 -c "print(int($MSG_PROBE * 8 * 1.5) + 2000)")"
  profile messages messages --url "$HUB/v1/messages" --method POST --key "$WORK/p1.key" \
    --bodies "$WORK/prof.bin"
fi

# --- BENCHMARKS.md ------------------------------------------------------------------
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
MHD_VERSION=$(pkg-config --modversion libmicrohttpd 2>/dev/null || echo "?")
SQLITE_VERSION=$(pkg-config --modversion sqlite3 2>/dev/null || echo "?")
KEPT=
if [ -f "$OUT" ]; then KEPT=$(sed -n '/^<!-- kept across runs -->$/,$p' "$OUT"); fi
export RES OUT DURATION WARMUP ROUNDS CONNS RECORD_BYTES RSS_IDLE HWM_IDLE RSS_LOAD HWM_LOAD \
  WRK_RPS HUB_ERRORS NGINX_ERRORS NGINX_VERSION MHD_VERSION SQLITE_VERSION CPU_MODEL MEM \
  BEST_A BEST_B MSG_RATE TILE_BYTES HUB_CHECKPOINT_SIZE PARTS RSS_END HWM_END
BENCH_CMD="./bench/run.sh ${1:-build}"
if [ -n "${MAKELEVEL:-}" ]; then BENCH_CMD="make bench (runs $BENCH_CMD)"; fi
for v in BENCH_CONNECTIONS BENCH_DURATION BENCH_ROUNDS BENCH_PROFILE BENCH_PARTS BENCH_MSG_RATE \
  BENCH_MSG_SIZE BENCH_TLOG_SIZES BENCH_TLOG_REBUILD BENCH_TLOG_DIR; do
  if [ -n "${!v:-}" ]; then BENCH_CMD="$v=${!v} $BENCH_CMD"; fi
done
export BENCH_CMD RUN_DATE=$(date -u +%Y-%m-%dT%H:%MZ) NPROC=$(nproc) KERNEL=$(uname -r)
python3 "$ROOT/bench/report.py" >"$OUT.tmp"
if [ -n "$KEPT" ]; then printf '\n%s\n' "$KEPT" >>"$OUT.tmp"; fi
mv "$OUT.tmp" "$OUT"
rm -rf "$TOOLS/results"
cp -r "$RES" "$TOOLS/results"
log "wrote $OUT (raw results in $TOOLS/results): (b)/(a) target $MET; messages target $MSG_MET; $(($(date +%s) - T0)) s"
