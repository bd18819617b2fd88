#!/usr/bin/env bash
# The hub key in its own process: parleyd --signer never opens the key file; the signer
# signs checkpoints only as proven extensions of the last one it signed, so neither a
# rolled-back store nor a client of its socket forging requests gets a fork signed.
. "$(dirname "$0")/lib.sh"
: "${PARLEYD_SIGNER:?PARLEYD_SIGNER must point at the parleyd-signer binary}"

SIGNER_PID=
stop_signer() { # the signer's exit status
  local rc=0
  if [ -n "$SIGNER_PID" ] && kill -0 "$SIGNER_PID" 2>/dev/null; then
    kill -TERM "$SIGNER_PID"
    wait "$SIGNER_PID" || rc=$?
  fi
  SIGNER_PID=
  return $rc
}
trap 'stop_signer || true; cleanup' EXIT

S=$WORK/signer
mkdir -p "$S"
"$PARLEYD_SIGNER" -d "$S" --origin test.parley.localhost --insecure-hub-key >"$S/stdout" 2>"$S/stderr" &
SIGNER_PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$S/stdout" 2>/dev/null && break; sleep 0.1; done
SOCK=$S/signer.sock
check "the signer listens on a socket only its user may open (0600)" \
  sh -c "[ -S '$SOCK' ] && [ \$(stat -c %a '$SOCK') = 600 ]"

# parleyd is given a key path that does not exist: without --signer it would create a
# key there. With strace (when installed) every file it opens is listed as well.
ABSENT=$WORK/no-such-dir/hub.key
HUB=http://placeholder
for u in op est-root est-cert; do new_user "$u"; done
PD=$PARLEYD
if command -v strace >/dev/null; then
  cat >"$WORK/traced-parleyd" <<EOF
#!/bin/sh
# LeakSanitizer cannot run under ptrace: leaks are checked in the other runs.
ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0" exec strace -f -qq -e trace=%file -o "$WORK/parleyd.trace" "$PD" "\$@"
EOF
  chmod +x "$WORK/traced-parleyd"
  PARLEYD=$WORK/traced-parleyd
fi
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 \
  --signer "$SOCK" --hub-key "$ABSENT"
# Under strace, HUB_PID is strace's: the signal goes to parleyd, its child.
TRACED_PID=
if [ "$PARLEYD" != "$PD" ]; then TRACED_PID=$(pgrep -P "$HUB_PID" | head -1); fi
PARLEYD=$PD
stop_hub() {
  local rc=0
  kill -TERM "${TRACED_PID:-$HUB_PID}"
  wait "$HUB_PID" || rc=$?
  HUB_PID=
  TRACED_PID=
  return $rc
}
for u in op est-root est-cert; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

check "parleyd with --signer starts without the key file and creates none" \
  sh -c "[ ! -e '$ABSENT' ] && [ ! -e '$WORK/hub/hub.key' ] && curl -sf $HUB/healthz >/dev/null"
SIGNER_PK=$("$PARLEY" --config /dev/null --json key show "$S/hub.key" | sed 's/.*"sign_pk":"\([^"]*\)".*/\1/')
check "the hub's log key is the signer's key" python3 - "$(curl -sf "$HUB/log/key")" "$SIGNER_PK" <<'PY'
import base64, sys
vkey, pk = sys.argv[1].strip(), sys.argv[2]
raw = base64.b64decode(vkey.split("+", 2)[2])
assert raw[0] == 1 and raw[1:] == base64.urlsafe_b64decode(pk + "=" * (-len(pk) % 4)), vkey
PY

as op admin state add --code EST --name Estonia --region eastern-european \
  --root-key "$WORK/est-root.key.pub" --fingerprint "$(fingerprint est-root)" >/dev/null
R=$WORK/est.json
as est-root state init --state EST --out "$R" >/dev/null
as est-root state poc add "$R" --id est-cert --name "Kati Kask" --role technical \
  --email duty@cert.ee.example --phone "+372 600 0000" --language et --poc-key "$WORK/est-cert.key" >/dev/null
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
check "a checkpoint signed by the signer verifies for a client" \
  sh -c "$PARLEY --config $WORK/est-cert.conf log checkpoint | grep -q 'VERIFIED checkpoint of test.parley.localhost: 4 entries'"
check "the record is proven in the log" \
  sh -c "$PARLEY --config $WORK/est-cert.conf verify record EST | grep -q 'VERIFIED: record EST version 1'"
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
sleep 1.5
check "a grown log is signed with the signer's consistency check" \
  sh -c "$PARLEY --config $WORK/est-cert.conf log checkpoint | grep -q ': 6 entries'"
check "the signer keeps the last checkpoint it signed (size 6)" \
  sh -c "grep -q '^parley-signer-state v1 6 ' '$S/signer-state'"

if [ -s "$WORK/parleyd.trace" ]; then
  check "strace: parleyd never touched the key path" sh -c "! grep -q 'no-such-dir' '$WORK/parleyd.trace' && grep -q 'hub.db' '$WORK/parleyd.trace'"
else
  echo "# strace not installed: the file trace is skipped"
fi

# A client of the socket (a compromised parleyd) forging requests.
check "forged requests are refused, each with its reason" python3 - "$SOCK" "$S/signer-state" <<'PY'
import base64, json, socket, struct, sys
sock, state = sys.argv[1], sys.argv[2]
def ask(obj, raw=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    data = raw if raw is not None else json.dumps(obj).encode()
    s.sendall(struct.pack(">I", len(data)) + data)
    buf = b""
    while True:
        c = s.recv(65536)
        if not c: break
        buf += c
    s.close()
    return json.loads(buf[4:]) if buf else None
info = ask({"op": "info"})
assert info["ok"] and info["size"] == 6, info
other = base64.b64encode(b"\x01" * 32).decode()
def cp(size, root=other, ext=""):
    return "test.parley.localhost\n%d\n%s\n%s" % (size, root, ext)
cases = [
    ("same size, another root", {"op": "checkpoint", "text": cp(6), "proof": []}, "a fork"),
    ("larger, no proof", {"op": "checkpoint", "text": cp(9), "proof": []}, "not a proven extension"),
    ("larger, bogus proof", {"op": "checkpoint", "text": cp(9), "proof": ["00" * 32] * 3}, "not a proven extension"),
    ("smaller", {"op": "checkpoint", "text": cp(3), "proof": []}, "rolled-back"),
    ("another origin", {"op": "checkpoint", "text": "evil.example\n7\n%s\n" % other, "proof": []}, "not this signer"),
    ("a statement of another purpose", {"op": "statement", "purpose": "checkpoint", "object": {"a": 1}}, "purpose"),
    ("an unknown op", {"op": "sign_raw", "msg": "x"}, "unknown op"),
]
for what, req, want in cases:
    a = ask(req)
    assert a and not a["ok"] and a["code"] == "SIGNER_REFUSED" and want in a["detail"], (what, a)
assert ask(None, raw=b"not json")["code"] == "SIGNER_REFUSED"
s = socket.socket(socket.AF_UNIX); s.connect(sock); s.sendall(struct.pack(">I", 1 << 30)); s.close()
assert ask({"op": "info"})["size"] == 6  # still serving, state unchanged
assert open(state).read().startswith("parley-signer-state v1 6 ")
PY

# The operator rolls the store back (drops the last two entries and the checkpoints): the
# in-process hub would sign a checkpoint of the shorter log at start (test_tlog.sh shows
# the fork a client then detects); with the signer, parleyd compares the store with the
# signer's last checkpoint at start (log_guard.c) and stops before asking for any
# signature (the signer's own refusal of a rolled-back checkpoint: the forged requests above).
check "SIGTERM" stop_hub
sqlite3 "$WORK/hub/hub.db" "DELETE FROM log_leaves WHERE idx >= 4; DELETE FROM checkpoints; \
  DELETE FROM state_records WHERE version = 2; UPDATE states SET current_version = 1;"
REFUSALS=$(grep -c 'event=signer.refused' "$S/stderr" || true)
check "a hub on a rolled-back store gets no checkpoint signed and does not start" \
  expect_fail "the store's log has 4 entries, but this hub signed a checkpoint of 6 (the last checkpoint parleyd-signer signed)" \
  timeout 30 "$PARLEYD" --port 0 --data-dir "$WORK/hub" --origin test.parley.localhost \
  --signer "$SOCK" --operator-key "$(pubkey op)"
check "it asked the signer for no signature" test "$(grep -c 'event=signer.refused' "$S/stderr" || true)" = "$REFUSALS"
check "the signer's last checkpoint is unchanged" grep -q '^parley-signer-state v1 6 ' "$S/signer-state"

# The hub key in process, the store rolled back under the running hub (as a PostgreSQL
# store restored or failed over beneath it would be): its start-up check has run, yet it
# signs no checkpoint of the shorter log (smaller than the one it signed: a fork).
H4=$WORK/hub4
start_hub "$H4" --operator-key "$(pubkey op)" --checkpoint-interval 1
for u in op est-root; do
  mkdir -p "$WORK/home4-$u"
  sed -i -e "s|^hub = .*|hub = $HUB|" -e "s|^home = .*|home = $WORK/home4-$u|" "$WORK/$u.conf"
done
as op admin state add --code EST --name Estonia --region eastern-european \
  --root-key "$WORK/est-root.key.pub" --fingerprint "$(fingerprint est-root)" >/dev/null
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >/dev/null
sleep 1.5
check "the in-process hub signed a checkpoint of its grown log (6 entries)" \
  test "$(sqlite3 "$H4/hub.db" "SELECT max(size) FROM checkpoints")" = 6
sqlite3 "$H4/hub.db" "DELETE FROM log_leaves WHERE idx >= 4; DELETE FROM checkpoints; \
  DELETE FROM state_records WHERE version >= 4; UPDATE states SET current_version = 3;"
as est-root state sign "$R" >/dev/null
as est-root state publish "$R" >"$WORK/pub4.out" 2>&1 || true # a directory change: a checkpoint at once
sleep 1.5
check "rolled back under it, it signs no checkpoint of the shorter log" \
  test "$(sqlite3 "$H4/hub.db" "SELECT count(*) FROM checkpoints")" = 0
check "and logs the refusal as checkpoint.fork_refused, counted as a refusal" sh -c \
  "grep -q 'event=checkpoint.fork_refused size=4 last_size=6' '$H4/stderr' &&
   curl -sf '$HUB/metrics' | grep -q '^parley_signer_failures_total{reason=\"refused\"} [1-9]'"
kill -TERM "$HUB_PID"
wait "$HUB_PID" || true
HUB_PID=

check "parleyd without a reachable signer does not start" \
  expect_fail "SIGNER_UNAVAILABLE" "$PARLEYD" --port 0 --data-dir "$WORK/hub2" \
  --origin test.parley.localhost --signer "$WORK/no-such.sock"
check "the signer exits cleanly on SIGTERM" stop_signer
check "  and removes its socket" test ! -e "$SOCK"
check "no sanitizer report in the signer's stderr" sh -c "! grep -q 'Sanitizer\|runtime error:' '$S/stderr'"

# make install: the programs, units and samples land in the prefix.
check "cmake --install puts parleyd, parleyd-signer, parley and the units in a prefix" sh -c "
  cmake --install '$(dirname "$PARLEYD")' --prefix '$WORK/prefix' >/dev/null &&
  for f in bin/parleyd bin/parleyd-signer bin/parley lib/systemd/system/parleyd.service \
           lib/systemd/system/parleyd-signer.service share/parley/parley.conf \
           share/parley/parley-alerts.yml share/parley/operations.md; do
    [ -e '$WORK/prefix/'\$f ] || { echo missing \$f; exit 1; }; done &&
  '$WORK/prefix/bin/parleyd-signer' --help | grep -q passphrase-file"
finish
