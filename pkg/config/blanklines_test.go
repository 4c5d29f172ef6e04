package config

import (
	"os"
	"strings"
	"testing"
)

// userFile is a config file as a person writes one: blank lines between sections,
// comments above and beside values, several profiles, a quoted value, trailing
// whitespace (after "timeout: 10s " and on the blank line after it) and a 4-space indent.
const userFile = `# hubctl settings

api: old.example:443   # the old server
timeout: 10s 
  
output: 'json'

profiles:

    # the daemon on this machine
    local:
        api: 127.0.0.1:6006
        key: bkeylocal

    prod:
        api: hub.example.com:443 # production

# end of file
`

// TestEditsKeepEveryOtherLine: set, unset, use and the daemon's profile writes change only
// their own lines of a file the user wrote; every other byte comes back as it was. Before
// Save edited the text, yaml.v3's encoder rewrote the whole file and dropped every blank
// line (and the 4-space indent, the quotes and the trailing whitespace).
func TestEditsKeepEveryOtherLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		edit func(f *File)
		want string // in with the changed lines
	}{
		{
			name: "set a top-level value",
			in:   userFile,
			edit: func(f *File) { f.Set("", "api", "new.example:443") },
			want: strings.Replace(userFile, "api: old.example:443   # the old server", "api: new.example:443   # the old server", 1),
		},
		{
			name: "set a value in a profile",
			in:   userFile,
			edit: func(f *File) { f.Set("prod", "api", "hub2.example.com:443") },
			want: strings.Replace(userFile, "api: hub.example.com:443 # production", "api: hub2.example.com:443 # production", 1),
		},
		{
			name: "set the quoted value",
			in:   userFile,
			edit: func(f *File) { f.Set("", "output", "yaml") },
			want: strings.Replace(userFile, "output: 'json'", "output: yaml", 1),
		},
		{
			name: "set the same value changes nothing",
			in:   userFile,
			edit: func(f *File) { f.Set("", "output", "json"); f.Set("", "timeout", "10s") },
			want: userFile,
		},
		{
			name: "set a new key in a profile",
			in:   userFile,
			edit: func(f *File) { f.Set("local", "tls", "true") },
			want: strings.Replace(userFile, "        key: bkeylocal\n", "        key: bkeylocal\n        tls: true\n", 1),
		},
		{
			name: "set a new top-level key",
			in:   userFile,
			edit: func(f *File) { f.Set("", "identity", "null") },
			want: strings.Replace(userFile, "# production\n", "# production\nidentity: \"null\"\n", 1),
		},
		{
			name: "unset",
			in:   userFile,
			edit: func(f *File) { f.Unset("", "timeout"); f.Unset("local", "key") },
			want: strings.Replace(strings.Replace(userFile, "timeout: 10s \n", "", 1), "        key: bkeylocal\n", "", 1),
		},
		{
			name: "use an existing profile",
			in:   "current-profile: prod # which one\n\n" + userFile,
			edit: func(f *File) { f.SetCurrentProfile("local") },
			want: "current-profile: local # which one\n\n" + userFile,
		},
		{
			name: "the daemon's new profile, made current",
			in:   userFile,
			edit: func(f *File) {
				f.Set("local-2", "key", "bkey2")
				f.Set("local-2", "secret", "bsecret2")
				f.Set("local-2", "api", "127.0.0.1:7006")
				f.SetCurrentProfile("local-2")
			},
			want: strings.Replace(userFile, "# production\n", "# production\n"+
				"    local-2:\n        key: bkey2\n        secret: bsecret2\n        api: 127.0.0.1:7006\n"+
				"current-profile: local-2\n", 1),
		},
		{
			name: "a profile with nothing under it",
			in:   "profiles:\n  dev:   # empty for now\n\n  prod:\n    api: p:1\n",
			edit: func(f *File) { f.Set("dev", "api", "d:1") },
			want: "profiles:\n  dev:   # empty for now\n    api: d:1\n\n  prod:\n    api: p:1\n",
		},
		{
			name: "an empty value",
			in:   "identity:\n\napi: a:1\n",
			edit: func(f *File) { f.Set("", "identity", "me") },
			want: "identity: me\n\napi: a:1\n",
		},
		{
			name: "CRLF line ends",
			in:   "# windows\r\n\r\napi: a:1\r\n\r\nprofiles:\r\n  p:\r\n    api: p:1\r\n",
			edit: func(f *File) {
				f.Set("", "api", "b:1")
				f.Set("p", "key", "bk")
				f.Set("q", "api", "q:1")
			},
			want: "# windows\r\n\r\napi: b:1\r\n\r\nprofiles:\r\n  p:\r\n    api: p:1\r\n    key: bk\r\n  q:\r\n    api: q:1\r\n",
		},
		{
			name: "no line end at the end of the file",
			in:   "# note\n\napi: a:1",
			edit: func(f *File) { f.Set("", "timeout", "5s") },
			want: "# note\n\napi: a:1\ntimeout: 5s\n",
		},
		{
			name: "comments only",
			in:   "# nothing yet\n\n",
			edit: func(f *File) { f.Set("p", "api", "p:1"); f.SetCurrentProfile("p") },
			want: "# nothing yet\n\nprofiles:\n  p:\n    api: p:1\ncurrent-profile: p\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			path := writeConfig(t, tc.in)
			f, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(f)
			if err := f.Save(); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(raw); got != tc.want {
				t.Errorf("saved file:\n%q\nwant:\n%q", got, tc.want)
			}
			// The file reads back, and a second edit through the same File finds its lines.
			if _, err := ReadFile(path); err != nil {
				t.Fatalf("re-read: %v", err)
			}
			f.Set("", "debug", "true")
			if err := f.Save(); err != nil {
				t.Fatal(err)
			}
			raw, err = os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			eol := "\n"
			if strings.Contains(tc.want, "\r\n") {
				eol = "\r\n"
			}
			if strings.Replace(string(raw), "debug: true"+eol, "", 1) != tc.want {
				t.Errorf("a second edit changed other lines:\n%q", raw)
			}
			if g, err := ReadFile(path); err != nil || g.Settings("")["debug"].Value != "true" {
				t.Errorf("second edit: %v, %+v", err, g.Settings(""))
			}
		})
	}
}

// TestEditFallsBackToEncoder: text that cannot be edited in place (a flow mapping) is
// still saved correctly, through the encoder.
func TestEditFallsBackToEncoder(t *testing.T) {
	isolate(t)
	path := writeConfig(t, "# flow\nprofiles: {p: {api: p:1}}\n\napi: |\n  a:1\n")
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Set("p", "key", "bk")
	f.Set("", "api", "b:1")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Settings("p")["key"].Value != "bk" || g.Settings("p")["api"].Value != "p:1" || g.Settings("")["api"].Value != "b:1" {
		t.Errorf("after the fallback: p=%+v top=%+v", g.Settings("p"), g.Settings(""))
	}
}
