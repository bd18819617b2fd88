#!/usr/bin/env bash
# Group commit under crash: 32 connections submit sealed envelopes as fast as the hub
# takes them (many share each commit), parleyd is killed with SIGKILL in the middle,
# restarted, and every envelope that was answered 2xx must be there, intact; the store
# opens without repair and the log stays consistent for a client. Twice, at different
# moments. Uses the benchmark's load generator and sealer (bench/loadgen.c, msgprep.c).
# The SQLite store (the PostgreSQL one runs the kill -9 test of test_messages.sh).
. "$(dirname "$0")/lib.sh"
: "${LOADGEN:?LOADGEN must point at the loadgen binary}"
: "${MSGPREP:?MSGPREP must point at the msgprep binary}"

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-a fin-b fin-c"
for u in $USERS; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --max-conn-per-ip 64
PORT=${HUB##*:}
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done
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
for p in a b c; do poc fin "fin-$p" "fin-$p"; done
for s in est fin; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done
as est-cert api GET /v1/states/FIN/record >"$WORK/fin-record.json"

# ids[i] = the id of the i-th sealed envelope (4-byte big-endian length, then the JSON)
ids_of() {
  /usr/bin/python3 - "$1" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
p = 0
while p < len(data):
    (n,) = struct.unpack(">I", data[p:p + 4])
    print(json.loads(data[p + 4:p + 4 + n])["id"])
    p += 4 + n
PY
}
stored_ids() { sqlite3 "$WORK/hub/hub.db" "SELECT id FROM messages" | sort; }

: >"$WORK/acked"
for round in 1 2; do
  "$MSGPREP" --key "$WORK/est-cert.key" --from EST/est-cert --record "$WORK/fin-record.json" \
    --root "$WORK/fin-root.key.pub" --to fin-a,fin-b,fin-c --count 20000 --threads 2 \
    --out "$WORK/bodies$round.bin" >/dev/null
  ids_of "$WORK/bodies$round.bin" >"$WORK/ids$round"
  "$LOADGEN" --url "$HUB/v1/messages" --method POST --key "$WORK/est-cert.key" \
    --bodies "$WORK/bodies$round.bin" --connections 32 --duration 6 --warmup 0 --timeout 3 \
    --ready "$WORK/ready$round" --ok-log "$WORK/ok$round" >"$WORK/load$round.json" 2>"$WORK/load$round.err" &
  LG=$!
  for _ in $(seq 1 100); do [ -e "$WORK/ready$round" ] && break; sleep 0.1; done
  sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.5 + 1.5 * rand() }')"
  kill -9 "$HUB_PID"
  wait "$HUB_PID" 2>/dev/null || true
  HUB_PID=
  wait "$LG" || true
  # line i of ok (0-based index) -> id
  awk 'NR == FNR { id[NR - 1] = $1; next } { print id[$1] }' "$WORK/ids$round" "$WORK/ok$round" >>"$WORK/acked"
  check "round $round: envelopes were answered 201 before the kill ($(wc -l <"$WORK/ok$round"))" \
    test -s "$WORK/ok$round"
  check "round $round: the kill came in the middle of the load (not every envelope was sent)" \
    test "$(wc -l <"$WORK/ok$round")" -lt 20000
  start_hub "$WORK/hub" --operator-key "$(pubkey op)" --max-conn-per-ip 64 --port "$PORT"
done

check "the store opens without repair" \
  sh -c "sqlite3 '$WORK/hub/hub.db' 'PRAGMA integrity_check' | grep -qx ok"
sort -u "$WORK/acked" >"$WORK/acked.sorted"
stored_ids >"$WORK/stored"
missing=$(comm -23 "$WORK/acked.sorted" "$WORK/stored" | wc -l)
check "every envelope answered 2xx ($(wc -l <"$WORK/acked.sorted")) is stored (missing: $missing)" \
  test "$missing" = 0
check "one of them, read by a recipient, opens intact" \
  as fin-b read "$(shuf -n 1 "$WORK/acked.sorted")"
check "the log is consistent with what a client saw" as est-cert log checkpoint
check "SIGTERM exits cleanly" stop_hub
finish
