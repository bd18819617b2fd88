#!/usr/bin/env bash
# The web app's unit tests (node:test): JCS and strict JSON against the RFC 8785 vectors
# and against libparley on random documents, key files both ways with the real
# `parley`, RFC 9421 signing against B.2.6 and libparley's verifier.
set -euo pipefail
: "${PARLEY_WEB_TESTS:?run through ctest}"
shopt -s nullglob
files=("$PARLEY_WEB_TESTS"/*.test.mjs)
if [ ${#files[@]} -eq 0 ]; then
  echo "no bundled web tests in $PARLEY_WEB_TESTS: the web app was not built (run make deps)" >&2
  exit 1
fi
exec node --test "${files[@]}"
