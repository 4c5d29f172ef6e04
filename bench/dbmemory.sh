#!/usr/bin/env bash
# Memory per database: `hubctl daemon` (--auth none, loopback, port 0) gets databases
# created as a Hub user does (one collection, a few instances each); its RSS is read at
# each checkpoint (default 100, 1,000 and 5,000 databases), after the creates and again
# after a restart. Builds like a release. Extra arguments go to the driver, e.g.
# -n 100,1000 or -env GOGC=50.
#
#   bench/dbmemory.sh --baseline REV [ARGS...]
# measures revision REV's build first, then the work tree's, and prints both.
#
#   bench/dbmemory.sh --heap FILE [-n 1000]
# runs the daemon in-process instead and writes a heap profile of it after a restart
# (read it with: go tool pprof -top -sample_index=inuse_space FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--heap" ]; then
  file=${2:?--heap needs a file}
  shift 2
  exec go run ./bench/dbmemory -heap "$file" "$@"
fi
source bench/builds.sh "$@"
go run ./bench/dbmemory -hubctl "$out/hubctl" "${baseline_args[@]}" "${rest[@]}"
