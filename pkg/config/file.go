package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hubctl/hubctl/pkg/atomicfile"
	"github.com/hubctl/hubctl/pkg/filemode"
)

const (
	currentProfileKey = "current-profile"
	profilesKey       = "profiles"
)

// File is a config file as a YAML node tree, so that errors can name a line, and its
// text, which Save edits in place so that every line an edit does not change stays as the
// user wrote it.
type File struct {
	Path   string
	Exists bool
	root   *yaml.Node // the top-level mapping
	own    bool       // every top-level key is hubctl's, or a typo of one
	src    []byte     // the file's text as read or last written, which Save edits
}

// Value is one setting read from the file, with the line it came from.
type Value struct {
	Value string
	Line  int
}

// MaxFileSize bounds the config file: a hubctl config is a few hundred bytes.
const MaxFileSize = 1 << 20

// ReadFile parses the config file at path. A missing file is an empty config.
//
// Errors about the file quote none of its text unless it is hubctl's own: the names of
// settings, a key that is a typo of one (at most one edit from a short name, two from a
// longer one), and profile names in a file whose every top-level key is hubctl's. So a
// path that leads to another file (a symlink to /etc/shadow, say, read by a hubctl with
// more rights than its user) is reported by line alone. A file that holds a secret (a
// secret or token setting) is refused when other users can read it, as ftp refuses such
// a .netrc: run chmod 600 FILE.
func ReadFile(path string) (*File, error) {
	f := &File{Path: path, root: &yaml.Node{Kind: yaml.MappingNode}}
	data, info, err := filemode.ReadRegular(path, MaxFileSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil
	case errors.Is(err, filemode.ErrNotRegular):
		return nil, &FileError{Path: path, Msg: "not a regular file: point --config or HUBCTL_CONFIG at a hubctl config file"}
	case errors.Is(err, filemode.ErrTooLarge):
		return nil, &FileError{Path: path, Msg: fmt.Sprintf("larger than %d KiB, so not a hubctl config file: point --config or HUBCTL_CONFIG at one", MaxFileSize>>10)}
	case err != nil:
		return nil, fmt.Errorf("read config file: %w", err)
	}
	f.Exists = true
	f.src = data
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &FileError{Path: path, Msg: syntaxError(err)}
	}
	if len(doc.Content) == 0 { // empty file or only comments
		return f, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FileError{Path: path, Line: root.Line, Msg: "the file must be a mapping of keys to values"}
	}
	f.root = root
	if err := f.validate(); err != nil {
		return nil, err
	}
	if f.holdsSecret() {
		if err := filemode.Check("config file", path, info); err != nil {
			var r *filemode.Refusal
			if errors.As(err, &r) {
				r.Note = "holds a secret"
			}
			return nil, err
		}
	}
	return f, nil
}

// holdsSecret reports whether a secret setting (secret, token) has a value anywhere in
// the file, at top level or in a profile.
func (f *File) holdsSecret() bool {
	has := func(m map[string]Value) bool {
		for name, v := range m {
			if k, _ := lookupKey(name); k.Secret() && strings.TrimSpace(v.Value) != "" {
				return true
			}
		}
		return false
	}
	if has(f.Settings("")) {
		return true
	}
	for _, p := range f.Profiles() {
		if has(f.Settings(p)) {
			return true
		}
	}
	return false
}

// syntaxError is yaml.v3's syntax error without its "yaml: " prefix, and without the
// file's text: its messages are fixed phrases, some naming one character ("could not
// find expected ':'"), except those that quote an anchor's name, replaced here, and any
// other that would quote more than a character.
func syntaxError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	where, what := "", msg
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 && strings.Trim(rest[:i], "0123456789") == "" {
			where, what = msg[:len("line ")+i+2], rest[i+2:]
		}
	}
	switch {
	case strings.Contains(what, "anchor"):
		what = "an alias refers to an anchor that is not defined before it, or to itself"
	case quotesText(what):
		what = "not valid YAML"
	}
	return where + what
}

// quotesText reports whether msg holds a double quote, a backquote or a single-quoted
// span longer than one character.
func quotesText(msg string) bool {
	if strings.ContainsAny(msg, "\"`") {
		return true
	}
	for {
		i := strings.IndexByte(msg, '\'')
		if i < 0 {
			return false
		}
		j := strings.IndexByte(msg[i+1:], '\'')
		if j < 0 || j > 1 {
			return true
		}
		msg = msg[i+1+j+1:]
	}
}

// FileError is a problem in the config file; it names the file and, when known, the line.
type FileError struct {
	Path string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("invalid config file %s: line %d: %s", e.Path, e.Line, e.Msg)
	}
	// yaml.v3 syntax errors already start with "line N:".
	return fmt.Sprintf("invalid config file %s: %s", e.Path, e.Msg)
}

// validate checks the shape of the file: scalar values for known keys, and a profiles
// mapping of mappings. Unknown keys are errors because a misspelt key would otherwise be
// silently ignored, and a silently ignored `api` sends requests to the wrong server.
// Messages quote the file's text only as ReadFile says.
func (f *File) validate() error {
	f.own = true
	for i := 0; i+1 < len(f.root.Content); i += 2 {
		if k := f.root.Content[i]; !isTopLevelKey(k) && typoOf(k, true) == "" {
			f.own = false
		}
	}
	if err := f.noDuplicates(f.root, false); err != nil {
		return err
	}
	for i := 0; i+1 < len(f.root.Content); i += 2 {
		k, v := f.root.Content[i], f.root.Content[i+1]
		switch {
		case isScalarKey(k, currentProfileKey):
			if v.Kind != yaml.ScalarNode {
				return f.errAt(v, "current-profile must be a profile name")
			}
		case isScalarKey(k, profilesKey):
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return f.errAt(v, "profiles must be a mapping of profile names to settings")
			}
			if err := f.noDuplicates(v, true); err != nil {
				return err
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				pk, pv := v.Content[j], v.Content[j+1]
				if pv.Kind != yaml.MappingNode && !isNull(pv) {
					return f.errAt(pv, f.profileRef(pk)+" must be a mapping of settings")
				}
				if err := f.validateSettings(pv); err != nil {
					return err
				}
			}
		default:
			if err := f.validateSetting(k, v, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// noDuplicates refuses a key given twice in one mapping: YAML readers disagree on which
// one wins, and an edit would change one while the other stays in force. profiles says
// the mapping's keys are profile names.
func (f *File) noDuplicates(m *yaml.Node, profiles bool) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if line, ok := seen[k.Value]; ok {
			name := f.keyRef(k, !profiles)
			if profiles {
				name = f.profileRef(k)
			}
			return f.errAt(k, fmt.Sprintf("%s is given twice (first on line %d)", name, line))
		}
		seen[k.Value] = k.Line
	}
	return nil
}

func (f *File) validateSettings(m *yaml.Node) error {
	if err := f.noDuplicates(m, false); err != nil {
		return err
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if err := f.validateSetting(m.Content[i], m.Content[i+1], false); err != nil {
			return err
		}
	}
	return nil
}

// validateSetting checks one setting; top says it is at top level, where current-profile
// and profiles are keys too.
func (f *File) validateSetting(k, v *yaml.Node, top bool) error {
	if k.Kind != yaml.ScalarNode {
		return f.errAt(k, fmt.Sprintf("a key must be a setting name (known keys: %s)", strings.Join(KeyNames(), ", ")))
	}
	if _, ok := lookupKey(k.Value); !ok {
		known := strings.Join(KeyNames(), ", ")
		if typo := typoOf(k, top); typo != "" {
			return f.errAt(k, fmt.Sprintf("unknown key %q (known keys: %s): did you mean %s?", k.Value, known, typo))
		}
		return f.errAt(k, fmt.Sprintf("unknown key (known keys: %s): correct or remove it", known))
	}
	if v.Kind != yaml.ScalarNode {
		return f.errAt(v, fmt.Sprintf("%s must be a single value", k.Value))
	}
	return nil
}

// keyRef names key k in a message: quoted when it is hubctl's name or a typo of one,
// else "a key", so that no other text of the file is repeated.
func (f *File) keyRef(k *yaml.Node, top bool) string {
	if _, ok := lookupKey(k.Value); k.Kind == yaml.ScalarNode && ok || top && isTopLevelKey(k) || typoOf(k, top) != "" {
		return strconv.Quote(k.Value)
	}
	return "a key"
}

// profileRef names a profile in a message: by name only when the file is hubctl's (every
// top-level key is one of hubctl's or a typo of one).
func (f *File) profileRef(k *yaml.Node) string {
	if f.own && k.Kind == yaml.ScalarNode {
		return "profile " + strconv.Quote(k.Value)
	}
	return "a profile"
}

func isScalarKey(k *yaml.Node, name string) bool { return k.Kind == yaml.ScalarNode && k.Value == name }

// isTopLevelKey reports whether k is a key hubctl reads at top level.
func isTopLevelKey(k *yaml.Node) bool {
	if k.Kind != yaml.ScalarNode {
		return false
	}
	_, ok := lookupKey(k.Value)
	return ok || k.Value == currentProfileKey || k.Value == profilesKey
}

// typoOf returns the name k is a typo of, or "": a key of a name's letters (letters,
// digits, '-', '_', '.'; at most 32), at most one edit (of any case) from a name of up
// to four letters, or two from a longer one. Only such a key is quoted in errors: it
// says nothing of a file that is not hubctl's. top adds current-profile and profiles.
func typoOf(k *yaml.Node, top bool) string {
	s := k.Value
	if k.Kind != yaml.ScalarNode || s == "" || len(s) > 32 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	names := KeyNames()
	if top {
		names = append(names, currentProfileKey, profilesKey)
	}
	lower := strings.ToLower(s)
	for _, n := range names {
		limit := 2
		if len(n) <= 4 {
			limit = 1
		}
		if editDistance(lower, n) <= limit {
			return n
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between two short ASCII strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (f *File) errAt(n *yaml.Node, msg string) error {
	return &FileError{Path: f.Path, Line: n.Line, Msg: msg}
}

// CurrentProfile is the file's current-profile, or "".
func (f *File) CurrentProfile() string {
	if n := mapGet(f.root, currentProfileKey); n != nil {
		return n.Value
	}
	return ""
}

// Profiles lists the profile names, sorted.
func (f *File) Profiles() []string {
	var names []string
	if p := mapGet(f.root, profilesKey); p != nil {
		for i := 0; i+1 < len(p.Content); i += 2 {
			names = append(names, p.Content[i].Value)
		}
	}
	sort.Strings(names)
	return names
}

// KnownProfiles describes the defined profiles for error messages.
func (f *File) KnownProfiles() string {
	if p := f.Profiles(); len(p) > 0 {
		return "known profiles: " + strings.Join(p, ", ")
	}
	return "none are defined"
}

// HasProfile reports whether the file defines the named profile.
func (f *File) HasProfile(name string) bool { return f.profile(name) != nil }

func (f *File) profile(name string) *yaml.Node {
	p := mapGet(f.root, profilesKey)
	if p == nil {
		return nil
	}
	return mapGet(p, name)
}

// Settings returns the top-level settings (profile "") or a profile's settings.
func (f *File) Settings(profile string) map[string]Value {
	m := f.root
	if profile != "" {
		m = f.profile(profile)
	}
	out := map[string]Value{}
	if m == nil || m.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, m.Content[i+1]
		if _, ok := lookupKey(k); ok && !isNull(v) {
			out[k] = Value{Value: v.Value, Line: v.Line}
		}
	}
	return out
}

// Set stores a setting at top level (profile "") or in a profile, creating the profile.
func (f *File) Set(profile, key, value string) {
	m := f.settingsNode(profile, true)
	node := &yaml.Node{Kind: yaml.ScalarNode, Value: value, Tag: "!!str"}
	// A string tag keeps values that YAML would read as another type (an identity named
	// "null", say) as strings; booleans are written as booleans for readability.
	if k, ok := lookupKey(key); ok && k.Kind == KindBool {
		if b, err := strconv.ParseBool(value); err == nil {
			node.Tag, node.Value = "!!bool", strconv.FormatBool(b) // 1, T, True -> true
		}
	}
	mapSet(m, key, node)
}

// Unset removes a setting; it reports whether the setting was there.
func (f *File) Unset(profile, key string) bool {
	m := f.settingsNode(profile, false)
	if m == nil {
		return false
	}
	return mapDelete(m, key)
}

// SetCurrentProfile sets current-profile.
func (f *File) SetCurrentProfile(name string) {
	mapSet(f.root, currentProfileKey, &yaml.Node{Kind: yaml.ScalarNode, Value: name})
}

func (f *File) settingsNode(profile string, create bool) *yaml.Node {
	if profile == "" {
		return f.root
	}
	profiles := mapGet(f.root, profilesKey)
	if profiles == nil || profiles.Kind != yaml.MappingNode {
		if !create {
			return nil
		}
		profiles = &yaml.Node{Kind: yaml.MappingNode}
		mapSet(f.root, profilesKey, profiles)
	}
	p := mapGet(profiles, profile)
	if p == nil || p.Kind != yaml.MappingNode {
		if !create {
			return nil
		}
		p = &yaml.Node{Kind: yaml.MappingNode}
		mapSet(profiles, profile, p)
	}
	return p
}

// Save writes the file atomically with mode 0600 (it may hold secrets), creating its
// directory with mode 0700. An existing file is edited in place (see patch): every line
// no edit touches comes back byte for byte. Only a file whose changed parts patch cannot
// edit (a flow mapping, a value spanning lines) is written whole by the encoder, which
// keeps comments and key order but drops blank lines.
func (f *File) Save() error {
	data, err := f.render()
	if err != nil {
		return err
	}
	if err := atomicfile.MkdirPrivate(filepath.Dir(f.Path)); err != nil {
		return fmt.Errorf("config directory: %w", err)
	}
	if err := atomicfile.WriteFile(f.Path, data, 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("write config file %s: %w", f.Path, err)
	}
	f.Exists = true
	// The tree follows the text written, so that later edits find their lines.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil && len(doc.Content) > 0 && doc.Content[0].Kind == yaml.MappingNode {
		f.root = doc.Content[0]
	}
	f.src = data
	return nil
}

// render is the file's new text.
func (f *File) render() ([]byte, error) {
	if f.src != nil {
		if out, err := patch(f.src, f.root); err == nil {
			return out, nil
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{f.root}}); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func mapSet(m *yaml.Node, key string, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			// Keep the old node's comments with the new value.
			value.HeadComment, value.LineComment, value.FootComment =
				m.Content[i+1].HeadComment, m.Content[i+1].LineComment, m.Content[i+1].FootComment
			m.Content[i+1] = value
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, value)
}

func mapDelete(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return true
		}
	}
	return false
}
