#!/usr/bin/env bash
# Buckets benchmark: `hubctl bucket push` and `pull` of one large file, a push of a tree of
# small files and a sync after a few changed, against `hubctl daemon`, beside ipfs-lite's
# own AddFile and GetFile in one process on the same data. Builds like a release
# (CGO_ENABLED=0, -trimpath, -s -w). Extra arguments go to the driver, e.g. -size 268435456
# or -files 1000 or -rounds 1. Needs about (2 x rounds + 2) x -size of free space in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
go build -trimpath -ldflags "-s -w" -o "$out/buckets" ./bench/buckets
"$out/buckets" -hubctl "$out/hubctl" "$@"
