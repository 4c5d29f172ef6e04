package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestWriteJSONL(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"list of structs", []inner{{"x", 1}, {"<y&>", 2}}, "{\"zeta\":\"x\",\"alpha\":1}\n{\"zeta\":\"<y&>\",\"alpha\":2}\n"},
		{"array", [2]string{"a", "b"}, "\"a\"\n\"b\"\n"},
		{"one value", inner{"z", 7}, "{\"zeta\":\"z\",\"alpha\":7}\n"},
		{"raw messages are compacted", []json.RawMessage{json.RawMessage("{\n  \"a\": 1,\n  \"b\": [1, 2]\n}"), json.RawMessage(`{"c":"d"}`)},
			"{\"a\":1,\"b\":[1,2]}\n{\"c\":\"d\"}\n"},
		{"one raw message", json.RawMessage(`{ "a" : 1 }`), "{\"a\":1}\n"},
		{"bytes are one value", []byte("hi"), "\"aGk=\"\n"},
		{"empty list", []inner{}, ""},
		{"nil list", []inner(nil), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := &Printer{W: &buf, Format: JSONL}
			if err := p.Print(tc.v, func() TableData { t.Fatal("table called"); return TableData{} }); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("Print = %q, want %q", buf.String(), tc.want)
			}
		})
	}
	// A long list is written in pieces, and a failing writer's error comes back.
	long := make([]inner, 5000)
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, long); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte{'\n'}); n != 5000 {
		t.Errorf("%d lines, want 5000", n)
	}
	if err := WriteJSONL(failingWriter{}, long); !errors.Is(err, errWrite) {
		t.Errorf("WriteJSONL to a failing writer = %v", err)
	}
	if err := WriteJSONL(&buf, []any{func() {}}); err == nil {
		t.Error("WriteJSONL of a func succeeded")
	}
}
