#!/usr/bin/env bash
# The whole test suite: formatting, vet, and every test with the race detector, including
# the testscript end-to-end scripts in testdata/script (which run the real hubctl binary).
# It installs what the tests need itself, so it runs on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

go mod download

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './vendor/*'))
if [ -n "$unformatted" ]; then
  printf 'gofmt would change:\n%s\n' "$unformatted" >&2
  exit 1
fi

go vet ./...
go test -race -count=1 ./...
