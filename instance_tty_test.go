//go:build !windows

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On a terminal, instance create draws a progress bar on standard error and instance data
// is a table; the same commands piped print neither (see the instance_* scripts).
func TestTerminalInstances(t *testing.T) {
	env := terminalEnv(t, "NO_COLOR=1")
	dir := t.TempDir()
	schema := filepath.Join(dir, "schema.json")
	if err := os.WriteFile(schema, []byte(`{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"},"n":{"type":"integer"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&lines, `{"_id":"i%05d","name":"instance %d","n":%d}`+"\n", i, i, i)
	}
	data := filepath.Join(dir, "data.jsonl")
	if err := os.WriteFile(data, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	hubctlRun(t, env, "db", "create", "--name", "demo")
	hubctlRun(t, env, "collection", "create", "demo", "items", "--schema", schema)

	create := startTerminal(t, env, "instance", "create", "demo", "items", data, "--batch-size", "100")
	if code := create.wait(); code != 0 {
		t.Fatalf("instance create exit %d:\n%s", code, create.screen())
	}
	screen := create.screen()
	for _, want := range []string{"creating", "instances", "%", "Created 3000 instances in items.", "i02999"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal did not show %q:\n%q", want, screen[:min(len(screen), 3000)])
		}
	}

	list := startTerminal(t, env, "instance", "list", "demo", "items", "--limit", "2")
	if code := list.wait(); code != 0 {
		t.Fatalf("instance list exit %d:\n%s", code, list.screen())
	}
	want := "_ID     N  NAME\r\ni00000  0  instance 0\r\ni00001  1  instance 1\r\n"
	if got := list.screen(); got != want {
		t.Errorf("instance list on a terminal =\n%q\nwant\n%q", got, want)
	}
	get := startTerminal(t, env, "instance", "get", "demo", "items", "i00007")
	if code := get.wait(); code != 0 {
		t.Fatalf("instance get exit %d:\n%s", code, get.screen())
	}
	if got, want := get.screen(), "_id:   i00007\r\nn:     7\r\nname:  instance 7\r\n"; got != want {
		t.Errorf("instance get on a terminal =\n%q\nwant\n%q", got, want)
	}
	// -o jsonl is honoured on a terminal too.
	jsonl := startTerminal(t, env, "instance", "get", "demo", "items", "i00007", "-o", "jsonl")
	jsonl.wait()
	if got := jsonl.screen(); !strings.HasPrefix(got, `{"_id":"i00007",`) || strings.Count(got, "\n") != 1 {
		t.Errorf("instance get -o jsonl on a terminal = %q", got)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}
