#!/usr/bin/env bash
# Cooperation requests as the treaties define them, through the real parleyd and parley:
# the cooperation profile in signed records, the legal basis in the signed header (the
# client's and the hub's checks), request kinds validated field by field, status chains,
# treaty clocks that survive a restart, and statistics from metadata alone.
. "$(dirname "$0")/lib.sh"

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-ncsc fin-duty lva-root lva-cert"
for u in $USERS; do new_user "$u"; done
# Treaty clocks in seconds (the defaults follow the treaties: 60 days, 45 days...).
HUBARGS=(--operator-key "$(pubkey op)" --scheduler-tick-ms 200 --checkpoint-interval 1
  --preservation-period 60 --preservation-reminder 57 --oral-confirmation 60
  --production-order-period 60 --emergency-response 60 --ack-critical 2 --escalation-step 1
  --respond-by-reminder 3)
# For the lapses, after the chain: clocks short enough to lapse while the test waits.
SHORT=(--preservation-period 4 --preservation-reminder 0 --oral-confirmation 6
  --production-order-period 4)
# The client's own refusals (nothing reaches the hub) run once, on SQLite; the PostgreSQL
# run keeps what the hub stores: records, messages, clocks across restarts, statistics.
client_check() { [ "${PARLEY_TEST_STORE:-sqlite}" = postgresql ] || check "$@"; }
start_hub "$WORK/hub" "${HUBARGS[@]}"
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

onboard() { # CODE NAME REGION
  as op admin state add --code "$1" --name "$2" --region "$3" \
    --root-key "$WORK/${1,,}-root.key.pub" --fingerprint "$(fingerprint "${1,,}-root")" >/dev/null
}
onboard EST Estonia eastern-european
onboard FIN Finland western-european-and-others
onboard LVA Latvia eastern-european
poc() { # RECORD ID EMAIL KEY
  as "${1%%.*}-root" state poc add "$WORK/$1" --id "$2" --name "Officer $2" --role technical \
    --role law-enforcement-24x7 --email "$3" --phone "+1 555 0100" --language en --poc-key "$WORK/$4.key" >/dev/null
}
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
poc est.json est-cert cert@est.test est-cert
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
poc fin.json fin-duty duty@fin.test fin-duty
poc fin.json fin-ncsc ncsc@fin.test fin-ncsc   # added last: first in the escalation order
as lva-root state init --state LVA --out "$WORK/lva.json" >/dev/null
poc lva.json lva-cert cert@lva.test lva-cert

# --- the cooperation profile ------------------------------------------------------
check "EST lists the UN Convention in its cooperation profile" as est-root state cooperation \
  "$WORK/est.json" --instrument un-cybercrime-2024 --contact-24x7 est-cert \
  --authority "Office of the Prosecutor General" --authority-email mla@est.test \
  --declarations "Art. 42(4): no dual criminality for preservation" --request-language en --request-language et
check "  and the Budapest Convention" as est-root state cooperation "$WORK/est.json" \
  --instrument budapest-2001 --contact-24x7 est-cert --authority "Ministry of Justice"
check "  and its Second Additional Protocol" as est-root state cooperation "$WORK/est.json" \
  --instrument budapest-protocol2-2022 --contact-24x7 est-cert --authority "Ministry of Justice"
check "FIN lists the Budapest Convention and its Protocol, not the UN Convention" as fin-root state \
  cooperation "$WORK/fin.json" --instrument budapest-2001 --contact-24x7 fin-ncsc \
  --authority "Ministry of Justice" --authority-phone "+358 9 000"
as fin-root state cooperation "$WORK/fin.json" --instrument budapest-protocol2-2022 \
  --contact-24x7 fin-ncsc --authority "Ministry of Justice" >/dev/null
cp "$WORK/fin.json" "$WORK/fin-bad.json"
as fin-root state cooperation "$WORK/fin-bad.json" --instrument budapest-protocol2-2022 \
  --contact-24x7 nobody --authority "Ministry" >/dev/null
client_check "a profile naming a 24/7 contact that is not a POC of the record is refused, naming the field" \
  expect_fail "contact_24x7" as fin-root state sign "$WORK/fin-bad.json"
sed 's/"et"/"EST"/' "$WORK/est.json" >"$WORK/est-bad.json"
client_check "a request language that is not ISO 639-1 is refused, naming the field" \
  expect_fail "request_languages" as est-root state sign "$WORK/est-bad.json"
for s in est fin lva; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done
check "the hub serves the signed profile" sh -c "$PARLEY --config $WORK/fin-ncsc.conf --json directory show EST | grep -q 'Office of the Prosecutor General'"

# --- the legal basis in the signed header ----------------------------------------
sent_id() { sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/last.out"; }
PRES_FIELDS=(--field requesting_authority=Prosecutor --field 'offences=["illegal-access"]'
  --field facts=Ransomware --field data_to_preserve=logs --field relationship_to_offence=C2
  --field custodian_or_location=Host --field necessity=Volatile
  --field mutual_assistance_intended=true --field status=new --field preservation_days=90)
check "EST sends a preservation request to FIN under Budapest Art. 29" as est-cert send \
  --kind preservation-request --to FIN:technical --priority urgent --basis budapest-2001:29 "${PRES_FIELDS[@]}"
PRES=$(sent_id)
check "  FIN reads it with its legal basis (signed)" sh -c "$PARLEY --config $WORK/fin-ncsc.conf read $PRES | grep -q 'Legal basis: budapest-2001, Art. 29'"
check "  the verified header carries it (--json)" sh -c "$PARLEY --config $WORK/fin-ncsc.conf --json read $PRES | grep -q '\"instrument\": \"budapest-2001\"'"
client_check "a request under an instrument FIN is not party to is refused by the client" \
  expect_fail "FIN is not party to un-cybercrime-2024" as est-cert send --kind preservation-request \
  --to FIN:technical --basis un-cybercrime-2024:42 "${PRES_FIELDS[@]}"
check "  unless forced (and the hub accepts it: the pair is one the kind allows)" as est-cert send \
  --kind preservation-request --to FIN:technical --basis un-cybercrime-2024:42 --force "${PRES_FIELDS[@]}"
client_check "a basis the kind does not allow is refused (preservation under Art. 30)" \
  expect_fail "not sent under budapest-2001 Art. 30" as est-cert send --kind preservation-request \
  --to FIN:technical --basis budapest-2001:30 "${PRES_FIELDS[@]}"
client_check "a malformed basis is refused" expect_fail "basis" as est-cert send --kind preservation-request \
  --to FIN:technical --basis "Budapest:29" "${PRES_FIELDS[@]}"
client_check "FIN may not send under an instrument its own record does not list" \
  expect_fail "your state's verified record does not list un-cybercrime-2024" as fin-ncsc send \
  --kind preservation-request --to EST:technical --basis un-cybercrime-2024:42 "${PRES_FIELDS[@]}"
check "  unless forced" as fin-ncsc send --kind preservation-request --to EST:technical \
  --basis un-cybercrime-2024:42 --force "${PRES_FIELDS[@]}"
check "a recipient without a profile (LVA) gets a warning, not a refusal" as est-cert send \
  --kind preservation-request --to LVA:technical --basis budapest-2001:29 "${PRES_FIELDS[@]}"
cp "$WORK/last.out" "$WORK/lva.out"
check "  the warning says so" grep -q "LVA's verified record has no cooperation profile" "$WORK/lva.out"

# The hub's own checks: correctly signed envelopes whose header it must refuse.
forge() { # SEALED USER OUT PYTHON-STATEMENT-ON-env: change the header, sign it again
  /usr/bin/python3 - "$1" "$WORK/$2.key" "$3" "$4" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
env = json.load(open(sys.argv[1]))
secret = base64.urlsafe_b64decode(json.load(open(sys.argv[2]))["secret"] + "==")
exec(sys.argv[4])
h = {k: v for k, v in env.items() if k not in ("signature", "ciphertext")}
msg = b"parley/v1/envelope\n" + json.dumps(h, sort_keys=True, separators=(",", ":")).encode()
sig = Ed25519PrivateKey.from_private_bytes(secret[:32]).sign(msg)
env["signature"] = base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
json.dump(env, open(sys.argv[3], "w"))
PY
}
as est-cert send --kind preservation-request --to FIN:technical --basis budapest-2001:29 \
  --seal-only "$WORK/sealed.json" "${PRES_FIELDS[@]}" >/dev/null
forge "$WORK/sealed.json" est-cert "$WORK/forged.json" \
  'env["legal_basis"] = {"instrument": "budapest-2001", "article": "31"}'
check "the hub refuses a signed envelope under a basis its kind does not allow (LEGAL_BASIS)" \
  expect_fail LEGAL_BASIS as est-cert api POST /v1/messages --data "$WORK/forged.json"
check "  and accepts the same envelope as sealed" as est-cert api POST /v1/messages --data "$WORK/sealed.json"
# A status update's status is in its signed header, one of the template's list.
as fin-ncsc send --kind status-update --to EST:est-cert --in-reply-to "$PRES" --field request="$PRES" \
  --field status=received --seal-only "$WORK/status.json" >/dev/null
check "a sealed status update carries its status in the signed header" \
  grep -q '"status":"received"' "$WORK/status.json"
forge "$WORK/status.json" fin-ncsc "$WORK/forged.json" 'env["status"] = "done"'
check "the hub refuses a signed status update whose status is not in the list, naming it" \
  expect_fail "status: must be one of the template's choices" as fin-ncsc api POST /v1/messages --data "$WORK/forged.json"
forge "$WORK/status.json" fin-ncsc "$WORK/forged.json" 'env.pop("status", None)'
check "  and one without a status in its header" \
  expect_fail "status: required in the header of a status-update" as fin-ncsc api POST /v1/messages --data "$WORK/forged.json"

# --- request kinds: every refusal names the field -----------------------------------
MLA_FIELDS=(--field requesting_authority=Prosecutor --field proceedings_subject=Ransomware
  --field conducting_authority="Harju County Court" --field facts=F --field assistance_sought=Logs
  --field purpose="Evidence for trial")
declare -A FIRST=([mutual-legal-assistance]=requesting_authority [stored-data-access]=requesting_authority
  [emergency-disclosure]=requesting_authority [emergency-assistance]=requesting_authority
  [production-order]=issuing_authority [status-update]=request [status-query]=request
  [oral-request]=requesting_authority [preservation-request]=requesting_authority
  [traffic-data-disclosure]=preservation_request)
for kind in "${!FIRST[@]}"; do
  client_check "an empty $kind is refused by the client, naming ${FIRST[$kind]}" \
    expect_fail "content.${FIRST[$kind]}: required" as est-cert send --kind "$kind" --to FIN:technical
done
client_check "a mutual-legal-assistance request without its purpose (UN Art. 40(15)(f)) names the field" \
  expect_fail "content.purpose: required" as est-cert send --kind mutual-legal-assistance --to FIN:technical \
  --field requesting_authority=Prosecutor --field proceedings_subject=Ransomware --field conducting_authority=Court \
  --field facts=F --field assistance_sought=Logs
client_check "a time limit without its reasons names the field" expect_fail "content.respond_by_reasons: required with respond_by" \
  as est-cert send --kind mutual-legal-assistance --to FIN:technical --basis budapest-2001:27 \
  --field respond_by=2026-12-24 "${MLA_FIELDS[@]}"
client_check "a refusal without its ground names the field" expect_fail "content.refusal_ground: required when status is refused" \
  as fin-ncsc send --kind status-update --to EST:technical --in-reply-to "$PRES" --field request="$PRES" --field status=refused
check "a complete mutual-legal-assistance request goes, under Budapest Art. 27" as est-cert send \
  --kind mutual-legal-assistance --to FIN:technical --basis budapest-2001:27 --field respond_by=2026-12-24 \
  --field respond_by_reasons="Trial on 2027-01-10" "${MLA_FIELDS[@]}"
MLA0=$(sent_id)
check "  and FIN reads it with Russian labels" sh -c "$PARLEY --config $WORK/fin-ncsc.conf read $MLA0 --lang ru | grep -q 'Цель, для которой запрашиваются доказательства'"

# --- a chain with its clocks, across a restart ----------------------------------------
msg() { as "$1" api GET "/v1/messages/$2"; }
has_event() { # USER ID EVENT [DETAIL-SUBSTRING]
  msg "$1" "$2" | python3 -c 'import json,sys; h=json.load(sys.stdin)["history"]; sys.exit(0 if any(e["event"]==sys.argv[1] and sys.argv[2] in e["detail"] for e in h) else 1)' "$3" "${4:-}"
}
wait_event() { # USER ID EVENT SECONDS
  for _ in $(seq 1 $((${4} * 5))); do has_event "$1" "$2" "$3" && return 0; sleep 0.2; done
  has_event "$1" "$2" "$3"
}
restart_hub() { # [extra parleyd args: later ones override]
  local port=${HUB##*:}
  stop_hub && start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$port" "$@"
}
check "EST asks FIN to preserve data (Budapest Art. 29): the chain opens" as est-cert send \
  --kind preservation-request --to FIN:fin-ncsc --priority urgent --basis budapest-2001:29 "${PRES_FIELDS[@]}"
P1=$(sent_id)
check "  the hub starts its lapse clock, with a reminder" has_event est-cert "$P1" clock.started preservation-lapse
check "FIN acknowledges it" as fin-ncsc ack "$P1"
check "FIN reports its status: received (a signed status update)" as fin-ncsc reply "$P1" \
  --kind status-update --basis budapest-2001:29 --field request="$P1" --field status=received
check "the hub restarts while the clock runs" restart_hub
check "  after the restart the lapse reminder fires" wait_event est-cert "$P1" clock.reminder 15
check "EST extends the preservation in the same case" as est-cert send --kind preservation-request \
  --to FIN:fin-ncsc --case "$P1" --basis budapest-2001:29 "${PRES_FIELDS[@]/status=new/status=extension}" \
  --field earlier_request="$P1" --field follows="$P1"
P2=$(sent_id)
check "  which meets the first clock and starts its own" has_event est-cert "$P1" clock.met "preservation-request $P2"
check "EST sends the announced mutual-assistance request, following the extension" as est-cert send \
  --kind mutual-legal-assistance --to FIN:fin-ncsc --case "$P1" --basis budapest-2001:27 \
  --field follows="$P2" "${MLA_FIELDS[@]}"
M1=$(sent_id)
check "  which meets the extension's clock (followed up)" has_event est-cert "$P2" clock.met "mutual-legal-assistance $M1"
check "FIN acknowledges the request" as fin-ncsc ack "$M1"
check "FIN: in execution" as fin-ncsc reply "$M1" --kind status-update --basis budapest-2001:27 \
  --field request="$M1" --field status=in-execution
check "FIN: executed" as fin-ncsc reply "$M1" --kind status-update --basis budapest-2001:27 \
  --field request="$M1" --field status=executed --field details="Logs sent by the central authority"
check "FIN refuses the first mutual-assistance request, with the ground (in the body)" as fin-ncsc reply \
  "$MLA0" --kind status-update --basis budapest-2001:27 --field request="$MLA0" --field status=refused \
  --field refusal_ground="Art. 27(4)(a): political offence"
check "EST posts a status update on its own request (not the requested state's word)" as est-cert send \
  --kind status-update --to FIN:fin-ncsc --in-reply-to "$M1" --case "$P1" --basis budapest-2001:27 \
  --field request="$M1" --field status=withdrawn
as est-cert case "$P1" >"$WORK/case.out" 2>&1 || true
check "  which the case view does not count as the request's status" \
  grep -q "status 'withdrawn' claimed by EST: not a state the request was addressed to" "$WORK/case.out"
check "  shows the status history from verified status updates" \
  sh -c "grep -c 'STATUS' '$WORK/case.out' | grep -qx 3 && grep -q 'STATUS executed (signed by FIN, verified)' '$WORK/case.out'"
check "  and the clocks: both preservation clocks met" \
  sh -c "grep 'preservation-lapse' '$WORK/case.out' | grep -c ': met' | grep -qx 2"
check "the requested state's case view links the chain from the requests it opens (follows)" \
  sh -c "$PARLEY --config $WORK/fin-ncsc.conf case $P1 | grep -q 'follows $P2'"
check "a stranger (LVA) sees none of the case's clocks" \
  sh -c "$PARLEY --config $WORK/lva-cert.conf api GET /v1/cases/$P1/clocks | grep -q '\"clocks\":\[\]'"

# Respond-by dates: in the signed header (the reasons in the body); the hub's clock.
SDA_FIELDS=(--field requesting_authority=Prosecutor --field facts=F --field data_sought="Mailbox of x@host.test"
  --field relationship_to_offence=C2 --field purpose="Evidence for trial")
soon() { date -u -d "+$1 seconds" +%Y-%m-%dT%H:%M:%SZ; }
check "EST asks FIN for stored data, to answer within seconds, with its reasons" as est-cert send \
  --kind stored-data-access --to FIN:fin-ncsc --basis budapest-2001:31 --field respond_by="$(soon 6)" \
  --field respond_by_reasons="Suspect leaves custody on Friday" "${SDA_FIELDS[@]}"
R1=$(sent_id)
check "  the date is in the signed header" sh -c "$PARLEY --config $WORK/fin-ncsc.conf --json read $R1 | grep -q '\"respond_by\": \"20'"
check "  and the hub runs a respond-by clock on it" has_event est-cert "$R1" clock.started respond-by
check "a second one, with a date too" as est-cert send --kind stored-data-access --to FIN:fin-ncsc \
  --basis budapest-2001:31 --field respond_by="$(soon 6)" --field respond_by_reasons="Trial" "${SDA_FIELDS[@]}"
R2=$(sent_id)
check "  FIN: received (which does not answer it)" as fin-ncsc reply "$R2" --kind status-update \
  --basis budapest-2001:31 --field request="$R2" --field status=received
check "  (the clock still runs)" sh -c "! $PARLEY --config $WORK/est-cert.conf api GET /v1/messages/$R2 | grep -q clock.met"
check "  FIN: executed, in time" as fin-ncsc reply "$R2" --kind status-update --basis budapest-2001:31 \
  --field request="$R2" --field status=executed
check "  which meets the respond-by clock" has_event est-cert "$R2" clock.met "respond-by met by status-update"
as est-cert send --kind stored-data-access --to FIN:fin-ncsc --basis budapest-2001:31 --field respond_by=2027-01-15 \
  --field respond_by_reasons=R --seal-only "$WORK/sda.json" "${SDA_FIELDS[@]}" >/dev/null
forge "$WORK/sda.json" est-cert "$WORK/forged.json" 'env["respond_by"] = "next week"'
check "the hub refuses a signed header whose respond_by is not a date, naming it" \
  expect_fail "respond_by: must be a date" as est-cert api POST /v1/messages --data "$WORK/forged.json"
forge "$WORK/sda.json" est-cert "$WORK/forged.json" 'env["kind"] = "notification"'
check "  and a respond_by on a kind without one" expect_fail "unknown member 'respond_by'" \
  as est-cert api POST /v1/messages --data "$WORK/forged.json"

check "the hub restarts with short clocks (the running ones keep their due times)" restart_hub "${SHORT[@]}"
check "a preservation without the follow-up request" as est-cert send --kind preservation-request \
  --to FIN:fin-ncsc --basis budapest-2001:29 "${PRES_FIELDS[@]}"
P3=$(sent_id)

check "an urgent request made by phone is recorded as oral (Art. 25(3))" as est-cert send \
  --kind oral-request --to FIN:fin-ncsc --basis budapest-2001:25 --field requesting_authority=Prosecutor \
  --field made_at=2026-12-07T06:00:00Z --field made_to="Duty officer" --field request_kind=preservation-request \
  --field summary="Preserve the VPS" --field urgency="Wiper scheduled tonight"
O1=$(sent_id)
check "an oral request confirmed in writing in time" as est-cert send --kind oral-request --to FIN:fin-ncsc \
  --basis budapest-2001:25 --field requesting_authority=P --field made_at=2026-12-07 --field made_to=D \
  --field request_kind=mutual-legal-assistance --field summary=S --field urgency=U
O2=$(sent_id)
check "  is met by the written request in its case" as est-cert send --kind mutual-legal-assistance \
  --to FIN:fin-ncsc --case "$O2" --basis budapest-2001:27 --field oral=true --field follows="$O2" "${MLA_FIELDS[@]}"
check "  (clock met)" has_event est-cert "$O2" clock.met mutual-legal-assistance

check "an emergency disclosure request (Second Protocol Art. 9) sent as routine" as est-cert send \
  --kind emergency-disclosure --to FIN:fin-ncsc --priority routine --basis budapest-protocol2-2022:9 \
  --field requesting_authority=Police --field issued_on=2026-12-07 --field protocol_statement=true \
  --field service_providers="Host Oy, Helsinki" --field offences="Extortion, CC 31:3" \
  --field emergency_facts="Threat to life: hostage video" --field data_sought="Subscriber of VPS 203.0.113.9"
E1=$(sent_id)
check "a production order (Art. 8) not answered in its time frame" as est-cert send \
  --kind production-order --to FIN:fin-ncsc --basis budapest-protocol2-2022:8 --field issuing_authority=Court \
  --field issued_on=2026-12-01 --field 'data_type=["subscriber-information"]' --field order="Order 12/2026" \
  --field service_providers="Host Oy" --field offences=Fraud --field facts=F --field data_sought=Subscriber
PO=$(sent_id)
check "a stranger (LVA) posts a status update in reply to the production order" as lva-cert send \
  --kind status-update --to EST:est-cert --in-reply-to "$PO" --case "$PO" --basis budapest-2001:29 --force \
  --field request="$PO" --field status=executed
check "  which neither counts as its status nor meets its clock" \
  sh -c "! $PARLEY --config $WORK/est-cert.conf api GET /v1/messages/$PO | grep -q 'clock.met\|\"status-update\"'"
check "the emergency request runs on the critical acknowledgement deadline" /usr/bin/python3 - "$(msg est-cert "$E1")" <<'PY2'
import json, sys, datetime
o = json.loads(sys.argv[1])
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
assert (t(o["ack_deadline"]) - t(o["received"])).total_seconds() == 2, o
PY2
check "  and is escalated on it: FIN's next POC is alerted" wait_event est-cert "$E1" escalated 10
check "  the escalation names fin-duty" has_event est-cert "$E1" escalated fin-duty
check "the production order's clock lapses (Art. 8(6) time frame)" wait_event est-cert "$PO" clock.lapsed 15
check "the oral request without its written confirmation: its clock lapses" wait_event est-cert "$O1" clock.lapsed 15
check "the preservation without the follow-up request lapses, and the hub flags it" \
  wait_event est-cert "$P3" clock.lapsed 15
check "  parley case shows it lapsed" sh -c "$PARLEY --config $WORK/est-cert.conf case $P3 | grep 'preservation-lapse' | grep -q lapsed"
check "the unanswered respond-by date: its reminder fired (across the restart)" has_event est-cert "$R1" clock.reminder respond-by
check "  it lapses" wait_event est-cert "$R1" clock.lapsed 10
check "  and escalates like an acknowledgement deadline: FIN's next POC is alerted" \
  wait_event est-cert "$R1" clock.escalated 10
check "  the escalation names fin-duty" has_event est-cert "$R1" clock.escalated "respond-by: alerted FIN/fin-duty"
as fin-ncsc case "$R1" >"$WORK/case-r1.out" 2>&1 || true
check "  parley case shows the date from the signed header with its reasons" \
  grep -q "respond by .* (signed header): Suspect leaves custody on Friday" "$WORK/case-r1.out"

# --- statistics from metadata alone ----------------------------------------------------
as op stats --group instrument,kind,pair >"$WORK/stats.json"
check "the operator's statistics match what was sent" /usr/bin/python3 - "$WORK/stats.json" <<'PY2'
import json, sys
o = json.load(open(sys.argv[1]))
assert o["scope"] == "hub", o
rows = {(g["instrument"], g["article"], g["kind"], g["from"], g["to"]): g for g in o["groups"]}
none = {s: 0 for s in ["received", "in-execution", "partially-executed", "executed", "refused",
                        "postponed", "withdrawn"]}
mla = rows[("budapest-2001", "27", "mutual-legal-assistance", "EST", "FIN")]
assert mla["requests"] == 3 and mla["acknowledged"] == 1 and mla["with_status"] == 2, mla
# MLA0's respond-by clock: met by the refusal (a final status)
assert mla["mean_first_status_s"] is not None and mla["clocks_met"] == 1, mla
# M1: in execution, then executed (the latest counts); MLA0 refused; EST's own
# "withdrawn" on M1 is not the requested state's and does not count
assert mla["outcomes"] == dict(none, executed=1, refused=1), mla
pres = rows[("budapest-2001", "29", "preservation-request", "EST", "FIN")]
assert pres["requests"] == 5 and pres["with_status"] == 1, pres
assert pres["outcomes"] == dict(none, received=1), pres
assert pres["clocks_met"] >= 2 and pres["clocks_lapsed"] >= 1, pres
em = rows[("budapest-protocol2-2022", "9", "emergency-disclosure", "EST", "FIN")]
assert em["requests"] == 1 and em["overdue"] == 1, em
oral = rows[("budapest-2001", "25", "oral-request", "EST", "FIN")]
assert oral["requests"] == 2 and oral["clocks_lapsed"] == 1 and oral["clocks_met"] == 1, oral
sda = rows[("budapest-2001", "31", "stored-data-access", "EST", "FIN")]
assert sda["requests"] == 2 and sda["with_status"] == 1, sda
assert sda["clocks_met"] == 1 and sda["clocks_lapsed"] == 1, sda
assert sda["outcomes"] == dict(none, executed=1), sda  # received, then executed: the latest
po = rows[("budapest-protocol2-2022", "8", "production-order", "EST", "FIN")]
assert po["clocks_lapsed"] == 1 and po["outcomes"] == none, po  # LVA's status: a stranger's
un = rows[("un-cybercrime-2024", "42", "preservation-request", "FIN", "EST")]
assert un["requests"] == 1, un
assert ("budapest-2001", "29", "preservation-request", "EST", "LVA") in rows
PY2
as lva-cert stats --group instrument,kind,pair >"$WORK/stats-lva.json"
check "an officer sees its own state's traffic only" /usr/bin/python3 - "$WORK/stats-lva.json" <<'PY2'
import json, sys
o = json.load(open(sys.argv[1]))
assert o["scope"] == "state" and o["state"] == "LVA", o
assert [(g["kind"], g["from"], g["to"], g["requests"], g["sent"], g["received"]) for g in o["groups"]] == \
    [("preservation-request", "EST", "LVA", 1, 0, 1), ("status-update", "LVA", "EST", 1, 1, 0)], o
PY2
as op stats --group kind --format csv >"$WORK/stats.csv"
check "statistics as CSV, outcomes in columns" /usr/bin/python3 - "$WORK/stats.csv" <<'PY2'
import csv, sys
rows = {r["kind"]: r for r in csv.DictReader(open(sys.argv[1]))}
mla = rows["mutual-legal-assistance"]
assert mla["requests"] == "3" and mla["with_status"] == "2", mla
assert mla["outcome_executed"] == "1" and mla["outcome_refused"] == "1" and mla["outcome_received"] == "0", mla
assert rows["preservation-request"]["outcome_received"] == "1", rows
PY2
check "  and as an SVG bar chart, with the outcomes" sh -c "$PARLEY --config $WORK/op.conf stats --format svg | grep -q 'executed 1 refused 1'"
check "a bad group is refused" expect_fail INVALID_ARGUMENT as op stats --group country

finish
