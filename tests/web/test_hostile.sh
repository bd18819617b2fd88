#!/usr/bin/env bash
# The hostile-hub cases (tests/hostile/cases/*.json, every one) against the web app's
# verified client in the real chromium: the scenario of tests/hostile/run.sh (the real
# parleyd behind the operator's proxy, messages and receipts made with the real parley),
# then tests/hostile/runner.py runs every case unchanged, each step done in the page by
# ParleyClient (tests/web/hostile.mjs; hostile-shim.mjs stands in for parley) and checked
# for the same verdict: refused with an officer's sentence naming what failed, shown as
# not acknowledged, or the hub's word escaped. Screenshots: $PARLEY_TEST_OUTPUT/web-hostile/.
#   test_hostile.sh [CASE-NAME-REGEX]   (default: every case of messages.json and directory.json)
. "$PARLEY_SRC/tests/integration/lib.sh"
: "${PARLEY_WEB_TESTS:?run through ctest}"
HERE=$PARLEY_SRC/tests/hostile
OUT=${PARLEY_TEST_OUTPUT:-$WORK}/web-hostile
rm -rf "$OUT"
mkdir -p "$OUT"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "chromium not installed (run make deps)" >&2; exit 1; }
[ -f "$PARLEY_WEB_TESTS/harness-browser.js" ] || { echo "the web tests were not built in $PARLEY_WEB_TESTS (run make deps; make build)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the scenario of tests/hostile/run.sh ---------------------------------------------
PROXY_PORT=$(free_port)
HUB_PORT=$(free_port)
PROXY=http://127.0.0.1:$PROXY_PORT
HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-ncsc fin-b lva-root lva-cert"
for u in $USERS; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 \
  --scheduler-tick-ms 200 --public-url "$PROXY" --port "$HUB_PORT"
HUB_DIRECT=http://127.0.0.1:$HUB_PORT
echo '[]' >"$WORK/proxy-rules.json"
python3 "$HERE/proxy.py" "$PROXY_PORT" "$HUB_DIRECT" "$WORK/proxy-rules.json" "$WORK/proxy.log" \
  >"$WORK/proxy.out" 2>&1 &
PROXY_PID=$!
CTRL_PID=
trap '[ -n "$CTRL_PID" ] && kill $CTRL_PID 2>/dev/null; kill $PROXY_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 50); do grep -q listening "$WORK/proxy.out" 2>/dev/null && break; sleep 0.1; done
HUB=$PROXY
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

onboard() { # CODE NAME REGION
  as op admin state add --code "$1" --name "$2" --region "$3" \
    --root-key "$WORK/${1,,}-root.key.pub" --fingerprint "$(fingerprint "${1,,}-root")" >/dev/null
}
onboard EST Estonia eastern-european
onboard FIN Finland western-european-and-others
onboard LVA Latvia eastern-european
poc() { # STATE ID
  as "$1-root" state poc add "$WORK/$1.json" --id "$2" --name "Officer $2" --role technical \
    --email "$2@$1.test" --phone "+1 555 0100" --language en --poc-key "$WORK/$2.key" >/dev/null
}
for s in est fin lva; do as $s-root state init --state "${s^^}" --out "$WORK/$s.json" >/dev/null; done
poc est est-cert
poc fin fin-ncsc
poc fin fin-b
poc lva lva-cert
for s in est fin lva; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done
as lva-root state sign "$WORK/lva.json" >/dev/null
as lva-root state publish "$WORK/lva.json" >/dev/null

send() { # OUTVAR ARGS...: sends as est-cert, sets OUTVAR to the message id
  local var=$1
  shift
  as est-cert send "$@" >"$WORK/send.out" || { cat "$WORK/send.out"; exit 1; }
  printf -v "$var" '%s' "$(sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/send.out")"
  [ -n "${!var}" ] || { echo "no id in: $(cat "$WORK/send.out")"; exit 1; }
}
NOTE=(--kind notification --field incident_class=intrusions --field summary=SECRET-SUMMARY
  --field affected_sectors=energy --field indicators=198.51.100.7 --field first_seen=2026-11-20)
send M1 "${NOTE[@]}" --to FIN:fin-ncsc --tlp RED --priority urgent
send M2 --kind request-for-information --to FIN:fin-ncsc --field subject=UNREAD-ONE --field details=d
send M3 "${NOTE[@]}" --to FIN:fin-ncsc --to LVA:lva-cert
send M4 "${NOTE[@]}" --to FIN:fin-ncsc
send M5 "${NOTE[@]}" --to FIN:fin-ncsc
as fin-ncsc read "$M1" >/dev/null 2>&1
as fin-ncsc ack "$M3" >/dev/null
as op admin ping schedule --role technical --window 600 >"$WORK/p1.json"
as op admin ping schedule --role technical --window 600 >"$WORK/p2.json"
P1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/p1.json")
P2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/p2.json")
. "$HERE/rotated_key.sh" # M6, M7: a receipt by a rotated-out key; est-cert-fresh
as est-cert api GET "/v1/messages/$M1" >"$WORK/m1.json"
LVA_RECEIPT_M1=$(python3 "$HERE/sign_receipt.py" "$WORK/lva-cert.key" "$WORK/m1.json" LVA lva-cert)
python3 - "$WORK/vars.json" <<PY
import json, sys
json.dump({"M1": "$M1", "M2": "$M2", "M3": "$M3", "M4": "$M4", "M5": "$M5",
           "P1": "$P1", "P2": "$P2", "M6": "$M6", "M7": "$M7", "M8": "$M8", "PG_URL": "",
           "LVA_RECEIPT_M1": """$LVA_RECEIPT_M1"""}, open(sys.argv[1], "w"))
PY

# --- the page, through the proxy ----------------------------------------------------------
PROXY=$PROXY WORK=$WORK OUT=$OUT CHROMIUM=$CHROMIUM node "$PARLEY_SRC/tests/web/hostile.mjs" >"$WORK/ctrl.out" 2>&1 &
CTRL_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/ctrl-port" ] && break; kill -0 $CTRL_PID 2>/dev/null || break; sleep 0.1; done
[ -s "$WORK/ctrl-port" ] || { echo "the page did not start:"; cat "$WORK/ctrl.out"; exit 1; }
printf '#!/bin/sh\nexec node "%s" "$@"\n' "$PARLEY_SRC/tests/web/hostile-shim.mjs" >"$WORK/page-parley"
chmod +x "$WORK/page-parley"

# Every case of messages.json and directory.json; under ASan+UBSan (the hub and parley
# twice as slow) one case of each kind, unless PARLEY_WEB_HOSTILE_CASES says otherwise.
CASES='^(?!hardening)'
[ "${PARLEY_TEST_SANITIZED:-0}" = 1 ] && CASES='^(11\.1a|11\.2 |11\.3b|11\.4a|11\.6c|11\.7|12\.12c|communication check: another)'
CASES=${1:-${PARLEY_WEB_HOSTILE_CASES:-$CASES}}
if PARLEY=$WORK/page-parley HOSTILE_WORK=$WORK PARLEY_TEST_STORE=sqlite \
  python3 "$HERE/runner.py" "$WORK" "$WORK/vars.json" "$CASES" >"$WORK/runner.out" 2>&1; then
  ok "hostile-hub cases in the page: $(tail -1 "$WORK/runner.out")"
else
  not_ok "hostile-hub cases in the page: $(tail -1 "$WORK/runner.out") (proxy log: $WORK/proxy.log)"
fi
sed 's/^/    /' "$WORK/runner.out"
kill $CTRL_PID 2>/dev/null
wait $CTRL_PID 2>/dev/null || true
CTRL_PID=
sed 's/^/    page: /' "$WORK/ctrl.out" | grep -v 'controller listening' || true
finish
