package instanceid

import (
	"errors"
	"strings"
	"testing"

	ds "github.com/ipfs/go-datastore"
	core "github.com/textileio/go-threads/core/db"
)

func TestCheck(t *testing.T) {
	valid := []string{
		core.NewInstanceID().String(),          // what go-threads makes
		"8f14e45f-ceea-467f-a0e6-0b8f3e7c2d1a", // UUID
		"alice@example.com",
		"a..b", "...", ".hidden", "x.", "héllo wörld", "with space", "a:b",
		strings.Repeat("x", MaxLen),
	}
	for _, id := range valid {
		if err := Check(id); err != nil {
			t.Errorf("Check(%q) = %v, want nil", id, err)
		}
	}
	invalid := []string{
		"", ".", "..", "/", "a/b", "../other/victim1", "../../schema/people", `a\b`, `..\x`,
		"a\x00b", "line\nbreak", "tab\t", "\x7f", "\u0085", "\xff\xfe",
		strings.Repeat("x", MaxLen+1),
	}
	for _, id := range invalid {
		if err := Check(id); !errors.Is(err, ErrInvalid) {
			t.Errorf("Check(%q) = %v, want ErrInvalid", id, err)
		}
	}
}

// FuzzCheck holds the rule to what it is for: an ID it accepts is one key segment below
// its collection, whatever go-datastore's path cleaning makes of it.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"ok", "..", "../x", "a/./b", "x/..", ".", "a\\b", "\x00", "é"} {
		f.Add(s)
	}
	collection := ds.NewKey("/db/collection/people")
	f.Fuzz(func(t *testing.T, id string) {
		if Check(id) != nil {
			return
		}
		k := collection.ChildString(id)
		if k.String() != collection.String()+"/"+id || k.Parent().String() != collection.String() {
			t.Fatalf("Check(%q) accepted an ID that becomes key %s", id, k)
		}
	})
}

func TestFromJSON(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		id      string
		present bool
	}{
		{`{"_id":"a"}`, "a", true},
		{`{"name":"x"}`, "", false},
		{`{"_id":null}`, "", false},
		{`{"_id":""}`, "", true},
		// encoding/json, which go-threads reads _id with, matches field names
		// case-insensitively and keeps the last of duplicates.
		{`{"_ID":"../x"}`, "../x", true},
		{`{"_id":"a","_id":"../x"}`, "../x", true},
	} {
		id, present, err := FromJSON([]byte(tc.doc))
		if err != nil || id != tc.id || present != tc.present {
			t.Errorf("FromJSON(%s) = %q, %v, %v; want %q, %v", tc.doc, id, present, err, tc.id, tc.present)
		}
	}
}

func TestCheckNewAndSaved(t *testing.T) {
	for _, tc := range []struct {
		doc           string
		newOK, saveOK bool
	}{
		{`{"name":"x"}`, true, false},          // a create gets a new ID; a save needs one
		{`{"_id":""}`, true, false},            // likewise
		{`{"_id":"alice"}`, true, true},        // a chosen ID
		{`{"_id":"../other/v"}`, false, false}, // out of its collection
		{`{"_ID":"../../schema/p"}`, false, false},
		{`{"_id":"a","_id":".."}`, false, false}, // the last duplicate counts
	} {
		if err := CheckNew([]byte(tc.doc)); (err == nil) != tc.newOK {
			t.Errorf("CheckNew(%s) = %v, want ok=%v", tc.doc, err, tc.newOK)
		}
		if err := CheckSaved([]byte(tc.doc)); (err == nil) != tc.saveOK {
			t.Errorf("CheckSaved(%s) = %v, want ok=%v", tc.doc, err, tc.saveOK)
		}
	}
}
