package buckets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FileHasher gives each file queued the CID FileCID gives its content, and, when files
// fail, the error of the first one queued, whichever worker met it first.
func TestFileHasher(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	want := map[string]string{}
	for i := range 200 {
		p := filepath.Join(dir, fmt.Sprintf("f%03d", i))
		data := bytes.Repeat([]byte{byte(i)}, i*1000)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := FileCID(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		paths, want[p] = append(paths, p), c.String()
	}
	ctx := context.Background()
	h := NewFileHasher(ctx)
	for _, p := range paths {
		h.Add(p)
	}
	got, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d CIDs, want %d", len(got), len(want))
	}
	for p, c := range want {
		if got[p] != c {
			t.Fatalf("%s: %s, want %s", p, got[p], c)
		}
	}

	for round := range 20 {
		h := NewFileHasher(ctx)
		for i, p := range paths {
			if i == 150 {
				h.Add(filepath.Join(dir, "missing-first"))
			}
			if i == 160 {
				h.Add(filepath.Join(dir, "missing-second"))
			}
			h.Add(p)
		}
		_, err := h.Wait(ctx)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing-first") {
			t.Fatalf("round %d: %v, want the first missing file's error", round, err)
		}
	}
}
