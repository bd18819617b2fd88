#!/usr/bin/env bash
# The web app's benchmark (issue 14), run by make bench: a real parleyd on loopback with
# two states; Debian's chromium (playwright-core) loads the app, opens an officer's key,
# waits for the inbox, then opens and verifies one message BENCH_WEB_OPENS times (10);
# beside it, `parley read` of the same message as many times (a fresh process each time,
# its pins kept as an officer's would be); and an evidence package of
# BENCH_WEB_EVIDENCE_MIB (64) uploaded and downloaded in the page beside `parley evidence
# send|fetch` of the same size (rates and their ratio). Writes a Markdown section on stdout, or with
# OUT=FILE puts it in FILE between the lines <!-- web-bench --> and <!-- /web-bench -->.
#   ./bench/web_bench.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
export PARLEYD=$BUILD/parleyd PARLEY=$BUILD/parley PARLEY_SRC=$ROOT PARLEY_WEB_OUT=$BUILD/web
N=${BENCH_WEB_OPENS:-10}
. "$ROOT/tests/integration/lib.sh" >/dev/null
. "$ROOT/tests/web/web_lib.sh"
two_states >/dev/null
ID=$(as est-cert send --kind request-for-assistance --to FIN:fin-cert --priority urgent \
  --field subject="Bench message" --field details="$(head -c 1500 /dev/zero | tr '\0' 'x')" 2>/dev/null | sent_id)
as fin-cert read "$ID" >/dev/null 2>&1 # first contact: pins, as an officer's would be
cli_ms=()
for _ in $(seq 1 "$N"); do
  s=$(date +%s%N)
  as fin-cert read "$ID" >/dev/null 2>&1
  cli_ms+=($((($(date +%s%N) - s) / 1000000)))
done
json=$(APP_URL="$HUB/app/" KEY_FILE="$WORK/fin-cert.key" MESSAGE_ID="$ID" BENCH_WEB_OPENS=$N \
  node "$ROOT/tests/web/../../bench/web_bench.mjs")
# Evidence: a package of BENCH_WEB_EVIDENCE_MIB (64) sent and fetched by parley, then the
# same bytes uploaded and downloaded in the page, in the same run.
EV_MIB=${BENCH_WEB_EVIDENCE_MIB:-64}
mkdir -p "$WORK/ev"
head -c $((EV_MIB * 1048576)) /dev/urandom >"$WORK/ev/bench.bin"
s=$(date +%s%N)
as est-cert evidence send --to FIN:fin-cert "$WORK/ev/bench.bin" >"$WORK/ev/send.out" 2>/dev/null
cli_up_ms=$((($(date +%s%N) - s) / 1000000))
EV_ID=$(sed -n 's/^sent evidence \([0-9a-f-]*\).*/\1/p' "$WORK/ev/send.out")
s=$(date +%s%N)
as fin-cert evidence fetch "$EV_ID" --out "$WORK/ev/fetched" >/dev/null 2>&1
cli_down_ms=$((($(date +%s%N) - s) / 1000000))
rm -rf "$WORK/ev/fetched"
ev_json=$(HUB=$HUB FILE="$WORK/ev/bench.bin" EST_KEY="$WORK/est-cert.key" FIN_KEY="$WORK/fin-cert.key" \
  node "$ROOT/bench/web_evidence_bench.mjs")
section=$(python3 - "$json" "${cli_ms[*]}" "$N" "$(sha256sum "$BUILD/web/SHA256SUMS" | cut -c1-16)" "$ev_json" "$cli_up_ms" "$cli_down_ms" <<'PY'
import json, statistics, sys
j = json.loads(sys.argv[1]); cli = sorted(int(x) for x in sys.argv[2].split()); n = int(sys.argv[3])
ev = json.loads(sys.argv[5]); cli_up, cli_down = int(sys.argv[6]), int(sys.argv[7])
mib = ev["bytes"] / 1048576
rate = lambda ms: mib / (ms / 1000)
med = lambda v: statistics.median(v)
page_med, cli_med = med(j["opensMs"]), med(cli)
print(f"""
## Web app: first load and opening a message (issue 14)

Command: `./bench/web_bench.sh build` (part of `make bench`); chromium headless on
127.0.0.1, the app served by parleyd under /app/ (bundle sums {sys.argv[4]}…), the key
file without a passphrase (no Argon2id in the figure). Opening = verifying the sender's
record (pinned), the envelope, its log inclusion, decrypting and rendering; `parley read`
does the same work in a new process each time.

| figure | value |
|---|---|
| first load: bytes transferred (page, script, style, WebAssembly inlined) | {j["bytes"]:,} |
| first load: until the key screen is shown | {j["keyScreenMs"]} ms |
| key opened: until the inbox is shown with the message | {j["inboxMs"]} ms |
| open and verify one message in the page, median of {n} (min–max) | {page_med:.0f} ms ({min(j["opensMs"])}–{max(j["opensMs"])}) |
| the same by `parley read`, median of {n} (min–max) | {cli_med:.0f} ms ({cli[0]}–{cli[-1]}) |
| page / parley read | {page_med / cli_med:.2f} |
| evidence upload of {mib:.0f} MiB in the page (seal, upload, manifest proven in the log) | {rate(ev["uploadMs"]):.1f} MiB/s ({ev["uploadMs"]} ms) |
| the same by `parley evidence send` | {rate(cli_up):.1f} MiB/s ({cli_up} ms) |
| upload: page / parley | {rate(ev["uploadMs"]) / rate(cli_up):.2f} |
| evidence download of {mib:.0f} MiB in the page (every chunk and the file's SHA-256 checked, custody recorded) | {rate(ev["downloadMs"]):.1f} MiB/s ({ev["downloadMs"]} ms) |
| the same by `parley evidence fetch` | {rate(cli_down):.1f} MiB/s ({cli_down} ms) |
| download: page / parley | {rate(ev["downloadMs"]) / rate(cli_down):.2f} |
""")
PY
)
if [ -z "${OUT:-}" ]; then
  echo "$section"
else
  python3 - "$OUT" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], "<!-- web-bench -->\n" + sys.argv[2].strip() + "\n<!-- /web-bench -->"
text = open(path).read()
if "<!-- web-bench -->" in text:
    text = re.sub(r"<!-- web-bench -->.*?<!-- /web-bench -->", lambda m: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
fi
