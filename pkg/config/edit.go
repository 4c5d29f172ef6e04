package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// errNoPatch says an edit cannot be made to the file's text in place: Save then writes
// the whole tree through the encoder, which keeps comments and key order but not blank
// lines.
var errNoPatch = errors.New("cannot edit the text in place")

// patch applies the difference between the tree parsed from src and the edited tree root
// to src's text, line by line, so that every line of the file that no edit touches comes
// back byte for byte: blank lines, comments, quoting, indentation, trailing whitespace
// and CRLF line ends. A changed value replaces only the value's text on its line, a
// removed setting removes only its own lines, and a new one is inserted after the last
// entry of its mapping. The result is parsed again and must decode to what root decodes
// to, else errNoPatch (a flow mapping, a block scalar, a value that spans lines).
func patch(src []byte, root *yaml.Node) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, errNoPatch
	}
	e := newEditor(src)
	if len(doc.Content) == 0 {
		// Empty, or comments only: the new settings go at the end.
		for i := 0; i+1 < len(root.Content); i += 2 {
			if err := e.insert(len(e.lines), root.Content[i], root.Content[i+1], 0); err != nil {
				return nil, err
			}
		}
	} else {
		orig := doc.Content[0]
		if orig.Kind != yaml.MappingNode {
			return nil, errNoPatch
		}
		e.step = indentStep(orig)
		if err := e.diffMap(orig, root, true); err != nil {
			return nil, err
		}
	}
	out := e.bytes()
	if !sameContent(out, root) {
		return nil, errNoPatch
	}
	return out, nil
}

// editor holds the edits to a file's lines, by their index in the original text.
type editor struct {
	lines   []string         // the original lines, each with its line end
	eol     string           // the file's line end, for inserted lines
	step    int              // the file's indentation step, for new nested mappings
	edited  map[int]bool     // lines replaced or removed
	replace map[int]string   // new text of a line
	remove  map[int]bool     // lines removed
	before  map[int][]string // lines inserted before a line (len(lines): at the end)
}

func newEditor(src []byte) *editor {
	e := &editor{eol: "\n", step: 2, edited: map[int]bool{}, replace: map[int]string{},
		remove: map[int]bool{}, before: map[int][]string{}}
	for s := string(src); s != ""; {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			e.lines = append(e.lines, s)
			break
		}
		e.lines = append(e.lines, s[:i+1])
		s = s[i+1:]
	}
	if len(e.lines) > 0 && strings.HasSuffix(e.lines[0], "\r\n") {
		e.eol = "\r\n"
	}
	return e
}

// bytes is the edited text.
func (e *editor) bytes() []byte {
	var b bytes.Buffer
	write := func(s string) {
		// A last line without a line end gets one when lines follow it.
		if b.Len() > 0 && !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
			b.WriteString(e.eol)
		}
		b.WriteString(s)
	}
	for i := 0; i <= len(e.lines); i++ {
		for _, l := range e.before[i] {
			write(l)
		}
		if i == len(e.lines) || e.remove[i] {
			continue
		}
		if r, ok := e.replace[i]; ok {
			write(r)
		} else {
			write(e.lines[i])
		}
	}
	return b.Bytes()
}

// diffMap edits the text of mapping o, parsed from the file, into n. top says o is the
// document's root.
func (e *editor) diffMap(o, n *yaml.Node, top bool) error {
	if o.Style&yaml.FlowStyle != 0 {
		if sameNode(o, n) {
			return nil
		}
		return errNoPatch
	}
	last := -1 // the last line of o's entries
	for i := 0; i+1 < len(o.Content); i += 2 {
		k, ov := o.Content[i], o.Content[i+1]
		last = max(last, lastLine(ov), k.Line)
		nv := mapGet(n, k.Value)
		var err error
		switch {
		case nv == nil:
			err = e.removeEntry(k, ov)
		case sameNode(ov, nv):
		case ov.Kind == yaml.MappingNode && nv.Kind == yaml.MappingNode:
			err = e.diffMap(ov, nv, false)
		case ov.Kind == yaml.ScalarNode && nv.Kind == yaml.ScalarNode:
			err = e.replaceScalar(ov, nv)
		case isNull(ov) && ov.Value == "" && nv.Kind == yaml.MappingNode:
			// "local:" with nothing under it, becoming a profile with settings.
			for j := 0; j+1 < len(nv.Content); j += 2 {
				if err = e.insert(k.Line, nv.Content[j], nv.Content[j+1], k.Column-1+e.step); err != nil {
					break
				}
			}
		default:
			err = errNoPatch
		}
		if err != nil {
			return err
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if mapGet(o, k.Value) != nil {
			continue
		}
		switch {
		case len(o.Content) > 0:
			if err := e.insert(last, k, n.Content[i+1], o.Content[0].Column-1); err != nil {
				return err
			}
		case top:
			if err := e.insert(len(e.lines), k, n.Content[i+1], 0); err != nil {
				return err
			}
		default:
			return errNoPatch
		}
	}
	return nil
}

// removeEntry removes the lines of key k and its value v; comments above it stay.
func (e *editor) removeEntry(k, v *yaml.Node) error {
	first, last := k.Line-1, lastLine(v)-1
	if first < 0 || last >= len(e.lines) || !e.startsLine(k) {
		return errNoPatch
	}
	for i := first; i <= last; i++ {
		if e.edited[i] {
			return errNoPatch
		}
		e.edited[i], e.remove[i] = true, true
	}
	return nil
}

// replaceScalar replaces the text of scalar o, parsed from the file, with n's, keeping
// the rest of the line (the key, a comment, trailing whitespace, the line end).
func (e *editor) replaceScalar(o, n *yaml.Node) error {
	i := o.Line - 1
	if i < 0 || i >= len(e.lines) || e.edited[i] || o.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return errNoPatch
	}
	line := e.lines[i]
	start, ok := e.offset(i, o.Column)
	if !ok {
		return errNoPatch
	}
	end, ok := scalarEnd(line, start)
	if !ok {
		return errNoPatch
	}
	text, err := encodeScalar(n)
	if err != nil {
		return err
	}
	if start > 0 && line[start-1] != ' ' && line[start-1] != '\t' {
		text = " " + text // "key:" with no value
	}
	e.edited[i], e.replace[i] = true, line[:start]+text+line[end:]
	return nil
}

// insert adds key k with value v, indented by indent spaces, after line number after
// (1-based; len(lines) or 0 at the end or the start of the file).
func (e *editor) insert(after int, k, v *yaml.Node, indent int) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(e.step)
	m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{plainCopy(k), plainCopy(v)}}
	if err := enc.Encode(m); err != nil {
		return errNoPatch
	}
	if err := enc.Close(); err != nil {
		return errNoPatch
	}
	pad := strings.Repeat(" ", indent)
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if l != "" {
			e.before[after] = append(e.before[after], pad+strings.TrimSuffix(l, "\n")+e.eol)
		}
	}
	return nil
}

// startsLine reports whether only whitespace comes before node n on its line.
func (e *editor) startsLine(n *yaml.Node) bool {
	off, ok := e.offset(n.Line-1, n.Column)
	return ok && strings.TrimLeft(e.lines[n.Line-1][:off], " \t\ufeff") == ""
}

// offset converts yaml's column (1-based, in characters) on line i into a byte offset.
func (e *editor) offset(i, col int) (int, bool) {
	line := e.lines[i]
	off := 0
	if i == 0 && strings.HasPrefix(line, "\ufeff") {
		off = len("\ufeff") // the reader skips a byte order mark
	}
	for c := 1; c < col; c++ {
		if off >= len(line) {
			return 0, false
		}
		_, size := utf8.DecodeRuneInString(line[off:])
		off += size
	}
	return off, off <= len(line)
}

// scalarEnd is the byte offset where the single-line scalar that starts at start ends
// (after its anchor or tag, if any); false when it does not end on this line or is not a
// scalar the editor handles.
func scalarEnd(line string, start int) (int, bool) {
	content := strings.TrimRight(line, "\r\n")
	i := start
	// Properties: an anchor (&a) or a tag (!!str) before the value.
	for i < len(content) && (content[i] == '&' || content[i] == '!') {
		for i < len(content) && content[i] != ' ' && content[i] != '\t' {
			i++
		}
		for i < len(content) && (content[i] == ' ' || content[i] == '\t') {
			i++
		}
	}
	if i >= len(content) || content[i] == '#' && i > start {
		return start, i == start // only an empty value is replaced in place
	}
	switch content[i] {
	case '"':
		for j := i + 1; j < len(content); j++ {
			switch content[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return 0, false
	case '\'':
		for j := i + 1; j < len(content); j++ {
			if content[j] == '\'' {
				if j+1 < len(content) && content[j+1] == '\'' {
					j++
					continue
				}
				return j + 1, true
			}
		}
		return 0, false
	case '|', '>', '[', '{', '*':
		return 0, false
	}
	end := len(content)
	for j := i + 1; j < len(content); j++ {
		if content[j] == '#' && (content[j-1] == ' ' || content[j-1] == '\t') {
			end = j
			break
		}
	}
	return len(strings.TrimRight(content[:end], " \t")), true
}

// encodeScalar is n as YAML on one line, without comments.
func encodeScalar(n *yaml.Node) (string, error) {
	out, err := yaml.Marshal(plainCopy(n))
	if err != nil {
		return "", errNoPatch
	}
	s := strings.TrimSuffix(string(out), "\n")
	if strings.ContainsAny(s, "\r\n") {
		return "", errNoPatch
	}
	return s, nil
}

// plainCopy is a deep copy of n without comments or source positions.
func plainCopy(n *yaml.Node) *yaml.Node {
	c := &yaml.Node{Kind: n.Kind, Style: n.Style, Tag: n.Tag, Value: n.Value, Anchor: n.Anchor, Alias: n.Alias}
	for _, child := range n.Content {
		c.Content = append(c.Content, plainCopy(child))
	}
	return c
}

// lastLine is the last line on which any node of n's tree starts.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// indentStep guesses the file's indentation step from its first nested block mapping.
func indentStep(n *yaml.Node) int {
	if n.Kind != yaml.MappingNode {
		return 2
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
			if s := v.Content[0].Column - k.Column; s >= 2 && s <= 9 {
				return s
			}
		}
	}
	return 2
}

// sameNode reports whether two trees hold the same keys and values.
func sameNode(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || len(a.Content) != len(b.Content) {
		return false
	}
	if a.Kind == yaml.ScalarNode && (a.Value != b.Value || a.ShortTag() != b.ShortTag()) {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// sameContent reports whether text decodes to what root does (an empty mapping and no
// value counting as the same: hubctl reads both as no settings).
func sameContent(text []byte, root *yaml.Node) bool {
	var got, want any
	if err := yaml.Unmarshal(text, &got); err != nil {
		return false
	}
	if err := root.Decode(&want); err != nil {
		return false
	}
	return reflect.DeepEqual(normalize(got), normalize(want))
}

func normalize(v any) any {
	switch m := v.(type) {
	case map[string]any:
		if len(m) == 0 {
			return nil
		}
		out := map[string]any{}
		for k, x := range m {
			out[k] = normalize(x)
		}
		return out
	case map[any]any:
		if len(m) == 0 {
			return nil
		}
		out := map[any]any{}
		for k, x := range m {
			out[k] = normalize(x)
		}
		return out
	}
	return v
}
