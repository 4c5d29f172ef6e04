#!/usr/bin/env bash
# Replication benchmark: how long `hubctl daemon` B takes to converge with daemon A for 1,000
# and 10,000 instances written on A, one record each: joining the DB and catching up on
# what A already holds, then following N live writes (A pushes them). Two daemons on
# loopback. Builds like a release. Extra arguments go to the driver, e.g. -rounds 1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
go run ./bench/converge -hubctl "$out/hubctl" "$@"
