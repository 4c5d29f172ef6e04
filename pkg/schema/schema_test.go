package schema

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"
)

const person = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "properties": {
    "_id": {"type": "string"},
    "name": {"type": "string"},
    "age": {"type": "integer", "minimum": 1}
  },
  "required": ["_id", "name"]
}`

func TestCheckAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		dropped  []string
	}{
		{"plain", person, nil},
		// The form go-threads' own reflector (and the JS client) produce: a root $ref.
		{"root ref", `{"$schema":"http://json-schema.org/draft-04/schema#","$ref":"#/definitions/person",
			"definitions":{"person":{"type":"object","properties":{"_id":{"type":"string"}}}}}`, nil},
		{"no root type", `{"properties":{"_id":{"type":"string"}}}`, nil},
		{"byte order mark", "\xef\xbb\xbf" + `{"properties":{"_id":{"type":"string"}}}`, nil},
		{"dropped keywords", `{"type":"object","properties":{"_id":{"type":"string"},
			"kind":{"const":"x"},"n":{"type":"number","minimum":0},"s":{"type":"string","minLength":0},
			"tags":{"type":"array","uniqueItems":false}},"if":{"required":["n"]}}`,
			[]string{"/if", "/properties/kind/const", "/properties/n/minimum"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Check("s.json", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Dropped, tc.dropped) {
				t.Errorf("dropped %q, want %q", c.Dropped, tc.dropped)
			}
			if !json.Valid(c.Schema) {
				t.Fatalf("stored schema is not JSON: %s", c.Schema)
			}
			if _, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(c.Schema)); err != nil {
				t.Errorf("stored schema is not a valid schema: %v", err)
			}
			// The stored form is a fixed point: checking it again changes nothing.
			again, err := Check("s.json", c.Schema)
			if err != nil || string(again.Schema) != string(c.Schema) || len(again.Dropped) != 0 {
				t.Errorf("second check: %s, %v, %v", again.Schema, again.Dropped, err)
			}
		})
	}
}

func TestCheckRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // the whole message
	}{
		{"empty", " \n", "s.json: the file is empty; it must hold a JSON Schema"},
		{"bad token", "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"_id\": {\"type\": 'string'}\n  }\n}",
			"s.json:4:21: invalid JSON: invalid character '\\'' looking for beginning of value"},
		{"trailing comma", "{\"type\": \"object\",\n}", "s.json:2:1: invalid JSON: invalid character '}' looking for beginning of object key string"},
		{"unclosed", "{\"type\": \"object\",\n \"properties\": {\n", "s.json:2:17: invalid JSON: unexpected end of input (an unclosed { or [ or string?)"},
		{"two values", "{}\n{}", "s.json:2:1: invalid JSON: invalid character '{' after top-level value"},
		{"columns count characters", `{"title": "é", x}`, "s.json:1:16: invalid JSON: invalid character 'x' looking for beginning of object key string"},
		{"byte order mark keeps positions", "\xef\xbb\xbf{,}", "s.json:1:3: invalid JSON: invalid character ',' looking for beginning of object key string"},
		{"array", `[{"type":"object"}]`, "s.json: a schema must be a JSON object, not an array"},
		{"unknown type", `{"type":"strin"}`, "s.json: not a valid JSON Schema: has a primitive type that is NOT VALID -- given: /strin/ Expected valid values are:[array boolean integer number null object string]"},
		{"required not a list", `{"properties":{"_id":{"type":"string"}},"required":"_id"}`, "s.json: not a valid JSON Schema: required must be of an array"},
		{"type list", "{\"properties\": {\n  \"_id\": {\"type\": \"string\"},\n  \"n\": {\"type\": [\"string\", \"null\"]}}}",
			`s.json:3:17: /properties/n/type: ThreadDB takes one type name in "type", not a list: use "anyOf" for alternatives (go-threads reads schemas as JSON Schema draft-04)`},
		{"fractional maximum", `{"properties":{"_id":{"type":"string"},"n":{"maximum":1.5}}}`,
			`s.json:1:55: /properties/n/maximum: ThreadDB takes "maximum" as an integer (go-threads reads schemas as JSON Schema draft-04)`},
		{"draft 6 exclusiveMinimum", `{"properties":{"_id":{"type":"string"},"n":{"exclusiveMinimum":0}}}`,
			`s.json:1:64: /properties/n/exclusiveMinimum: ThreadDB takes "exclusiveMinimum" as a boolean, in the draft-04 style ("minimum": N, "exclusiveMinimum": true) (go-threads reads schemas as JSON Schema draft-04)`},
		{"boolean subschema", `{"properties":{"_id":{"type":"string"},"n":true}}`,
			`s.json:1:44: /properties/n: ThreadDB cannot hold a boolean here (it wants a schema object) (go-threads reads schemas as JSON Schema draft-04)`},
		{"root not object", `{"type":"array","items":{"type":"string"}}`,
			`s.json:1:9: the schema's root has type "array", but ThreadDB instances are JSON objects: use "type": "object"`},
		{"no _id", "{\"type\":\"object\",\n\"properties\":{\"name\":{\"type\":\"string\"}}}",
			`s.json:2:14: the schema has no "_id" property: ThreadDB needs "_id": {"type": "string"} in "properties" (the instance ID)`},
		{"_id integer", "{\"type\":\"object\",\n\"properties\":{\"_id\":{\"type\":\"integer\"}}}",
			`s.json:2:21: the "_id" property has type "integer": ThreadDB needs "_id": {"type": "string"} (instance IDs are strings)`},
		{"no properties", `{"type":"object"}`,
			`s.json: the schema has no "_id" property: ThreadDB needs "_id": {"type": "string"} in "properties" (the instance ID)`},
		{"_id untyped", `{"properties":{"_id":{}}}`,
			`s.json:1:22: the "_id" property has no type: ThreadDB needs "_id": {"type": "string"} (instance IDs are strings)`},
		{"ref to array definition", `{"$ref":"#/definitions/p","definitions":{"p":{"type":"array"}}}`,
			`s.json:1:54: definition "p" has type "array", but ThreadDB instances are JSON objects: use "type": "object"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check("s.json", []byte(tc.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if err.Error() != tc.want {
				t.Errorf("error\n  %s\nwant\n  %s", err, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestStdinName(t *testing.T) {
	_, err := Check("-", []byte("{"))
	if err == nil || !strings.HasPrefix(err.Error(), "stdin:1:2: ") {
		t.Errorf("error %v: want it to name stdin at 1:2", err)
	}
}

func TestInfer(t *testing.T) {
	const head = `"$schema":"http://json-schema.org/draft-04/schema#","type":"object","required":["_id"],`
	for _, tc := range []struct {
		name, sample, want string
	}{
		{"scalars", `{"name":"Ada","age":36,"score":1.5,"admin":false}`,
			`{` + head + `"properties":{"_id":{"type":"string"},"admin":{"type":"boolean"},"age":{"type":"number"},"name":{"type":"string"},"score":{"type":"number"}}}`},
		{"_id kept as string", `{"_id":"abc","n":1}`,
			`{` + head + `"properties":{"_id":{"type":"string"},"n":{"type":"number"}}}`},
		{"nested objects", `{"address":{"city":"Paris","geo":{"lat":1.2}}}`,
			`{` + head + `"properties":{"_id":{"type":"string"},"address":{"type":"object","properties":{"city":{"type":"string"},"geo":{"type":"object","properties":{"lat":{"type":"number"}}}}}}}`},
		{"array of one type", `{"tags":["a","b"]}`,
			`{` + head + `"properties":{"_id":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}}}}`},
		{"array of objects merged", `{"pets":[{"name":"Rex"},{"name":"Tom","age":3}]}`,
			`{` + head + `"properties":{"_id":{"type":"string"},"pets":{"type":"array","items":{"type":"object","properties":{"age":{"type":"number"},"name":{"type":"string"}}}}}}`},
		{"mixed array is a union", `{"v":[1,"x",2,null]}`,
			`{` + head + `"properties":{"_id":{"type":"string"},"v":{"type":"array","items":{"anyOf":[{"type":"number"},{"type":"string"},{"type":"null"}]}}}}`},
		{"empty array", `{"v":[]}`,
			`{` + head + `"properties":{"_id":{"type":"string"},"v":{"type":"array"}}}`},
		{"nested arrays", `{"m":[[1],[2,3]]}`,
			`{` + head + `"properties":{"_id":{"type":"string"},"m":{"type":"array","items":{"type":"array","items":{"type":"number"}}}}}`},
		{"null accepts anything", `{"note":null}`,
			`{` + head + `"properties":{"_id":{"type":"string"},"note":{}}}`},
		{"samples merged", `[{"a":"x","n":null},{"b":true,"n":"y"}]`,
			`{` + head + `"properties":{"_id":{"type":"string"},"a":{"type":"string"},"b":{"type":"boolean"},"n":{"anyOf":[{"type":"null"},{"type":"string"}]}}}`},
		{"conflicting samples", `[{"a":"x"},{"a":1}]`,
			`{` + head + `"properties":{"_id":{"type":"string"},"a":{"anyOf":[{"type":"string"},{"type":"number"}]}}}`},
		{"empty object", `{}`, `{` + head + `"properties":{"_id":{"type":"string"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Infer("sample.json", []byte(tc.sample))
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, tc.want) {
				t.Errorf("inferred\n  %s\nwant\n  %s", got, tc.want)
			}
			// Every sample is an instance of what was inferred from it (with the _id
			// ThreadDB adds when it is missing).
			var samples []map[string]any
			if err := json.Unmarshal([]byte(tc.sample), &samples); err != nil {
				var one map[string]any
				if err := json.Unmarshal([]byte(tc.sample), &one); err != nil {
					t.Fatal(err)
				}
				samples = append(samples, one)
			}
			for _, inst := range samples {
				if _, ok := inst["_id"]; !ok {
					inst["_id"] = "x"
				}
				res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(got), gojsonschema.NewGoLoader(inst))
				if err != nil || !res.Valid() {
					t.Errorf("the sample %v is not valid against its schema: %v %v", inst, err, res.Errors())
				}
			}
		})
	}
}

func TestInferRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"not an object", `"x"`, "sample.json: the sample is a string: give one instance (a JSON object) or an array of them"},
		{"empty array", `[]`, "sample.json: the sample is an empty array: give at least one instance object"},
		{"array of scalars", "[{},\n 3]", "sample.json:2:2: element 1 of the sample is a number: a sample holds instances, which are JSON objects"},
		{"numeric _id", "{\n  \"_id\": 7\n}", "sample.json:2:10: _id is a number in the sample: ThreadDB instance IDs are strings"},
		{"numeric _id in array", `[{"_id":"a"},{"_id":true}]`, "sample.json:1:21: _id is a boolean in the sample: ThreadDB instance IDs are strings"},
		{"bad JSON", "{\"a\": 1,\n\"b\": }", "sample.json:2:6: invalid JSON: invalid character '}' looking for beginning of value"},
		{"empty", "", "sample.json: the file is empty; it must hold a sample JSON document (an object, or an array of objects)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Infer("sample.json", []byte(tc.in))
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrInvalid) {
				t.Errorf("error\n  %v\nwant\n  %s", err, tc.want)
			}
		})
	}
}

func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	return reflect.DeepEqual(a, b)
}

func TestCheckIndex(t *testing.T) {
	s := json.RawMessage(`{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"},
		"age":{"type":"integer"},"ok":{"type":"boolean"},"tags":{"type":"array"},"any":{},
		"address":{"type":"object","properties":{"city":{"type":"string"}}}}}`)
	ref := json.RawMessage(`{"$ref":"#/definitions/p","definitions":{"p":{"type":"object","properties":{"_id":{"type":"string"},"n":{"type":"number"}}}}}`)
	for _, tc := range []struct {
		schema json.RawMessage
		path   string
		want   string // "" accepts
	}{
		{s, "name", ""},
		{s, "age", ""},
		{s, "ok", ""},
		{s, "address.city", ""},
		{ref, "n", ""},
		{s, "_id", "_id is always indexed (unique) by ThreadDB: do not give it as an index"},
		{s, "nope", `cannot index "nope": "nope" is not among the schema's properties; ThreadDB indexes only properties the schema declares`},
		{s, "address.zip", `cannot index "address.zip": "zip" is not among the properties of "address"; ThreadDB indexes only properties the schema declares`},
		{s, "tags", `cannot index "tags": the schema gives it type "array"; ThreadDB indexes only string, number, integer and boolean properties`},
		{s, "address", `cannot index "address": the schema gives it type "object"; ThreadDB indexes only string, number, integer and boolean properties`},
		{s, "any", `cannot index "any": the schema gives it no type; ThreadDB indexes only string, number, integer and boolean properties`},
		{s, "a..b", `invalid index path "a..b": use a property name, or a dotted path such as address.city`},
		{s, "", `invalid index path "": use a property name, or a dotted path such as address.city`},
	} {
		err := CheckIndex(tc.schema, tc.path)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckIndex(%q) = %v, want nil", tc.path, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, ErrInvalid)):
			t.Errorf("CheckIndex(%q) = %v, want %s", tc.path, err, tc.want)
		}
	}
}

func TestCheckFunction(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   Function
		body string
		want string // "" accepts
		warn string
	}{
		{"write ok", WriteValidator, "if (instance && instance.locked) {\n  return false\n}\nreturn true\n", "", ""},
		{"filter ok", ReadFilter, "if (instance.secret) { delete instance.secret }\nreturn instance", "", ""},
		{"no return", WriteValidator, "var x = 1;", "", "v.js has no return statement: ThreadDB refuses every write when the validator returns nothing"},
		{"no return filter", ReadFilter, "instance.x = 1", "", "v.js has no return statement: ThreadDB hides every instance when the filter returns nothing"},
		{"empty", WriteValidator, "\n \n", `v.js: the file is empty: a write validator is a JavaScript function body, such as "return true"`, ""},
		{"syntax error", WriteValidator, "var a = 1;\nreturn a +* 2;\n", "v.js:2:11: Unexpected token *", ""},
		{"error on the first line", WriteValidator, "return )", "v.js:1:8: Unexpected token )", ""},
		// go-threads removes every tab before compiling; positions are in the file as written.
		{"tabs", WriteValidator, "if (true) {\n\t\treturn ]\n}", "v.js:2:10: Unexpected token ]", ""},
		{"unclosed", ReadFilter, "if (instance) {\n  return instance\n", "v.js:2:18: unexpected end of the function body (an unclosed bracket, parenthesis or string?)", ""},
		{"whole function", WriteValidator, "function (writer, event, instance) { return true }",
			"v.js:1:10: Unexpected token (; give the function's body only: ThreadDB wraps it as function _validate(writer,event,instance) { ... }", ""},
		{"arrow function", ReadFilter, "return (x) => x",
			"v.js:1:13: Unexpected token >; give the function's body only: ThreadDB wraps it as function _filter(reader,instance) { ... }", ""},
		{"let", WriteValidator, "let ok = true\nreturn ok",
			"v.js:1:5: Unexpected identifier; ThreadDB's JavaScript engine is ES5.1: use var, not let or const, and no template strings", ""},
		{"strict mode", WriteValidator, "with (instance) { return true }", "v.js: Strict mode code may not include a with statement", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warns, err := CheckFunction("v.js", tc.fn, []byte(tc.body))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else if err == nil || err.Error() != tc.want || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error\n  %v\nwant\n  %s", err, tc.want)
			}
			if got := strings.Join(warns, "\n"); got != tc.warn {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}
