#!/usr/bin/env bash
# Daemon load benchmark: 32 concurrent Hub clients (GetToken, NewDB, 100 creates each)
# against `hubctl daemon` with --auth keys and with --auth none, interleaved rounds on
# loopback. Builds like a release. Extra arguments go to the driver, e.g. -rounds 5.
#
#   bench/daemonload.sh --baseline REV [ARGS...]
# compares the work tree's build with revision REV's instead, both with --auth keys.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/builds.sh "$@"
go run ./bench/daemonload -hubctl "$out/hubctl" "${baseline_args[@]}" "${rest[@]}"
