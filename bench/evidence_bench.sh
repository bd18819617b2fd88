#!/usr/bin/env bash
# Evidence packages (issue 16), run by make bench: upload and download throughput of one
# package through a real parleyd (SQLite store, loopback) with the real parley, as ratios
# to references measured in the same run on the same disk:
#   - nginx (Debian's, started here on 127.0.0.1 with its own config in the work dir)
#     taking the same ciphertext bytes as a PUT (dav module) and serving them from a file;
#   - the disk's sequential write rate (dd conv=fdatasync, as many bytes);
# and the client's CPU cost per GiB of verifying and decrypting (and of sealing), from
# bench/evidence_crypto.c without disk or network.
#   ./bench/evidence_bench.sh BUILD_DIR
# BENCH_EVIDENCE_MIB sets the package size (default 1024). Writes a Markdown section on
# stdout, or with OUT=FILE puts it in FILE between <!-- evidence-bench --> and
# <!-- /evidence-bench -->. Needs 3 x the size free under TMPDIR.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
MIB=${BENCH_EVIDENCE_MIB:-1024}
export PARLEYD=$BUILD/parleyd PARLEY=$BUILD/parley PARLEY_SRC=$ROOT
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx missing: apt-get install nginx-light (make deps does)" >&2; exit 1; }
. "$ROOT/tests/integration/lib.sh" >/dev/null
log() { echo "evidence-bench: $*" >&2; }
ms() { echo $(($(date +%s%N) / 1000000)); }

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the client's crypto, per GiB ------------------------------------------------------
# shellcheck disable=SC2046
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
  -I "$ROOT/include" -o "$WORK/evidence_crypto" "$ROOT/bench/evidence_crypto.c" \
  "$BUILD/libparley.a" $(pkg-config --cflags --libs libsodium jansson sqlite3) \
  $(pkg-config --libs libpq 2>/dev/null || echo -lpq) -lpthread -lm
CRYPTO=$("$WORK/evidence_crypto" "$MIB")
log "crypto: $CRYPTO"

# --- a hub, two states, one POC each ---------------------------------------------------
HUB=http://placeholder
for u in op est-root est-cert fin-root fin-cert; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 \
  --key-rate 10000000 --key-burst 10000000 --key-nonces 100000000 \
  --state-bytes-per-day 1125899906842624
for u in op est-root est-cert fin-root fin-cert; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done
for s in EST:Estonia:eastern-european FIN:Finland:western-european-and-others; do
  IFS=: read -r code name region <<<"$s"
  lc=${code,,}
  as op admin state add --code "$code" --name "$name" --region "$region" \
    --root-key "$WORK/$lc-root.key.pub" --fingerprint "$(fingerprint "$lc-root")" >/dev/null
  as "$lc-root" state init --state "$code" --out "$WORK/$lc.json" >/dev/null
  as "$lc-root" state poc add "$WORK/$lc.json" --id "$lc-cert" --name "Officer $lc" \
    --role technical --email "$lc@test" --phone "+1 555 0100" --language en \
    --poc-key "$WORK/$lc-cert.key" >/dev/null
  as "$lc-root" state sign "$WORK/$lc.json" >/dev/null
  as "$lc-root" state publish "$WORK/$lc.json" >/dev/null
done

# --- the disk's sequential write rate, as many bytes -----------------------------------
t=$(ms)
dd if=/dev/zero of="$WORK/dd.bin" bs=1M count="$MIB" conv=fdatasync status=none
DD_MS=$(($(ms) - t))
rm -f "$WORK/dd.bin"
log "dd: $MIB MiB in $DD_MS ms"

# --- parleyd: send and fetch with the real parley ------------------------------------
mkdir -p "$WORK/in"
head -c "$((MIB * 1048576))" /dev/urandom >"$WORK/in/package.bin"
export PARLEY_PROGRESS_MS=3600000 # only the final progress line of each phase
t=$(ms)
as est-cert evidence send --to FIN:fin-cert "$WORK/in/package.bin" >"$WORK/send.out" 2>"$WORK/send.err"
SEND_MS=$(($(ms) - t))
ID=$(sed -n 's/^sent evidence \([0-9a-f-]*\).*/\1/p' "$WORK/send.out")
t=$(ms)
as fin-cert evidence fetch "$ID" --out "$WORK/out" >"$WORK/fetch.out" 2>"$WORK/fetch.err"
FETCH_MS=$(($(ms) - t))
cmp -s "$WORK/in/package.bin" "$WORK/out/$ID/package.bin" || { log "the fetched plaintext differs"; exit 1; }
rm -f "$WORK/out/$ID/package.bin"
rate_of() { sed -n "s/^progress what=$1 .* rate=\([0-9]*\).*/\1/p" "$2" | tail -1; }
UP_RATE=$(rate_of upload "$WORK/send.err")
SEAL_RATE=$(rate_of seal "$WORK/send.err")
DOWN_RATE=$(rate_of download "$WORK/fetch.err")
CT=$WORK/hub/evidence/$ID.ct
CT_BYTES=$(stat -c %s "$CT")
log "parleyd: send $SEND_MS ms (upload phase $UP_RATE B/s), fetch $FETCH_MS ms"

# --- nginx: the same ciphertext bytes up (PUT) and down (GET from a file) ---------------
NG=$WORK/nginx
mkdir -p "$NG/body" "$WORK/www/up"
ln "$CT" "$WORK/www/package.ct"
rm -f "$WORK/in/package.bin"
chmod 711 "$WORK" "$WORK/hub" "$WORK/hub/evidence"
chmod a+r "$CT"
chmod 777 "$NG/body" "$WORK/www/up" # workers run as nobody when started as root
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ngconf() { # $1 = 1 to set every temp path (needs the fastcgi/uwsgi/scgi modules)
  cat <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $NG/body;
$([ "$1" = 1 ] && printf '  proxy_temp_path %s/proxy;\n  fastcgi_temp_path %s/fastcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n' "$NG" "$NG" "$NG" "$NG")
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    location /up/ { dav_methods PUT; client_max_body_size 0; }
  }
}
EOF
}
ngconf 1 >"$NG/nginx.conf"
"$NGINX" -t -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" >/dev/null 2>&1 || ngconf 0 >"$NG/nginx.conf"
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" >"$NG/stdout" 2>&1 &
NGINX_PID=$!
stop_nginx() { kill -TERM "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true; }
trap 'stop_nginx; cleanup' EXIT
NGX=http://127.0.0.1:$NGINX_PORT
for _ in $(seq 1 50); do curl -s -o /dev/null "$NGX/" && break; sleep 0.1; done
t=$(ms)
curl -sf -T "$WORK/www/package.ct" "$NGX/up/package.ct"
NGX_UP_MS=$(($(ms) - t))
rm -f "$WORK/www/up/package.ct"
t=$(ms)
curl -sf -o "$WORK/ngx-down.bin" "$NGX/package.ct" && sync -d "$WORK/ngx-down.bin"
NGX_DOWN_MS=$(($(ms) - t))
cmp -s "$CT" "$WORK/ngx-down.bin" || { log "nginx served other bytes"; exit 1; }
rm -f "$WORK/ngx-down.bin"
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')
stop_nginx
log "nginx: PUT $NGX_UP_MS ms, GET $NGX_DOWN_MS ms"

section=$(python3 - "$MIB" "$CT_BYTES" "$DD_MS" "$SEND_MS" "$FETCH_MS" "$UP_RATE" "$SEAL_RATE" \
  "$DOWN_RATE" "$NGX_UP_MS" "$NGX_DOWN_MS" "$CRYPTO" "$NGINX_VERSION" "$(nproc)" "$LOAD" <<'PY'
import json, sys
mib, ct, dd, send, fetch, up, seal, down, nup, ndown = (int(x or 0) for x in sys.argv[1:11])
crypto, ngv, cores, load = json.loads(sys.argv[11]), sys.argv[12], sys.argv[13], sys.argv[14]
M = 1048576
pt = mib * M
def r(b, ms): return b / (ms / 1000) / M  # MiB/s
disk = r(pt, dd)
send_r, fetch_r, ngx_up, ngx_down = r(pt, send), r(pt, fetch), r(ct, nup), r(ct, ndown)
up_r, down_r = up / M, down / M
c = crypto
print(f"""
## Evidence packages: upload and download against nginx and the disk (issue 16)

Command: `BENCH_EVIDENCE_MIB={mib} ./bench/evidence_bench.sh build` (part of `make bench`,
which uses 1024 MiB). One package of {mib} MiB of random bytes ({ct:,} bytes of
ciphertext), EST to FIN, through parleyd (SQLite store, every 1 MiB chunk fdatasync'ed
before its offset commits) on 127.0.0.1 with the real `parley`. References in the same
run on the same disk: its sequential write rate (`dd bs=1M conv=fdatasync`), and nginx
{ngv} taking the same ciphertext bytes as one PUT (dav module; nginx does not fsync, so
it can beat the disk) and serving them from the file (GET into a file, then `sync -d`).
{cores} cores shared with other work: load average {load} when the run started. MiB/s of
plaintext for parley, of ciphertext for nginx.

| figure | MiB/s | / nginx | / disk write |
|---|---|---|---|
| disk sequential write (dd, fdatasync) | {disk:.0f} | | 1.00 |
| nginx PUT of the ciphertext | {ngx_up:.0f} | 1.00 | {ngx_up / disk:.2f} |
| nginx GET of the ciphertext into a file | {ngx_down:.0f} | 1.00 | {ngx_down / disk:.2f} |
| `parley evidence send`, whole command (seal pass + upload) | {send_r:.0f} | {send_r / ngx_up:.2f} | {send_r / disk:.2f} |
| its upload phase (tus PATCHes, 1 MiB each, sealed again on the fly) | {up_r:.0f} | {up_r / ngx_up:.2f} | {up_r / disk:.2f} |
| its first pass (read, seal, hash; no network) | {seal / M:.0f} | | |
| `parley evidence fetch`, whole command (ranges, check, decrypt, write, fsync) | {fetch_r:.0f} | {fetch_r / ngx_down:.2f} | {fetch_r / disk:.2f} |
| its download phase | {down_r:.0f} | {down_r / ngx_down:.2f} | {down_r / disk:.2f} |

Client CPU per GiB (bench/evidence_crypto.c, one core, in memory, no disk or network):

| work | s/GiB |
|---|---|
| verify and decrypt, as `fetch` (leaf hash, then open) | {c["verify_decrypt_s_per_gib"]:.2f} |
| of which the leaf hash (SHA-256) | {c["hash_s_per_gib"]:.2f} |
| of which decryption (XChaCha20-Poly1305 secretstream) | {c["decrypt_s_per_gib"]:.2f} |
| seal and hash, as `send` (done twice: once for the Merkle root it signs, once while uploading, so no ciphertext copy is kept on disk) | {c["seal_s_per_gib"]:.2f} |
""")
PY
)
if [ -z "${OUT:-}" ]; then
  echo "$section"
else
  python3 - "$OUT" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], "<!-- evidence-bench -->\n" + sys.argv[2].strip() + "\n<!-- /evidence-bench -->"
text = open(path).read()
if "<!-- evidence-bench -->" in text:
    text = re.sub(r"<!-- evidence-bench -->.*?<!-- /evidence-bench -->", lambda m: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
fi
