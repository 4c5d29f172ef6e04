#!/usr/bin/env bash
# Import benchmark: `hubctl instance create` on 100,000 JSON Lines documents of about 200
# bytes against a Go program calling the go-threads client's Create with the same batches,
# interleaved, on a running node; the peak RSS of hubctl for 10,000 and 100,000 documents;
# and hubctl's throughput per batch size. Builds like a release (CGO_ENABLED=0, -trimpath,
# -s -w). Extra arguments go to the driver, e.g. -rounds 5 or -sizes 100,500.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
go build -trimpath -ldflags "-s -w" -o "$out/import" ./bench/import
"$out/import" -hubctl "$out/hubctl" "$@"
