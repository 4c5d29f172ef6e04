#!/usr/bin/env bash
# Writes the release's generated files (goreleaser's before hook; see .goreleaser.yml):
#   completions/hubctl.bash, hubctl.zsh, hubctl.fish   from the built binary's `completion`
#   manpages/hubctl.1.gz, hubctl-*.1.gz                from the command tree (internal/mangen)
# Neither is committed (.gitignore). Usage: scripts/completions.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-dev}

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
# Built as go vet's packages are (no CGO_ENABLED=0): the binary only prints completions,
# and test.sh has then compiled every package for this configuration already.
go build -o "$bin/hubctl" .

mkdir -p completions
for shell in bash zsh fish; do
  "$bin/hubctl" completion "$shell" > "completions/hubctl.$shell"
done

rm -rf manpages
go run ./internal/mangen -dir manpages -version "$version"
# -n: no name or time stamp in the archive, so the same pages give the same bytes.
gzip -9n manpages/*.1

echo "wrote completions/hubctl.{bash,zsh,fish} and $(ls manpages | wc -l) man pages in manpages/" >&2
