#!/usr/bin/env bash
# Malformed input against a live parleyd: truncated and oversized requests, absurd
# Content-Length values, bad methods and versions, header floods, slowloris, idle
# connection floods, invalid UTF-8 and percent-encoding in URLs, NUL bytes, hostile JSON,
# wrong content types and mutated RFC 9421 signatures, on every route of routes.c.
# Each must be answered 4xx (JSON with a code) or with a closed connection; after every
# group the hub must still answer, and at the end it must be the same process, of sane
# size, free of sanitizer reports, and exit 0 on SIGTERM. The cases live in malformed.py.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${PARLEY_SRC:-$(cd "$HERE/../.." && pwd)}
PY=/usr/bin/python3 # Debian's, standard library only (a pyenv python3 may be first on PATH)
TIMEOUT=5
MAX_BODY=65536
PER_IP=128
# Under AddressSanitizer the freed-memory quarantine (256 MB by default) would dwarf the
# hub's own memory; a smaller one keeps the RSS check meaningful.
if grep -qa __asan_init "$PARLEYD"; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
fi

HUB=http://placeholder
for u in op est-root est-cert; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --timeout "$TIMEOUT" \
  --max-body "$MAX_BODY" --max-conn-per-ip "$PER_IP" --threads 4
for u in op est-root est-cert; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done
PORT=${HUB##*:}
# The process's start time (field 22 of /proc/PID/stat) tells it from a successor that
# might reuse its pid.
started() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $1, $20}'; }
PID0=$HUB_PID
START0=$(started "$HUB_PID")

# A state root key and an officer, so that every route's handler can be reached.
as op admin state add --code EST --name Estonia --region eastern-european \
  --root-key "$WORK/est-root.key.pub" --fingerprint "$(fingerprint est-root)" >/dev/null
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
as est-root state poc add "$WORK/est.json" --id est-cert --name "Officer" --role technical \
  --email cert@est.test --phone "+372 600 0000" --language en --poc-key "$WORK/est-cert.key" >/dev/null
as est-root state sign "$WORK/est.json" >/dev/null
as est-root state publish "$WORK/est.json" >/dev/null
check "setup: the officer's key is known to the hub" as est-cert api GET /v1/whoami

hub_alive() { # same pid, same start time, not a zombie
  local now
  now=$(started "$HUB_PID")
  if [ "$HUB_PID" != "$PID0" ] || [ "$now" != "$START0" ] || [ "${now%% *}" = Z ]; then
    echo "pid $PID0 was '$START0', now '$now'"
    return 1
  fi
}
healthz() { expect_code 200 "" "$(http GET /healthz --max-time 5)"; }
no_sanitizer_report() {
  ! grep -E -m5 'AddressSanitizer|LeakSanitizer|runtime error|UndefinedBehaviorSanitizer' "$WORK/hub/stderr"
}

# group NAME: runs one group of malformed.py and counts its ok/not ok lines.
group() {
  local out="$WORK/group-$1.out" rc=0
  "$PY" "$HERE/malformed.py" --port "$PORT" --routes "$SRC/src/daemon/routes.c" \
    --parley "$PARLEY" --conf "op=$WORK/op.conf" --conf "root=$WORK/est-root.conf" \
    --conf "officer=$WORK/est-cert.conf" --timeout "$TIMEOUT" --max-body "$MAX_BODY" \
    --max-conn-per-ip "$PER_IP" "$1" >"$out" 2>&1 || rc=$?
  cat "$out"
  PASS=$((PASS + $(grep -c '^ok - ' "$out" || true)))
  FAIL=$((FAIL + $(grep -c '^not ok - ' "$out" || true)))
  [ "$rc" = 0 ] || not_ok "malformed.py $1 exited with status $rc"
  grep -q '^\(not \)\?ok - ' "$out" || not_ok "malformed.py $1 reported nothing"
  check "  after $1: parleyd is the same process and alive" hub_alive
  check "  after $1: GET /healthz is 200" healthz
  check "  after $1: no sanitizer report in parleyd's stderr" no_sanitizer_report
}

for g in routes truncated oversized content-length methods versions headers nul \
  utf8-url percent content-type json signatures slowloris idle; do
  group "$g"
done

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$HUB_PID/status"; }
RSS=$(rss_kb)
check "parleyd's resident memory stays below 200 MB (${RSS:-?} kB)" test "${RSS:-999999}" -lt 204800
check "a good signed request still works" as op api GET /v1/states
check "SIGTERM exits cleanly (status 0)" stop_hub
check "no sanitizer report in parleyd's stderr" no_sanitizer_report
finish
