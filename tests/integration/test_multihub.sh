#!/usr/bin/env bash
# Two parleyd on one PostgreSQL (started by this test), behind a small TCP balancer,
# sharing one signer (the hub key): concurrent writes to both are each stored once in
# one log whose proofs verify; a signed request replayed to the other instance is
# refused; a stream on B sees a message posted to A; kill -9 of the leader mid-load:
# the other continues, takes over the scheduler and checkpoint signing, and nothing
# answered 2xx is lost. MULTIHUB_LOAD_S sets each load's length (default 3 s, 2 s
# under the sanitizers).
. "$(dirname "$0")/lib.sh"
: "${LOADGEN:?LOADGEN must point at the loadgen binary}"
: "${MSGPREP:?MSGPREP must point at the msgprep binary}"
: "${PARLEYD_SIGNER:?PARLEYD_SIGNER must point at the parleyd-signer binary}"
LOAD_S=${MULTIHUB_LOAD_S:-$([ "${PARLEY_TEST_SANITIZED:-0}" = 1 ] && echo 2 || echo 3)}

start_postgres
PSQL() { "$PG_BIN/psql" "$PG_URL" -XAtq -c "$1"; }

BG=()
PIDS=() # the two parleyd
stop_all() {
  for p in "${PIDS[@]}" "${BG[@]}"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]}" "${BG[@]}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
}
trap 'stop_all; cleanup' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_line() { # FILE PATTERN SECONDS
  for _ in $(seq 1 $(($3 * 10))); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no '$2' in $1 within $3 s"
  tail -5 "$1"
  return 1
}

# The signer holds the hub key for both instances.
S=$WORK/signer
mkdir -p "$S"
"$PARLEYD_SIGNER" -d "$S" --origin test.parley.localhost --insecure-hub-key >"$S/stdout" 2>"$S/stderr" &
BG+=($!)
wait_line "$S/stdout" 'listening on' 10

# The balancer: a new connection goes to the instance named in $WORK/lb.mode (A, B, or
# rr for round robin), or to the other one if that one refuses.
LB_PORT=$(free_port)
echo rr >"$WORK/lb.mode"
cat >"$WORK/lb.py" <<'PY'
import asyncio, sys
port, mode_file, a, b = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
turn = 0
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def handle(cr, cw):
    global turn
    mode = open(mode_file).read().strip()
    order = {"A": [a, b], "B": [b, a]}.get(mode) or ([a, b] if turn % 2 == 0 else [b, a])
    turn += 1
    for p in order:
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", p)
            break
        except OSError:
            continue
    else:
        cw.close()
        return
    await asyncio.gather(pipe(cr, uw), pipe(ur, cw))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
PY
PORT_A=$(free_port)
PORT_B=$(free_port)
python3 "$WORK/lb.py" "$LB_PORT" "$WORK/lb.mode" "$PORT_A" "$PORT_B" >"$WORK/lb.out" 2>&1 &
BG+=($!)
wait_line "$WORK/lb.out" ready 10
HUB=http://127.0.0.1:$LB_PORT
HUB_A=http://127.0.0.1:$PORT_A
HUB_B=http://127.0.0.1:$PORT_B

USERS="op est-root est-cert fin-root fin-a fin-b"
for u in $USERS; do new_user "$u"; done
# start_instance NAME PORT: parleyd on the shared store; its pid in PIDS[NAME].
declare -A IDX=([A]=0 [B]=1)
start_instance() {
  local d=$WORK/hub-$1
  mkdir -p "$d"
  "$PARLEYD" --port "$2" --data-dir "$d" --origin test.parley.localhost --store "$PG_URL" \
    --signer "$S/signer.sock" --public-url "$HUB" --operator-key "$(pubkey op)" \
    --checkpoint-interval 1 --scheduler-tick-ms 200 --max-conn-per-ip 64 --log-level debug \
    >"$d/stdout" 2>"$d/stderr" &
  PIDS[${IDX[$1]}]=$!
  wait_line "$d/stdout" 'listening on' 15
}
start_instance A "$PORT_A"
wait_line "$WORK/hub-A/stderr" 'event=cluster.leader leading=yes' 10 # A leads: it came first
start_instance B "$PORT_B"
check "both instances answer on the shared store" \
  sh -c "curl -sf $HUB_A/healthz | grep -q postgres && curl -sf $HUB_B/healthz | grep -q postgres"
check "one leader: A leads, B does not" \
  sh -c "sleep 0.5; ! grep -q 'leading=yes' '$WORK/hub-B/stderr'"

for s in EST FIN; do
  as op admin state add --code "$s" --name "$s" --region eastern-european \
    --root-key "$WORK/${s,,}-root.key.pub" --fingerprint "$(fingerprint "${s,,}-root")" >/dev/null
done
poc() { # STATE ID KEY
  as "$1-root" state poc add "$WORK/$1.json" --id "$2" --name "Officer $2" --role technical \
    --email "$2@$1.test" --phone "+1 555 0100" --language en --poc-key "$WORK/$3.key" >/dev/null
}
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
poc est est-cert est-cert
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
poc fin fin-a fin-a
poc fin fin-b fin-b
for s in est fin; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done
as est-cert api GET /v1/states/FIN/record >"$WORK/fin-record.json"

# --- a signed request replayed to the other instance -----------------------------
hdrs() { # WHO METHOD PATH: signed headers as curl arguments in H
  H=()
  while IFS= read -r line; do H+=(-H "$line"); done < <(as "$1" api --headers-only "$2" "$3")
}
hdrs fin-a GET /v1/inbox
check "a signed read answered by A" expect_code 200 "" "$(HUB=$HUB_A http GET /v1/inbox "${H[@]}")"
check "the same request replayed to B: 401 AUTH_REPLAY" \
  expect_code 401 AUTH_REPLAY "$(HUB=$HUB_B http GET /v1/inbox "${H[@]}")"
hdrs fin-b GET /v1/whoami
check "a signed read answered by B" expect_code 200 "" "$(HUB=$HUB_B http GET /v1/whoami "${H[@]}")"
check "replayed to A: 401 AUTH_REPLAY" \
  expect_code 401 AUTH_REPLAY "$(HUB=$HUB_A http GET /v1/whoami "${H[@]}")"

# --- a stream on B sees a message posted to A -----------------------------------------
hdrs fin-a GET /v1/inbox/stream
curl -sN "${H[@]}" "$HUB_B/v1/inbox/stream" >"$WORK/b.sse" 2>/dev/null &
BG+=($!)
check "a stream opens on B" wait_line "$WORK/b.sse" '^event: ready' 10
echo A >"$WORK/lb.mode"
as est-cert send --kind notification --to FIN:technical --priority routine --tlp GREEN \
  --field incident_class=intrusions --field summary="posted to A" --field affected_sectors=energy \
  --field indicators=198.51.100.7 --field first_seen=2026-11-20 >"$WORK/send.out"
MID=$(sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/send.out")
POSTED='method=POST path="/v1/messages" status=201'
check "the message was posted through A" sh -c "[ -n '$MID' ] && grep -qF '$POSTED' '$WORK/hub-A/stderr' && ! grep -qF '$POSTED' '$WORK/hub-B/stderr'"
check "the stream on B sees the message posted to A (NOTIFY/LISTEN)" wait_line "$WORK/b.sse" "\"id\":\"$MID\"" 10
echo rr >"$WORK/lb.mode"

# --- concurrent writes to both ---------------------------------------------------------
ids_of() {
  python3 - "$1" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
p = 0
while p < len(data):
    (n,) = struct.unpack(">I", data[p:p + 4])
    print(json.loads(data[p + 4:p + 4 + n])["id"])
    p += 4 + n
PY
}
COUNT=$((LOAD_S * 400))
# load ROUND: sealed envelopes through the balancer (round robin: both instances), with
# record versions published by EST meanwhile. Answered ids in acked, versions in pubs.
load() {
  "$MSGPREP" --key "$WORK/est-cert.key" --from EST/est-cert --record "$WORK/fin-record.json" \
    --root "$WORK/fin-root.key.pub" --to fin-a,fin-b --count "$COUNT" --threads 2 \
    --out "$WORK/bodies$1.bin" >/dev/null
  ids_of "$WORK/bodies$1.bin" >"$WORK/ids$1"
  "$LOADGEN" --url "$HUB/v1/messages" --method POST --key "$WORK/est-cert.key" \
    --bodies "$WORK/bodies$1.bin" --connections 16 --duration "$LOAD_S" --warmup 0 --timeout 3 \
    --ready "$WORK/ready$1" --ok-log "$WORK/ok$1" >"$WORK/load$1.json" 2>"$WORK/load$1.err" &
  LG=$!
  (
    for v in 1 2 3; do
      as est-root state sign "$WORK/est.json" >/dev/null 2>&1 &&
        as est-root state publish "$WORK/est.json" >/dev/null 2>&1 && echo ok >>"$WORK/pubs$1"
      sleep 0.3
    done
  ) &
  PUB=$!
}
finish_load() {
  wait "$LG" || true
  wait "$PUB" || true
  awk 'NR == FNR { id[NR - 1] = $1; next } { print id[$1] }' "$WORK/ids$1" "$WORK/ok$1" >>"$WORK/acked"
}
: >"$WORK/acked"
load 1
finish_load 1
check "round 1: envelopes answered 2xx ($(wc -l <"$WORK/ok1"))" test -s "$WORK/ok1"
took() { echo "A $(grep -cF "$POSTED" "$WORK/hub-A/stderr"), B $(grep -cF "$POSTED" "$WORK/hub-B/stderr")"; }
check "both instances took writes ($(took))" sh -c \
  "[ \$(grep -cF '$POSTED' '$WORK/hub-A/stderr') -ge 3 ] && [ \$(grep -cF '$POSTED' '$WORK/hub-B/stderr') -ge 3 ]"

# all_stored: every answered id is stored exactly once; one contiguous log.
all_stored() {
  sort -u "$WORK/acked" >"$WORK/acked.sorted"
  PSQL "SELECT id FROM messages" | sort >"$WORK/stored"
  local missing dup
  missing=$(comm -23 "$WORK/acked.sorted" "$WORK/stored" | wc -l)
  dup=$(PSQL "SELECT count(*) - count(DISTINCT id) FROM messages")
  [ "$missing" = 0 ] && [ "$dup" = 0 ] || { echo "missing $missing, duplicated $dup"; return 1; }
}
one_log() {
  local r
  r=$(PSQL "SELECT count(*) = coalesce(max(idx) + 1, 0) FROM log_leaves")
  [ "$r" = t ] || { echo "log indices are not contiguous"; return 1; }
  r=$(PSQL "SELECT count(*) FROM messages m JOIN log_leaves l ON l.idx = m.leaf_index AND l.kind = 'envelope'")
  [ "$r" = "$(PSQL "SELECT count(*) FROM messages")" ] || { echo "a message without its own envelope leaf"; return 1; }
  r=$(PSQL "SELECT count(*) - count(DISTINCT leaf_index) FROM messages")
  [ "$r" = 0 ] || { echo "two messages share a leaf"; return 1; }
}
check "every envelope answered 2xx is stored exactly once" all_stored
check "one log: indices contiguous, each message its own leaf" one_log
check "record versions published during the load are all stored" sh -c \
  "[ \"\$($PG_BIN/psql '$PG_URL' -XAtq -c \"SELECT count(*) FROM state_records WHERE state = 'EST'\")\" = \$((1 + \$(wc -l <'$WORK/pubs1'))) ]"
check "a client verifies the log through either instance" sh -c \
  "echo A >'$WORK/lb.mode' && $PARLEY --config '$WORK/fin-a.conf' log checkpoint >/dev/null &&
   echo B >'$WORK/lb.mode' && $PARLEY --config '$WORK/fin-a.conf' verify record EST | grep -q VERIFIED"
echo rr >"$WORK/lb.mode"
check "a message stored through the other instance opens and verifies" \
  as fin-b read "$(shuf -n 1 "$WORK/acked")"

# --- kill -9 of the leader mid-load ------------------------------------------------------
load 2
for _ in $(seq 1 100); do [ -e "$WORK/ready2" ] && break; sleep 0.1; done
sleep 1
kill -9 "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
PIDS[0]=
KILLED=$EPOCHREALTIME
check "B takes the leadership within seconds of A's death" \
  wait_line "$WORK/hub-B/stderr" 'event=cluster.leader leading=yes' 10
echo "# leadership moved to B within $(awk -v a="$KILLED" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s of the kill"
finish_load 2
check "round 2: envelopes answered 2xx after the kill too ($(wc -l <"$WORK/ok2"))" test -s "$WORK/ok2"
check "every envelope answered 2xx in both rounds is stored exactly once" all_stored
check "one log after the kill" one_log
# Checkpoint signing moved: B's scheduler signs the log as it now stands.
as est-root state sign "$WORK/est.json" >/dev/null
as est-root state publish "$WORK/est.json" >/dev/null
cp_current() {
  local size cp
  size=$(PSQL "SELECT count(*) FROM log_leaves")
  cp=$(PSQL "SELECT coalesce(max(size), 0) FROM checkpoints")
  [ "$size" = "$cp" ] && grep -q "^parley-signer-state v1 $size " "$S/signer-state" ||
    { echo "log $size, checkpoint $cp, signer: $(cut -d' ' -f1-3 "$S/signer-state")"; return 1; }
}
poll_cp() {
  for _ in $(seq 1 50); do cp_current >/dev/null 2>&1 && return 0; sleep 0.2; done
  cp_current
}
check "B's scheduler signs a checkpoint of the whole log (through the signer)" poll_cp
check "a client verifies the grown log (consistency with what it saw before)" \
  as fin-a log checkpoint
check "the signer refused nothing" sh -c "! grep -q signer.refused '$S/stderr'"
check "no sanitizer report in either instance's stderr" \
  sh -c "! grep -l 'ERROR: AddressSanitizer\|runtime error:' '$WORK'/hub-*/stderr"
finish
