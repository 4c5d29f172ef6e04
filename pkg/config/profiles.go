package config

import (
	"strconv"
	"strings"
)

// DaemonProfile is the name of the profile a daemon with data directory dataDir saves its
// first key in, in file: "local" for the default data directory (isDefault), else
// "local-" and the directory's base name made a plain profile name (lowercase letters,
// digits, '.', '_' and '-', at most 32 bytes: /srv/Hub B is local-hub-b). A name that file
// already holds, as a profile, is never reused: it gets -2, -3 and so on. So a second
// daemon never replaces the profile, and the key, of another.
func DaemonProfile(file *File, dataDir string, isDefault bool) (name, base string) {
	base = "local"
	if !isDefault {
		if s := plainName(lastElem(dataDir)); s != "" {
			base = "local-" + s
		}
	}
	name = base
	for i := 2; file.HasProfile(name); i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	return name, base
}

// lastElem is the last element of a slash- or backslash-separated path.
func lastElem(p string) string {
	p = strings.TrimRight(p, `/\`)
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// plainName lowercases s and replaces each run of other characters than letters, digits,
// '.' and '_' with one '-', trimmed to 32 bytes and of punctuation at either end.
func plainName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '.', r == '_':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	out := b.String()
	if len(out) > 32 {
		out = out[:32]
	}
	return strings.Trim(out, "-._")
}
