#!/usr/bin/env bash
# Push delivery: the inbox as Server-Sent Events (GET /v1/inbox/stream) through the real
# parleyd, curl and `parley inbox --follow`. Messages sent while a stream is open arrive
# as events with the listing's metadata; cursors (none, ?after=, Last-Event-ID) give
# exactly the later messages; refusals (unsigned, wrongly signed, other roles, over the
# per-key limit); keep-alive comments; a client that goes away frees its slot; the follow
# command reconnects across a restart without missing or repeating a message; with 50
# streams open on two threads the hub keeps answering and streams outlive the request
# timeout; SIGTERM ends open streams promptly; a key replaced by a new record loses its
# stream before the next message. Waits are bounded polls, never timings.
. "$(dirname "$0")/lib.sh"

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-ncsc"
for u in $USERS; do new_user "$u"; done
HUBARGS=(--operator-key "$(pubkey op)" --checkpoint-interval 1 --stream-keepalive 1
  --max-streams-per-key 4)
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
poc() { # STATE ID
  as "$1-root" state init --state "${1^^}" --out "$WORK/$1.json" >/dev/null
  as "$1-root" state poc add "$WORK/$1.json" --id "$2" --name "Officer $2" --role technical \
    --email "$2@$1.test" --phone "+1 555 0100" --language en --poc-key "$WORK/$2.key" >/dev/null
  as "$1-root" state sign "$WORK/$1.json" >/dev/null
  as "$1-root" state publish "$WORK/$1.json" >/dev/null
}
poc est est-cert
poc fin fin-ncsc

# send: EST's officer sends a notification to FIN:technical; prints its id.
send() {
  as est-cert send --kind notification --to FIN:technical --priority routine --tlp GREEN \
    --field incident_class=intrusions --field summary="$1" --field affected_sectors=energy \
    --field indicators=198.51.100.7 --field first_seen=2026-11-20 >"$WORK/send.out" 2>&1 ||
    { cat "$WORK/send.out" >&2; return 1; }
  sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/send.out"
}
seq_of() { as fin-ncsc api GET "/v1/inbox?limit=500" | python3 -c '
import json, sys
print(next(m["seq"] for m in json.load(sys.stdin)["messages"] if m["id"] == sys.argv[1]))' "$1"; }

# stream NAME WHO [PATH [curl args...]]: a signed event stream read by curl in the
# background into $WORK/NAME.sse (response head in NAME.head); its pid in STREAM_PID.
stream() {
  local name=$1 who=$2 path=${3:-/v1/inbox/stream} h=()
  shift $(($# < 3 ? $# : 3))
  while IFS= read -r line; do h+=(-H "$line"); done < <(as "$who" api --headers-only GET "$path")
  curl -sN -D "$WORK/$name.head" "${h[@]}" "$@" "$HUB$path" >"$WORK/$name.sse" 2>/dev/null &
  STREAM_PID=$!
  BG+=("$STREAM_PID")
}
# signed WHO PATH [curl args...]: a signed GET with curl, at most 5 s; prints "STATUS BODY".
signed() {
  local who=$1 path=$2 h=()
  shift 2
  while IFS= read -r line; do h+=(-H "$line"); done < <(as "$who" api --headers-only GET "$path")
  http GET "$path" --max-time 5 "${h[@]}" "$@"
}
# wait_for FILE PATTERN [SECONDS]: polls until FILE has a line matching PATTERN (ERE).
wait_for() {
  local file=$1 pat=$2 secs=${3:-15}
  for _ in $(seq 1 $((secs * 10))); do
    grep -qE -- "$pat" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no line matching '$pat' in $file within $secs s:"
  head -c 3000 "$file"
  return 1
}
# events FILE: the file's events as JSON lines {"event","id","data"} (comments dropped).
events() {
  python3 - "$1" <<'PY'
import json, sys
ev = {}
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    if line == "":
        if "data" in ev:
            print(json.dumps(ev))
        ev = {}
    elif not line.startswith(":"):
        k, _, v = line.partition(":")
        ev[k] = v[1:] if v.startswith(" ") else v
PY
}
# message_ids FILE: the ids of the message events in FILE, in order.
message_ids() {
  events "$1" | python3 -c '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("event") == "message": print(json.loads(e["data"])["id"])'
}

# only_messages FILE IDS...: once the last of IDS arrived, FILE's message events are
# exactly IDS, in order.
only_messages() {
  local file=$1 last got
  shift
  for last; do :; done
  wait_for "$file" "\"id\":\"$last\"" || return 1
  got=$(message_ids "$file" | tr '\n' ' ')
  [ "$got" = "$* " ] || { echo "messages: $got; want: $*"; return 1; }
}

# --- push of a new message ------------------------------------------------------
stream live fin-ncsc
LIVE_PID=$STREAM_PID
check "a stream opens with a ready event naming its cursor" wait_for "$WORK/live.sse" '^event: ready'
check "  answered 200 text/event-stream, Cache-Control: no-store" sh -c "
  grep -q '^HTTP/1.1 200' '$WORK/live.head' && grep -qi '^content-type: text/event-stream' '$WORK/live.head' &&
  grep -qi '^cache-control: no-store' '$WORK/live.head'"
M1=$(send first)
check "a message sent while the stream is open arrives as an event" wait_for "$WORK/live.sse" "\"id\":\"$M1\""
S1=$(seq_of "$M1")
# message_event FILE ID LISTING: FILE has one message event, for ID, whose id is its
# seq and whose data is the object LISTING (GET /v1/inbox) gives for it: metadata only.
message_event() {
  events "$1" | python3 -c '
import json, sys
evs = [json.loads(l) for l in sys.stdin]
msgs = [e for e in evs if e.get("event") == "message"]
assert len(msgs) == 1, evs
d = json.loads(msgs[0]["data"])
listed = json.loads(sys.argv[2])["messages"][0]
assert d["id"] == sys.argv[1] and msgs[0]["id"] == str(d["seq"]), msgs
assert d["kind"] == "notification" and d["from"] == {"state": "EST", "poc": "est-cert"}, d
assert d == listed, (d, listed)
assert "envelope" not in d and "ciphertext" not in msgs[0]["data"], d' "$2" "$3"
}
check "  event: message, id: its seq, kind and sender, the listing's very object" \
  message_event "$WORK/live.sse" "$M1" "$(as fin-ncsc api GET "/v1/inbox?after=$((S1 - 1))&limit=1")"
check "keep-alive comments are sent on an idle stream (--stream-keepalive 1)" \
  wait_for "$WORK/live.sse" '^: keep-alive$' 10

# --- cursors --------------------------------------------------------------------
stream now fin-ncsc
check "a stream without a cursor starts at the newest message" \
  wait_for "$WORK/now.sse" "^data: \\{\"after\":$S1,"
stream all fin-ncsc "/v1/inbox/stream?after=0"
M2=$(send second)
S2=$(seq_of "$M2")
stream resumed fin-ncsc "/v1/inbox/stream?after=0" -H "Last-Event-ID: $S1"
check "the live stream gets the second message" wait_for "$WORK/live.sse" "\"id\":\"$M2\""
check "  after=0 gives the backlog, then the new one, in order" only_messages "$WORK/all.sse" "$M1" "$M2"
check "  no cursor: the new message only" only_messages "$WORK/now.sse" "$M2"
check "  Last-Event-ID (it wins over ?after=0) resumes after it: the new message only" \
  only_messages "$WORK/resumed.sse" "$M2"
check "  the event's id is the message's seq" grep -q "^id: $S2\$" "$WORK/resumed.sse"

# --- refusals and limits -----------------------------------------------------------
check "an unsigned stream request is 401 AUTH_MISSING (JSON)" \
  expect_code 401 AUTH_MISSING "$(http GET /v1/inbox/stream --max-time 5)"
as fin-ncsc api --headers-only GET "/v1/inbox/stream?after=1" >"$WORK/other.h"
H=()
while IFS= read -r line; do H+=(-H "$line"); done <"$WORK/other.h"
check "a signature made for another URL is 401 AUTH_BAD_SIGNATURE" \
  expect_code 401 AUTH_BAD_SIGNATURE "$(http GET /v1/inbox/stream --max-time 5 "${H[@]}")"
check "an operator's key is 403 AUTH_FORBIDDEN" \
  expect_code 403 AUTH_FORBIDDEN "$(signed op /v1/inbox/stream)"
check "a state root key is 403 AUTH_FORBIDDEN" \
  expect_code 403 AUTH_FORBIDDEN "$(signed est-root /v1/inbox/stream)"
check "a cursor that is not a sequence number is 400 INVALID_ARGUMENT" \
  expect_code 400 INVALID_ARGUMENT "$(signed fin-ncsc /v1/inbox/stream -H 'Last-Event-ID: x1')"
check "a fifth stream of one key (--max-streams-per-key 4) is 429 STREAM_LIMIT (JSON)" \
  expect_code 429 STREAM_LIMIT "$(signed fin-ncsc /v1/inbox/stream)"
check "  another key may still open one" expect_code 200 "" "$(signed est-cert /v1/inbox/stream --max-time 2)"
metric() { curl -s --max-time 5 "$HUB/metrics" | sed -n "s/^$1 //p"; }
check "  /metrics counts the open streams" sh -c "[ '$(metric parley_event_streams_open)' -ge 4 ]"
kill "$STREAM_PID" # the last one opened: "resumed"
admitted() { # polls: a new stream of fin-ncsc is admitted once the hub has seen a client go
  for _ in $(seq 1 30); do
    local got
    got=$(signed fin-ncsc /v1/inbox/stream --max-time 1)
    [ "${got%% *}" = 200 ] && return 0
    sleep 0.5
  done
  echo "no stream admitted within 15+ s of a client leaving"
  return 1
}
check "a client that goes away frees its slot" admitted

# --- parley inbox --follow, across a restart ------------------------------------------
# exits_within SECONDS PID [STATUS]: the background process PID ends within SECONDS
# (with STATUS), else it is killed. A poll: a watchdog subshell killed early could run
# this script's EXIT trap.
exits_within() {
  local st rc=0
  for _ in $(seq 1 $(($1 * 10))); do
    st=$(sed 's/.*) //' "/proc/$2/stat" 2>/dev/null | cut -d' ' -f1)
    [ -z "$st" ] || [ "$st" = Z ] && break
    sleep 0.1
  done
  if [ -n "$st" ] && [ "$st" != Z ]; then
    kill -KILL "$2" 2>/dev/null || true
    wait "$2" 2>/dev/null || true
    echo "pid $2 still running after $1 s (killed)"
    return 1
  fi
  wait "$2" || rc=$?
  [ -z "${3:-}" ] || [ "$rc" = "$3" ] || { echo "exit status $rc, want $3"; return 1; }
}
# stop_within SECONDS: SIGTERM; parleyd must exit with status 0 within SECONDS.
stop_within() {
  kill -TERM "$HUB_PID"
  local pid=$HUB_PID
  HUB_PID=
  exits_within "$1" "$pid" 0
}
"$PARLEY" --config "$WORK/fin-ncsc.conf" inbox --follow >"$WORK/follow.out" 2>"$WORK/follow.err" &
FOLLOW=$! # parley itself, not a subshell, so that the signal reaches it
BG+=("$FOLLOW")
check "parley inbox --follow first lists the inbox, as parley inbox prints it" sh -c "
  $(declare -f wait_for); wait_for '$WORK/follow.out' '$M2' &&
  $PARLEY --config '$WORK/fin-ncsc.conf' inbox | diff - '$WORK/follow.out'"
M3=$(send third)
check "  then prints a message sent meanwhile" wait_for "$WORK/follow.out" "$M3"
N_OPEN=$(metric parley_event_streams_open)
check "parleyd stops within 5 s of SIGTERM with $N_OPEN streams open, exit status 0" stop_within 5
check "  an open stream was ended cleanly (curl exits 0)" exits_within 5 "$LIVE_PID" 0
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
M4=$(send fourth)
check "--follow reconnects after the restart and prints the next message" \
  wait_for "$WORK/follow.out" "$M4" 40
check "  resuming after the last event: every message printed exactly once" sh -c "
  for m in $M1 $M2 $M3 $M4; do [ \$(grep -c \$m '$WORK/follow.out') = 1 ] || exit 1; done"
check "  it said on stderr that it reconnects" grep -q "reconnecting" "$WORK/follow.err"
kill -INT "$FOLLOW"
check "  SIGINT stops it (exit status 0)" exits_within 5 "$FOLLOW" 0

# --- load: 50 streams on two threads; streams outlive the request timeout ------------
check "the restarted hub stops" stop_within 5
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --threads 2 --timeout 3 \
  --stream-keepalive 60 --max-streams-per-key 64 --max-streams-per-state 64 --max-conn-per-ip 200 --port "$PORT"
LOAD=()
for i in $(seq 1 50); do
  stream "load$i" fin-ncsc
  LOAD+=("$STREAM_PID")
done
all_ready() {
  for i in $(seq 1 50); do wait_for "$WORK/load$i.sse" '^event: ready' 60 >/dev/null || {
    echo "stream $i not ready"
    return 1
  }; done
}
check "50 streams of one officer open (--threads 2)" all_ready
answers() {
  for _ in $(seq 1 10); do
    expect_code 200 "" "$(http GET /healthz --max-time 5)" || return 1
    expect_code 200 "" "$(signed est-cert /v1/states)" || return 1
    expect_code 200 "" "$(signed fin-ncsc /v1/inbox)" || return 1
  done
}
check "  the hub keeps answering other requests meanwhile (30, each within 5 s)" answers
sleep 4 # longer than --timeout 3: streams are exempt from the request deadline
M5=$(send fifth)
all_got() {
  for i in $(seq 1 50); do wait_for "$WORK/load$i.sse" "\"id\":\"$M5\"" 30 >/dev/null || {
    echo "stream $i did not get $M5"
    return 1
  }; done
}
check "  a message sent after more than --timeout reaches all 50 streams" all_got
check "  /metrics: 50 streams open" test "$(metric parley_event_streams_open)" = 50
kill "${LOAD[0]}"
gone() {
  for _ in $(seq 1 100); do
    [ "$(metric parley_event_streams_open)" = 49 ] && return 0
    sleep 0.1
  done
  echo "still $(metric parley_event_streams_open) streams open"
  return 1
}
check "  a client leaving a suspended stream is noticed without waiting for a keep-alive" gone
check "parleyd stops within 5 s of SIGTERM with 49 streams open, exit status 0" stop_within 5
ended() {
  for p in "${LOAD[@]:1}"; do exits_within 5 "$p" 0 || return 1; done
}
check "  every stream was ended cleanly (each curl exits 0)" ended
# --- a key replaced by a new record: its stream ends ---------------------------------
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
stream old fin-ncsc
OLD_PID=$STREAM_PID
new_user fin-ncsc2
sed -i "s|^hub = .*|hub = $HUB|" "$WORK/fin-ncsc2.conf"
as fin-root state poc add "$WORK/fin.json" --id fin-ncsc --name "Officer fin-ncsc" --role technical \
  --email fin-ncsc@fin.test --phone "+1 555 0100" --language en --poc-key "$WORK/fin-ncsc2.key" >/dev/null
as fin-root state sign "$WORK/fin.json" >/dev/null
as fin-root state publish "$WORK/fin.json" >/dev/null
stream new fin-ncsc2
check "a stream opens for the POC's new key" wait_for "$WORK/new.sse" '^event: ready'
M6=$(send sixth)
check "  it gets the next message" wait_for "$WORK/new.sse" "\"id\":\"$M6\""
old_ended() {
  exits_within 15 "$OLD_PID" 0 || return 1
  ! grep -q "$M6" "$WORK/old.sse" || { echo "the replaced key's stream got $M6"; return 1; }
}
check "the replaced key's stream is ended cleanly, without that message" old_ended
check "  and reopening it is refused: 401 AUTH_UNKNOWN_KEY" \
  expect_code 401 AUTH_UNKNOWN_KEY "$(signed fin-ncsc /v1/inbox/stream)"
check "parleyd stops" stop_within 5
check "no sanitizer report in parleyd's stderr" sh -c \
  "! grep -E -m5 'AddressSanitizer|LeakSanitizer|runtime error' '$WORK/hub/stderr'"

finish
