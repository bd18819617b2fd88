#!/usr/bin/env bash
# Cooperation requests as the treaties define them, through the real parleyd and parley:
# the cooperation profile in signed records, the legal basis in the signed header (the
# client's and the hub's checks), request kinds validated field by field, status chains,
# treaty clocks that survive a restart, and statistics from metadata alone.
. "$(dirname "$0")/lib.sh"

HUB=http://placeholder
USERS="op est-root est-cert fin-root fin-ncsc lva-root lva-cert"
for u in $USERS; do new_user "$u"; done
HUBARGS=(--operator-key "$(pubkey op)" --scheduler-tick-ms 200 --checkpoint-interval 1
  ${TREATY_HUB_ARGS:-})
start_hub "$WORK/hub" "${HUBARGS[@]}"
for u in $USERS; do sed -i "s|^hub = .*|hub = $HUB|" "$WORK/$u.conf"; done

onboard() { # CODE NAME REGION
  as op admin state add --code "$1" --name "$2" --region "$3" \
    --root-key "$WORK/${1,,}-root.key.pub" --fingerprint "$(fingerprint "${1,,}-root")" >/dev/null
}
onboard EST Estonia eastern-european
onboard FIN Finland western-european-and-others
onboard LVA Latvia eastern-european
poc() { # RECORD ID EMAIL KEY
  as "${1%%.*}-root" state poc add "$WORK/$1" --id "$2" --name "Officer $2" --role technical \
    --role law-enforcement-24x7 --email "$3" --phone "+1 555 0100" --language en --poc-key "$WORK/$4.key" >/dev/null
}
as est-root state init --state EST --out "$WORK/est.json" >/dev/null
poc est.json est-cert cert@est.test est-cert
as fin-root state init --state FIN --out "$WORK/fin.json" >/dev/null
poc fin.json fin-ncsc ncsc@fin.test fin-ncsc
as lva-root state init --state LVA --out "$WORK/lva.json" >/dev/null
poc lva.json lva-cert cert@lva.test lva-cert

# --- the cooperation profile ------------------------------------------------------
check "EST lists the UN Convention in its cooperation profile" as est-root state cooperation \
  "$WORK/est.json" --instrument un-cybercrime-2024 --contact-24x7 est-cert \
  --authority "Office of the Prosecutor General" --authority-email mla@est.test \
  --declarations "Art. 42(4): no dual criminality for preservation" --request-language en --request-language et
check "  and the Budapest Convention" as est-root state cooperation "$WORK/est.json" \
  --instrument budapest-2001 --contact-24x7 est-cert --authority "Ministry of Justice"
check "FIN lists the Budapest Convention only" as fin-root state cooperation "$WORK/fin.json" \
  --instrument budapest-2001 --contact-24x7 fin-ncsc --authority "Ministry of Justice" \
  --authority-phone "+358 9 000"
cp "$WORK/fin.json" "$WORK/fin-bad.json"
as fin-root state cooperation "$WORK/fin-bad.json" --instrument budapest-protocol2-2022 \
  --contact-24x7 nobody --authority "Ministry" >/dev/null
check "a profile naming a 24/7 contact that is not a POC of the record is refused, naming the field" \
  expect_fail "contact_24x7" as fin-root state sign "$WORK/fin-bad.json"
sed 's/"et"/"EST"/' "$WORK/est.json" >"$WORK/est-bad.json"
check "a request language that is not ISO 639-1 is refused, naming the field" \
  expect_fail "request_languages" as est-root state sign "$WORK/est-bad.json"
for s in est fin lva; do
  as $s-root state sign "$WORK/$s.json" >/dev/null
  as $s-root state publish "$WORK/$s.json" >/dev/null
done
check "the hub serves the signed profile" sh -c "$PARLEY --config $WORK/fin-ncsc.conf --json directory show EST | grep -q 'Office of the Prosecutor General'"

# --- the legal basis in the signed header ----------------------------------------
sent_id() { sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p' "$WORK/last.out"; }
PRES_FIELDS=(--field requesting_authority=Prosecutor --field 'offences=["illegal-access"]'
  --field facts=Ransomware --field data_to_preserve=logs --field relationship_to_offence=C2
  --field custodian_or_location=Host --field necessity=Volatile
  --field mutual_assistance_intended=true --field status=new --field preservation_days=90)
check "EST sends a preservation request to FIN under Budapest Art. 29" as est-cert send \
  --kind preservation-request --to FIN:technical --priority urgent --basis budapest-2001:29 "${PRES_FIELDS[@]}"
PRES=$(sent_id)
check "  FIN reads it with its legal basis (signed)" sh -c "$PARLEY --config $WORK/fin-ncsc.conf read $PRES | grep -q 'Legal basis: budapest-2001, Art. 29'"
check "  the verified header carries it (--json)" sh -c "$PARLEY --config $WORK/fin-ncsc.conf --json read $PRES | grep -q '\"instrument\": \"budapest-2001\"'"
check "a request under an instrument FIN is not party to is refused by the client" \
  expect_fail "FIN is not party to un-cybercrime-2024" as est-cert send --kind preservation-request \
  --to FIN:technical --basis un-cybercrime-2024:42 "${PRES_FIELDS[@]}"
check "  unless forced (and the hub accepts it: the pair is one the kind allows)" as est-cert send \
  --kind preservation-request --to FIN:technical --basis un-cybercrime-2024:42 --force "${PRES_FIELDS[@]}"
check "a basis the kind does not allow is refused (preservation under Art. 30)" \
  expect_fail "not sent under budapest-2001 Art. 30" as est-cert send --kind preservation-request \
  --to FIN:technical --basis budapest-2001:30 "${PRES_FIELDS[@]}"
check "a malformed basis is refused" expect_fail "basis" as est-cert send --kind preservation-request \
  --to FIN:technical --basis "Budapest:29" "${PRES_FIELDS[@]}"
check "FIN may not send under an instrument its own record does not list" \
  expect_fail "your state's verified record does not list un-cybercrime-2024" as fin-ncsc send \
  --kind preservation-request --to EST:technical --basis un-cybercrime-2024:42 "${PRES_FIELDS[@]}"
check "  unless forced" as fin-ncsc send --kind preservation-request --to EST:technical \
  --basis un-cybercrime-2024:42 --force "${PRES_FIELDS[@]}"
check "a recipient without a profile (LVA) gets a warning, not a refusal" as est-cert send \
  --kind preservation-request --to LVA:technical --basis budapest-2001:29 "${PRES_FIELDS[@]}"
cp "$WORK/last.out" "$WORK/lva.out"
check "  the warning says so" grep -q "LVA's verified record has no cooperation profile" "$WORK/lva.out"

# The hub's own check: a correctly signed envelope whose basis the kind does not allow.
as est-cert send --kind preservation-request --to FIN:technical --basis budapest-2001:29 \
  --seal-only "$WORK/sealed.json" "${PRES_FIELDS[@]}" >/dev/null
/usr/bin/python3 - "$WORK/sealed.json" "$WORK/est-cert.key" "$WORK/forged.json" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
env = json.load(open(sys.argv[1]))
secret = base64.urlsafe_b64decode(json.load(open(sys.argv[2]))["secret"] + "==")
env["legal_basis"] = {"instrument": "budapest-2001", "article": "31"}
h = {k: v for k, v in env.items() if k not in ("signature", "ciphertext")}
msg = b"parley/v1/envelope\n" + json.dumps(h, sort_keys=True, separators=(",", ":")).encode()
sig = Ed25519PrivateKey.from_private_bytes(secret[:32]).sign(msg)
env["signature"] = base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
json.dump(env, open(sys.argv[3], "w"))
PY
check "the hub refuses a signed envelope under a basis its kind does not allow (LEGAL_BASIS)" \
  expect_fail LEGAL_BASIS as est-cert api POST /v1/messages --data "$WORK/forged.json"
check "  and accepts the same envelope as sealed" as est-cert api POST /v1/messages --data "$WORK/sealed.json"

# --- request kinds: every refusal names the field -----------------------------------
MLA_FIELDS=(--field requesting_authority=Prosecutor --field proceedings_subject=Ransomware
  --field conducting_authority="Harju County Court" --field facts=F --field assistance_sought=Logs
  --field purpose="Evidence for trial")
declare -A FIRST=([mutual-legal-assistance]=requesting_authority [stored-data-access]=requesting_authority
  [emergency-disclosure]=requesting_authority [emergency-assistance]=requesting_authority
  [production-order]=issuing_authority [status-update]=request [status-query]=request
  [oral-request]=requesting_authority [preservation-request]=requesting_authority
  [traffic-data-disclosure]=preservation_request)
for kind in "${!FIRST[@]}"; do
  check "an empty $kind is refused by the client, naming ${FIRST[$kind]}" \
    expect_fail "content.${FIRST[$kind]}: required" as est-cert send --kind "$kind" --to FIN:technical
done
check "a mutual-legal-assistance request without its purpose (UN Art. 40(15)(f)) names the field" \
  expect_fail "content.purpose: required" as est-cert send --kind mutual-legal-assistance --to FIN:technical \
  --field requesting_authority=Prosecutor --field proceedings_subject=Ransomware --field conducting_authority=Court \
  --field facts=F --field assistance_sought=Logs
check "a time limit without its reasons names the field" expect_fail "content.respond_by_reasons: required with respond_by" \
  as est-cert send --kind mutual-legal-assistance --to FIN:technical --basis budapest-2001:27 \
  --field respond_by=2026-12-24 "${MLA_FIELDS[@]}"
check "a refusal without its ground names the field" expect_fail "content.refusal_ground: required when status is refused" \
  as fin-ncsc send --kind status-update --to EST:technical --in-reply-to "$PRES" --field request="$PRES" --field status=refused
check "a complete mutual-legal-assistance request goes, under Budapest Art. 27" as est-cert send \
  --kind mutual-legal-assistance --to FIN:technical --basis budapest-2001:27 --field respond_by=2026-12-24 \
  --field respond_by_reasons="Trial on 2027-01-10" "${MLA_FIELDS[@]}"
MLA0=$(sent_id)
check "  and FIN reads it with Russian labels" sh -c "$PARLEY --config $WORK/fin-ncsc.conf read $MLA0 --lang ru | grep -q 'Цель, для которой запрашиваются доказательства'"

finish
