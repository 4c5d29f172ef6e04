#!/usr/bin/env bash
# Daemon load benchmark: 32 concurrent Hub clients (GetToken, NewDB, 100 creates each)
# against `hubctl daemon` with --auth keys and with --auth none, interleaved rounds on
# loopback. Builds like a release. Extra arguments go to the driver, e.g. -rounds 5.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
go run ./bench/daemonload -hubctl "$out/hubctl" "$@"
