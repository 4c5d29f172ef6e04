package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hubctl/hubctl/pkg/atomicfile"
)

const (
	currentProfileKey = "current-profile"
	profilesKey       = "profiles"
)

// File is a config file as a YAML node tree, so that edits keep the user's comments and
// key order, and so that errors can name a line.
type File struct {
	Path   string
	Exists bool
	root   *yaml.Node // the top-level mapping
}

// Value is one setting read from the file, with the line it came from.
type Value struct {
	Value string
	Line  int
}

// ReadFile parses the config file at path. A missing file is an empty config.
func ReadFile(path string) (*File, error) {
	f := &File{Path: path, root: &yaml.Node{Kind: yaml.MappingNode}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	f.Exists = true
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &FileError{Path: path, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
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
	return f, nil
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
func (f *File) validate() error {
	if err := f.noDuplicates(f.root); err != nil {
		return err
	}
	for i := 0; i+1 < len(f.root.Content); i += 2 {
		k, v := f.root.Content[i], f.root.Content[i+1]
		switch k.Value {
		case currentProfileKey:
			if v.Kind != yaml.ScalarNode {
				return f.errAt(v, "current-profile must be a profile name")
			}
		case profilesKey:
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return f.errAt(v, "profiles must be a mapping of profile names to settings")
			}
			if err := f.noDuplicates(v); err != nil {
				return err
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				pk, pv := v.Content[j], v.Content[j+1]
				if pv.Kind != yaml.MappingNode && !isNull(pv) {
					return f.errAt(pv, fmt.Sprintf("profile %q must be a mapping of settings", pk.Value))
				}
				if err := f.validateSettings(pv); err != nil {
					return err
				}
			}
		default:
			if err := f.validateSetting(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// noDuplicates refuses a key given twice in one mapping: YAML readers disagree on which
// one wins, and an edit would change one while the other stays in force.
func (f *File) noDuplicates(m *yaml.Node) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if line, ok := seen[k.Value]; ok {
			return f.errAt(k, fmt.Sprintf("%q is given twice (first on line %d)", k.Value, line))
		}
		seen[k.Value] = k.Line
	}
	return nil
}

func (f *File) validateSettings(m *yaml.Node) error {
	if err := f.noDuplicates(m); err != nil {
		return err
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if err := f.validateSetting(m.Content[i], m.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) validateSetting(k, v *yaml.Node) error {
	if _, ok := lookupKey(k.Value); !ok {
		return f.errAt(k, fmt.Sprintf("unknown key %q (known keys: %s)", k.Value, strings.Join(KeyNames(), ", ")))
	}
	if v.Kind != yaml.ScalarNode {
		return f.errAt(v, fmt.Sprintf("%s must be a single value", k.Value))
	}
	return nil
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
// directory with mode 0700.
func (f *File) Save() error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{f.root}}); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := atomicfile.MkdirPrivate(filepath.Dir(f.Path)); err != nil {
		return fmt.Errorf("config directory: %w", err)
	}
	if err := atomicfile.WriteFile(f.Path, buf.Bytes(), 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("write config file %s: %w", f.Path, err)
	}
	f.Exists = true
	return nil
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
