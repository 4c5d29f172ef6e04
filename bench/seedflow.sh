#!/usr/bin/env bash
# Seed-flow benchmark: `hubctl db create` (cached token) against the standalone seed program
# on a running node, and `hubctl db list` on the embedded node against a running node, each
# series as median, p10, p90, p99 and max. Builds like a release (CGO_ENABLED=0, -trimpath,
# -s -w). Extra arguments go to the driver, e.g. -n 100.
#
#   bench/seedflow.sh --baseline REV [ARGS...]
# also runs revision REV's embedded `db list`, interleaved, for a before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/builds.sh "$@"
go build -trimpath -ldflags "-s -w" -o "$out/seed" ./bench/seed
go run ./bench/seedflow -hubctl "$out/hubctl" -seed "$out/seed" "${baseline_args[@]}" "${rest[@]}"
