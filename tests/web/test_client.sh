#!/usr/bin/env bash
# The page's verified client (web/src/lib/client.ts) under node against the real parleyd,
# both ways with the real parley: a message sent with `parley send` opens and verifies in
# ParleyClient, which acknowledges and replies; one sent by ParleyClient is read and
# acknowledged with `parley`, and ParleyClient verifies that receipt; directory records,
# pins, the live inbox stream and the template checks (tests/web/client.mjs).
. "$PARLEY_SRC/tests/integration/lib.sh"
: "${PARLEY_WEB_TESTS:?run through ctest}"
[ -f "$PARLEY_WEB_TESTS/harness.mjs" ] || { echo "the web tests were not built in $PARLEY_WEB_TESTS (run make deps; make build)" >&2; exit 1; }

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-ncsc lva-root lva-cert"
for u in $USERS; do new_user "$u"; done
start_hub "$WORK/hub" --operator-key "$(pubkey op)" --checkpoint-interval 1
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

onboard() { # CODE NAME REGION
  as op admin state add --code "$1" --name "$2" --region "$3" \
    --root-key "$WORK/${1,,}-root.key.pub" --fingerprint "$(fingerprint "${1,,}-root")" >/dev/null
}
onboard EST Estonia eastern-european
onboard FIN Finland western-european-and-others
onboard LVA Latvia eastern-european
poc() { # STATE ID
  as "$1-root" state poc add "$WORK/$1.json" --id "$2" --name "Officer $2" --role technical \
    --email "$2@$1.test" --phone "+1 555 0100" --language en --poc-key "$WORK/$2.key" >/dev/null
}
for s in est fin lva; do as $s-root state init --state "${s^^}" --out "$WORK/$s.json" >/dev/null; done
poc est est-cert
poc fin fin-ncsc
poc lva lva-cert
for s in est fin lva; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done

if HUB=$HUB WORK=$WORK FIN_ROOT_FPR=$(fingerprint fin-root) timeout 300 node "$PARLEY_SRC/tests/web/client.mjs" >"$WORK/client.out" 2>&1; then
  ok "ParleyClient under node: $(tail -1 "$WORK/client.out")"
else
  not_ok "ParleyClient under node: $(tail -1 "$WORK/client.out")"
fi
sed 's/^/    /' "$WORK/client.out"
finish
