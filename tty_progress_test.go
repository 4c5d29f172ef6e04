//go:build !windows

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The progress bar of instance create ends at 100% with the whole count, on a line of its
// own above the summary: a bar that stops at 99% looks like a write that stopped short.
func TestTerminalProgressEndsAtFull(t *testing.T) {
	env := terminalEnv(t, "NO_COLOR=1")
	dir := t.TempDir()
	schema := filepath.Join(dir, "schema.json")
	if err := os.WriteFile(schema, []byte(`{"type":"object","properties":{"_id":{"type":"string"},"n":{"type":"integer"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&lines, `{"_id":"i%05d","n":%d}`+"\n", i, i)
	}
	data := filepath.Join(dir, "data.jsonl")
	if err := os.WriteFile(data, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	hubctlRun(t, env, "db", "create", "--name", "demo")
	hubctlRun(t, env, "collection", "create", "demo", "items", "--schema", schema)

	percent := regexp.MustCompile(`(\d+)%`)
	for _, c := range []struct {
		args    []string
		summary string
	}{
		{[]string{"instance", "create", "demo", "items", data, "--batch-size", "50"}, "Created 500 instances in items."},
		{[]string{"instance", "save", "demo", "items", data, "--batch-size", "50"}, "Saved 500 instances in items."},
		{[]string{"instance", "create", "demo", "items", data, "--dry-run"}, data + ": 500 instances match the schema of items"},
	} {
		// Standard output is the same terminal: the IDs come between frames of the bar.
		term := startTerminal(t, env, c.args...)
		if code := term.wait(); code != 0 {
			t.Fatalf("%s: exit %d:\n%s", c.args[1], code, tail(term.screen()))
		}
		screen := term.screen()
		at := strings.Index(screen, c.summary)
		if at < 0 {
			t.Fatalf("%s: no summary %q:\n%q", c.args[1], c.summary, tail(screen))
		}
		frames := percent.FindAllStringSubmatch(screen[:at], -1)
		if len(frames) == 0 {
			t.Fatalf("%s: no progress bar before the summary:\n%q", c.args[1], tail(screen))
		}
		if last := frames[len(frames)-1][1]; last != "100" {
			t.Errorf("%s: the bar's last frame shows %s%%, want 100%%:\n%q", c.args[1], last, tail(screen[:at]))
		}
		// The final frame stays, with the count, and the summary starts a line of its own.
		final := screen[:at]
		final = final[strings.LastIndex(final, "\r")+1:]
		if final != "" && final != "\n" {
			t.Errorf("%s: the summary does not start a line of its own: %q", c.args[1], final)
		}
		bar := strings.TrimRight(screen[:at], "\r\n")
		bar = bar[strings.LastIndex(bar, "\r")+1:]
		if !strings.Contains(bar, "500 instances") || !strings.Contains(bar, "100%") {
			t.Errorf("%s: the finished bar is %q, want the count and 100%%", c.args[1], bar)
		}
	}
}
