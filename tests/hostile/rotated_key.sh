# Sourced by run.sh and tests/web/test_hostile.sh after their messages M1-M5 (uses as,
# poc, send, NOTE, WORK, HERE): the scenario's part for a rotated-out key and for first
# contact.
# - M7 is sent to FIN/fin-b and acknowledged with fin-b's key; then FIN replaces that key
#   (version 2 of its record): M7's receipt stays valid (logged before the rotation).
# - M6 is sent to FIN/fin-b after the rotation. A thief of the old key and the operator
#   (who puts the old key back in the hub's key table for one request) have the hub log a
#   receipt of M6 signed with the old key, after the record version that removed it.
# - FIN/diplomatic: a POC whose id is a role name (its roles: technical), added in the
#   same version; M8 is its message to EST/est-cert (a reply goes to that POC, not to
#   FIN's diplomatic role, which no POC has).
# - est-cert-fresh: est-cert's key with an empty home (nothing pinned yet).
send M7 "${NOTE[@]}" --to FIN:fin-b
as fin-b ack "$M7" >/dev/null
cp "$WORK/fin-b.key" "$WORK/fin-b-old.key"
mkdir -p "$WORK/home-fin-b-old"
printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$WORK/fin-b-old.key" "$WORK/home-fin-b-old" >"$WORK/fin-b-old.conf"
rm -f "$WORK/fin-b.key"
"$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/fin-b.key" >/dev/null
poc fin fin-b
new_user diplomatic
poc fin diplomatic
as fin-root state sign "$WORK/fin.json" >/dev/null
as fin-root state publish "$WORK/fin.json" >/dev/null
send M6 "${NOTE[@]}" --to FIN:fin-b
as diplomatic send "${NOTE[@]}" --to EST:est-cert >"$WORK/send.out" || { cat "$WORK/send.out"; exit 1; }
M8=$(sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/send.out")

read -r OLD_KID OLD_HEX < <(python3 -c '
import base64, hashlib, json, sys
pk = base64.urlsafe_b64decode(json.load(open(sys.argv[1]))["sign_pk"] + "==")
kid = base64.urlsafe_b64encode(hashlib.sha256(b"ed25519\n" + pk).digest()[:16]).rstrip(b"=").decode()
print(kid, pk.hex())' "$WORK/fin-b-old.key")
OLD_PK="X'$OLD_HEX'"
[ "${PARLEY_TEST_STORE:-sqlite}" = postgresql ] && OLD_PK="decode('$OLD_HEX', 'hex')"
hub_sql() {
  if [ "${PARLEY_TEST_STORE:-sqlite}" = postgresql ]; then
    psql -q -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"
  else
    sqlite3 "$WORK/hub/hub.db" ".timeout 5000" "$1"
  fi
}
hub_sql "INSERT INTO keys (key_id, pk, role, state, poc_id, name) VALUES ('$OLD_KID', $OLD_PK, 2, 'FIN', 'fin-b', 'Officer fin-b')"
as est-cert api GET "/v1/messages/$M6" >"$WORK/m6.json"
python3 "$HERE/sign_receipt.py" "$WORK/fin-b-old.key" "$WORK/m6.json" FIN fin-b >"$WORK/m6-old-ack.json"
as fin-b-old api POST "/v1/messages/$M6/ack" --data "$WORK/m6-old-ack.json" >"$WORK/m6-old-ack.out" ||
  { echo "the hub did not log the old key's receipt: $(cat "$WORK/m6-old-ack.out")"; exit 1; }
hub_sql "DELETE FROM keys WHERE key_id = '$OLD_KID'"

cp "$WORK/est-cert.key" "$WORK/est-cert-fresh.key"
mkdir -p "$WORK/home-est-cert-fresh"
printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$WORK/est-cert-fresh.key" "$WORK/home-est-cert-fresh" >"$WORK/est-cert-fresh.conf"
# FIN publishes a third version after the removed key's receipt of M6 was logged: the key's
# removal (version 2) is then not the current record, which case 3.9 needs.
as fin-root state sign "$WORK/fin.json" >/dev/null
as fin-root state publish "$WORK/fin.json" >/dev/null
