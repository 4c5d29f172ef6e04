package buckets

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanPathAccepts(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "",
		"/":                                   "",
		"a":                                   "a",
		"/a/b.txt":                            "a/b.txt",
		"a/b/":                                "a/b",
		"dir/.hidden":                         "dir/.hidden",
		"a..b/c...":                           "a..b/c...",
		".textileseed.bak":                    ".textileseed.bak",
		"x/my.textileseed":                    "x/my.textileseed",
		strings.Repeat("n", MaxSegmentLength): strings.Repeat("n", MaxSegmentLength),
		strings.Repeat("a/", MaxPathLength/2-1) + "aa": strings.Repeat("a/", MaxPathLength/2-1) + "aa",
	} {
		got, err := CleanPath(in)
		if err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestCleanPathRefuses is what a client trying to escape or corrupt a bucket sends.
func TestCleanPathRefuses(t *testing.T) {
	for in, rule := range map[string]string{
		"..":                    `".."`,
		"../etc/passwd":         `".."`,
		"a/../../b":             `".."`,
		"a/..":                  `".."`,
		"/./a":                  `"."`,
		"a/./b":                 `"."`,
		".":                     `"."`,
		"a//b":                  "empty path segments",
		"//":                    "empty path segments",
		"a/b//":                 "empty path segments",
		"a\x00b":                "NUL",
		"a/\x00":                "NUL",
		".textileseed":          ".textileseed",
		"/.textileseed":         ".textileseed",
		"dir/.textileseed":      ".textileseed",
		"dir/.textileseed/file": ".textileseed",
		"it's.txt":              "quotes",
		`say "hi"`:              "quotes",
		`a\b`:                   "backslashes",
		"a\nb":                  "U+000A",
		"tab\there":             "U+0009",
		"line\u2028sep":         "U+2028",
		"para\u2029sep":         "U+2029",
		"bad\xffutf8":           "UTF-8",
		strings.Repeat("a/", MaxPathLength/2) + "a": "at most 4096 bytes",
		strings.Repeat("n", MaxSegmentLength+1):     "at most 255 bytes",
		"d/" + strings.Repeat("n", 256) + "/f":      "at most 255 bytes",
	} {
		got, err := CleanPath(in)
		if len(in) > MaxPathLength {
			in = in[:64] + "..."
		}
		if err == nil {
			t.Errorf("CleanPath(%q) = %q; want an error about %s", in, got, rule)
			continue
		}
		var pe *PathError
		if !errors.As(err, &pe) || pe.Path != in {
			t.Errorf("CleanPath(%q): %v is not a PathError naming the path", in, err)
		}
		if msg := err.Error(); !strings.Contains(msg, rule) || strings.Contains(msg, "\n") {
			t.Errorf("CleanPath(%q): %q: want one line naming %s", in, msg, rule)
		}
	}
}
