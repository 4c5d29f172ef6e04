#!/usr/bin/env bash
# The whole test suite: formatting, vet, and every test with the race detector, including
# the testscript end-to-end scripts in testdata/script (which run the real hubctl binary).
# It installs what the tests need itself, so it runs on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

go mod download

# The bash completion test (completion_bash_test.go) runs the generated script in a real
# bash, which needs Debian's bash-completion package: install it when missing and we can.
# CI must run that test rather than skip it.
if [ ! -f /usr/share/bash-completion/bash_completion ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bash-completion >/dev/null
fi
if [ -n "${CI:-}" ]; then
  export HUBCTL_REQUIRE_BASH_COMPLETION=1
fi

# Textile's JS Hub client, for testdata/script/js_*.txtar (compat/js; exact versions in
# its package-lock.json). CI must run those scripts rather than skip them.
if command -v npm >/dev/null; then
  npm ci --prefix compat/js --no-audit --no-fund --ignore-scripts --loglevel=error
fi
if [ -n "${CI:-}" ]; then
  export HUBCTL_REQUIRE_JS_CLIENT=1
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './vendor/*'))
if [ -n "$unformatted" ]; then
  printf 'gofmt would change:\n%s\n' "$unformatted" >&2
  exit 1
fi

./scripts/third-party.sh --check
go vet ./...

# Release checks: the files goreleaser's before hook generates, and every GOOS/GOARCH
# pair .goreleaser.yml names built with CGO_ENABLED=0 (internal/release; five minutes on
# a cold build cache and a busy machine, thirteen before TestCrossCompile built only what
# differs by architecture). They read and write nothing the other tests use, and
# the root package's scripts leave cores idle while they wait on daemons, so they run
# beside the tests rather than after them.
release_log=$(mktemp)
trap 'rm -f "$release_log"' EXIT
(
  ./scripts/completions.sh
  HUBCTL_RELEASE_CHECKS=1 go test -count=1 -timeout 45m -run '^(TestReleaseFiles|TestCrossCompile)$' ./internal/release
) >"$release_log" 2>&1 &
release_pid=$!

# The root package runs every testscript script against the real binary. The scripts
# spend most of their time waiting (on daemons, peers, deadlines), not computing: two at a
# time (go test's default -parallel, GOMAXPROCS) took 563 s under the race detector on an
# idle two-core machine with the cores 15% busy; six at a time, 262 s. Only the scripts
# run in parallel (no other test calls t.Parallel). The timeout stays well above both.
tests=0
go test -race -count=1 -parallel 6 -timeout 30m ./... || tests=$?

release=0
wait "$release_pid" || release=$?
echo "--- release checks (scripts/completions.sh, internal/release):"
cat "$release_log"
if [ "$tests" -ne 0 ] || [ "$release" -ne 0 ]; then
  echo "FAIL: go test exited $tests, the release checks $release" >&2
  exit 1
fi
