#!/usr/bin/env bash
# The inbox at scale in the real browser: PARLEY_WEB_INBOX_COUNT messages (default
# 10000; 2000 under ASan+UBSan) are sealed with libparley and submitted to a real parleyd
# (bench/msgprep.c and loadgen.c), then FIN's officer opens the page: every message is
# listed, only the visible window is in the DOM, scrolling and filtering do not freeze
# the page, and a new message still arrives live on top. Figures:
# $PARLEY_TEST_OUTPUT/web-browser/inbox-scale/figures.txt.
. "$PARLEY_SRC/tests/integration/lib.sh"
. "$PARLEY_SRC/tests/web/web_lib.sh"
: "${LOADGEN:?LOADGEN must point at the loadgen binary}"
: "${MSGPREP:?MSGPREP must point at the msgprep binary}"
OUT=${PARLEY_TEST_OUTPUT:-$WORK}/web-browser/inbox-scale
rm -rf "$OUT"
mkdir -p "$OUT"
if [ "${PARLEY_TEST_SANITIZED:-0}" = 1 ]; then COUNT=${PARLEY_WEB_INBOX_COUNT:-2000}; else COUNT=${PARLEY_WEB_INBOX_COUNT:-10000}; fi

two_states --key-rate 0
as est-cert api GET /v1/states/FIN/record >"$WORK/fin-record.json" 2>/dev/null
"$MSGPREP" --key "$WORK/est-cert.key" --from EST/est-cert --record "$WORK/fin-record.json" \
  --root "$WORK/fin-root.key.pub" --to fin-cert --count "$COUNT" --size 900 --threads 2 \
  --out "$WORK/bodies.bin" >"$WORK/msgprep.json"
"$LOADGEN" --url "$HUB/v1/messages" --method POST --key "$WORK/est-cert.key" --bodies "$WORK/bodies.bin" \
  --connections 4 --duration 120 --warmup 0 --timeout 10 --ok-log "$WORK/ok" >"$WORK/load.json" 2>"$WORK/load.err"
check "$COUNT messages are submitted to FIN's officer" test "$(wc -l <"$WORK/ok")" = "$COUNT"

HUB=$HUB OUT=$OUT COUNT=$COUNT FIN_KEY=$WORK/fin-cert.key EST_CONF=$WORK/est-cert.conf PARLEY=$PARLEY \
  run_browser inbox_scale.mjs "$WORK/browser.out"
[ -f "$OUT/figures.txt" ] && sed 's/^/    /' "$OUT/figures.txt"
finish
