//go:build !windows

package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// terminal runs hubctl on a real pseudo-terminal, as a person at a shell would.
type terminal struct {
	t    *testing.T
	f    *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	seen bytes.Buffer
	done chan struct{}
}

func startTerminal(t *testing.T, env []string, args ...string) *terminal {
	t.Helper()
	prog, err := exec.LookPath("hubctl") // put on PATH by testscript.Main in TestMain
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog, args...)
	cmd.Env = env
	f, err := pty.Start(cmd)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	term := &terminal{t: t, f: f, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { f.Close() })
	return term
}

// expect waits (bounded) until the terminal has shown want.
func (term *terminal) expect(want string) {
	term.t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // scrypt under -race is slow, never hangs forever
	for time.Now().Before(deadline) {
		if strings.Contains(term.screen(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.t.Fatalf("terminal never showed %q; it showed:\n%s", want, term.screen())
}

func (term *terminal) screen() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.seen.String()
}

func (term *terminal) send(s string) {
	if _, err := io.WriteString(term.f, s); err != nil {
		term.t.Fatal(err)
	}
}

func (term *terminal) wait() int {
	term.t.Helper()
	err := term.cmd.Wait()
	<-term.done
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		term.t.Fatal(err)
	}
	return 0
}

func terminalEnv(t *testing.T, extra ...string) []string {
	home := t.TempDir()
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"TERM=xterm",
	}, extra...)
}

// On a terminal the passphrase is asked twice, never echoed, and the table header is bold;
// with NO_COLOR it is not.
func TestTerminalPassphraseAndColour(t *testing.T) {
	env := terminalEnv(t)
	term := startTerminal(t, env, "identity", "new", "vault", "--encrypt")
	term.expect("Passphrase for identity vault: ")
	term.send("hunter2-but-longer\r")
	term.expect("Repeat the passphrase: ")
	term.send("hunter2-but-longer\r")
	if code := term.wait(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, term.screen())
	}
	screen := term.screen()
	if strings.Contains(screen, "hunter2") {
		t.Fatalf("the passphrase was echoed:\n%s", screen)
	}
	if !strings.Contains(screen, "\x1b[1mNAME") {
		t.Errorf("no bold header on a terminal:\n%q", screen)
	}

	plain := startTerminal(t, append(env, "NO_COLOR=1"), "identity", "list")
	if code := plain.wait(); code != 0 {
		t.Fatalf("identity list exit %d:\n%s", code, plain.screen())
	}
	if s := plain.screen(); strings.Contains(s, "\x1b[") || !strings.Contains(s, "vault") {
		t.Errorf("NO_COLOR output has escape codes or lacks the identity:\n%q", s)
	}
}

// A destructive command on a terminal asks, and a refusal changes nothing.
func TestTerminalConfirmation(t *testing.T) {
	env := terminalEnv(t)
	newID := startTerminal(t, env, "identity", "new", "alice")
	if code := newID.wait(); code != 0 {
		t.Fatalf("identity new exit %d:\n%s", code, newID.screen())
	}
	rm := startTerminal(t, env, "identity", "rm", "alice")
	rm.expect("Remove identity alice?")
	rm.send("n\r")
	if code := rm.wait(); code != 1 {
		t.Fatalf("declined rm exit %d, want 1:\n%s", code, rm.screen())
	}
	show := startTerminal(t, env, "identity", "show", "alice")
	if code := show.wait(); code != 0 {
		t.Fatalf("alice is gone after a declined rm:\n%s", show.screen())
	}
}
