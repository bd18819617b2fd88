#!/usr/bin/env bash
# The hostile-hub suite: the real parleyd with the real parley in front of it through
# the operator's proxy (tests/hostile/proxy.py), a scenario of signed messages and
# receipts, then every case of tests/hostile/cases/*.json (README.md): the operator's
# move (a rewritten answer, or an edit of the hub's store), the parley command, and what
# parley must (not) show. Runs on SQLite, or PostgreSQL with PARLEY_TEST_STORE=postgresql.
#   run.sh [CASE-NAME-REGEX]
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../integration/lib.sh"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The hub believes clients sign for the proxy's address: that is its public URL.
PROXY_PORT=$(free_port)
HUB_PORT=$(free_port)
PROXY=http://127.0.0.1:$PROXY_PORT
HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-ncsc fin-b lva-root lva-cert"
for u in $USERS; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 \
  --scheduler-tick-ms 200 --public-url "$PROXY" --port "$HUB_PORT"
HUB_DIRECT=http://127.0.0.1:$HUB_PORT # it announces its public URL, the proxy's
echo '[]' >"$WORK/proxy-rules.json"
python3 "$HERE/proxy.py" "$PROXY_PORT" "$HUB_DIRECT" "$WORK/proxy-rules.json" "$WORK/proxy.log" \
  >"$WORK/proxy.out" 2>&1 &
PROXY_PID=$!
trap 'kill $PROXY_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 50); do grep -q listening "$WORK/proxy.out" 2>/dev/null && break; sleep 0.1; done
HUB=$PROXY
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

# --- the scenario: three states, messages, one genuine receipt, two check rounds ------
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

# LVA publishes a second version of its record (the directory cases roll it back).
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
as fin-ncsc read "$M1" >/dev/null
as fin-ncsc ack "$M3" >/dev/null
as op admin ping schedule --role technical --window 600 >"$WORK/p1.json"
as op admin ping schedule --role technical --window 600 >"$WORK/p2.json"
P1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/p1.json")
P2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/p2.json")
. "$HERE/rotated_key.sh" # M6, M7: a receipt by a rotated-out key; est-cert-fresh

# A receipt correctly signed by LVA's officer for M1, a message LVA was not sent (the
# hub refuses it from LVA; a hostile hub can still serve it).
as est-cert api GET "/v1/messages/$M1" >"$WORK/m1.json"
LVA_RECEIPT_M1=$(python3 "$HERE/sign_receipt.py" "$WORK/lva-cert.key" "$WORK/m1.json" LVA lva-cert)

# Two evidence packages EST/est-cert -> FIN/fin-ncsc (EV1, EV2); EV1_FORGED_MANIFEST: EV1's
# manifest with other notes, signed again by est-cert's key (a manifest the sender signed
# that the hub never logged); EV1_LEAF, EV2_LEAF, EV1_FORGED_LEAF: the manifests' leaf
# hashes, as parley asks /log/proof?leaf= for them.
mkdir -p "$WORK/ev-in"
echo "EVIDENCE-PLAINTEXT-ONE" >"$WORK/ev-in/one.txt"
echo "EVIDENCE-PLAINTEXT-TWO" >"$WORK/ev-in/two.txt"
send_evidence() { # OUTVAR FILE
  as est-cert evidence send --to FIN:fin-ncsc "$2" >"$WORK/send-ev.out" 2>&1 || { cat "$WORK/send-ev.out"; exit 1; }
  printf -v "$1" '%s' "$(sed -n 's/^sent evidence \([0-9a-f-]*\).*/\1/p' "$WORK/send-ev.out")"
  [ -n "${!1}" ] || { echo "no id in: $(cat "$WORK/send-ev.out")"; exit 1; }
}
send_evidence EV1 "$WORK/ev-in/one.txt"
send_evidence EV2 "$WORK/ev-in/two.txt"
as fin-ncsc api GET "/v1/evidence/$EV1" >"$WORK/ev1.json"
as fin-ncsc api GET "/v1/evidence/$EV2" >"$WORK/ev2.json"
EV1_LEAF=$(python3 "$HERE/manifest_tool.py" leaf "$WORK/ev1.json")
EV2_LEAF=$(python3 "$HERE/manifest_tool.py" leaf "$WORK/ev2.json")
EV1_FORGED_MANIFEST=$(python3 "$HERE/manifest_tool.py" forge "$WORK/ev1.json" "$WORK/est-cert.key")
python3 - "$WORK/ev1.json" "$EV1_FORGED_MANIFEST" >"$WORK/ev1-forged.json" <<'PY'
import json, sys
pkg = json.load(open(sys.argv[1]))
pkg["manifest"] = json.loads(sys.argv[2])
print(json.dumps(pkg))
PY
EV1_FORGED_LEAF=$(python3 "$HERE/manifest_tool.py" leaf "$WORK/ev1-forged.json")

# M9: EST/est-cert -> FIN/fin-ncsc in case CASE1 (parley case shows it).
CASE1=$(python3 -c 'import uuid; print(uuid.uuid4())')
send M9 "${NOTE[@]}" --to FIN:fin-ncsc --case "$CASE1"

# The protocol document is exact enough that an implementation written from it alone
# verifies and opens a message and verifies its receipt (tests/hostile/doc_verify.py).
as est-cert api GET "/v1/messages/$M3" >"$WORK/m3.json"
check "docs/protocol.md alone verifies and opens M3 and its receipt" \
  python3 "$HERE/doc_verify.py" "$WORK/m3.json" "$WORK/est-cert.key" "$WORK/fin-ncsc.key" "$WORK/fin-ncsc.key"
check "  and the same checker refuses a rewritten receipt" sh -c \
  "sed 's/\"poc\":\"fin-ncsc\",\"signature/\"poc\":\"fin-b\",\"signature/' $WORK/m3.json >$WORK/m3-bad.json &&
   ! python3 $HERE/doc_verify.py $WORK/m3-bad.json $WORK/est-cert.key $WORK/fin-ncsc.key $WORK/fin-ncsc.key"

python3 - "$WORK/vars.json" <<PY
import json, sys
json.dump({"M1": "$M1", "M2": "$M2", "M3": "$M3", "M4": "$M4", "M5": "$M5",
           "P1": "$P1", "P2": "$P2", "M6": "$M6", "M7": "$M7", "M8": "$M8", "PG_URL": "${PG_URL:-}",
           "WORK": "$WORK", "M9": "$M9", "CASE1": "$CASE1", "EV1": "$EV1", "EV2": "$EV2", "EV1_LEAF": "$EV1_LEAF",
           "EV2_LEAF": "$EV2_LEAF", "EV1_FORGED_LEAF": "$EV1_FORGED_LEAF",
           "EV1_FORGED_MANIFEST": """$EV1_FORGED_MANIFEST""",
           "LVA_RECEIPT_M1": """$LVA_RECEIPT_M1"""}, open(sys.argv[1], "w"))
PY

# --- the cases -------------------------------------------------------------------------
if python3 "$HERE/runner.py" "$WORK" "$WORK/vars.json" "${1:-}"; then ok "hostile-hub cases"; else
  not_ok "hostile-hub cases (proxy log: $WORK/proxy.log)"
fi
finish
