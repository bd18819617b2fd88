#!/usr/bin/env bash
# Single-window communications end to end through the real parleyd and parley:
# every kind of message, bodies the operator cannot read, signed receipts, replies
# and cases, refusals with distinct codes, deadlines and escalation (surviving a
# restart) with e-mail alerts to a real SMTP sink, and durability under kill -9.
. "$(dirname "$0")/lib.sh"

# A real SMTP server on loopback (Debian's python3-aiosmtpd) that keeps every mail.
SMTP_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$WORK/mail" \
  >"$WORK/smtp.log" 2>&1 &
SMTP_PID=$!
trap 'kill $SMTP_PID 2>/dev/null; cleanup' EXIT

# A webhook receiver on loopback: records each POST with its Parley-Signature header.
HOOK_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/hook.py" <<'PY'
import http.server, json, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(out, "a") as f:
            f.write(json.dumps({"sig": self.headers.get("Parley-Signature"), "body": body.decode()}) + "\n")
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
/usr/bin/python3 "$WORK/hook.py" "$HOOK_PORT" "$WORK/hooks.jsonl" &
HOOK_PID=$!
trap 'kill $SMTP_PID $HOOK_PID 2>/dev/null; cleanup' EXIT

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-ncsc fin-head fin-mfa lva-root lva-cert"
for u in $USERS; do new_user "$u"; done
HUBARGS=(--operator-key "$(pubkey op)" --smtp-url "smtp://127.0.0.1:$SMTP_PORT"
  --smtp-from hub@parley.test --ack-urgent 2 --escalation-step 1 --scheduler-tick-ms 200
  --checkpoint-interval 1 --webhook-allow-loopback-http)
start_hub "$WORK/hub" "${HUBARGS[@]}"
PORT=${HUB##*:}
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

onboard() { # CODE NAME REGION
  as op admin state add --code "$1" --name "$2" --region "$3" \
    --root-key "$WORK/${1,,}-root.key.pub" --fingerprint "$(fingerprint "${1,,}-root")" >/dev/null
}
onboard EST Estonia eastern-european
onboard FIN Finland western-european-and-others
onboard LVA Latvia eastern-european
poc() { # RECORD ID ROLE EMAIL KEY
  as "${1%%.*}-root" state poc add "$WORK/$1" --id "$2" --name "Officer $2" --role "$3" \
    --email "$4" --phone "+1 555 0100" --language en --language fr --poc-key "$WORK/$5.key" >/dev/null
}
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
poc est.json est-cert technical cert@est.test est-cert
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
poc fin.json fin-head technical head@fin.test fin-head
poc fin.json fin-ncsc technical ncsc@fin.test fin-ncsc   # added last: first in escalation
poc fin.json fin-mfa diplomatic mfa@fin.test fin-mfa
as fin-root state poc add "$WORK/fin.json" --id fin-mfa --name "Officer fin-mfa" --role diplomatic \
  --email mfa@fin.test --phone "+1 555 0100" --language en --poc-key "$WORK/fin-mfa.key" \
  --webhook "http://127.0.0.1:$HOOK_PORT/parley" >/dev/null
as lva-root state init --state LVA --out "$WORK/lva.json" >/dev/null
poc lva.json lva-cert technical cert@lva.test lva-cert
for s in est fin lva; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done

MARK="MARKER-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
sent_id() { sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/last.out"; }

# --- every kind, end to end ----------------------------------------------------
declare -A FIELDS=(
  [notification]="--field incident_class=intrusions --field summary=$MARK --field affected_sectors=energy --field indicators=198.51.100.7 --field first_seen=2026-11-20"
  [request-for-information]="--field subject=Botnet --field details=$MARK"
  [request-for-assistance]="--field subject=DDoS --field details=$MARK --field respond_by=2026-12-01"
  [preservation-request]="--field requesting_authority=Prosecutor --field offences=[\"illegal-access\",\"computer-related-fraud\"] --field facts=$MARK --field data_to_preserve=logs --field relationship_to_offence=C2 --field custodian_or_location=Host --field necessity=Volatile --field mutual_assistance_intended=true --field status=new --field preservation_days=90"
  [ping]="--field challenge=$MARK"
)
for kind in notification request-for-information request-for-assistance preservation-request ping; do
  check "EST sends a $kind to FIN:technical" as est-cert send --kind "$kind" --to FIN:technical \
    --priority routine --tlp AMBER ${FIELDS[$kind]}
  id=$(sent_id)
  check "  FIN's officer reads the $kind (verified, decrypted)" sh -c "$PARLEY --config $WORK/fin-ncsc.conf read $id | grep -q '$MARK'"
  check "  and acknowledges it with a signed, logged receipt" as fin-ncsc ack "$id"
  eval "ID_${kind//-/_}=$id"
done
check "labels are shown in the reader's language (French)" \
  sh -c "$PARLEY --config $WORK/fin-ncsc.conf read $ID_preservation_request --lang fr | grep -qi 'infraction'"
check "labels in Arabic" sh -c "$PARLEY --config $WORK/fin-ncsc.conf read $ID_notification --lang ar | grep -q '$MARK'"
PRES=$ID_preservation_request
check "FIN discloses traffic data (Art. 30) referring to the preservation" as fin-ncsc send \
  --kind traffic-data-disclosure --to EST:est-cert --case "$PRES" --field preservation_request="$PRES" \
  --field service_providers=ISP --field communication_path=AS64500 --field traffic_data="$MARK"
check "FIN replies to the request for information" as fin-ncsc reply "$ID_request_for_information" \
  --field summary="$MARK" --field status=complete
check "EST reads the response" sh -c "$PARLEY --config $WORK/est-cert.conf inbox | grep -q response"
check "the answered request shows status answered" \
  sh -c "$PARLEY --config $WORK/est-cert.conf api GET /v1/messages/$ID_request_for_information | grep -q '\"status\":\"answered\"'"
check "a response from someone who was not a recipient (LVA) is delivered" as lva-cert send \
  --kind response --to EST:est-cert --in-reply-to "$ID_request_for_assistance" \
  --field summary="not ours" --field status=complete
check "  but does not mark the request answered (its escalation goes on)" \
  sh -c "! $PARLEY --config $WORK/est-cert.conf api GET /v1/messages/$ID_request_for_assistance | grep -q '\"status\":\"answered\"'"
check "the case groups the thread, each message verified" sh -c "$PARLEY --config $WORK/est-cert.conf case $ID_request_for_information | grep -c \"the hub's word (unsigned)\" | grep -qx 2"
check "the sender sees the receipts and history" \
  sh -c "$PARLEY --config $WORK/est-cert.conf api GET /v1/messages/$ID_ping | grep -q '\"event\":\"acknowledged\"'"
check "receipts are served as the signed object exactly as stored, beside their leaf index" \
  /usr/bin/python3 - "$(as est-cert api GET "/v1/messages/$ID_ping")" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
assert "acks" not in o, o
r = o["receipts"]
assert len(r) == 1 and set(r[0]) == {"receipt", "leaf_index"}, r
assert isinstance(r[0]["leaf_index"], int) and "leaf_index" not in r[0]["receipt"], r
assert r[0]["receipt"]["message"] == o["id"] and "signature" in r[0]["receipt"], r
PY
check "both a technical POC and the diplomatic POC can be addressed" as est-cert send --kind ping \
  --to FIN:technical --to FIN:diplomatic --field challenge=two
sleep 1
check "the addressed POC's webhook got a signed alert with metadata only" \
  /usr/bin/python3 - "$WORK/hooks.jsonl" "$(curl -s "$HUB/log/key")" "$MARK" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
hooks = [json.loads(l) for l in open(sys.argv[1])]
pk = Ed25519PublicKey.from_public_bytes(base64.b64decode(sys.argv[2].strip().split("+", 2)[2])[1:])
h = [x for x in hooks if json.loads(x["body"])["to"]["poc"] == "fin-mfa"]
assert h, hooks
for x in h:
    sig = x["sig"].split('sig="')[1].rstrip('"')
    pk.verify(base64.urlsafe_b64decode(sig + "=="), b"parley/v1/webhook\n" + x["body"].encode())
    assert sys.argv[3] not in x["body"]
    assert json.loads(x["body"])["event"] == "message.submitted"
PY
check "the operator cannot read any body: the marker is nowhere in the data directory" \
  sh -c "! grep -r -a -q '$MARK' '$WORK/hub'"

# --- refusals --------------------------------------------------------------------
as est-cert send --kind ping --to FIN:fin-ncsc --field challenge=x --seal-only "$WORK/env.json" >/dev/null
python3 - "$WORK/env.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
t = dict(e); t["priority"] = "critical"
json.dump(t, open(sys.argv[1] + ".header", "w"))
c = dict(e); ct = c["ciphertext"]; c["ciphertext"] = ("A" if ct[5] != "A" else "B").join([ct[:5], ct[6:]])
json.dump(c, open(sys.argv[1] + ".cipher", "w"))
PY
check "tampered header: ENVELOPE_SIGNATURE" expect_fail ENVELOPE_SIGNATURE as est-cert api POST /v1/messages --data "$WORK/env.json.header"
check "tampered ciphertext: ENVELOPE_CIPHERTEXT" expect_fail ENVELOPE_CIPHERTEXT as est-cert api POST /v1/messages --data "$WORK/env.json.cipher"
check "an envelope sent by someone else's key: ENVELOPE_SENDER" expect_fail ENVELOPE_SENDER as fin-ncsc api POST /v1/messages --data "$WORK/env.json"
check "the untampered envelope is accepted" as est-cert api POST /v1/messages --data "$WORK/env.json"
ENV_ID=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['id'])" "$WORK/env.json")
check "the same envelope again: ENVELOPE_REPLAY" expect_fail ENVELOPE_REPLAY as est-cert api POST /v1/messages --data "$WORK/env.json"
# Group commit: copies of one new envelope posted at once may share a transaction; each
# runs in its own savepoint, so exactly one is kept and the others are replays.
as est-cert send --kind ping --to FIN:fin-ncsc --field challenge=same --seal-only "$WORK/same.json" >/dev/null
same_pids=
for i in 1 2 3 4 5 6; do
  as est-cert api POST /v1/messages --data "$WORK/same.json" >"$WORK/same.$i" 2>&1 &
  same_pids="$same_pids $!"
done
for p in $same_pids; do wait "$p" || true; done
same_ok=$(grep -L '"code"' "$WORK"/same.? | wc -l)
same_replay=$(grep -l '"code":"ENVELOPE_REPLAY"' "$WORK"/same.? | wc -l)
check "one envelope posted 6 times at once: one accepted ($same_ok), five ENVELOPE_REPLAY ($same_replay)" \
  test "$same_ok:$same_replay" = "1:5"
writer_metric() { curl -s "$HUB/metrics" | awk -v m="parley_writer_$1_total" '$1 == m {print $2}'; }
check "submissions and receipts went through the writer's shared commits" \
  sh -c "[ $(writer_metric writes) -ge 20 ] && [ $(writer_metric commits) -ge 1 ] && [ $(writer_metric commits) -le $(writer_metric writes) ]"
check "a non-recipient cannot read it: MESSAGE_UNKNOWN (404, no hint it exists)" expect_fail MESSAGE_UNKNOWN as lva-cert read "$ENV_ID"
check "another FIN officer who is not a recipient cannot read it either" expect_fail MESSAGE_UNKNOWN as fin-mfa read "$ENV_ID"
check "a non-recipient cannot acknowledge it" expect_fail MESSAGE_UNKNOWN as lva-cert ack "$ENV_ID"
check "a state root key cannot send messages" expect_fail AUTH_FORBIDDEN as est-root api POST /v1/messages --data "$WORK/env.json"
as est-cert send --kind ping --to FIN:fin-ncsc --field challenge=old-key --seal-only "$WORK/old.json" >/dev/null
new_user fin-ncsc2
sed -i "s|^hub = .*|hub = $HUB|" "$WORK/fin-ncsc2.conf"
poc fin.json fin-ncsc technical ncsc@fin.test fin-ncsc2
as fin-root state sign "$WORK/fin.json" >/dev/null
as fin-root state publish "$WORK/fin.json" >/dev/null
check "a recipient key no longer in the directory: RECIPIENT_UNKNOWN" expect_fail RECIPIENT_UNKNOWN as est-cert api POST /v1/messages --data "$WORK/old.json"
check "a bad template field is refused before anything is sent" expect_fail TEMPLATE_FIELD \
  as est-cert send --kind preservation-request --to FIN:technical --field requesting_authority=x --field preservation_days=30

# --- deadlines and escalation ------------------------------------------------------
check "an urgent notification is sent" as est-cert send --kind notification --to FIN:fin-ncsc --priority urgent \
  --field incident_class=availability --field summary=DDoS --field affected_sectors=banks --field indicators=none --field first_seen=2026-11-21
URG=$(sent_id)
sleep 3.5
check "past its 2 s deadline it is marked overdue" sh -c "$PARLEY --config $WORK/est-cert.conf inbox --sent | grep '$URG' | grep -q OVERDUE"
check "the hub escalated to the next POC in FIN's escalation order" \
  sh -c "$PARLEY --config $WORK/est-cert.conf api GET /v1/messages/$URG | grep -q 'alerted FIN/fin-head'"
check "the escalation e-mail reached the SMTP server" sh -c "grep -l 'To: head@fin.test' $WORK/mail/new/* | xargs grep -l OVERDUE"
check "the recipient got an alert on submission, with metadata only" sh -c "grep -l 'To: ncsc@fin.test' $WORK/mail/new/* | xargs grep -l 'acknowledge by'"
check "no alert carries message content" sh -c "! grep -r -q '$MARK' $WORK/mail"
check "an acknowledgement stops the escalation" as fin-ncsc2 ack "$URG"

check "another urgent message is sent" as est-cert send --kind ping --to FIN:fin-ncsc --priority urgent --field challenge=restart
URG2=$(sent_id)
check "parleyd stops before its deadline" stop_hub
if [ "${PARLEY_TEST_STORE:-sqlite}" = sqlite ]; then
  # LVA's record reaches its review date while the hub is down.
  sqlite3 "$WORK/hub/hub.db" "UPDATE states SET review_by = 1 WHERE code = 'LVA'"
fi
sleep 3
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
sleep 1.5
if [ "${PARLEY_TEST_STORE:-sqlite}" = sqlite ]; then
  check "the POCs of a record past its review date are told by e-mail" \
    sh -c "grep -l 'To: cert@lva.test' $WORK/mail/new/* | xargs grep -l 'past its review date'"
  check "and the operator's report lists it" sh -c "$PARLEY --config $WORK/op.conf api GET /v1/reports/stale | grep -q LVA"
fi
check "after a restart the deadline still fires" \
  sh -c "$PARLEY --config $WORK/est-cert.conf api GET /v1/messages/$URG2 | grep -q '\"overdue\":true'"

# --- durability: kill -9 at random moments under concurrent sending --------------
: >"$WORK/acked-ids"
for round in 1 2 3; do
  WORKERS=()
  for w in 1 2 3; do
    (for i in $(seq 1 40); do
       if "$PARLEY" --config "$WORK/est-cert.conf" send --kind ping --to FIN:fin-ncsc \
         --field challenge="r$round-w$w-$i" >"$WORK/w$w.out" 2>&1; then
         sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/w$w.out" >>"$WORK/acked-ids"
       fi
     done) &
    WORKERS+=($!)
  done
  sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 1 + 2 * rand() }')"
  kill -9 "$HUB_PID"
  wait "$HUB_PID" 2>/dev/null || true
  HUB_PID=
  wait "${WORKERS[@]}"
  start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
done
check "some sends were acknowledged before the crashes" test -s "$WORK/acked-ids"
if [ "${PARLEY_TEST_STORE:-sqlite}" = sqlite ]; then
  check "the store opens without repair after kill -9" sh -c "sqlite3 '$WORK/hub/hub.db' 'PRAGMA integrity_check' | grep -qx ok"
fi
missing=0
while read -r id; do
  as fin-ncsc2 api GET "/v1/messages/$id" >/dev/null 2>&1 || missing=$((missing + 1))
done <"$WORK/acked-ids"
check "every message answered 2xx before the three kill -9 is there ($(wc -l <"$WORK/acked-ids") checked)" test "$missing" = 0
check "and opens intact" sh -c "$PARLEY --config $WORK/fin-ncsc2.conf read \$(tail -1 $WORK/acked-ids) >/dev/null"
check "the log is consistent with what the client saw before the crash" as est-cert log checkpoint
check "SIGTERM exits cleanly" stop_hub
finish
