package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

type inner struct {
	Zeta  string `json:"zeta"`
	Alpha int    `json:"alpha"`
}

type result struct {
	Name      string            `json:"name"`
	PublicKey string            `json:"publicKey"`
	IsDefault bool              `json:"isDefault"`
	Count     int               `json:"count"`
	Omitted   string            `json:"omitted,omitempty"`
	Hidden    string            `json:"-"`
	Created   time.Time         `json:"created"`
	Nested    inner             `json:"nested"`
	Tags      []string          `json:"tags"`
	Labels    map[string]string `json:"labels"`
	Version   string            `json:"version"`
	HTML      string            `json:"html"`
}

func sample() result {
	return result{
		Name:      "alice",
		PublicKey: "bbaareib",
		IsDefault: true,
		Count:     3,
		Hidden:    "do not print",
		Created:   time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Nested:    inner{Zeta: "z", Alpha: 1},
		Tags:      []string{"a", "b"},
		Labels:    map[string]string{"k": "v"},
		Version:   "1.0",
		HTML:      "<a&b>",
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	want := `{
  "name": "alice",
  "publicKey": "bbaareib",
  "isDefault": true,
  "count": 3,
  "created": "2024-01-02T03:04:05Z",
  "nested": {
    "zeta": "z",
    "alpha": 1
  },
  "tags": [
    "a",
    "b"
  ],
  "labels": {
    "k": "v"
  },
  "version": "1.0",
  "html": "<a&b>"
}
`
	if out != want {
		t.Errorf("WriteJSON =\n%s\nwant\n%s", out, want)
	}
	if !strings.HasSuffix(out, "}\n") || strings.HasSuffix(out, "\n\n") {
		t.Errorf("output does not end with exactly one newline: %q", out)
	}
	for _, bad := range []string{"Name", "PublicKey", "omitted", "do not print", `\u003c`} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
	var back result
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("output is not valid JSON: %v", err)
	}
}

func TestWriteJSONError(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, map[string]any{"f": func() {}}); err == nil {
		t.Error("WriteJSON of a func succeeded")
	}
}

func TestWriteYAML(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteYAML(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	want := `name: alice
publicKey: bbaareib
isDefault: true
count: 3
created: "2024-01-02T03:04:05Z"
nested:
  zeta: z
  alpha: 1
tags:
  - a
  - b
labels:
  k: v
version: "1.0"
html: <a&b>
`
	if out != want {
		t.Errorf("WriteYAML =\n%s\nwant\n%s", out, want)
	}

	// The YAML reads back to the same values as the JSON.
	var fromYAML, fromJSON map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &fromYAML); err != nil {
		t.Fatalf("output is not valid YAML: %v", err)
	}
	raw, _ := json.Marshal(sample())
	if err := yaml.Unmarshal(raw, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if y, j := mustJSON(t, fromYAML), mustJSON(t, fromJSON); y != j {
		t.Errorf("YAML and JSON disagree:\n%s\n%s", y, j)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Strings that YAML would read as another type stay strings.
func TestWriteYAMLQuotesAmbiguousStrings(t *testing.T) {
	type doc struct {
		A string `json:"a"`
		B string `json:"b"`
		C string `json:"c"`
		D string `json:"d"`
		E string `json:"e"`
		F bool   `json:"f"`
		G any    `json:"g"`
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, doc{A: "true", B: "null", C: "123", D: "", E: "multi\nline", F: false}); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("invalid YAML %q: %v", buf.String(), err)
	}
	want := map[string]any{"a": "true", "b": "null", "c": "123", "d": "", "e": "multi\nline", "f": false, "g": nil}
	if mustJSON(t, back) != mustJSON(t, want) {
		t.Errorf("YAML read back as %v, want %v\n%s", back, want, buf.String())
	}
	if !strings.HasPrefix(buf.String(), "a: \"true\"\nb: \"null\"\nc: \"123\"\n") {
		t.Errorf("WriteYAML =\n%s", buf.String())
	}
}

func TestWriteYAMLList(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteYAML(&buf, []inner{{"x", 1}, {"y", 2}}); err != nil {
		t.Fatal(err)
	}
	want := "- zeta: x\n  alpha: 1\n- zeta: y\n  alpha: 2\n"
	if buf.String() != want {
		t.Errorf("WriteYAML =\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	p := &Printer{W: &buf, Format: Table}
	err := p.WriteTable(TableData{
		Header: []string{"NAME", "DEFAULT", "PUBLIC KEY"},
		Rows: [][]string{
			{"alice", "*", "bbaa"},
			{"a-much-longer-name", "", "bbcc"},
			{"b", "", ""},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME                DEFAULT  PUBLIC KEY\n" +
		"alice               *        bbaa\n" +
		"a-much-longer-name           bbcc\n" +
		"b                            \n"
	if buf.String() != want {
		t.Errorf("table =\n%q\nwant\n%q", buf.String(), want)
	}
	checkAligned(t, buf.String())
}

// checkAligned checks that every non-empty cell after the first starts at the same
// column on every line as the header's cell.
func checkAligned(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	starts := columnStarts(lines[0])
	for _, line := range lines[1:] {
		for _, s := range columnStarts(line) {
			found := false
			for _, h := range starts {
				if h == s {
					found = true
				}
			}
			if !found {
				t.Errorf("line %q has a cell at column %d, header columns are %v", line, s, starts)
			}
		}
	}
}

// columnStarts returns the rune offsets where a cell starts after a run of two spaces.
func columnStarts(line string) []int {
	var starts []int
	runes := []rune(line)
	for i := 2; i < len(runes); i++ {
		if runes[i] != ' ' && runes[i-1] == ' ' && runes[i-2] == ' ' {
			starts = append(starts, i)
		}
	}
	return starts
}

func TestTableWithoutHeader(t *testing.T) {
	var buf bytes.Buffer
	p := &Printer{W: &buf, Bold: func(s string) string { return "<b>" + s + "</b>" }}
	if err := p.WriteTable(TableData{Rows: [][]string{{"a", "1"}, {"bbb", "2"}}}); err != nil {
		t.Fatal(err)
	}
	if want := "a    1\nbbb  2\n"; buf.String() != want {
		t.Errorf("table =\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestTableEmpty(t *testing.T) {
	for _, td := range []TableData{
		{},
		{Header: []string{"NAME", "KEY"}},
		{Header: []string{"NAME", "KEY"}, Rows: [][]string{}},
	} {
		var buf bytes.Buffer
		p := &Printer{W: &buf, Format: Table, Bold: strings.ToUpper}
		if err := p.WriteTable(td); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 0 {
			t.Errorf("empty table %+v printed %q", td, buf.String())
		}
		buf.Reset()
		if err := p.Print(nil, func() TableData { return td }); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 0 {
			t.Errorf("Print of an empty table printed %q", buf.String())
		}
	}
}

func TestTableBoldHeader(t *testing.T) {
	td := TableData{
		Header: []string{"NAME", "TYPE", "CREATED"},
		Rows: [][]string{
			{"alice", "Ed25519", "2024-01-02"},
			{"bob-the-builder", "Secp256k1", "2024-03-04"},
		},
	}
	var plain, bold bytes.Buffer
	if err := (&Printer{W: &plain}).WriteTable(td); err != nil {
		t.Fatal(err)
	}
	const on, off = "\x1b[1m", "\x1b[0m"
	p := &Printer{W: &bold, Bold: func(s string) string { return on + s + off }}
	if err := p.WriteTable(td); err != nil {
		t.Fatal(err)
	}
	plainLines := strings.Split(plain.String(), "\n")
	boldLines := strings.Split(bold.String(), "\n")
	if len(plainLines) != len(boldLines) {
		t.Fatalf("bold table has %d lines, plain %d", len(boldLines), len(plainLines))
	}
	if want := on + plainLines[0] + off; boldLines[0] != want {
		t.Errorf("bold header = %q, want the plain header wrapped whole: %q", boldLines[0], want)
	}
	if strings.Count(bold.String(), on) != 1 {
		t.Errorf("bold applied %d times, want once", strings.Count(bold.String(), on))
	}
	for i := 1; i < len(plainLines); i++ {
		if boldLines[i] != plainLines[i] {
			t.Errorf("data line %d changed with Bold: %q, plain %q", i, boldLines[i], plainLines[i])
		}
	}
	// Stripping the escapes gives back the plain table.
	stripped := strings.NewReplacer(on, "", off, "").Replace(bold.String())
	if stripped != plain.String() {
		t.Errorf("bold table without escapes =\n%q\nwant\n%q", stripped, plain.String())
	}
	checkAligned(t, plain.String())
}

func TestTableUnicodeWidth(t *testing.T) {
	var buf bytes.Buffer
	if err := (&Printer{W: &buf}).WriteTable(TableData{
		Header: []string{"NAME", "X"},
		Rows:   [][]string{{"é", "1"}, {"abc", "2"}},
	}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	col := -1
	for _, l := range lines {
		i := strings.LastIndex(l, "  ")
		if i < 0 {
			t.Fatalf("line %q has no column gap", l)
		}
		c := utf8.RuneCountInString(l[:i+2])
		if col >= 0 && c != col {
			t.Errorf("second column starts at rune %d on %q, want %d", c, l, col)
		}
		col = c
	}
}

type failingWriter struct{}

var errWrite = errors.New("write failed")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestPrintDispatch(t *testing.T) {
	data := inner{Zeta: "z", Alpha: 7}
	tableCalls := 0
	table := func() TableData {
		tableCalls++
		return TableData{Header: []string{"ZETA", "ALPHA"}, Rows: [][]string{{"z", "7"}}}
	}
	for _, tc := range []struct {
		format, want string
		tableCalled  bool
	}{
		{JSON, "{\n  \"zeta\": \"z\",\n  \"alpha\": 7\n}\n", false},
		{YAML, "zeta: z\nalpha: 7\n", false},
		{Table, "ZETA  ALPHA\nz     7\n", true},
		{"", "ZETA  ALPHA\nz     7\n", true},
	} {
		t.Run(tc.format, func(t *testing.T) {
			tableCalls = 0
			var buf bytes.Buffer
			p := &Printer{W: &buf, Format: tc.format}
			if err := p.Print(data, table); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("Print(%s) = %q, want %q", tc.format, buf.String(), tc.want)
			}
			if (tableCalls > 0) != tc.tableCalled {
				t.Errorf("table func called %d times", tableCalls)
			}
		})
	}
	for _, format := range []string{JSON, YAML, Table} {
		p := &Printer{W: failingWriter{}, Format: format}
		if err := p.Print(data, table); !errors.Is(err, errWrite) {
			t.Errorf("Print(%s) to a failing writer = %v, want the write error", format, err)
		}
	}
}
