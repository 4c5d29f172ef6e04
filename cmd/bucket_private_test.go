package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hubctl/hubctl/pkg/hub"
)

func TestRedactToken(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:1/thread/bafk/buckets/bafz/a.txt?token=eyJhbGciOi.secret.sig": "http://127.0.0.1:1/thread/bafk/buckets/bafz/a.txt?token=REDACTED",
		"http://127.0.0.1:1/ipns/bafz": "http://127.0.0.1:1/ipns/bafz",
		"http://h/x?a=1&token=s3cret":  "http://h/x?a=1&token=REDACTED",
		"":                             "",
		"http://h/x?other=1":           "http://h/x?other=1",
	} {
		if got := redactToken(in); got != want {
			t.Errorf("redactToken(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(redactToken(in), "secret") || strings.Contains(redactToken(in), "s3cret") {
			t.Errorf("redactToken(%q) kept the token", in)
		}
	}
	l := hub.BucketLinks{URL: "http://h/a?token=T", IPNS: "http://h/b?token=T", WWW: ""}
	if got := redactLinks(l, true); got != l {
		t.Errorf("redactLinks(show) changed the links: %+v", got)
	}
	if got := redactLinks(l, false); strings.Contains(got.URL+got.IPNS, "=T") {
		t.Errorf("redactLinks kept the token: %+v", got)
	}
}

// The state of a private bucket: entries under the synced directory are replaced, others
// kept (two syncs of different directories), written 0600, and a damaged file is an empty
// state rather than trusted.
func TestSyncStateReplace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bucket-sync", "db-key.json")
	if err := replaceSyncState(p, "db", "key", "", map[string]syncEntry{
		"docs/a": {SHA256: "1", Stored: "c1"}, "docs/b": {SHA256: "2", Stored: "c2"}, "img/x": {SHA256: "3", Stored: "c3"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := replaceSyncState(p, "db", "key", "docs", map[string]syncEntry{"docs/a": {SHA256: "9", Stored: "c9"}}); err != nil {
		t.Fatal(err)
	}
	st, err := readSyncState(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]syncEntry{"docs/a": {SHA256: "9", Stored: "c9"}, "img/x": {SHA256: "3", Stored: "c3"}}
	if len(st.Files) != len(want) || st.Files["docs/a"] != want["docs/a"] || st.Files["img/x"] != want["img/x"] {
		t.Fatalf("state after replacing docs: %v, want %v", st.Files, want)
	}
	// "docs" is not a prefix of "docsx".
	if !underPrefix("docs/a", "docs") || underPrefix("docsx/a", "docs") || !underPrefix("x", "") {
		t.Fatal("underPrefix")
	}
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, want 0600", info.Mode().Perm())
	}
	if err := os.WriteFile(p, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := readSyncState(p); err == nil || len(st.Files) != 0 {
		t.Fatalf("damaged state read as %v, %v", st.Files, err)
	}
	if err := replaceSyncState(p, "db", "key", "img", map[string]syncEntry{"img/y": {SHA256: "4", Stored: "c4"}}); err != nil {
		t.Fatal(err)
	}
	if st, err := readSyncState(p); err != nil || len(st.Files) != 1 {
		t.Fatalf("state after a damaged one: %v, %v", st.Files, err)
	}
}

// Syncs of one bucket at once keep each other's entries (the lock and the re-read).
func TestSyncStateConcurrent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.json")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := string(rune('a' + i))
			if err := replaceSyncState(p, "db", "key", dir, map[string]syncEntry{dir + "/f": {SHA256: dir, Stored: "c"}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var st syncState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Files) != 8 {
		t.Fatalf("%d entries after 8 concurrent syncs, want 8: %v", len(st.Files), st.Files)
	}
}

// A file is unchanged only on an exact match of both its digest and the stored CID.
func TestPrivateCompareSame(t *testing.T) {
	pc := &privateCompare{
		state: syncState{Files: map[string]syncEntry{"a": {SHA256: "s1", Stored: "c1"}}},
		sums:  map[string]string{"/l/a": "s1", "/l/b": "s2"},
	}
	for _, tc := range []struct {
		abs  string
		it   hub.BucketItem
		want bool
	}{
		{"/l/a", hub.BucketItem{Path: "a", CID: "c1"}, true},
		{"/l/a", hub.BucketItem{Path: "a", CID: "c2"}, false}, // changed in the bucket
		{"/l/b", hub.BucketItem{Path: "a", CID: "c1"}, false}, // changed locally
		{"/l/c", hub.BucketItem{Path: "a", CID: "c1"}, false}, // not hashed
		{"/l/a", hub.BucketItem{Path: "b", CID: "c1"}, false}, // no entry
	} {
		if got := pc.same(tc.abs, tc.it); got != tc.want {
			t.Errorf("same(%s, %+v) = %v, want %v", tc.abs, tc.it, got, tc.want)
		}
	}
}

// What a push sends is what is recorded, read to its end.
func TestSentSums(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSentSums()
	rc, err := s.open("x/f", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.get("x/f"); ok {
		t.Fatal("a sum before the file was read")
	}
	buf := make([]byte, 4)
	for {
		if _, err := rc.Read(buf); err != nil {
			break
		}
	}
	rc.Close()
	want, _ := sha256File(p)
	if got, ok := s.get("x/f"); !ok || got != want {
		t.Fatalf("sum %q, %v; want %q", got, ok, want)
	}
}
