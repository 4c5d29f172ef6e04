package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hubctlRun runs hubctl without a terminal and fails the test unless it succeeds.
func hubctlRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	prog, err := exec.LookPath("hubctl") // put on PATH by testscript.Main in TestMain
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hubctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// A batch too large for one of the server's transactions (badger's limit) is sent in
// halves instead of failing: every instance is written once.
func TestInstanceCreateSplitsLargeBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 8000 instances")
	}
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "NO_COLOR=1",
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "XDG_DATA_HOME=" + filepath.Join(home, "data")}
	schema := filepath.Join(home, "schema.json")
	if err := os.WriteFile(schema, []byte(`{"type":"object","properties":{"_id":{"type":"string"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 8000
	var lines strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&lines, `{"_id":"x%05d","note":"%s"}`+"\n", i, strings.Repeat("y", 150))
	}
	data := filepath.Join(home, "data.jsonl")
	if err := os.WriteFile(data, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	hubctlRun(t, env, "db", "create", "--name", "demo")
	hubctlRun(t, env, "collection", "create", "demo", "items", "--schema", schema)
	out := hubctlRun(t, env, "instance", "create", "demo", "items", data, "--batch-size", fmt.Sprint(n))
	if got := strings.Count(out, "\n"); got != n+1 || !strings.Contains(out, fmt.Sprintf("Created %d instances in items.", n)) {
		t.Fatalf("instance create printed %d lines:\n%s", got, out[max(0, len(out)-300):])
	}
	list := hubctlRun(t, env, "instance", "list", "demo", "items")
	if got := strings.Count(list, "\n"); got != n {
		t.Fatalf("listed %d instances, want %d", got, n)
	}
}

// Ctrl-C in the middle of an import stops it with exit 130 and says where: the IDs printed
// are the instances written before the line named, and the batch in flight at that line
// may or may not have been written, as the message says.
func TestInstanceCreateInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("imports until interrupted")
	}
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "NO_COLOR=1",
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "XDG_DATA_HOME=" + filepath.Join(home, "data")}
	schema := filepath.Join(home, "schema.json")
	if err := os.WriteFile(schema, []byte(`{"type":"object","properties":{"_id":{"type":"string"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for i := 0; i < 200000; i++ {
		fmt.Fprintf(&lines, `{"n":%d,"note":"%s"}`+"\n", i, strings.Repeat("y", 100))
	}
	data := filepath.Join(home, "data.jsonl")
	if err := os.WriteFile(data, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	hubctlRun(t, env, "db", "create", "--name", "demo")
	hubctlRun(t, env, "collection", "create", "demo", "items", "--schema", schema)

	prog, _ := exec.LookPath("hubctl")
	cmd := exec.Command(prog, "instance", "create", "demo", "items", data, "--batch-size", "100")
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	ids := 0
	for sc.Scan() {
		ids++
		if ids == 1000 {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit = %v, want 130; stderr: %s", err, stderr.String())
	}
	m := regexp.MustCompile(`^hubctl: interrupted: stopped at \S+data\.jsonl:(\d+); (\d+) instances before \S+data\.jsonl:(\d+) were written; the (\d+) from line (\d+) on may or may not have been \(check with hubctl instance has\)\n$`).
		FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr = %q", stderr.String())
	}
	written, _ := strconv.Atoi(m[2])
	line, _ := strconv.Atoi(m[1])
	inFlight, _ := strconv.Atoi(m[4])
	if written != ids || line != written+1 || m[3] != m[1] || m[5] != m[1] || inFlight != 100 {
		t.Errorf("printed %d IDs; stderr %q", ids, stderr.String())
	}
	// What is stored is what was said: the instances written, perhaps with the batch in flight.
	stored := strings.Count(hubctlRun(t, env, "instance", "list", "demo", "items"), "\n")
	if stored != written && stored != written+inFlight {
		t.Errorf("%d instances stored; the message said %d, and perhaps %d more", stored, written, inFlight)
	}
}

// Ctrl-C while hubctl waits for more input stops it at once (exit 130) and says what was
// written; it used to wait for the input to end, then report success.
func TestInstanceCreateInterruptedWhileReading(t *testing.T) {
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "NO_COLOR=1",
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "XDG_DATA_HOME=" + filepath.Join(home, "data")}
	schema := filepath.Join(home, "schema.json")
	if err := os.WriteFile(schema, []byte(`{"type":"object","properties":{"_id":{"type":"string"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	hubctlRun(t, env, "db", "create", "--name", "demo")
	hubctlRun(t, env, "collection", "create", "demo", "items", "--schema", schema)

	prog, _ := exec.LookPath("hubctl")
	cmd := exec.Command(prog, "instance", "create", "demo", "items", "-", "--batch-size", "2")
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Three instances: a full batch of two is written, the third waits for a partner.
	for i := range 3 {
		if _, err := fmt.Fprintf(stdin, `{"n":%d}`+"\n", i); err != nil {
			t.Fatal(err)
		}
	}
	sc := bufio.NewScanner(stdout)
	for ids := 0; ids < 2; ids++ {
		if !sc.Scan() {
			t.Fatalf("hubctl printed %d IDs before its output ended; stderr: %s", ids, stderr.String())
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute): // a bound for a broken build, not a timing
		_ = cmd.Process.Kill()
		t.Fatalf("hubctl still waiting for input a minute after Ctrl-C; stderr: %s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit = %v, want 130; stderr: %s", err, stderr.String())
	}
	if got, want := stderr.String(), "hubctl: interrupted: stopped; 2 instances were written, none after them\n"; got != want {
		t.Fatalf("stderr = %q, want %q", got, want)
	}
	if stored := strings.Count(hubctlRun(t, env, "instance", "list", "demo", "items"), "\n"); stored != 2 {
		t.Fatalf("%d instances stored, want the 2 written", stored)
	}
}
