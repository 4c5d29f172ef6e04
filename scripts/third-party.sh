#!/usr/bin/env bash
# hubctl builds with patched copies of two upstream modules, in third_party/ (see its
# README), each its published version's Go sources without tests, with one patch, and
# gofmt'd:
#   google.golang.org/grpc v1.39.0          third_party/grpc.patch
#   github.com/textileio/go-threads v1.1.5  third_party/go-threads.patch
# go.mod replaces the modules with the copies.
#
#   scripts/third-party.sh          rebuild the copies from the module proxy's versions
#   scripts/third-party.sh --check  fail unless each copy is exactly that (run by the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
modules=(
  "google.golang.org/grpc v1.39.0 grpc"
  "github.com/textileio/go-threads v1.1.5 go-threads"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for m in "${modules[@]}"; do
  read -r path version dir <<<"$m"
  src=$(go mod download -json "$path@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || { echo "third-party: could not download $path@$version" >&2; exit 1; }
  out="$work/$dir"
  mkdir -p "$out"
  cp "$src/LICENSE" "$src/go.mod" "$out/"
  # Every package, without tests: go mod tidy looks for the packages dependencies' tests
  # import too (google.golang.org/grpc/benchmark/latency, for one).
  (cd "$src" && find . -name '*.go' ! -name '*_test.go' ! -path '*/testdata/*') | while read -r f; do
    mkdir -p "$out/$(dirname "$f")"
    cp "$src/$f" "$out/$f"
  done
  chmod -R u+w "$out"
  (cd "$out" && patch -s -p1 < "$OLDPWD/third_party/$dir.patch")
  # gofmt'd like the rest of the repository (it changes comments and build constraints
  # only: //go:build beside // +build, doc comment indentation), so the copy is still a
  # function of the published sources.
  gofmt -w "$out"
  if [ "${1:-}" = "--check" ]; then
    if ! diff -r "$out" "third_party/$dir" >/dev/null; then
      diff -r "$out" "third_party/$dir" | head -20 >&2
      echo "third-party: third_party/$dir is not $path $version with third_party/$dir.patch: run scripts/third-party.sh" >&2
      status=1
    fi
    continue
  fi
  rm -rf "third_party/$dir"
  cp -r "$out" "third_party/$dir"
done
exit $status
