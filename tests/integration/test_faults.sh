#!/usr/bin/env bash
# Store failures, injected (after SQLite's own fault-injection testing): the real parleyd
# runs with its store wrapped by the fault injector (PARLEY_STORE_FAULTS, see
# src/lib/store/faults.h) under several settings (every Nth operation, begin or commit
# fails with HARD or RETRY), driven by the real parley: envelopes posted, receipts
# acknowledged, state records published, inboxes and the log read. Every answer must be
# a 2xx or a clean 5xx JSON error (code and hint; never a 4xx, a crash or a hang), and
# after a restart without faults everything answered 2xx must be there: each message,
# each receipt, each record version, with the log consistent for a client.
. "$(dirname "$0")/lib.sh"
: "${MSGPREP:?MSGPREP must point at the msgprep binary}"

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-a"
for u in $USERS; do new_user "$u"; done
HUBARGS=(--operator-key "$(pubkey op)" --checkpoint-interval 1)
start_hub "$WORK/hub" "${HUBARGS[@]}"
PORT=${HUB##*:}
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done
for s in EST FIN; do
  as op admin state add --code "$s" --name "$s" --region eastern-european \
    --root-key "$WORK/${s,,}-root.key.pub" --fingerprint "$(fingerprint "${s,,}-root")" >/dev/null
done
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
as est-root state poc add "$WORK/est.json" --id est-cert --name "Officer est-cert" --role technical \
  --email cert@est.test --phone "+1 555 0100" --language en --poc-key "$WORK/est-cert.key" >/dev/null
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
as fin-root state poc add "$WORK/fin.json" --id fin-a --name "Officer fin-a" --role technical \
  --email a@fin.test --phone "+1 555 0100" --language en --poc-key "$WORK/fin-a.key" >/dev/null
for s in est fin; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done

# Envelopes sealed beforehand by the benchmark's sealer (bench/msgprep.c), so that each
# post is exactly one request whose id is known.
# (start-up itself commits three times: the migrations, the start-up log check, the
# directory commitment; a hard fault among them stops parleyd, as it should)
PHASES=("call:23:hard" "call:7:retry" "commit:4:hard" "commit:2:retry"
  "call:17:hard,begin:11:retry,commit:5:hard")
PER_PHASE=8
as est-cert api GET /v1/states/FIN/record >"$WORK/fin-record.json"
"$MSGPREP" --key "$WORK/est-cert.key" --from EST/est-cert --record "$WORK/fin-record.json" \
  --root "$WORK/fin-root.key.pub" --to fin-a --count $((${#PHASES[@]} * PER_PHASE)) --threads 1 \
  --size 512 --out "$WORK/bodies.bin" >/dev/null
/usr/bin/python3 - "$WORK/bodies.bin" "$WORK" <<'PY'
import struct, sys
data, p, i = open(sys.argv[1], "rb").read(), 0, 0
while p < len(data):
    (n,) = struct.unpack(">I", data[p:p + 4])
    i += 1
    open("%s/env%d.json" % (sys.argv[2], i), "wb").write(data[p + 4:p + 4 + n])
    p += 4 + n
PY
env_id() { sed 's/.*"id":"\([0-9a-f-]*\)".*/\1/' "$WORK/env$1.json"; }
stop_hub

# attempt NAME USER ARGS...: runs parley as USER with a time limit. Exit 0: answered 2xx.
# Otherwise the hub must have answered 5xx with a JSON code (the client prints
# "the hub refused (STATUS CODE)"), and no 4xx: else BAD grows.
OKS=0
FIVES=0
BAD=0
attempt() {
  local what=$1 who=$2 rc=0
  shift 2
  timeout 30 "$PARLEY" --config "$WORK/$who.conf" "$@" >"$WORK/at.out" 2>&1 || rc=$?
  { echo "== $what: exit $rc"; cat "$WORK/at.out"; } >>"$WORK/answers.log"
  if [ $rc = 0 ]; then
    OKS=$((OKS + 1))
    return 0
  fi
  if [ $rc = 124 ]; then
    echo "    $what: no answer within 30 s (hang)"
    BAD=$((BAD + 1))
  elif grep -q 'the hub refused (4[0-9][0-9]' "$WORK/at.out" ||
    ! grep -q 'the hub refused (5[0-9][0-9] [A-Z_]*)' "$WORK/at.out"; then
    echo "    $what: not a clean 5xx JSON error:"
    sed 's/^/      /' "$WORK/at.out" | head -5
    BAD=$((BAD + 1))
  else
    FIVES=$((FIVES + 1))
    sed -n 's/.*the hub refused (\(5[0-9][0-9] [A-Z_]*\)).*/\1/p' "$WORK/at.out" >>"$WORK/codes"
  fi
  return 1
}

# json_error_ok: the body of a refused `parley api` call is a JSON error with a code and
# a hint.
json_error_ok() {
  /usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        v = json.loads(line)
        assert v.get("code") and v.get("hint"), v
        sys.exit(0)
sys.exit(1)' "$WORK/at.out"
}

: >"$WORK/acked-messages"
: >"$WORK/acked-receipts"
: >"$WORK/acked-records"
n=0
for spec in "${PHASES[@]}"; do
  OKS=0 FIVES=0 BAD=0
  : >"$WORK/codes"
  if [ "$spec" = "${PHASES[-1]}" ]; then # the last one by the store URL, the others by env
    start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT" --store "faults:$spec+sqlite:$WORK/hub/hub.db"
  else
    PARLEY_STORE_FAULTS=$spec start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
  fi
  sent=()
  # A client may post again after a 5xx: that must not be refused as a replay, since a
  # 5xx means nothing was kept (attempt counts any 4xx as bad).
  for _ in $(seq 1 $PER_PHASE); do
    n=$((n + 1))
    id=$(env_id $n)
    for _ in 1 2 3; do
      if attempt "post envelope $n" est-cert api POST /v1/messages --data "$WORK/env$n.json"; then
        echo "$id" >>"$WORK/acked-messages"
        sent+=("$id")
        break
      elif ! json_error_ok; then
        echo "    post envelope $n: the error body is not JSON with code and hint"
        BAD=$((BAD + 1))
      fi
    done
    attempt "inbox" fin-a api GET /v1/inbox || true
  done
  # parley ack reads the message and checks the log around its one write: many requests,
  # so under hard faults most acks fail somewhere (cleanly); under RETRY faults they pass.
  for id in "${sent[@]}"; do
    if attempt "ack $id" fin-a ack "$id"; then echo "$id" >>"$WORK/acked-receipts"; fi
  done
  for _ in 1 2 3; do
    as fin-root state sign "$WORK/fin.json" >"$WORK/sign.out"
    v=$(sed -n 's/.*version \([0-9]*\)$/\1/p' "$WORK/sign.out")
    if attempt "publish FIN v$v" fin-root state publish "$WORK/fin.json"; then
      echo "FIN $v" >>"$WORK/acked-records"
    fi
  done
  attempt "log checkpoint" est-cert log checkpoint || true
  injected=$(grep -c 'event=store.fault_injected' "$WORK/hub/stderr" || true)
  check "[$spec] every answer is 2xx or a clean 5xx JSON error ($OKS 2xx, $FIVES 5xx)" test "$BAD" = 0
  check "[$spec] faults were injected ($injected)" test "$injected" -gt 0
  check "[$spec] some requests still succeed" test "$OKS" -gt 0
  if [ "${spec//hard/}" != "$spec" ]; then
    check "[$spec] some requests answered 5xx" test "$FIVES" -gt 0
  else
    # A RETRY is the runner's to absorb: it reruns the transaction, or gives up with 503
    # STORE_RETRY; it never becomes a hard failure.
    check "[$spec] retried failures never answer 500 ($(sort "$WORK/codes" | uniq -c | tr -s ' \n' ' '))" \
      sh -c "! grep -v '^503 STORE_RETRY$' '$WORK/codes'"
  fi
  check "[$spec] parleyd is still running" kill -0 "$HUB_PID"
  check "[$spec] SIGTERM exits cleanly" stop_hub
  cp "$WORK/hub/stderr" "$WORK/hub-stderr.$n" # kept for a failure's diagnosis
done

# Restart without faults: everything acknowledged is there.
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "$PORT"
check "the store is intact" sh -c "sqlite3 '$WORK/hub/hub.db' 'PRAGMA integrity_check' | grep -qx ok"
sqlite3 "$WORK/hub/hub.db" "SELECT id FROM messages" | sort >"$WORK/stored-messages"
sqlite3 "$WORK/hub/hub.db" "SELECT message_id FROM acks WHERE state = 'FIN' AND poc = 'fin-a'" |
  sort >"$WORK/stored-receipts"
sqlite3 "$WORK/hub/hub.db" "SELECT state || ' ' || version FROM state_records" | sort >"$WORK/stored-records"
for what in messages receipts records; do
  sort -u "$WORK/acked-$what" >"$WORK/acked-$what.sorted"
  missing=$(comm -23 "$WORK/acked-$what.sorted" "$WORK/stored-$what" | wc -l)
  check "every $what answered 2xx ($(wc -l <"$WORK/acked-$what.sorted")) is stored (missing: $missing)" \
    test "$missing" = 0 -a -s "$WORK/acked-$what.sorted"
done
check "each acknowledged message reads back through the hub, verified and decrypted" \
  sh -c "for id in \$(cat '$WORK/acked-messages.sorted'); do $PARLEY --config '$WORK/fin-a.conf' read \$id >/dev/null || exit 1; done"
check "each acknowledged record version is served" \
  sh -c "while read s v; do $PARLEY --config '$WORK/est-cert.conf' api GET /v1/states/\$s/records/\$v >/dev/null || exit 1; done <'$WORK/acked-records.sorted'"
check "the log is consistent with what a client saw" as est-cert log checkpoint
check "SIGTERM exits cleanly" stop_hub
finish
