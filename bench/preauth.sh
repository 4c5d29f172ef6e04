#!/usr/bin/env bash
# Pre-authentication memory benchmark: 500 connections without a key (native gRPC
# Creates of 15 MiB, websockets with a 63 MiB first message, HTTP/1.1 grpc-web POSTs of
# 1 GiB) against `hubctl daemon --auth keys` for 20 s, while a keyed client keeps making
# calls; reports the daemon's idle, peak and after-attack RSS and the keyed calls. Builds
# like a release. Extra arguments go to the driver, e.g. -attack 30s.
#
#   bench/preauth.sh --baseline REV [ARGS...]
# also runs revision REV's build the same way, after the work tree's, side by side (a
# baseline whose RSS passes 2 GB is killed and reported as such: -stop-mb).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/builds.sh "$@"
go build -o "$out/preauth" ./bench/preauth
"$out/preauth" -hubctl "$out/hubctl" "${baseline_args[@]}" "${rest[@]}"
