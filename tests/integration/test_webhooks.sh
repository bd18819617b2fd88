#!/usr/bin/env bash
# Webhooks and alerts under abuse, through the real parleyd and parley:
# 1. no request forgery: webhook URLs with user information or http to another host are
#    refused when the record is published; destinations that are (or resolve to)
#    loopback, private or link-local addresses are refused before any connection,
#    logged and counted, unless the operator allows them;
# 2. one state's webhook that never answers (a tarpit) does not hold up another state's
#    critical e-mail alert or webhook; what a full queue drops is counted in /metrics.
. "$(dirname "$0")/lib.sh"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A real SMTP server on loopback (Debian's python3-aiosmtpd) that keeps every mail.
SMTP_PORT=$(free_port)
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$WORK/mail" \
  >"$WORK/smtp.log" 2>&1 &
PIDS="$!"
trap 'kill $PIDS 2>/dev/null; cleanup' EXIT

# A TCP listener that records every connection (one line each) and then either closes
# it or, as a tarpit, holds it open without ever answering.
cat >"$WORK/listen.py" <<'PY'
import socket, sys, threading, time
host, port, log, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port)); s.listen(64)
held = []
while True:
    c, a = s.accept()
    with open(log, "a") as f: f.write("%s %.3f\n" % (a[0], time.time()))
    if mode == "tarpit": held.append(c)
    else:
        c.settimeout(0.5)
        try: c.recv(4096)
        except Exception: pass
        c.close()
PY
listen() { # HOST PORT LOGNAME MODE
  /usr/bin/python3 "$WORK/listen.py" "$1" "$2" "$WORK/$3" "$4" &
  PIDS="$PIDS $!"
}
# A well-behaved webhook receiver: one line per POST body.
cat >"$WORK/hook.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "a") as f: f.write(body.decode() + "\n")
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY

LPORT=$(free_port)   # "internal service" on 127.0.0.1 and ::1: must never be contacted
LPORT6=$(free_port)
UPORT=$(free_port)   # the host hidden behind "http://127.0.0.1:@127.0.0.2:PORT/"
listen 127.0.0.1 "$LPORT" internal.log close
listen ::1 "$LPORT6" internal6.log close
listen 127.0.0.2 "$UPORT" userinfo.log close
touch "$WORK/internal.log" "$WORK/internal6.log" "$WORK/userinfo.log"

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-cert fin-tar lva-root lva-cert lva-hook"
for i in 1 2 3 4 5 6 7 8 9; do USERS="$USERS fin-p$i"; done
for u in $USERS; do new_user "$u"; done
HUBARGS=(--operator-key "$(pubkey op)" --smtp-url "smtp://127.0.0.1:$SMTP_PORT"
  --smtp-from hub@parley.test --checkpoint-interval 1)
start_hub "$WORK/hub" "${HUBARGS[@]}"
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

onboard() { # CODE NAME REGION
  as op admin state add --code "$1" --name "$2" --region "$3" \
    --root-key "$WORK/${1,,}-root.key.pub" --fingerprint "$(fingerprint "${1,,}-root")" >/dev/null
}
onboard EST Estonia eastern-european
onboard FIN Finland western-european-and-others
onboard LVA Latvia eastern-european
poc() { # RECORD ID EMAIL KEY [WEBHOOK]
  as "${1%%.*}-root" state poc add "$WORK/$1" --id "$2" --name "Officer $2" --role technical \
    --email "$3" --phone "+1 555 0100" --language en --poc-key "$WORK/$4.key" ${5:+--webhook "$5"} >/dev/null
}
publish() { as "${1%%.*}-root" state sign --no-check "$WORK/$1" >/dev/null && as "${1%%.*}-root" state publish "$WORK/$1"; }
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
poc est.json est-cert cert@est.test est-cert
as lva-root state init --state LVA --out "$WORK/lva.json" >/dev/null
poc lva.json lva-cert cert@lva.test lva-cert
for s in est lva; do publish $s.json >/dev/null; done
metric() { # NAME CHANNEL
  curl -s "$HUB/metrics" | sed -n "s/^$1{channel=\"$2\"} //p"
}

# --- 1. request forgery ----------------------------------------------------------
# Refused when published: the record is signed without the client's own check, so
# that the hub's check is what is tested.
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
poc fin.json fin-cert cert@fin.test fin-cert
cp "$WORK/fin.json" "$WORK/fin-base.json"
for url in "http://127.0.0.1:@127.0.0.2:$UPORT/hook" "https://user:pw@hooks.example.org/" \
  "http://hooks.example.org/parley" "http://10.0.0.1:8080/" "https:///hooks.example.org/" \
  "https://hooks.example.org:99999/"; do
  # a version above any earlier attempt's, so that each attempt is judged on its webhook
  VERSION=$((${VERSION:-0} + 1))
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); r["version"] = int(sys.argv[2]); json.dump(r, open(sys.argv[3], "w"))' \
    "$WORK/fin-base.json" "$VERSION" "$WORK/fin.json"
  poc fin.json fin-p1 p1@fin.test fin-p1 "$url"
  if publish fin.json >"$WORK/publish.out" 2>&1; then
    not_ok "publish refuses webhook $url: accepted"
    # and a message to the POC makes the hub post to the webhook
    as est-cert send --kind ping --to FIN:fin-p1 --field challenge=x >/dev/null 2>&1 || true
  else
    check "publish refuses webhook $url" grep -q RECORD_INVALID "$WORK/publish.out"
  fi
done

# Syntactically fine, but the destinations are this machine, private or link-local:
# refused before any connection, each logged and counted.
FORMS=("https://127.0.0.1:$LPORT/hook" "https://10.0.0.1/hook"
  "https://169.254.169.254/latest/meta-data/" "https://[::1]:$LPORT6/hook"
  "https://[::ffff:127.0.0.1]:$LPORT/hook" "https://2130706433:$LPORT/hook"
  "https://localhost:$LPORT/hook" "http://127.0.0.1:$LPORT/hook" "https://0.0.0.0:$LPORT/hook")
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); r["version"] = int(sys.argv[2]); json.dump(r, open(sys.argv[3], "w"))' \
  "$WORK/fin-base.json" "$((VERSION + 1))" "$WORK/fin.json"
TO=()
for i in "${!FORMS[@]}"; do
  n=$((i + 1))
  poc fin.json "fin-p$n" "p$n@fin.test" "fin-p$n" "${FORMS[$i]}"
  TO+=(--to "FIN:fin-p$n")
done
check "a record with those webhooks is published (syntax is fine)" publish fin.json
check "EST writes to the nine POCs" as est-cert send --kind ping "${TO[@]}" --priority urgent \
  --field challenge=ssrf
for _ in $(seq 1 50); do
  [ "$(metric parley_notify_refused_total webhook)" = "${#FORMS[@]}" ] && break
  sleep 0.1
done
check "each of the ${#FORMS[@]} destinations is refused and counted in /metrics" \
  test "$(metric parley_notify_refused_total webhook)" = "${#FORMS[@]}"
check "  and logged" test "$(grep -c 'notify.webhook_refused' "$WORK/hub/stderr")" -ge "${#FORMS[@]}"
check "  and no webhook was sent" test "$(metric parley_notify_sent_total webhook)" = 0
sleep 1
check "no connection reached the loopback service (IPv4)" test ! -s "$WORK/internal.log"
check "no connection reached the loopback service (IPv6)" test ! -s "$WORK/internal6.log"
check "no connection reached the host behind the user information" test ! -s "$WORK/userinfo.log"
check "the e-mail alerts of those POCs were still sent" \
  sh -c "grep -l 'To: p9@fin.test' '$WORK'/mail/new/* >/dev/null"
stop_hub

# --- 2. one state's tarpit does not hold up another state's alerts ----------------
# The operator allows http to loopback (the receivers here are local); queues are small
# so that drops are seen.
TARPORT=$(free_port)
HOOKPORT=$(free_port)
listen 127.0.0.1 "$TARPORT" tarpit.log tarpit
/usr/bin/python3 "$WORK/hook.py" "$HOOKPORT" "$WORK/hooks.log" &
PIDS="$PIDS $!"
start_hub "$WORK/hub" "${HUBARGS[@]}" --port "${HUB##*:}" --webhook-allow-loopback-http \
  --webhook-queue 3
touch "$WORK/tarpit.log"
poc fin.json fin-tar tar@fin.test fin-tar "http://127.0.0.1:$TARPORT/hook"
check "FIN publishes a POC whose webhook never answers" publish fin.json
poc lva.json lva-hook hook@lva.test lva-hook "http://127.0.0.1:$HOOKPORT/hook"
check "LVA publishes a POC with a working webhook" publish lva.json
for i in 1 2 3 4 5 6 7 8; do
  as est-cert send --kind ping --to FIN:fin-tar --priority routine --field challenge="tar$i" >/dev/null
done
sleep 0.5
check "the tarpit holds a connection" test -s "$WORK/tarpit.log"
t0=$(date +%s.%N)
check "EST sends a critical message to LVA" as est-cert send --kind ping --to LVA:lva-cert \
  --to LVA:lva-hook --priority critical --field challenge=urgent-one
mail_at= hook_at=
for _ in $(seq 1 300); do
  now=$(date +%s.%N)
  if [ -z "$mail_at" ] && grep -l 'To: cert@lva.test' "$WORK"/mail/new/* 2>/dev/null |
    xargs -r grep -l 'Subject: \[Parley\] critical' >/dev/null 2>&1; then mail_at=$now; fi
  if [ -z "$hook_at" ] && grep -q '"priority":"critical"' "$WORK/hooks.log" 2>/dev/null; then hook_at=$now; fi
  [ -n "$mail_at" ] && [ -n "$hook_at" ] && break
  sleep 0.1
done
elapsed() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) - $t0) if sys.argv[1] else 'never')" "$1"; }
MAIL_S=$(elapsed "$mail_at")
HOOK_S=$(elapsed "$hook_at")
echo "# critical e-mail alert after ${MAIL_S} s, webhook after ${HOOK_S} s (tarpit busy)"
check "the critical e-mail alert arrives within 5 s despite the tarpit" \
  python3 -c "import sys; sys.exit(0 if sys.argv[1] != 'never' and float(sys.argv[1]) < 5 else 1)" "$MAIL_S"
check "the other state's webhook gets its alert within 5 s" \
  python3 -c "import sys; sys.exit(0 if sys.argv[1] != 'never' and float(sys.argv[1]) < 5 else 1)" "$HOOK_S"
check "alerts beyond the tarpit's queue are dropped and counted in /metrics" \
  test "$(metric parley_notify_dropped_total webhook)" -ge 1
check "  and logged" grep -q 'notify.dropped.*reason=queue_full' "$WORK/hub/stderr"
check "the tarpit's failures are logged" sh -c "sleep 6; grep -q 'notify.webhook_failed.*127.0.0.1:$TARPORT' '$WORK/hub/stderr'"
check "the tarpit is contacted one attempt at a time, each after the last timed out" \
  python3 - "$WORK/tarpit.log" <<'PY'
import sys
t = [float(l.split()[1]) for l in open(sys.argv[1])]
gaps = [b - a for a, b in zip(t, t[1:])]
assert t and min(gaps, default=99) >= 4.5, gaps  # --webhook-timeout 5, then back-off
PY
t0=$(date +%s)
check "the hub stops promptly with the tarpit still holding" stop_hub
check "  (within 10 s)" test $(($(date +%s) - t0)) -le 10
finish
