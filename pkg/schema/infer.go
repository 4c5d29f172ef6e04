package schema

import (
	"encoding/json"
	"fmt"

	"github.com/alecthomas/jsonschema"
)

// draft04 is the draft go-threads' schema type describes; inferred schemas name it.
const draft04 = "http://json-schema.org/draft-04/schema#"

// Infer builds a collection schema from a sample: one JSON object (an instance), or an
// array of them, whose properties are merged. Each property gets the type of its value,
// recursively: objects get their properties, arrays the union of their elements' types
// (one schema when they agree, objects merged, else "anyOf"); all numbers are "number",
// since a sample's 3 says nothing against a later 3.5; a property seen only as null
// accepts anything. Only "_id" is required, and it is always there, as a string, as
// ThreadDB needs. The result is returned as ThreadDB stores it (see Check).
func Infer(file string, data []byte) (json.RawMessage, error) {
	file = DisplayName(file)
	doc, err := parseJSON(file, data, "a sample JSON document (an object, or an array of objects)")
	if err != nil {
		return nil, err
	}
	var samples []map[string]any
	prefix := ""
	switch v := doc.value.(type) {
	case map[string]any:
		samples = append(samples, v)
	case []any:
		if len(v) == 0 {
			return nil, &Error{File: file, Msg: "the sample is an empty array: give at least one instance object"}
		}
		prefix = "/%d"
		for i, e := range v {
			obj, ok := e.(map[string]any)
			if !ok {
				return nil, doc.errorAt(file, fmt.Sprintf("/%d", i), fmt.Sprintf("element %d of the sample is %s: a sample holds instances, which are JSON objects", i, kindOf(e)))
			}
			samples = append(samples, obj)
		}
	default:
		return nil, &Error{File: file, Msg: fmt.Sprintf("the sample is %s: give one instance (a JSON object) or an array of them", kindOf(doc.value))}
	}

	var root *jsonschema.Type
	for i, s := range samples {
		if id, ok := s[IDField]; ok {
			if _, isString := id.(string); !isString {
				at := "/" + IDField
				if prefix != "" {
					at = fmt.Sprintf(prefix, i) + at
				}
				return nil, doc.errorAt(file, at, fmt.Sprintf("_id is %s in the sample: ThreadDB instance IDs are strings", kindOf(id)))
			}
		}
		root = union(root, infer(s))
	}
	root = loosen(root)
	root.Version = draft04
	if root.Properties == nil {
		root.Properties = map[string]*jsonschema.Type{}
	}
	root.Properties[IDField] = &jsonschema.Type{Type: "string"}
	root.Required = []string{IDField}
	out, err := json.Marshal(&jsonschema.Schema{Type: root})
	if err != nil {
		return nil, fmt.Errorf("%s: encode the inferred schema: %w", file, err)
	}
	// What Infer makes must pass Check: it is sent like any other schema.
	checked, err := Check(file, out)
	if err != nil {
		return nil, fmt.Errorf("the schema inferred from %s is refused (a hubctl bug): %w", file, err)
	}
	return checked.Schema, nil
}

// infer describes one value.
func infer(v any) *jsonschema.Type {
	switch x := v.(type) {
	case map[string]any:
		t := &jsonschema.Type{Type: "object", Properties: map[string]*jsonschema.Type{}}
		for k, pv := range x {
			t.Properties[k] = infer(pv)
		}
		return t
	case []any:
		t := &jsonschema.Type{Type: "array"}
		var items *jsonschema.Type
		for _, e := range x {
			items = union(items, infer(e))
		}
		t.Items = items
		return t
	case string:
		return &jsonschema.Type{Type: "string"}
	case json.Number:
		return &jsonschema.Type{Type: "number"}
	case bool:
		return &jsonschema.Type{Type: "boolean"}
	default:
		return &jsonschema.Type{Type: "null"}
	}
}

// loosen turns "only ever null" into "anything", in properties and items: a null in a
// sample does not say what the property holds when it is set. It runs once all samples
// are merged, so null next to a string still makes "anyOf" string or null.
func loosen(t *jsonschema.Type) *jsonschema.Type {
	if t == nil {
		return nil
	}
	if t.Type == "null" {
		return &jsonschema.Type{}
	}
	for k, p := range t.Properties {
		t.Properties[k] = loosen(p)
	}
	t.Items = loosen(t.Items)
	for _, a := range t.AnyOf {
		for k, p := range a.Properties {
			a.Properties[k] = loosen(p)
		}
		a.Items = loosen(a.Items)
	}
	return t
}

// union is a schema that accepts what a or b accepts: one type merged, or anyOf.
func union(a, b *jsonschema.Type) *jsonschema.Type {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	if isAny(a) || isAny(b) {
		return &jsonschema.Type{}
	}
	alts := alternatives(a)
	for _, t := range alternatives(b) {
		merged := false
		for i, x := range alts {
			if x.Type == t.Type {
				alts[i] = merge(x, t)
				merged = true
				break
			}
		}
		if !merged {
			alts = append(alts, t)
		}
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return &jsonschema.Type{AnyOf: alts}
}

// merge combines two schemas of the same type.
func merge(a, b *jsonschema.Type) *jsonschema.Type {
	switch a.Type {
	case "object":
		t := &jsonschema.Type{Type: "object", Properties: map[string]*jsonschema.Type{}}
		for k, v := range a.Properties {
			t.Properties[k] = v
		}
		for k, v := range b.Properties {
			if x, ok := t.Properties[k]; ok {
				v = union(x, v)
			}
			t.Properties[k] = v
		}
		return t
	case "array":
		return &jsonschema.Type{Type: "array", Items: union(a.Items, b.Items)}
	default:
		return a
	}
}

func alternatives(t *jsonschema.Type) []*jsonschema.Type {
	if t.Type == "" && len(t.AnyOf) > 0 {
		return append([]*jsonschema.Type(nil), t.AnyOf...)
	}
	return []*jsonschema.Type{t}
}

func isAny(t *jsonschema.Type) bool { return t.Type == "" && len(t.AnyOf) == 0 }
