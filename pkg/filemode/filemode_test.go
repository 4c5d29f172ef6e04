package filemode

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCheckFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for mode, refused := range map[os.FileMode]bool{0o600: false, 0o400: false, 0o700: false,
		0o644: true, 0o640: true, 0o604: true, 0o610: true, 0o601: true, 0o666: true} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		err := CheckFile("identity file", p)
		if got := errors.Is(err, ErrInsecure); got != refused {
			t.Errorf("mode %04o: %v, refused %v want %v", mode, err, got, refused)
		}
		if refused {
			want := "identity file " + p + " is accessible by other users (mode " + octal(mode) + "): run chmod 600 " + p
			if err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
		}
	}
	r := &Refusal{What: "config file", Path: "c.yaml", Note: "holds a secret", Perm: 0o644}
	if want := "config file c.yaml holds a secret and is accessible by other users (mode 0644): run chmod 600 c.yaml"; r.Error() != want {
		t.Errorf("%q, want %q", r.Error(), want)
	}
}

func octal(m os.FileMode) string {
	const digits = "01234567"
	return "0" + string(digits[m>>6&7]) + string(digits[m>>3&7]) + string(digits[m&7])
}

func TestCheckDirs(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	d := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode             os.FileMode
		private, noWrite bool
	}{{0o700, true, true}, {0o755, false, true}, {0o750, false, true}, {0o775, false, false}, {0o757, false, false}, {0o1777, false, false}} {
		if err := os.Chmod(d, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := CheckDir("keystore directory", d)
		if (err == nil) != tc.private || err != nil && (!errors.Is(err, ErrInsecure) || !strings.HasSuffix(err.Error(), "run chmod 700 "+d)) {
			t.Errorf("CheckDir at %04o: %v", tc.mode, err)
		}
		err = CheckDirWrite("data directory", d)
		if (err == nil) != tc.noWrite || err != nil && (!errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "writable by other users") || !strings.HasSuffix(err.Error(), "run chmod 700 "+d)) {
			t.Errorf("CheckDirWrite at %04o: %v", tc.mode, err)
		}
	}
	if err := CheckDirWrite("data directory", filepath.Join(d, "missing")); err != nil {
		t.Errorf("CheckDirWrite of a missing directory: %v", err)
	}
}

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, info, err := ReadRegular(p, 5)
	if err != nil || string(data) != "12345" || info.Size() != 5 {
		t.Fatalf("ReadRegular = %q, %v, %v", data, info, err)
	}
	if _, _, err := ReadRegular(p, 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadRegular over the limit: %v, want ErrTooLarge", err)
	}
	if _, _, err := ReadRegular(filepath.Join(dir, "missing"), 5); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadRegular of a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, _, err := ReadRegular(dir, 5); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadRegular of a directory: %v, want ErrNotRegular", err)
	}
	if runtime.GOOS != "windows" {
		if _, _, err := ReadRegular("/dev/zero", 5); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadRegular of /dev/zero: %v, want ErrNotRegular", err)
		}
	}
}
