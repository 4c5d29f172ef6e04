package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubctl/hubctl/pkg/iostreams"
)

// runClosed runs hubctl in-process like run, and closes what the command opened (the
// embedded node), as Main does, so the next command can open it again.
func runClosed(t *testing.T, tty bool, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := iostreams.Test(strings.NewReader(stdin), &out, &errOut)
	io.SetTTY(tty, tty)
	root, f := newRoot(io)
	root.SetArgs(args)
	ctx := context.Background()
	err := root.ExecuteContext(ctx)
	if cerr := f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		printError(&errOut, ctx, err)
	}
	return out.String(), errOut.String(), exitCode(ctx, err)
}

// On a terminal, delete asks; "no" keeps the collection and exits 1, "yes" deletes it.
func TestCollectionDeleteAsksOnATerminal(t *testing.T) {
	home := isolate(t)
	schemaFile := filepath.Join(home, "s.json")
	if err := os.WriteFile(schemaFile, []byte(`{"type":"object","properties":{"_id":{"type":"string"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"db", "create", "--name", "demo"},
		{"collection", "create", "demo", "people", "--schema", schemaFile},
	} {
		if _, stderr, code := runClosed(t, false, "", args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
	}

	_, stderr, code := runClosed(t, true, "n\n", "collection", "delete", "demo", "people")
	if code != ExitError || !strings.Contains(stderr, "Delete collection people from database demo (") ||
		!strings.Contains(stderr, "Nothing was changed.") {
		t.Fatalf("declined delete: %d %q", code, stderr)
	}
	if stdout, stderr, code := runClosed(t, false, "", "collection", "list", "demo", "-o", "json"); code != 0 || !strings.Contains(stdout, `"name": "people"`) {
		t.Fatalf("after declining: %d %s %s", code, stdout, stderr)
	}

	_, stderr, code = runClosed(t, true, "y\n", "collection", "delete", "demo", "people")
	if code != 0 || !strings.Contains(stderr, "Deleted collection people") {
		t.Fatalf("confirmed delete: %d %q", code, stderr)
	}
	if stdout, _, _ := runClosed(t, false, "", "collection", "list", "demo", "-o", "json"); strings.TrimSpace(stdout) != "[]" {
		t.Errorf("after delete: %s", stdout)
	}
}

// --schema - on a terminal says where it reads from, so a user is not left waiting.
func TestSchemaFromTerminalStdinSaysSo(t *testing.T) {
	isolate(t)
	_, stderr, code := runClosed(t, true, "{", "collection", "create", "demo", "people", "--schema", "-")
	if code != ExitUsage || !strings.Contains(stderr, "Reading the schema from standard input; end with Ctrl-D.") ||
		!strings.Contains(stderr, "hubctl: stdin:1:2: invalid JSON") {
		t.Errorf("%d %q", code, stderr)
	}
}
