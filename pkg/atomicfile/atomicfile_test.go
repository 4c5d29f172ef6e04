package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func modeName(m Mode) string {
	if m == Replace {
		return "Replace"
	}
	return "NoReplace"
}

// noTempFiles fails the test if dir holds any entry whose name starts with a dot,
// which is how WriteFile names its temporary files.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestWriteFileCreatesNewFile(t *testing.T) {
	for _, mode := range []Mode{NoReplace, Replace} {
		t.Run(modeName(mode), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "new.txt")
			if err := WriteFile(path, []byte("hello\n"), 0o600, mode); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			if got := readFile(t, path); string(got) != "hello\n" {
				t.Errorf("content = %q, want %q", got, "hello\n")
			}
			noTempFiles(t, dir)
		})
	}
}

func TestWriteFileNoReplaceRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.json")
	original := []byte("original content\x00\xff\n")
	if err := os.WriteFile(path, original, 0o600); err != nil {
		t.Fatal(err)
	}

	err := WriteFile(path, []byte("new content"), 0o600, NoReplace)
	if err == nil {
		t.Fatal("WriteFile(NoReplace) over an existing file succeeded")
	}
	if !errors.Is(err, ErrExists) {
		t.Errorf("error = %v, want one wrapping ErrExists", err)
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("error = %v, want one wrapping fs.ErrExist", err)
	}
	if got := readFile(t, path); !bytes.Equal(got, original) {
		t.Errorf("existing file changed: got %q, want %q", got, original)
	}
	noTempFiles(t, dir)
}

func TestWriteFileReplaceReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("a much longer original content that must disappear"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("short"), 0o600, Replace); err != nil {
		t.Fatalf("WriteFile(Replace): %v", err)
	}
	if got := readFile(t, path); string(got) != "short" {
		t.Errorf("content = %q, want %q", got, "short")
	}
	if runtime.GOOS != "windows" {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("mode after replace = %04o, want 0600", perm)
		}
	}
	noTempFiles(t, dir)
}

func TestWriteFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	for _, tc := range []struct {
		perm fs.FileMode
		mode Mode
	}{
		{0o600, NoReplace},
		{0o600, Replace},
		{0o640, NoReplace},
		{0o644, Replace},
	} {
		t.Run(fmt.Sprintf("%04o-%s", tc.perm, modeName(tc.mode)), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := WriteFile(path, []byte("x"), tc.perm, tc.mode); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != tc.perm {
				t.Errorf("mode = %04o, want %04o", got, tc.perm)
			}
		})
	}
}

func TestWriteFileEmptyData(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "empty")
	if err := WriteFile(path, nil, 0o600, NoReplace); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); len(got) != 0 {
		t.Errorf("content = %q, want empty", got)
	}
}

func TestWriteFileMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "f")
	if err := WriteFile(path, []byte("x"), 0o600, NoReplace); err == nil {
		t.Fatal("WriteFile into a missing directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteFile created the parent directory (stat error %v)", err)
	}
}

func TestWriteFileNoReplaceConcurrent(t *testing.T) {
	const writers = 20
	dir := t.TempDir()
	path := filepath.Join(dir, "contended")

	contents := make([][]byte, writers)
	for i := range contents {
		// Distinct, fairly large contents so that a torn or mixed write would show.
		contents[i] = bytes.Repeat([]byte(fmt.Sprintf("writer %02d;", i)), 4096)
	}

	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		errs      = make([]error, writers)
		successes []int
		mu        sync.Mutex
	)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs[i] = WriteFile(path, contents[i], 0o600, NoReplace)
			if errs[i] == nil {
				mu.Lock()
				successes = append(successes, i)
				mu.Unlock()
			}
		}(i)
	}
	close(start)
	wg.Wait()

	if len(successes) != 1 {
		t.Fatalf("%d writers succeeded (%v), want exactly 1", len(successes), successes)
	}
	for i, err := range errs {
		if i == successes[0] {
			continue
		}
		if !errors.Is(err, ErrExists) {
			t.Errorf("writer %d: error = %v, want ErrExists", i, err)
		}
	}
	if got := readFile(t, path); !bytes.Equal(got, contents[successes[0]]) {
		t.Errorf("file does not hold the winning writer's (%d) full content (len %d, want %d)",
			successes[0], len(got), len(contents[successes[0]]))
	}
	noTempFiles(t, dir)
}

func TestWriteFileReplaceConcurrent(t *testing.T) {
	const writers = 20
	dir := t.TempDir()
	path := filepath.Join(dir, "contended")

	contents := make(map[string]bool, writers)
	datas := make([][]byte, writers)
	for i := range datas {
		datas[i] = bytes.Repeat([]byte(fmt.Sprintf("writer %02d;", i)), 4096)
		contents[string(datas[i])] = true
	}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = WriteFile(path, datas[i], 0o600, Replace)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if got := readFile(t, path); !contents[string(got)] {
		t.Errorf("file holds a torn or mixed write (len %d)", len(got))
	}
	noTempFiles(t, dir)
}

func TestWriteFileRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := WriteFile("rel.txt", []byte("relative"), 0o600, NoReplace); err != nil {
		t.Fatalf("WriteFile with a bare file name: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "rel.txt")); string(got) != "relative" {
		t.Errorf("content = %q", got)
	}
	noTempFiles(t, dir)
}

func TestMkdirPrivate(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b")
	if err := MkdirPrivate(dir); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !info.IsDir() {
		t.Fatalf("%s is not a directory", dir)
	}
	if runtime.GOOS != "windows" {
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("mode = %04o, want no group/other bits", perm)
		}
	}
	// An existing directory is left as it is.
	if runtime.GOOS != "windows" {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := MkdirPrivate(dir); err != nil {
			t.Fatalf("MkdirPrivate on an existing directory: %v", err)
		}
		info, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o755 {
			t.Errorf("existing directory mode changed to %04o", perm)
		}
	}
}
