// Package release holds the project's checks of its release configuration,
// .goreleaser.yml, as tests: goreleaser cannot run here, so the tests validate the file
// against goreleaser's JSON Schema (../shared/schemas/goreleaser.schema.json beside the
// repository), check what the project relies on in it (targets, ldflags, archive and
// package contents), and cross-compile every GOOS/GOARCH pair it names. Cross-compiling
// takes about a minute per target on a cold build cache, so it and the check of the
// generated release files run only with HUBCTL_RELEASE_CHECKS=1: a step of its own in
// scripts/test.sh, after scripts/completions.sh.
package release
