#!/usr/bin/env bash
# Backup and restore on both stores, under writes, each restore checked with `parleyd
# check-log` against the last checkpoint the witnesses cosigned.
#   SQLite: `parleyd backup` (online backup API) while envelopes are being submitted;
#   PostgreSQL (a server this test starts, with WAL archiving): pg_basebackup while
#   envelopes are being submitted, then point-in-time recovery to the end of the archive.
# A restore of either from before the cosigned checkpoint is refused, and so are altered
# stores (an entry changed, an entry removed) and a checkpoint file without a valid
# cosignature. Every envelope answered 2xx before the backup (SQLite) or before the last
# archived WAL (PostgreSQL) is in the restored store, and a client that saw the cosigned
# checkpoint verifies the restored hub's grown log. The start-up check is automatic:
# parleyd refuses to start on a store older than the cosigned checkpoint it kept outside
# the store, or than the last checkpoint its signer signed; `parleyd restore` (SQLite)
# installs only a backup that passes it and check-log's full check (an altered entry is
# refused), refuses one shorter than the current store without --force, keeps the current
# store as STORE.pre-restore-TIME, and adds only the evidence files the checked copy
# names, regular files never through a link (a link to the hub's key is refused), none
# replaced. A FIFO as the kept checkpoint is refused at start, not hung on. An evidence package sent before the backup is
# fetched and verified from the restored hub on both stores (SQLite: its ciphertext is
# copied by `parleyd backup` and put back by `parleyd restore`). BACKUP_LOAD_S sets each load's length
# (default 2 s, 1 s under the sanitizers).
. "$(dirname "$0")/lib.sh"
: "${LOADGEN:?LOADGEN must point at the loadgen binary}"
: "${MSGPREP:?MSGPREP must point at the msgprep binary}"
: "${PARLEYD_SIGNER:?PARLEYD_SIGNER must point at the parleyd-signer binary}"
LOAD_S=${BACKUP_LOAD_S:-$([ "${PARLEY_TEST_SANITIZED:-0}" = 1 ] && echo 1 || echo 2)}
ORIGIN=test.parley.localhost

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-a"
for u in $USERS; do new_user "$u"; done
"$PARLEY" --config /dev/null witness init --name witness.a.example/w1 --out "$WORK/wa.key" >"$WORK/wa.vkey"
"$PARLEY" --config /dev/null witness init --name witness.b.example/w1 --out "$WORK/wb.key" >"$WORK/wb.vkey"
WA=$(cat "$WORK/wa.vkey")

# use_hub NAME: points every user and the witness at $HUB, with a state home per hub.
use_hub() {
  TAG=$1
  for u in $USERS; do
    mkdir -p "$WORK/home-$u-$1"
    printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$WORK/$u.key" "$WORK/home-$u-$1" >"$WORK/$u.conf"
  done
  mkdir -p "$WORK/home-wa-$1"
  printf 'hub = %s\nhome = %s\n' "$HUB" "$WORK/home-wa-$1" >"$WORK/wa.conf"
}
onboard() {
  for s in EST FIN; do
    as op admin state add --code "$s" --name "$s" --region eastern-european \
      --root-key "$WORK/${s,,}-root.key.pub" --fingerprint "$(fingerprint "${s,,}-root")" >/dev/null
  done
  for p in est:est-cert fin:fin-a; do
    local s=${p%%:*} id=${p#*:}
    as "$s-root" state init --state "${s^^}" --out "$WORK/$s-$TAG.json" >/dev/null
    as "$s-root" state poc add "$WORK/$s-$TAG.json" --id "$id" --name "Officer $id" --role technical \
      --email "$id@$s.test" --phone "+1 555 0100" --language en --poc-key "$WORK/$id.key" >/dev/null
    as "$s-root" state sign "$WORK/$s-$TAG.json" >/dev/null
    as "$s-root" state publish "$WORK/$s-$TAG.json" >/dev/null
  done
  as est-cert api GET /v1/states/FIN/record >"$WORK/fin-record.json"
}
republish() { # a directory write outside the loads
  as est-root state sign "$WORK/est-$TAG.json" >/dev/null && as est-root state publish "$WORK/est-$TAG.json" >/dev/null
}
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
# load TAG: sealed envelopes EST -> FIN for LOAD_S seconds in the background; returns once
# the load runs. finish_load TAG: waits; the ids answered 2xx go to $WORK/acked-TAG.
load() {
  "$MSGPREP" --key "$WORK/est-cert.key" --from EST/est-cert --record "$WORK/fin-record.json" \
    --root "$WORK/fin-root.key.pub" --to fin-a --count $((LOAD_S * 200)) --threads 2 \
    --out "$WORK/bodies-$1.bin" >/dev/null
  ids_of "$WORK/bodies-$1.bin" >"$WORK/ids-$1"
  "$LOADGEN" --url "$HUB/v1/messages" --method POST --key "$WORK/est-cert.key" \
    --bodies "$WORK/bodies-$1.bin" --connections 4 --duration "$LOAD_S" --warmup 0 --timeout 3 \
    --ready "$WORK/ready-$1" --ok-log "$WORK/ok-$1" >"$WORK/load-$1.json" 2>"$WORK/load-$1.err" &
  LG=$!
  for _ in $(seq 1 100); do [ -e "$WORK/ready-$1" ] && break; sleep 0.05; done
  sleep 0.3
}
finish_load() {
  wait "$LG" || true
  awk 'NR == FNR { id[NR - 1] = $1; next } { print id[$1] }' "$WORK/ids-$1" "$WORK/ok-$1" | sort -u >"$WORK/acked-$1"
}
# cosign NAME: the witness cosigns the hub's current checkpoint (after the log's last
# write is in one), which is kept off the hub as the operator would.
cosign() {
  local size
  for _ in $(seq 1 50); do
    size=$(curl -sf "$HUB/log/checkpoint" | sed -n 2p)
    [ "$size" = "$1" ] && break
    sleep 0.1
  done
  "$PARLEY" --config "$WORK/wa.conf" witness run --key "$WORK/wa.key" --once >"$WORK/wa.out" 2>&1 &&
    curl -sf "$HUB/log/checkpoint" >"$WORK/cosigned-$2" && grep -q "^— witness.a.example/w1 " "$WORK/cosigned-$2" &&
    [ "$(sed -n 2p "$WORK/cosigned-$2")" = "$1" ] || { echo "size $size, want $1"; cat "$WORK/wa.out"; return 1; }
}
# evidence_send TAG: EST sends FIN's POC one evidence package (two files); its id in EVID.
evidence_send() {
  head -c 1500000 /dev/urandom >"$WORK/ev-$1.bin"
  printf 'seized %s\n' "$1" >"$WORK/ev-$1.txt"
  as est-cert evidence send --to FIN:fin-a "$WORK/ev-$1.bin" "$WORK/ev-$1.txt" >"$WORK/evs-$1.out" 2>&1 &&
    EVID=$(sed -n 's/^sent evidence \([0-9a-f-]*\).*/\1/p' "$WORK/evs-$1.out") && [ -n "$EVID" ] ||
    { cat "$WORK/evs-$1.out"; return 1; }
}
# evidence_back TAG: the restored hub serves it: fetched (every chunk and file hash
# verified), the same bytes, and `parley evidence verify` finds the manifest in the log.
evidence_back() {
  local d=$WORK/evout-$1
  as fin-a evidence fetch "$EVID" --out "$d" >"$WORK/evf.out" 2>&1 && grep -q '^VERIFIED' "$WORK/evf.out" &&
    cmp "$WORK/ev-$1.bin" "$d/$EVID/ev-$1.bin" && cmp "$WORK/ev-$1.txt" "$d/$EVID/ev-$1.txt" &&
    as fin-a evidence verify "$EVID" "$d/$EVID" >>"$WORK/evf.out" 2>&1 || { cat "$WORK/evf.out"; return 1; }
}
# check_log STORE CHECKPOINT [args]: parleyd check-log with the hub's log key and witness A.
check_log() {
  local store=$1 cp=$2
  shift 2
  "$PARLEYD" check-log --store "$store" --checkpoint "$cp" --log-key "${CHECK_LOG_KEY:-$LOG_KEY}" \
    --witness-key "$WA" "$@"
}
# refused WANT COMMAND...: exits 1 and prints REFUSED and WANT.
refused() {
  local want=$1 rc=0
  shift
  "$@" >"$WORK/refused.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] && grep -q "^REFUSED: .*$want" "$WORK/refused.out" ||
    { echo "exit $rc, want 1 and 'REFUSED: ...$want':"; cat "$WORK/refused.out"; return 1; }
}
# all_in IDS COMMAND...: every id in the sorted file IDS is among the command's lines.
all_in() {
  local ids=$1 missing
  shift
  missing=$("$@" | sort | comm -23 "$ids" - | wc -l)
  [ "$missing" = 0 ] || { echo "$missing of $(wc -l <"$ids") answered 2xx are missing"; return 1; }
}
# consistent STORE CHECKPOINT SIZE: check-log passes, proving the first SIZE entries.
consistent() {
  check_log "$1" "$2" >"$WORK/cl.out" 2>&1 && grep -q "^LOG CONSISTENT: .* the first $3 give the root" "$WORK/cl.out" ||
    { cat "$WORK/cl.out"; return 1; }
}

# ================= SQLite: parleyd backup while the hub writes =================
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 --key-rate 0 \
  --max-conn-per-ip 64 --witness-key "$WA"
use_hub sq
onboard
LOG_KEY=$(curl -sf "$HUB/log/key")
DB=$WORK/hub/hub.db

load 1
check "backup 1 while envelopes are being submitted" \
  "$PARLEYD" backup --store "sqlite:$DB" --out "$WORK/b1.db"
finish_load 1
check "round 1: envelopes answered 2xx ($(wc -l <"$WORK/acked-1"))" test -s "$WORK/acked-1"
check "backup refuses to overwrite a file" expect_fail "refusing to overwrite" \
  "$PARLEYD" backup --store "sqlite:$DB" --out "$WORK/b1.db"
check "backup of a PostgreSQL URL points to pg_basebackup" expect_fail "pg_basebackup" \
  "$PARLEYD" backup --store "postgresql:///x" --out "$WORK/none.db"
republish
SIZE=$(sqlite3 "$DB" "SELECT count(*) FROM log_leaves")
check "witness A cosigns the checkpoint of the whole log ($SIZE entries)" cosign "$SIZE" sq
check "a client sees the cosigned checkpoint" as fin-a log checkpoint

check "an evidence package sent before backup 2" evidence_send sq
load 2
check "backup 2 while envelopes are being submitted" "$PARLEYD" backup --store "$DB" --out "$WORK/b2.db"
check "backup 2 holds the package's ciphertext (SQLite keeps it in the data folder)" \
  cmp "$WORK/hub/evidence/$EVID.ct" "$WORK/b2.db.evidence/$EVID.ct"
finish_load 2
check "backup 2 holds every envelope answered 2xx before it began (round 1)" \
  all_in "$WORK/acked-1" sqlite3 "$WORK/b2.db" "SELECT id FROM messages"
check "check-log: backup 2 extends the cosigned checkpoint" \
  consistent "sqlite:$WORK/b2.db" "$WORK/cosigned-sq" "$SIZE"
check "check-log refuses backup 1, from before the cosigned checkpoint" \
  refused "this backup is from before it" check_log "sqlite:$WORK/b1.db" "$WORK/cosigned-sq"
cp "$WORK/b2.db" "$WORK/t1.db"
sqlite3 "$WORK/t1.db" "UPDATE log_leaves SET entry = CAST(entry || 'x' AS BLOB) WHERE idx = 5"
check "check-log refuses a backup with an entry altered" \
  refused "entry 5: the stored leaf hash is not the hash" check_log "$WORK/t1.db" "$WORK/cosigned-sq"
cp "$WORK/b2.db" "$WORK/t2.db"
python3 - "$WORK/t2.db" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
e = b"event\n{\"event\":\"rewritten\"}"
db.execute("UPDATE log_leaves SET entry = ?, hash = ? WHERE idx = 3", (e, hashlib.sha256(b"\0" + e).digest()))
db.commit()
PY
check "check-log refuses a backup rewritten with matching leaf hashes (root differs)" \
  refused "do not give the root of the checkpoint the witnesses cosigned" check_log "$WORK/t2.db" "$WORK/cosigned-sq"
cp "$WORK/b2.db" "$WORK/t3.db"
sqlite3 "$WORK/t3.db" "DELETE FROM log_leaves WHERE idx = 2"
check "check-log refuses a log with a hole" refused "is missing: the restored log is not contiguous" \
  check_log "$WORK/t3.db" "$WORK/cosigned-sq"
python3 - "$WORK/cosigned-sq" "$WORK/badcosig" <<'PY'
import base64, sys
out = []
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    if line.startswith("\u2014 witness.a.example/w1 "):
        head, b = line.rsplit(" ", 1)
        raw = bytearray(base64.b64decode(b))
        raw[-1] ^= 1  # the last byte of the Ed25519 signature
        line = head + " " + base64.b64encode(bytes(raw)).decode()
    out.append(line)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out))
PY
check "check-log refuses a checkpoint file whose cosignature does not verify" \
  refused "valid cosignatures of 0 of the 1 witness keys" check_log "$WORK/b2.db" "$WORK/badcosig"
check "check-log refuses a checkpoint not cosigned by the required witnesses" \
  refused "valid cosignatures of 1 of the 2 witness keys, 2 required" \
  check_log "$WORK/b2.db" "$WORK/cosigned-sq" --witness-key "$(cat "$WORK/wb.vkey")" --witnesses-required 2
check "check-log names a missing store file" expect_fail "nope.db: No such file" \
  check_log "$WORK/nope.db" "$WORK/cosigned-sq"
check "and creates none" test ! -e "$WORK/nope.db"
LOG_KEY_SQ=$LOG_KEY

# Restore, checked automatically: parleyd keeps the newest cosigned checkpoint outside the
# store (DATA_DIR/cosigned-checkpoint.note, written when a witness's cosignature arrives);
# `parleyd restore` installs only a backup whose log extends it, and parleyd refuses to
# start on a store that does not.
KEPT=$WORK/hub/cosigned-checkpoint.note
check "parleyd kept the cosigned checkpoint ($SIZE entries) outside the store" \
  eval '[ "$(sed -n 2p "$KEPT")" = "$SIZE" ] && grep -q "^— witness.a.example/w1 " "$KEPT"'
HUB_ARGS=(--data-dir "$WORK/hub" --insecure-hub-key --origin "$ORIGIN" --witness-key "$WA")
check "parleyd restore refuses while parleyd runs on the store" expect_fail "in use: stop parleyd first" \
  "$PARLEYD" restore --from "$WORK/b2.db" "${HUB_ARGS[@]}"
stop_hub
LIVE_SUM=$(sqlite3 "$DB" "SELECT count(*), max(idx) FROM log_leaves")
check "parleyd restore refuses backup 1, from before the cosigned checkpoint" \
  refused "was not installed: the store's log has .* this hub signed a checkpoint of $SIZE (the checkpoint kept in $KEPT" \
  "$PARLEYD" restore --from "$WORK/b1.db" "${HUB_ARGS[@]}"
check "and leaves the store as it was" eval '[ "$(sqlite3 "$DB" "SELECT count(*), max(idx) FROM log_leaves")" = "$LIVE_SUM" ] && [ ! -e "$DB.restoring" ]'
check "parleyd restore rebuilds the whole log: it refuses a backup with an entry altered" \
  refused "was not installed: against the checkpoint kept in .*entry 5: the stored leaf hash is not the hash" \
  "$PARLEYD" restore --from "$WORK/t1.db" "${HUB_ARGS[@]}"
check "and leaves the store as it was" eval '[ "$(sqlite3 "$DB" "SELECT count(*), max(idx) FROM log_leaves")" = "$LIVE_SUM" ] && [ ! -e "$DB.restoring" ]'
# start_refused WANT [args]: parleyd exits non-zero at start, saying WANT and what to do.
start_refused() {
  local want=$1 rc=0
  shift
  timeout 20 "$PARLEYD" --port 0 "${HUB_ARGS[@]}" "$@" >"$WORK/sr.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] && grep -q "refusing to serve this store: .*$want" "$WORK/sr.out" &&
    grep -q "Restore a newer backup" "$WORK/sr.out" ||
    { echo "exit $rc, want 1 and '$want':"; cat "$WORK/sr.out"; return 1; }
}
rm -rf "$WORK/hub/evidence" # lost with the machine: it comes back from backup 2
cp "$WORK/b1.db" "$DB" # backup 1 put in place by hand, no check run
rm -f "$DB-wal" "$DB-shm"
check "parleyd refuses to start on backup 1, saying why and what to do" \
  start_refused "the store's log has [0-9]* entries, but this hub signed a checkpoint of $SIZE"
# A backup whose evidence folder holds links to the hub's key, under the id the copy
# names and under one it does not: not installed, and the key is copied nowhere.
B1_SUM=$(sqlite3 "$DB" "SELECT count(*), max(idx) FROM log_leaves")
cp "$WORK/b2.db" "$WORK/b3.db"
mkdir "$WORK/b3.db.evidence"
ln -s "$WORK/hub/hub.key" "$WORK/b3.db.evidence/$EVID.ct"
ln -s "$WORK/hub/hub.key" "$WORK/b3.db.evidence/00000000-0000-4000-8000-00000000dead.ct"
check "parleyd restore refuses a backup whose evidence file is a link (to the hub's key)" \
  refused "its evidence folder cannot be restored safely" "$PARLEYD" restore --from "$WORK/b3.db" "${HUB_ARGS[@]}"
key_nowhere() { # no file of the evidence folder holds the hub's key
  local f
  for f in "$WORK/hub/evidence"/*; do
    [ -e "$f" ] || continue
    ! cmp -s "$WORK/hub/hub.key" "$f" || { echo "$f is the hub's key"; return 1; }
  done
}
check "and copies the key nowhere, leaving the store as it was" eval \
  'key_nowhere && [ "$(sqlite3 "$DB" "SELECT count(*), max(idx) FROM log_leaves")" = "$B1_SUM" ]'
check "parleyd restore installs backup 2, which extends the cosigned checkpoint" \
  eval '"$PARLEYD" restore --from "$WORK/b2.db" "${HUB_ARGS[@]}" | grep -q "^restored .* extends the checkpoint kept in"'
rm -f "$WORK/hub/stdout" # start_hub reads the new address from it
# The restored hub signs through parleyd-signer from now on (its state starts empty).
SIG=$WORK/signer
mkdir -p "$SIG"
cp "$WORK/hub/hub.key" "$SIG/hub.key"
"$PARLEYD_SIGNER" -d "$SIG" --origin "$ORIGIN" --insecure-hub-key >"$SIG/stdout" 2>"$SIG/stderr" &
SIGNER_PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$SIG/stdout" 2>/dev/null && break; sleep 0.1; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 --key-rate 0 \
  --witness-key "$WA" --signer "$SIG/signer.sock"
use_hub sq
republish
sleep 1.2
check "the client that saw the cosigned checkpoint verifies the restored hub's log" as fin-a log checkpoint
check "the evidence package is fetched and verified from the restored hub" evidence_back sq
stop_hub
SIGNED=$(awk '{print $3}' "$SIG/signer-state")
check "the signer signed the restored hub's grown log ($SIGNED entries)" test "$SIGNED" -gt "$SIZE"
# Backup 2 in place again, the kept cosigned checkpoint moved aside: the signer's last
# checkpoint alone refuses it (backup 2 holds fewer entries than the signer signed).
GROWN_SUM=$(sqlite3 "$DB" "SELECT count(*), max(idx) FROM log_leaves")
check "parleyd restore refuses backup 2 over the longer store without --force" \
  refused "the current store's log has [0-9]* entries, the backup's only" \
  "$PARLEYD" restore --from "$WORK/b2.db" "${HUB_ARGS[@]}"
EV_INODE=$(stat -c %i "$WORK/hub/evidence/$EVID.ct")
check "parleyd restore --force installs it, keeping the evidence file already there" eval \
  '"$PARLEYD" restore --from "$WORK/b2.db" --force "${HUB_ARGS[@]}" >"$WORK/force.out" &&
   grep -q "the previous store kept as $DB.pre-restore-.*; 1 already there kept" "$WORK/force.out" &&
   [ "$(stat -c %i "$WORK/hub/evidence/$EVID.ct")" = "$EV_INODE" ] || { cat "$WORK/force.out"; false; }'
check "and keeps the previous store, its WAL folded in, as STORE.pre-restore-TIME" eval \
  'set -- "$DB".pre-restore-*; eval "last=\${$#}"; [ "$#" = 2 ] && [ ! -e "$last-wal" ] &&
   [ ! -e "$DB-wal" ] && [ "$(sqlite3 "$last" "SELECT count(*), max(idx) FROM log_leaves")" = "$GROWN_SUM" ] &&
   [ "$(sqlite3 "$DB" "SELECT count(*) FROM log_leaves")" = "$(sqlite3 "$WORK/b2.db" "SELECT count(*) FROM log_leaves")" ]'
rm -f "$DB-wal" "$DB-shm"
mv "$KEPT" "$KEPT.aside"
check "parleyd refuses to start below the last checkpoint the signer signed" \
  start_refused "this hub signed a checkpoint of $SIGNED (the last checkpoint parleyd-signer signed)" \
  --signer "$SIG/signer.sock"
kill -TERM "$SIGNER_PID"
wait "$SIGNER_PID" || true
# A FIFO as the kept checkpoint: refused at once, not a start that hangs on reading it.
mkfifo "$KEPT"
fifo_refused() {
  local rc=0
  timeout -k 2 10 "$PARLEYD" --port 0 "${HUB_ARGS[@]}" >"$WORK/sr.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] && grep -q "refusing to serve this store: the kept cosigned checkpoint .*: not a regular file" "$WORK/sr.out" ||
    { echo "exit $rc, want 1 and 'not a regular file':"; cat "$WORK/sr.out"; return 1; }
}
check "parleyd refuses a FIFO as the kept checkpoint at once (no hang)" fifo_refused
rm -f "$KEPT"

# ================= PostgreSQL: pg_basebackup, WAL archive, point-in-time recovery =================
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_DIR=$(mktemp -d /tmp/parley-pg.XXXXXX)
ARCH=$PG_DIR/archive
mkdir -p "$ARCH"
[ "$(id -u)" = 0 ] && chown -R postgres "$PG_DIR"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# fsync=off: what this test needs to survive the loss of the server is the base backup
# and the WAL archive (a copy each), not the server's own files; it saves seconds.
pg_start() { # DATADIR PORT [options]
  local d=$1 p=$2
  shift 2
  pg_as "$PG_BIN/pg_ctl" -D "$d" -l "$d.log" -w -t 30 -o "-k $PG_DIR -p $p -c listen_addresses='' -c fsync=off $*" start >/dev/null
}
pg_url() { echo "postgresql:///parley?host=$PG_DIR&port=$1&user=parley"; }
psql_at() { "$PG_BIN/psql" "$(pg_url "$1")" -XAtq -c "$2"; }
RESTORED=()
trap 'for d in "${RESTORED[@]}"; do pg_as "$PG_BIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true; done; cleanup' EXIT
P1=$(free_port)
pg_as "$PG_BIN/initdb" -N -D "$PG_DIR/data" -A trust -U parley >/dev/null
printf "wal_level = replica\narchive_mode = on\narchive_command = 'test ! -f %s/%%f && cp %%p %s/%%f'\n" \
  "$ARCH" "$ARCH" | pg_as tee -a "$PG_DIR/data/postgresql.conf" >/dev/null
pg_start "$PG_DIR/data" "$P1"
pg_as "$PG_BIN/createdb" -h "$PG_DIR" -p "$P1" -U parley parley
STORE_ARGS=(--store "$(pg_url "$P1")")
start_hub "$WORK/hub-pg" --operator-key "$(pubkey op)" --checkpoint-interval 1 --key-rate 0 \
  --max-conn-per-ip 64 --witness-key "$WA"
use_hub pg
onboard
LOG_KEY=$(curl -sf "$HUB/log/key")

load 3
check "pg_basebackup while envelopes are being submitted" \
  pg_as "$PG_BIN/pg_basebackup" -h "$PG_DIR" -p "$P1" -U parley -D "$PG_DIR/base" -X stream -c fast -N
finish_load 3
check "an evidence package sent after the base backup (it comes back through the WAL archive)" \
  evidence_send pg
psql_at "$P1" "SELECT pg_create_restore_point('before-cosign')" >/dev/null
republish
SIZE=$(psql_at "$P1" "SELECT count(*) FROM log_leaves")
check "witness A cosigns the checkpoint of the whole log ($SIZE entries)" cosign "$SIZE" pg
check "a client sees the cosigned checkpoint" as fin-a log checkpoint
load 4
finish_load 4
check "round 4: envelopes answered 2xx ($(wc -l <"$WORK/acked-4"))" test -s "$WORK/acked-4"
# Every commit so far into the archive, then the server is lost.
SEG=$(psql_at "$P1" "SELECT pg_walfile_name(pg_switch_wal())")
archived() { for _ in $(seq 1 100); do [ -e "$ARCH/$SEG" ] && return 0; sleep 0.1; done; return 1; }
check "the last WAL segment is archived" archived
stop_hub
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null

# restore NAME PORT [recovery settings...]: the base backup plus the archive, recovered
# (to the end of the archive unless a target is set) and promoted.
restore() {
  local d=$PG_DIR/$1 p=$2
  shift 2
  pg_as cp -a "$PG_DIR/base" "$d"
  {
    echo "restore_command = 'cp $ARCH/%f %p'"
    for s in "$@"; do echo "$s"; done
  } | pg_as tee -a "$d/postgresql.auto.conf" >/dev/null
  pg_as touch "$d/recovery.signal"
  RESTORED+=("$d")
  pg_start "$d" "$p" "-c archive_mode=off" || { tail -20 "$d.log"; return 1; }
  for _ in $(seq 1 100); do
    [ "$(psql_at "$p" "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && return 0
    sleep 0.1
  done
  tail -20 "$d.log"
  return 1
}
PA=$(free_port)
check "point-in-time recovery to the end of the archive" restore end "$PA"
sort -u "$WORK/acked-3" "$WORK/acked-4" >"$WORK/acked-pg"
check "every envelope answered 2xx is in the recovered store" \
  all_in "$WORK/acked-pg" psql_at "$PA" "SELECT id FROM messages"
check "check-log: the recovered store extends the cosigned checkpoint" \
  consistent "$(pg_url "$PA")" "$WORK/cosigned-pg" "$SIZE"
CHECK_LOG_KEY=$LOG_KEY_SQ check "check-log refuses the cosigned checkpoint under another hub's log key" \
  refused "not signed by the log key" check_log "$(pg_url "$PA")" "$WORK/cosigned-pg"
STORE_ARGS=(--store "$(pg_url "$PA")")
rm -f "$WORK/hub-pg/stdout"
start_hub "$WORK/hub-pg" --operator-key "$(pubkey op)" --checkpoint-interval 1 --key-rate 0 --witness-key "$WA"
use_hub pg
republish
sleep 1.2
check "the client that saw the cosigned checkpoint verifies the recovered hub's log" as fin-a log checkpoint
check "the evidence package is fetched and verified from the recovered hub" evidence_back pg
stop_hub
psql_at "$PA" "UPDATE log_leaves SET entry = entry || '\\x00'::bytea WHERE idx = 7" >/dev/null
check "check-log refuses the recovered store once an entry is altered" \
  refused "entry 7: the stored leaf hash is not the hash" check_log "$(pg_url "$PA")" "$WORK/cosigned-pg"

PB=$(free_port)
check "point-in-time recovery to a restore point before the cosigned checkpoint" \
  restore early "$PB" "recovery_target_name = 'before-cosign'" "recovery_target_action = 'promote'"
check "check-log refuses it: the witnesses saw more" \
  refused "this backup is from before it" check_log "$(pg_url "$PB")" "$WORK/cosigned-pg"
HUB_ARGS=(--data-dir "$WORK/hub-pg" --insecure-hub-key --origin "$ORIGIN" --witness-key "$WA" --store "$(pg_url "$PB")")
check "parleyd refuses to start on it, against the cosigned checkpoint it kept" \
  start_refused "the store's log has [0-9]* entries, but this hub signed a checkpoint of $SIZE (the checkpoint kept in $WORK/hub-pg/"
check "parleyd restore points PostgreSQL to its own recovery" expect_fail "only the SQLite store" \
  "$PARLEYD" restore --from "$WORK/b2.db" "${HUB_ARGS[@]}"
finish
