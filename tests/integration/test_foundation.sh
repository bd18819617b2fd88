#!/usr/bin/env bash
# The hub's HTTP basics: health, JSON errors, limits, signatures required, metrics,
# clean shutdown on SIGTERM.
. "$(dirname "$0")/lib.sh"

new_op() {
  "$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/op.key" >/dev/null
}
new_op
OPK=$("$PARLEY" --config /dev/null --json key show "$WORK/op.key" | sed 's/.*"sign_pk":"\([^"]*\)".*/\1/')
start_hub "$WORK/hub" --operator-key "$OPK" --max-body 65536
printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$WORK/op.key" "$WORK" >"$WORK/op.conf"

check "GET /healthz is 200 with status ok" expect_code 200 "" "$(http GET /healthz)"
check "healthz names the store" grep -q '"store":"sqlite"' "$WORK/body"
check "unknown path is a JSON 404" expect_code 404 NOT_FOUND "$(http GET /no/such/thing)"
check "404 body has a hint" grep -q '"hint":"no such resource"' "$WORK/body"
check "wrong method is a JSON 405" expect_code 405 METHOD_NOT_ALLOWED "$(http DELETE /healthz)"
head -c 70000 /dev/zero | tr '\0' 'a' >"$WORK/big.json"
check "oversized body is refused with 413 before it is read" \
  expect_code 413 BODY_TOO_LARGE "$(http POST /v1/states -H 'Content-Type: application/json' --data-binary @"$WORK/big.json")"
check "unsigned write is 401 AUTH_MISSING" \
  expect_code 401 AUTH_MISSING "$(http POST /v1/states -H 'Content-Type: application/json' --data '{}')"
check "wrong content type is 415" \
  expect_code 415 CONTENT_TYPE "$(http POST /v1/states -H 'Content-Type: text/plain' --data 'x')"
check "chunked body is 411" \
  expect_code 411 LENGTH_REQUIRED "$(http POST /v1/states -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data '{}')"
long=$(head -c 3000 /dev/zero | tr '\0' 'a')
check "overlong URL is 414" expect_code 414 URI_TOO_LONG "$(http GET "/$long")"
printf '{"code": "EST", "name": ' >"$WORK/bad.json"
check "malformed JSON (signed) is 400 JSON_MALFORMED" \
  expect_fail JSON_MALFORMED "$PARLEY" --config "$WORK/op.conf" api POST /v1/states --data "$WORK/bad.json"
printf '{"code": "EST", "code": "FIN"}' >"$WORK/dup.json"
check "duplicate keys (signed) are 400 JSON_DUPLICATE_KEY" \
  expect_fail JSON_DUPLICATE_KEY "$PARLEY" --config "$WORK/op.conf" api POST /v1/states --data "$WORK/dup.json"
printf '{"name": "Estonia"}' >"$WORK/missing.json"
check "missing field names the field" \
  expect_fail "field 'code' is missing" "$PARLEY" --config "$WORK/op.conf" api POST /v1/states --data "$WORK/missing.json"
"$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/stranger.key" >/dev/null
printf 'hub = %s\nkey = %s\n' "$HUB" "$WORK/stranger.key" >"$WORK/stranger.conf"
check "an unknown key is 401 AUTH_UNKNOWN_KEY" \
  expect_fail AUTH_UNKNOWN_KEY "$PARLEY" --config "$WORK/stranger.conf" api GET /v1/states
check "the operator's signed GET works" "$PARLEY" --config "$WORK/op.conf" api GET /v1/states
check "metrics count requests by route and status" \
  sh -c "curl -s '$HUB/metrics' | grep -q 'parley_http_requests_total{route=\"healthz\",status=\"200\"}'"
check "metrics have a latency histogram" \
  sh -c "curl -s '$HUB/metrics' | grep -q 'parley_http_request_duration_seconds_bucket{le=\"+Inf\"}'"
check "the daemon survives all of that" expect_code 200 "" "$(http GET /healthz)"
check "SIGTERM exits cleanly (status 0)" stop_hub
check "the log says it stopped" grep -q 'event=hub.stopped' "$WORK/hub/stderr"
check "the store is intact after shutdown" \
  sh -c "sqlite3 '$WORK/hub/hub.db' 'PRAGMA integrity_check' | grep -qx ok"
check "parleyd --help explains the options" sh -c "'$PARLEYD' --help | grep -q -- '--max-body'"
check "parleyd refuses an unknown option" sh -c "! '$PARLEYD' --bogus 2>/dev/null"
check "parley --help lists the commands" sh -c "'$PARLEY' --help | grep -q 'key show'"
finish
