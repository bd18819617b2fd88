#!/usr/bin/env bash
# Witnesses (C2SP tlog-cosignature) through the real daemon: witnesses check that the
# hub's log only grows and cosign its checkpoints, and replay its directory entries and
# add a directory statement (parley-directory/v1); the hub keeps the lines of its
# configured witnesses only; clients require both lines of K of N of them; a forked log
# is caught by the witness, which refuses to cosign and saves the evidence. Directory
# misbehaviour (rollback, root key changed without a rotation, a rule-breaking entry):
# test_witness_directory.sh.
. "$(dirname "$0")/lib.sh"

HUB=http://placeholder
for u in op est-root est-cert; do new_user "$u"; done

# Three witness keys: A and B are configured on the hub, C is not.
WA=witness.a.example/w1
WB=witness.b.example/w1
for w in a b c; do
  check "witness $w: init prints its cosignature verifier key" sh -c \
    "$PARLEY --config /dev/null witness init --name witness.$w.example/w1 --out $WORK/w$w.key >$WORK/w$w.vkey"
done
check "the witness key file is private (0600)" sh -c "[ \$(stat -c %a $WORK/wa.key) = 600 ]"
check "the verifier key is name+keyid+base64" grep -Eqx 'witness\.a\.example/w1\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}' "$WORK/wa.vkey"
check "witness show prints the same key" sh -c "[ \"\$($PARLEY --config /dev/null witness show --key $WORK/wa.key)\" = \"\$(cat $WORK/wa.vkey)\" ]"
check "init refuses to overwrite a key" expect_fail "refusing to overwrite" \
  "$PARLEY" --config /dev/null witness init --name x.example/w --out "$WORK/wa.key"
check "init refuses a bad name" expect_fail "witness name" \
  "$PARLEY" --config /dev/null witness init --name "bad+name" --out "$WORK/bad.key"
cp "$WORK/wb.key" "$WORK/open.key" && chmod 644 "$WORK/open.key"
check "a key readable by others is refused" expect_fail "chmod 600" \
  "$PARLEY" --config /dev/null witness show --key "$WORK/open.key"

check "parleyd refuses a malformed witness key" expect_fail "witness_key" \
  "$PARLEYD" --data-dir "$WORK/nohub" --witness-key "$WA+00000000+AAAA" --help
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 \
  --witness-key "$(cat "$WORK/wa.vkey")" --witness-key "$(cat "$WORK/wb.vkey")"
for u in op est-root est-cert; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done
# Witnesses and clients each have their own state directory.
for w in a b c; do
  mkdir -p "$WORK/home-w$w"
  printf 'hub = %s\nhome = %s\n' "$HUB" "$WORK/home-w$w" >"$WORK/w$w.conf"
done
for k in 0 1 2; do
  mkdir -p "$WORK/home-k$k"
  printf 'hub = %s\nkey = %s\nhome = %s\nwitness = %s\nwitness = %s\nwitnesses_required = %s\n' \
    "$HUB" "$WORK/est-cert.key" "$WORK/home-k$k" "$(cat "$WORK/wa.vkey")" "$(cat "$WORK/wb.vkey")" \
    "$k" >"$WORK/k$k.conf"
done

# Some writes.
as op admin state add --code EST --name Estonia --region eastern-european \
  --root-key "$WORK/est-root.key.pub" --fingerprint "$(fingerprint est-root)" >/dev/null
R=$WORK/est.json
as est-root state init --state EST --out "$R" >/dev/null
as est-root state poc add "$R" --id est-cert --name "Kati Kask" --role technical \
  --email duty@cert.ee.example --phone "+372 600 0000" --language et --poc-key "$WORK/est-cert.key" >/dev/null
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
sleep 1.2

# Onboarding logs 2 entries (the event and the directory entry), and so does a record.
check "witness A cosigns the checkpoint" sh -c \
  "$PARLEY --config $WORK/wa.conf witness run --key $WORK/wa.key --once >$WORK/wa.out && grep -q 'COSIGNED checkpoint of test.parley.localhost: 4 entries' $WORK/wa.out"
check "and verified the directory (1 state)" grep -q "DIRECTORY VERIFIED: 1 states, root .* (statement parley-directory/v1 as $WA)" "$WORK/wa.out"
check "witness A keeps the log's frontier and the directory it rebuilt" sh -c \
  "python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[\"$WA\"][\"$HUB\"][\"directory\"]; assert d[\"log\"][\"size\"]==4 and d[\"states\"][0][\"state\"]==\"EST\" and d[\"states\"][0][\"version\"]==1' $WORK/home-wa/witness.json"
check "witness A pinned the hub's log key" grep -q 'test.parley.localhost+' "$WORK/home-wa/witness.json"
curl -sf "$HUB/log/checkpoint" >"$WORK/cp1"
check "the served checkpoint carries A's lines (cosignature and directory statement)" sh -c "[ \$(grep -c '^— $WA ' $WORK/cp1) = 2 ]"
check "and not B's" sh -c "! grep -q '^— $WB ' $WORK/cp1"
check "the hub's signature line is still there" grep -q "^— test.parley.localhost " "$WORK/cp1"

# An independent check of the C2SP tlog-cosignature v1 format and of the directory
# statement (docs/tlog.md), and a signer of our own for the refusal cases: Ed25519 via
# python3-cryptography, from the witness key files.
cat >"$WORK/cosig.py" <<'PY'
import base64, hashlib, json, struct, sys, time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

def split(note):
    text, _, sigs = note.rpartition("\n\n")
    return text + "\n", [l for l in sigs.split("\n") if l]

def vkey(s):
    name, kid, b = s.strip().split("+", 2)
    raw = base64.b64decode(b)
    assert raw[0] == 4 and len(raw) == 33
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == kid
    return name, bytes.fromhex(kid), raw[1:]

def key(path):
    lines = open(path).read().split("\n")
    assert lines[0] == "parley-witness-key v1"
    name = lines[1][5:]
    seed = base64.urlsafe_b64decode(lines[2][5:] + "=")
    return name, Ed25519PrivateKey.from_private_bytes(seed)

# The directory statement: key id SHA-256(name || 0x0A || 0xFF || "parley-directory/v1"
# || 0x0A || key)[:4], message "parley/v1/directory-witness\ntime <t>\n" || text.
def dirkid(name, pk):
    return hashlib.sha256(name.encode() + b"\n\xff" + b"parley-directory/v1\n" + pk).digest()[:4]
HEADERS = {"cosig": b"cosignature/v1\n", "dir": b"parley/v1/directory-witness\n"}

def line(keyfile, text, ts, kind="cosig"):
    name, sk = key(keyfile)
    pk = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = hashlib.sha256(name.encode() + b"\n\x04" + pk).digest()[:4] if kind == "cosig" else dirkid(name, pk)
    sig = sk.sign(HEADERS[kind] + b"time %d\n" % ts + text.encode())
    return "\u2014 %s %s" % (name, base64.b64encode(kid + struct.pack(">Q", ts) + sig).decode())

cmd = sys.argv[1]
if cmd in ("verify", "verifydir"):  # verify[dir] NOTEFILE VKEY: the witness's line verifies
    text, sigs = split(open(sys.argv[2]).read())
    name, kid, pk = vkey(sys.argv[3])
    kind = "cosig" if cmd == "verify" else "dir"
    if kind == "dir":
        kid = dirkid(name, pk)
        assert "\nparley-directory/v1 " in text, text
    mine = [l for l in sigs if l.startswith("\u2014 %s " % name) and base64.b64decode(l.split(" ")[2])[:4] == kid]
    assert len(mine) == 1, (mine, sigs)
    raw = base64.b64decode(mine[0].split(" ")[2])
    assert len(raw) == 76 and raw[:4] == kid
    ts = struct.unpack(">Q", raw[4:12])[0]
    assert abs(ts - time.time()) < 600, ts
    Ed25519PublicKey.from_public_bytes(pk).verify(raw[12:], HEADERS[kind] + b"time %d\n" % ts + text.encode())
elif cmd == "body":  # body KEYFILE NOTEFILE MODE [dir]: a request body for /log/add-cosignature
    text, _ = split(open(sys.argv[3]).read())
    mode = sys.argv[4]
    if mode == "otherroot":  # a checkpoint of the same size that the hub never signed
        o, n, r = text.split("\n")[:3]
        text = "%s\n%s\n%s\n" % (o, n, base64.b64encode(hashlib.sha256(b"x").digest()).decode())
    if mode == "bigger":
        o, n, r = text.split("\n")[:3]
        text = "%s\n%d\n%s\n" % (o, int(n) + 100, r)
    kind = sys.argv[5] if len(sys.argv) > 5 else "cosig"
    l = line(sys.argv[2], text, int(time.time()) + {"old": -3600, "future": 3600}.get(mode, 0), kind)
    if mode == "tamper":
        name, b = l[2:].split(" ")
        raw = bytearray(base64.b64decode(b))
        raw[40] ^= 1
        l = "\u2014 %s %s" % (name, base64.b64encode(bytes(raw)).decode())
    print(json.dumps({"note": text + "\n" + l + "\n"}))
PY
check "A's cosignature verifies independently (C2SP tlog-cosignature v1)" \
  /usr/bin/python3 "$WORK/cosig.py" verify "$WORK/cp1" "$(cat "$WORK/wa.vkey")"
check "A's directory statement verifies independently (type 0xFF, parley-directory/v1)" \
  /usr/bin/python3 "$WORK/cosig.py" verifydir "$WORK/cp1" "$(cat "$WORK/wa.vkey")"

check "a client requiring 1 of {A,B} accepts" sh -c \
  "$PARLEY --config $WORK/k1.conf log checkpoint | grep -q 'VERIFIED checkpoint of test.parley.localhost: 4 entries'"
check "a client requiring 2 of {A,B} refuses, naming what it found" expect_fail \
  "REFUSED: checkpoint 4 carries 1 valid cosignature of the 2 configured witnesses ($WA); 2 required" \
  as k2 log checkpoint
check "a client requiring none accepts" as k0 log checkpoint
check "witness B cosigns" sh -c "$PARLEY --config $WORK/wb.conf witness run --key $WORK/wb.key --once | grep -q COSIGNED"
curl -sf "$HUB/log/checkpoint" >"$WORK/cp2"
check "the checkpoint now carries both witnesses' two lines" sh -c "[ \$(grep -c '^— $WA ' $WORK/cp2) = 2 ] && [ \$(grep -c '^— $WB ' $WORK/cp2) = 2 ]"
check "B's cosignature verifies independently" /usr/bin/python3 "$WORK/cosig.py" verify "$WORK/cp2" "$(cat "$WORK/wb.vkey")"
check "B's directory statement too" /usr/bin/python3 "$WORK/cosig.py" verifydir "$WORK/cp2" "$(cat "$WORK/wb.vkey")"
check "the client requiring 2 now accepts" sh -c "$PARLEY --config $WORK/k2.conf log checkpoint | grep -q VERIFIED"
check "inclusion proofs carry the cosignatures (verify record, 2 required)" sh -c \
  "$PARLEY --config $WORK/k2.conf verify record EST | grep -q 'VERIFIED: record EST version 1'"
check "a witness signing again replaces its own lines (one per type)" sh -c \
  "$PARLEY --config $WORK/wa.conf witness run --key $WORK/wa.key --once >/dev/null && curl -sf $HUB/log/checkpoint >$WORK/again && \
   [ \$(grep -c '^— $WA ' $WORK/again) = 2 ] && /usr/bin/python3 $WORK/cosig.py verify $WORK/again '$(cat "$WORK/wa.vkey")' && \
   /usr/bin/python3 $WORK/cosig.py verifydir $WORK/again '$(cat "$WORK/wa.vkey")'"
curl -sf "$HUB/log/checkpoint" >"$WORK/cp3"
check "an older cosignature does not replace a newer one" sh -c \
  "/usr/bin/python3 $WORK/cosig.py body $WORK/wa.key $WORK/cp2 old >$WORK/old.json && \
   curl -sf -H 'Content-Type: application/json' --data-binary @$WORK/old.json $HUB/log/add-cosignature | grep -q '\"stored\":false' && \
   curl -sf $HUB/log/checkpoint | cmp -s - $WORK/cp3"
check "nor an older directory statement" sh -c \
  "/usr/bin/python3 $WORK/cosig.py body $WORK/wa.key $WORK/cp2 old dir >$WORK/oldd.json && \
   curl -sf -H 'Content-Type: application/json' --data-binary @$WORK/oldd.json $HUB/log/add-cosignature >$WORK/oldd.out && \
   grep -q '\"stored\":false' $WORK/oldd.out && grep -q '\"type\":\"parley-directory/v1\"' $WORK/oldd.out && \
   curl -sf $HUB/log/checkpoint | cmp -s - $WORK/cp3"
sleep 1.1 # a newer timestamp than B's cosignature above
check "a cosignature made elsewhere (python) is accepted" sh -c \
  "/usr/bin/python3 $WORK/cosig.py body $WORK/wb.key $WORK/cp2 ok >$WORK/ok.json && \
   curl -sf -H 'Content-Type: application/json' --data-binary @$WORK/ok.json $HUB/log/add-cosignature | grep -q '\"stored\":true'"

# Refusals of POST /log/add-cosignature.
curl -sf "$HUB/log/checkpoint" >"$WORK/before"
check "an unconfigured witness is refused: 403 AUTH_FORBIDDEN" expect_fail AUTH_FORBIDDEN \
  "$PARLEY" --config "$WORK/wc.conf" witness run --key "$WORK/wc.key" --once
check "and its line is not served" sh -c "! curl -sf $HUB/log/checkpoint | grep -q witness.c.example"
/usr/bin/python3 "$WORK/cosig.py" body "$WORK/wc.key" "$WORK/cp2" ok dir >"$WORK/cdir.json"
check "so is its directory statement" expect_code 403 AUTH_FORBIDDEN \
  "$(http POST /log/add-cosignature -H 'Content-Type: application/json' --data-binary @"$WORK/cdir.json")"
/usr/bin/python3 "$WORK/cosig.py" body "$WORK/wa.key" "$WORK/cp2" tamper >"$WORK/tamper.json"
check "a tampered cosignature is 400 CRYPTO_BAD_SIGNATURE" expect_code 400 CRYPTO_BAD_SIGNATURE \
  "$(http POST /log/add-cosignature -H 'Content-Type: application/json' --data-binary @"$WORK/tamper.json")"
/usr/bin/python3 "$WORK/cosig.py" body "$WORK/wa.key" "$WORK/cp2" tamper dir >"$WORK/tamperd.json"
check "a tampered directory statement is 400 CRYPTO_BAD_SIGNATURE" expect_code 400 CRYPTO_BAD_SIGNATURE \
  "$(http POST /log/add-cosignature -H 'Content-Type: application/json' --data-binary @"$WORK/tamperd.json")"
/usr/bin/python3 "$WORK/cosig.py" body "$WORK/wa.key" "$WORK/cp2" otherroot >"$WORK/other.json"
check "a checkpoint the hub never signed (other root) is 404" expect_code 404 NOT_FOUND \
  "$(http POST /log/add-cosignature -H 'Content-Type: application/json' --data-binary @"$WORK/other.json")"
/usr/bin/python3 "$WORK/cosig.py" body "$WORK/wa.key" "$WORK/cp2" bigger >"$WORK/bigger.json"
check "a checkpoint of a size the hub never signed is 404" expect_code 404 NOT_FOUND \
  "$(http POST /log/add-cosignature -H 'Content-Type: application/json' --data-binary @"$WORK/bigger.json")"
/usr/bin/python3 "$WORK/cosig.py" body "$WORK/wa.key" "$WORK/cp2" future >"$WORK/future.json"
check "a cosignature from the future is 400" expect_code 400 INVALID_ARGUMENT \
  "$(http POST /log/add-cosignature -H 'Content-Type: application/json' --data-binary @"$WORK/future.json")"
check "a malformed note is 400 TLOG_NOTE" expect_code 400 TLOG_NOTE \
  "$(http POST /log/add-cosignature -H 'Content-Type: application/json' --data '{"note":"nonsense"}')"
check "an empty object is 400" expect_code 400 INVALID_ARGUMENT \
  "$(http POST /log/add-cosignature -H 'Content-Type: application/json' --data '{}')"
check "a text/plain body is 415" expect_code 415 "" \
  "$(http POST /log/add-cosignature -H 'Content-Type: text/plain' --data-binary @"$WORK/cp2")"
check "the refused cosignatures changed nothing" sh -c "curl -sf $HUB/log/checkpoint | cmp -s - $WORK/before"

check "a client refuses witnesses_required above its witnesses" expect_fail "only 2 witness keys" \
  sh -c "sed 's/^witnesses_required = .*/witnesses_required = 3/' $WORK/k2.conf >$WORK/k3.conf && $PARLEY --config $WORK/k3.conf log checkpoint"

# The log grows: the new checkpoint needs new cosignatures; the witnesses check
# consistency from the size they cosigned before.
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
sleep 1.2
check "a grown, not yet cosigned checkpoint is refused by the client requiring 1" expect_fail \
  "carries 0 valid cosignatures" as k1 log checkpoint
# A cosignature alone (what a standard C2SP witness adds) does not satisfy a client:
# it says nothing about the directory commitment.
curl -sf "$HUB/log/checkpoint" >"$WORK/cp4"
/usr/bin/python3 "$WORK/cosig.py" body "$WORK/wb.key" "$WORK/cp4" ok >"$WORK/only.json"
check "a cosignature without a directory statement is stored" sh -c \
  "curl -sf -H 'Content-Type: application/json' --data-binary @$WORK/only.json $HUB/log/add-cosignature | grep -q '\"type\":\"cosignature/v1\"'"
check "a client requiring 1 refuses a checkpoint with a cosignature but no directory statement" expect_fail \
  "REFUSED: checkpoint 6 carries 0 valid directory statements (parley-directory/v1) of the 2 configured witnesses; 1 required: not enough witnesses checked that its directory commitment followed the rules (cosigned by: $WB)" \
  as k1 log checkpoint
check "witness A cosigns the grown log (consistency proof from 4)" sh -c \
  "$PARLEY --config $WORK/wa.conf witness run --key $WORK/wa.key --once | grep -q ': 6 entries'"
check "the client requiring 1 now accepts (A's two lines)" sh -c "$PARLEY --config $WORK/k1.conf log checkpoint | grep -q ': 6 entries'"
check "a client requiring 2 refuses: B cosigned but made no directory statement" expect_fail \
  "carries 1 valid directory statement (parley-directory/v1) of the 2 configured witnesses ($WA); 2 required" \
  as k2 log checkpoint
check "witness B signs its two lines" sh -c "$PARLEY --config $WORK/wb.conf witness run --key $WORK/wb.key --once | grep -q ': 6 entries'"
check "the client requiring 2 accepts the grown log" sh -c "$PARLEY --config $WORK/k2.conf log checkpoint | grep -q ': 6 entries'"
check "the older checkpoint keeps its lines" sh -c \
  "sqlite3 $WORK/hub/hub.db \"SELECT note FROM checkpoints WHERE size = 4\" | grep -c '^— witness' | grep -qx 4"

# A forked log: the operator rewrites history (same size, another last entry).
check "SIGTERM" stop_hub
sqlite3 "$WORK/hub/hub.db" "DELETE FROM log_leaves WHERE idx >= 4; DELETE FROM log_nodes WHERE (idx + 1) << level > 4; \
  DELETE FROM checkpoints; DELETE FROM state_records WHERE version = 2; UPDATE states SET current_version = 1;"
PORT=${HUB##*:}
# The cosigned checkpoint the hub keeps outside its store would stop it at start
# (test_backup); a hub bent on forking removes it.
rm "$WORK/hub/cosigned-checkpoint.note"
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 --port "$PORT" \
  --witness-key "$(cat "$WORK/wa.vkey")" --witness-key "$(cat "$WORK/wb.vkey")"
python3 - "$R" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["pocs"][0]["name"] = "Someone Else"
json.dump(r, open(sys.argv[1], "w"))
PY
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
sleep 1.2
check "the forked checkpoint has the size witness A cosigned" sh -c "curl -sf $HUB/log/checkpoint | sed -n 2p | grep -qx 6"
set +e
"$PARLEY" --config "$WORK/wa.conf" witness run --key "$WORK/wa.key" --once >"$WORK/fork.out" 2>&1
FORK_RC=$?
set -e
check "witness A refuses to cosign the fork, and says so" grep -q "REFUSED to cosign: LOG MISBEHAVIOUR" "$WORK/fork.out"
check "with exit status 3" test "$FORK_RC" = 3
check "and saves both signed checkpoints as evidence" sh -c \
  "ls $WORK/home-wa/evidence-*/old-checkpoint $WORK/home-wa/evidence-*/new-checkpoint && grep -q 'different roots' $WORK/home-wa/evidence-*/why"
check "the evidence holds two hub-signed checkpoints of size 6 with different roots" sh -c \
  "d=\$(ls -d $WORK/home-wa/evidence-* | head -1); [ \"\$(sed -n 2p \$d/old-checkpoint)\" = 6 ] && [ \"\$(sed -n 2p \$d/new-checkpoint)\" = 6 ] && \
   [ \"\$(sed -n 3p \$d/old-checkpoint)\" != \"\$(sed -n 3p \$d/new-checkpoint)\" ]"
check "the fork carries no cosignature of A" sh -c "! curl -sf $HUB/log/checkpoint | grep -q '^— $WA '"
check "a rerun still refuses (the witness keeps its pre-fork checkpoint)" expect_fail "LOG MISBEHAVIOUR" \
  "$PARLEY" --config "$WORK/wa.conf" witness run --key "$WORK/wa.key" --once
# k0 last accepted size 4, which the fork extends consistently: on its own it could not
# tell; but no witness vouches for the fork.
sed -i 's/^witnesses_required = .*/witnesses_required = 1/' "$WORK/k0.conf"
check "a client that never saw the old size 6 refuses the fork: no witness cosigned it" \
  expect_fail "carries 0 valid cosignatures" as k0 log checkpoint
check "a client that saw the old size 6 detects the fork" expect_fail "LOG MISBEHAVIOUR" as k2 log checkpoint
check "SIGTERM exits cleanly" stop_hub
finish
