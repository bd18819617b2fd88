#!/usr/bin/env bash
# make soak: steady mixed load on a real parleyd for SOAK_SECONDS (default 180), by
# several concurrent real clients (directory reads, messages sent, read, acknowledged,
# log checks, public endpoints). parleyd's resident memory is sampled; after a warm-up
# it must not keep growing. Bounded in time; traffic to 127.0.0.1 only.
. "$(dirname "$0")/../integration/lib.sh"
SOAK_SECONDS=${SOAK_SECONDS:-180}

HUB=http://placeholder
for u in op est-root est-cert fin-root fin-ncsc; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --scheduler-tick-ms 200 --checkpoint-interval 1
for u in op est-root est-cert fin-root fin-ncsc; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done
for s in EST:Estonia:eastern-european FIN:Finland:western-european-and-others; do
  IFS=: read -r code name region <<<"$s"
  as op admin state add --code "$code" --name "$name" --region "$region" \
    --root-key "$WORK/${code,,}-root.key.pub" --fingerprint "$(fingerprint "${code,,}-root")" >/dev/null
done
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
as est-root state poc add "$WORK/est.json" --id est-cert --name A --role technical --email a@e.test \
  --phone "+1 555" --language en --poc-key "$WORK/est-cert.key" >/dev/null
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
as fin-root state poc add "$WORK/fin.json" --id fin-ncsc --name B --role technical --email b@f.test \
  --phone "+1 555" --language en --poc-key "$WORK/fin-ncsc.key" >/dev/null
for s in est fin; do as $s-root state sign "$WORK/$s.json" >/dev/null; as $s-root state publish "$WORK/$s.json" >/dev/null; done

rss() { awk '/^VmRSS/ {print $2}' "/proc/$HUB_PID/status"; }
END=$((SECONDS + SOAK_SECONDS))
client() { # a mixed workload, until END
  local n=0
  while [ $SECONDS -lt $END ]; do
    n=$((n + 1))
    out=$(as est-cert send --kind notification --to FIN:technical --field incident_class=test \
      --field summary="soak $1-$n" --field affected_sectors=none --field indicators=none \
      --field first_seen=2026-11-20 2>&1) || echo "send failed: $out" >>"$WORK/errors"
    id=$(echo "$out" | sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p')
    [ -n "$id" ] && echo "$id" >>"$WORK/sent"
    [ -n "$id" ] && { as fin-ncsc read "$id" >/dev/null 2>&1 || echo "read failed $id" >>"$WORK/errors"; }
    [ -n "$id" ] && { as fin-ncsc ack "$id" >/dev/null 2>&1 || echo "ack failed $id" >>"$WORK/errors"; }
    as fin-ncsc directory search --role technical >/dev/null 2>&1 || echo "search failed" >>"$WORK/errors"
    as est-cert inbox --sent >/dev/null 2>&1 || echo "outbox failed" >>"$WORK/errors"
    curl -sf "$HUB/metrics" >/dev/null && curl -sf "$HUB/" >/dev/null || echo "public failed" >>"$WORK/errors"
  done
}
: >"$WORK/errors"
: >"$WORK/sent"
# FIN's officer follows its inbox by push (Server-Sent Events) the whole time.
"$PARLEY" --config "$WORK/fin-ncsc.conf" --json inbox --follow >"$WORK/follow.out" \
  2>"$WORK/follow.err" &
FOLLOW=$!
CLIENTS=()
for c in 1 2 3; do
  client "$c" &
  CLIENTS+=($!)
done
samples=()
while [ $SECONDS -lt $END ]; do
  sleep 10
  samples+=("$(rss)")
  echo "rss ${samples[-1]} kB" >&2
done
wait "${CLIENTS[@]}"
for _ in $(seq 1 50); do # the last events may still be on their way
  sed -n 's/^{"id":"\([0-9a-f-]*\)".*/\1/p' "$WORK/follow.out" | sort -u >"$WORK/pushed"
  missed=$(sort -u "$WORK/sent" | comm -23 - "$WORK/pushed" | wc -l)
  [ "$missed" = 0 ] && break
  sleep 0.2
done
kill -TERM "$FOLLOW" 2>/dev/null || true
wait "$FOLLOW" 2>/dev/null || true
n=${#samples[@]}
check "the soak ran with samples ($n)" test "$n" -ge 4
warm=${samples[$((n / 3))]}
last=${samples[$((n - 1))]}
check "no client request failed" test ! -s "$WORK/errors"
check "memory stopped growing after warm-up ($warm kB -> $last kB, limit +25% + 4 MB)" \
  test "$last" -le $((warm * 125 / 100 + 4096))
check "every message sent ($(wc -l <"$WORK/sent")) was pushed to the follower (missed: $missed)" \
  test "$missed" = 0 -a -s "$WORK/sent"
check "the log is still consistent for a client" as est-cert log checkpoint
check "SIGTERM exits cleanly" stop_hub
finish
