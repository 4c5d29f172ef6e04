# Sourced by the bench/*.sh scripts that compare builds: `source bench/builds.sh "$@"`
# builds the work tree's hubctl like a release into $out/hubctl and, when the arguments
# start with --baseline REV, revision REV's into $out/hubctl-baseline. It sets out (a
# temporary directory, removed on exit), baseline_args (the driver's -baseline flag, or
# nothing) and rest (the remaining arguments).
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CGO_ENABLED=0
go build -trimpath -ldflags "-s -w" -o "$out/hubctl" .
baseline_args=()
rest=("$@")
if [ "${1:-}" = "--baseline" ]; then
  rev=${2:?--baseline needs a revision}
  rest=("${@:3}")
  mkdir "$out/baseline"
  git archive "$rev" | tar -x -C "$out/baseline"
  (cd "$out/baseline" && go build -trimpath -ldflags "-s -w" -o "$out/hubctl-baseline" .)
  baseline_args=(-baseline "$out/hubctl-baseline")
fi
