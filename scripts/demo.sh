#!/usr/bin/env bash
# make demo: a hub on the embedded SQLite store with three demo states, their
# (fictional) officers' keys in demo-data/, and commands to try. Ctrl-C stops it.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
PARLEYD=$BUILD/parleyd
PARLEY=$BUILD/parley
PORT=${PARLEY_DEMO_PORT:-8440}
DATA=demo-data
rm -rf "$DATA"
mkdir -p "$DATA/keys"
HUB=http://127.0.0.1:$PORT

key() { "$PARLEY" --config /dev/null keygen --insecure-no-passphrase --out "$DATA/keys/$1.key" >/dev/null; }
pub() { "$PARLEY" --config /dev/null --json key show "$DATA/keys/$1.key" | sed "s/.*\"$2\":\"\([^\"]*\)\".*/\1/"; }
conf() { printf 'hub = %s\nkey = %s\nhome = %s\n' "$HUB" "$PWD/$DATA/keys/$1.key" "$PWD/$DATA/home-$1" >"$DATA/$1.conf"; }
as() { local who=$1; shift; "$PARLEY" --config "$DATA/$who.conf" "$@"; }

users="operator est-root est-cert est-mfa gha-root gha-cert gha-duty chl-root chl-pdi"
for u in $users; do key "$u"; conf "$u"; done

# A short critical deadline so that the demo shows an overdue message and escalation.
"$PARLEYD" --port "$PORT" --data-dir "$DATA/hub" --insecure-hub-key --origin demo.parley.localhost \
  --operator-key "$(pub operator sign_pk)" --ack-critical 20 --escalation-step 30 \
  >"$DATA/hub.out" 2>"$DATA/hub.log" &
HUB_PID=$!
trap 'kill -TERM $HUB_PID 2>/dev/null; wait $HUB_PID 2>/dev/null; echo; echo "hub stopped"' EXIT INT TERM
for _ in $(seq 1 50); do grep -q 'listening on' "$DATA/hub.out" 2>/dev/null && break; sleep 0.1; done
if ! grep -q 'listening on' "$DATA/hub.out"; then
  echo "parleyd did not start:"; cat "$DATA/hub.log"; exit 1
fi

# The set-up's own notices (first contact with each state, pinned log key) go to a log;
# if the set-up fails, that log is shown.
exec 3>&2 2>"$DATA/setup.log"
trap 'rc=$?; exec 2>&3; [ -n "${READY:-}" ] || [ $rc = 0 ] || cat "$DATA/setup.log" >&2; kill -TERM $HUB_PID 2>/dev/null; wait $HUB_PID 2>/dev/null; echo; echo "hub stopped"' EXIT
trap 'exit 130' INT TERM

onboard() { # CODE NAME REGION
  as operator admin state add --code "$1" --name "$2" --region "$3" \
    --root-key "$DATA/keys/${1,,}-root.key.pub" --fingerprint "$(pub "${1,,}-root" fingerprint)" >/dev/null
}
onboard EST Estonia eastern-european
onboard GHA Ghana african
onboard CHL Chile latin-american-and-caribbean

rec() { echo "$DATA/${1,,}-record.json"; }
as est-root state init --state EST --out "$(rec EST)" >/dev/null
as est-root state poc add "$(rec EST)" --id est-cert --name "Kati Kask (demo)" --position "CERT duty officer" \
  --role technical --email duty@cert.ee.example --phone "+372 600 0000" --language et --language en \
  --timezone Europe/Tallinn --poc-key "$DATA/keys/est-cert.key" >/dev/null
as est-root state poc add "$(rec EST)" --id est-mfa --name "Mart Maasikas (demo)" --position "Cyber diplomacy desk" \
  --role diplomatic --email cyber@mfa.ee.example --phone "+372 637 7000" --language en --language fr \
  --availability "Mon-Fri 09:00-17:00" --timezone Europe/Tallinn --poc-key "$DATA/keys/est-mfa.key" >/dev/null
as gha-root state init --state GHA --out "$(rec GHA)" >/dev/null
as gha-root state poc add "$(rec GHA)" --id gha-cert --name "Ama Mensah (demo)" --position "National CERT lead" \
  --role technical --role diplomatic --email cert@csa.gh.example --phone "+233 30 000 0000" --language en \
  --timezone Africa/Accra --poc-key "$DATA/keys/gha-cert.key" >/dev/null
as gha-root state poc add "$(rec GHA)" --id gha-duty --name "Kofi Boateng (demo)" --position "CERT night duty" \
  --role technical --email duty@csa.gh.example --phone "+233 30 000 0001" --language en \
  --timezone Africa/Accra --poc-key "$DATA/keys/gha-duty.key" >/dev/null
as chl-root state init --state CHL --out "$(rec CHL)" >/dev/null
as chl-root state poc add "$(rec CHL)" --id chl-pdi --name "Diego Rojas (demo)" --position "24/7 cybercrime unit" \
  --role law-enforcement-24x7 --email 24x7@pdi.cl.example --phone "+56 2 0000 0000" --language es --language en \
  --timezone America/Santiago --poc-key "$DATA/keys/chl-pdi.key" >/dev/null
# Cooperation profiles: EST and CHL are Parties to the Budapest Convention.
as est-root state cooperation "$(rec EST)" --instrument budapest-2001 --contact-24x7 est-cert \
  --authority "Office of the Prosecutor General (demo)" --request-language et --request-language en >/dev/null
as chl-root state cooperation "$(rec CHL)" --instrument budapest-2001 --contact-24x7 chl-pdi \
  --authority "Ministerio de Relaciones Exteriores (demo)" --request-language es --request-language en >/dev/null
for s in EST GHA CHL; do
  as "${s,,}-root" state sign "$(rec $s)" >/dev/null
  as "${s,,}-root" state publish "$(rec $s)" >/dev/null
done

# Messages: one acknowledged, one answered, one left to become overdue.
sent() { sed -n 's/^sent [a-z]* [a-z-]* \([0-9a-f-]*\) to.*/\1/p'; }
M1=$(as est-cert send --kind notification --to GHA:gha-cert --priority urgent --tlp AMBER \
  --field incident_class=malicious-code --field summary="Ransomware campaign against port operators" \
  --field affected_sectors="transport, ports" --field indicators="hxxp://203.0.113.9/payload" \
  --field first_seen=2026-11-20 | sent)
as gha-cert ack "$M1" >/dev/null
M2=$(as chl-pdi send --kind preservation-request --to EST:technical --priority urgent --tlp AMBER+STRICT \
  --basis budapest-2001:29 \
  --field requesting_authority="Fiscalía Regional Metropolitana (demo)" \
  --field offences='["computer-related-fraud"]' --field facts="Phishing site hosted in Estonia" \
  --field data_to_preserve="Subscriber and access logs of the hosting account" \
  --field relationship_to_offence="The account hosts the phishing site" \
  --field custodian_or_location="A hosting provider in Tallinn (demo)" \
  --field necessity="Logs are kept 30 days" --field mutual_assistance_intended=true \
  --field status=new --field preservation_days=90 --language es | sent)
as est-cert ack "$M2" >/dev/null
as est-cert reply "$M2" --kind status-update --basis budapest-2001:29 --field request="$M2" \
  --field status=executed --field details="Preservation ordered for 90 days" >/dev/null
# ... followed, in the same case, by the mutual-assistance request it announced.
M2B=$(as chl-pdi send --kind mutual-legal-assistance --to EST:technical --case "$M2" --basis budapest-2001:27 \
  --field requesting_authority="Fiscalía Regional Metropolitana (demo)" \
  --field proceedings_subject="Criminal investigation of a phishing campaign (fraud)" \
  --field conducting_authority="Fiscalía Regional Metropolitana, prosecutor in charge" \
  --field facts="Phishing site hosted in Estonia" \
  --field assistance_sought="Disclosure of the preserved subscriber and access logs" \
  --field purpose="Identify the operators of the site" --field follows="$M2" \
  --field respond_by=2027-01-15 --field respond_by_reasons="Hearing set for 2027-01-20" --language es | sent)
as est-cert reply "$M2B" --kind status-update --basis budapest-2001:27 --field request="$M2B" \
  --field status=in-execution >/dev/null
# Evidence answering the mutual-assistance request: sealed for Chile's 24/7 unit, in the case.
head -c 3000000 /dev/urandom >"$DATA/access-logs.bin"
printf 'Subscriber: demo hosting account 4711\nAccess log excerpt (fictional)\n' >"$DATA/subscriber.txt"
E1=$(as est-cert evidence send --to CHL:chl-pdi --case "$M2" --request "$M2B" \
  --notes "Preserved subscriber and access logs (demo)" "$DATA/subscriber.txt" "$DATA/access-logs.bin" |
  sed -n 's/^sent evidence \([0-9a-f-]*\).*/\1/p')
M3=$(as gha-cert send --kind request-for-assistance --to CHL:law-enforcement-24x7 --priority critical \
  --field subject="Extortion e-mails to a hospital" --field details="We need help tracing the sender" | sent)

exec 2>&3
READY=1
cat <<MSG

Parley demo hub running at $HUB  (store: sqlite:$DATA/hub/hub.db)

  Point a browser at $HUB/ for the hub's public status page, and at $HUB/app/ for
  the web app. Open a key file there (made without a passphrase for the demo; the
  page keeps it in memory only and signs its requests itself), as one of:

    Kati Kask, EST CERT duty officer ....... $DATA/keys/est-cert.key
    Mart Maasikas, EST cyber diplomacy desk . $DATA/keys/est-mfa.key
    Ama Mensah, GHA national CERT lead ..... $DATA/keys/gha-cert.key
    Diego Rojas, CHL 24/7 cybercrime unit .. $DATA/keys/chl-pdi.key

  Two tabs, one opened as Ama and one as Diego, show a message arrive live.
  The hub's own copy of the app is only as honest as its operator; the copy an
  officer should use is served from their own machine, checked against its
  SHA256SUMS:  $PARLEY --config $DATA/chl-pdi.conf web   (then open what it prints)

Three states are onboarded (EST, GHA, CHL) with fictional officers; their keys and
configs are in $DATA/. Try, in another terminal:

  $PARLEY --config $DATA/est-cert.conf directory list
  $PARLEY --config $DATA/est-cert.conf directory show GHA
  $PARLEY --config $DATA/gha-cert.conf directory search --role technical
  $PARLEY --config $DATA/chl-pdi.conf directory export --format csv
  $PARLEY --config $DATA/operator.conf api GET /v1/reports/stale

Messages are waiting:
  $PARLEY --config $DATA/gha-cert.conf inbox            # an urgent notification, acknowledged
  $PARLEY --config $DATA/est-cert.conf read $M2 --lang fr   # a preservation request (Budapest Art. 29)
  $PARLEY --config $DATA/chl-pdi.conf case $M2    # its chain: preservation, mutual assistance,
                                                  # statuses and the preservation clock
  $PARLEY --config $DATA/chl-pdi.conf evidence list      # the logs Estonia sent in that case
  $PARLEY --config $DATA/chl-pdi.conf evidence fetch $E1 --out evidence
  $PARLEY --config $DATA/chl-pdi.conf evidence custody $E1  # its chain of custody, verified
  $PARLEY --config $DATA/operator.conf stats --group instrument,kind,pair
  $PARLEY --config $DATA/operator.conf stats --format svg > stats.svg
  $PARLEY --config $DATA/chl-pdi.conf inbox             # a critical request: overdue in 20 s
  $PARLEY --config $DATA/chl-pdi.conf read $M3
  $PARLEY --config $DATA/chl-pdi.conf ack $M3
  $PARLEY --config $DATA/chl-pdi.conf reply $M3 --field summary="On it" --field status=in-progress
  $PARLEY --config $DATA/est-cert.conf inbox --follow    # pushed as they arrive (Ctrl-C)
  $PARLEY --config $DATA/gha-cert.conf verify record CHL
  curl -s $HUB/metrics | head

Hub log: $DATA/hub.log. Ctrl-C stops the hub.
MSG
wait $HUB_PID
