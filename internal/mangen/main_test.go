package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubctl/hubctl/cmd"
	"github.com/hubctl/hubctl/pkg/iostreams"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if err := write(cmd.NewRootCmd(iostreams.System()), dir, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"hubctl.1", "hubctl-db-info.1", "hubctl-identity-show.1", "hubctl-completion.1"} {
		if _, err := os.Stat(filepath.Join(dir, page)); err != nil {
			t.Errorf("no page %s: %v", page, err)
		}
	}
	for _, hidden := range []string{"hubctl-__complete.1", "hubctl-help.1", "hubctl-exit-codes.1"} {
		if _, err := os.Stat(filepath.Join(dir, hidden)); err == nil {
			t.Errorf("a page for %s", hidden)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "hubctl.1"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	for _, want := range []string{`.TH "HUBCTL" "1" "Nov 2023" "hubctl v1.2.3" "hubctl manual"`, ".SH EXIT STATUS", "130  interrupted"} {
		if !strings.Contains(page, want) {
			t.Errorf("hubctl.1 lacks %q:\n%s", want, page)
		}
	}
	if strings.Index(page, ".SH EXIT STATUS") > strings.Index(page, ".SH SEE ALSO") {
		t.Error("EXIT STATUS comes after SEE ALSO")
	}
	if strings.Contains(page, "Auto generated") {
		t.Error("the page carries cobra's build-date tag")
	}
}

func TestRoffLine(t *testing.T) {
	for in, want := range map[string]string{
		`.hidden`:  `\&.hidden`,
		`'quoted`:  `\&'quoted`,
		`a\b`:      `a\eb`,
		`  2  use`: `  2  use`,
	} {
		if got := roffLine(in); got != want {
			t.Errorf("roffLine(%q) = %q, want %q", in, got, want)
		}
	}
}
