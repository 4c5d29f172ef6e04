#!/usr/bin/env bash
# Completion benchmark: `hubctl __complete identity show ""` (a TAB that needs no server)
# against `hubctl version`, medians of 20 interleaved runs (goal: under 2x). Builds like a
# release (CGO_ENABLED=0, -trimpath, -s -w). Extra arguments go to the driver, e.g. -n 50.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
go run ./bench/complete -hubctl "$out/hubctl" "$@"
