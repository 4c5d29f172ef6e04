package buckets

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

var testRoot, _ = cid.Decode("bafybeig6bywo73qo7gdfpzcmzsthxdaxwq4kv7ry25iyqgt2gkwoc4plni")

// TestBucketJSON checks the instance's JSON is the Hub's (digest 3.1).
func TestBucketJSON(t *testing.T) {
	b := New("bafzkey", "owner-pk", "photos", testRoot, time.Unix(0, 42))
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_id":"bafzkey","owner":"owner-pk","name":"photos","version":1,` +
		`"path":"/ipfs/bafybeig6bywo73qo7gdfpzcmzsthxdaxwq4kv7ry25iyqgt2gkwoc4plni",` +
		`"metadata":{"":{"roles":{"*":1,"owner-pk":3},"updated_at":42},".textileseed":{"roles":{},"updated_at":42}},` +
		`"archives":{"current":{"cid":"","deals":[]},"history":[]},"created_at":42,"updated_at":42}`
	if string(raw) != want {
		t.Fatalf("JSON\n%s\nwant\n%s", raw, want)
	}
	r, err := b.Root()
	if err != nil || !r.Equals(testRoot) {
		t.Fatalf("Root() = %v, %v", r, err)
	}
	for _, bad := range []string{"", "bafy", "/ipfs/", "/ipfs/nope", "/ipns/" + testRoot.String()} {
		if _, err := (&Bucket{Path: bad}).Root(); err == nil {
			t.Errorf("Root() of path %q accepted", bad)
		}
	}
	if New("k", "", "n", testRoot, time.Now()).Metadata[""].Roles == nil {
		t.Error("ownerless bucket: nil roles would be null in JSON and fail the schema")
	}
}

func TestCopyIsDeep(t *testing.T) {
	b := New("k", "o", "n", testRoot, time.Unix(1, 0))
	c := b.Copy()
	c.Metadata[""].Roles["x"] = Writer
	c.Metadata["new"] = Metadata{}
	c.Archives.History = append(c.Archives.History, Archive{Cid: "x"})
	if _, ok := b.Metadata[""].Roles["x"]; ok || len(b.Metadata) != 2 || len(b.Archives.History) != 0 {
		t.Fatalf("Copy shares state with the original: %+v", b)
	}
}

func TestMetadataForPath(t *testing.T) {
	b := New("k", "o", "n", testRoot, time.Unix(0, 1))
	b.SetMetadataAtPath("a/b", Metadata{UpdatedAt: 2})
	for p, at := range map[string]string{"": "", "x": "", "a": "", "a/b": "a/b", "a/b/c/d": "a/b", "a/bc": ""} {
		_, got, ok := b.MetadataForPath(p, false)
		if !ok || got != at {
			t.Errorf("MetadataForPath(%q) at %q, %v; want %q", p, got, ok, at)
		}
	}
	delete(b.Metadata, "")
	if _, _, ok := b.MetadataForPath("x/y", false); ok {
		t.Error("no root entry: want a miss")
	}
	// A private bucket skips entries without a key when one is required.
	p := &Bucket{Version: Version, LinkKey: "lk", Metadata: map[string]Metadata{"": {Key: "k0"}, "a": {}}}
	if _, at, _ := p.MetadataForPath("a/f", true); at != "" {
		t.Errorf("private, requireKey: at %q, want the root", at)
	}
	if _, at, _ := p.MetadataForPath("a/f", false); at != "a" {
		t.Errorf("private: at %q, want a", at)
	}
}

func TestSetMetadataAtPathMerges(t *testing.T) {
	b := New("k", "o", "n", testRoot, time.Unix(0, 1))
	b.SetMetadataAtPath("", Metadata{UpdatedAt: 5})
	if md := b.Metadata[""]; md.UpdatedAt != 5 || md.Roles["o"] != Admin {
		t.Errorf("merge lost roles or time: %+v", md)
	}
	b.SetMetadataAtPath("f", Metadata{UpdatedAt: 6})
	if md := b.Metadata["f"]; md.Roles == nil || md.UpdatedAt != 6 {
		t.Errorf("new entry: %+v", md)
	}
	v0 := &Bucket{}
	v0.SetMetadataAtPath("f", Metadata{})
	if v0.Metadata != nil {
		t.Error("version 0 bucket got metadata")
	}
}

// TestUnsetMetadataWithPrefix is the Hub's prefix bug: removing "a" must not remove "ab".
func TestUnsetMetadataWithPrefix(t *testing.T) {
	for pre, left := range map[string][]string{
		"a":   {"", ".textileseed", "ab", "ab/c", "b"},
		"a/":  {"", ".textileseed", "a", "ab", "ab/c", "b"},
		"a/b": {"", ".textileseed", "a", "a/bc", "ab", "ab/c", "b"},
		"ab":  {"", ".textileseed", "a", "a/b", "a/b/c", "a/bc", "b"},
		"":    {},
	} {
		b := New("k", "o", "n", testRoot, time.Unix(0, 1))
		for _, p := range []string{"a", "a/b", "a/b/c", "a/bc", "ab", "ab/c", "b"} {
			b.SetMetadataAtPath(p, Metadata{})
		}
		b.UnsetMetadataWithPrefix(pre)
		got := slices.Sorted(maps.Keys(b.Metadata))
		if !slices.Equal(got, left) {
			t.Errorf("UnsetMetadataWithPrefix(%q) left %q, want %q", pre, got, left)
		}
	}
}
