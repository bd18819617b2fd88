#!/usr/bin/env bash
# Witnesses check the directory commitment (docs/tlog.md, "Witnesses"): `parley witness
# run` replays the log's entries from the public entry bundles, authenticates them with
# the log's Merkle frontier, applies the directory rules and compares the checkpoint's
# commitment. The operator (with the hub's database) moves a state's record back, swaps a
# root key without a rotation, or logs an entry that breaks a rule: the witness signs
# neither its cosignature nor its directory statement, says DIRECTORY MISBEHAVIOUR, saves
# the evidence and exits 3; a client requiring the witness refuses the checkpoint.
. "$(dirname "$0")/lib.sh"

HUB=http://placeholder
for u in op est-root est-cert lva-root fin-root deu-root pol-root swe-root; do new_user "$u"; done
WA=witness.a.example/w1
WB=witness.b.example/w1
for w in a b; do
  "$PARLEY" --config /dev/null witness init --name "witness.$w.example/w1" --out "$WORK/w$w.key" >"$WORK/w$w.vkey"
done
hub_args=(--operator-key "$(pubkey op)" --checkpoint-interval 1
  --witness-key "$(cat "$WORK/wa.vkey")" --witness-key "$(cat "$WORK/wb.vkey")")
start_hub "$WORK/hub" "${hub_args[@]}"
PORT=${HUB##*:}
for u in op est-root est-cert lva-root fin-root deu-root pol-root swe-root; do
  sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"
done
for w in a b; do
  mkdir -p "$WORK/home-w$w"
  printf 'hub = %s\nhome = %s\n' "$HUB" "$WORK/home-w$w" >"$WORK/w$w.conf"
done
mkdir -p "$WORK/home-k1"
printf 'hub = %s\nkey = %s\nhome = %s\nwitness = %s\nwitnesses_required = 1\n' \
  "$HUB" "$WORK/est-cert.key" "$WORK/home-k1" "$(cat "$WORK/wa.vkey")" >"$WORK/k1.conf"

restart_hub() {
  stop_hub
  start_hub "$WORK/hub" "${hub_args[@]}" --port "$PORT"
}
onboard() { # onboard CODE USER: a directory change, so the hub signs a checkpoint at once
  as op admin state add --code "$1" --name "State $1" --region eastern-european \
    --root-key "$WORK/$2.key.pub" --fingerprint "$(fingerprint "$2")" >/dev/null
}
# witness_round W: one round of witness W; output in $WORK/round.out, status in $RC.
witness_round() {
  set +e
  "$PARLEY" --config "$WORK/w$1.conf" witness run --key "$WORK/w$1.key" --once >"$WORK/round.out" 2>&1
  RC=$?
  set -e
}
no_line_of() { ! curl -sf "$HUB/log/checkpoint" | grep -q "^— $1 "; }
evidence_count() { ls -d "$WORK"/home-w"$1"/evidence-* 2>/dev/null | wc -l; }

# The log must span more than one entry bundle (256 entries), so that the replay joins
# bundles: 300 filler entries, appended to the store as the hub appends them (leaf and
# the complete subtrees it finishes, RFC 9162 hashing).
cat >"$WORK/append.py" <<'PY'
import base64, hashlib, json, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
def h(level, idx):
    if level == 0:
        return db.execute("SELECT hash FROM log_leaves WHERE idx = ?", (idx,)).fetchone()[0]
    return db.execute("SELECT hash FROM log_nodes WHERE level = ? AND idx = ?", (level, idx)).fetchone()[0]
def append(kind, entry):
    i = db.execute("SELECT coalesce(max(idx) + 1, 0) FROM log_leaves").fetchone()[0]
    leaf = hashlib.sha256(b"\x00" + entry).digest()
    db.execute("INSERT INTO log_leaves (idx, hash, kind, entry, created) VALUES (?, ?, ?, ?, ?)",
               (i, leaf, kind, entry, int(time.time())))
    node, idx, level = leaf, i, 0
    while idx & 1:
        node = hashlib.sha256(b"\x01" + h(level, idx - 1) + node).digest()
        idx, level = idx >> 1, level + 1
        db.execute("INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)", (level, idx, node))
    return i
b64url = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
if sys.argv[2] == "filler":
    for k in range(int(sys.argv[3])):
        append("test-filler", b"filler %d" % k)
elif sys.argv[2] == "rollback":  # a logged record entry that moves STATE back to VERSION
    state, version = sys.argv[3], int(sys.argv[4])
    body = db.execute("SELECT body FROM state_records WHERE state = ? AND version = ?",
                      (state, version)).fetchone()[0]
    root = db.execute("SELECT root_pk FROM states WHERE code = ?", (state,)).fetchone()[0]
    obj = {"action": "record", "format": "parley-directory-v1", "record_sha256":
           b64url(hashlib.sha256(body.encode()).digest()), "root_key": b64url(root),
           "state": state, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "version": version}
    i = append("directory", b"directory\n" + json.dumps(obj, sort_keys=True, separators=(",", ":")).encode())
    db.execute("UPDATE states SET current_version = ? WHERE code = ?", (version, state))
    print(i)
elif sys.argv[2] == "relog":  # STATE's current record logged again (a state-record entry)
    state = sys.argv[3]
    body = db.execute("SELECT r.body FROM state_records r JOIN states s ON s.code = r.state "
                      "AND s.current_version = r.version WHERE s.code = ?", (state,)).fetchone()[0]
    print(append("state-record", b"state-record\n" + hashlib.sha256(body.encode()).digest()))
db.commit()
PY

# A directory that follows the rules: onboarding, two records.
onboard EST est-root
R=$WORK/est.json
as est-root state init --state EST --out "$R" >/dev/null
as est-root state poc add "$R" --id est-cert --name "Kati Kask" --role technical \
  --email duty@cert.ee.example --phone "+372 600 0000" --language et --poc-key "$WORK/est-cert.key" >/dev/null
for v in 1 2; do
  as est-root state sign "$R" >/dev/null
  as est-root state publish "$R" >/dev/null
done
stop_hub
python3 "$WORK/append.py" "$WORK/hub/hub.db" filler 300
start_hub "$WORK/hub" "${hub_args[@]}" --port "$PORT"
onboard LVA lva-root
witness_round a
check "witness A replays 308 entries (two bundles) and cosigns" grep -q 'COSIGNED checkpoint of test.parley.localhost: 308 entries' "$WORK/round.out"
check "and makes its directory statement (2 states)" grep -q 'DIRECTORY VERIFIED: 2 states' "$WORK/round.out"
check "a client requiring 1 witness accepts" sh -c "$PARLEY --config $WORK/k1.conf log checkpoint | grep -q ': 308 entries'"
check "the client checks EST's entry against the witnessed commitment" sh -c \
  "$PARLEY --config $WORK/k1.conf verify record EST | grep -q 'VERIFIED: record EST version 2'"

# (a) Rollback: the operator moves EST back to version 1 in the store; the next
# checkpoint's commitment says version 1 although the log says 2.
stop_hub
sqlite3 "$WORK/hub/hub.db" "CREATE TABLE kept AS SELECT * FROM state_records WHERE state = 'EST' AND version = 2; \
  DELETE FROM state_records WHERE state = 'EST' AND version = 2; UPDATE states SET current_version = 1 WHERE code = 'EST'"
start_hub "$WORK/hub" "${hub_args[@]}" --port "$PORT"
onboard FIN fin-root
check "(a) the hub serves EST's version 1 again" sh -c \
  "$PARLEY --config $WORK/est-cert.conf api GET /v1/states/EST/record | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"version\"] == 1'"
witness_round a
check "(a) witness A refuses: DIRECTORY MISBEHAVIOUR, the commitment is not what the entries build" \
  grep -q "REFUSED to cosign: DIRECTORY MISBEHAVIOUR: checkpoint 310 commits to a directory (3 states, root .*) that is not the one its log entries build (3 states" "$WORK/round.out"
check "(a) with exit status 3" test "$RC" = 3
check "(a) and saves the evidence" sh -c \
  "[ $(evidence_count a) = 1 ] && d=\$(ls -d $WORK/home-wa/evidence-*) && sed -n 2p \$d/new-checkpoint | grep -qx 310 && \
   grep -q 'not the one its log entries build' \$d/why && grep -q '\"state\":\"EST\",\"version\":2' \$d/why"
check "(a) the checkpoint carries neither of A's lines" no_line_of "$WA"
check "(a) the client requiring 1 witness refuses it" expect_fail "carries 0 valid cosignatures" \
  "$PARLEY" --config "$WORK/k1.conf" log checkpoint
# The operator undoes the edit: the next checkpoint commits to the directory the log
# builds again, and the witness (which kept its state from before) signs it.
stop_hub
sqlite3 "$WORK/hub/hub.db" "INSERT INTO state_records SELECT * FROM kept; DROP TABLE kept; \
  UPDATE states SET current_version = 2 WHERE code = 'EST'"
start_hub "$WORK/hub" "${hub_args[@]}" --port "$PORT"
onboard DEU deu-root
witness_round a
check "(a) once the store is restored, witness A signs again (replaying from where it stopped)" \
  grep -q 'DIRECTORY VERIFIED: 4 states' "$WORK/round.out"

# (b) A root key changed without a logged rotation: the operator swaps EST's root key
# for one of its own in the store.
stop_hub
OLD_ROOT=$(sqlite3 "$WORK/hub/hub.db" "SELECT hex(root_pk) FROM states WHERE code = 'EST'")
NEW_ROOT=$(python3 -c 'import base64,sys; print(base64.urlsafe_b64decode(sys.argv[1] + "=").hex())' "$(pubkey swe-root)")
sqlite3 "$WORK/hub/hub.db" "UPDATE states SET root_pk = X'$NEW_ROOT' WHERE code = 'EST'"
start_hub "$WORK/hub" "${hub_args[@]}" --port "$PORT"
onboard POL pol-root
witness_round a
check "(b) witness A refuses a root key changed without a logged rotation" \
  grep -q "REFUSED to cosign: DIRECTORY MISBEHAVIOUR: checkpoint 314 commits to a directory (5 states" "$WORK/round.out"
check "(b) with exit status 3, evidence saved" sh -c "[ $RC = 3 ] && [ $(evidence_count a) = 2 ]"
check "(b) the checkpoint carries neither of A's lines" no_line_of "$WA"
check "(b) the client requiring 1 witness refuses it" expect_fail "carries 0 valid cosignatures" \
  "$PARLEY" --config "$WORK/k1.conf" log checkpoint
stop_hub
sqlite3 "$WORK/hub/hub.db" "UPDATE states SET root_pk = X'$OLD_ROOT' WHERE code = 'EST'"
start_hub "$WORK/hub" "${hub_args[@]}" --port "$PORT"
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
witness_round a
check "(b) restored, witness A signs again" grep -q 'COSIGNED checkpoint of test.parley.localhost: 316 entries' "$WORK/round.out"

# (c) A logged entry that breaks a rule: the operator appends, in the open, a record
# entry that moves EST back to version 1, and commits to it. The commitment matches the
# entries, but the entries break the rules.
stop_hub
BAD=$(python3 "$WORK/append.py" "$WORK/hub/hub.db" rollback EST 1)
start_hub "$WORK/hub" "${hub_args[@]}" --port "$PORT"
sleep 1.1 # the checkpoint interval: the next GET /log/checkpoint signs size 317
check "(c) the hub signs a checkpoint over the appended entry" sh -c "curl -sf $HUB/log/checkpoint | sed -n 2p | grep -qx 317"
witness_round a
check "(c) witness A refuses: the entry breaks the rule that versions only grow" \
  grep -q "REFUSED to cosign: DIRECTORY MISBEHAVIOUR: log entry $BAD (EST): record version does not grow (a rollback)" "$WORK/round.out"
check "(c) with exit status 3" test "$RC" = 3
check "(c) the evidence holds the entry and its inclusion proof" sh -c \
  "d=\$(ls -d $WORK/home-wa/evidence-* | sort | tail -1) && grep -q '\"version\":1' \$d/why && grep -q 'c2sp.org/tlog-proof@v1' \$d/why && \
   grep -q '^index $BAD\$' \$d/why"
check "(c) the checkpoint carries neither of A's lines" no_line_of "$WA"
witness_round a
check "(c) a rerun still refuses (the entry stays in the log)" sh -c "[ $RC = 3 ] && grep -q 'DIRECTORY MISBEHAVIOUR' $WORK/round.out"
witness_round b
check "(c) a new witness replaying from entry 0 refuses as well" sh -c \
  "[ $RC = 3 ] && grep -q 'DIRECTORY MISBEHAVIOUR: log entry $BAD (EST)' $WORK/round.out"
check "(c) the client requiring 1 witness refuses the checkpoint" expect_fail "carries 0 valid cosignatures" \
  "$PARLEY" --config "$WORK/k1.conf" log checkpoint

# Entries that do not lead to the signed root are not the hub's: no evidence, no blame.
stop_hub
sqlite3 "$WORK/hub/hub.db" "UPDATE log_leaves SET entry = CAST('forged' AS BLOB) WHERE idx = 300"
start_hub "$WORK/hub" "${hub_args[@]}" --port "$PORT"
rm -rf "$WORK/home-wb"/*
witness_round b
check "a witness refuses entries that do not lead to the checkpoint's root, without blaming the hub" sh -c \
  "[ $RC = 1 ] && grep -q 'do not lead to the root of checkpoint 317' $WORK/round.out && [ $(evidence_count b) = 0 ]"
check "SIGTERM exits cleanly" stop_hub

# (d) A record logged twice: the operator, holding a POC key that EST's current record
# removed, would log the record again after what it signs with that key and prove the
# copy, to move the removal's log position (docs/threat-model.md). A fresh hub on the
# same port, fresh homes: EST publishes one record, witness A cosigns; the operator then
# appends the record's state-record entry again, and the hub signs over it.
rm -rf "$WORK"/home-*/*
start_hub "$WORK/hub2" "${hub_args[@]}" --port "$PORT"
onboard EST est-root
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
witness_round a
check "(d) witness A cosigns the fresh hub's log" grep -q 'COSIGNED checkpoint of test.parley.localhost' "$WORK/round.out"
stop_hub
DUP=$(python3 "$WORK/append.py" "$WORK/hub2/hub.db" relog EST)
start_hub "$WORK/hub2" "${hub_args[@]}" --port "$PORT"
sleep 1.1 # the checkpoint interval: the next GET /log/checkpoint signs over the copy
curl -sf "$HUB/log/checkpoint" >/dev/null
witness_round a
check "(d) witness A refuses the record logged again" sh -c "[ $RC = 3 ] && grep -q \
  'DIRECTORY MISBEHAVIOUR: log entry $DUP: a state-record entry that checkpoint [0-9]* ends after, without its directory entry' $WORK/round.out"
check "(d) SIGTERM exits cleanly" stop_hub
finish
