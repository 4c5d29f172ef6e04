#!/usr/bin/env bash
# Start-up benchmark: hubctl version, --help and identity list against a Go hello-world,
# medians of interleaved runs (default 30). Builds both the way a release does
# (CGO_ENABLED=0, -trimpath, -s -w). Extra arguments go to the driver, e.g. -n 50.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
go build -trimpath -ldflags "-s -w" -o "$out/hello" ./bench/hello
go run ./bench/startup -hubctl "$out/hubctl" -hello "$out/hello" "$@"
