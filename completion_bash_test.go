package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// bashCompletion is Debian's bash-completion package, which cobra's bash script needs
// (_init_completion, _get_comp_words_by_ref).
const bashCompletion = "/usr/share/bash-completion/bash_completion"

// completeInBash sources bash-completion and the generated script in a clean bash, sets
// the variables bash sets on a TAB at the end of the line $2, calls the function the
// script registered for hubctl (as `complete -p` shows it), and prints COMPREPLY.
const completeInBash = `source ` + bashCompletion + `
source "$1"
spec=$(complete -p hubctl)
fn=$(sed -n 's/.* -F \([^ ]*\) .*/\1/p' <<<"$spec")
[[ -n $fn ]] || { echo "no completion function in: $spec" >&2; exit 1; }
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_TYPE=9 # a plain TAB
COMP_KEY=9
COLUMNS=120 # as an interactive shell has it: the script pads descriptions to it
COMPREPLY=()
"$fn" hubctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
`

// TestBashCompletion completes hubctl command lines in a real bash with the script
// `hubctl completion bash` writes, as a user's TAB would.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	if _, err := os.Stat(bashCompletion); err != nil {
		msg := "Debian's bash-completion package is not installed (./scripts/test.sh installs it when run as root)"
		if os.Getenv("HUBCTL_REQUIRE_BASH_COMPLETION") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// testscript.Main put hubctl (this test binary) on PATH; the script runs it from there.
	if _, err := exec.LookPath("hubctl"); err != nil {
		t.Fatalf("hubctl is not on PATH: %v", err)
	}
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"NO_COLOR=1",
	}
	hubctl := func(args ...string) string {
		t.Helper()
		c := exec.Command("hubctl", args...)
		c.Env = env
		out, err := c.Output()
		if err != nil {
			t.Fatalf("hubctl %s: %v\n%s", strings.Join(args, " "), err, stderrOf(err))
		}
		return string(out)
	}
	hubctl("identity", "new", "alice")
	hubctl("identity", "new", "bob")
	id := strings.TrimSpace(hubctl("db", "create", "--name", "demo"))
	script := filepath.Join(home, "hubctl.bash")
	if err := os.WriteFile(script, []byte(hubctl("completion", "bash")), 0o600); err != nil {
		t.Fatal(err)
	}

	complete := func(line string) []string {
		t.Helper()
		c := exec.Command(bash, "--norc", "--noprofile", "-c", completeInBash, "bash", script, line)
		c.Env = env
		out, err := c.Output()
		if err != nil {
			t.Fatalf("complete %q: %v\n%s", line, err, stderrOf(err))
		}
		var words []string
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			if l != "" {
				words = append(words, l)
			}
		}
		return words
	}
	// With several candidates the script shows each with its description: "alice  (default, ...)".
	firstWords := func(reply []string) []string {
		var w []string
		for _, r := range reply {
			w = append(w, strings.Fields(r)[0])
		}
		return w
	}

	for _, tc := range []struct {
		line       string
		want       []string // the candidates, in order
		exact      bool     // COMPREPLY is want itself: one candidate, inserted as is
		descriptor string   // a description shown with the candidates
	}{
		{line: "hubctl identity show ", want: []string{"alice", "bob"}, descriptor: "(default, bbaa"},
		{line: "hubctl identity show a", want: []string{"alice"}, exact: true},
		{line: "hubctl id show b", want: []string{"bob"}, exact: true},
		{line: "hubctl identity rm alice ", want: []string{"bob"}, exact: true},
		{line: "hubctl db info ", want: []string{id}, exact: true},
		{line: "hubctl db info bafk", want: []string{id}, exact: true},
		{line: "hubctl --output y", want: []string{"yaml"}, exact: true},
		{line: "hubctl db list --identity ", want: []string{"alice", "bob"}},
	} {
		reply := complete(tc.line)
		if tc.exact {
			if !slices.Equal(reply, tc.want) {
				t.Errorf("%q: COMPREPLY %q, want %q", tc.line, reply, tc.want)
			}
			continue
		}
		if got := firstWords(reply); !slices.Equal(got, tc.want) {
			t.Errorf("%q: COMPREPLY %q, want the candidates %q", tc.line, reply, tc.want)
		}
		if tc.descriptor != "" && !strings.Contains(strings.Join(reply, "\n"), tc.descriptor) {
			t.Errorf("%q: COMPREPLY %q shows no description %q", tc.line, reply, tc.descriptor)
		}
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
