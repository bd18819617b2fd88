#!/usr/bin/env bash
# make bench: measured speed of parleyd beside references taken in the same run.
#   ./bench/run.sh BUILD_DIR        (BUILD_DIR holds parleyd, parley and libparley.a)
# Builds the bench tools into BUILD_DIR/bench, starts nginx and a fresh parleyd on free
# ports of 127.0.0.1, publishes a ~4 KiB state record with the real parley CLI, serves
# the same bytes from nginx, drives both with the same load generator, connections and
# duration, and writes BENCHMARKS.md. Traffic never leaves 127.0.0.1. Not part of
# `make check`. Settings: BENCH_CONNECTIONS (32), BENCH_DURATION (10 s per run),
# BENCH_ROUNDS (2: (a), (b), (c) are measured that many times, interleaved, and the best
# of each is reported, as other work on a shared machine only ever slows a run down),
# BENCH_PROFILE (auto: profile parleyd when the target is missed; 1 always; 0 never),
# BENCH_OUT (BENCHMARKS.md).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
CONNS=${BENCH_CONNECTIONS:-32}
DURATION=${BENCH_DURATION:-10}
WARMUP=1
ROUNDS=${BENCH_ROUNDS:-2}
PROFILE_MODE=${BENCH_PROFILE:-auto}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
PARLEYD=$BUILD/parleyd
PARLEY=$BUILD/parley
TOOLS=$BUILD/bench
T0=$(date +%s)

log() { echo "bench: $*" >&2; }
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
  cc $CFLAGS -I "$ROOT/include" -o "$TOOLS/loadgen" "$ROOT/bench/loadgen.c" "$BUILD/libparley.a" \
    $(pkg-config --cflags --libs libsodium jansson sqlite3) -lpthread -lm
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
for u in op root p1 p2 p3 p4 p5 p6 p7; do
  "$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/$u.key" >/dev/null
done
pubkey() { "$PARLEY" --config /dev/null --json key show "$WORK/$1.key" | sed 's/.*"sign_pk":"\([^"]*\)".*/\1/'; }
fingerprint() { "$PARLEY" --config /dev/null --json key show "$WORK/$1.key" | sed 's/.*"fingerprint":"\([^"]*\)".*/\1/'; }

mkdir -p "$WORK/hub"
"$PARLEYD" --port 0 --data-dir "$WORK/hub" --insecure-hub-key --origin bench.parley.localhost \
  --operator-key "$(pubkey op)" --max-conn-per-ip $((CONNS + 16)) \
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
SIGN_URL=$HUB$RECORD_PATH
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
  run "b_parleyd_record_signed_r$i" "$HUB_PID" -- --url "$HUB$RECORD_PATH" --key "$WORK/p1.key" \
    --presign "$PRESIGN"
  # (c) parleyd's public health check: the HTTP layer's ceiling.
  run "c_parleyd_healthz_r$i" "$HUB_PID" -- --url "$HUB/healthz"
done
best() { # best NAME_PREFIX: the round with the highest req/s
  python3 - "$RES" "$1" <<'PY'
import glob, json, os, sys
runs = sorted(glob.glob(os.path.join(sys.argv[1], sys.argv[2] + "_r*.json")))
print(os.path.basename(max(runs, key=lambda f: json.load(open(f))["rps"]))[:-5])
PY
}
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
WRK_RPS=
if command -v wrk >/dev/null; then
  log "wrk on nginx (load generator check)"
  WRK_RPS=$(wrk -t1 -c"$CONNS" -d5s "$NGX$RECORD_PATH" 2>/dev/null |
    awk '/^Requests\/sec/ {printf "%d", $2}')
fi
log "Ed25519 and fsync rates"
"$TOOLS/ed25519_rate" 2 >"$RES/ed25519.json"
"$TOOLS/fsync_rate" "$WORK/hub" 2 >"$RES/fsync.json"

kill -0 "$HUB_PID" 2>/dev/null || die "parleyd died during the benchmark: $(tail -20 "$WORK/hub.stderr")"
kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died during the benchmark"
HUB_ERRORS=$(grep -c -E 'level=(error|warn)' "$WORK/hub.stderr" || true)
NGINX_ERRORS=$(grep -c -E '\[(error|crit|alert|emerg)\]' "$NG/error.log" || true)
BEST_A=$(best a_nginx_record)
MET=$(python3 -c "import json; a=json.load(open('$RES/$BEST_A.json')); b=json.load(open('$RES/$BEST_B.json')); print('met' if b['rps'] >= 0.5 * a['rps'] else 'NOT met')")

# --- a quick profile when the target is missed ---------------------------------------
PROF_TXT=$RES/profile.txt
if { [ "$PROFILE_MODE" = 1 ] || { [ "$PROFILE_MODE" = auto ] && [ "$MET" != met ]; }; } &&
  command -v perf >/dev/null; then
  log "profiling parleyd under the signed load (perf, 5 s)"
  "$LOADGEN" --url "$HUB$RECORD_PATH" --key "$WORK/p1.key" --connections "$CONNS" --duration 7 \
    --warmup 0 --presign "$PRESIGN" --ready "$WORK/ready" --label profile >"$RES/profile.json" &
  LG=$!
  for _ in $(seq 1 600); do [ -e "$WORK/ready" ] && break; sleep 0.1; done
  sleep 1
  if perf record -q --call-graph dwarf,16384 -F 299 -p "$HUB_PID" -o "$WORK/perf.data" \
    -- sleep 5 >/dev/null 2>&1; then
    {
      perf script -i "$WORK/perf.data" -F ip,sym,dso 2>/dev/null | python3 "$ROOT/bench/perf_summary.py"
      echo
      echo "By library (self time):"
      perf report -i "$WORK/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
        grep -E '^ +[0-9]' | head -8 | sed -E 's/^ +//; s/ +$//'
      echo
      echo "parleyd functions, inclusive time (children), >= 2 %:"
      perf report -i "$WORK/perf.data" --stdio --children --sort dso,symbol -g none \
        --percent-limit 2 2>/dev/null | grep -E '^ +[0-9].* parleyd ' | head -20 |
        sed -E 's/^ +//; s/ +- +- *$//; s/ +$//; s/ +/ /g'
      echo
      echo "Hottest functions, self time, >= 1 %:"
      perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol -g none \
        --percent-limit 1 2>/dev/null | grep -E '^ +[0-9]' | head -15 |
        sed -E 's/^ +//; s/ +- +- *$//; s/ +$//; s/ +/ /g'
    } >"$PROF_TXT"
  else
    log "perf record failed; no profile"
  fi
  wait "$LG" || true
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
  BEST_A BEST_B PROF_TXT
BENCH_CMD="./bench/run.sh ${1:-build}"
if [ -n "${MAKELEVEL:-}" ]; then BENCH_CMD="make bench (runs $BENCH_CMD)"; fi
for v in BENCH_CONNECTIONS BENCH_DURATION BENCH_ROUNDS BENCH_PROFILE; do
  if [ -n "${!v:-}" ]; then BENCH_CMD="$v=${!v} $BENCH_CMD"; fi
done
export BENCH_CMD RUN_DATE=$(date -u +%Y-%m-%dT%H:%MZ) NPROC=$(nproc) KERNEL=$(uname -r)
python3 "$ROOT/bench/report.py" >"$OUT.tmp"
if [ -n "$KEPT" ]; then printf '\n%s\n' "$KEPT" >>"$OUT.tmp"; fi
mv "$OUT.tmp" "$OUT"
rm -rf "$TOOLS/results"
cp -r "$RES" "$TOOLS/results"
log "wrote $OUT (raw results in $TOOLS/results): (b)/(a) target $MET; $(($(date +%s) - T0)) s"
