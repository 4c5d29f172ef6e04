package query

import (
	"strings"
	"testing"

	"github.com/textileio/go-threads/db"

	"github.com/hubctl/hubctl/pkg/query/querytest"
)

func TestFieldWalksObjectsOnly(t *testing.T) {
	in := Instance(`{"a":{"b":1,"c.d":2,"*":"star","arr":[10,20]},"dup":1,"dup":2,"n":null,"s":"x\u00e9","o":{"k":[1]}}`)
	for _, tc := range []struct {
		path string
		want any
		ok   bool
	}{
		{"a.b", 1.0, true},
		{"a.*", "star", true}, // a member named *, not a wildcard
		{"a.c", nil, false},   // "c.d" is one member: a dotted path cannot name it
		{"a.arr.0", nil, false},
		{"a.arr", Other("[10,20]"), true},
		{"dup", 1.0, true}, // the first, as go-threads' indexes read it
		{"n", nil, true},
		{"s", "x\u00e9", true},
		{"missing", nil, false},
		{"s.x", nil, false},
	} {
		got, ok := in.Field(tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Field(%q) = %#v, %v; want %#v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

// The table, evaluated in process on the docs in _id order: the same answers as every
// server gives.
func TestMatchAndSortAnswerTheTable(t *testing.T) {
	for _, tc := range querytest.Cases() {
		q := tc.Query
		var found [][]byte
		for _, d := range querytest.Docs {
			in := Instance(d)
			id, _ := in.Field(IDField)
			if q.Seek != "" && id.(string) < string(q.Seek) {
				continue
			}
			if !Filtered(q) || Match(q, in) {
				found = append(found, []byte(d))
			}
		}
		if SortsByID(q) {
			if q.Sort.Desc {
				for i, j := 0, len(found)-1; i < j; i, j = i+1, j-1 {
					found[i], found[j] = found[j], found[i]
				}
			}
		} else {
			sortStable(found, func(a, b []byte) bool {
				return Less(KeyOf(a, q.Sort.FieldPath), KeyOf(b, q.Sort.FieldPath), q.Sort.Desc)
			})
		}
		if q.Skip < len(found) {
			found = found[q.Skip:]
		} else {
			found = nil
		}
		if q.Limit > 0 && q.Limit < len(found) {
			found = found[:q.Limit]
		}
		if got := querytest.Names(found); got != tc.Want {
			t.Errorf("%s: %s, want %s", tc.Name, got, tc.Want)
		}
	}
}

func sortStable(s [][]byte, less func(a, b []byte) bool) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && less(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestParseIsStrictDecodeIsNot(t *testing.T) {
	if _, err := Parse([]byte(`{"ands":[],"extra":1}`)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("Parse with an unknown field: %v", err)
	}
	q, err := Decode([]byte(`{"Ands":[{"FieldPath":"a","Operation":1,"Value":{"Float":2}}],"extra":1}`))
	if err != nil || len(q.Ands) != 1 || q.Ands[0].Operation != db.Ne {
		t.Errorf("Decode as go-threads reads it: %+v %v", q, err)
	}
	for _, raw := range []string{"", "null", "  "} {
		if q, err := Parse([]byte(raw)); err != nil || Filtered(q) {
			t.Errorf("Parse(%q) = %+v, %v: want the query for all", raw, q, err)
		}
	}
	if _, err := Parse([]byte(`{} {}`)); err == nil {
		t.Error("two JSON values were read as one query")
	}
}
