#!/usr/bin/env bash
# Runs the benchmarks that BENCHMARKS.md records, each with the run count it was recorded with.
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
bench() { # package, benchmark pattern, runs
  echo "== $2 ($1, $3 runs)"
  go test -timeout 60m "$1" -run '^$' -bench "$2" -benchtime "$3" 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' | sed -E 's/[[:space:]]+/ /g'
}
start=$(date +%s)
bench ./internal/lambdart ColdStart 5x
bench ./pkg/guardrail LiftAndRestore 3x
bench ./pkg/guardrail ExemptWrites 3x
bench ./pkg/guardrail "Scan/accounts=500$" 1x
bench ./pkg/guardrail "Coverage/accounts=500$" 1x
bench ./internal/harness Admission 2x
bench ./pkg/window Admission 1x
bench ./pkg/window Steps 1x
bench ./internal/harness CostPerRequest 2x
bench ./internal/harness RequestToLifted 30x
echo "make bench took $(( $(date +%s) - start )) s"
