package schema

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"
)

// The bounds CheckRefs puts on a schema. go-threads compiles a collection's schema with
// gojsonschema again for every write, and gojsonschema recurses over the schema as it
// compiles and over schema and instance as it validates: these keep both finite and small.
const (
	// MaxSize is the largest schema accepted, in bytes of JSON.
	MaxSize = 1 << 20
	// MaxDepth is the deepest nesting of JSON objects and arrays in a schema.
	MaxDepth = 128
	// MaxApplied bounds how many subschemas apply to one value through the keywords that
	// do not descend into it ($ref, allOf, anyOf, oneOf, not, if, then, else,
	// dependencies): a chain of n diamonds of references would otherwise cost 2^n
	// checks for each value of each instance.
	MaxApplied = 1000
	// MaxChain bounds the longest chain of those keywords from one schema. gojsonschema
	// recurses once (about a kilobyte of stack) for each link, and again for each level
	// of the instance, which JSON decoding lets nest 10000 deep: 16 links keep the
	// deepest instance under 200 MiB of the server's 1 GiB of stack.
	MaxChain = 16
	// MaxCompile bounds the JSON values gojsonschema parses when it compiles the schema:
	// the document, then the target of each distinct reference once more.
	MaxCompile = 1 << 18
)

// RefError is a schema refused by CheckRefs: where, as a JSON pointer into the schema
// (RFC 6901; "" is the root), and why.
type RefError struct {
	Pointer string
	Msg     string
}

func (e *RefError) Error() string {
	if e.Pointer == "" {
		return e.Msg
	}
	return e.Pointer + ": " + e.Msg
}

// Is makes every RefError an ErrInvalid.
func (e *RefError) Is(target error) bool { return target == ErrInvalid }

// localOnly is the rule, for messages.
const localOnly = `only references inside the schema ("#/...") are; schemas are never fetched`

// CheckRefs refuses a JSON Schema that could make a validator fetch something, read a
// file, or never finish: every "$ref" must be a JSON pointer into the schema itself ("#"
// or "#/..."), and point at a schema there; "id" and "$id" may not move the base URI
// anywhere a "#" reference would then be looked for; and no chain of references and
// keywords that apply to the same value (allOf, anyOf, oneOf, not, if, then, else,
// dependencies) may lead back to where it started without first descending into a
// property or an item, since checking any value would then recurse for ever (a tree
// of nodes whose children are nodes, through properties or items, is fine). It also
// bounds the schema's size and nesting, and how much work compiling and applying it
// costs, so that checking it is cheap as well. It never fetches or reads anything.
//
// The walk mirrors gojsonschema v1.2.0 (which go-threads v1.1.5 validates instances
// with, and which the CLI checks with): the places it looks for "$ref", "id" and "$id"
// (every object except inside enum and const, and the values, not the names, of
// properties, patternProperties and dependencies), and the keywords it applies.
func CheckRefs(raw []byte) error {
	if len(raw) > MaxSize {
		return &RefError{Msg: fmt.Sprintf("the schema is larger than %d KiB: split it, or drop what instances do not need", MaxSize>>10)}
	}
	if d, at := nesting(raw); d > MaxDepth {
		return &RefError{Msg: fmt.Sprintf("the schema nests objects and arrays more than %d deep (at byte %d): flatten it with definitions and $ref", MaxDepth, at)}
	}
	var doc any
	if err := decodeNumbers(raw, &doc); err != nil {
		return &RefError{Msg: "invalid JSON: " + err.Error()}
	}
	c := &refChecker{doc: doc, targets: map[string]string{}, sizes: map[string]int{}}
	c.sizes[""] = c.count("", doc)
	if err := c.walk(doc, "", true); err != nil {
		return err
	}
	return c.graph()
}

// nesting is the deepest nesting of objects and arrays in data, and where it is first
// exceeded; counted on the bytes, so that a deep document costs nothing to refuse.
func nesting(data []byte) (max, at int) {
	depth, inString, escaped := 0, false, false
	for i, b := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			depth++
			if depth > max {
				max, at = depth, i
				if max > MaxDepth {
					return max, at
				}
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return max, at
}

type refChecker struct {
	doc any
	// targets maps each "$ref" (by the pointer of the object holding it) to the pointer
	// it resolves to.
	targets map[string]string
	// refs are the distinct reference strings and what they point at.
	refs map[string]string
	// sizes counts the JSON values of every subtree, by pointer.
	sizes map[string]int
	// ids are the objects below the root that set "id" or "$id", by pointer.
	ids []idAt
}

type idAt struct {
	pointer, key, value string
}

func (c *refChecker) count(p string, v any) int {
	n := 1
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			n += c.count(p+"/"+escapePointer(k), e)
		}
	case []any:
		for i, e := range x {
			n += c.count(p+"/"+strconv.Itoa(i), e)
		}
	}
	c.sizes[p] = n
	return n
}

// walk visits what gojsonschema's reference pass (schemaPool.parseReferencesRecursive)
// visits, checking "$ref", "id" and "$id" wherever it would read them.
func (c *refChecker) walk(v any, p string, root bool) error {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			if err := c.walk(e, p+"/"+strconv.Itoa(i), false); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, key := range []string{"id", "$id"} {
			s, ok := x[key].(string)
			if !ok {
				continue
			}
			if err := checkID(p, key, s, root); err != nil {
				return err
			}
			if !root {
				c.ids = append(c.ids, idAt{pointer: p, key: key, value: s})
			}
		}
		if s, ok := x["$ref"].(string); ok {
			target, err := c.resolve(p, s)
			if err != nil {
				return err
			}
			c.targets[p] = target
			if c.refs == nil {
				c.refs = map[string]string{}
			}
			c.refs[s] = target
		}
		for _, k := range sortedKeys(x) {
			switch k {
			case "enum", "const":
				// Values, not schemas: gojsonschema reads them literally.
				continue
			case "properties", "patternProperties", "dependencies":
				// Names of properties (which may well be "$ref" or "id"), each with a
				// schema: only the schemas are read.
				if m, ok := x[k].(map[string]any); ok {
					for _, name := range sortedKeys(m) {
						if err := c.walk(m[name], p+"/"+escapePointer(k)+"/"+escapePointer(name), false); err != nil {
							return err
						}
					}
				}
				continue
			}
			if err := c.walk(x[k], p+"/"+escapePointer(k), false); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkID applies the rule for "id" and "$id". gojsonschema makes each one the base URI
// of the references inside the object, and registers the object under it: then a "#/..."
// reference inside can become a remote one ("http://host/x.json#f" makes "#/a" fetch
// http://host/x.json), or resolve somewhere else than the root, and an id such as
// "#/definitions/a" replaces what that reference means everywhere. A root id with no
// fragment only names the document (the common "$id": "https://example.com/x.json"), so
// it stays allowed; an id below the root is allowed only where no schema is read (see
// graph), with no fragment.
func checkID(p, key, s string, root bool) error {
	u, err := url.Parse(s)
	if err != nil {
		return &RefError{Pointer: p, Msg: fmt.Sprintf("%q %q is not a valid URI: %v", key, s, errors.Unwrap(err))}
	}
	// An empty fragment ("https://example.com/x.json#", common) is dropped when the id
	// is resolved: only a fragment with something in it moves where "#" references go.
	if u.Fragment != "" {
		where := "at the root"
		if !root {
			where = "below the root"
		}
		return &RefError{Pointer: p, Msg: fmt.Sprintf("%q %q %s is not allowed: an id with a fragment changes where \"#\" references are looked for (and may make a validator fetch them); %s", key, s, where, localOnly)}
	}
	return nil
}

// resolve checks one reference and returns the pointer, in this package's canonical
// spelling, of what it names.
func (c *refChecker) resolve(p, ref string) (string, error) {
	if !strings.HasPrefix(ref, "#") {
		return "", &RefError{Pointer: p, Msg: fmt.Sprintf("$ref %q is not allowed: %s", ref, localOnly)}
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", &RefError{Pointer: p, Msg: fmt.Sprintf("$ref %q is not a valid URI reference: %v", ref, errors.Unwrap(err))}
	}
	if u.Scheme != "" || u.Host != "" || u.Path != "" || u.RawQuery != "" || u.Opaque != "" || u.User != nil {
		return "", &RefError{Pointer: p, Msg: fmt.Sprintf("$ref %q is not allowed: %s", ref, localOnly)}
	}
	// url.Parse percent-decodes the fragment, as RFC 6901 section 6 wants before the
	// pointer is read (and as gojsonschema does).
	ptr := u.Fragment
	if ptr != "" && !strings.HasPrefix(ptr, "/") {
		return "", &RefError{Pointer: p, Msg: fmt.Sprintf("$ref %q is not a JSON pointer: write \"#\" for the whole schema or \"#/definitions/NAME\"; named anchors are not supported", ref)}
	}
	canonical, v, err := lookup(c.doc, ptr)
	if err != nil {
		return "", &RefError{Pointer: p, Msg: fmt.Sprintf("$ref %q points nowhere: %v", ref, err)}
	}
	switch v.(type) {
	case map[string]any, bool:
	default:
		return "", &RefError{Pointer: p, Msg: fmt.Sprintf("$ref %q points at %s, not at a schema", ref, kindOf(v))}
	}
	return canonical, nil
}

// lookup resolves a JSON pointer (RFC 6901: "/"-separated tokens, ~1 for "/" and ~0 for
// "~", array indexes in decimal without leading zeros) in doc.
func lookup(doc any, ptr string) (canonical string, v any, err error) {
	v = doc
	if ptr == "" {
		return "", v, nil
	}
	var b strings.Builder
	for _, tok := range strings.Split(ptr[1:], "/") {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(tok, "~0", ""), "~1", ""), "~") {
			return "", nil, fmt.Errorf("%q is not a valid pointer token (~ is written ~0, / is written ~1)", tok)
		}
		key := strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[key]
			if !ok {
				return "", nil, fmt.Errorf("the schema has no %s", pointerLabel(b.String()+"/"+escapePointer(key)))
			}
			v = next
			b.WriteString("/" + escapePointer(key))
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || strconv.Itoa(i) != key {
				return "", nil, fmt.Errorf("%q is not an index of the array at %s", key, pointerLabel(b.String()))
			}
			if i >= len(x) {
				return "", nil, fmt.Errorf("the array at %s has no element %d", pointerLabel(b.String()), i)
			}
			v = x[i]
			b.WriteString("/" + key)
		default:
			return "", nil, fmt.Errorf("%s is %s, with nothing inside", pointerLabel(b.String()), kindOf(v))
		}
	}
	return b.String(), v, nil
}

// edge is one subschema of a schema: at the pointer to, applied to the same value (same)
// or to a value inside it (a property, an item, a property name).
type edge struct {
	to   string
	same bool
	via  string // the keyword, for messages
}

// graph builds the graph of the schemas gojsonschema reads, starting at the root and
// following every keyword it applies and every reference, and refuses cycles that do not
// descend, too much work, and ids where schemas are read.
func (c *refChecker) graph() error {
	nodes := map[string][]edge{}
	values := map[string]any{}
	queue := []string{""}
	values[""] = c.doc
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if _, seen := nodes[p]; seen {
			continue
		}
		es := c.edges(p, values[p])
		nodes[p] = es
		for _, e := range es {
			if _, seen := nodes[e.to]; !seen {
				_, v, err := lookup(c.doc, e.to)
				if err != nil {
					return fmt.Errorf("schema graph: %w", err) // a bug: edges name values that exist
				}
				values[e.to] = v
				queue = append(queue, e.to)
			}
		}
	}

	// An id below the root inside a schema gojsonschema reads moves the base of that
	// schema's references: refused. (Elsewhere, in "default" or "examples" say, it names
	// a value no reference can reach, and is left alone.)
	read := sortedKeys(nodes)
	for _, id := range c.ids {
		if hasPrefix(read, id.pointer) {
			return &RefError{Pointer: id.pointer, Msg: fmt.Sprintf("%q %q is not allowed below the root of a schema: it changes where the references inside it are looked for; %s", id.key, id.value, localOnly)}
		}
	}

	// Cycles through keywords that stay on the same value; then how many subschemas one
	// value meets, which is finite once there are no such cycles.
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	applied, chain := map[string]int{}, map[string]int{}
	var stack []string
	var visit func(p string) error
	visit = func(p string) error {
		state[p] = active
		stack = append(stack, p)
		n, longest := 1, 0
		for _, e := range nodes[p] {
			if !e.same {
				continue
			}
			switch state[e.to] {
			case active:
				return c.cycleError(stack, e.to)
			case unvisited:
				if err := visit(e.to); err != nil {
					return err
				}
			}
			n += applied[e.to]
			longest = max(longest, chain[e.to])
			if longest >= MaxChain {
				return &RefError{Pointer: p, Msg: fmt.Sprintf("the schema chains more than %d subschemas that apply to the same value ($ref, allOf, anyOf, oneOf, not, if/then/else, dependencies): validating deep instances would exhaust the server's stack; refer to definitions more directly", MaxChain)}
			}
			if n > MaxApplied {
				return &RefError{Pointer: p, Msg: fmt.Sprintf("the schema applies more than %d subschemas to one value (through $ref, allOf, anyOf, oneOf, not, if/then/else and dependencies): validating would be too slow; share fewer references", MaxApplied)}
			}
		}
		applied[p], chain[p] = n, longest+1
		state[p] = done
		stack = stack[:len(stack)-1]
		return nil
	}
	for _, p := range read {
		if state[p] == unvisited {
			if err := visit(p); err != nil {
				return err
			}
		}
	}

	// Compiling reads the document once, and each distinct reference's target again.
	cost := c.sizes[""]
	for _, target := range c.refs {
		cost += c.sizes[target]
	}
	if cost > MaxCompile {
		return &RefError{Msg: fmt.Sprintf("compiling the schema would read more than %d values (the schema, then each distinct $ref's target again): refer to smaller definitions, or spell each reference to the same place the same way", MaxCompile)}
	}
	return nil
}

// cycleError describes the cycle that ends where it started, at to.
func (c *refChecker) cycleError(stack []string, to string) error {
	i := len(stack) - 1
	for i > 0 && stack[i] != to {
		i--
	}
	chain := make([]string, 0, len(stack)-i+1)
	for _, p := range stack[i:] {
		chain = append(chain, pointerLabel(p))
	}
	chain = append(chain, pointerLabel(to))
	at := stack[len(stack)-1]
	what := "refers back to itself"
	if len(chain) > 2 {
		what = "leads back to " + pointerLabel(to)
	}
	return &RefError{Pointer: at, Msg: fmt.Sprintf("the schema %s without descending into a property or an item (%s): validating any value would never end; make the reference go through \"properties\" or \"items\"", what, strings.Join(chain, " -> "))}
}

// edges lists the subschemas gojsonschema applies for the schema v at p.
func (c *refChecker) edges(p string, v any) []edge {
	m, ok := v.(map[string]any)
	if !ok {
		return nil // true and false have none
	}
	var es []edge
	add := func(to string, same bool, via string) { es = append(es, edge{to: to, same: same, via: via}) }
	if t, ok := c.targets[p]; ok {
		add(t, true, "$ref")
	}
	schemaAt := func(k string, same bool) {
		switch m[k].(type) {
		case map[string]any, bool:
			add(p+"/"+escapePointer(k), same, k)
		}
	}
	listAt := func(k string, same bool) {
		if l, ok := m[k].([]any); ok {
			for i, e := range l {
				switch e.(type) {
				case map[string]any, bool:
					add(p+"/"+escapePointer(k)+"/"+strconv.Itoa(i), same, k)
				}
			}
		}
	}
	mapAt := func(k string, same bool) {
		if mm, ok := m[k].(map[string]any); ok {
			for _, name := range sortedKeys(mm) {
				switch mm[name].(type) {
				case map[string]any, bool:
					add(p+"/"+escapePointer(k)+"/"+escapePointer(name), same, k)
				}
			}
		}
	}
	// The same value.
	listAt("allOf", true)
	listAt("anyOf", true)
	listAt("oneOf", true)
	schemaAt("not", true)
	schemaAt("if", true)
	schemaAt("then", true)
	schemaAt("else", true)
	// A schema in dependencies applies to the whole object when the property is there.
	mapAt("dependencies", true)
	// Values inside it.
	mapAt("properties", false)
	mapAt("patternProperties", false)
	schemaAt("additionalProperties", false)
	schemaAt("propertyNames", false)
	schemaAt("items", false)
	listAt("items", false)
	schemaAt("additionalItems", false)
	schemaAt("contains", false)
	// Compiled, never applied by themselves: checked all the same.
	mapAt("definitions", false)
	return es
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Compile checks a schema with CheckRefs and compiles it with gojsonschema, with a
// loader that refuses to load anything but the schema itself: no path through
// gojsonschema can fetch a URL or read a file, even for a schema CheckRefs missed.
func Compile(raw []byte) (*gojsonschema.Schema, error) {
	if err := CheckRefs(raw); err != nil {
		return nil, err
	}
	return compileLocal(raw)
}

func compileLocal(raw []byte) (*gojsonschema.Schema, error) {
	return gojsonschema.NewSchemaLoader().Compile(localLoader{gojsonschema.NewBytesLoader(raw)})
}

// localLoader is a bytes loader whose references load nothing.
type localLoader struct{ gojsonschema.JSONLoader }

func (localLoader) LoaderFactory() gojsonschema.JSONLoaderFactory { return noFetch{} }

type noFetch struct{}

func (noFetch) New(source string) gojsonschema.JSONLoader {
	return refused{JSONLoader: gojsonschema.NewStringLoader("{}"), source: source}
}

// refused is what a reference outside the schema loads: an error.
type refused struct {
	gojsonschema.JSONLoader
	source string
}

func (r refused) JsonSource() any { return r.source }

func (r refused) LoadJSON() (any, error) {
	return nil, fmt.Errorf("$ref %q is not allowed: %s", r.source, localOnly)
}

// hasPrefix reports whether sorted holds p or a pointer below it.
func hasPrefix(sorted []string, p string) bool {
	i := sort.SearchStrings(sorted, p)
	if i < len(sorted) && sorted[i] == p {
		return true
	}
	i = sort.SearchStrings(sorted, p+"/")
	return i < len(sorted) && strings.HasPrefix(sorted[i], p+"/")
}
