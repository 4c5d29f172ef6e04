package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/iostreams"
	"github.com/hubctl/hubctl/pkg/server"
)

// The client's refusal and the server's agree: what hubctl lets through encrypts to at
// most the server's limit. pkg/hub's TestSealOpensWithTextile measures the overhead.
func TestMailLimitIsTheServers(t *testing.T) {
	if hub.MailOverhead != server.MessageBodyOverhead || maxMailText+hub.MailOverhead != server.MaxMessageBody {
		t.Fatalf("hubctl sends up to %d bytes, encrypting to %d; the server takes %d (overhead %d)",
			maxMailText, maxMailText+hub.MailOverhead, server.MaxMessageBody, server.MessageBodyOverhead)
	}
}

// runMail is run, closing what the command opened (the embedded node) before the next.
func runMail(t *testing.T, tty bool, stdin string, args ...string) (string, string, int) {
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

// mail rm asks on a terminal like every destructive command; declining keeps the
// message. A body typed on a terminal is asked for. On the embedded node.
func TestMailOnATerminal(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{
		{"identity", "new", "alice"}, {"identity", "new", "bob"},
		{"--identity", "alice", "mail", "setup"}, {"--identity", "bob", "mail", "setup"},
	} {
		if _, stderr, code := runMail(t, false, "", args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
	}
	id, stderr, code := runMail(t, true, "typed on a terminal\n", "--identity", "alice", "mail", "send", "bob")
	if code != 0 || !strings.Contains(stderr, "Type the message; end it with Ctrl-D.") {
		t.Fatalf("send from a terminal: %d %q", code, stderr)
	}
	id = strings.TrimSpace(id)

	_, stderr, code = runMail(t, true, "n\n", "--identity", "bob", "mail", "rm", id)
	if code != ExitError || !strings.Contains(stderr, "Delete message "+id+" (from alice (") || !strings.Contains(stderr, "from your inbox?") ||
		!strings.Contains(stderr, "Nothing was changed.") || strings.Contains(stderr, "hubctl:") {
		t.Fatalf("declined rm: %d %q", code, stderr)
	}
	if out, stderr, code := runMail(t, false, "", "--identity", "bob", "mail", "read", id); code != 0 || out != "typed on a terminal\n" {
		t.Fatalf("read after a declined rm: %d %q %q", code, out, stderr)
	}
	if _, stderr, code := runMail(t, true, "y\n", "--identity", "bob", "mail", "rm", id); code != 0 || !strings.Contains(stderr, "Deleted message "+id+" from your inbox.") {
		t.Fatalf("accepted rm: %d %q", code, stderr)
	}
	if _, stderr, code := runMail(t, false, "", "--identity", "bob", "mail", "read", id); code != ExitNotFound {
		t.Fatalf("read after rm: %d %q", code, stderr)
	}

	// A body that would drive the terminal is shown escaped there, and as sent elsewhere.
	evil := "clear\x1b[2J\x07\n"
	id, stderr, code = runMail(t, false, evil, "--identity", "alice", "mail", "send", "bob", "-")
	if code != 0 {
		t.Fatalf("send: %d %q", code, stderr)
	}
	id = strings.TrimSpace(id)
	out, stderr, code := runMail(t, true, "", "--identity", "bob", "mail", "read", id)
	if code != 0 || out != `clear\x1b[2J\a`+"\n" || !strings.Contains(stderr, "shown escaped") {
		t.Fatalf("read on a terminal: %d %q %q", code, out, stderr)
	}
	if out, _, code := runMail(t, false, "", "--identity", "bob", "mail", "read", id); code != 0 || out != evil {
		t.Fatalf("read into a pipe: %d %q", code, out)
	}
}

func TestTerminalText(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\n\ttabbed, ünïcode ✓": "plain text\n\ttabbed, ünïcode ✓",
		"\x1b]0;title\x07":                `\x1b]0;title\a`,
		"right\u202eleft":                 `right\u202eleft`,
		"bad \xff byte":                   `bad \xff byte`,
		"cr\r":                            `cr\r`,
	} {
		got, escaped := terminalText([]byte(in))
		if string(got) != want || escaped != (in != want) {
			t.Errorf("terminalText(%q) = %q, %v; want %q", in, got, escaped, want)
		}
	}
}
