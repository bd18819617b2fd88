#!/usr/bin/env bash
# The transparency log through the real daemon: records are logged, clients verify
# inclusion and consistency with the pinned hub log key, tiles match the log, and a
# hub whose database was rewritten is caught, with the evidence saved.
. "$(dirname "$0")/lib.sh"

HUB=http://placeholder
for u in op est-root est-cert; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1
for u in op est-root est-cert; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

as op admin state add --code EST --name Estonia --region eastern-european \
  --root-key "$WORK/est-root.key.pub" --fingerprint "$(fingerprint est-root)" >/dev/null
R=$WORK/est.json
as est-root state init --state EST --out "$R" >/dev/null
as est-root state poc add "$R" --id est-cert --name "Kati Kask" --role technical \
  --email duty@cert.ee.example --phone "+372 600 0000" --language et --poc-key "$WORK/est-cert.key" >/dev/null
as est-root state sign "$R" >/dev/null
check "a published record answers with its leaf index" sh -c "$PARLEY --config $WORK/est-root.conf state publish $R | grep -q '\"leaf_index\": 2'"
check "the hub serves its log key" sh -c "curl -sf $HUB/log/key | grep -q '^test.parley.localhost+'"
check "the client proves the record is in the log" \
  sh -c "$PARLEY --config $WORK/est-cert.conf verify record EST | grep -q 'VERIFIED: record EST version 1 is entry 2'"
check "the hub log key is pinned on first use" grep -q test.parley.localhost "$WORK/home-est-cert/hubs.json"
check "directory show checks the log too" \
  sh -c "$PARLEY --config $WORK/est-cert.conf directory show EST | grep -q 'transparency log as entry 2'"
check "the checkpoint verifies" sh -c "$PARLEY --config $WORK/est-cert.conf log checkpoint | grep -q 'VERIFIED checkpoint of test.parley.localhost: 4 entries'"
check "a tlog-proof is served in the C2SP format" sh -c "curl -sf '$HUB/log/proof?index=0' | head -1 | grep -qx 'c2sp.org/tlog-proof@v1'"
check "an index beyond the log is TLOG_RANGE" expect_code 400 TLOG_RANGE "$(http GET '/log/proof?index=99')"
check "HEAD of the checkpoint answers its headers, no body" \
  sh -c "curl -sfI '$HUB/log/checkpoint' | grep -qi '^content-type: text/plain' && [ -z \"\$(curl -s -X HEAD --max-time 2 '$HUB/log/checkpoint' 2>/dev/null)\" ]"
check "a checkpoint may be cached briefly" sh -c "curl -sfI '$HUB/log/checkpoint' | grep -qi '^cache-control: public, max-age=1'"
check "a partial tile may be cached briefly" sh -c "curl -sfI '$HUB/log/tile/0/000.p/2' | grep -qi '^cache-control: public, max-age=1'"
check "authenticated answers are never cached" sh -c "curl -sI '$HUB/healthz' | grep -qi '^cache-control: no-store'"
check "a malformed tile path is 404" expect_code 404 "" "$(http GET /log/tile/0/0001)"

# Tiles: the partial level-0 tile holds the leaf hashes of the entry bundle's entries.
curl -sf "$HUB/log/tile/0/000.p/4" -o "$WORK/tile0"
curl -sf "$HUB/log/tile/entries/000.p/4" -o "$WORK/entries0"
check "hash tile and entry bundle agree (RFC 9162 leaf hashes)" python3 - "$WORK/tile0" "$WORK/entries0" <<'PY'
import hashlib, sys
tile = open(sys.argv[1], "rb").read()
bundle = open(sys.argv[2], "rb").read()
entries, off = [], 0
while off < len(bundle):
    n = int.from_bytes(bundle[off:off + 2], "big")
    entries.append(bundle[off + 2:off + 2 + n])
    off += 2 + n
assert len(tile) == 128 and len(entries) == 4, (len(tile), len(entries))
assert entries[0].startswith(b"event\n{"), entries[0][:20]
assert entries[1].startswith(b"directory\n{") and b'"action":"onboard"' in entries[1], entries[1]
assert entries[2].startswith(b"state-record\n") and len(entries[2]) == 13 + 32
assert entries[3].startswith(b"directory\n{") and b'"action":"record"' in entries[3], entries[3]
for i, e in enumerate(entries):
    assert hashlib.sha256(b"\0" + e).digest() == tile[32 * i:32 * i + 32], i
PY

# A second version: the client accepts the grown log only with a consistency proof.
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
sleep 1.2
check "a grown log is accepted with a consistency proof" sh -c "$PARLEY --config $WORK/est-cert.conf log checkpoint | grep -q ': 6 entries'"
check "consistency proofs from size 0 are refused (documented rule)" expect_code 400 TLOG_RANGE "$(http GET '/log/consistency?from=0&to=6')"

# The operator rewrites history: drops the last entry and logs something else in its place.
check "SIGTERM" stop_hub
sqlite3 "$WORK/hub/hub.db" "DELETE FROM log_leaves WHERE idx >= 4; DELETE FROM checkpoints; \
  DELETE FROM state_records WHERE version = 2; UPDATE states SET current_version = 1;"
PORT=${HUB##*:}
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 --port "$PORT"
check "the hub restarts on the rewritten store" expect_code 200 "" "$(http GET /healthz)"
python3 - "$R" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["pocs"][0]["name"] = "Someone Else"
json.dump(r, open(sys.argv[1], "w"))
PY
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
sleep 1.2
check "the client detects the forked log" expect_fail "LOG MISBEHAVIOUR" as est-cert log checkpoint
check "and saves both signed checkpoints as evidence" sh -c "ls $WORK/home-est-cert/evidence-*/old-checkpoint $WORK/home-est-cert/evidence-*/new-checkpoint"

# Altering a logged record's leaf hash: the record can no longer be proven.
check "SIGTERM" stop_hub
sqlite3 "$WORK/hub/hub.db" "UPDATE log_leaves SET hash = randomblob(32) WHERE idx = 2"
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --port "$PORT"
check "a record whose leaf was altered is refused" expect_fail "REFUSED: record EST is not provably" as est-cert verify record EST 1
check "SIGTERM exits cleanly" stop_hub
finish
