#!/usr/bin/env bash
# Seed-flow benchmark: `hubctl db create` (cached token) against the standalone seed program
# on a running node, and `hubctl db list` on the embedded node against a running node.
# Builds like a release (CGO_ENABLED=0, -trimpath, -s -w). Extra arguments go to the
# driver, e.g. -n 40.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
go build -trimpath -ldflags "-s -w" -o "$out/seed" ./bench/seed
go run ./bench/seedflow -hubctl "$out/hubctl" -seed "$out/seed" "$@"
