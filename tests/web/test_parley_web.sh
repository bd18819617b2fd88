#!/usr/bin/env bash
# The web app as an officer should run it: served by `parley web` from their own machine,
# talking to the hub across origins (API and live stream), no warning; the same app from
# the hub's /app/ says on every screen that the hub's operator could change it. Also:
# hub listings of the wrong shape are skipped and counted (never a blank page), and the
# hub's status page escapes what it prints and runs no script.
. "$PARLEY_SRC/tests/integration/lib.sh"
. "$PARLEY_SRC/tests/web/web_lib.sh"
OUT=${PARLEY_TEST_OUTPUT:-$WORK}/web-browser/parley-web
rm -rf "$OUT"
mkdir -p "$OUT"

two_states
MARK="CLI-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
check "parley send: EST sends FIN a request for information" \
  as est-cert send --kind request-for-information --to FIN:fin-cert --priority routine --tlp GREEN \
  --field subject="Before the page $MARK" --field details="Sent before the page opened: $MARK"
CLI_ID=$(sent_id "$WORK/last.out")
# FIN's sent messages: one EST acknowledges (signed receipt), one it does not
as fin-cert send --kind request-for-information --to EST:est-cert --priority routine --tlp GREEN \
  --field subject="Acked $MARK" --field details="EST acknowledges this one" >"$WORK/last.out"
ACKED_ID=$(sent_id "$WORK/last.out")
check "EST acknowledges FIN's first message (parley ack)" as est-cert ack "$ACKED_ID"
as fin-cert send --kind request-for-information --to EST:est-cert --priority routine --tlp GREEN \
  --field subject="Not acked $MARK" --field details="EST does not acknowledge this one" >"$WORK/last.out"
UNACKED_ID=$(sent_id "$WORK/last.out")
# what the page runs once it pinned EST's root key: the operator replaces it (a lost
# key), and EST publishes its record signed by the new one
new_user est-root2
sed -i "s|^hub = .*|hub = $HUB|" "$WORK/est-root2.conf"
cat >"$WORK/replace-root.sh" <<EOS
set -e
"$PARLEY" --config "$WORK/op.conf" admin state set-root EST --root-key "$WORK/est-root2.key.pub" \\
  --fingerprint "$(fingerprint est-root2)" --reason "root key lost, confirmed by phone" >/dev/null
"$PARLEY" --config "$WORK/est-root2.conf" state sign "$WORK/est.json" >/dev/null
"$PARLEY" --config "$WORK/est-root2.conf" state publish "$WORK/est.json" >/dev/null
sleep 1.5 # the checkpoint interval: the next checkpoint covers it
EOS

"$PARLEY" --config "$WORK/fin-cert.conf" web --port 0 >"$WORK/web.out" 2>&1 &
WEB_PID=$!
trap 'kill -TERM $WEB_PID 2>/dev/null; wait $WEB_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 50); do grep -q '^Parley web app: ' "$WORK/web.out" && break; sleep 0.1; done
FIN_APP=$(sed -n 's/^Parley web app: \([^ ]*\).*/\1/p' "$WORK/web.out")
check "parley web serves FIN's officer the app from their machine ($FIN_APP)" test -n "$FIN_APP"
if HUB=$HUB OUT=$OUT FIN_KEY=$WORK/fin-cert.key CLI_ID=$CLI_ID CLI_MARK=$MARK FIN_APP=$FIN_APP \
  EST_CONF=$WORK/est-cert.conf ACKED_ID=$ACKED_ID UNACKED_ID=$UNACKED_ID REPLACE_ROOT=$WORK/replace-root.sh \
  EST2_FPR=$(fingerprint est-root2) run_browser parley_web.mjs "$WORK/browser.out"; then :; fi

# ---- the hub's status page ----------------------------------------------------------
curl -s -D "$WORK/home.h" -o "$WORK/home.html" "$HUB/"
check "the status page lists the states" grep -q '<td>FIN</td>' "$WORK/home.html"
check "... under a CSP with no script (default-src 'none', its style by hash)" \
  grep -qi "^content-security-policy: default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]*'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" "$WORK/home.h"
style=$(sed -n 's/.*<style>\(.*\)<\/style>.*/\1/p' "$WORK/home.html")
hash=$(printf '%s' "$style" | openssl dgst -sha256 -binary | base64)
check "... whose style hash is the page's style" grep -qF "'sha256-$hash'" "$WORK/home.h"
check "... and no referrer" grep -qi '^referrer-policy: no-referrer' "$WORK/home.h"
# a value the hub stores unvalidated in its database: every one printed is escaped
db=$(ls "$WORK"/hub/*.db "$WORK"/hub/*.sqlite 2>/dev/null | head -1 || true)
if [ -n "$db" ]; then
  stop_hub >/dev/null 2>&1 || true
  python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("update states set region = ?, name = ? where code = 'EST'", ('<script>alert(1)</script>', 'Esto"nia<b>'))
c.commit()
PY
  start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1
  curl -s -o "$WORK/home2.html" "$HUB/"
  check "a region and a name with markup are printed escaped" \
    sh -c "grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' '$WORK/home2.html' && grep -qF 'Esto&quot;nia&lt;b&gt;' '$WORK/home2.html' && ! grep -q '<script' '$WORK/home2.html'"
else
  not_ok "the hub's SQLite database was not found in $WORK/hub"
fi
echo "screenshots: $OUT"
finish
