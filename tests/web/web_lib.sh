# Shared set-up for the web app's browser tests (sourced after tests/integration/lib.sh):
# a real parleyd with two states, EST (officer est-cert) and FIN (officers fin-cert,
# fin-duty), their records signed by their root keys with `parley` and published.
: "${PARLEY_WEB_OUT:?run through ctest}"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "chromium not installed (run make deps)" >&2; exit 1; }
[ -f "$PARLEY_WEB_OUT/index.html" ] || { echo "web app not built in $PARLEY_WEB_OUT (run make deps; make build)" >&2; exit 1; }
export CHROMIUM

# two_states [extra parleyd args...]: sets HUB and the users' configs.
two_states() {
  HUB=http://placeholder
  for u in op est-root est-cert fin-root fin-cert fin-duty; do new_user "$u"; done
  start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1 "$@"
  for u in op est-root est-cert fin-root fin-cert fin-duty; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done
  as op admin state add --code EST --name Estonia --region eastern-european \
    --root-key "$WORK/est-root.key.pub" --fingerprint "$(fingerprint est-root)" >/dev/null
  as op admin state add --code FIN --name Finland --region western-european-and-others \
    --root-key "$WORK/fin-root.key.pub" --fingerprint "$(fingerprint fin-root)" >/dev/null
  as est-root state init --state EST --out "$WORK/est.json" >/dev/null
  as est-root state poc add "$WORK/est.json" --id est-cert --name "Kati Kask" --position "CERT duty officer" \
    --role technical --email duty@cert.est.test --phone "+372 600 0000" --language et --language en \
    --timezone Europe/Tallinn --poc-key "$WORK/est-cert.key" >/dev/null
  as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
  as fin-root state poc add "$WORK/fin.json" --id fin-cert --name "Aino Virtanen" --position "NCSC duty officer" \
    --role technical --role diplomatic --email duty@ncsc.fin.test --phone "+358 29 000 0000" --language fi --language fr \
    --timezone Europe/Helsinki --availability "24/7" --poc-key "$WORK/fin-cert.key" >/dev/null
  as fin-root state poc add "$WORK/fin.json" --id fin-duty --name "Eero Laine" --position "Night duty" \
    --role technical --email night@ncsc.fin.test --phone "+358 29 000 0001" --language en \
    --timezone Europe/Helsinki --availability "Mon-Fri 18:00-08:00" --poc-key "$WORK/fin-duty.key" >/dev/null
  for s in est fin; do
    as $s-root state sign "$WORK/$s.json" >/dev/null
    as $s-root state publish "$WORK/$s.json" >/dev/null
  done
}

# sent_id: the id `parley send` printed (in $WORK/last.out or stdin).
sent_id() { sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "${1:-/dev/stdin}"; }

# run_browser SCRIPT.mjs LOG: runs a browser script; its last line is the summary.
run_browser() {
  local script=$1 log=$2
  if timeout 300 node "$PARLEY_SRC/tests/web/$script" >"$log" 2>&1; then
    ok "browser: $(tail -1 "$log")"
  else
    not_ok "browser: $(tail -1 "$log")"
  fi
  sed 's/^/    /' "$log"
}
