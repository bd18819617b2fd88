#!/usr/bin/env bash
# parleyd behind real nginx with TLS, configured with the shipped sample
# (packaging/nginx/parley.conf) templated only for its ports, certificate paths and the
# IPv6 listen line (dropped where the machine has no IPv6): a self-signed certificate
# made here by openssl; parleyd --public-url https://localhost:PORT. Through nginx,
# `parley` (its CA file option) onboards two states, sends and reads a message; `parley
# inbox --follow` gets a message as it is sent (the event stream is not held by the
# proxy); an evidence package uploads (tus) and downloads (Range requests), each resumed
# after its client was killed mid-transfer; a captured signed request replayed through
# nginx is refused. Without the CA file, the self-signed certificate is refused.
. "$(dirname "$0")/lib.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx missing: apt-get install nginx-light (make deps does)" >&2; exit 1; }
SRC=${PARLEY_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
export PARLEY_PROGRESS_MS=100
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- nginx with the sample configuration -----------------------------------------------
NG=$WORK/nginx
mkdir -p "$NG/body" "$NG/proxy"
chmod 711 "$WORK" "$NG"
chmod 777 "$NG/body" "$NG/proxy" # workers run as nobody when started as root
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost" -keyout "$NG/key.pem" -out "$NG/cert.pem" 2>/dev/null
HUB_PORT=$(free_port)
TLS_PORT=$(free_port)
PUBLIC=https://localhost:$TLS_PORT
# Only ports and paths change (and the IPv6 listen line goes if there is no IPv6).
sed -e "s/10\.0\.0\.1[12]:8080/127.0.0.1:$HUB_PORT/" \
  -e "s/listen 443 /listen 127.0.0.1:$TLS_PORT /" \
  -e "s/listen \[::\]:443 /listen [::1]:$TLS_PORT /" \
  -e "s|/etc/letsencrypt/live/parley.example.org/fullchain.pem|$NG/cert.pem|" \
  -e "s|/etc/letsencrypt/live/parley.example.org/privkey.pem|$NG/key.pem|" \
  "$SRC/packaging/nginx/parley.conf" >"$NG/parley.conf"
grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null || # ::1
  sed -i '/listen \[::1\]/d' "$NG/parley.conf"
check "the sample is used as shipped but for ports and certificate paths" sh -c "
  diff '$SRC/packaging/nginx/parley.conf' '$NG/parley.conf' | grep '^[<>]' |
    grep -v -e 'server 10.0.0.1[12]:8080' -e 'server 127.0.0.1:$HUB_PORT' -e 'listen ' -e 'ssl_certificate' | grep . && exit 1 || exit 0"
ngconf() { # $1 = 1 to set every temp path (needs the fastcgi/uwsgi/scgi modules)
  cat <<EOF
daemon off;
master_process on;
worker_processes 2;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 256; }
http {
  access_log $NG/access.log;
  client_body_temp_path $NG/body;
  proxy_temp_path $NG/proxy;
$([ "$1" = 1 ] && printf '  fastcgi_temp_path %s/fastcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n' "$NG" "$NG" "$NG")
  include $NG/parley.conf;
}
EOF
}
ngconf 1 >"$NG/nginx.conf"
"$NGINX" -t -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" >/dev/null 2>&1 || ngconf 0 >"$NG/nginx.conf"
check "nginx accepts the sample configuration" "$NGINX" -t -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log"
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" >"$NG/stdout" 2>&1 &
NGINX_PID=$!
BG=()
stop_all() {
  for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  kill -TERM "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  cleanup
}
trap stop_all EXIT

HUB=$PUBLIC
USERS="op est-root est-cert fin-root fin-a"
for u in $USERS; do
  new_user "$u"
  printf 'ca_file = %s\n' "$NG/cert.pem" >>"$WORK/$u.conf"
done
start_hub "$WORK/hub" --port "$HUB_PORT" --public-url "$PUBLIC" --operator-key "$(pubkey op)" \
  --checkpoint-interval 1
HUB=$PUBLIC # what start_hub read is the public URL: clients use it
up() { curl -sf -o /dev/null --cacert "$NG/cert.pem" "$HUB/healthz"; }
for _ in $(seq 1 50); do up && break; sleep 0.1; done
check "nginx answers over TLS and passes requests to parleyd" up
check "without the CA file the self-signed certificate is refused" expect_fail "certificate" \
  "$PARLEY" --config /dev/null --hub "$HUB" api GET /healthz --unsigned
check "with --ca-file it is accepted" "$PARLEY" --config /dev/null --hub "$HUB" --ca-file "$NG/cert.pem" \
  api GET /healthz --unsigned

# --- two states onboarded, a message sent and read, all through nginx -----------------------
for s in EST FIN; do
  check "the operator adds $s (signed requests through nginx)" as op admin state add --code "$s" \
    --name "$s" --region eastern-european --root-key "$WORK/${s,,}-root.key.pub" \
    --fingerprint "$(fingerprint "${s,,}-root")"
done
for p in est:est-cert fin:fin-a; do
  s=${p%%:*} id=${p#*:}
  as "$s-root" state init --state "${s^^}" --out "$WORK/$s.json" >/dev/null
  as "$s-root" state poc add "$WORK/$s.json" --id "$id" --name "Officer $id" --role technical \
    --email "$id@$s.test" --phone "+1 555 0100" --language en --poc-key "$WORK/$id.key" >/dev/null
  as "$s-root" state sign "$WORK/$s.json" >/dev/null
  check "${s^^} publishes its record" as "$s-root" state publish "$WORK/$s.json"
done
send() { # SUMMARY: EST sends FIN:technical a notification; prints its id
  as est-cert send --kind notification --to FIN:technical --priority routine --tlp GREEN \
    --field incident_class=intrusions --field summary="$1" --field affected_sectors=energy \
    --field indicators=198.51.100.7 --field first_seen=2026-11-20 >"$WORK/send.out" 2>&1 ||
    { cat "$WORK/send.out" >&2; return 1; }
  sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/send.out"
}
M1=$(send first-through-nginx)
check "EST sends a message through nginx" test -n "$M1"
check "FIN reads it (verified, decrypted) and acknowledges it" sh -c \
  "$PARLEY --config $WORK/fin-a.conf read $M1 | grep -q first-through-nginx && $PARLEY --config $WORK/fin-a.conf ack $M1"
check "a client verifies the log's checkpoint through nginx" as fin-a log checkpoint

# --- the event stream is not held by the proxy ------------------------------------------
wait_for() { # FILE PATTERN [SECONDS]
  local secs=${3:-10}
  for _ in $(seq 1 $((secs * 10))); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no line matching '$2' in $1 within $secs s:"
  head -c 2000 "$1"
  return 1
}
"$PARLEY" --config "$WORK/fin-a.conf" inbox --follow >"$WORK/follow.out" 2>"$WORK/follow.err" &
FOLLOW=$!
BG+=("$FOLLOW")
check "parley inbox --follow through nginx lists the inbox" wait_for "$WORK/follow.out" "$M1"
sleep 0.5 # the stream is open and idle
T0=$(date +%s%N)
M2=$(send live-through-nginx)
check "  and prints a message sent meanwhile, while the stream stays open" wait_for "$WORK/follow.out" "$M2" 5
echo "# the event arrived $((($(date +%s%N) - T0) / 1000000)) ms after the send began"
check "  (the stream did not end: no reconnection)" sh -c "kill -0 $FOLLOW && ! grep -q reconnecting '$WORK/follow.err'"
kill -INT "$FOLLOW" 2>/dev/null || true
wait "$FOLLOW" 2>/dev/null || true

# --- evidence: tus upload and Range download, each resumed after a kill ---------------------
head -c $((16 * 1048576)) /dev/urandom >"$WORK/disk.img"
"$PARLEY" --config "$WORK/est-cert.conf" evidence send --to FIN:fin-a "$WORK/disk.img" \
  >"$WORK/up.out" 2>"$WORK/up.err" &
UP=$!
BG+=("$UP")
# kill -9 once some bytes are uploaded (the progress line every 100 ms)
for _ in $(seq 1 300); do grep -q 'what=upload bytes=[1-9]' "$WORK/up.err" 2>/dev/null && break; sleep 0.02; done
kill -9 "$UP" 2>/dev/null || true
wait "$UP" 2>/dev/null || true
EVID=$(sed -n 's/^evidence \([0-9a-f-]*\) created.*/\1/p' "$WORK/up.err")
OFFSET=$(as est-cert api GET "/v1/evidence/$EVID" 2>/dev/null | python3 -c '
import json, sys
e = json.load(sys.stdin)
print(e.get("upload_offset", e.get("offset", "?")), e.get("status"))' || echo "? ?")
check "the sender was killed mid-upload (offset and status: $OFFSET)" \
  sh -c "set -- $OFFSET; [ \"\$1\" -gt 0 ] && [ \"\$2\" = uploading ]"
check "a sender killed mid-upload resumes through nginx (tus offset), then the package is available" sh -c \
  "$PARLEY --config $WORK/est-cert.conf evidence send --resume $EVID >$WORK/up2.out 2>$WORK/up2.err &&
   $PARLEY --config $WORK/fin-a.conf evidence list | grep '$EVID' | grep -q available"
"$PARLEY" --config "$WORK/fin-a.conf" evidence fetch "$EVID" --out "$WORK/out" \
  --limit-rate $((4 * 1048576)) >/dev/null 2>"$WORK/down.err" &
DOWN=$!
BG+=("$DOWN")
for _ in $(seq 1 300); do
  [ "$(grep 'what=download' "$WORK/down.err" 2>/dev/null | tail -1 | sed 's/.*bytes=\([0-9]*\).*/\1/')" \
    -gt $((4 * 1048576)) ] 2>/dev/null && break
  sleep 0.05
done
kill -9 "$DOWN" 2>/dev/null || true
wait "$DOWN" 2>/dev/null || true
check "a fetch killed mid-download resumes through nginx (Range) after the chunks it verified" sh -c \
  "$PARLEY --config $WORK/fin-a.conf evidence fetch $EVID --out $WORK/out >$WORK/down2.out 2>$WORK/down2.err &&
   grep -q 'resuming at chunk [1-9]' $WORK/down2.err && grep -q '^VERIFIED' $WORK/down2.out" 
check "  the plaintext is the sender's" cmp "$WORK/disk.img" "$WORK/out/$EVID/disk.img"
check "  parley evidence verify finds the manifest in the log" as fin-a evidence verify "$EVID" "$WORK/out/$EVID"
check "  nginx streamed the ciphertext both ways, spooling none of it to its disk" \
  sh -c "! grep 'buffered to a temporary file' '$NG/error.log'"

# --- a captured signed request, replayed through nginx ------------------------------------
H=()
while IFS= read -r line; do H+=(-H "$line"); done < <(as fin-a api GET /v1/whoami --headers-only)
first=$(curl -s -o "$WORK/r1" -w '%{http_code}' --cacert "$NG/cert.pem" "${H[@]}" "$HUB/v1/whoami")
check "a request signed for $PUBLIC is served through nginx" test "$first" = 200
replay=$(curl -s -o "$WORK/r2" -w '%{http_code}' --cacert "$NG/cert.pem" "${H[@]}" "$HUB/v1/whoami")
check "  and replayed, refused: 401 AUTH_REPLAY" sh -c "[ '$replay' = 401 ] && grep -q AUTH_REPLAY '$WORK/r2'"
stop_hub

# --public-url must be what clients use: a hub that believes it is http:// refuses them all.
start_hub "$WORK/hub" --port "$HUB_PORT" --public-url "http://localhost:$TLS_PORT" \
  --operator-key "$(pubkey op)"
HUB=$PUBLIC
check "a hub whose --public-url is not the URL clients use refuses their signatures" \
  expect_fail "401" as fin-a api GET /v1/whoami
stop_hub
finish
