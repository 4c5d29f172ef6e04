#!/usr/bin/env bash
# Daemon load benchmark: 32 concurrent Hub clients (GetToken, NewDB, 100 creates each)
# against `hubctl daemon` with --auth keys and with --auth none, interleaved rounds on
# loopback. Builds like a release. Extra arguments go to the driver, e.g. -rounds 5.
#
#   bench/daemonload.sh --baseline REV [ARGS...]
# compares the work tree's build with revision REV's instead, both with --auth keys.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
args=()
if [ "${1:-}" = "--baseline" ]; then
  rev=${2:?--baseline needs a revision}
  shift 2
  mkdir "$out/baseline"
  git archive "$rev" | tar -x -C "$out/baseline"
  (cd "$out/baseline" && go build -trimpath -ldflags "-s -w" -o "$out/hubctl-baseline" .)
  args=(-baseline "$out/hubctl-baseline")
fi
go run ./bench/daemonload -hubctl "$out/hubctl" "${args[@]}" "$@"
