#!/usr/bin/env bash
# Evidence packages in the page against a real parleyd (docs/protocol.md §13): a
# package sent with `parley evidence send` is fetched in FIN's page, every chunk checked
# against the signed Merkle root and every file's SHA-256 against the manifest, saved
# and compared with the file sent; its custody chain is checked in the page. A package
# sealed and uploaded from EST's page (tus; broken after one chunk, resumed after a
# reload) is fetched and verified by `parley evidence fetch|verify|custody`. A flipped
# byte in a stored chunk is refused in the page, naming the chunk; so are a manifest
# edited after signing (not in the log) and a package asked for by an officer it is not
# addressed to. After the sender's key is replaced, the page still verifies the packages,
# custody and consent signed with the old key before; it refuses a manifest and a consent
# by the old key logged after the record that removed it, naming the key and both log
# entries. Size of the first package: PARLEY_TEST_EVIDENCE_BYTES (default 3500000, 4
# chunks; 2200000 under ASan); of the page's upload: PARLEY_TEST_EVIDENCE_UPLOAD_BYTES (default 2300000, 3 chunks).
# Screenshots: $PARLEY_TEST_OUTPUT/web-browser/evidence/.
. "$PARLEY_SRC/tests/integration/lib.sh"
. "$PARLEY_SRC/tests/web/web_lib.sh"
OUT=${PARLEY_TEST_OUTPUT:-$WORK}/web-browser/evidence
rm -rf "$OUT"
mkdir -p "$OUT" "$WORK/in"
SIZE=${PARLEY_TEST_EVIDENCE_BYTES:-3500000}
[ "${PARLEY_TEST_SANITIZED:-0}" = 1 ] && SIZE=${PARLEY_TEST_EVIDENCE_BYTES:-2200000}

two_states
ev_id() { sed -n 's/^sent evidence \([0-9a-f-]*\).*/\1/p' "$1"; }
CASE=$(python3 -c 'import uuid; print(uuid.uuid4())')
head -c "$SIZE" /dev/urandom >"$WORK/in/seized-disk.img"
check "parley evidence send: EST sends FIN a package in case $CASE" \
  sh -c "'$PARLEY' --config '$WORK/est-cert.conf' evidence send --to FIN:fin-cert --case $CASE --notes 'Imaged with dd, write blocker on' '$WORK/in/seized-disk.img' >'$WORK/send1.out' 2>/dev/null"
ID1=$(ev_id "$WORK/send1.out")

# a second package, with one byte of its stored chunk 1 flipped in the hub's files
head -c 2500000 /dev/urandom >"$WORK/in/flip.bin"
as est-cert evidence send --to FIN:fin-cert "$WORK/in/flip.bin" >"$WORK/send2.out" 2>/dev/null
ID2=$(ev_id "$WORK/send2.out")
python3 - "$WORK/hub/evidence/$ID2.ct" $((1048593 + 12345)) <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))
PY

# a third, its manifest edited in the hub's store after it was signed: a wrong signature
as est-cert evidence send --to FIN:fin-cert --notes 'Custody form 12' "$WORK/in/flip.bin" >"$WORK/send3.out" 2>/dev/null
ID3=$(ev_id "$WORK/send3.out")
sqlite3 "$WORK/hub/hub.db" "UPDATE evidence SET manifest = replace(manifest, 'Custody form 12', 'Custody form 13') WHERE id = '$ID3'"
check "  (the stored manifest of $ID3 was edited)" test "$(sqlite3 "$WORK/hub/hub.db" "SELECT count(*) FROM evidence WHERE id = '$ID3' AND manifest LIKE '%form 13%'")" = 1

# a fourth, shared onward by FIN's officer with FIN's night duty, with EST's signed consent
printf 'shared onward\n' >"$WORK/in/onward.txt"
as est-cert evidence send --to FIN:fin-cert "$WORK/in/onward.txt" >"$WORK/send4.out" 2>/dev/null
ID4=$(ev_id "$WORK/send4.out")
as est-cert evidence consent "$ID4" --to FIN:fin-duty --out "$WORK/consent4.json" 2>/dev/null
check "  (fin-cert shared $ID4 with fin-duty, with EST's consent)" \
  as fin-cert evidence share "$ID4" --to FIN:fin-duty --consent "$WORK/consent4.json"

# a fifth, consented to by EST for fin-duty before the rotation below, shared after it
printf 'consented to before the rotation, shared after\n' >"$WORK/in/late.txt"
as est-cert evidence send --to FIN:fin-cert "$WORK/in/late.txt" >"$WORK/send5.out" 2>/dev/null
ID5=$(ev_id "$WORK/send5.out")
as est-cert evidence consent "$ID5" --to FIN:fin-duty --out "$WORK/consent5.json" 2>/dev/null

# ---- EST replaces est-cert's key (version 2 of its record) -----------------------------
# Every package above was sealed, and ID4's consent signed, with the old key: the page
# checks each against the key EST's verified record held when it was logged (§13.4).
cp "$WORK/est-cert.key" "$WORK/est-cert-old.key"
mkdir -p "$WORK/home-est-cert-old"
printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$WORK/est-cert-old.key" "$WORK/home-est-cert-old" >"$WORK/est-cert-old.conf"
rm -f "$WORK/est-cert.key"
"$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/est-cert.key" >/dev/null
as est-root state poc add "$WORK/est.json" --id est-cert --name "Kati Kask" --position "CERT duty officer" \
  --role technical --email duty@cert.est.test --phone "+372 600 0000" --language et --language en \
  --timezone Europe/Tallinn --poc-key "$WORK/est-cert.key" >/dev/null
as est-root state sign "$WORK/est.json" >/dev/null
check "EST replaces est-cert's signing key after sending the packages (version 2 of its record)" \
  as est-root state publish "$WORK/est.json"
# The operator (or a thief of the old key) puts the old key back in the hub's key table
# for two requests: the hub logs a package sealed with it and ID5's share with the consent
# it signed, both after the record that removed it. The page must refuse both.
read -r OLD_KID OLD_HEX < <(python3 -c '
import base64, hashlib, json, sys
pk = base64.urlsafe_b64decode(json.load(open(sys.argv[1]))["sign_pk"] + "==")
kid = base64.urlsafe_b64encode(hashlib.sha256(b"ed25519\n" + pk).digest()[:16]).rstrip(b"=").decode()
print(kid, pk.hex())' "$WORK/est-cert-old.key")
sqlite3 "$WORK/hub/hub.db" ".timeout 5000" "INSERT INTO keys (key_id, pk, role, state, poc_id, name) VALUES ('$OLD_KID', X'$OLD_HEX', 2, 'EST', 'est-cert', 'Kati Kask')"
as est-cert-old evidence send --to FIN:fin-cert "$WORK/in/late.txt" >"$WORK/send6.out" 2>&1 || true
ID6=$(ev_id "$WORK/send6.out")
as fin-cert evidence share "$ID5" --to FIN:fin-duty --consent "$WORK/consent5.json" >"$WORK/share5.out" 2>&1 || true
sqlite3 "$WORK/hub/hub.db" ".timeout 5000" "DELETE FROM keys WHERE key_id = '$OLD_KID'"
check "  the hub logs a package sealed with the removed key (its key back in the key table)" test -n "$ID6"
check "  and the share of $ID5 with the consent the removed key signed" grep -q "shared evidence $ID5 with FIN/fin-duty" "$WORK/share5.out"

# what EST's officer uploads from the page
UPLOAD_SIZE=${PARLEY_TEST_EVIDENCE_UPLOAD_BYTES:-2300000}
head -c "$UPLOAD_SIZE" /dev/urandom >"$WORK/in/netflow.pcap"

if HUB=$HUB OUT=$OUT EST_KEY=$WORK/est-cert.key FIN_KEY=$WORK/fin-cert.key ID1=$ID1 ID2=$ID2 ID3=$ID3 ID4=$ID4 ID5=$ID5 ID6=$ID6 OLD_KID=$OLD_KID CASE=$CASE DUTY_KEY=$WORK/fin-duty.key \
  FILE1=$WORK/in/seized-disk.img UPLOAD=$WORK/in/netflow.pcap AXE=$PARLEY_SRC/web/node_modules/axe-core/axe.min.js run_browser evidence.mjs "$WORK/browser.out"; then :; fi

# ---- the page's package, fetched and verified with parley ------------------------------
PAGE_ID=$(sed -n 's/^page-sent //p' "$OUT/ids.txt" 2>/dev/null || true)
check "parley evidence fetch: FIN fetches the package sealed in EST's page (every chunk and file hash matched)" \
  sh -c "'$PARLEY' --config '$WORK/fin-cert.conf' evidence fetch '$PAGE_ID' --out '$WORK/fetched' >'$WORK/fetch.out' 2>&1 && grep -q '^VERIFIED: evidence $PAGE_ID from EST/est-cert' '$WORK/fetch.out'"
check "  the file parley wrote is the file the page read" cmp "$WORK/in/netflow.pcap" "$WORK/fetched/$PAGE_ID/netflow.pcap"
check "parley evidence verify: the page's manifest is signed by EST/est-cert and in the log, the file matches" \
  sh -c "'$PARLEY' --config '$WORK/fin-cert.conf' evidence verify '$PAGE_ID' '$WORK/fetched/$PAGE_ID' >'$WORK/verify.out' 2>&1 && grep -q 'VERIFIED: manifest signed by EST/est-cert' '$WORK/verify.out' && grep -q 'SHA-256 as in the manifest' '$WORK/verify.out'"
check "parley evidence custody: sealed in the page, uploaded, available, downloaded, verified, all verified" \
  sh -c "'$PARLEY' --config '$WORK/fin-cert.conf' evidence custody '$PAGE_ID' >'$WORK/custody.out' 2>&1 && grep -q '^VERIFIED: 5 custody event(s), 0 not' '$WORK/custody.out'"
sed 's/^/    /' "$WORK/fetch.out" "$WORK/verify.out" "$WORK/custody.out" 2>/dev/null | grep -v '^    progress' | head -20
check "parley evidence custody also verifies the events the page recorded for the CLI's package" \
  sh -c "'$PARLEY' --config '$WORK/est-cert.conf' evidence custody '$ID1' | grep -q '^VERIFIED: 5 custody event(s), 0 not'"
echo "screenshots: $OUT"
finish
