#!/usr/bin/env bash
# Runs each fuzz target for FUZZTIME (default 1m), outside CI: go test -fuzz runs one target at a
# time. New failing inputs are written under the package's testdata/fuzz/ and then run by every
# `go test` as regression cases.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-1m}
if ! [[ $FUZZTIME =~ ^[0-9]+(s|m|h|x)$ ]]; then
  echo "FUZZTIME must be a duration like 30s, 1m or 2h (or a count like 1000x), got '$FUZZTIME'" >&2
  exit 2
fi
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
for target in ./pkg/request:FuzzParse ./pkg/api:FuzzAPI ./pkg/workflow:FuzzEnvelope ./pkg/ledger:FuzzPageToken ./pkg/config:FuzzConfigFile; do
  pkg=${target%%:*} name=${target##*:}
  echo "== $name ($pkg) for $FUZZTIME"
  go test -timeout 0 "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" 2>&1 | grep -v '^timestamp=' | tail -3
done
