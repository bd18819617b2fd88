#!/usr/bin/env bash
# The register of points of contact, end to end: the operator onboards two states,
# each publishes a record signed by its root key, each verifies the other; every
# refusal has its own error code; an authorization matrix over endpoints x roles.
. "$(dirname "$0")/lib.sh"

HUB=http://placeholder
for u in op est-root fin-root est-cert est-duty fin-cert stranger; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --signature-window 5
for u in op est-root fin-root est-cert est-duty fin-cert stranger; do
  sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"
done

# --- onboarding -----------------------------------------------------------------
check "operator onboards EST" as op admin state add --code EST --name Estonia \
  --region eastern-european --root-key "$WORK/est-root.key.pub" --fingerprint "$(fingerprint est-root)"
check "operator onboards FIN" as op admin state add --code FIN --name Finland \
  --region western-european-and-others --root-key "$WORK/fin-root.key.pub" --fingerprint "$(fingerprint fin-root)"
check "a wrong out-of-band fingerprint stops onboarding" expect_fail "fingerprint" \
  as op admin state add --code LVA --name Latvia --region eastern-european \
  --root-key "$WORK/fin-root.key.pub" --fingerprint "$(fingerprint est-root)"
check "the same state twice is 409 STATE_EXISTS" expect_fail STATE_EXISTS \
  as op admin state add --code EST --name Estonia --region eastern-european \
  --root-key "$WORK/stranger.key.pub" --fingerprint "$(fingerprint stranger)"
check "a bad region is refused" expect_fail JSON_FIELD_INVALID \
  as op admin state add --code LVA --name Latvia --region atlantis \
  --root-key "$WORK/stranger.key.pub" --fingerprint "$(fingerprint stranger)"
check "a root key cannot onboard states" expect_fail AUTH_FORBIDDEN \
  as est-root admin state add --code LVA --name Latvia --region eastern-european \
  --root-key "$WORK/stranger.key.pub" --fingerprint "$(fingerprint stranger)"

# --- records --------------------------------------------------------------------
R=$WORK/est.json
check "EST administrator starts a record" as est-root state init --state EST --out "$R"
check "adds the CERT duty officer" as est-root state poc add "$R" --id est-cert --name "Kati Kask" \
  --position "Duty officer" --role technical --email duty@cert.ee.example --phone "+372 600 0000" \
  --language et --language en --timezone Europe/Tallinn --poc-key "$WORK/est-cert.key"
check "adds a diplomatic POC" as est-root state poc add "$R" --id est-mfa --name "Mart Maasikas" \
  --role diplomatic --email cyber@mfa.ee.example --phone "+372 637 7000" --language en \
  --language fr --poc-key "$WORK/est-duty.key"
check "signs it locally with the root key" as est-root state sign "$R"
check "publishes it" as est-root state publish "$R"
F=$WORK/fin.json
as fin-root state init --state FIN --out "$F" >/dev/null
as fin-root state poc add "$F" --id fin-ncsc --name "Aino Virtanen" --role technical \
  --role law-enforcement-24x7 --email ncsc@traficom.fi.example --phone "+358 295 345 630" \
  --language fi --language sv --language en --timezone Europe/Helsinki --poc-key "$WORK/fin-cert.key" >/dev/null
as fin-root state sign "$F" >/dev/null
check "FIN publishes its record" as fin-root state publish "$F"

check "EST's officer lists the directory" sh -c "$PARLEY --config $WORK/est-cert.conf directory list | grep -q '^FIN '"
check "EST's officer verifies FIN's record" sh -c "$PARLEY --config $WORK/est-cert.conf directory show FIN | grep -q 'VERIFIED: signed by the root key of FIN'"
check "the first view pins FIN's root key" grep -q FIN "$WORK/home-est-cert/pins.json"
check "FIN's officer verifies EST's record" sh -c "$PARLEY --config $WORK/fin-cert.conf directory show EST | grep -q 'Kati Kask'"
check "search by role and language" sh -c "$PARLEY --config $WORK/fin-cert.conf directory search --role technical --language et | grep -q est-cert"
check "search by region" sh -c "$PARLEY --config $WORK/fin-cert.conf directory search --region western-european-and-others | grep -q '1 point'"
check "search by name, any case" sh -c "$PARLEY --config $WORK/fin-cert.conf directory search --name virtanen | grep -q fin-ncsc"
check "export as CSV" sh -c "$PARLEY --config $WORK/fin-cert.conf directory export --format csv | grep -q '\"EST\",\"eastern-european\",\"est-cert\"'"
check "export as vCard 4.0" sh -c "$PARLEY --config $WORK/fin-cert.conf directory export --format vcard | grep -q '^VERSION:4.0'"
as fin-cert directory export --format json --out "$WORK/bundle.json" 2>/dev/null
check "the JSON bundle holds both signed records" sh -c "grep -q parley-directory-bundle-v1 '$WORK/bundle.json' && grep -q '\"state\":\"FIN\"' '$WORK/bundle.json'"

# --- refusals ---------------------------------------------------------------------
cp "$R" "$WORK/v1.json"
as est-root state sign "$R" >/dev/null
check "a new version publishes" as est-root state publish "$R"
check "a replayed old version is 409 RECORD_VERSION" expect_fail RECORD_VERSION as est-root state publish "$WORK/v1.json"
sed 's/Kati Kask/Mallory/' "$R" >"$WORK/tampered.json"
sed -i 's/"version": \([0-9]*\)/"version": 9\1/' "$WORK/tampered.json"
check "a tampered record is RECORD_SIGNATURE" expect_fail RECORD_SIGNATURE as est-root api PUT /v1/states/EST/record --data "$WORK/tampered.json"
cp "$R" "$WORK/other.json"
as fin-root state sign "$WORK/other.json" >/dev/null
check "a record signed by another state's root key is RECORD_SIGNATURE" expect_fail RECORD_SIGNATURE as est-root state publish "$WORK/other.json"
check "FIN's root key cannot publish EST's record" expect_fail AUTH_FORBIDDEN as fin-root api PUT /v1/states/EST/record --data "$R"
check "an officer of EST cannot edit FIN" expect_fail AUTH_FORBIDDEN as est-cert api PUT /v1/states/FIN/record --data "$F"
cp "$R" "$WORK/expired.json"
as est-root state poc add "$WORK/expired.json" --id est-cert --name "Kati Kask" --role technical \
  --email duty@cert.ee.example --phone "+372 600 0000" --language et \
  --key-expires 2020-01-01T00:00:00Z --poc-key "$WORK/est-cert.key" >/dev/null
check "the client refuses to sign a record with an expired encryption key" expect_fail RECORD_ENC_KEY as est-root state sign "$WORK/expired.json"
as est-root state sign --no-check "$WORK/expired.json" >/dev/null
check "the hub refuses an expired encryption key: RECORD_ENC_KEY" expect_fail RECORD_ENC_KEY as est-root state publish "$WORK/expired.json"
python3 - "$R" "$WORK/unsigned-ek.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
del r["pocs"][0]["encryption_key"]["signature"]
json.dump(r, open(sys.argv[2], "w"))
PY
as est-root state sign --no-check "$WORK/unsigned-ek.json" >/dev/null
check "the hub refuses an unsigned encryption key: RECORD_ENC_KEY" expect_fail RECORD_ENC_KEY as est-root state publish "$WORK/unsigned-ek.json"

# Signed requests replayed, stale, or with a body that does not match its digest.
as op api --headers-only POST /v1/states/FIN/suspend --data <(echo '{}') >"$WORK/h.txt"
H=()
while IFS= read -r line; do H+=(-H "$line"); done <"$WORK/h.txt"
check "a signed request works once" expect_code 200 "" "$(http POST /v1/states/FIN/suspend "${H[@]}" --data-binary $'{}\n')"
check "the same request again is 401 AUTH_REPLAY" expect_code 401 AUTH_REPLAY "$(http POST /v1/states/FIN/suspend "${H[@]}" --data-binary $'{}\n')"
as op api --headers-only POST /v1/states/FIN/activate --data <(echo '{}') >"$WORK/h2.txt"
H=()
while IFS= read -r line; do H+=(-H "$line"); done <"$WORK/h2.txt"
check "a body that does not match Content-Digest is AUTH_DIGEST_MISMATCH" \
  expect_code 400 AUTH_DIGEST_MISMATCH "$(http POST /v1/states/FIN/activate "${H[@]}" --data-binary '{"x":1}')"
check "a suspended state's officers are refused: STATE_SUSPENDED" expect_fail STATE_SUSPENDED as fin-cert directory list
sleep 6
check "a signature older than the window is 401 AUTH_STALE" \
  expect_code 401 AUTH_STALE "$(http POST /v1/states/FIN/activate "${H[@]}" --data-binary $'{}\n')"
check "the operator re-activates FIN" as op admin state activate FIN
check "FIN's officer is back" as fin-cert directory list

# --- authorization matrix: every endpoint x role ---------------------------------
# want: P = allowed (2xx or a 4xx other than 401/403), F = 403, U = 401
echo '{}' >"$WORK/empty.json"
matrix() { # METHOD PATH BODY none stranger operator root officer
  local m=$1 p=$2 body=$3
  shift 3
  local roles=(none stranger op est-root est-cert) i=0 want got
  for want in "$@"; do
    local who=${roles[$i]}
    i=$((i + 1))
    if [ "$who" = none ]; then
      got=$(http "$m" "$p" ${body:+-H 'Content-Type: application/json' --data-binary @$body})
      got=${got%% *}
    else
      if as "$who" api "$m" "$p" ${body:+--data $body} >"$WORK/m.out" 2>&1; then got=200; else
        got=$(grep -o 'refused ([0-9]*' "$WORK/m.out" | grep -o '[0-9]*$' || echo 000)
      fi
    fi
    local cls=P
    [ "$got" = 401 ] && cls=U
    [ "$got" = 403 ] && cls=F
    if [ "$cls" != "$want" ]; then
      echo "$m $p as $who: got $got ($cls), want $want"
      return 1
    fi
  done
}
check "matrix: GET /healthz"                 matrix GET /healthz "" P P P P P
check "matrix: GET /metrics"                 matrix GET /metrics "" P P P P P
check "matrix: POST /v1/states"              matrix POST /v1/states "$WORK/empty.json" U U P F F
check "matrix: GET /v1/states"               matrix GET /v1/states "" U U P P P
check "matrix: GET /v1/states/EST"           matrix GET /v1/states/EST "" U U P P P
check "matrix: POST /v1/states/X/suspend"    matrix POST /v1/states/XXX/suspend "$WORK/empty.json" U U P F F
check "matrix: POST /v1/states/X/activate"   matrix POST /v1/states/XXX/activate "$WORK/empty.json" U U P F F
check "matrix: PUT /v1/states/EST/record"    matrix PUT /v1/states/EST/record "$WORK/empty.json" U U F P F
check "matrix: GET /v1/states/EST/record"    matrix GET /v1/states/EST/record "" U U P P P
check "matrix: GET /v1/states/EST/records/1" matrix GET /v1/states/EST/records/1 "" U U P P P
check "matrix: GET /v1/directory/search"     matrix GET /v1/directory/search "" U U P P P
check "matrix: GET /v1/directory/export"     matrix GET /v1/directory/export "" U U P P P
check "matrix: GET /v1/reports/stale"        matrix GET /v1/reports/stale "" U U P F F
check "matrix: POST /v1/states/X/root-key"   matrix POST /v1/states/XXX/root-key "$WORK/empty.json" U U P P F
check "matrix: POST /v1/messages"            matrix POST /v1/messages "$WORK/empty.json" U U F F P
check "matrix: GET /v1/inbox"                matrix GET /v1/inbox "" U U F F P
# (a bad cursor: an officer passes authentication and gets 400, not an endless stream)
check "matrix: GET /v1/inbox/stream"         matrix GET "/v1/inbox/stream?after=x" "" U U F F P
check "matrix: GET /v1/outbox"               matrix GET /v1/outbox "" U U F F P
check "matrix: GET /v1/messages/ID"          matrix GET /v1/messages/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b "" U U F F P
check "matrix: POST /v1/messages/ID/ack"     matrix POST /v1/messages/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/ack "$WORK/empty.json" U U F F P
check "matrix: GET /v1/cases/ID"             matrix GET /v1/cases/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b "" U U F F P
check "matrix: GET /v1/cases/ID/clocks"      matrix GET /v1/cases/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/clocks "" U U F F P
check "matrix: GET /v1/stats"                matrix GET /v1/stats "" U U P F P
check "matrix: POST /v1/pings"               matrix POST /v1/pings "$WORK/empty.json" U U P F F
check "matrix: GET /v1/pings"                matrix GET /v1/pings "" U U P F F
check "matrix: GET /v1/pings/trend"          matrix GET /v1/pings/trend "" U U P F F
check "matrix: GET /v1/pings/ID/report"      matrix GET /v1/pings/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/report "" U U P F F
check "matrix: GET /v1/whoami"               matrix GET /v1/whoami "" U U P P P
check "matrix: GET / (status page)"          matrix GET / "" P P P P P
check "matrix: GET /log/key"                 matrix GET /log/key "" P P P P P
check "matrix: GET /log/checkpoint"          matrix GET /log/checkpoint "" P P P P P
check "matrix: GET /log/proof"               matrix GET "/log/proof?index=0" "" P P P P P
check "matrix: GET /log/consistency"         matrix GET "/log/consistency?from=1&to=2" "" P P P P P
check "matrix: GET /log/tile/..."            matrix GET /log/tile/0/000.p/1 "" P P P P P
check "matrix: POST /log/add-cosignature"    matrix POST /log/add-cosignature "$WORK/empty.json" P P P P P
check "matrix: GET /app"                     matrix GET /app "" P P P P P
check "matrix: GET /app/"                    matrix GET /app/ "" P P P P P
check "matrix: GET /app/index.html"          matrix GET /app/index.html "" P P P P P
check "matrix: POST /v1/evidence"            matrix POST /v1/evidence "$WORK/empty.json" U U F F P
check "matrix: GET /v1/evidence"             matrix GET /v1/evidence "" U U F F P
check "matrix: GET /v1/evidence/ID"          matrix GET /v1/evidence/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b "" U U F F P
check "matrix: PATCH /v1/evidence/ID/upload" matrix PATCH /v1/evidence/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/upload "" U U F F P
check "matrix: DELETE /v1/evidence/ID/upload" matrix DELETE /v1/evidence/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/upload "" U U F F P
check "matrix: GET /v1/evidence/ID/upload"  matrix GET /v1/evidence/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/upload "" U U F F P
check "matrix: GET /v1/evidence/ID/chunks"   matrix GET /v1/evidence/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/chunks "" U U F F P
check "matrix: GET /v1/evidence/ID/content"  matrix GET /v1/evidence/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/content "" U U F F P
check "matrix: POST /v1/evidence/ID/custody" matrix POST /v1/evidence/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/custody "$WORK/empty.json" U U F F P
check "matrix: GET /v1/evidence/ID/custody"  matrix GET /v1/evidence/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/custody "" U U F F P
check "every route is in the matrix" sh -c "[ \$(grep -c '^    {\"' '$PARLEY_SRC/src/daemon/routes.c') -le \$(grep -c '^check \"matrix:' '$0') ]"

# --- root keys ------------------------------------------------------------------
new_user est-root2
sed -i "s|^hub = .*|hub = $HUB|" "$WORK/est-root2.conf"
check "FIN's root cannot rotate EST's root key" expect_fail AUTH_FORBIDDEN \
  as fin-root state rotate-root EST "$WORK/est-root2.key.pub"
check "EST rotates its root key with a statement signed by the old key" \
  as est-root state rotate-root EST "$WORK/est-root2.key.pub"
check "the old root key is no longer accepted" expect_fail AUTH_UNKNOWN_KEY as est-root state publish "$R"
as est-root2 state sign "$R" >/dev/null
check "the new root key publishes" as est-root2 state publish "$R"
check "a client that pinned the old key refuses loudly" expect_fail "REFUSED: the hub now shows a different root key" \
  as fin-cert directory show EST
new_user fin-root2
sed -i "s|^hub = .*|hub = $HUB|" "$WORK/fin-root2.conf"
check "the operator replaces a lost root key, with a reason" as op admin state set-root FIN \
  --root-key "$WORK/fin-root2.key.pub" --fingerprint "$(fingerprint fin-root2)" --reason "key lost, confirmed by phone"
sleep 5.2 # the checkpoint interval: the next checkpoint covers the action
N=$(curl -s "$HUB/log/checkpoint" | sed -n 2p)
check "the operator's action is in the log, in clear" \
  sh -c "curl -s '$HUB/log/tile/entries/000.p/$N' | grep -a -q 'key lost, confirmed by phone'"

check "every version is kept" as est-cert api GET /v1/states/EST/records/1
check "the daemon is still healthy" expect_code 200 "" "$(http GET /healthz)"
check "SIGTERM exits cleanly" stop_hub
finish
