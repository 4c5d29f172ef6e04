#!/usr/bin/env bash
# Block collection benchmark: `hubctl bucket gc` on the embedded node of a store of
# 100,000 blocks of which half are garbage (one bucket holds the other half); reports its
# time, the peak RSS of the process doing it, the bytes reclaimed against the garbage's
# bytes, and the store's bytes on disk before and after. Builds like a release
# (CGO_ENABLED=0, -trimpath, -s -w). Extra arguments go to the driver, e.g. -blocks 20000.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
go build -trimpath -ldflags "-s -w" -o "$out/gc" ./bench/gc
"$out/gc" -hubctl "$out/hubctl" "$@"
