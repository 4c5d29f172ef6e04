#!/usr/bin/env bash
# hubctl builds with a copy of google.golang.org/grpc v1.39.0 (the version go-threads
# needs) in third_party/grpc, patched by third_party/grpc.patch: one line, so that a call
# the tap handle refuses releases its context and the timer of its grpc-timeout (without
# it, every call refused for its API key held ~370 bytes until the client's deadline:
# bench/preauth.sh measured 2 GB under an attack without keys). The copy holds the
# module's Go sources, without tests.
#
#   scripts/vendor-grpc.sh          rebuild the copy from the module proxy's v1.39.0
#   scripts/vendor-grpc.sh --check  fail unless the copy is exactly that (run by the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.39.0
src=$(go mod download -json "google.golang.org/grpc@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "vendor-grpc: could not download google.golang.org/grpc@$version" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Every package, without tests: go mod tidy looks for the packages dependencies' tests
# import too (google.golang.org/grpc/benchmark/latency, for one).
cp "$src/LICENSE" "$src/go.mod" "$out/"
(cd "$src" && find . -name '*.go' ! -name '*_test.go' ! -path '*/testdata/*') | while read -r f; do
  mkdir -p "$out/$(dirname "$f")"
  cp "$src/$f" "$out/$f"
done
chmod -R u+w "$out"
(cd "$out" && patch -s -p1 < "$OLDPWD/third_party/grpc.patch")
if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$out" third_party/grpc >/dev/null; then
    diff -r "$out" third_party/grpc | head -20 >&2
    echo "vendor-grpc: third_party/grpc is not grpc $version with third_party/grpc.patch: run scripts/vendor-grpc.sh" >&2
    exit 1
  fi
  exit 0
fi
rm -rf third_party/grpc
cp -r "$out" third_party/grpc
