package schema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/jsonschema"
)

// invalid is an ErrInvalid whose message stands on its own.
type invalid struct{ msg string }

func (e *invalid) Error() string        { return e.msg }
func (e *invalid) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error { return &invalid{msg: fmt.Sprintf(format, args...)} }

// indexTypes are the types go-threads can index (db.indexTypes).
var indexTypes = []string{"string", "number", "integer", "boolean"}

// CheckIndex applies go-threads' checks for an index on path (a dotted property path):
// not _id, which is always indexed; declared by the schema, following properties (and a
// $ref into the root's definitions) as go-threads does; and of an indexable type.
func CheckIndex(schema json.RawMessage, path string) error {
	if path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, "..") {
		return invalidf("invalid index path %q: use a property name, or a dotted path such as address.city", path)
	}
	if path == IDField {
		return invalidf("_id is always indexed (unique) by ThreadDB: do not give it as an index")
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(schema, &s); err != nil {
		return fmt.Errorf("read the collection schema: %w", err)
	}
	jt := s.Type
	var walked []string
	for _, part := range strings.Split(path, ".") {
		props := properties(jt, s.Definitions)
		next := props[part]
		if next == nil {
			where := "the schema's properties"
			if len(walked) > 0 {
				where = fmt.Sprintf("the properties of %q", strings.Join(walked, "."))
			}
			return invalidf("cannot index %q: %q is not among %s; ThreadDB indexes only properties the schema declares", path, part, where)
		}
		walked = append(walked, part)
		jt = next
	}
	for _, t := range indexTypes {
		if jt.Type == t {
			return nil
		}
	}
	got := "no type"
	if jt.Type != "" {
		got = fmt.Sprintf("type %q", jt.Type)
	}
	return invalidf("cannot index %q: the schema gives it %s; ThreadDB indexes only string, number, integer and boolean properties", path, got)
}

// properties mirrors go-threads' getSchemaTypeProperties.
func properties(jt *jsonschema.Type, defs jsonschema.Definitions) map[string]*jsonschema.Type {
	if jt == nil {
		return nil
	}
	if jt.Ref != "" {
		parts := strings.Split(jt.Ref, "/")
		if def := defs[parts[len(parts)-1]]; def != nil {
			return def.Properties
		}
		return nil
	}
	return jt.Properties
}

// Properties lists the top-level properties of a stored schema (following a root $ref as
// go-threads does), sorted; nil when the schema cannot be read.
func Properties(schema json.RawMessage) []string {
	var s jsonschema.Schema
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil
	}
	props := properties(s.Type, s.Definitions)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
