#!/usr/bin/env bash
# The hub under abuse (issue 12), through the real parleyd with small budgets so that
# each case is quick: one key flooding requests fills only its own nonce share and rate
# while another state's officer is still served; `created` more than 30 s ahead is
# refused; a captured stream request is refused after a restart (also one dated ahead);
# one state's streams are capped while another state's officer still connects; the
# per-state byte budget answers 429 with Retry-After; a large POST with a bad or
# forbidden signature is answered from its head, without the body being sent; an open
# stream ends when its state is suspended, without a message; RFC 9421 conformance
# (optional spaces in Signature-Input, labels other than `parley`).
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3 # Debian's, with python3-cryptography
SIG="$PY $HERE/sigtool.py"

HUB=http://placeholder
USERS="op est-root est-cert est-b est-c fin-root fin-ncsc"
for u in $USERS; do new_user "$u"; done
HUBARGS=(--operator-key "$(pubkey op)" --key-rate 20 --key-burst 20 --key-nonces 60
  --state-bytes-per-day 200000 --max-streams-per-state 2 --max-streams-per-key 4
  --stream-recheck 1 --stream-keepalive 60 --signature-future 30)
start_hub "$WORK/hub" "${HUBARGS[@]}"
PORT=${HUB##*:}
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

BG=() # background clients, ended at exit
trap 'for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT

for s in "EST Estonia eastern-european" "FIN Finland western-european-and-others"; do
  set -- $s
  as op admin state add --code "$1" --name "$2" --region "$3" \
    --root-key "$WORK/${1,,}-root.key.pub" --fingerprint "$(fingerprint "${1,,}-root")" >/dev/null
done
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
for p in est-cert est-b est-c; do
  as est-root state poc add "$WORK/est.json" --id "$p" --name "Officer $p" --role technical \
    --email "$p@est.test" --phone "+1 555 0100" --language en --poc-key "$WORK/$p.key" >/dev/null
done
as est-root state sign "$WORK/est.json" >/dev/null
as est-root state publish "$WORK/est.json" >/dev/null
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
as fin-root state poc add "$WORK/fin.json" --id fin-ncsc --name "Officer" --role technical \
  --email ncsc@fin.test --phone "+1 555 0100" --language en --poc-key "$WORK/fin-ncsc.key" >/dev/null
as fin-root state sign "$WORK/fin.json" >/dev/null
as fin-root state publish "$WORK/fin.json" >/dev/null

# hdrs KEY METHOD PATH [sigtool options]: curl -H arguments into the array H.
hdrs() {
  local key=$1 method=$2 path=$3
  shift 3
  H=()
  while IFS= read -r line; do H+=(-H "$line"); done < <($SIG headers "$WORK/$key.key" "$method" "$HUB$path" "$@")
}
# sget KEY PATH [sigtool options]: a signed GET; prints "STATUS BODY"; the response
# head in $WORK/last.head.
sget() {
  local key=$1 path=$2
  shift 2
  hdrs "$key" GET "$path" "$@"
  http GET "$path" --max-time 5 -D "$WORK/last.head" "${H[@]}"
}
# retry_after FILE: the Retry-After value of a saved response head is 1..86400.
retry_after() {
  local v
  v=$(tr -d '\r' <"$1" | sed -n 's/^[Rr]etry-[Aa]fter: //p')
  [ -n "$v" ] && [ "$v" -ge 1 ] && [ "$v" -le 86400 ] || { echo "Retry-After: '$v'"; cat "$1"; return 1; }
}
metric() { curl -s "$HUB/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

check "setup: EST's officer is served" expect_code 200 "" "$(sget est-cert /v1/whoami)"
check "setup: FIN's officer is served" expect_code 200 "" "$(sget fin-ncsc /v1/whoami)"

# --- one key floods: only it is refused ------------------------------------------
$SIG flood "$WORK/est-cert.key" "$HUB/v1/whoami" 100 8 >"$WORK/flood.out" &
FLOOD_PID=$!
FIN_DURING=$(sget fin-ncsc /v1/whoami)
wait "$FLOOD_PID"
ok_count=$(grep -c '^200 ' "$WORK/flood.out" || true)
check "a flood of 100 signed requests by one key: at most its burst and share pass ($ok_count)" \
  test "$ok_count" -ge 1 -a "$ok_count" -le 60
check "  the rest is 429 RATE_LIMITED or NONCE_BUDGET, each with Retry-After" sh -c "
  ! grep -v '^200 ' '$WORK/flood.out' | grep -vqE '^429 (RATE_LIMITED|NONCE_BUDGET) [0-9]+$'"
check "  another state's officer is served meanwhile" expect_code 200 "" "$FIN_DURING"
sleep 2 # the bucket refills; the nonce share does not until the nonces expire
R=$(sget est-cert /v1/whoami)
check "  afterwards the flooding key's nonce share is still full: 429 NONCE_BUDGET" \
  expect_code 429 NONCE_BUDGET "$R"
check "    with Retry-After" retry_after "$WORK/last.head"
check "  while the same state's other officer is served" expect_code 200 "" "$(sget est-b /v1/whoami)"
check "  and the other state's officer too" expect_code 200 "" "$(sget fin-ncsc /v1/whoami)"
check "  /metrics counts the refusals" test "$(metric 'parley_budget_refusals_total{budget="key_nonces"}')" -ge 1

# --- replays do not use up the victim's share --------------------------------------------
$SIG flood "$WORK/est-c.key" "$HUB/v1/whoami" 100 4 --same >"$WORK/replays.out"
check "one captured request of est-c sent 100 times: served once, then 401 AUTH_REPLAY" sh -c "
  test \$(grep -c '^200 ' '$WORK/replays.out') = 1 && test \$(grep -c '^401 AUTH_REPLAY ' '$WORK/replays.out') = 99"
check "  est-c's own next request is served (replays spent none of its nonce share)" \
  expect_code 200 "" "$(sget est-c /v1/whoami)"

# --- created ahead of the clock ----------------------------------------------------
check "created 40 s ahead: 401 AUTH_STALE" expect_code 401 AUTH_STALE "$(sget fin-ncsc /v1/whoami --created-offset 40)"
check "created 20 s ahead (within the 30 s skew): 200" expect_code 200 "" "$(sget fin-ncsc /v1/whoami --created-offset 20)"
check "created 2 s ago: 200" expect_code 200 "" "$(sget fin-ncsc /v1/whoami --created-offset -2)"
R=$(sget fin-ncsc /v1/whoami --created-offset -250)
check "created 250 s ago, within the window but before this process started: 401 AUTH_STALE" \
  expect_code 401 AUTH_STALE "$R"

# --- RFC 9421: optional whitespace, labels ------------------------------------------
check "Signature-Input with optional spaces (valid RFC 8941, not canonical): 200" \
  expect_code 200 "" "$(sget fin-ncsc /v1/whoami --spaced)"
check "a lone signature labelled sig1: 401 AUTH_LABEL" \
  expect_code 401 AUTH_LABEL "$(sget fin-ncsc /v1/whoami --label sig1)"
check "another signature (sig1) beside ours is ignored: 200" \
  expect_code 200 "" "$(sget fin-ncsc /v1/whoami --extra-label sig1)"

# --- streams: a per-state share -------------------------------------------------------
# stream NAME KEY: a signed event stream read by curl in the background into NAME.sse.
stream() {
  hdrs "$2" GET /v1/inbox/stream
  curl -sN -D "$WORK/$1.head" "${H[@]}" "$HUB/v1/inbox/stream" >"$WORK/$1.sse" 2>/dev/null &
  BG+=($!)
  STREAM_PID=$!
}
wait_for() { # FILE PATTERN [SECONDS]
  for _ in $(seq 1 $((${3:-10} * 10))); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no '$2' in $1:"
  head -c 2000 "$1"
  return 1
}
stream s1 est-b
stream s2 est-c
check "two streams of EST open (two officers)" wait_for "$WORK/s1.sse" '^event: ready'
check "  the second" wait_for "$WORK/s2.sse" '^event: ready'
R=$(sget est-b /v1/inbox/stream)
check "a third EST stream (--max-streams-per-state 2): 429 STATE_STREAM_LIMIT" \
  expect_code 429 STATE_STREAM_LIMIT "$R"
stream f1 fin-ncsc
F1_PID=$STREAM_PID
check "  while FIN's officer still connects" wait_for "$WORK/f1.sse" '^event: ready'

# --- an open stream re-checks its key at intervals --------------------------------------
as op admin state suspend FIN >/dev/null
check "FIN suspended: its open stream ends within the re-check interval, no message needed" \
  sh -c "for i in \$(seq 1 50); do kill -0 $F1_PID 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
as op admin state activate FIN >/dev/null

# --- per-state bytes per day -------------------------------------------------------------
head -c 150000 /dev/zero | tr '\0' 'a' | sed 's/^/{"x":"/; s/$/"}/' >"$WORK/big.json"
post_big() { # KEY: POST /v1/messages with the 150 kB body; prints "STATUS BODY"
  hdrs "$1" POST /v1/messages --body "$WORK/big.json"
  curl -s -D "$WORK/post.head" -o "$WORK/body" -w '%{http_code}' "${H[@]}" \
    --data-binary @"$WORK/big.json" "$HUB/v1/messages" >"$WORK/status" || true
  echo "$(cat "$WORK/status") $(cat "$WORK/body")"
}
R=$(post_big est-b)
check "a 150 kB submission is admitted (then refused by the handler: not an envelope)" \
  expect_code 400 "" "$R"
R=$(post_big est-b)
check "a second one the same day exceeds EST's 200 kB: 429 STORAGE_BUDGET" \
  expect_code 429 STORAGE_BUDGET "$R"
check "  with Retry-After (until the next UTC day)" retry_after "$WORK/post.head"
R=$(post_big fin-ncsc)
check "  FIN's budget is its own: admitted" expect_code 400 "" "$R"

# --- authenticate before buffering ------------------------------------------------------
R=$($SIG head-only "$HUB" POST /v1/messages 1048576)
check "a 1 MiB POST signed by no registered key is answered 401 from its head alone" \
  test "$R" = "401 AUTH_UNKNOWN_KEY"
R=$($SIG head-only "$HUB" POST /v1/messages 1048576 "$WORK/fin-root.key")
check "a 1 MiB POST by a key whose role may not submit: 403 before the body" \
  test "$R" = "403 AUTH_FORBIDDEN"
R=$($SIG head-only "$HUB" POST /v1/messages 1000 "$WORK/est-c.key" --wait 1.5)
check "  (control: an allowed officer's POST waits for its body)" test "$R" = none

# --- replay across a restart ------------------------------------------------------------
hdrs fin-ncsc GET /v1/inbox/stream
CAPTURED=("${H[@]}")
hdrs fin-ncsc GET /v1/inbox/stream --created-offset 20
AHEAD=("${H[@]}")
for name in CAPTURED AHEAD; do
  declare -n hs=$name
  curl -sN --max-time 2 -o "$WORK/first-$name.sse" "${hs[@]}" "$HUB/v1/inbox/stream" || true
done
check "the captured stream requests were served once" sh -c "
  grep -q '^event: ready' '$WORK/first-CAPTURED.sse' && grep -q '^event: ready' '$WORK/first-AHEAD.sse'"
check "  and replayed to the same process: 401 AUTH_REPLAY" \
  expect_code 401 AUTH_REPLAY "$(http GET /v1/inbox/stream --max-time 2 "${CAPTURED[@]}")"
check "parleyd restarts" stop_hub
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
R=$(http GET /v1/inbox/stream --max-time 2 "${CAPTURED[@]}")
check "the captured stream request replayed after the restart: 401 AUTH_STALE" \
  expect_code 401 AUTH_STALE "$R"
R=$(http GET /v1/inbox/stream --max-time 2 "${AHEAD[@]}")
check "the one dated 20 s ahead, replayed after the restart: 401 AUTH_REPLAY" \
  expect_code 401 AUTH_REPLAY "$R"
check "a fresh request by the same officer: 200" expect_code 200 "" "$(sget fin-ncsc /v1/whoami)"

check "parleyd stops" stop_hub
check "no sanitizer report in parleyd's stderr" sh -c "
  ! grep -E -m5 'AddressSanitizer|LeakSanitizer|runtime error' '$WORK/hub/stderr'"
finish
