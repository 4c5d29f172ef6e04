package config

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestResolveAllKeepsWhatParses: with one bad value, ResolveAll still derives the default
// paths (config view shows them) and reports the bad value as Resolve does, with its
// source; Check names the source of the output format (it said "command line" for
// HUBCTL_OUTPUT before).
func TestResolveAllKeepsWhatParses(t *testing.T) {
	home := isolate(t)
	t.Setenv("HUBCTL_TIMEOUT", "5")
	t.Setenv("HUBCTL_OUTPUT", "xml")
	s := mustLoad(t, Options{ConfigPath: writeConfig(t, "sig-ttl: 2h\n")})
	c, err := s.ResolveAll()
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Key != "output" || ve.Source != "HUBCTL_OUTPUT" {
		t.Fatalf("ResolveAll: %v, want the output error from HUBCTL_OUTPUT first", err)
	}
	if want := filepath.Join(home, "data", "hubctl"); c.DataDir != want || c.Keystore != filepath.Join(want, "keystore") {
		t.Errorf("ResolveAll paths = %q, %q, want %q and its keystore", c.DataDir, c.Keystore, want)
	}
	if c.SigTTL.String() != "2h0m0s" {
		t.Errorf("ResolveAll sig-ttl = %v, want the file's 2h", c.SigTTL)
	}
	if _, rerr := s.Resolve(); rerr == nil || rerr.Error() != err.Error() {
		t.Errorf("Resolve: %v, want %v", rerr, err)
	}
	if err := s.Check("output"); !errors.As(err, &ve) || ve.Source != "HUBCTL_OUTPUT" {
		t.Errorf("Check(output) = %v, want its source HUBCTL_OUTPUT", err)
	}
	t.Setenv("HUBCTL_OUTPUT", "")
	if _, err := s.ResolveAll(); !errors.As(err, &ve) || ve.Key != "timeout" || ve.Source != "HUBCTL_TIMEOUT" {
		t.Errorf("ResolveAll: %v, want the timeout error from HUBCTL_TIMEOUT", err)
	}
}
