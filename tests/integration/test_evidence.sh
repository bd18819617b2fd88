#!/usr/bin/env bash
# Evidence packages end to end through the real parleyd and parley, on the store of
# PARLEY_TEST_STORE: sealed for the recipients' keys, uploaded (tus 1.0) and downloaded
# (ranges) with kill -9 of the hub in the middle of each, then resumed; plaintext hashes
# match; a flipped ciphertext byte is refused naming its chunk; a non-recipient can
# neither fetch nor open; the custody chain verifies and an edited row is detected;
# onward sharing needs the original sender's signed consent for that POC and package,
# checked with the key the sender's record held when it was logged (across a rotation);
# retention deletes the ciphertext and keeps custody; quotas; peak RSS of parleyd and
# parley at PARLEY_EVIDENCE_SMALL_MIB and at PARLEY_EVIDENCE_MIB (make check: 32 and 160;
# under sanitizers 16 and 64; make check-large, which CI runs too: 2048 on SQLite and
# 512 on PostgreSQL, where every chunk also goes through the WAL).
. "$(dirname "$0")/lib.sh"

if [ "${PARLEY_TEST_SANITIZED:-0}" = 1 ]; then
  LARGE_MIB=${PARLEY_EVIDENCE_MIB:-64}
  SMALL_MIB=${PARLEY_EVIDENCE_SMALL_MIB:-16}
  # ASan's quarantine (256 MiB by default) keeps every freed 2 MiB request body for a
  # while, so the hub's RSS would grow with the package and the flat-memory check fail
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16"
else
  LARGE_MIB=${PARLEY_EVIDENCE_MIB:-160}
  SMALL_MIB=${PARLEY_EVIDENCE_SMALL_MIB:-32}
fi
export PARLEY_PROGRESS_MS=200

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-ncsc lva-root lva-cert"
for u in $USERS; do new_user "$u"; done
HUBARGS=(--operator-key "$(pubkey op)" --checkpoint-interval 1 --scheduler-tick-ms 200
  --key-rate 1000)
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
poc() { # STATEFILE ID KEY
  as "${1%%.*}-root" state poc add "$WORK/$1" --id "$2" --name "Officer $2" --role technical \
    --email "$2@test" --phone "+1 555 0100" --language en --poc-key "$WORK/$3.key" >/dev/null
}
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
poc est.json est-cert est-cert
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
poc fin.json fin-ncsc fin-ncsc
as lva-root state init --state LVA --out "$WORK/lva.json" >/dev/null
poc lva.json lva-cert lva-cert
for s in est fin lva; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done

sent_id() { sed -n 's/^sent evidence \([0-9a-f-]*\).*/\1/p' "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
store_sql() { # SQL: runs against the hub's store
  if [ "${PARLEY_TEST_STORE:-sqlite}" = postgresql ]; then
    pg_as "$PG_BIN/psql" -q -t -A "$PG_URL" -c "$1"
  else
    sqlite3 "$WORK/hub/hub.db" "$1"
  fi
}
restart_hub() { # kill -9, then a new process on the same port and store
  peak_kib "$HUB_PID" >>"$WORK/hub-peaks"
  kill -9 "$HUB_PID"
  wait "$HUB_PID" 2>/dev/null || true
  HUB_PID=
  start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT" "$@"
}
peak_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || true; }
# watch PID FILE: records the peak RSS (KiB) of PID in FILE until it exits
watch_peak() {
  local peak=0 v
  while kill -0 "$1" 2>/dev/null; do
    v=$(peak_kib "$1")
    [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
    sleep 0.1
  done
  echo "$peak" >"$2"
}

# --- a small package of three files, one empty ---------------------------------
mkdir -p "$WORK/in"
head -c 3000000 /dev/urandom >"$WORK/in/disk.img"
printf 'acquired 2026-12-01 by the CERT\n' >"$WORK/in/notes.txt"
: >"$WORK/in/empty.log"
check "EST seals three files for FIN's POC and uploads them" sh -c \
  "$PARLEY --config $WORK/est-cert.conf evidence send --to FIN:fin-ncsc --notes 'imaged on site' \
   $WORK/in/disk.img $WORK/in/notes.txt $WORK/in/empty.log >$WORK/send1.out 2>$WORK/send1.err"
ID1=$(sent_id "$WORK/send1.out")
check "  the package is listed for the recipient as available" \
  sh -c "$PARLEY --config $WORK/fin-ncsc.conf evidence list | grep '$ID1' | grep -q available"
check "FIN fetches it: every chunk and file hash verified" \
  sh -c "$PARLEY --config $WORK/fin-ncsc.conf evidence fetch $ID1 --out $WORK/out >$WORK/f1.out 2>&1 && grep -q VERIFIED $WORK/f1.out"
check "  the plaintext is the sender's, file by file" sh -c \
  "cmp $WORK/in/disk.img $WORK/out/$ID1/disk.img && cmp $WORK/in/notes.txt $WORK/out/$ID1/notes.txt && cmp $WORK/in/empty.log $WORK/out/$ID1/empty.log"
check "  parley evidence verify checks the files and the manifest's log entry" \
  as fin-ncsc evidence verify "$ID1" "$WORK/out/$ID1"
sleep 2 # a checkpoint covers the last events
check "the custody chain verifies for the recipient" sh -c \
  "$PARLEY --config $WORK/fin-ncsc.conf evidence custody $ID1 >$WORK/c1.out && grep -q '^VERIFIED: 5 custody' $WORK/c1.out"
check "  sealed, uploaded, available, downloaded, verified, in order" sh -c \
  "awk '{print \$2}' $WORK/c1.out | head -5 | tr '\n' ' ' | grep -qx 'sealed uploaded available downloaded verified '"
check "  and for the sender" as est-cert evidence custody "$ID1"
check "a non-recipient (LVA) cannot fetch" expect_fail EVIDENCE_UNKNOWN as lva-cert evidence fetch "$ID1" --out "$WORK/lva"
check "  nor read the custody or manifest" expect_fail EVIDENCE_UNKNOWN as lva-cert evidence custody "$ID1"
check "the sender, not a recipient, cannot open it (no wrapped key for its key)" \
  expect_fail EVIDENCE_NOT_RECIPIENT as est-cert evidence fetch "$ID1" --out "$WORK/est"
check "  nor download its ciphertext" sh -c \
  "$PARLEY --config $WORK/est-cert.conf api GET /v1/evidence/$ID1/content 2>&1 | grep -q EVIDENCE_NOT_RECIPIENT"

# --- onward sharing with the original sender's signed consent --------------------
# FIN (a recipient) shares a package with LVA: only with EST's consent naming LVA's POC
# and this package; refusals first, while LVA is not yet a recipient.
printf 'shared onward\n' >"$WORK/in/onward.txt"
as est-cert evidence send --to FIN:fin-ncsc "$WORK/in/onward.txt" >"$WORK/send-s.out" 2>/dev/null
IDS=$(sent_id "$WORK/send-s.out")
check "without consent, sharing onward is refused (EVIDENCE_CONSENT)" \
  expect_fail EVIDENCE_CONSENT as fin-ncsc evidence share "$IDS" --to LVA:lva-cert
check "  a consent signed by the sharer, not the original sender, is refused" sh -c \
  "$PARLEY --config $WORK/fin-ncsc.conf evidence consent $IDS --to LVA:lva-cert --out $WORK/consent-self.json 2>/dev/null &&
   ! $PARLEY --config $WORK/fin-ncsc.conf evidence share $IDS --to LVA:lva-cert --consent $WORK/consent-self.json >$WORK/sh.out 2>&1 &&
   grep -q 'EVIDENCE_CONSENT' $WORK/sh.out && grep -q 'not signed by a current key of the sender' $WORK/sh.out"
as est-cert evidence consent "$IDS" --to FIN:fin-ncsc --out "$WORK/consent-fin.json" 2>/dev/null
python3 - "$WORK/consent-fin.json" "$WORK/consent-forged.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["to"] = {"state": "LVA", "poc": "lva-cert"}  # the sender consented to FIN, not to LVA
json.dump(c, open(sys.argv[2], "w"))
PY
check "  a forged consent (the sender's, edited to name LVA) is refused" sh -c \
  "! $PARLEY --config $WORK/fin-ncsc.conf evidence share $IDS --to LVA:lva-cert --consent $WORK/consent-forged.json >$WORK/sh.out 2>&1 &&
   grep -q 'EVIDENCE_CONSENT' $WORK/sh.out && grep -q 'signature does not verify' $WORK/sh.out"
as est-cert evidence consent "$ID1" --to LVA:lva-cert --out "$WORK/consent-other.json" 2>/dev/null
check "  the sender's consent for another package is refused" sh -c \
  "! $PARLEY --config $WORK/fin-ncsc.conf evidence share $IDS --to LVA:lva-cert --consent $WORK/consent-other.json >$WORK/sh.out 2>&1 &&
   grep -q 'EVIDENCE_CONSENT' $WORK/sh.out && grep -q 'another package' $WORK/sh.out"
as est-cert evidence consent "$IDS" --to EST:est-cert --out "$WORK/consent-est.json" 2>/dev/null
check "  the sender's consent naming another POC is refused" sh -c \
  "! $PARLEY --config $WORK/fin-ncsc.conf evidence share $IDS --to LVA:lva-cert --consent $WORK/consent-est.json >$WORK/sh.out 2>&1 &&
   grep -q 'EVIDENCE_CONSENT' $WORK/sh.out && grep -q 'another POC' $WORK/sh.out"
check "  after the refusals LVA still cannot fetch it" \
  expect_fail EVIDENCE_UNKNOWN as lva-cert evidence fetch "$IDS" --out "$WORK/lva"
as est-cert evidence consent "$IDS" --to LVA:lva-cert --out "$WORK/consent.json" 2>/dev/null
check "with the sender's consent FIN shares it with LVA (a signed, logged custody event)" sh -c \
  "$PARLEY --config $WORK/fin-ncsc.conf evidence share $IDS --to LVA:lva-cert --consent $WORK/consent.json | grep -q 'shared evidence $IDS with LVA/lva-cert'"
check "  the new POC fetches it and every hash verifies" sh -c \
  "$PARLEY --config $WORK/lva-cert.conf evidence fetch $IDS --out $WORK/lva >$WORK/fs.out 2>&1 && grep -q '^VERIFIED' $WORK/fs.out && cmp $WORK/in/onward.txt $WORK/lva/$IDS/onward.txt"
sleep 2 # a checkpoint covers the last events
check "  the custody chain verifies for the new POC, the share with the sender's consent" sh -c \
  "$PARLEY --config $WORK/lva-cert.conf evidence custody $IDS >$WORK/cs.out && grep -q 'VERIFIED      shared     by FIN/fin-ncsc, to LVA/lva-cert with EST/est-cert.s signed consent' $WORK/cs.out && grep -q '^VERIFIED: 6 custody' $WORK/cs.out"
check "  and for the sender" as est-cert evidence custody "$IDS"
check "  a second share with the same POC is refused" \
  expect_fail EVIDENCE_INVALID as fin-ncsc evidence share "$IDS" --to LVA:lva-cert --consent "$WORK/consent.json"

# --- consent across a rotation of the sender's key ---------------------------------------
# A consent is checked with the key the sender's verified record held when it was logged
# (in the "shared" event), as receipts are: it stays valid after the sender rotates, and
# one signed by a key removed before it was logged is refused.
printf 'shared before the rotation\n' >"$WORK/in/rot-a.txt"
printf 'consented to before the rotation, shared after\n' >"$WORK/in/rot-b.txt"
as est-cert evidence send --to FIN:fin-ncsc "$WORK/in/rot-a.txt" >"$WORK/send-ra.out" 2>/dev/null
as est-cert evidence send --to FIN:fin-ncsc "$WORK/in/rot-b.txt" >"$WORK/send-rb.out" 2>/dev/null
IDRA=$(sent_id "$WORK/send-ra.out")
IDRB=$(sent_id "$WORK/send-rb.out")
as est-cert evidence consent "$IDRA" --to LVA:lva-cert --out "$WORK/consent-ra.json" 2>/dev/null
as est-cert evidence consent "$IDRB" --to LVA:lva-cert --out "$WORK/consent-rb.json" 2>/dev/null
check "FIN shares a package with LVA with EST's consent" sh -c \
  "$PARLEY --config $WORK/fin-ncsc.conf evidence share $IDRA --to LVA:lva-cert --consent $WORK/consent-ra.json >/dev/null"
# EST replaces est-cert's key (a new version of its record)
cp "$WORK/est-cert.key" "$WORK/est-cert-old.key"
rm -f "$WORK/est-cert.key"
"$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/est-cert.key" >/dev/null
poc est.json est-cert est-cert
as est-root state sign "$WORK/est.json" >/dev/null
as est-root state publish "$WORK/est.json" >/dev/null
sleep 2 # a checkpoint covers the new record
check "after EST rotates the sender's key, LVA still fetches the package shared before (manifest and consent by the old key, logged before)" sh -c \
  "$PARLEY --config $WORK/lva-cert.conf evidence fetch $IDRA --out $WORK/lva >$WORK/fra.out 2>&1 && grep -q '^VERIFIED' $WORK/fra.out && cmp $WORK/in/rot-a.txt $WORK/lva/$IDRA/rot-a.txt"
check "  and its custody chain verifies, the consent with the key EST's record held when it was logged" sh -c \
  "$PARLEY --config $WORK/lva-cert.conf evidence custody $IDRA >$WORK/cra.out && grep -q 'VERIFIED      shared     by FIN/fin-ncsc, to LVA/lva-cert with EST/est-cert.s signed consent' $WORK/cra.out && grep -q '^VERIFIED: 6 custody' $WORK/cra.out"
check "  and for the sender, with its new key" as est-cert evidence custody "$IDRA"
check "a consent signed before the rotation and logged after it is refused by the hub (EVIDENCE_CONSENT)" sh -c \
  "! $PARLEY --config $WORK/fin-ncsc.conf evidence share $IDRB --to LVA:lva-cert --consent $WORK/consent-rb.json >$WORK/sh.out 2>&1 &&
   grep -q 'EVIDENCE_CONSENT' $WORK/sh.out && grep -q 'not signed by a current key of the sender' $WORK/sh.out"
# The operator (or a thief of the old key) puts the old key back in the hub's key table
# for one request: the hub logs the share; every client must still refuse the consent.
read -r OLD_KID OLD_HEX < <(python3 -c '
import base64, hashlib, json, sys
pk = base64.urlsafe_b64decode(json.load(open(sys.argv[1]))["sign_pk"] + "==")
kid = base64.urlsafe_b64encode(hashlib.sha256(b"ed25519\n" + pk).digest()[:16]).rstrip(b"=").decode()
print(kid, pk.hex())' "$WORK/est-cert-old.key")
OLD_PK="X'$OLD_HEX'"
[ "${PARLEY_TEST_STORE:-sqlite}" = postgresql ] && OLD_PK="decode('$OLD_HEX', 'hex')"
store_sql "INSERT INTO keys (key_id, pk, role, state, poc_id, name) VALUES ('$OLD_KID', $OLD_PK, 2, 'EST', 'est-cert', 'Officer est-cert')" >/dev/null
as fin-ncsc evidence share "$IDRB" --to LVA:lva-cert --consent "$WORK/consent-rb.json" >"$WORK/sh-rb.out" 2>&1 || true
store_sql "DELETE FROM keys WHERE key_id = '$OLD_KID'" >/dev/null
check "  the operator has the hub log it anyway with the old key back in its key table" \
  grep -q "shared evidence $IDRB with LVA/lva-cert" "$WORK/sh-rb.out"
sleep 2
check "  parley evidence custody refuses it: the key was removed before the consent was logged" sh -c \
  "! $PARLEY --config $WORK/est-cert.conf evidence custody $IDRB >$WORK/crb.out 2>&1 &&
   grep -q 'NOT VERIFIED  shared     by FIN/fin-ncsc: consent: key $OLD_KID of EST/est-cert was removed from EST.s record (log entry [0-9]*) before this was logged' $WORK/crb.out"
check "  and LVA's fetch refuses the shared key, writing nothing" sh -c \
  "! $PARLEY --config $WORK/lva-cert.conf evidence fetch $IDRB --out $WORK/lva >$WORK/frb.out 2>&1 &&
   grep -q 'REFUSED: the shared key for .*: consent: key $OLD_KID' $WORK/frb.out && test ! -e $WORK/lva/$IDRB"

# an edited custody row is detected
store_sql "UPDATE evidence_custody SET body = replace(body, 'every ciphertext chunk', 'no ciphertext chunk') WHERE evidence_id = '$ID1' AND event = 'downloaded'" >/dev/null
check "an edited custody row is detected (signature)" sh -c \
  "! $PARLEY --config $WORK/fin-ncsc.conf evidence custody $ID1 >$WORK/c2.out; grep -q 'NOT VERIFIED  downloaded' $WORK/c2.out && grep -q '^NOT VERIFIED: 5 custody event(s), 1 not' $WORK/c2.out"

# --- a flipped ciphertext byte ----------------------------------------------------
head -c 2500000 /dev/urandom >"$WORK/in/flip.bin"
as est-cert evidence send --to FIN:fin-ncsc "$WORK/in/flip.bin" >"$WORK/send2.out" 2>/dev/null
ID2=$(sent_id "$WORK/send2.out")
OFF=$((1048593 + 12345)) # in chunk 1
if [ "${PARLEY_TEST_STORE:-sqlite}" = postgresql ]; then
  store_sql "UPDATE evidence_chunks SET data = set_byte(data, 12345, (get_byte(data, 12345) # 1)) WHERE evidence_id = '$ID2' AND idx = 1" >/dev/null
else
  python3 - "$WORK/hub/evidence/$ID2.ct" "$OFF" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))
PY
fi
check "a flipped byte in a stored chunk is refused, naming the chunk" \
  expect_fail "chunk 1 (bytes 1048593-2097185) does not match" as fin-ncsc evidence fetch "$ID2" --out "$WORK/out"
check "  and no plaintext file is left under its name" test ! -e "$WORK/out/$ID2/flip.bin"

# --- retention deletes the ciphertext, keeps custody -------------------------------
RET=$(date -u -d '+6 seconds' +%Y-%m-%dT%H:%M:%SZ)
as est-cert evidence send --to FIN:fin-ncsc --retain-until "$RET" "$WORK/in/notes.txt" >"$WORK/send3.out" 2>/dev/null
ID3=$(sent_id "$WORK/send3.out")
for _ in $(seq 1 50); do
  as fin-ncsc evidence list | grep "$ID3" | grep -q deleted && break
  sleep 0.3
done
check "after its retention date the package is deleted" \
  sh -c "$PARLEY --config $WORK/fin-ncsc.conf evidence list | grep '$ID3' | grep -q deleted"
check "  its ciphertext is gone" test "$(store_sql "SELECT count(*) FROM evidence_chunks WHERE evidence_id = '$ID3'")" = 0 -a ! -e "$WORK/hub/evidence/$ID3.ct"
sleep 2
check "  its custody is kept and verifies, ending with the hub's deletion" sh -c \
  "$PARLEY --config $WORK/fin-ncsc.conf evidence custody $ID3 >$WORK/c3.out && grep -q 'VERIFIED      deleted' $WORK/c3.out"

# --- quotas ---------------------------------------------------------------------------
stop_hub
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT" --evidence-state-bytes 100000
check "a package over the state's byte quota is refused 413" \
  expect_fail EVIDENCE_QUOTA_BYTES as est-cert evidence send --to FIN:fin-ncsc "$WORK/in/disk.img"
stop_hub
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT" --evidence-state-uploads 1
# one unfinished upload: a sender killed once its package is created
head -c 40000000 /dev/urandom >"$WORK/in/unfinished.bin"
"$PARLEY" --config "$WORK/est-cert.conf" evidence send --to FIN:fin-ncsc "$WORK/in/unfinished.bin" \
  >/dev/null 2>"$WORK/unf.err" &
UNF=$!
for _ in $(seq 1 100); do grep -q "created; uploading" "$WORK/unf.err" && break; sleep 0.1; done
kill -9 $UNF 2>/dev/null || true
wait $UNF 2>/dev/null || true
check "an upload past the state's unfinished uploads is refused 429" \
  expect_fail EVIDENCE_UPLOADS_LIMIT as est-cert evidence send --to FIN:fin-ncsc "$WORK/in/notes.txt"
UNF_ID=$(sed -n 's/^evidence \([0-9a-f-]*\) created.*/\1/p' "$WORK/unf.err")
check "  a killed sender resumes its upload (--resume ID), then the package is available" sh -c \
  "$PARLEY --config $WORK/est-cert.conf evidence send --resume $UNF_ID >/dev/null 2>&1 && $PARLEY --config $WORK/fin-ncsc.conf evidence list | grep '$UNF_ID' | grep -q available"
stop_hub

# --- large packages: kill -9 of parleyd mid-upload and mid-download -------------------
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
big_round() { # MIB TAG: send and fetch with a hub crash in each; records peaks
  local mib=$1 tag=$2 f="$WORK/in/big-$2.bin"
  head -c "$((mib * 1048576))" /dev/urandom >"$f"
  local t0=$SECONDS
  "$PARLEY" --config "$WORK/est-cert.conf" evidence send --to FIN:fin-ncsc "$f" \
    >"$WORK/big-$tag.send" 2>"$WORK/big-$tag.send.err" &
  local cpid=$!
  watch_peak "$cpid" "$WORK/peak-send-$tag" &
  local wpid=$!
  if [ "$3" = crash ]; then
    for _ in $(seq 1 600); do
      grep -q 'what=upload bytes=[1-9]' "$WORK/big-$tag.send.err" 2>/dev/null &&
        [ "$(grep 'what=upload' "$WORK/big-$tag.send.err" | tail -1 | sed 's/.*bytes=\([0-9]*\).*/\1/')" -gt $((mib * 1048576 / 3)) ] && break
      sleep 0.1
    done
    restart_hub
  fi
  wait "$cpid" || echo "send failed" >>"$WORK/big-$tag.send.err"
  wait "$wpid" || true
  local id
  id=$(sent_id "$WORK/big-$tag.send")
  echo "$tag: send ${mib} MiB took $((SECONDS - t0)) s" >>"$WORK/figures"
  t0=$SECONDS
  "$PARLEY" --config "$WORK/fin-ncsc.conf" evidence fetch "$id" --out "$WORK/out" \
    >"$WORK/big-$tag.fetch" 2>"$WORK/big-$tag.fetch.err" &
  cpid=$!
  watch_peak "$cpid" "$WORK/peak-fetch-$tag" &
  wpid=$!
  if [ "$3" = crash ]; then
    for _ in $(seq 1 600); do
      [ "$(grep 'what=download' "$WORK/big-$tag.fetch.err" 2>/dev/null | tail -1 | sed 's/.*bytes=\([0-9]*\).*/\1/')" -gt $((mib * 1048576 / 3)) ] 2>/dev/null && break
      sleep 0.1
    done
    restart_hub
  fi
  wait "$cpid" || echo "fetch failed" >>"$WORK/big-$tag.fetch.err"
  wait "$wpid" || true
  echo "$tag: fetch ${mib} MiB took $((SECONDS - t0)) s" >>"$WORK/figures"
  peak_kib "$HUB_PID" >>"$WORK/hub-peaks" # each process served a third or more of the bytes
  sort -n "$WORK/hub-peaks" | tail -1 >"$WORK/peak-hub-$tag"
  rm -f "$WORK/hub-peaks"
  BIG_ID=$id
  BIG_FILE=$f
}

stop_hub
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
big_round "$SMALL_MIB" small nocrash
check "a ${SMALL_MIB} MiB package arrives whole (plaintext hashes match)" \
  test "$(sha "$BIG_FILE")" = "$(sha "$WORK/out/$BIG_ID/big-small.bin")"
# a killed fetch client resumes from the chunks it had verified (its rate limited to a
# third of the package per second, so that the kill lands mid-download on any machine)
"$PARLEY" --config "$WORK/fin-ncsc.conf" evidence fetch "$BIG_ID" --out "$WORK/out2" \
  --limit-rate $((SMALL_MIB * 1048576 / 3)) >/dev/null 2>"$WORK/kf.err" &
KP=$!
for _ in $(seq 1 600); do
  [ "$(grep 'what=download' "$WORK/kf.err" 2>/dev/null | tail -1 | sed 's/.*bytes=\([0-9]*\).*/\1/')" \
    -gt $((SMALL_MIB * 1048576 / 3)) ] 2>/dev/null && break
  sleep 0.05
done
kill -9 $KP 2>/dev/null || true
wait $KP 2>/dev/null || true
check "a fetch killed mid-download (kill -9 of parley) resumes after the chunks it verified" sh -c \
  "$PARLEY --config $WORK/fin-ncsc.conf evidence fetch $BIG_ID --out $WORK/out2 >/dev/null 2>$WORK/kf2.err && grep -q 'resuming at chunk [1-9]' $WORK/kf2.err"
check "  and the plaintext hashes match" \
  test "$(sha "$BIG_FILE")" = "$(sha "$WORK/out2/$BIG_ID/big-small.bin")"
rm -rf "$WORK/out2"
rm -f "$BIG_FILE" "$WORK/out/$BIG_ID/big-small.bin"
stop_hub
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
big_round "$LARGE_MIB" large crash
check "a ${LARGE_MIB} MiB package survives kill -9 of parleyd mid-upload and mid-download" \
  test "$(sha "$BIG_FILE")" = "$(sha "$WORK/out/$BIG_ID/big-large.bin")"
check "  the client said it resumed" grep -q "resuming\|will retry" "$WORK/big-large.fetch.err" "$WORK/big-large.send.err"
sleep 2
check "  its custody chain verifies" as fin-ncsc evidence custody "$BIG_ID"
rm -f "$BIG_FILE" "$WORK/out/$BIG_ID/big-large.bin"
for who in hub send fetch; do
  s=$(cat "$WORK/peak-$who-small") l=$(cat "$WORK/peak-$who-large")
  echo "peak RSS $who: ${s} KiB at ${SMALL_MIB} MiB, ${l} KiB at ${LARGE_MIB} MiB" >>"$WORK/figures"
  check "peak RSS of $who stays flat (${s} KiB at ${SMALL_MIB} MiB, ${l} KiB at ${LARGE_MIB} MiB)" \
    test "$l" -le $((s + 32768))
done
cat "$WORK/figures"

finish
