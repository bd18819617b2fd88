#!/usr/bin/env bash
# The message lifecycle on the hub, tried as a misbehaving party would: one recipient
# state's receipt acknowledges for that state only (escalation goes on for the others);
# a stranger's receipt learns nothing of a message's existence; an operator key removed
# from the configuration is revoked at the next start; a malformed communication check
# is a 400 naming the field, not a crash; recurring checks keep their period beyond
# 512 rounds.
. "$(dirname "$0")/lib.sh"

HUB=http://placeholder
USERS="op op2 swe-root est-root est-a fin-root fin-a fin-b lva-root lva-a lva-b gha-root gha-a"
for u in $USERS; do new_user "$u"; done
BASE=(--ack-urgent 2 --escalation-step 1 --scheduler-tick-ms 200 --checkpoint-interval 1)
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --operator-key "$(pubkey op2)" "${BASE[@]}"
PORT=${HUB##*:}
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

onboard() { # CODE NAME REGION
  as op admin state add --code "$1" --name "$2" --region "$3" \
    --root-key "$WORK/${1,,}-root.key.pub" --fingerprint "$(fingerprint "${1,,}-root")" >/dev/null
}
onboard EST Estonia eastern-european
onboard FIN Finland western-european-and-others
onboard LVA Latvia eastern-european
onboard GHA Ghana african
onboard SWE Sweden western-european-and-others # only for the revoked key to try
poc() { # STATE ID (the POC added last comes first in the escalation order)
  as "$1-root" state poc add "$WORK/$1.json" --id "$2" --name "Officer $2" --role technical \
    --email "$2@$1.test" --phone "+1 555 0100" --language en --poc-key "$WORK/$2.key" >/dev/null
}
for s in est fin lva gha; do as $s-root state init --state "${s^^}" --out "$WORK/$s.json" >/dev/null; done
poc est est-a
poc fin fin-b
poc fin fin-a
poc lva lva-b
poc lva lva-a
poc gha gha-a
for s in est fin lva gha; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done
sent_id() { sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/last.out"; }
msg() { as est-a api GET "/v1/messages/$1"; }

# --- removing an operator key revokes it ---------------------------------------------
check "both configured operator keys work" sh -c \
  "$PARLEY --config $WORK/op.conf api GET /v1/reports/stale && $PARLEY --config $WORK/op2.conf api GET /v1/reports/stale"
check "parleyd stops" stop_hub
start_hub "$WORK/hub" --operator-key "$(pubkey op)" "${BASE[@]}" --port "$PORT"
check "after a restart without it, the removed operator key is refused (401 AUTH_UNKNOWN_KEY)" \
  expect_fail "401 AUTH_UNKNOWN_KEY" as op2 api GET /v1/reports/stale
check "  it can no longer suspend a state" expect_fail "401 AUTH_UNKNOWN_KEY" \
  as op2 api POST /v1/states/SWE/suspend
check "the kept operator key still works" as op api GET /v1/reports/stale

# --- acknowledgement per recipient state ------------------------------------------------
notification() {
  as est-a send --kind notification --priority urgent "$@" --field incident_class=availability \
    --field summary=DDoS --field affected_sectors=banks --field indicators=none --field first_seen=2026-11-21
}
check "EST sends an urgent notification to FIN and LVA" notification --to FIN:fin-a --to LVA:lva-a
M=$(sent_id)
check "FIN acknowledges it before the deadline" as fin-a ack "$M"
sleep 3.5
check "FIN's receipt does not acknowledge the message for LVA" /usr/bin/python3 - "$(msg "$M")" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
assert o["status"] != "acknowledged", o["status"]
r = {x["state"]: x for x in o["recipients"]}
assert r["FIN"].get("acknowledged") and not r["LVA"].get("acknowledged"), r
s = {x["state"]: x for x in o["states"]}
assert s["FIN"]["acknowledged"] and not s["LVA"]["acknowledged"], s
assert not s["FIN"]["overdue"] and s["LVA"]["overdue"], s
assert o["overdue"] is True, o
PY
check "escalation goes on for LVA: its next POC was alerted" sh -c "$PARLEY --config $WORK/est-a.conf \
  api GET /v1/messages/$M | grep -q 'alerted LVA/lva-b'"
check "  and not for FIN, which acknowledged" sh -c "! $PARLEY --config $WORK/est-a.conf \
  api GET /v1/messages/$M | grep -q 'alerted FIN/'"
check "LVA acknowledges too" as lva-a ack "$M"
check "  now the message is acknowledged" sh -c "$PARLEY --config $WORK/est-a.conf \
  api GET /v1/messages/$M | grep -q '\"status\":\"acknowledged\"'"
n_esc() { msg "$1" | python3 -c 'import json,sys; print(sum(e["event"].startswith("escalat") for e in json.load(sys.stdin)["history"]))'; }
N1=$(n_esc "$M")
sleep 2
check "  and its escalation stopped ($N1 steps)" test "$(n_esc "$M")" = "$N1"

check "EST sends another urgent notification to FIN and LVA; nobody acknowledges" \
  notification --to FIN:fin-a --to LVA:lva-a
M2=$(sent_id)
sleep 3
check "one escalation step alerts the next POC of each state that has not acknowledged" \
  /usr/bin/python3 - "$(msg "$M2")" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
d = [e["detail"] for e in o["history"] if e["event"] == "escalated"]
assert any("step 1: alerted FIN/fin-b" in x for x in d) and any("step 1: alerted LVA/lva-b" in x for x in d), d
PY

check "EST sends an urgent request for information to FIN and LVA" as est-a send \
  --kind request-for-information --priority urgent --to FIN:fin-a --to LVA:lva-a \
  --field subject=Botnet --field details=x
M4=$(sent_id)
check "FIN answers it with a response (no receipt)" as fin-a reply "$M4" --field summary=done --field status=complete
check "a response from LVA's POC to someone else than the sender answers nothing" as lva-a send \
  --kind response --to FIN:fin-a --in-reply-to "$M4" --field summary=x --field status=complete
sleep 3
check "FIN's response settles FIN only: LVA's escalation goes on, the request is not answered" \
  /usr/bin/python3 - "$(msg "$M4")" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
assert o["status"] not in ("answered", "acknowledged"), o["status"]
s = {x["state"]: x for x in o["states"]}
assert s["FIN"]["answered"] and not s["FIN"]["overdue"], s
assert not s["LVA"]["answered"] and not s["LVA"]["acknowledged"] and s["LVA"]["overdue"], s
d = [e["detail"] for e in o["history"] if e["event"] == "escalated"]
assert any("alerted LVA/lva-b" in x for x in d) and not any("alerted FIN/" in x for x in d), d
a = [e["detail"] for e in o["history"] if e["event"] == "answered"]
assert len(a) == 1 and a[0].endswith(" by FIN/fin-a"), a
PY
check "LVA acknowledges: every state settled, one with a response: answered" as lva-a ack "$M4"
check "  status answered" sh -c "$PARLEY --config $WORK/est-a.conf \
  api GET /v1/messages/$M4 | grep -q '\"status\":\"answered\"'"

# --- a stranger's receipt: the same answer for an existing and an unknown id -------------
check "EST sends a message to FIN only" notification --to FIN:fin-a
M3=$(sent_id)
HASH=$(msg "$M3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["envelope_sha256"])')
UNKNOWN=$(python3 -c 'import uuid; print(uuid.uuid4())')
sign_receipt() { # KEY MESSAGE STATE POC HASH
  /usr/bin/python3 - "$@" <<'PY'
import base64, hashlib, json, sys, time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
key, message, state, poc, h = sys.argv[1:]
k = json.load(open(key))
b64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
sk = Ed25519PrivateKey.from_private_bytes(b64(k["secret"])[:32])
kid = enc(hashlib.sha256(b"ed25519\n" + b64(k["sign_pk"])).digest()[:16])
a = {"format": "parley-ack-v1", "message": message, "envelope_sha256": h, "state": state,
     "poc": poc, "key_id": kid, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
a["signature"] = enc(sk.sign(b"parley/v1/ack\n" + json.dumps(a, sort_keys=True, separators=(",", ":")).encode()))
print(json.dumps(a))
PY
}
sign_receipt "$WORK/gha-a.key" "$M3" GHA gha-a "$HASH" >"$WORK/r-known.json"
sign_receipt "$WORK/gha-a.key" "$UNKNOWN" GHA gha-a "$HASH" >"$WORK/r-unknown.json"
as gha-a api POST "/v1/messages/$M3/ack" --data "$WORK/r-known.json" >"$WORK/o-known" 2>&1 || true
as gha-a api POST "/v1/messages/$UNKNOWN/ack" --data "$WORK/r-unknown.json" >"$WORK/o-unknown" 2>&1 || true
check "a stranger's receipt for an unknown id: 404 MESSAGE_UNKNOWN" grep -q "404 MESSAGE_UNKNOWN" "$WORK/o-unknown"
check "a stranger's receipt for an existing id gets exactly the same answer" \
  bash -c "diff <(sed 's/$M3/ID/g' '$WORK/o-known') <(sed 's/$UNKNOWN/ID/g' '$WORK/o-unknown')"
check "a receipt signed for FIN by a stranger's key is refused too" \
  expect_fail ACK_ as gha-a api POST "/v1/messages/$M3/ack" --data <(sign_receipt "$WORK/gha-a.key" "$M3" FIN fin-a "$HASH")

# --- recurring checks beyond 512 rounds -------------------------------------------------------
PERIOD=10
schedule() { as op admin ping schedule --window 5 "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
A=$(schedule --state EST --every $PERIOD)
seq 1 512 | xargs -P 4 -I{} sh -c "$PARLEY --config $WORK/op.conf admin ping schedule --state GHA --window 5 >/dev/null || echo fail" >"$WORK/oneshots"
check "512 one-shot rounds were started" test ! -s "$WORK/oneshots"
B=$(schedule --state FIN --every $PERIOD)
sleep $((PERIOD + 8))
rounds() { # USER SERIES: "issue-time id" of the series' rounds in USER's inbox
  as "$1" api GET "/v1/inbox?limit=500" | /usr/bin/python3 -c '
import calendar, json, sys, time
for m in json.load(sys.stdin)["messages"]:
    if m["kind"] == "ping" and m["from"]["state"] == "HUB" and m.get("case") == sys.argv[1]:
        print(calendar.timegm(time.strptime(m["created"], "%Y-%m-%dT%H:%M:%SZ")), m["id"])' "$2"
}
rounds est-a "$A" >"$WORK/a.rounds"
rounds fin-a "$B" >"$WORK/b.rounds"
# Never twice in a period (a runaway series starts a round at every tick), and never a
# whole period skipped; the slack above the period allows for a loaded machine.
cat >"$WORK/period.py" <<'PY'
import sys, time
t = [int(x.split()[0]) for x in open(sys.argv[1])]
p = int(sys.argv[2])
gaps = [b - a for a, b in zip(t, t[1:])]
assert len(t) >= 2, t
assert all(p <= g < 2 * p for g in gaps), gaps
assert time.time() - t[-1] < 2 * p, (t[-1], time.time())
PY
check "the series started before round 512 recurs once per period ($(wc -l <"$WORK/a.rounds") rounds)" \
  /usr/bin/python3 "$WORK/period.py" "$WORK/a.rounds" "$PERIOD"
check "the series started after round 512 recurs once per period ($(wc -l <"$WORK/b.rounds") rounds)" \
  /usr/bin/python3 "$WORK/period.py" "$WORK/b.rounds" "$PERIOD"
check "the operator's trend of series A lists every one of its rounds" \
  /usr/bin/python3 - "$(as op api GET "/v1/pings/trend?series=$A")" "$WORK/a.rounds" <<'PY'
import json, sys
listed = {r["id"] for r in json.loads(sys.argv[1])["rounds"]}
seen = {x.split()[1] for x in open(sys.argv[2])}
assert seen <= listed, (seen - listed)
PY
# --- communication checks: every wrong type is a 400 naming the field ----------------------
bad_ping() { # EXPECTED-CODE FIELD JSON
  local out
  out=$(as op api POST /v1/pings --data <(echo "$3") 2>&1) && { echo "accepted: $out"; return 1; }
  grep -q "400 $1" <<<"$out" && grep -q "$2" <<<"$out" || { echo "$out"; return 1; }
}
check "states:[1] is a 400 naming states (was a crash)" bad_ping JSON_FIELD_TYPE states '{"states":[1]}'
check "parleyd is still up" kill -0 "$HUB_PID"
check "states:[null]" bad_ping JSON_FIELD_TYPE states '{"states":[null]}'
check "states:[\"est\"] (not a state code)" bad_ping JSON_FIELD_INVALID states '{"states":["est"]}'
check "states:\"EST\"" bad_ping JSON_FIELD_TYPE states '{"states":"EST"}'
check "role:5" bad_ping JSON_FIELD_TYPE role '{"role":5}'
check "role:\"boss\"" bad_ping JSON_FIELD_INVALID role '{"role":"boss"}'
check "region:[]" bad_ping JSON_FIELD_TYPE region '{"region":[]}'
check "region:\"mars\"" bad_ping JSON_FIELD_INVALID region '{"region":"mars"}'
check "window_s:\"60\"" bad_ping JSON_FIELD_TYPE window_s '{"window_s":"60"}'
check "recurrence_s:1.5" bad_ping JSON_FIELD_TYPE recurrence_s '{"recurrence_s":1.5}'
check "parleyd is still up after all of them" kill -0 "$HUB_PID"

check "SIGTERM exits cleanly" stop_hub
finish
