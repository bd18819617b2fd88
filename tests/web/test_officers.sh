#!/usr/bin/env bash
# Two officers in two browsers against a real parleyd: EST's officer sends an urgent
# request to FIN from the page; FIN's officer sees it arrive live, reads it in French,
# acknowledges and replies; EST sees the verified acknowledgement and the reply. Across
# clients: a message sent from the page is read with `parley read`, one sent with
# `parley send` is read in the page, and a key made in the page works with `parley`.
# FIN's officer runs the app served by `parley web` from their own machine.
# Screenshots (and the inbox and a message in all six languages):
# $PARLEY_TEST_OUTPUT/web-browser/officers/.
. "$PARLEY_SRC/tests/integration/lib.sh"
. "$PARLEY_SRC/tests/web/web_lib.sh"
OUT=${PARLEY_TEST_OUTPUT:-$WORK}/web-browser/officers
rm -rf "$OUT"
mkdir -p "$OUT"

two_states
MARK="CLI-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
check "parley send: EST sends FIN a request for information" \
  as est-cert send --kind request-for-information --to FIN:fin-cert --priority routine --tlp GREEN \
  --field subject="Botnet C2 $MARK" --field details="Sent with parley send: $MARK"
CLI_ID=$(sent_id "$WORK/last.out")

PAGE_PASS='made in the page 2026'
# FIN's officer runs the app from their own machine: parley web, from FIN's config.
"$PARLEY" --config "$WORK/fin-cert.conf" web --port 0 >"$WORK/web.out" 2>&1 &
WEB_PID=$!
trap 'kill -TERM $WEB_PID 2>/dev/null; wait $WEB_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 50); do grep -q '^Parley web app: ' "$WORK/web.out" && break; sleep 0.1; done
FIN_APP=$(sed -n 's/^Parley web app: \([^ ]*\).*/\1/p' "$WORK/web.out")
check "parley web serves FIN's officer the app from their machine ($FIN_APP)" test -n "$FIN_APP"
if HUB=$HUB OUT=$OUT EST_KEY=$WORK/est-cert.key FIN_KEY=$WORK/fin-cert.key CLI_ID=$CLI_ID CLI_MARK=$MARK FIN_FPR=$(fingerprint fin-root) FIN_APP=$FIN_APP \
  PAGE_PASS=$PAGE_PASS run_browser officers.mjs "$WORK/browser.out"; then :; fi

# ---- the page's message, read with parley -------------------------------------------
PAGE_ID=$(sed -n 's/^page-sent //p' "$OUT/ids.txt" 2>/dev/null || true)
PAGE_MARK=$(sed -n 's/^page-mark //p' "$OUT/ids.txt" 2>/dev/null || true)
REPLY_ID=$(sed -n 's/^page-reply //p' "$OUT/ids.txt" 2>/dev/null || true)
check "the page's message is read with parley read (verified, decrypted)" \
  sh -c "'$PARLEY' --config '$WORK/fin-cert.conf' read '$PAGE_ID' | grep -q -- '$PAGE_MARK'"
check "  parley shows it as urgent, from EST:est-cert" \
  sh -c "'$PARLEY' --config '$WORK/fin-cert.conf' read '$PAGE_ID' | grep -qi 'urgent' && '$PARLEY' --config '$WORK/fin-cert.conf' read '$PAGE_ID' | grep -q 'est-cert'"
check "the page's reply is read with parley read by EST (in reply to the request)" \
  sh -c "'$PARLEY' --config '$WORK/est-cert.conf' read '$REPLY_ID' | grep -q -- '$PAGE_ID'"
check "parley sees FIN's acknowledgement made in the page as verified" \
  sh -c "'$PARLEY' --config '$WORK/est-cert.conf' read '$PAGE_ID' | grep -q '^  FIN: acknowledged '"

# ---- a key made in the page, used by parley -----------------------------------------
if [ -f "$OUT/page-officer.key" ]; then
  chmod 600 "$OUT/page-officer.key"
  check "the page's key becomes FIN officer fin-page (parley state poc add opens it with its passphrase)" \
    env PARLEY_PASSPHRASE="$PAGE_PASS" "$PARLEY" --config "$WORK/fin-root.conf" state poc add "$WORK/fin.json" \
    --id fin-page --name "Page Officer" --role technical --email page@ncsc.fin.test --phone "+358 29 000 0002" \
    --language en --poc-key "$OUT/page-officer.key"
  as fin-root state sign "$WORK/fin.json" >/dev/null
  as fin-root state publish "$WORK/fin.json" >/dev/null
  as est-cert send --kind notification --to FIN:fin-page --priority routine --tlp CLEAR \
    --field incident_class=malicious-code --field summary="For the page's key $MARK" --field affected_sectors=energy \
    --field indicators=198.51.100.7 --field first_seen=2026-11-20 >"$WORK/last.out"
  KID=$(sent_id "$WORK/last.out")
  printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$OUT/page-officer.key" "$WORK/home-page" >"$WORK/page.conf"
  mkdir -p "$WORK/home-page"
  check "parley reads a message with the key made in the page" \
    sh -c "PARLEY_PASSPHRASE='$PAGE_PASS' '$PARLEY' --config '$WORK/page.conf' read '$KID' | grep -q \"For the page's key $MARK\""
else
  not_ok "the page made no key file"
fi
echo "screenshots: $OUT"
finish
