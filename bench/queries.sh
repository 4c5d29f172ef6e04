#!/usr/bin/env bash
# Queries benchmark (issue "Queries"): `hubctl instance find` on `hubctl daemon` with
# 100,000 instances of about 200 bytes indexed on name and n: an indexed equality, an
# indexed range of 10 and an unindexed criterion, each against `instance get` of one ID,
# interleaved round by round; the same finds by revision REV's build, which evaluates
# queries itself by paging through the collection; and the daemon's memory while one
# find returns all 100,000. Builds like a release.
#
#   bench/queries.sh --baseline REV [-n 100000] [-rounds 7]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--baseline" ] || { echo "usage: bench/queries.sh --baseline REV [ARGS...]" >&2; exit 2; }
source bench/builds.sh "$@"
go run ./bench/queries -hubctl "$out/hubctl" "${baseline_args[@]}" "${rest[@]}"
