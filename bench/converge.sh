#!/usr/bin/env bash
# Replication benchmark (issue "Convergence"): how long `hubctl daemon` followers take to
# converge with daemon A, 16 concurrent writers on A, one record per instance, daemons on
# loopback: catch-up after `db join` of 1,000 and 10,000 records, following 1,000 and
# 10,000 live writes, a burst of 100,000 writes, a peer stopped while 10,000 were written,
# and a third daemon joining from B while A is down; in every case, acknowledged writes
# a node lacks. With --baseline REV, revision REV's build runs every case beside the work
# tree's, interleaved, and the tables have a row per build. Builds like a release. The
# other arguments go to the driver (go run ./bench/converge -h), e.g.
#
#   bench/converge.sh [--baseline REV] [-rounds 1] [-cases burst] [-burst 100000]
#
# Exits 1 if a case did not converge in time, lost an acknowledged write or failed.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/builds.sh "$@"
names=()
if [ ${#baseline_args[@]} -gt 0 ]; then
  names=(-baseline-name "$rev")
fi
go run ./bench/converge -hubctl "$out/hubctl" "${baseline_args[@]}" "${names[@]}" "${rest[@]}"
