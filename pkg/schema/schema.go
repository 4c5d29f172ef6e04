// Package schema checks ThreadDB collection configurations on the client, before any call:
// JSON Schemas (syntax with FILE:LINE:COL positions, validity, and what go-threads v1.1.5
// itself requires), index paths, and JavaScript validator bodies; and it infers a schema
// from a sample document.
//
// go-threads reads a collection schema into github.com/alecthomas/jsonschema's Schema type
// and stores that type marshalled back to JSON. So a schema must fit that type (one type
// name in "type", integer "minimum" and "maximum", ...), keywords the type has no field for
// are dropped, and what `collection show` prints is the stored form. Check does the same
// round trip, so what it accepts is what the server accepts, and it reports what would be
// dropped instead of letting it vanish.
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/jsonschema"
)

// ErrInvalid marks every error this package returns: input refused before any call.
var ErrInvalid = errors.New("invalid input")

// IDField is the property every ThreadDB instance has: its ID, a string.
const IDField = "_id"

// Error is refused input, with the file it came from and, where known, the position.
type Error struct {
	File string // as the user named it; StdinName for standard input
	Line int    // 1-based; 0 when the error has no position
	Col  int    // 1-based, in characters
	Msg  string
}

// StdinName is how errors name standard input (as gcc and go vet do).
const StdinName = "stdin"

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Is makes every Error an ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// DisplayName is how messages name a file argument: "-" is standard input.
func DisplayName(file string) string {
	if file == "-" || file == "" {
		return StdinName
	}
	return file
}

// Checked is a schema as ThreadDB will store it.
type Checked struct {
	// Schema is the stored form: the input read into go-threads' schema type and
	// marshalled back, compact.
	Schema json.RawMessage
	// Dropped lists, as JSON pointers, the keywords the stored form loses (go-threads'
	// schema type has no field for them, or drops their zero value), so instances will
	// not be checked against them. Keywords whose loss changes nothing (false, null, "",
	// empty lists and objects, and zero lower bounds on lengths and counts) are not listed.
	Dropped []string
}

// Check refuses what is not a collection schema go-threads v1.1.5 accepts, with the file
// name and, for JSON and type errors, the position; it returns the form ThreadDB stores.
func Check(file string, data []byte) (*Checked, error) {
	file = DisplayName(file)
	doc, err := parseJSON(file, data, "a JSON Schema")
	if err != nil {
		return nil, err
	}
	if _, ok := doc.value.(map[string]any); !ok {
		return nil, &Error{File: file, Msg: fmt.Sprintf("a schema must be a JSON object, not %s", kindOf(doc.value))}
	}
	// References first: gojsonschema would follow them (fetch a URL, read a file, or
	// recurse for ever on a cycle) before it said anything.
	if err := CheckRefs(doc.data); err != nil {
		return nil, doc.refError(file, err)
	}
	if _, err := compileLocal(doc.data); err != nil {
		return nil, &Error{File: file, Msg: "not a valid JSON Schema: " + oneLine(err.Error())}
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(doc.data, &s); err != nil {
		return nil, doc.typeError(file, err)
	}
	if err := checkRoot(&s, doc, file); err != nil {
		return nil, err
	}
	stored, err := json.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("%s: encode the schema: %w", file, err)
	}
	if err := CheckRefs(stored); err != nil {
		// The stored form lost keywords a reference went through.
		var re *RefError
		if errors.As(err, &re) {
			return nil, &Error{File: file, Msg: fmt.Sprintf("%s (in the form ThreadDB stores, without the keywords it drops)", re.Error())}
		}
		return nil, &Error{File: file, Msg: err.Error()}
	}
	var after any
	if err := decodeNumbers(stored, &after); err != nil {
		return nil, fmt.Errorf("%s: decode the stored schema: %w", file, err)
	}
	var dropped []string
	diff("", doc.value, after, &dropped)
	sort.Strings(dropped)
	return &Checked{Schema: stored, Dropped: dropped}, nil
}

// checkRoot applies go-threads' own checks (db.newCollection): the instances are objects,
// and the properties (the root's, or those of the definition a root $ref names) hold an
// "_id" of type string.
func checkRoot(s *jsonschema.Schema, doc *document, file string) error {
	root := s.Type
	where := ""
	if root != nil && root.Type != "" && root.Type != "object" {
		return doc.errorAt(file, "/type", fmt.Sprintf(`the schema's root has type %q, but ThreadDB instances are JSON objects: use "type": "object"`, root.Type))
	}
	if root != nil && root.Ref != "" {
		parts := strings.Split(root.Ref, "/")
		name := parts[len(parts)-1]
		def := s.Definitions[name]
		if def == nil {
			return doc.errorAt(file, "/$ref", fmt.Sprintf("the root $ref %q names no entry of \"definitions\": ThreadDB looks for the _id property there", root.Ref))
		}
		root, where = def, "/definitions/"+escapePointer(name)
		if def.Type != "" && def.Type != "object" {
			return doc.errorAt(file, where+"/type", fmt.Sprintf(`definition %q has type %q, but ThreadDB instances are JSON objects: use "type": "object"`, name, def.Type))
		}
	}
	var id *jsonschema.Type
	if root != nil {
		id = root.Properties[IDField]
	}
	switch {
	case id == nil:
		return doc.errorAt(file, where+"/properties", `the schema has no "_id" property: ThreadDB needs "_id": {"type": "string"} in "properties" (the instance ID)`)
	case id.Type != "string":
		got := "no type"
		if id.Type != "" {
			got = fmt.Sprintf("type %q", id.Type)
		}
		return doc.errorAt(file, where+"/properties/_id", fmt.Sprintf(`the "_id" property has %s: ThreadDB needs "_id": {"type": "string"} (instance IDs are strings)`, got))
	}
	return nil
}

// document is parsed JSON input with what is needed to point into it.
type document struct {
	raw   []byte // as read, for positions
	data  []byte // raw with a UTF-8 byte order mark blanked out (same offsets)
	value any    // decoded, numbers as json.Number
	nodes []node // every value's JSON pointer and offset, in document order
}

// parseJSON decodes data as one JSON value and indexes where each value starts; what is
// names the expected content in the message for an empty file.
func parseJSON(file string, raw []byte, what string) (*document, error) {
	data := raw
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		// Editors on Windows write a byte order mark; JSON has no use for it. Blanking it
		// keeps every offset, so positions still count from the file's first byte.
		data = append([]byte("   "), raw[3:]...)
	}
	doc := &document{raw: raw, data: data}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: file, Msg: fmt.Sprintf("the file is empty; it must hold %s", what)}
	}
	if err := decodeNumbers(data, &doc.value); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := int(se.Offset) - 1 // the offending byte: Offset counts it as read
			msg := se.Error()
			if msg == "unexpected end of JSON input" {
				off = len(bytes.TrimRight(data, " \t\r\n"))
				msg = "unexpected end of input (an unclosed { or [ or string?)"
			}
			line, col := doc.position(off)
			return nil, &Error{File: file, Line: line, Col: col, Msg: "invalid JSON: " + msg}
		}
		return nil, &Error{File: file, Msg: "invalid JSON: " + err.Error()}
	}
	doc.nodes = indexValues(data)
	return doc, nil
}

// decodeNumbers decodes exactly one JSON value, keeping numbers exact; trailing data is a
// syntax error with its offset, as json.Unmarshal reports it.
func decodeNumbers(data []byte, v any) error {
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// position turns a byte offset into a 1-based line and a 1-based column in characters.
func (d *document) position(off int) (line, col int) {
	if off > len(d.raw) {
		off = len(d.raw)
	}
	if off < 0 {
		off = 0
	}
	before := d.raw[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[start:])
}

// errorAt is an error positioned at the value the pointer names (no position if absent).
func (d *document) errorAt(file, pointer, msg string) error {
	e := &Error{File: file, Msg: msg}
	for _, n := range d.nodes {
		if n.pointer == pointer {
			e.Line, e.Col = d.position(n.start)
			break
		}
	}
	return e
}

// refError places a CheckRefs error at the value it names.
func (d *document) refError(file string, err error) error {
	var re *RefError
	if !errors.As(err, &re) {
		return &Error{File: file, Msg: err.Error()}
	}
	if re.Pointer == "" {
		return &Error{File: file, Msg: re.Msg}
	}
	return d.errorAt(file, re.Pointer, re.Error())
}

// typeError explains a value go-threads' schema type cannot hold, at its position.
func (d *document) typeError(file string, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return &Error{File: file, Msg: "ThreadDB cannot read this schema: " + err.Error()}
	}
	// The offset is just past the value (or past its opening bracket): the value is the
	// last one that starts before it.
	pointer, start := "", 0
	for _, n := range d.nodes {
		if n.start >= int(te.Offset) {
			break
		}
		pointer, start = n.pointer, n.start
	}
	keyword := pointer[strings.LastIndexByte(pointer, '/')+1:]
	var why string
	switch keyword {
	case "type":
		why = `ThreadDB takes one type name in "type", not a list: use "anyOf" for alternatives`
	case "minimum", "maximum", "multipleOf":
		why = fmt.Sprintf("ThreadDB takes %q as an integer", keyword)
	case "exclusiveMinimum", "exclusiveMaximum":
		why = fmt.Sprintf(`ThreadDB takes %q as a boolean, in the draft-04 style ("minimum": N, "exclusiveMinimum": true)`, keyword)
	case "items":
		why = `ThreadDB takes one schema in "items", not a list of schemas`
	case "additionalItems":
		why = `ThreadDB takes a schema in "additionalItems", not a boolean`
	case "dependencies":
		why = `ThreadDB takes schemas as "dependencies" values, not lists of property names`
	default:
		why = fmt.Sprintf("ThreadDB cannot hold %s here (it wants %s)", valueName(te.Value), goTypeName(te.Type.String()))
	}
	e := &Error{File: file, Msg: fmt.Sprintf("%s: %s (go-threads reads schemas as JSON Schema draft-04)", pointerLabel(pointer), why)}
	e.Line, e.Col = d.position(start)
	return e
}

// valueName turns encoding/json's description of a value ("bool", "number 1.5") into words.
func valueName(v string) string {
	switch {
	case v == "bool":
		return "a boolean"
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "string":
		return "a string"
	case strings.HasPrefix(v, "number"):
		return "the " + v
	default:
		return v
	}
}

func goTypeName(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "int"):
		return "an integer"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "an object"
	default:
		return "a schema object"
	}
}

func pointerLabel(p string) string {
	if p == "" {
		return "the root"
	}
	return p
}

// node is where one JSON value starts, and its JSON pointer (RFC 6901).
type node struct {
	pointer string
	start   int
}

// indexValues lists every value of a valid JSON document with its pointer and offset.
func indexValues(data []byte) []node {
	type frame struct {
		object  bool
		pointer string
		next    int    // arrays: index of the next element
		key     string // objects: the key just read
		wantKey bool
	}
	var (
		nodes []node
		stack []*frame
	)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		prev := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nodes
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.object && top.wantKey {
			top.key, _ = tok.(string)
			top.wantKey = false
			continue
		}
		pointer := ""
		if top != nil {
			if top.object {
				pointer = top.pointer + "/" + escapePointer(top.key)
				top.wantKey = true
			} else {
				pointer = fmt.Sprintf("%s/%d", top.pointer, top.next)
				top.next++
			}
		}
		start := prev
		for start < len(data) && strings.IndexByte(" \t\r\n:,", data[start]) >= 0 {
			start++
		}
		nodes = append(nodes, node{pointer: pointer, start: start})
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{object: d == '{', pointer: pointer, wantKey: d == '{'})
		}
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// diff lists the keys of before that after lost, recursively.
func diff(pointer string, before, after any, out *[]string) {
	switch b := before.(type) {
	case map[string]any:
		a, ok := after.(map[string]any)
		if !ok {
			return
		}
		for k, bv := range b {
			av, ok := a[k]
			if !ok {
				if !harmless(k, bv) {
					*out = append(*out, pointer+"/"+escapePointer(k))
				}
				continue
			}
			diff(pointer+"/"+escapePointer(k), bv, av, out)
		}
	case []any:
		a, ok := after.([]any)
		if !ok || len(a) != len(b) {
			return
		}
		for i := range b {
			diff(fmt.Sprintf("%s/%d", pointer, i), b[i], a[i], out)
		}
	}
}

// harmless reports whether losing this keyword changes nothing: the value is the
// keyword's default.
func harmless(key string, v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case json.Number:
		switch key {
		case "minLength", "minItems", "minProperties":
			f, err := x.Float64()
			return err == nil && f == 0
		}
	}
	return false
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

// oneLine keeps library messages on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
