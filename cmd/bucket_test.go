package cmd

import (
	"bytes"
	"context"
	"io"
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

// runBucket is run for bucket commands, closing what the command opened (the embedded
// node) before the next.
func runBucket(t *testing.T, tty bool, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runMail(t, tty, stdin, args...)
}

func mustBucket(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, code := runBucket(t, false, "", args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	return out
}

// Destructive commands ask on a terminal: a declined rm or rm-path changes nothing, an
// accepted one goes ahead (embedded node).
func TestBucketOnATerminal(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(file, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustBucket(t, "identity", "new", "alice")
	mustBucket(t, "bucket", "create", "site")
	mustBucket(t, "bucket", "push", "site", file)

	_, stderr, code := runBucket(t, true, "n\n", "bucket", "rm-path", "site/a.txt")
	if code != ExitError || !strings.Contains(stderr, "Remove a.txt (a file) from bucket site?") || !strings.Contains(stderr, "Nothing was changed.") {
		t.Fatalf("declined rm-path: %d %q", code, stderr)
	}
	if out := mustBucket(t, "bucket", "cat", "site/a.txt"); out != "a\n" {
		t.Fatalf("after a declined rm-path: %q", out)
	}
	_, stderr, code = runBucket(t, true, "n\n", "bucket", "rm", "site")
	if code != ExitError || !strings.Contains(stderr, "Delete bucket site (bafz") {
		t.Fatalf("declined rm: %d %q", code, stderr)
	}
	mustBucket(t, "bucket", "show", "site")
	if _, stderr, code := runBucket(t, true, "y\n", "bucket", "rm-path", "site/a.txt"); code != 0 || !strings.Contains(stderr, "Removed a.txt from bucket site") {
		t.Fatalf("accepted rm-path: %d %q", code, stderr)
	}
	if _, stderr, code := runBucket(t, true, "y\n", "bucket", "rm", "site"); code != 0 || !strings.Contains(stderr, "Deleted bucket site") {
		t.Fatalf("accepted rm: %d %q", code, stderr)
	}
	if _, _, code := runBucket(t, false, "", "bucket", "show", "site"); code != ExitNotFound {
		t.Fatalf("show after rm: exit %d", code)
	}
}

// A pull that fails part way leaves the file it was replacing as it was and no temporary
// file behind (embedded node: the pull is cancelled after its first chunk; the file is
// several of the server's 1 MiB chunks).
func TestBucketPullIsAtomic(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mustBucket(t, "identity", "new", "alice")
	mustBucket(t, "bucket", "create", "site")
	mustBucket(t, "bucket", "push", "site", big)

	out := t.TempDir()
	target := filepath.Join(out, "big.bin")
	if err := os.WriteFile(target, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, f := newRoot(iostreams.Test(strings.NewReader(""), &strings.Builder{}, &strings.Builder{}))
	t.Cleanup(func() { _ = f.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := (&bucketOptions{}).open(ctx, f, "site")
	if err != nil {
		t.Fatal(err)
	}
	got := int64(0)
	err = pullFile(ctx, s, "", "big.bin", target, nil, func(n int64) { got = n; cancel() })
	if err == nil || got == 0 || got >= int64(len(data)) {
		t.Fatalf("cancelled pull: %v after %d bytes", err, got)
	}
	if b, _ := os.ReadFile(target); string(b) != "old\n" {
		t.Fatalf("the file a failed pull was replacing now holds %d bytes", len(b))
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	if err := pullFile(t.Context(), s, s.b.Root, "big.bin", target, nil, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); !bytes.Equal(b, data) {
		t.Fatal("a complete pull differs from what was pushed")
	}
}

// A pull's writeback writes every byte in order across its background syncs, and a
// background sync that fails fails the pull (a later sync may not say so again).
func TestBucketPullWriteback(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "pulled"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := newWriteback(f)
	want := bytes.Repeat([]byte("0123456789abcdef"), (2*writebackEvery+12345)/16)
	for b := want; len(b) > 0; {
		n := min(len(b), 1<<20)
		if _, err := w.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(f.Name()); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(want))
	}

	// A pipe cannot be synced: the background sync fails, and finish says so.
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { _, _ = io.Copy(io.Discard, r) }()
	w = newWriteback(pw)
	if _, err := w.Write(make([]byte, writebackEvery)); err != nil {
		t.Fatal(err)
	}
	err = w.finish()
	pw.Close()
	if err == nil || !strings.HasPrefix(err.Error(), "sync: ") {
		t.Fatalf("a failed background sync: finish returned %v", err)
	}
}
