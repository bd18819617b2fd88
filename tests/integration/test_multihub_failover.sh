#!/usr/bin/env bash
# Failover: parleyd on a PostgreSQL primary with a synchronous streaming standby, both
# started by this test, the store URL naming both hosts (target_session_attrs=
# read-write). The primary is killed under load (immediate shutdown: no checkpoint, no
# goodbye) and the standby promoted: every write answered 2xx is on the new primary,
# parleyd goes on without a restart, the log stays one sequence and a client that saw
# the log before the failover verifies the log after it. FAILOVER_LOAD_S sets the load's
# length (default 3 s, 2 s under the sanitizers).
. "$(dirname "$0")/lib.sh"
: "${LOADGEN:?LOADGEN must point at the loadgen binary}"
: "${MSGPREP:?MSGPREP must point at the msgprep binary}"
LOAD_S=${FAILOVER_LOAD_S:-$([ "${PARLEY_TEST_SANITIZED:-0}" = 1 ] && echo 2 || echo 3)}

start_postgres
P1=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$PG_URL")
P2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SB=$PG_DIR/standby
stop_standby() { pg_as "$PG_BIN/pg_ctl" -D "$SB" -m immediate stop >/dev/null 2>&1 || true; }
trap 'stop_standby; cleanup' EXIT
psql_at() { "$PG_BIN/psql" "postgresql:///parley?host=$PG_DIR&port=$1&user=parley" -XAtq -c "$2"; }

pg_as "$PG_BIN/pg_basebackup" -h "$PG_DIR" -p "$P1" -U parley -D "$SB" -X stream -c fast >/dev/null
touch "$SB/standby.signal"
[ "$(id -u)" = 0 ] && chown postgres "$SB/standby.signal"
pg_as "$PG_BIN/pg_ctl" -D "$SB" -l "$PG_DIR/standby.log" -w -o "-k $PG_DIR -p $P2 \
  -c listen_addresses='' -c fsync=on -c hot_standby=on \
  -c primary_conninfo='host=$PG_DIR port=$P1 user=parley application_name=standby1'" \
  start >/dev/null
psql_at "$P1" "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" >/dev/null
psql_at "$P1" "SELECT pg_reload_conf()" >/dev/null
sync_state() { psql_at "$P1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'"; }
for _ in $(seq 1 100); do [ "$(sync_state)" = sync ] && break; sleep 0.1; done
check "the standby streams synchronously" test "$(sync_state)" = sync

# The hub names both servers; libpq connects to whichever accepts writes.
STORE="postgresql:///parley?host=$PG_DIR,$PG_DIR&port=$P1,$P2&user=parley&target_session_attrs=read-write"
STORE_ARGS=(--store "$STORE")
HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-a"
for u in $USERS; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --max-conn-per-ip 64 --key-rate 0 --checkpoint-interval 1 \
  --scheduler-tick-ms 200
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done
for s in EST FIN; do
  as op admin state add --code "$s" --name "$s" --region eastern-european \
    --root-key "$WORK/${s,,}-root.key.pub" --fingerprint "$(fingerprint "${s,,}-root")" >/dev/null
done
poc() { # STATE ID
  as "$1-root" state init --state "${1^^}" --out "$WORK/$1.json" >/dev/null
  as "$1-root" state poc add "$WORK/$1.json" --id "$2" --name "Officer $2" --role technical \
    --email "$2@$1.test" --phone "+1 555 0100" --language en --poc-key "$WORK/$2.key" >/dev/null
  as "$1-root" state sign "$WORK/$1.json" >/dev/null
  as "$1-root" state publish "$WORK/$1.json" >/dev/null
}
poc est est-cert
poc fin fin-a
as est-cert api GET /v1/states/FIN/record >"$WORK/fin-record.json"
check "a client pins the log before the failover" as fin-a log checkpoint

"$MSGPREP" --key "$WORK/est-cert.key" --from EST/est-cert --record "$WORK/fin-record.json" \
  --root "$WORK/fin-root.key.pub" --to fin-a --count $((LOAD_S * 800)) --threads 2 \
  --out "$WORK/bodies.bin" >/dev/null
python3 - "$WORK/bodies.bin" >"$WORK/ids" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
p = 0
while p < len(data):
    (n,) = struct.unpack(">I", data[p:p + 4])
    print(json.loads(data[p + 4:p + 4 + n])["id"])
    p += 4 + n
PY
"$LOADGEN" --url "$HUB/v1/messages" --method POST --key "$WORK/est-cert.key" \
  --bodies "$WORK/bodies.bin" --connections 16 --rate 300 --duration $((LOAD_S * 2)) --warmup 0 --timeout 5 \
  --ready "$WORK/ready" --ok-log "$WORK/ok" >"$WORK/load.json" 2>"$WORK/load.err" &
LG=$!
for _ in $(seq 1 100); do [ -e "$WORK/ready" ] && break; sleep 0.1; done
sleep "$LOAD_S"
BEFORE=$(psql_at "$P1" "SELECT count(*) FROM messages")
KILLED_AT=$(date +%s)
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null
T0=$EPOCHREALTIME
pg_as "$PG_BIN/pg_ctl" -D "$SB" -w promote >/dev/null
echo "# the standby was promoted $(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after the primary died"
check "the standby is promoted" sh -c "[ \"\$($PG_BIN/psql 'postgresql:///parley?host=$PG_DIR&port=$P2&user=parley' -XAtq -c 'SELECT pg_is_in_recovery()')\" = f ]"
wait "$LG" || true
awk 'NR == FNR { id[NR - 1] = $1; next } { print id[$1] }' "$WORK/ids" "$WORK/ok" | sort -u >"$WORK/acked"
check "the load was writing when the primary died ($BEFORE messages)" test "$BEFORE" -gt 0
AFTER=$(psql_at "$P2" "SELECT count(*) FROM messages WHERE received > $KILLED_AT")
check "parleyd wrote to the new primary after it, without a restart ($AFTER messages)" \
  test "$AFTER" -gt 0
psql_at "$P2" "SELECT id FROM messages" | sort >"$WORK/stored"
MISSING=$(comm -23 "$WORK/acked" "$WORK/stored" | wc -l)
check "every write answered 2xx ($(wc -l <"$WORK/acked")) is on the new primary (missing: $MISSING)" \
  test "$MISSING" = 0
check "one log: indices contiguous" test "$(psql_at "$P2" "SELECT count(*) = coalesce(max(idx) + 1, 0) FROM log_leaves")" = t
as est-root state sign "$WORK/est.json" >/dev/null
check "a record published after the failover is answered" as est-root state publish "$WORK/est.json"
sleep 1.2
check "the client that saw the log before verifies it after (no fork)" as fin-a log checkpoint
check "a message written before the failover opens intact" as fin-a read "$(head -1 "$WORK/acked")"
check "SIGTERM exits cleanly" stop_hub
finish
