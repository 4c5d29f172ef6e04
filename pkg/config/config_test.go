package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// isolate points every variable the package reads at temporary directories or clears it,
// so that no test sees the real home directory or the caller's HUBCTL_* settings.
func isolate(t *testing.T) (home string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv(EnvConfig, "")
	t.Setenv(EnvProfile, "")
	for _, k := range keys {
		t.Setenv(k.Env(), "")
	}
	return home
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, o Options) *Settings {
	t.Helper()
	s, err := Load(o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

func mustResolve(t *testing.T, o Options) (*Settings, *Config) {
	t.Helper()
	s := mustLoad(t, o)
	c, err := s.Resolve()
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return s, c
}

// newFlags returns a flag set with a string flag per setting, as the CLI defines them.
func newFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	for _, k := range keys {
		fs.String(k.Name, "", k.Usage)
	}
	return fs
}

const precedenceFile = `# hubctl config
api: file.example:1
timeout: 10s
profiles:
  dev:
    api: profile.example:2
    timeout: 20s
  other:
    api: other.example:3
`

func TestPrecedence(t *testing.T) {
	isolate(t)
	path := writeConfig(t, precedenceFile)
	missing := filepath.Join(t.TempDir(), "missing.yaml")

	type want struct {
		api, apiSrc string
		timeout     time.Duration
		timeoutSrc  string
	}
	check := func(t *testing.T, o Options, w want) {
		t.Helper()
		s, c := mustResolve(t, o)
		if c.API != w.api {
			t.Errorf("API = %q, want %q", c.API, w.api)
		}
		if got := s.Source("api"); got != w.apiSrc {
			t.Errorf("Source(api) = %q, want %q", got, w.apiSrc)
		}
		if v, src := s.Get("api"); v != w.api || src != w.apiSrc {
			t.Errorf("Get(api) = %q, %q; want %q, %q", v, src, w.api, w.apiSrc)
		}
		if c.Timeout != w.timeout {
			t.Errorf("Timeout = %v, want %v", c.Timeout, w.timeout)
		}
		if got := s.Source("timeout"); got != w.timeoutSrc {
			t.Errorf("Source(timeout) = %q, want %q", got, w.timeoutSrc)
		}
	}

	t.Run("default", func(t *testing.T) {
		check(t, Options{ConfigPath: missing}, want{"", "default", 30 * time.Second, "default"})
	})
	t.Run("file", func(t *testing.T) {
		check(t, Options{ConfigPath: path}, want{
			"file.example:1", path + ":2", 10 * time.Second, path + ":3",
		})
	})
	t.Run("profile", func(t *testing.T) {
		check(t, Options{ConfigPath: path, Profile: "dev"}, want{
			"profile.example:2", "profile dev (" + path + ":6)",
			20 * time.Second, "profile dev (" + path + ":7)",
		})
	})
	t.Run("profile without the key falls back to the file", func(t *testing.T) {
		check(t, Options{ConfigPath: path, Profile: "other"}, want{
			"other.example:3", "profile other (" + path + ":9)",
			10 * time.Second, path + ":3",
		})
	})
	t.Run("env", func(t *testing.T) {
		t.Setenv("HUBCTL_API", "env.example:4")
		t.Setenv("HUBCTL_TIMEOUT", "40s")
		check(t, Options{ConfigPath: path, Profile: "dev"}, want{
			"env.example:4", "HUBCTL_API", 40 * time.Second, "HUBCTL_TIMEOUT",
		})
	})
	t.Run("flag", func(t *testing.T) {
		t.Setenv("HUBCTL_API", "env.example:4")
		t.Setenv("HUBCTL_TIMEOUT", "40s")
		fs := newFlags()
		if err := fs.Set("api", "flag.example:5"); err != nil {
			t.Fatal(err)
		}
		if err := fs.Set("timeout", "50s"); err != nil {
			t.Fatal(err)
		}
		check(t, Options{ConfigPath: path, Profile: "dev", Flags: fs}, want{
			"flag.example:5", "--api", 50 * time.Second, "--timeout",
		})
	})
	t.Run("unset flags do not override", func(t *testing.T) {
		fs := newFlags()
		check(t, Options{ConfigPath: path, Profile: "dev", Flags: fs}, want{
			"profile.example:2", "profile dev (" + path + ":6)",
			20 * time.Second, "profile dev (" + path + ":7)",
		})
	})
	t.Run("flag over default", func(t *testing.T) {
		fs := newFlags()
		if err := fs.Set("api", "flag.example:5"); err != nil {
			t.Fatal(err)
		}
		check(t, Options{ConfigPath: missing, Flags: fs}, want{"flag.example:5", "--api", 30 * time.Second, "default"})
	})
}

func TestEnvForEveryKey(t *testing.T) {
	isolate(t)
	path := writeConfig(t, "")
	env := map[string]string{
		"api": "h:1", "key": "k", "secret": "s", "token": "tok", "identity": "me",
		"keystore": "/ks", "data-dir": "/dd", "tls": "true", "insecure": "1", "ca-file": "/ca.pem",
		"output": "json", "timeout": "2m", "sig-ttl": "24h", "debug": "true",
	}
	if len(env) != len(keys) {
		t.Fatalf("test covers %d keys, the table has %d", len(env), len(keys))
	}
	for name, v := range env {
		t.Setenv(EnvName(name), v)
	}
	s, c := mustResolve(t, Options{ConfigPath: path})
	want := Config{
		API: "h:1", Key: "k", Secret: "s", Token: "tok", Identity: "me", Keystore: "/ks", DataDir: "/dd",
		TLS: true, Insecure: true, CAFile: "/ca.pem", Output: "json", Timeout: 2 * time.Minute, SigTTL: 24 * time.Hour,
		Debug: true,
	}
	if *c != want {
		t.Errorf("Resolve =\n%+v\nwant\n%+v", *c, want)
	}
	for name := range env {
		if got := s.Source(name); got != EnvName(name) {
			t.Errorf("Source(%s) = %q, want %q", name, got, EnvName(name))
		}
	}
}

func TestEnvName(t *testing.T) {
	for name, want := range map[string]string{
		"api": "HUBCTL_API", "data-dir": "HUBCTL_DATA_DIR", "sig-ttl": "HUBCTL_SIG_TTL", "ca-file": "HUBCTL_CA_FILE",
	} {
		if got := EnvName(name); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", name, got, want)
		}
		k, err := LookupKey(name)
		if err != nil {
			t.Fatal(err)
		}
		if k.Env() != want {
			t.Errorf("Key(%q).Env() = %q, want %q", name, k.Env(), want)
		}
	}
	if _, err := LookupKey("nope"); err == nil || !strings.Contains(err.Error(), "api") {
		t.Errorf("LookupKey(nope) = %v, want an error listing the known keys", err)
	}
}

func TestKeysTable(t *testing.T) {
	names := KeyNames()
	if len(names) != len(Keys()) {
		t.Fatal("KeyNames and Keys disagree")
	}
	// Keys returns a copy.
	ks := Keys()
	ks[0].Name = "changed"
	if Keys()[0].Name == "changed" {
		t.Error("Keys returned the package's table, not a copy")
	}
	for _, k := range Keys() {
		if k.Default != "" {
			if err := ValidateValue(k, k.Default); err != nil {
				t.Errorf("default of %s is invalid: %v", k.Name, err)
			}
		}
		if (k.Name == "secret" || k.Name == "token") != k.Secret() {
			t.Errorf("%s: Secret() = %v", k.Name, k.Secret())
		}
	}
}

func TestProfileSelection(t *testing.T) {
	isolate(t)
	path := writeConfig(t, `current-profile: cur
profiles:
  cur:
    api: cur:1
  envp:
    api: envp:1
  flagp:
    api: flagp:1
`)
	t.Run("current-profile", func(t *testing.T) {
		s, c := mustResolve(t, Options{ConfigPath: path})
		if s.Profile != "cur" || c.API != "cur:1" {
			t.Errorf("Profile = %q, API = %q; want cur", s.Profile, c.API)
		}
		if want := "current-profile in " + path; s.ProfileSource != want {
			t.Errorf("ProfileSource = %q, want %q", s.ProfileSource, want)
		}
	})
	t.Run("HUBCTL_PROFILE", func(t *testing.T) {
		t.Setenv(EnvProfile, "envp")
		s, c := mustResolve(t, Options{ConfigPath: path})
		if s.Profile != "envp" || c.API != "envp:1" || s.ProfileSource != EnvProfile {
			t.Errorf("Profile = %q (%s), API = %q; want envp from HUBCTL_PROFILE", s.Profile, s.ProfileSource, c.API)
		}
	})
	t.Run("Options.Profile", func(t *testing.T) {
		t.Setenv(EnvProfile, "envp")
		s, c := mustResolve(t, Options{ConfigPath: path, Profile: "flagp"})
		if s.Profile != "flagp" || c.API != "flagp:1" || s.ProfileSource != "--profile" {
			t.Errorf("Profile = %q (%s), API = %q; want flagp from --profile", s.Profile, s.ProfileSource, c.API)
		}
	})
	t.Run("no profile", func(t *testing.T) {
		path := writeConfig(t, "api: top:1\nprofiles:\n  p:\n    api: p:1\n")
		s, c := mustResolve(t, Options{ConfigPath: path})
		if s.Profile != "" || s.ProfileSource != "" || c.API != "top:1" {
			t.Errorf("Profile = %q (%s), API = %q; want no profile", s.Profile, s.ProfileSource, c.API)
		}
	})
}

func TestUnknownProfile(t *testing.T) {
	isolate(t)
	path := writeConfig(t, "profiles:\n  a:\n    api: a:1\n  b:\n    api: b:1\n")
	for _, tc := range []struct {
		name string
		opts Options
		env  string
		src  string
	}{
		{"option", Options{ConfigPath: path, Profile: "nope"}, "", "--profile"},
		{"env", Options{ConfigPath: path}, "nope", EnvProfile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvProfile, tc.env)
			s := mustLoad(t, tc.opts)
			_, err := s.Resolve()
			if !errors.Is(err, ErrUnknownProfile) {
				t.Fatalf("Resolve: %v, want ErrUnknownProfile", err)
			}
			for _, want := range []string{`"nope"`, tc.src, path, "a, b"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}

	t.Run("current-profile", func(t *testing.T) {
		path := writeConfig(t, "current-profile: gone\n")
		s := mustLoad(t, Options{ConfigPath: path})
		err := s.CheckProfile()
		if !errors.Is(err, ErrUnknownProfile) {
			t.Fatalf("CheckProfile: %v, want ErrUnknownProfile", err)
		}
		if !strings.Contains(err.Error(), "none are defined") {
			t.Errorf("error %q does not say no profiles exist", err)
		}
		if _, err := s.Resolve(); !errors.Is(err, ErrUnknownProfile) {
			t.Errorf("Resolve: %v, want ErrUnknownProfile", err)
		}
	})

	t.Run("empty profile exists", func(t *testing.T) {
		path := writeConfig(t, "api: top:1\nprofiles:\n  empty:\n")
		_, c := mustResolve(t, Options{ConfigPath: path, Profile: "empty"})
		if c.API != "top:1" {
			t.Errorf("API = %q, want the top-level value", c.API)
		}
	})
}

func TestMalformedYAML(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		name    string
		content string
		line    int
	}{
		{"mapping in scalar", "api: a\ntimeout: 10s\n  bad: x\n", 3},
		{"unterminated string", "api: a\nkey: \"unterminated\n", 2},
		{"tab indent", "profiles:\n  dev:\n\tapi: x\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			_, err := Load(Options{ConfigPath: path})
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Load: %v (%T), want a *FileError", err, err)
			}
			if fe.Path != path {
				t.Errorf("FileError.Path = %q, want %q", fe.Path, path)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file", msg)
			}
			if want := fmt.Sprintf("line %d", tc.line); !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
			if strings.Contains(msg, ": yaml: ") {
				t.Errorf("error %q keeps the yaml: prefix", msg)
			}
		})
	}
}

func TestFileShapeErrors(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		name    string
		content string
		line    int
		want    string
	}{
		{"unknown top-level key", "api: a\n\napii: b\n", 3, `unknown key "apii"`},
		{"unknown key in profile", "profiles:\n  dev:\n    api: a\n    timeoutt: 1s\n", 4, `unknown key "timeoutt"`},
		{"list value", "api: a\nkey:\n  - x\n  - y\n", 3, "key must be a single value"},
		{"map value", "secret:\n  a: b\n", 2, "secret must be a single value"},
		{"profile not a mapping", "profiles:\n  dev: x\n", 2, `profile "dev" must be a mapping`},
		{"profiles not a mapping", "profiles: [a]\n", 1, "profiles must be a mapping"},
		{"current-profile not a scalar", "current-profile:\n  a: b\n", 2, "current-profile must be a profile name"},
		{"root not a mapping", "# comment\n- a\n- b\n", 2, "must be a mapping"},
		{"scalar root", "just text\n", 1, "must be a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			_, err := ReadFile(path)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("ReadFile: %v (%T), want a *FileError", err, err)
			}
			if fe.Line != tc.line {
				t.Errorf("FileError.Line = %d, want %d (%v)", fe.Line, tc.line, err)
			}
			msg := err.Error()
			for _, want := range []string{path, fmt.Sprintf("line %d:", tc.line), tc.want} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if _, err := Load(Options{ConfigPath: path}); !errors.As(err, &fe) {
				t.Errorf("Load: %v, want a *FileError", err)
			}
		})
	}
}

func TestReadFileMissingAndEmpty(t *testing.T) {
	isolate(t)
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	f, err := ReadFile(missing)
	if err != nil {
		t.Fatalf("ReadFile(missing): %v", err)
	}
	if f.Exists || f.Path != missing || len(f.Settings("")) != 0 || f.CurrentProfile() != "" || len(f.Profiles()) != 0 {
		t.Errorf("missing file = %+v, want an empty config", f)
	}
	for _, content := range []string{"", "# only a comment\n", "\n\n"} {
		f, err := ReadFile(writeConfig(t, content))
		if err != nil {
			t.Fatalf("ReadFile(%q): %v", content, err)
		}
		if !f.Exists || len(f.Settings("")) != 0 {
			t.Errorf("ReadFile(%q) = %+v", content, f)
		}
	}
}

func TestFileSettingsAndProfiles(t *testing.T) {
	isolate(t)
	path := writeConfig(t, `api: a:1
key:
identity: "null"
profiles:
  zed:
    api: z:1
  alpha:
    tls: true
`)
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	top := f.Settings("")
	if top["api"] != (Value{"a:1", 1}) {
		t.Errorf(`Settings("")[api] = %+v`, top["api"])
	}
	if _, ok := top["key"]; ok {
		t.Error("a null value is reported as set")
	}
	if top["identity"].Value != "null" {
		t.Errorf("quoted \"null\" = %+v, want the string null", top["identity"])
	}
	if _, ok := top["profiles"]; ok {
		t.Error("profiles reported as a setting")
	}
	if got := strings.Join(f.Profiles(), ","); got != "alpha,zed" {
		t.Errorf("Profiles = %s, want alpha,zed (sorted)", got)
	}
	if !f.HasProfile("zed") || f.HasProfile("nope") {
		t.Error("HasProfile is wrong")
	}
	if v := f.Settings("alpha")["tls"]; v.Value != "true" || v.Line != 8 {
		t.Errorf("alpha tls = %+v", v)
	}
	if len(f.Settings("nope")) != 0 {
		t.Error("Settings of a missing profile is not empty")
	}
}

func TestInvalidValues(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		key, value string
	}{
		{"timeout", "abc"},
		{"timeout", "30"},
		{"timeout", "0s"},
		{"timeout", "-5s"},
		{"sig-ttl", "25h"},
		{"sig-ttl", "24h0m1s"},
		{"sig-ttl", "1.5"},
		{"output", "xml"},
		{"output", "JSON"},
		{"tls", "maybe"},
		{"insecure", "yes"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			check := func(t *testing.T, err error, src string) {
				t.Helper()
				var ve *ValueError
				if !errors.As(err, &ve) {
					t.Fatalf("Resolve: %v (%T), want a *ValueError", err, err)
				}
				if ve.Key != tc.key || ve.Value != tc.value || ve.Source != src {
					t.Errorf("ValueError = %+v, want key %s value %q source %s", ve, tc.key, tc.value, src)
				}
				for _, want := range []string{tc.key, fmt.Sprintf("%q", tc.value), src} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
			}
			t.Run("env", func(t *testing.T) {
				t.Setenv(EnvName(tc.key), tc.value)
				s := mustLoad(t, Options{ConfigPath: filepath.Join(t.TempDir(), "none.yaml")})
				_, err := s.Resolve()
				check(t, err, EnvName(tc.key))
			})
			t.Run("file", func(t *testing.T) {
				path := writeConfig(t, "# c\n"+tc.key+": "+tc.value+"\n")
				s := mustLoad(t, Options{ConfigPath: path})
				_, err := s.Resolve()
				check(t, err, path+":2")
			})
			t.Run("flag", func(t *testing.T) {
				fs := newFlags()
				if err := fs.Set(tc.key, tc.value); err != nil {
					t.Fatal(err)
				}
				s := mustLoad(t, Options{ConfigPath: filepath.Join(t.TempDir(), "none.yaml"), Flags: fs})
				_, err := s.Resolve()
				check(t, err, "--"+tc.key)
			})
			t.Run("ValidateValue", func(t *testing.T) {
				k, err := LookupKey(tc.key)
				if err != nil {
					t.Fatal(err)
				}
				check(t, ValidateValue(k, tc.value), "command line")
			})
		})
	}
}

func TestValidValues(t *testing.T) {
	isolate(t)
	for _, tc := range []struct{ key, value string }{
		{"timeout", "1ms"}, {"timeout", "2m30s"}, {"sig-ttl", "24h"}, {"sig-ttl", "1s"},
		{"output", "table"}, {"output", "yaml"}, {"output", "jsonl"}, {"tls", "false"}, {"tls", "1"}, {"insecure", "TRUE"},
		{"api", "anything at all"}, {"secret", "bsecret"}, {"token", "30"}, {"identity", "null"},
		{"debug", "true"},
	} {
		k, err := LookupKey(tc.key)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateValue(k, tc.value); err != nil {
			t.Errorf("ValidateValue(%s, %q) = %v", tc.key, tc.value, err)
		}
	}
	t.Setenv("HUBCTL_TIMEOUT", " 45s ")
	t.Setenv("HUBCTL_TLS", "true")
	_, c := mustResolve(t, Options{ConfigPath: filepath.Join(t.TempDir(), "none.yaml")})
	if c.Timeout != 45*time.Second || !c.TLS || c.Output != "table" || c.SigTTL != time.Hour || c.Insecure {
		t.Errorf("Resolve = %+v", c)
	}
}

// Secret values must never appear in error messages. No secret setting is validated today
// (so Resolve's redaction branch cannot be reached); what can be checked is that errors
// about other settings do not carry the secrets along, and that secrets of any form load.
func TestSecretsNotInErrors(t *testing.T) {
	isolate(t)
	const secret, token = "sup3r-s3cret-value", "t0ken-value"
	t.Setenv("HUBCTL_SECRET", secret)
	t.Setenv("HUBCTL_TOKEN", token)
	for _, bad := range []struct{ key, value string }{
		{"timeout", "abc"}, {"sig-ttl", "25h"}, {"output", "xml"}, {"tls", "maybe"}, {"insecure", "x"},
	} {
		t.Run(bad.key, func(t *testing.T) {
			t.Setenv(EnvName(bad.key), bad.value)
			s := mustLoad(t, Options{ConfigPath: filepath.Join(t.TempDir(), "none.yaml")})
			_, err := s.Resolve()
			if err == nil {
				t.Fatal("Resolve succeeded")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), token) {
				t.Errorf("error %q leaks a secret", err)
			}
		})
	}
	for _, name := range []string{"secret", "token"} {
		k, _ := LookupKey(name)
		if !k.Secret() {
			t.Errorf("%s is not a secret", name)
		}
		if err := ValidateValue(k, secret); err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("ValidateValue(%s) error %q leaks the value", name, err)
			}
		}
	}
	_, c := mustResolve(t, Options{ConfigPath: filepath.Join(t.TempDir(), "none.yaml")})
	if c.Secret != secret || c.Token != token {
		t.Errorf("Secret, Token = %q, %q", c.Secret, c.Token)
	}
	if Redacted == "" || strings.Contains(Redacted, secret) {
		t.Errorf("Redacted = %q", Redacted)
	}
}

func TestDataDirAndKeystoreDefaults(t *testing.T) {
	home := isolate(t)
	none := filepath.Join(t.TempDir(), "none.yaml")

	t.Run("XDG_DATA_HOME", func(t *testing.T) {
		xdg := filepath.Join(t.TempDir(), "xdg-data")
		t.Setenv("XDG_DATA_HOME", xdg)
		s, c := mustResolve(t, Options{ConfigPath: none})
		if want := filepath.Join(xdg, "hubctl"); c.DataDir != want {
			t.Errorf("DataDir = %q, want %q", c.DataDir, want)
		}
		if want := filepath.Join(xdg, "hubctl", "keystore"); c.Keystore != want {
			t.Errorf("Keystore = %q, want %q", c.Keystore, want)
		}
		if s.Source("data-dir") != "default" || s.Source("keystore") != "default" {
			t.Errorf("sources = %s, %s", s.Source("data-dir"), s.Source("keystore"))
		}
		d, err := DefaultDataDir()
		if err != nil || d != filepath.Join(xdg, "hubctl") {
			t.Errorf("DefaultDataDir = %q, %v", d, err)
		}
	})
	t.Run("relative XDG_DATA_HOME is ignored", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("the fallback differs by OS")
		}
		t.Setenv("XDG_DATA_HOME", "relative/dir")
		_, c := mustResolve(t, Options{ConfigPath: none})
		if want := filepath.Join(home, ".local", "share", "hubctl"); c.DataDir != want {
			t.Errorf("DataDir = %q, want %q", c.DataDir, want)
		}
	})
	t.Run("data-dir set", func(t *testing.T) {
		path := writeConfig(t, "data-dir: ~/mydata\n")
		_, c := mustResolve(t, Options{ConfigPath: path})
		if want := filepath.Join(home, "mydata"); c.DataDir != want {
			t.Errorf("DataDir = %q, want %q (~ expanded)", c.DataDir, want)
		}
		if want := filepath.Join(home, "mydata", "keystore"); c.Keystore != want {
			t.Errorf("Keystore = %q, want %q", c.Keystore, want)
		}
	})
	t.Run("keystore set", func(t *testing.T) {
		t.Setenv("HUBCTL_KEYSTORE", "/elsewhere/ks")
		t.Setenv("HUBCTL_CA_FILE", "~/ca.pem")
		_, c := mustResolve(t, Options{ConfigPath: none})
		if c.Keystore != "/elsewhere/ks" {
			t.Errorf("Keystore = %q", c.Keystore)
		}
		if want := filepath.Join(home, "ca.pem"); c.CAFile != want {
			t.Errorf("CAFile = %q, want %q", c.CAFile, want)
		}
	})
}

func TestConfigPath(t *testing.T) {
	home := isolate(t)
	xdg := filepath.Join(t.TempDir(), "xdg-config")
	t.Setenv("XDG_CONFIG_HOME", xdg)

	p, err := Path("")
	if err != nil || p != filepath.Join(xdg, "hubctl", "config.yaml") {
		t.Errorf("Path(\"\") = %q, %v; want under XDG_CONFIG_HOME", p, err)
	}
	if d, err := DefaultConfigPath(); err != nil || d != p {
		t.Errorf("DefaultConfigPath = %q, %v", d, err)
	}
	t.Setenv(EnvConfig, "/env/config.yaml")
	if p, _ := Path(""); p != "/env/config.yaml" {
		t.Errorf("Path with HUBCTL_CONFIG = %q", p)
	}
	if p, _ := Path("/flag/config.yaml"); p != "/flag/config.yaml" {
		t.Errorf("Path(flag) = %q", p)
	}
	if p, _ := Path("~/c.yaml"); p != filepath.Join(home, "c.yaml") {
		t.Errorf("Path(~/c.yaml) = %q, want it under HOME", p)
	}

	// Load reads HUBCTL_CONFIG when no path is given.
	path := writeConfig(t, "api: from-env-config:1\n")
	t.Setenv(EnvConfig, path)
	s, c := mustResolve(t, Options{})
	if c.API != "from-env-config:1" || s.File.Path != path || !s.File.Exists {
		t.Errorf("Load via HUBCTL_CONFIG: API %q, file %+v", c.API, s.File)
	}
}

func TestFileEditAndSave(t *testing.T) {
	isolate(t)
	path := writeConfig(t, `# hubctl configuration (keep this comment)
api: old.example:443 # the old server
# timeout comment
timeout: 10s
key: to-be-removed
profiles:
  # staging comment
  staging:
    api: staging.example:443
`)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Set("", "api", "new.example:443")
	f.Set("", "identity", "null")
	f.Set("", "tls", "true")
	f.Set("staging", "identity", "true")
	f.Set("prod", "output", "json")
	f.Set("prod", "secret", "123")
	f.SetCurrentProfile("prod")
	if !f.Unset("", "key") {
		t.Error("Unset(key) reported the key missing")
	}
	if f.Unset("", "key") {
		t.Error("Unset(key) twice reported the key present")
	}
	if f.Unset("nope", "api") {
		t.Error("Unset in a missing profile reported success")
	}
	if f.HasProfile("nope") {
		t.Error("Unset created a profile")
	}
	if err := f.Save(); err != nil {
		t.Fatalf("Save: %v", err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	// Booleans are written as booleans, strings that YAML would read as another type are quoted.
	for _, want := range []string{"\ntls: true\n", `identity: "null"`, `identity: "true"`, `secret: "123"`, "current-profile: prod"} {
		if !strings.Contains(text, want) {
			t.Errorf("saved file lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{
		"# hubctl configuration (keep this comment)",
		"# the old server",
		"# timeout comment",
		"# staging comment",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("saved file lost %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "to-be-removed") {
		t.Errorf("unset key still in the file:\n%s", text)
	}
	wantPerm(t, path, 0o600)

	g, err := ReadFile(path)
	if err != nil {
		t.Fatalf("re-read: %v\n%s", err, text)
	}
	top := g.Settings("")
	for key, want := range map[string]string{
		"api": "new.example:443", "identity": "null", "tls": "true", "timeout": "10s",
	} {
		if top[key].Value != want {
			t.Errorf("re-read %s = %+v, want %q", key, top[key], want)
		}
	}
	if _, ok := top["key"]; ok {
		t.Error("re-read: key is still set")
	}
	if v := g.Settings("staging")["identity"]; v.Value != "true" {
		t.Errorf("re-read staging identity = %+v, want the string true", v)
	}
	if v := g.Settings("staging")["api"]; v.Value != "staging.example:443" {
		t.Errorf("re-read staging api = %+v", v)
	}
	prod := g.Settings("prod")
	if prod["output"].Value != "json" || prod["secret"].Value != "123" {
		t.Errorf("re-read prod = %+v", prod)
	}
	if g.CurrentProfile() != "prod" {
		t.Errorf("re-read current-profile = %q", g.CurrentProfile())
	}

	// Through Load and Resolve, identity "null" stays the string "null".
	_, c := mustResolve(t, Options{ConfigPath: path}) // current-profile is prod
	if c.Identity != "null" || c.Output != "json" || c.Secret != "123" || !c.TLS || c.API != "new.example:443" {
		t.Errorf("Resolve after Save = %+v", c)
	}
	_, c = mustResolve(t, Options{ConfigPath: path, Profile: "staging"})
	if c.Identity != "true" || c.API != "staging.example:443" {
		t.Errorf("Resolve staging = %+v", c)
	}
}

func TestSaveNewFile(t *testing.T) {
	isolate(t)
	dir := filepath.Join(t.TempDir(), "new", "hubctl")
	path := filepath.Join(dir, "config.yaml")
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Set("", "identity", "~")
	f.Set("", "key", "yes")
	f.Set("p", "identity", "123")
	if err := f.Save(); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if !f.Exists {
		t.Error("Exists is false after Save")
	}
	wantPerm(t, dir, 0o700)
	g, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := g.Settings("")["identity"].Value; v != "~" {
		t.Errorf("identity = %q, want ~", v)
	}
	if v := g.Settings("")["key"].Value; v != "yes" {
		t.Errorf("key = %q, want yes", v)
	}
	if v := g.Settings("p")["identity"].Value; v != "123" {
		t.Errorf("p identity = %q, want 123", v)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("config directory holds %d entries, want just config.yaml", len(entries))
	}
}

func TestSetNullProfile(t *testing.T) {
	isolate(t)
	path := writeConfig(t, "profiles:\n  dev:\n")
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !f.HasProfile("dev") {
		t.Fatal("an empty profile is not reported")
	}
	f.Set("dev", "api", "d:1")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := g.Settings("dev")["api"].Value; v != "d:1" {
		t.Errorf("dev api = %q", v)
	}
	if got := g.Profiles(); len(got) != 1 {
		t.Errorf("Profiles = %v, want just dev", got)
	}
}

// YAML mappings cannot repeat a key. yaml.v3 does not check that when decoding into a node,
// so the file must: either refuse the file, naming the line, or edit the value that is read.
func TestDuplicateKey(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		name, content, profile string
		line                   int
	}{
		{"top level", "api: first:1\napi: second:1\n", "", 2},
		{"in a profile", "profiles:\n  p:\n    api: first:1\n    api: second:1\n", "p", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.content)
			f, err := ReadFile(path)
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) || fe.Line != tc.line {
					t.Fatalf("ReadFile: %v, want a *FileError at line %d", err, tc.line)
				}
				return
			}
			f.Set(tc.profile, "api", "set:1")
			if got := f.Settings(tc.profile)["api"].Value; got != "set:1" {
				t.Errorf("after Set(api, set:1) the file reads api = %q: Set edited a value that is not the one read", got)
			}
			if err := f.Save(); err != nil {
				t.Fatal(err)
			}
			_, c := mustResolve(t, Options{ConfigPath: path, Profile: tc.profile})
			if c.API != "set:1" {
				t.Errorf("after Set and Save, Resolve gives api = %q, want set:1", c.API)
			}
		})
	}
}

// wantPerm checks a path's permission bits (not on Windows, which has none to check).
func wantPerm(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s mode = %04o, want %04o", path, got, want)
	}
}

func TestValidateValueRefusesNonMultibaseSecret(t *testing.T) {
	k, err := LookupKey("secret")
	if err != nil {
		t.Fatal(err)
	}
	err = ValidateValue(k, "s3cret!")
	var ve *ValueError
	if !errors.As(err, &ve) {
		t.Fatalf("ValidateValue = %v, want a *ValueError", err)
	}
	if strings.Contains(err.Error(), "s3cret!") {
		t.Errorf("error %q leaks the secret", err)
	}
	if !strings.Contains(err.Error(), "multibase") {
		t.Errorf("error %q does not say a secret is multibase", err)
	}
}
