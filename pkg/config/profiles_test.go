package config

import "testing"

// TestDaemonProfile: a daemon's profile is named after its data directory and never one
// the file holds already (before, every daemon wrote into "local", replacing another's key).
func TestDaemonProfile(t *testing.T) {
	isolate(t)
	path := writeConfig(t, "profiles:\n  local:\n    key: ba\n  local-hub:\n    key: bb\n  local-hub-2:\n  local-x:\n    api: x:1\n")
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir             string
		isDefault       bool
		wantName, wantB string
	}{
		{"/home/u/.local/share/hubctl", true, "local-2", "local"},
		{"/srv/hub", false, "local-hub-3", "local-hub"},
		{"/srv/Hub B/", false, "local-hub-b", "local-hub-b"},
		{`C:\data\Hub`, false, "local-hub-3", "local-hub"},
		{"/srv/x", false, "local-x-2", "local-x"}, // a profile without a key is not reused either
		{"/srv/.hidden..", false, "local-hidden", "local-hidden"},
		{"/srv/ü€", false, "local-2", "local"},
		{"/", false, "local-2", "local"},
		{"/srv/" + "abcdefghijklmnopqrstuvwxyz0123456789", false, "local-abcdefghijklmnopqrstuvwxyz012345", "local-abcdefghijklmnopqrstuvwxyz012345"},
	} {
		name, base := DaemonProfile(f, tc.dir, tc.isDefault)
		if name != tc.wantName || base != tc.wantB {
			t.Errorf("DaemonProfile(%q, %v) = %q, %q, want %q, %q", tc.dir, tc.isDefault, name, base, tc.wantName, tc.wantB)
		}
	}
	empty, err := ReadFile(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := DaemonProfile(empty, "/any/where", true); name != "local" {
		t.Errorf("DaemonProfile of the default data directory in an empty file = %q, want local", name)
	}
}
