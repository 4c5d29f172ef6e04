package buckets

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SeedName is the name of the seed file in every bucket's root directory.
const SeedName = ".textileseed"

// The longest path and path segment CleanPath accepts, in bytes: Linux's PATH_MAX and
// NAME_MAX, so that what a bucket holds can be pulled into a directory, and so that one
// path cannot make a server build thousands of directories or a huge metadata key.
const (
	MaxPathLength    = 4096
	MaxSegmentLength = 255
)

// CleanPath returns the bucket-relative form of a path a client sent: a leading "/" and
// a trailing "/" are trimmed, "" (or "/") is the bucket's root. It refuses what the Hub
// let through: "." and ".." segments, empty segments ("a//b"), NUL, and any segment
// named SeedName. It also refuses what a bucket's metadata, which is keyed by path,
// cannot hold: text that is not UTF-8 (JSON would change it), and the characters
// ThreadDB cannot hand to the collection's JavaScript validator (pkg/jssafe: ', ", \,
// control characters, U+2028 and U+2029), and paths or names longer than
// MaxPathLength or MaxSegmentLength. The error is one line naming the path
// (quoted) and the rule; pkg/server answers it as InvalidArgument.
func CleanPath(p string) (string, error) {
	orig := p
	if len(p) > MaxPathLength {
		return "", &PathError{Path: orig[:64] + "...", Rule: fmt.Sprintf("a path is at most %d bytes", MaxPathLength)}
	}
	p = strings.TrimPrefix(p, "/")
	if p != "" {
		p = strings.TrimSuffix(p, "/")
		if p == "" {
			return "", &PathError{Path: orig, Rule: "empty path segments are not allowed"}
		}
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", &PathError{Path: orig, Rule: "NUL is not allowed in a path"}
	}
	if !utf8.ValidString(p) {
		return "", &PathError{Path: orig, Rule: "a path must be UTF-8 text"}
	}
	for _, r := range p {
		switch {
		case r == '\'', r == '"', r == '\\':
			return "", &PathError{Path: orig, Rule: `quotes (' and ") and backslashes are not allowed in a path, bucket metadata cannot hold them: rename the file`}
		case r < 0x20 || r == '\u2028' || r == '\u2029':
			return "", &PathError{Path: orig, Rule: fmt.Sprintf("control character %U is not allowed in a path: rename the file", r)}
		}
	}
	if p == "" {
		return "", nil
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return "", &PathError{Path: orig, Rule: "empty path segments are not allowed"}
		case ".", "..":
			return "", &PathError{Path: orig, Rule: `"." and ".." are not allowed in a path`}
		case SeedName:
			return "", &PathError{Path: orig, Rule: "paths containing " + SeedName + " are not allowed"}
		}
		if len(seg) > MaxSegmentLength {
			return "", &PathError{Path: orig, Rule: fmt.Sprintf("a file or directory name is at most %d bytes", MaxSegmentLength)}
		}
	}
	return p, nil
}

// PathError is CleanPath's refusal.
type PathError struct {
	Path string // as the client sent it
	Rule string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("invalid path %q: %s", e.Path, e.Rule)
}
