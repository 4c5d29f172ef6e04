package schema

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/xeipuuv/gojsonschema"
)

const idProp = `"_id":{"type":"string"}`

// Schemas CheckRefs accepts; each compiles with no loader and validates its instance.
var acceptedRefs = []struct {
	name, schema, instance string
}{
	{"no refs", person, `{"_id":"a","name":"x"}`},
	{"root ref to a definition", `{"$ref":"#/definitions/p","definitions":{"p":{"type":"object","properties":{` + idProp + `}}}}`, `{"_id":"a"}`},
	{"tree of nodes through items", `{"$ref":"#/definitions/node","definitions":{"node":{"type":"object","properties":{` + idProp + `,
		"children":{"type":"array","items":{"$ref":"#/definitions/node"}}}}}}`, `{"_id":"a","children":[{"children":[{}]}]}`},
	{"list through properties and the root", `{"type":"object","properties":{` + idProp + `,"next":{"$ref":"#"}}}`, `{"_id":"a","next":{"next":{}}}`},
	{"recursion through additionalProperties", `{"properties":{` + idProp + `},"additionalProperties":{"$ref":"#/definitions/any"},
		"definitions":{"any":{"type":"object","additionalProperties":{"$ref":"#/definitions/any"}}}}`, `{"_id":"a","x":{"y":{}}}`},
	{"recursion through patternProperties and additionalItems", `{"properties":{` + idProp + `},
		"patternProperties":{"^l":{"type":"array","items":[{"type":"string"}],"additionalItems":{"$ref":"#"}}}}`, `{"_id":"a","l":["s",{}]}`},
	{"escaped and percent-encoded pointers", `{"properties":{` + idProp + `,"a":{"$ref":"#/definitions/a~1b"},
		"b":{"$ref":"#/definitions/m~0n"},"c":{"$ref":"#/definitions/with%20space"},"d":{"$ref":"#/definitions/list/items/0"}},
		"definitions":{"a/b":{"type":"string"},"m~n":{"type":"number"},"with space":{"type":"boolean"},
		"list":{"items":[{"type":"null"}]}}}`, `{"_id":"a","a":"s","b":1,"c":true,"d":null}`},
	{"allOf of definitions (no cycle)", `{"allOf":[{"$ref":"#/definitions/a"},{"$ref":"#/definitions/b"}],
		"definitions":{"a":{"properties":{` + idProp + `}},"b":{"allOf":[{"$ref":"#/definitions/a"}]}}}`, `{"_id":"a"}`},
	{"a root $id naming the document", `{"$id":"https://example.com/person.schema.json","properties":{` + idProp + `,"p":{"$ref":"#/definitions/p"}},
		"definitions":{"p":{"type":"string"}}}`, `{"_id":"a","p":"x"}`},
	{"a root id with an empty fragment", `{"id":"http://example.com/root.json#","properties":{` + idProp + `,"p":{"$ref":"#/definitions/p"}},
		"definitions":{"p":{"type":"string"}}}`, `{"_id":"a","p":"x"}`},
	{"properties named $ref and id", `{"properties":{` + idProp + `,"$ref":{"type":"string"},"id":{"type":"string"}},"required":["id"]}`, `{"_id":"a","id":"x"}`},
	{"an id in a default value", `{"properties":{` + idProp + `,"owner":{"type":"object","default":{"id":"u1"}}}}`, `{"_id":"a"}`},
	{"remote-looking values in enum and const", `{"properties":{` + idProp + `,"e":{"enum":[{"$ref":"http://127.0.0.1:1/x.json"},{"id":"#/x"}]}}}`,
		`{"_id":"a","e":{"id":"#/x"}}`},
	{"the longest chain allowed", chain(MaxChain - 1), `{"_id":"a"}`},
	{"shared references within the bound", diamonds(2), `{"_id":"a"}`},
	{"a reference to the whole schema from a property", `{"definitions":{"n":{"type":"object","properties":{"up":{"$ref":"#"}}}},
		"properties":{` + idProp + `,"n":{"$ref":"#/definitions/n"}}}`, `{"_id":"a","n":{"up":{}}}`},
}

func TestCheckRefsAccepts(t *testing.T) {
	for _, tc := range acceptedRefs {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckRefs([]byte(tc.schema)); err != nil {
				t.Fatalf("refused: %v", err)
			}
			s, err := Compile([]byte(tc.schema))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			res, err := s.Validate(gojsonschema.NewStringLoader(tc.instance))
			if err != nil || !res.Valid() {
				t.Fatalf("validate %s: %v %v", tc.instance, res.Errors(), err)
			}
			// Plain gojsonschema, as go-threads runs it, needs nothing from outside either
			// (this machine has no network: a fetch would fail).
			res, err = gojsonschema.Validate(gojsonschema.NewStringLoader(tc.schema), gojsonschema.NewStringLoader(tc.instance))
			if err != nil || !res.Valid() {
				t.Fatalf("plain gojsonschema: %v %v", res, err)
			}
		})
	}
}

// refusedRefs are the attacks and mistakes CheckRefs refuses. stack is an instance on
// which plain gojsonschema overflows its stack (checked in a child process), for the
// cycles.
var refusedRefs = []struct {
	name, schema, pointer, want string
	stack                       string
}{
	// Remote references, of every kind, wherever a schema sits.
	{"http", `{"properties":{` + idProp + `,"x":{"$ref":"http://127.0.0.1:1/x.json"}}}`, "/properties/x",
		`$ref "http://127.0.0.1:1/x.json" is not allowed: only references inside the schema ("#/...") are`, ""},
	{"https with a fragment", `{"properties":{` + idProp + `,"x":{"$ref":"https://example.com/s.json#/definitions/a"}}}`, "/properties/x", "is not allowed", ""},
	{"file", `{"properties":{` + idProp + `,"x":{"$ref":"file:///etc/passwd"}}}`, "/properties/x", `$ref "file:///etc/passwd" is not allowed`, ""},
	{"relative path", `{"properties":{` + idProp + `,"x":{"$ref":"other.json"}}}`, "/properties/x", `$ref "other.json" is not allowed`, ""},
	{"relative path with a pointer", `{"properties":{` + idProp + `,"x":{"$ref":"other.json#/a"}}}`, "/properties/x", "is not allowed", ""},
	{"network-path", `{"properties":{` + idProp + `,"x":{"$ref":"//127.0.0.1:1/x.json"}}}`, "/properties/x", "is not allowed", ""},
	{"urn", `{"properties":{` + idProp + `,"x":{"$ref":"urn:example:x"}}}`, "/properties/x", "is not allowed", ""},
	{"in definitions", `{"properties":{` + idProp + `},"definitions":{"a":{"$ref":"http://h/x"}}}`, "/definitions/a", "is not allowed", ""},
	{"in items", `{"properties":{` + idProp + `,"l":{"items":{"$ref":"http://h/x"}}}}`, "/properties/l/items", "is not allowed", ""},
	{"in allOf", `{"properties":{` + idProp + `},"allOf":[{},{"$ref":"http://h/x"}]}`, "/allOf/1", "is not allowed", ""},
	{"in not", `{"properties":{` + idProp + `},"not":{"$ref":"http://h/x"}}`, "/not", "is not allowed", ""},
	{"in additionalProperties", `{"properties":{` + idProp + `},"additionalProperties":{"$ref":"http://h/x"}}`, "/additionalProperties", "is not allowed", ""},
	{"in patternProperties", `{"properties":{` + idProp + `},"patternProperties":{"^a":{"$ref":"http://h/x"}}}`, "/patternProperties/^a", "is not allowed", ""},
	{"in dependencies", `{"properties":{` + idProp + `},"dependencies":{"a":{"$ref":"http://h/x"}}}`, "/dependencies/a", "is not allowed", ""},
	{"in an unknown keyword", `{"properties":{` + idProp + `},"x-extra":{"$ref":"http://h/x"}}`, "/x-extra", "is not allowed", ""},

	// References that name nothing, or not a schema.
	{"dangling", `{"properties":{` + idProp + `,"x":{"$ref":"#/definitions/nope"}}}`, "/properties/x",
		`$ref "#/definitions/nope" points nowhere: the schema has no /definitions`, ""},
	{"named anchor", `{"properties":{` + idProp + `,"x":{"$ref":"#node"}}}`, "/properties/x", "is not a JSON pointer", ""},
	{"bad escape", `{"properties":{` + idProp + `,"x":{"$ref":"#/definitions/a~2"}},"definitions":{"a~2":{}}}`, "/properties/x", "not a valid pointer token", ""},
	{"leading zero index", `{"properties":{` + idProp + `,"x":{"$ref":"#/allOf/01"}},"allOf":[{},{}]}`, "/properties/x", "is not an index", ""},
	{"array index out of range", `{"properties":{` + idProp + `,"x":{"$ref":"#/allOf/2"}},"allOf":[{},{}]}`, "/properties/x", "has no element 2", ""},
	{"not a schema", `{"properties":{` + idProp + `,"x":{"$ref":"#/required"}},"required":["_id"]}`, "/properties/x", "points at an array, not at a schema", ""},
	{"bad percent-encoding", `{"properties":{` + idProp + `,"x":{"$ref":"#/definitions/%zz"}}}`, "/properties/x", "is not a valid URI reference", ""},

	// Cycles that never descend into the value.
	{"the issue's self reference", `{"type":"object","properties":{` + idProp + `,"x":{"$ref":"#/properties/x"}}}`, "/properties/x",
		"the schema refers back to itself without descending into a property or an item (/properties/x -> /properties/x)", `{"_id":"a","x":1}`},
	{"root to itself", `{"properties":{` + idProp + `},"$ref":"#"}`, "", "refers back to itself", `{"_id":"a"}`},
	{"two definitions", `{"properties":{` + idProp + `,"x":{"$ref":"#/definitions/a"}},"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}}}`,
		"/definitions/b", "leads back to /definitions/a without descending into a property or an item (/definitions/a -> /definitions/b -> /definitions/a)", `{"_id":"a","x":1}`},
	{"through allOf", `{"properties":{` + idProp + `},"allOf":[{"$ref":"#/definitions/a"}],"definitions":{"a":{"allOf":[{"$ref":"#/definitions/a"}]}}}`,
		"/definitions/a/allOf/0", "leads back to /definitions/a", `{"_id":"a"}`},
	{"through anyOf and a chain", `{"properties":{` + idProp + `},"anyOf":[{"type":"null"},{"$ref":"#/definitions/a"}],
		"definitions":{"a":{"oneOf":[{"$ref":"#/definitions/b"}]},"b":{"anyOf":[{"$ref":"#"}]}}}`, "/definitions/b/anyOf/0",
		"(the root -> /anyOf/1 -> /definitions/a -> /definitions/a/oneOf/0 -> /definitions/b -> /definitions/b/anyOf/0 -> the root)", `{"_id":"a"}`},
	{"through not", `{"properties":{` + idProp + `},"not":{"not":{"$ref":"#"}}}`, "/not/not", "leads back to the root", `{"_id":"a"}`},
	{"through dependencies", `{"properties":{` + idProp + `},"dependencies":{"_id":{"$ref":"#"}}}`, "/dependencies/_id", "leads back to the root", `{"_id":"a"}`},
	{"through if and then", `{"properties":{` + idProp + `},"if":{"$ref":"#"}}`, "/if", "leads back to the root", `{"_id":"a"}`},
	{"through a reference to a non-schema place", `{"properties":{` + idProp + `,"not":{"$ref":"#/properties"}},"allOf":[{"$ref":"#/properties"}]}`,
		"/properties/not", "leads back to /properties", ""},

	// ids that move the base URI.
	{"root id with a fragment", `{"$id":"http://127.0.0.1:1/x.json#f","properties":{` + idProp + `,"a":{"$ref":"#/definitions/a"}},"definitions":{"a":{}}}`,
		"", `"$id" "http://127.0.0.1:1/x.json#f" at the root is not allowed`, ""},
	{"nested id in a schema", `{"properties":{` + idProp + `,"a":{"$id":"http://127.0.0.1:1/x.json","properties":{"b":{"$ref":"#/definitions/a"}}}},"definitions":{"a":{}}}`,
		"/properties/a", `"$id" "http://127.0.0.1:1/x.json" is not allowed below the root of a schema`, ""},
	{"id in additionalProperties", `{"properties":{` + idProp + `},"additionalProperties":{"id":"http://127.0.0.1:1/x.json#f","properties":{"y":{"$ref":"#/definitions/a"}}},"definitions":{"a":{}}}`,
		"/additionalProperties", `"id" "http://127.0.0.1:1/x.json#f" below the root is not allowed`, ""},
	{"id in a default that shadows a definition", `{"properties":{` + idProp + `,"x":{"$ref":"#/definitions/a"}},"definitions":{"a":{"type":"string"}},
		"default":{"id":"#/definitions/a","$ref":"#/definitions/a"}}`, "/default", `"id" "#/definitions/a" below the root is not allowed`, ""},
	{"id in a default a reference reaches", `{"properties":{` + idProp + `,"x":{"$ref":"#/default"}},"default":{"id":"other","properties":{}}}`,
		"/default", `"id" "other" is not allowed below the root`, ""},

	// Size and shape.
	{"over-deep", `{"properties":{` + idProp + `},"allOf":[` + strings.Repeat(`{"not":`, MaxDepth) + `{}` + strings.Repeat(`}`, MaxDepth) + `]}`, "",
		fmt.Sprintf("the schema nests objects and arrays more than %d deep", MaxDepth), ""},
	{"too large", `{"properties":{` + idProp + `},"description":"` + strings.Repeat("x", MaxSize) + `"}`, "", "the schema is larger than 1024 KiB", ""},
	{"too many subschemas for one value", diamonds(4), "/definitions/d1", fmt.Sprintf("applies more than %d subschemas to one value", MaxApplied), ""},
	{"too long a chain", chain(MaxChain), "", fmt.Sprintf("chains more than %d subschemas", MaxChain), ""},
	{"too costly to compile", spellings(120), "", fmt.Sprintf("compiling the schema would read more than %d values", MaxCompile), ""},
}

// diamonds is n levels of a definition that refers eight times to the next one.
func diamonds(n int) string {
	var b strings.Builder
	b.WriteString(`{"properties":{` + idProp + `},"allOf":[{"$ref":"#/definitions/d0"}],"definitions":{`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `"d%d":{"anyOf":[`, i)
		for j := 0; j < 8; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"$ref":"#/definitions/d%d"}`, i+1)
		}
		b.WriteString("]},")
	}
	fmt.Fprintf(&b, `"d%d":{"type":"object"}}}`, n)
	return b.String()
}

// chain is n+1 schemas (the root, then n definitions), each a reference to the next.
func chain(n int) string {
	var b strings.Builder
	b.WriteString(`{"properties":{` + idProp + `},"$ref":"#/definitions/d1","definitions":{`)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, `"d%d":{"$ref":"#/definitions/d%d"},`, i, i+1)
	}
	fmt.Fprintf(&b, `"d%d":{"type":"object"}}}`, n)
	return b.String()
}

// spellings refers n times to one big definition, spelling "definitions" differently
// each time (percent-encoding a different set of its letters), so that gojsonschema
// compiles the definition n times.
func spellings(n int) string {
	var b strings.Builder
	b.WriteString(`{"properties":{` + idProp)
	const word = "definitions"
	for i := 0; i < n; i++ {
		var w strings.Builder
		for j := 0; j < len(word); j++ {
			if i&(1<<j) != 0 {
				fmt.Fprintf(&w, "%%%02X", word[j])
			} else {
				w.WriteByte(word[j])
			}
		}
		fmt.Fprintf(&b, `,"p%d":{"$ref":"#/%s/big"}`, i, w.String())
	}
	b.WriteString(`},"definitions":{"big":{"properties":{`)
	for i := 0; i < 1200; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"q%d":{"type":"string"}`, i)
	}
	b.WriteString("}}}}")
	return b.String()
}

func TestCheckRefsRefuses(t *testing.T) {
	for _, tc := range refusedRefs {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRefs([]byte(tc.schema))
			var re *RefError
			if !errors.As(err, &re) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckRefs = %v, want a RefError", err)
			}
			if re.Pointer != tc.pointer || !strings.Contains(re.Msg, tc.want) {
				t.Fatalf("CheckRefs = pointer %q, %q; want pointer %q, a message with %q", re.Pointer, re.Msg, tc.pointer, tc.want)
			}
			if strings.Contains(re.Msg, "\n") {
				t.Errorf("the message is not one line: %q", re.Msg)
			}
			// Check, the CLI's entry, refuses it too, at the same place.
			if _, err := Check("s.json", []byte(tc.schema)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v", err)
			}
			if _, err := Compile([]byte(tc.schema)); err == nil {
				t.Error("Compile accepted it")
			}
		})
	}
}

// The cycles refused are real: plain gojsonschema, the validator go-threads runs on every
// write, overflows its stack on them (in a child process, with a small stack).
func TestRefusedCyclesOverflowGojsonschema(t *testing.T) {
	if s := os.Getenv("HUBCTL_SCHEMA_OVERFLOW"); s != "" {
		debug.SetMaxStack(32 << 20)
		_, _ = gojsonschema.Validate(gojsonschema.NewStringLoader(s), gojsonschema.NewStringLoader(os.Getenv("HUBCTL_SCHEMA_INSTANCE")))
		fmt.Println("validated")
		return
	}
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, tc := range refusedRefs {
		if tc.stack == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestRefusedCyclesOverflowGojsonschema$", "-test.count=1")
			cmd.Env = append(os.Environ(), "HUBCTL_SCHEMA_OVERFLOW="+tc.schema, "HUBCTL_SCHEMA_INSTANCE="+tc.stack)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "goroutine stack exceeds") {
				t.Fatalf("gojsonschema did not overflow (%v): %.300s", err, out)
			}
		})
	}
}

// No path of the CLI's check or compile fetches a URL or reads a file, where plain
// gojsonschema does both.
func TestNothingIsFetched(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"type":"string","definitions":{"a":{"type":"string"}}}`))
	}))
	defer srv.Close()
	secret := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(secret, []byte(`{"keys":[{"type":"object"},{"type":"SECRET-KEY-MATERIAL"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := []string{
		`{"properties":{` + idProp + `,"x":{"$ref":"` + srv.URL + `/x.json"}}}`,
		`{"properties":{` + idProp + `,"x":{"$ref":"` + srv.URL + `/x.json#/definitions/a"}}}`,
		// A "#" reference below an id with a fragment: gojsonschema resolves it against
		// the id, and fetches.
		`{"properties":{` + idProp + `},"additionalProperties":{"id":"` + srv.URL + `/y.json#f","properties":{"y":{"$ref":"#/definitions/a"}}}}`,
		`{"$id":"` + srv.URL + `/z.json#f","properties":{` + idProp + `,"y":{"$ref":"#/definitions/a"}},"definitions":{"a":{}}}`,
	}
	for i, s := range remote {
		if _, err := Check("s.json", []byte(s)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "is not allowed") {
			t.Errorf("schema %d: Check = %v", i, err)
		}
		if _, err := Compile([]byte(s)); err == nil {
			t.Errorf("schema %d: Compile accepted it", i)
		}
		// Even with CheckRefs skipped, the loader refuses.
		if _, err := compileLocal([]byte(s)); err == nil || !strings.Contains(err.Error(), "is not allowed") {
			t.Errorf("schema %d: compileLocal = %v", i, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server got %d requests", n)
	}
	// What the old check did: plain gojsonschema fetches each of them.
	for _, s := range remote {
		_, _ = gojsonschema.NewSchema(gojsonschema.NewBytesLoader([]byte(s)))
	}
	if n := hits.Load(); n != int32(len(remote)) {
		t.Errorf("plain gojsonschema fetched %d times, want %d (the attack this test is about)", n, len(remote))
	}

	file := `{"properties":{` + idProp + `,"x":{"$ref":"file://` + secret + `#/keys/1"}}}`
	_, err := Check("s.json", []byte(file))
	if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "is not allowed") {
		t.Errorf("Check(file ref) = %v", err)
	}
	if _, err := compileLocal([]byte(file)); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("compileLocal(file ref) = %v", err)
	}
	if _, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader([]byte(file))); err == nil || !strings.Contains(err.Error(), "SECRET") {
		t.Errorf("plain gojsonschema did not read the file (the attack this test is about): %v", err)
	}
}

// Check places reference errors at the value that holds them.
func TestCheckRefErrorPosition(t *testing.T) {
	in := "{\"properties\": {\n  \"_id\": {\"type\": \"string\"},\n  \"x\": {\"$ref\": \"http://h/x.json\"}}}"
	_, err := Check("s.json", []byte(in))
	want := `s.json:3:8: /properties/x: $ref "http://h/x.json" is not allowed: only references inside the schema ("#/...") are; schemas are never fetched`
	if err == nil || err.Error() != want {
		t.Fatalf("Check = %v\nwant %s", err, want)
	}
}
