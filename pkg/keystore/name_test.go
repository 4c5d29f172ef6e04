package keystore

import (
	"regexp"
	"strings"
	"testing"
)

// The hand-written check must accept exactly what the documented expression accepts.
var documentedName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func TestValidNameMatchesDocumentedExpression(t *testing.T) {
	cases := []string{"", "a", "A", "0", "alice", "Team_1.ci-bot", ".hidden", "-dash", "_x", "a/b", "../x",
		"a b", "é", "a\x00", "a\n", strings.Repeat("a", 64), strings.Repeat("a", 65), "x" + strings.Repeat("-", 63)}
	for _, c := range cases {
		if got, want := validName(c), documentedName.MatchString(c); got != want {
			t.Errorf("validName(%q) = %v, want %v", c, got, want)
		}
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"alice", "../x", ".a", "a.b-c_d", strings.Repeat("z", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validName(s), documentedName.MatchString(s); got != want {
			t.Fatalf("validName(%q) = %v, documented expression says %v", s, got, want)
		}
	})
}
