package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubctl/hubctl/pkg/iostreams"
)

// BUCKET[/PATH] is split at the first slash and its path checked before any call: what
// the bucket cannot hold is a usage error (exit 2) naming the path and the rule.
func TestParseBucketRef(t *testing.T) {
	ok := map[string]bucketRef{
		"site":            {bucket: "site"},
		"site/":           {bucket: "site"},
		"site/a/b.txt":    {bucket: "site", path: "a/b.txt"},
		"site/a/b/":       {bucket: "site", path: "a/b", dir: true},
		"bafzaajai/x.txt": {bucket: "bafzaajai", path: "x.txt"},
	}
	for in, want := range ok {
		got, err := parseBucketRef(in)
		if err != nil || got != want {
			t.Errorf("parseBucketRef(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, rule := range map[string]string{
		"site/../x":         `".." are not allowed`,
		"site/a/./b":        `".." are not allowed`,
		"site/a//b":         "empty path segments",
		"site/.textileseed": "paths containing .textileseed",
		"site/a/\x00":       "NUL",
		"/x":                "invalid bucket",
		"":                  "invalid bucket",
	} {
		_, err := parseBucketRef(in)
		if err == nil || !strings.Contains(err.Error(), rule) || exitCode(t.Context(), err) != ExitUsage {
			t.Errorf("parseBucketRef(%q): %v (exit %d), want a usage error about %s", in, err, exitCode(t.Context(), err), rule)
		}
	}
}

// A local tree is read before anything is sent: a name the bucket cannot hold refuses the
// whole push, and what is not a regular file is skipped with a warning.
func TestWalkLocal(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a.txt", "sub/b.txt"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	f := newFactory(iostreams.Test(strings.NewReader(""), &strings.Builder{}, &errOut))
	files, err := walkLocal(f, dir, "docs")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, lf := range files {
		got = append(got, lf.rel)
	}
	if strings.Join(got, " ") != "docs/a.txt docs/sub/b.txt" {
		t.Fatalf("walkLocal: %v", got)
	}
	if !strings.Contains(errOut.String(), "skipping "+filepath.Join(dir, "link")+": not a regular file") {
		t.Fatalf("no warning for the link: %q", errOut.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", ".textileseed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := walkLocal(f, dir, ""); err == nil || exitCode(t.Context(), err) != ExitUsage || !strings.Contains(err.Error(), ".textileseed") {
		t.Fatalf("a seed name in the tree: %v", err)
	}
}
