#!/usr/bin/env bash
# Access in the real browser against a real parleyd: axe-core on every screen in English
# and Arabic (no serious or critical violation), Arabic laid out right to left, keyboard
# alone (skip link, visible focus, no trap, compose and send with Tab, Enter and Space),
# no horizontal scroll at 200 % zoom (640 css px) and at tablet width. Screenshots of
# every screen:
# $PARLEY_TEST_OUTPUT/web-browser/a11y/. With PARLEY_UPDATE_SCREENSHOTS=1 the English inbox
# is also copied to docs/img/inbox.png (the README's picture).
. "$PARLEY_SRC/tests/integration/lib.sh"
. "$PARLEY_SRC/tests/web/web_lib.sh"
OUT=${PARLEY_TEST_OUTPUT:-$WORK}/web-browser/a11y
rm -rf "$OUT"
mkdir -p "$OUT"

two_states --ack-critical 2 --scheduler-tick-ms 200
as est-cert send --kind notification --to FIN:fin-cert --priority urgent --tlp AMBER \
  --field incident_class=malicious-code --field summary="Ransomware against port operators" \
  --field affected_sectors="transport, ports" --field indicators="hxxp://203.0.113.9/payload" \
  --field first_seen=2026-11-20 >"$WORK/last.out"
MSG_ID=$(sent_id "$WORK/last.out")
as fin-cert reply "$MSG_ID" --field summary="Blocked at the border routers" --field status=complete >"$WORK/last.out"
REPLY_ID=$(sent_id "$WORK/last.out")
as est-cert send --kind request-for-information --to FIN:technical --priority critical --tlp RED \
  --field subject="Phishing kit" --field details="Who hosts 198.51.100.23?" >/dev/null
as est-cert send --kind request-for-assistance --to FIN:fin-cert --priority routine --tlp CLEAR \
  --field subject="Exercise" --field details="مرحبا — texte libre, 自由文本" >/dev/null
sleep 3 # the critical one becomes overdue
check "set-up: a message, a reply (a case) and an overdue one" test -n "$MSG_ID" -a -n "$REPLY_ID"

HUB=$HUB OUT=$OUT FIN_KEY=$WORK/fin-cert.key MSG_ID=$MSG_ID REPLY_ID=$REPLY_ID \
  AXE=$PARLEY_SRC/web/node_modules/axe-core/axe.min.js run_browser a11y.mjs "$WORK/browser.out"
check "the keyboard-only message arrived (parley read as EST)" \
  sh -c "id=\$(sed -n 's/^keyboard-sent //p' '$OUT/ids.txt'); '$PARLEY' --config '$WORK/est-cert.conf' read \"\$id\" | grep -q 'Sent by keyboard alone'"
# The README's picture of the inbox, refreshed only on request.
if [ "${PARLEY_UPDATE_SCREENSHOTS:-0}" = 1 ] && [ -f "$OUT/en-inbox.png" ]; then
  mkdir -p "$PARLEY_SRC/docs/img"
  cp "$OUT/en-inbox.png" "$PARLEY_SRC/docs/img/inbox.png"
  echo "updated docs/img/inbox.png"
fi
echo "screenshots: $OUT"
finish
