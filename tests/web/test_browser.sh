#!/usr/bin/env bash
# The web app served by the real parleyd, checked with curl (headers, integrity, path
# traversal, unknown files) and in Debian's chromium driven by playwright-core
# (tests/web/browser.mjs); a key made in the page is then used by the real `parley`.
# Screenshots: $PARLEY_TEST_OUTPUT/web-browser/.
. "$PARLEY_SRC/tests/integration/lib.sh"
: "${PARLEY_WEB_OUT:?run through ctest}"

OUT=${PARLEY_TEST_OUTPUT:-$WORK}/web-browser
mkdir -p "$OUT"
rm -f "$OUT"/*.png "$OUT"/page.key "$OUT"/page.key.pub "$OUT"/page-fingerprint.txt # its own files: the other web tests write in subfolders
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "chromium not installed (run make deps)" >&2; exit 1; }
[ -f "$PARLEY_WEB_OUT/index.html" ] || { echo "web app not built in $PARLEY_WEB_OUT (run make deps; make build)" >&2; exit 1; }

OP_PASS='officer passphrase ü 2026'
PAGE_PASS='made in the page 2026'
PARLEY_PASSPHRASE=$OP_PASS "$PARLEY" --config /dev/null keygen --out "$WORK/op.key" >/dev/null
"$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$WORK/stranger.key" >/dev/null
OPK=$(pubkey op)
OP_KEYID=$("$PARLEY" --config /dev/null --json key show "$WORK/op.key" | sed 's/.*"key_id":"\([^"]*\)".*/\1/')

# A second hub whose web folder (--web-dir) holds a tampered bundle and a symlink.
mkdir -p "$WORK/web"
cp "$PARLEY_WEB_OUT"/* "$WORK/web/"
js=$(cd "$WORK/web" && ls app-*.js)
printf '\n;document.title="tampered";\n' >>"$WORK/web/$js"
echo '{"marker":"custom web dir"}' >"$WORK/web/marker.json"
ln -s /etc/passwd "$WORK/web/passwd.json"
start_hub "$WORK/hub2" --web-dir "$WORK/web"
HUB_TAMPERED=$HUB
HUB2_PID=$HUB_PID
trap 'kill -TERM $HUB2_PID 2>/dev/null; wait $HUB2_PID 2>/dev/null; cleanup' EXIT

start_hub "$WORK/hub" --operator-key "$OPK"

# ---- static files and headers, with curl --------------------------------------------
curl -s -D "$WORK/h" -o "$WORK/index.html" "$HUB/app/"
csp=$(grep -i '^content-security-policy:' "$WORK/h" | tr -d '\r')
check "GET /app/ (the build's folder, the default --web-dir) is the page" grep -q '<div id="app"' "$WORK/index.html"
# the service worker that streams verified downloads: same-origin worker and frame, and
# Trusted Types with the one policy (parley-sw) that names its script
for d in "default-src 'none'" "script-src 'self'" "connect-src 'self'" "frame-ancestors 'none'" "base-uri 'none'" "style-src 'self'" \
  "worker-src 'self';" "frame-src 'self';" "require-trusted-types-for 'script'" "trusted-types parley-sw"; do
  check "CSP has $d" grep -qF "$d" <<<"$csp"
done
check "CSP allows no inline script or eval" sh -c "! grep -qE \"unsafe-inline|'unsafe-eval'\" <<'X'
$csp
X"
check "exactly one CSP header" test "$(grep -ci '^content-security-policy:' "$WORK/h")" = 1
check "Referrer-Policy: no-referrer" grep -qi '^referrer-policy: no-referrer' "$WORK/h"
check "X-Content-Type-Options: nosniff" grep -qi '^x-content-type-options: nosniff' "$WORK/h"
check "index.html has no inline script" sh -c "! grep -q '<script>' '$WORK/index.html' && ! grep -qE ' on[a-z]+=' '$WORK/index.html'"
sri_ok() {
  local tag=$1 attr=$2
  local name sri
  name=$(grep -o "<$tag [^>]*" "$WORK/index.html" | sed -n "s/.*$attr=\"\\([^\"]*\\)\".*/\\1/p")
  sri=$(grep -o "<$tag [^>]*" "$WORK/index.html" | sed -n 's/.*integrity="\([^"]*\)".*/\1/p')
  [[ $name =~ ^app-[A-Z0-9]+\.(js|css)$ ]] || { echo "not a content-hashed name: $name"; return 1; }
  curl -s -D "$WORK/h2" -o "$WORK/asset" "$HUB/app/$name"
  grep -qi '^cache-control: public, max-age=31536000, immutable' "$WORK/h2" || { echo "not cached as immutable"; return 1; }
  local got
  got="sha384-$(python3 -c 'import hashlib,base64,sys; print(base64.b64encode(hashlib.sha384(open(sys.argv[1],"rb").read()).digest()).decode())' "$WORK/asset")"
  [ "$got" = "$sri" ] || { echo "integrity $sri, served bytes $got"; return 1; }
}
check "the script has a content-hashed name and its SRI matches the served bytes" sri_ok script src
check "the script is served as JavaScript" grep -qi '^content-type: text/javascript' "$WORK/h2"
check "the stylesheet has a content-hashed name and its SRI matches the served bytes" sri_ok 'link rel="stylesheet"' href
check "/app redirects to /app/" sh -c "curl -s -D - -o /dev/null '$HUB/app' | grep -qi '^location: /app/'"
check "SHA256SUMS lists the bundle" sh -c "curl -s '$HUB/app/SHA256SUMS' | grep -q ' index.html$'"
# Traversal targets that exist and have a served extension: ../secret.json beside the
# second hub's web folder, ../compile_commands.json beside the build's.
echo '{"secret":"outside the web folder"}' >"$WORK/secret.json"
HUB_SAVE=$HUB
for hub in "$HUB" "$HUB_TAMPERED"; do
  HUB=$hub
  for p in "/app/../secret.json" "/app/..%2fsecret.json" "/app/%2e%2e%2fsecret.json" "/app/%2e%2e/secret.json" \
    "/app/../compile_commands.json" "/app/..%2fcompile_commands.json" "/app/%2fetc%2fpasswd.json" \
    "/app/.ci-stamp" "/app/sub/index.html" "/app/no-such-file.js" "/app/index.htm" "/app/..%5csecret.json" \
    "/app%2F" "/app/index%2ehtml" "/app%2f..%2fsecret.json"; do
    check "$p is refused" expect_code 404 NOT_FOUND "$(http GET "$p" --path-as-is)"
    check "  and its answer holds nothing of the file" sh -c "! grep -q 'outside the web folder\|\"directory\"' '$WORK/body'"
  done
done
HUB=$HUB_SAVE
check "a refusal carries the CSP too" sh -c "curl -s -D - -o /dev/null '$HUB/app/nope.js' | grep -qi \"^content-security-policy: default-src 'none'; script-src\""
check "--web-dir serves that folder" sh -c "curl -s '$HUB_TAMPERED/app/marker.json' | grep -q 'custom web dir'"
HUB=$HUB_TAMPERED
check "a symbolic link in the web folder is not followed" expect_code 404 NOT_FOUND "$(http GET /app/passwd.json)"
HUB=$HUB_SAVE

# ---- the browser ------------------------------------------------------------------
if HUB=$HUB HUB_TAMPERED=$HUB_TAMPERED OUT=$OUT CHROMIUM=$CHROMIUM OP_KEY=$WORK/op.key OP_PASS=$OP_PASS \
  OP_KEYID=$OP_KEYID STRANGER_KEY=$WORK/stranger.key PAGE_PASS=$PAGE_PASS \
  timeout 300 node "$PARLEY_SRC/tests/web/browser.mjs" >"$WORK/browser.out" 2>&1; then
  ok "browser: $(tail -1 "$WORK/browser.out")"
else
  not_ok "browser: $(tail -1 "$WORK/browser.out")"
fi
sed 's/^/    /' "$WORK/browser.out"

# ---- the key made in the page, with parley ------------------------------------------
chmod 600 "$OUT/page.key"
PFPR=$(cat "$OUT/page-fingerprint.txt" 2>/dev/null || true)
check "parley key show reads the page's key file and shows the page's fingerprint" \
  sh -c "'$PARLEY' --config /dev/null --json key show '$OUT/page.key' | grep -q '\"fingerprint\":\"$PFPR\"'"
check "the page's .pub file is a public key file parley reads" \
  sh -c "'$PARLEY' --config /dev/null --json key show '$OUT/page.key.pub' | grep -q '\"fingerprint\":\"$PFPR\"'"
PAGE_PK=$("$PARLEY" --config /dev/null --json key show "$OUT/page.key" | sed 's/.*"sign_pk":"\([^"]*\)".*/\1/')
stop_hub
start_hub "$WORK/hub" --operator-key "$OPK" --operator-key "$PAGE_PK"
printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$OUT/page.key" "$WORK" >"$WORK/page.conf"
check "parley decrypts the page's key and its signed whoami is accepted" \
  sh -c "PARLEY_PASSPHRASE='$PAGE_PASS' '$PARLEY' --config '$WORK/page.conf' api GET /v1/whoami | grep -q '\"role\":\"operator\"'"
check "with the wrong passphrase parley refuses the page's key" \
  expect_fail passphrase env PARLEY_PASSPHRASE=wrong "$PARLEY" --config "$WORK/page.conf" api GET /v1/whoami
ls "$OUT"/*.png >/dev/null 2>&1 && echo "screenshots: $OUT"
finish
