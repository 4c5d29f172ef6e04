// Package query is ThreadDB's query meaning, evaluated correctly: one evaluator for
// hubctl's servers (pkg/node find.go) and for the client that pages through a plain
// go-threads server (pkg/hub), so both give the same answer to the same query.
//
// go-threads v1.1.5's own Find is wrong in ways a caller cannot see: a criterion on a
// field that an instance lacks, or holds with another type, ends its scan at that
// instance and returns what it found so far as if that were all; limit and skip apply
// before the sort; a sort over values of mixed types, or an unknown operation, panics
// the server. Here:
//   - a criterion is a dotted path through nested objects, an operation and a string,
//     number or boolean; an instance lacking the field, or holding another type there,
//     does not match it, and the scan goes on;
//   - a query matches when all its criteria do, or else when any of its alternatives
//     (ors) does; a query with no criteria but alternatives is its alternatives;
//   - results are sorted (by _id when no field is named; instances lacking the sort field
//     last, either way; mixed types ordered null, booleans, numbers, strings, then
//     objects and arrays), then skip, then limit apply;
//   - seek starts at an _id: only instances with an _id at or after it are considered.
package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/textileio/go-threads/db"
	"github.com/tidwall/gjson"
)

// IDField is the field every instance is identified by.
const IDField = "_id"

// Bounds of one query, so that evaluating it against every instance stays cheap whatever
// a caller sends: more criteria than this make no query a person writes.
const (
	MaxCriteria = 256
	MaxDepth    = 16
)

// example is what a malformed query's error shows.
const example = `{"ands":[{"fieldPath":"age","operation":2,"value":{"float":30}}],"sort":{"fieldPath":"name","desc":false},"limit":10,"skip":0}`

// Parse reads a query in ThreadDB's JSON form strictly (unknown fields are refused), for
// queries a person wrote, and checks it. Empty input and null are the query for all.
func Parse(raw []byte) (*db.Query, error) {
	return decode(raw, true)
}

// Decode reads a query as go-threads' server does (field names in any case, unknown
// fields ignored: clients send what their versions know), then checks it.
func Decode(raw []byte) (*db.Query, error) {
	return decode(raw, false)
}

func decode(raw []byte, strict bool) (*db.Query, error) {
	q := &db.Query{}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return q, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(q); err != nil {
		return nil, fmt.Errorf("invalid query: %s; a query is ThreadDB's JSON form: %s", jsonErr(err), example)
	}
	if dec.More() {
		return nil, errors.New("invalid query: more than one JSON value")
	}
	if err := Check(q); err != nil {
		return nil, err
	}
	return q, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// OperationNames are go-threads' operations in its order (db.Eq = 0 ... db.Le = 5).
var OperationNames = []string{"eq", "ne", "gt", "lt", "ge", "le"}

// Check refuses what go-threads would panic on or misread: null criteria or
// alternatives, a criterion without a field, an unknown operation, a value that is not
// exactly one of string, bool or float, a negative limit or skip, and queries past
// MaxCriteria or MaxDepth.
func Check(q *db.Query) error {
	if q.Limit < 0 || q.Skip < 0 {
		return errors.New("invalid query: limit and skip must not be negative")
	}
	n := 0
	return check(q, "", 0, &n)
}

func check(q *db.Query, at string, depth int, n *int) error {
	if q == nil {
		return fmt.Errorf("invalid query: %s is null", strings.TrimSuffix(at, "."))
	}
	if depth > MaxDepth {
		return fmt.Errorf("invalid query: alternatives (ors) nest deeper than %d", MaxDepth)
	}
	for i, c := range q.Ands {
		where := fmt.Sprintf("%sands[%d]", at, i)
		if *n++; *n > MaxCriteria {
			return fmt.Errorf("invalid query: more than %d criteria", MaxCriteria)
		}
		if c == nil {
			return fmt.Errorf("invalid query: %s is null", where)
		}
		if c.FieldPath == "" {
			return fmt.Errorf("invalid query: %s has no fieldPath", where)
		}
		if c.Operation < 0 || int(c.Operation) >= len(OperationNames) {
			return fmt.Errorf("invalid query: %s: operation %d is not one of 0 (eq), 1 (ne), 2 (gt), 3 (lt), 4 (ge), 5 (le)", where, c.Operation)
		}
		set := 0
		for _, ok := range []bool{c.Value.String != nil, c.Value.Bool != nil, c.Value.Float != nil} {
			if ok {
				set++
			}
		}
		if set != 1 {
			return fmt.Errorf("invalid query: %s: the value must have exactly one of string, bool or float", where)
		}
	}
	for i, o := range q.Ors {
		if *n++; *n > MaxCriteria {
			return fmt.Errorf("invalid query: more than %d criteria", MaxCriteria)
		}
		if err := check(o, fmt.Sprintf("%sors[%d].", at, i), depth+1, n); err != nil {
			return err
		}
	}
	return nil
}

// Filtered reports whether q has criteria at all.
func Filtered(q *db.Query) bool { return len(q.Ands) > 0 || len(q.Ors) > 0 }

// SortsByID reports whether q's results come in _id order (ascending or not).
func SortsByID(q *db.Query) bool {
	return q.Sort.FieldPath == "" || q.Sort.FieldPath == IDField
}

// Other is an object or array field, as its JSON: it matches no criterion and sorts
// after every other type.
type Other string

// Instance is one instance's JSON, read field by field without decoding the rest.
type Instance []byte

// Field follows a dotted path through nested objects. A value is nil (JSON null), a
// bool, a float64, a string or an Other; ok is false when a step is missing or is not
// an object. Arrays are not indexed into ("a.0" is member "0" of object a), as
// go-threads' own path walk does, and of duplicate members the first counts, as for
// go-threads' indexes (gjson).
func (in Instance) Field(path string) (any, bool) {
	cur := gjson.ParseBytes(in)
	for _, part := range strings.Split(path, ".") {
		if !cur.IsObject() {
			return nil, false
		}
		var next gjson.Result
		found := false
		cur.ForEach(func(k, v gjson.Result) bool {
			if k.Str == part {
				next, found = v, true
				return false
			}
			return true
		})
		if !found {
			return nil, false
		}
		cur = next
	}
	switch cur.Type {
	case gjson.Null:
		return nil, true
	case gjson.False:
		return false, true
	case gjson.True:
		return true, true
	case gjson.Number:
		return cur.Num, true
	case gjson.String:
		return cur.Str, true
	}
	return Other(cur.Raw), true
}

// Match reports whether the instance satisfies q.
func Match(q *db.Query, in Instance) bool {
	// With no criteria of its own but alternatives, a query is its alternatives
	// (go-threads would match everything there, ignoring them).
	all := len(q.Ands) > 0 || len(q.Ors) == 0
	for _, c := range q.Ands {
		if !MatchCriterion(c, in) {
			all = false
			break
		}
	}
	if all {
		return true
	}
	for _, o := range q.Ors {
		if Match(o, in) {
			return true
		}
	}
	return false
}

// MatchCriterion reports whether the instance satisfies one criterion.
func MatchCriterion(c *db.Criterion, in Instance) bool {
	field, ok := in.Field(c.FieldPath)
	if !ok {
		return false
	}
	return MatchValue(c, field)
}

// MatchValue reports whether a field's value (as Field returns it) satisfies c: of
// another type than c's value, it does not.
func MatchValue(c *db.Criterion, field any) bool {
	var r int
	switch {
	case c.Value.String != nil:
		s, ok := field.(string)
		if !ok {
			return false
		}
		r = strings.Compare(s, *c.Value.String)
	case c.Value.Float != nil:
		f, ok := field.(float64)
		if !ok {
			return false
		}
		r = compareFloat(f, *c.Value.Float)
	case c.Value.Bool != nil:
		b, ok := field.(bool)
		if !ok {
			return false
		}
		r = compareBool(b, *c.Value.Bool)
	default:
		return false
	}
	switch c.Operation {
	case db.Eq:
		return r == 0
	case db.Ne:
		return r != 0
	case db.Gt:
		return r > 0
	case db.Lt:
		return r < 0
	case db.Ge:
		return r >= 0
	case db.Le:
		return r <= 0
	}
	return false
}

// SortKey is an instance's place in a sort on a field.
type SortKey struct {
	Value any
	// Has is false for an instance that lacks the field: it sorts last.
	Has bool
}

// KeyOf reads the sort key of an instance for a sort on path.
func KeyOf(in Instance, path string) SortKey {
	v, ok := in.Field(path)
	return SortKey{Value: v, Has: ok}
}

// Less orders two sort keys for a sort, descending or not; instances lacking the field
// come last either way.
func Less(a, b SortKey, desc bool) bool {
	if !a.Has || !b.Has {
		return a.Has && !b.Has
	}
	r := Compare(a.Value, b.Value)
	if desc {
		r = -r
	}
	return r < 0
}

// Compare orders any two field values: by type first (null, booleans, numbers,
// strings, then objects and arrays), then by value.
func Compare(a, b any) int {
	ra, rb := typeRank(a), typeRank(b)
	if ra != rb {
		return ra - rb
	}
	switch x := a.(type) {
	case bool:
		return compareBool(x, b.(bool))
	case float64:
		return compareFloat(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case Other:
		return strings.Compare(string(x), string(b.(Other)))
	}
	return 0
}

func typeRank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case float64:
		return 2
	case string:
		return 3
	}
	return 4
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
