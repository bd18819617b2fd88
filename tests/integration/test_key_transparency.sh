#!/usr/bin/env bash
# The directory as a key-transparency log, against an operator who holds the hub's
# database and keys: a client is never shown a rolled-back record, a root key replaced
# by the operator is flagged to every client until its user accepts it, first contact
# says so loudly, and `parley directory trust` pins a fingerprint checked out of band.
# Issue cases: rollback (4), root-key takeover (5); a record whose POC key is taken by
# another role is refused whole (abuse case 4). The split view of a root key (case 6) is
# caught by witnesses: tests/integration/test_witness.sh.
. "$(dirname "$0")/lib.sh"

HUB=http://placeholder
USERS="op est-root est-cert est-cert2 fin-root fin-cert lva-root lva-cert lva-duty opkey opfake"
for u in $USERS; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

onboard() { # CODE NAME REGION ROOTUSER
  as op admin state add --code "$1" --name "$2" --region "$3" --root-key "$WORK/$4.key.pub" \
    --fingerprint "$(fingerprint "$4")" >/dev/null
}
record() { # FILE CODE ROOTUSER POCID POCUSER ROLE [VERSION]
  as "$3" state init --state "$2" --out "$1" >/dev/null
  [ -z "${7:-}" ] || sed -i "s/\"version\": *1/\"version\": $7/" "$1"
  as "$3" state poc add "$1" --id "$4" --name "Officer $4" --role "$6" --email "$4@example.org" \
    --phone "+000 000" --language en --poc-key "$WORK/$5.key" >/dev/null
  as "$3" state sign "$1" >/dev/null
  as "$3" state publish "$1" >/dev/null
}
notify() { # USER TO
  as "$1" send --kind notification --to "$2" --field incident_class=test --field summary=drill \
    --field affected_sectors=none --field indicators=none --field first_seen=2026-12-01
}

onboard EST Estonia eastern-european est-root
onboard FIN Finland western-european-and-others fin-root
onboard LVA Latvia eastern-european lva-root
record "$WORK/est.json" EST est-root est-cert est-cert technical
record "$WORK/fin.json" FIN fin-root fin-cert fin-cert technical
record "$WORK/lva.json" LVA lva-root lva-cert lva-cert technical
as lva-root state poc add "$WORK/lva.json" --id lva-duty --name "Duty" --role technical \
  --email duty@lva.example --phone "+371 000" --language en --poc-key "$WORK/lva-duty.key" >/dev/null
as lva-root state sign "$WORK/lva.json" >/dev/null
as lva-root state publish "$WORK/lva.json" >/dev/null

# --- first contact and out-of-band trust ----------------------------------------------
check "first contact pins the root key on trust, and says so loudly" \
  sh -c "$PARLEY --config $WORK/lva-cert.conf directory show EST 2>&1 | grep -q 'FIRST CONTACT with EST'"
check "the record is shown as the one the log's directory commitment names" \
  sh -c "$PARLEY --config $WORK/lva-cert.conf directory show EST | grep -q 'directory commitment names this root key and version 1'"
check "until confirmed, the root key is shown as NOT confirmed" \
  sh -c "$PARLEY --config $WORK/lva-cert.conf directory show EST | grep -q 'NOT confirmed'"
check "trust with a fingerprint that is not the served one is refused" expect_fail \
  "not the one you checked" as lva-cert directory trust EST "$(fingerprint fin-root)"
check "trust with the fingerprint read out of band pins it as confirmed" \
  sh -c "$PARLEY --config $WORK/lva-cert.conf directory trust EST '$(fingerprint est-root)' | grep -q TRUSTED"
check "and directory show says so" \
  sh -c "$PARLEY --config $WORK/lva-cert.conf directory show EST | grep -q 'confirmed out of band'"
check "a message to EST goes out" notify lva-cert EST:technical
check "EST's officer looks FIN up (and pins its key)" as est-cert directory show FIN

# --- abuse case 4: a POC key registered under another role refuses the record whole ----
cp "$WORK/est.json" "$WORK/est-bad.json"
as est-root state poc add "$WORK/est-bad.json" --id est-thief --name "Thief" --role technical \
  --email t@example.org --phone "+000" --language en --poc-key "$WORK/lva-root.key" >/dev/null
as est-root state poc add "$WORK/est-bad.json" --id est-cert2 --name "Second" --role technical \
  --email s@example.org --phone "+000" --language en --poc-key "$WORK/est-cert2.key" >/dev/null
as est-root state sign "$WORK/est-bad.json" >/dev/null
check "a record naming another role's key as a POC key is refused, naming the field" \
  expect_fail "pocs\[1\].signing_key" as est-root state publish "$WORK/est-bad.json"
check "nothing of it was applied: the version is unchanged" \
  sh -c "$PARLEY --config $WORK/est-cert.conf --json api GET /v1/states/EST | grep -Eq '\"version\": ?1[,}]'"
check "and the POC after it is not an officer" expect_fail AUTH_UNKNOWN_KEY as est-cert2 api GET /v1/whoami
check "the existing officer still works" as est-cert api GET /v1/whoami

# --- case 4: rollback ------------------------------------------------------------------
as est-root state poc add "$WORK/est.json" --id est-cert2 --name "Second" --role technical \
  --email s@example.org --phone "+000" --language en --poc-key "$WORK/est-cert2.key" >/dev/null
as est-root state sign "$WORK/est.json" >/dev/null
check "EST publishes version 2" as est-root state publish "$WORK/est.json"
check "LVA's officer sees version 2" \
  sh -c "$PARLEY --config $WORK/lva-cert.conf directory show EST | grep -q 'record version 2'"
check "SIGTERM" stop_hub
# The operator puts version 1 back: an old record whose keys EST may have revoked.
sqlite3 "$WORK/hub/hub.db" "DELETE FROM state_records WHERE state = 'EST' AND version = 2; \
  UPDATE states SET current_version = 1 WHERE code = 'EST';"
PORT=${HUB##*:}
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 --port "$PORT"
check "a client is refused the rolled-back record: the log commits to version 2" expect_fail \
  "not what the hub's log commits to" as lva-cert directory show EST
check "a first-contact client is refused it too" expect_fail \
  "not what the hub's log commits to" as fin-cert directory show EST
check "and nothing is sealed to the old record's keys" expect_fail REFUSED notify lva-cert EST:technical
check "SIGTERM" stop_hub
# The operator also drops the checkpoints, so the hub signs a commitment to version 1.
sqlite3 "$WORK/hub/hub.db" "DELETE FROM checkpoints;"
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 --port "$PORT"
check "a client that saw version 2 still refuses version 1" expect_fail \
  "has seen version 2" as lva-cert directory show EST

# --- case 5: the operator replaces a root key ----------------------------------------
check "the operator replaces FIN's root key with its own, giving a reason" \
  as op admin state set-root FIN --root-key "$WORK/opkey.key.pub" --fingerprint "$(fingerprint opkey)" \
  --reason "root key lost, confirmed by phone"
record "$WORK/fin-fake.json" FIN opkey fin-fake opfake technical 2
check "a client that pinned FIN's key refuses the new one, saying the operator replaced it" \
  expect_fail "OPERATOR replaced it" as est-cert directory show FIN
check "a first-contact client is not silently given the operator's key inside send" \
  expect_fail "REPLACED BY THE HUB'S OPERATOR" notify lva-duty FIN:technical
check "the warning shows the operator's logged reason" \
  grep -q "root key lost, confirmed by phone" "$WORK/ef.out"
check "directory show shows the flagged record with its warning" \
  sh -c "$PARLEY --config $WORK/lva-duty.conf directory show FIN 2>&1 | grep -q 'REPLACED BY THE HUB'"
check "it stays flagged on every use until accepted" expect_fail \
  "REPLACED BY THE HUB'S OPERATOR" notify lva-duty FIN:technical
check "the user accepts it after checking the fingerprint out of band" \
  as lva-duty directory trust FIN "$(fingerprint opkey)"
check "then the state can be used" notify lva-duty FIN:technical

check "the daemon is still healthy" expect_code 200 "" "$(http GET /healthz)"
check "SIGTERM exits cleanly" stop_hub
finish
