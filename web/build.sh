#!/bin/sh
# build.sh OUT TESTS STAMP: type-checks (tsc, strict) and bundles the app into OUT and
# the node tests into TESTS, then touches STAMP. Without node or web/node_modules
# (`make deps` installs both) it says so and builds nothing.
set -eu
out=$1 tests=$2 stamp=$3
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || [ ! -x node_modules/.bin/esbuild ] || [ ! -x node_modules/.bin/tsc ]; then
  echo "web app NOT built: node or web/node_modules missing (run make deps)" >&2
  rm -f "$stamp"
  exit 0
fi
node_modules/.bin/tsc --noEmit -p .
node build.mjs --out "$out" --tests "$tests"
touch "$stamp"
