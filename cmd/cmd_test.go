package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/config"
	"github.com/hubctl/hubctl/pkg/iostreams"
	"github.com/hubctl/hubctl/pkg/keystore"
)

// run executes hubctl in-process with the given stdin, as if stdin and stdout were
// terminals when tty is set, and returns stdout, stderr and the exit code.
func run(t *testing.T, tty bool, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := iostreams.Test(strings.NewReader(stdin), &out, &errOut)
	io.SetTTY(tty, tty)
	root := NewRootCmd(io)
	root.SetArgs(args)
	ctx := context.Background()
	err := root.ExecuteContext(ctx)
	if err != nil {
		printError(&errOut, ctx, err)
	}
	return out.String(), errOut.String(), exitCode(ctx, err)
}

func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	for _, k := range config.KeyNames() {
		t.Setenv(config.EnvName(k), "")
	}
	t.Setenv(config.EnvConfig, "")
	t.Setenv(config.EnvProfile, "")
	t.Setenv(EnvPassphrase, "")
	return home
}

func keyFile(home, name string) string {
	return filepath.Join(home, "data", "hubctl", "keystore", name+".json")
}

func TestRemoveAsksOnATerminal(t *testing.T) {
	home := isolate(t)
	if _, stderr, code := run(t, false, "", "identity", "new", "alice"); code != 0 {
		t.Fatalf("identity new: %d %s", code, stderr)
	}

	// Declining keeps the identity and exits 1.
	_, stderr, code := run(t, true, "n\n", "identity", "rm", "alice")
	if code != ExitError || !strings.Contains(stderr, "Remove identity alice?") || !strings.Contains(stderr, "Nothing was changed.") {
		t.Fatalf("decline: code %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(keyFile(home, "alice")); err != nil {
		t.Fatalf("declined removal removed the file: %v", err)
	}
	if strings.Contains(stderr, "hubctl:") {
		t.Errorf("a declined confirmation is not an error message: %q", stderr)
	}

	// Accepting removes it.
	if _, stderr, code := run(t, true, "yes\n", "identity", "rm", "alice"); code != 0 {
		t.Fatalf("accept: code %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(keyFile(home, "alice")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("accepted removal left the file: %v", err)
	}
}

func TestEncryptedPassphrasePrompt(t *testing.T) {
	home := isolate(t)

	// Two different answers: refused, nothing written.
	_, stderr, code := run(t, true, "one\ntwo\n", "identity", "new", "vault", "--encrypt")
	if code != ExitUsage || !strings.Contains(stderr, "the passphrases do not match") {
		t.Fatalf("mismatch: code %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(keyFile(home, "vault")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed prompt wrote the identity: %v", err)
	}

	// Asked twice, the same answer: created encrypted.
	_, stderr, code = run(t, true, "s3cret\ns3cret\n", "identity", "new", "vault", "--encrypt", "-o", "json")
	if code != 0 {
		t.Fatalf("create: code %d, stderr %q", code, stderr)
	}
	if n := strings.Count(stderr, "assphrase"); n != 2 {
		t.Errorf("want two passphrase prompts, got %d: %q", n, stderr)
	}
	if strings.Contains(stderr, "s3cret") {
		t.Errorf("the passphrase was echoed: %q", stderr)
	}

	// Asked once to open; a wrong one is exit 4.
	_, stderr, code = run(t, true, "nope\n", "identity", "export", "vault", "--out", filepath.Join(home, "v.key"))
	if code != ExitAuth || !strings.Contains(stderr, "wrong passphrase for identity vault") {
		t.Fatalf("wrong passphrase: code %d, stderr %q", code, stderr)
	}
	if _, stderr, code = run(t, true, "s3cret\n", "identity", "export", "vault", "--out", filepath.Join(home, "v.key")); code != 0 {
		t.Fatalf("right passphrase: code %d, stderr %q", code, stderr)
	}
}

func TestExportRefusesTerminal(t *testing.T) {
	isolate(t)
	if _, stderr, code := run(t, false, "", "identity", "new", "alice"); code != 0 {
		t.Fatalf("identity new: %s", stderr)
	}
	stdout, stderr, code := run(t, true, "", "identity", "export", "alice")
	if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "refusing to print the private key of alice to a terminal") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, _, code = run(t, true, "", "identity", "export", "alice", "--force")
	if code != 0 || !strings.Contains(stdout, `"privateKey"`) {
		t.Fatalf("--force: code %d, stdout %q", code, stdout)
	}
}

func TestImportPromptsForKeyOnATerminal(t *testing.T) {
	isolate(t)
	sk, err := keystore.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := keystore.EncodePrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := keystore.EncodePublicKey(sk.GetPublic())
	stdout, stderr, code := run(t, true, raw+"\n", "identity", "import", "typed")
	if code != 0 || !strings.Contains(stderr, "Private key for typed:") || !strings.Contains(stdout, pub) {
		t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if strings.Contains(stderr, raw) {
		t.Errorf("the private key was echoed")
	}
}

func TestExitCodes(t *testing.T) {
	bg := context.Background()
	canceled, cancel := context.WithCancel(bg)
	cancel()
	cases := []struct {
		ctx  context.Context
		err  error
		want int
	}{
		{bg, nil, ExitOK},
		{bg, errors.New("boom"), ExitError},
		{bg, usageErrorf("bad"), ExitUsage},
		{bg, fmt.Errorf("wrapped: %w", keystore.ErrInvalidName), ExitUsage},
		{bg, fmt.Errorf("wrapped: %w", keystore.ErrInvalidKey), ExitUsage},
		{bg, &config.FileError{Path: "f", Line: 1, Msg: "m"}, ExitUsage},
		{bg, fmt.Errorf("x: %w", &config.ValueError{Key: "timeout"}), ExitUsage},
		{bg, config.ErrUnknownProfile, ExitNotFound}, // since 74540c0
		{bg, fmt.Errorf("identity x %w", keystore.ErrNotFound), ExitNotFound},
		{bg, keystore.ErrNoDefault, ExitNotFound},
		{bg, fmt.Errorf("%w for identity x", keystore.ErrWrongPassphrase), ExitAuth},
		{bg, withCode(ExitUnreachable, errors.New("cannot reach")), ExitUnreachable},
		{bg, context.Canceled, ExitInterrupted},
		{canceled, errors.New("read: interrupted system call"), ExitInterrupted},
	}
	for _, c := range cases {
		if got := exitCode(c.ctx, c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestPrintErrorIsOneLine(t *testing.T) {
	var buf bytes.Buffer
	printError(&buf, context.Background(), errors.New("first line\nsecond   line"))
	if got, want := buf.String(), "hubctl: first line second line\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	buf.Reset()
	printError(&buf, context.Background(), withCode(ExitError, errSilent))
	if buf.Len() != 0 {
		t.Errorf("a silent error printed %q", buf.String())
	}
}

func TestHelpTopicAndEveryCommandDocumented(t *testing.T) {
	isolate(t)
	stdout, _, code := run(t, false, "", "help", "exit-codes")
	if code != 0 || !strings.Contains(stdout, "130  interrupted") {
		t.Fatalf("help exit-codes: %d %q", code, stdout)
	}
	root := NewRootCmd(iostreams.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}))
	for _, c := range root.Commands() {
		if c.Short == "" {
			t.Errorf("command %q has no short help", c.Name())
		}
		for _, sub := range c.Commands() {
			if sub.Short == "" {
				t.Errorf("command %q has no short help", sub.CommandPath())
			}
		}
	}
}

// Every group suggests the same way: "lst" is one edit from list (and its alias ls), two
// from get or set, so every group with a list command suggests list, and only list.
func TestSuggestionsEveryGroup(t *testing.T) {
	isolate(t)
	root := NewRootCmd(iostreams.Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}))
	var groups []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasAvailableSubCommands() {
			groups = append(groups, c)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	withList := 0
	for _, g := range groups {
		path := strings.Fields(g.CommandPath())[1:]
		if sub, _, err := g.Find([]string{"list"}); err == nil && sub != g {
			withList++
			_, stderr, code := run(t, false, "", append(path, "lst")...)
			want := fmt.Sprintf("hubctl: unknown command \"lst\" for %q; did you mean \"list\"? Run '%s --help' for usage\n", g.CommandPath(), g.CommandPath())
			if code != ExitUsage || stderr != want {
				t.Errorf("%s lst: exit %d, stderr %q; want exit 2, %q", g.CommandPath(), code, stderr, want)
			}
		}
		// A swap of two letters of any subcommand's name suggests that name alone.
		for _, sub := range g.Commands() {
			name := sub.Name()
			if !sub.IsAvailableCommand() || len(name) < 4 || name[1] == name[2] {
				continue
			}
			typo := name[:1] + name[2:3] + name[1:2] + name[3:]
			_, stderr, code := run(t, false, "", append(path, typo)...)
			if want := fmt.Sprintf("; did you mean %q? Run '", name); code != ExitUsage || !strings.Contains(stderr, want) {
				t.Errorf("%s %s: exit %d, stderr %q; want exit 2 and %q", g.CommandPath(), typo, code, stderr, want)
			}
		}
	}
	if withList < 5 {
		t.Fatalf("found %d groups with a list command, want identity, keys, db, collection and instance", withList)
	}

	// Nothing near enough: no suggestion, rather than "get" for "lst".
	for _, args := range [][]string{{"token", "lst"}, {"config", "lst"}, {"net", "lst"}, {"nosuchcommand"}, {"instance", ""}} {
		_, stderr, code := run(t, false, "", args...)
		if code != ExitUsage || strings.Contains(stderr, "did you mean") || !strings.HasSuffix(stderr, " --help' for usage\n") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and no suggestion", args, code, stderr)
		}
	}
	// Prefixes first, every one of them; a help topic is suggested too.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"instanc"}, `did you mean "instance"?`},
		{[]string{"i"}, `did you mean "identity" or "instance"?`},
		{[]string{"db", "craete"}, `did you mean "create"?`},
		{[]string{"exitcodes"}, `did you mean "exit-codes"?`},
		{[]string{"identity", "remov"}, `did you mean "rm"?`}, // an alias of rm,
	} {
		_, stderr, code := run(t, false, "", c.args...)
		if code != ExitUsage || !strings.Contains(stderr, "; "+c.want+" Run '") {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, stderr, c.want)
		}
	}
}

// An unknown help topic is a usage error that says so, where cobra printed the root help
// and exited 0; known topics and commands still print their help.
func TestHelpUnknownTopic(t *testing.T) {
	isolate(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "exitcodes"}, `hubctl: unknown help topic "exitcodes"; did you mean "exit-codes"? Run 'hubctl --help' for usage` + "\n"},
		{[]string{"help", "db", "craete"}, `hubctl: unknown help topic "db craete"; did you mean "db create"? Run 'hubctl db --help' for usage` + "\n"},
		{[]string{"help", "frob"}, `hubctl: unknown help topic "frob"; run 'hubctl --help' for usage` + "\n"},
		{[]string{"help", "db", "create", "extra"}, `hubctl: unknown help topic "db create extra"; run 'hubctl db create --help' for usage` + "\n"},
	} {
		stdout, stderr, code := run(t, false, "", c.args...)
		if code != ExitUsage || stdout != "" || stderr != c.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2, stderr %q", c.args, code, stdout[:min(len(stdout), 80)], stderr, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "db", "create"}, "hubctl db create [flags]"},
		{[]string{"help", "exit-codes"}, "130  interrupted"},
		{[]string{"help"}, "Available Commands:"},
		{[]string{"help", "instance"}, "--help"},
	} {
		stdout, stderr, code := run(t, false, "", c.args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, c.want) {
			t.Errorf("%v: exit %d, stderr %q, stdout lacks %q:\n%s", c.args, code, stderr, c.want, stdout)
		}
	}
}
