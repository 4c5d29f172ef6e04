package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hubctl/hubctl/pkg/filemode"
)

// A config file that holds a secret (secret or token, at top level or in a profile) is
// refused when other users can read it, as the keystore refuses a key file and ftp a
// .netrc: one line, the fix, and not the secret. A file without a secret is not checked.
func TestConfigWithSecretReadableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	isolate(t)
	const secret = "bsupersecretvalue"
	for name, content := range map[string]string{
		"secret":            "api: a:1\nsecret: " + secret + "\n",
		"token":             "token: " + secret + "\n",
		"secret in profile": "profiles:\n  p:\n    secret: " + secret + "\n",
		"token in profile":  "api: a:1\nprofiles:\n  p:\n    api: b:1\n  q:\n    token: " + secret + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := writeConfig(t, content)
			for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
				if err := os.Chmod(path, mode); err != nil {
					t.Fatal(err)
				}
				_, err := Load(Options{ConfigPath: path})
				if !errors.Is(err, filemode.ErrInsecure) {
					t.Fatalf("Load at %04o: %v, want a refusal (filemode.ErrInsecure)", mode, err)
				}
				var fe *FileError
				if errors.As(err, &fe) {
					t.Errorf("the refusal is a *FileError (a usage error, exit 2); it must exit 1 as the keystore's does")
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "config file "+path+" holds a secret and is accessible by other users (mode ") ||
					!strings.HasSuffix(msg, "): run chmod 600 "+path) {
					t.Errorf("message %q", msg)
				}
				if strings.Contains(msg, secret) || strings.Contains(msg, "\n") {
					t.Errorf("message %q is not one line without the secret", msg)
				}
				if _, err := ReadFile(path); !errors.Is(err, filemode.ErrInsecure) {
					t.Errorf("ReadFile at %04o: %v, want a refusal", mode, err)
				}
			}
			if err := os.Chmod(path, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(Options{ConfigPath: path}); err != nil {
				t.Errorf("Load after chmod 600: %v", err)
			}
		})
	}
	// No secret, or an empty one: a shared 0644 config is fine.
	for _, content := range []string{"api: a:1\nkey: bkey\n", "secret:\ntoken: \"\"\n", "profiles:\n  p:\n    secret:\n"} {
		path := writeConfig(t, content)
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(Options{ConfigPath: path}); err != nil {
			t.Errorf("Load of a 0644 file without a secret (%q): %v", content, err)
		}
	}
	// The mode that counts is the file's, through a symlink.
	target := writeConfig(t, "secret: "+secret+"\n")
	if err := os.Chmod(target, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{ConfigPath: link}); !errors.Is(err, filemode.ErrInsecure) {
		t.Errorf("Load through a symlink to a 0644 file with a secret: %v, want a refusal", err)
	}
}

// A config path that leads to a file that is not hubctl's (a symlink to /etc/shadow,
// read by a hubctl that can read more than its user) gets an error that quotes none of
// it: not a key, not a value, not a line, not an anchor, not a profile name.
func TestConfigErrorsQuoteNoForeignText(t *testing.T) {
	isolate(t)
	for name, content := range map[string]string{
		"shadow":          "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nalice:$6$saltsalt$hashhashhashhash:19000:0:99999:7:::\n",
		"shadow, one key": "alice:$6$saltsalt$hashhashhashhash:19000:0:99999:7:::\n",
		"passwd":          "root:x:0:0:root:/root:/bin/bash\n",
		"env file":        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG\n",
		"yaml secrets":    "database_password: hunter2hunter2\n",
		"json":            `{"password": "hunter2hunter2", "user": "admin"}`,
		"known key first": "api: a:1\nstripe_live_key: sk_live_abcdefgh\n",
		"duplicate":       "passphrase: hunter2hunter2\npassphrase: hunter2hunter2\n",
		"profile junk":    "profiles:\n  prod:\n    password: hunter2hunter2\n",
		"foreign profile": "profiles:\n  hunter2hunter2: x\nrootpassword: y\n",
		"foreign dup":     "profiles:\n  hunter2hunter2:\n  hunter2hunter2:\nrootpassword: y\n",
		"anchor":          "*hunter2hunter2\n",
		"anchor in value": "api: *hunter2hunter2\n",
		"nested key":      "? [hunter2hunter2]\n: x\n",
		"pem":             "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
		"ini":             "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
		"binary":          "\x00\x01secretbytes\xff\xfe",
		"bad utf8 key":    "\xff\xfesecretbytes: x\n",
		"tab":             "hunter2hunter2:\n\tx: y\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := writeConfig(t, content)
			_, err := Load(Options{ConfigPath: path})
			if err == nil {
				t.Fatal("Load accepted it")
			}
			msg := err.Error()
			t.Log(msg)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Errorf("error %q is a %T, want a *FileError (a usage error)", msg, err)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is more than one line", msg)
			}
			// Every word of the file of four characters or more is absent from the
			// message, but for hubctl's own names.
			rest := strings.ReplaceAll(msg, path, "PATH")
			rest = strings.ReplaceAll(rest, strings.Join(KeyNames(), ", "), "KEYS")
			for _, w := range strings.FieldsFunc(content, func(r rune) bool {
				return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
			}) {
				if len(w) >= 4 && strings.Contains(rest, w) && !isHubctlWord(w) {
					t.Errorf("error %q quotes %q from the file", msg, w)
				}
			}
			if strings.Contains(rest, "root") || strings.Contains(rest, "$6$") || strings.Contains(rest, ":*:") {
				t.Errorf("error %q quotes the file", msg)
			}
		})
	}
}

func isHubctlWord(w string) bool {
	for _, ok := range []string{"profiles", "profile"} {
		if w == ok {
			return true
		}
	}
	return false
}

// The rule keeps what helps: a key that is a typo of a setting is quoted, with the
// setting it is a typo of, and profile names in a file of hubctl's keys.
func TestConfigErrorsQuoteTypos(t *testing.T) {
	isolate(t)
	for _, tc := range []struct{ content, want string }{
		{"apii: x\n", `line 1: unknown key "apii" (known keys: ` + strings.Join(KeyNames(), ", ") + `): did you mean api?`},
		{"api: a\nTimeout: 1s\n", `line 2: unknown key "Timeout" (known keys: `},
		{"tiemout: 1s\n", `did you mean timeout?`},
		{"profiles:\n  p:\n    sig_ttl: 1h\n", `line 3: unknown key "sig_ttl"`},
		{"curent-profile: p\n", `did you mean current-profile?`},
		{"api: a\nprofiles:\n  dev: x\n", `line 3: profile "dev" must be a mapping of settings`},
		{"profiles:\n  dev:\n  dev:\n", `line 3: profile "dev" is given twice (first on line 2)`},
		{"keys: x\nkeys: y\n", `line 2: "keys" is given twice (first on line 1)`},
		// Not typos: not quoted.
		{"a: x\n", "line 1: unknown key (known keys: "},
		{"password: x\n", "line 1: unknown key (known keys: "},
		{"api: a\npasswd: x\npasswd: y\n", "line 3: a key is given twice (first on line 2)"},
		{"profiles:\n  dev: x\nzzzzzz: 1\n", "line 2: a profile must be a mapping of settings"},
	} {
		path := writeConfig(t, tc.content)
		_, err := ReadFile(path)
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadFile(%q) = %v, want a *FileError containing %q", tc.content, err, tc.want)
		}
	}
}

// A path that is not a regular file (a device, a directory) or is far larger than any
// config is refused before it is parsed: /dev/zero neither fills memory nor hangs.
func TestConfigNotRegularOrTooLarge(t *testing.T) {
	isolate(t)
	cases := map[string]string{"directory": t.TempDir()}
	if runtime.GOOS != "windows" {
		cases["/dev/zero"] = "/dev/zero"
		link := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.Symlink("/dev/zero", link); err != nil {
			t.Fatal(err)
		}
		cases["symlink to /dev/zero"] = link
	}
	for name, path := range cases {
		_, err := Load(Options{ConfigPath: path})
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "not a regular file: point --config or HUBCTL_CONFIG at a hubctl config file") {
			t.Errorf("%s: %v, want a *FileError saying it is not a regular file", name, err)
		}
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("api: a\n"+strings.Repeat("#", MaxFileSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(Options{ConfigPath: big})
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "so not a hubctl config file") {
		t.Errorf("a file over MaxFileSize: %v, want a *FileError", err)
	}
}

func TestSyntaxErrorQuotesNothing(t *testing.T) {
	for in, want := range map[string]string{
		"yaml: line 3: mapping values are not allowed in this context": "line 3: mapping values are not allowed in this context",
		"yaml: line 2: could not find expected ':'":                    "line 2: could not find expected ':'",
		"yaml: line 4: did not find expected ',' or ']'":               "line 4: did not find expected ',' or ']'",
		"yaml: unknown anchor 'hunter2' referenced":                    "an alias refers to an anchor that is not defined before it, or to itself",
		"yaml: unknown anchor 'h' referenced":                          "an alias refers to an anchor that is not defined before it, or to itself",
		"yaml: line 7: found 'hunter2' here":                           "line 7: not valid YAML",
		`yaml: line 7: found "hunter2"`:                                "line 7: not valid YAML",
		"yaml: line 7: found 'x":                                       "line 7: not valid YAML",
	} {
		if got := syntaxError(errors.New(in)); got != want {
			t.Errorf("syntaxError(%q) = %q, want %q", in, got, want)
		}
	}
}
