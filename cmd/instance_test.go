package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/textileio/go-threads/db"
	"github.com/tidwall/gjson"

	"github.com/hubctl/hubctl/pkg/output"
)

func TestParseWhere(t *testing.T) {
	str := func(s string) db.Value { return db.Value{String: &s} }
	num := func(f float64) db.Value { return db.Value{Float: &f} }
	boo := func(b bool) db.Value { return db.Value{Bool: &b} }
	for _, tc := range []struct {
		expr  string
		field string
		op    db.Operation
		value db.Value
	}{
		{"age>=30", "age", db.Ge, num(30)},
		{"age >= 30", "age", db.Ge, num(30)},
		{"age<=-1.5", "age", db.Le, num(-1.5)},
		{"age>1e3", "age", db.Gt, num(1000)},
		{"age<3", "age", db.Lt, num(3)},
		{"name=ann", "name", db.Eq, str("ann")},
		{"name==ann", "name", db.Eq, str("ann")},
		{"name!=ann", "name", db.Ne, str("ann")},
		{"name=", "name", db.Eq, str("")},
		{`zip="0042"`, "zip", db.Eq, str("0042")},
		{"zip=0042", "zip", db.Eq, str("0042")}, // not JSON (a leading zero): a string
		{"note=a=b", "note", db.Eq, str("a=b")},
		{`q="x y"`, "q", db.Eq, str("x y")},
		{"admin=true", "admin", db.Eq, boo(true)},
		{"admin!=false", "admin", db.Ne, boo(false)},
		{"address.city=Oslo", "address.city", db.Eq, str("Oslo")},
	} {
		c, err := parseWhere(tc.expr)
		if err != nil {
			t.Errorf("parseWhere(%q) = %v", tc.expr, err)
			continue
		}
		got, _ := json.Marshal(c)
		want, _ := json.Marshal(&db.Criterion{FieldPath: tc.field, Operation: tc.op, Value: tc.value})
		if string(got) != string(want) {
			t.Errorf("parseWhere(%q) = %s, want %s", tc.expr, got, want)
		}
	}
	for _, tc := range []struct{ expr, want string }{
		{"age", "has no operator"},
		{"=3", "has no field"},
		{"admin>true", "booleans compare with = and != only"},
		{"x=null", "not null"},
		{"x={}", "not objects or arrays"},
		{"x=[1]", "not objects or arrays"},
		{"x!3", "unknown operator"},
	} {
		_, err := parseWhere(tc.expr)
		if exitCode(t.Context(), err) != ExitUsage || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseWhere(%q) = %v, want a usage error with %q", tc.expr, err, tc.want)
		}
	}
}

func TestCheckID(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		save bool
		want string
	}{
		{`{"a":1}`, false, ""},
		{`{"_id":"x"}`, false, ""},
		{`{"_id":""}`, false, ""},
		{`{"_id":null}`, false, ""},
		{`{"_id":42}`, false, `"_id" must be a string; this one is 42`},
		{`{"_id":{"a":1}}`, true, `"_id" must be a string`},
		{`{"_id":"x"}`, true, ""},
		{`{"a":1}`, true, "save needs the instance's \"_id\"; this one has none"},
		{`{"_id":""}`, true, "this one is empty"},
		{`{"nested":{"_id":1},"_id":"ok"}`, false, ""},
	} {
		err := checkID([]byte(tc.doc), tc.save)
		if tc.want == "" {
			if err != nil {
				t.Errorf("checkID(%s, %v) = %v", tc.doc, tc.save, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checkID(%s, %v) = %v, want %q", tc.doc, tc.save, err, tc.want)
		}
	}
}

func TestListWriter(t *testing.T) {
	for _, tc := range []struct {
		format string
		items  []string
		want   string
	}{
		{output.Table, []string{"a", "b"}, "a\nb\n"},
		{output.JSONL, []string{"a", "b"}, "\"a\"\n\"b\"\n"},
		{output.JSON, []string{"a", "b"}, "[\n  \"a\",\n  \"b\"\n]\n"},
		{output.JSON, nil, "[]\n"},
		{output.YAML, []string{"a", "true"}, "- a\n- \"true\"\n"},
		{output.YAML, nil, "[]\n"},
		{output.Table, nil, ""},
	} {
		var buf bytes.Buffer
		lw := newListWriter(&buf, tc.format)
		for _, s := range tc.items {
			if err := lw.addString(s); err != nil {
				t.Fatal(err)
			}
		}
		if err := lw.close(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("%s of %q = %q, want %q", tc.format, tc.items, buf.String(), tc.want)
		}
	}
	// Instances: JSON indented inside the array, JSON Lines compacted.
	var buf bytes.Buffer
	lw := newListWriter(&buf, output.JSON)
	if err := lw.add([]byte(`{"_id":"x","n":{"a":1}}`), ""); err != nil {
		t.Fatal(err)
	}
	lw.close()
	var back []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back) != 1 {
		t.Fatalf("JSON list %q: %v", buf.String(), err)
	}
	if !strings.Contains(buf.String(), "\n    \"n\": {\n      \"a\": 1\n    }\n") {
		t.Errorf("JSON list not indented: %q", buf.String())
	}
	buf.Reset()
	lw = newListWriter(&buf, output.JSONL)
	if err := lw.add([]byte("{ \"_id\" : \"x\",\n \"n\": 1 }"), ""); err != nil {
		t.Fatal(err)
	}
	lw.close()
	if buf.String() != "{\"_id\":\"x\",\"n\":1}\n" {
		t.Errorf("JSONL = %q", buf.String())
	}
}

func TestInstanceTable(t *testing.T) {
	td := instanceTable([][]byte{
		[]byte(`{"_id":"a","_mod":1,"name":"ann","tags":["x","y"],"bio":"line1\nline2"}`),
		[]byte(`{"_id":"b","_mod":2,"age":3,"name":"` + strings.Repeat("é", 50) + `"}`),
	})
	if got := strings.Join(td.Header, ","); got != "_ID,NAME,TAGS,BIO,AGE" {
		t.Errorf("header = %s", got)
	}
	if got := strings.Join(td.Rows[0], "|"); got != `a|ann|["x","y"]|line1\nline2|` {
		t.Errorf("row 0 = %s", got)
	}
	if name := td.Rows[1][1]; len([]rune(name)) != maxCell || !strings.HasSuffix(name, "…") {
		t.Errorf("long cell = %q", name)
	}
	if got := cell(gjson.Parse(`"`+strings.Repeat("x", 100)+`"`), 0); len(got) != 100 {
		t.Errorf("cell without a limit cut to %d", len(got))
	}
}

func TestInputErrorNamesTheLine(t *testing.T) {
	err := inputError("data.jsonl", errors.New("disk on fire"))
	if err.Error() != "read data.jsonl: disk on fire" {
		t.Errorf("inputError = %v", err)
	}
	w := &instanceWriter{name: "data.jsonl", written: 1200}
	err = w.withCount(&lineError{file: "data.jsonl", line: 1234, msg: "invalid JSON: x"})
	if exitCode(t.Context(), err) != ExitUsage || err.Error() != "data.jsonl:1234: invalid JSON: x; the 1200 instances before it were written" {
		t.Errorf("withCount = %v (exit %d)", err, exitCode(t.Context(), err))
	}
}
