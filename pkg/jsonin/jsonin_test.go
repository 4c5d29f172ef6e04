package jsonin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

type got struct {
	line int
	data string
}

// readAll reads every document; err is the error that ended the input (nil at EOF).
func readAll(t *testing.T, in string) ([]got, Form, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var docs []got
	for {
		d, err := r.Next()
		if err == io.EOF {
			return docs, r.Form(), nil
		}
		if err != nil {
			// The error is sticky.
			if _, again := r.Next(); again != err {
				t.Errorf("second Next after %v returned %v", err, again)
			}
			return docs, r.Form(), err
		}
		docs = append(docs, got{d.Line, string(d.Data)})
	}
}

func TestForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		form Form
		want []got
	}{
		{"empty", "", Unknown, nil},
		{"only space", " \n\t\r\n", Unknown, nil},
		{"object", `{"a":1}`, Object, []got{{1, `{"a":1}`}}},
		{"object with newline", "{\"a\":1}\n", Object, []got{{1, `{"a":1}`}}},
		{"pretty object", "\n\n{\n  \"a\": 1,\n  \"b\": {\"c\": [1, 2]}\n}\n", Object,
			[]got{{3, "{\n  \"a\": 1,\n  \"b\": {\"c\": [1, 2]}\n}"}}},
		{"array", `[{"a":1},{"a":2}]`, Array, []got{{1, `{"a":1}`}, {1, `{"a":2}`}}},
		{"pretty array", "[\n  {\"a\": 1},\n  {\n    \"a\": 2\n  }\n]\n", Array,
			[]got{{2, `{"a": 1}`}, {3, "{\n    \"a\": 2\n  }"}}},
		{"empty array", " [ ] \n", Array, nil},
		{"lines", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}", Lines, []got{{1, `{"a":1}`}, {2, `{"a":2}`}, {3, `{"a":3}`}}},
		{"lines with blank lines", "\n{\"a\":1}\n\n   \n{\"a\":2}\n\n", Lines, []got{{2, `{"a":1}`}, {5, `{"a":2}`}}},
		{"lines with CRLF", "{\"a\":1}\r\n{\"a\":2}\r\n\r\n{\"a\":3}\r\n", Lines, []got{{1, `{"a":1}`}, {2, `{"a":2}`}, {4, `{"a":3}`}}},
		{"lines with trailing space", "{\"a\":1}  \t\n{\"a\":2} ", Lines, []got{{1, `{"a":1}`}, {2, `{"a":2}`}}},
		{"stream as jq prints it", "{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n", Stream, []got{{1, "{\n  \"a\": 1\n}"}, {4, "{\n  \"a\": 2\n}"}}},
		{"strings with brackets and escapes", `{"a":"}{][\"\\","b":"\u007d"}` + "\n" + `{"c":"\\"}`, Lines,
			[]got{{1, `{"a":"}{][\"\\","b":"\u007d"}`}, {2, `{"c":"\\"}`}}},
		{"byte order mark", "\xEF\xBB\xBF{\"a\":1}\n{\"a\":2}\n", Lines, []got{{1, `{"a":1}`}, {2, `{"a":2}`}}},
		{"unicode", "{\"name\":\"héllo 世界\"}\n", Object, []got{{1, `{"name":"héllo 世界"}`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, form, err := readAll(t, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if form != tc.form {
				t.Errorf("form = %v, want %v", form, tc.form)
			}
			if fmt.Sprint(docs) != fmt.Sprint(tc.want) {
				t.Errorf("docs = %v, want %v", docs, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		n     int // documents read before the error
		line  int
		match string
	}{
		{"bad line in JSON Lines", "{\"a\":1}\n{\"a\":2}\n{\"a\":}\n{\"a\":4}\n", 2, 3, `invalid JSON: invalid character '}' looking for beginning of value (column 6)`},
		{"unclosed object in JSON Lines", "{\"a\":1}\n{\"a\":2\n{\"a\":3}\n", 1, 2, "the line ends before the object does"},
		{"unclosed string in JSON Lines", "{\"a\":1}\n{\"a\":\"x}\n{\"a\":3}\n", 1, 2, "a string is not closed at the end of the line"},
		{"two objects on a line", "{\"a\":1}\n{\"a\":2} {\"a\":3}\n", 1, 2, `unexpected '{' after the object`},
		{"two objects on the first line", "{\"a\":1} {\"a\":2}\n", 0, 1, `unexpected '{' after the object`},
		{"comma after a line", "{\"a\":1},\n{\"a\":2}\n", 0, 1, `unexpected ',' after the object`},
		{"a line that is not an object", "{\"a\":1}\n[1]\n", 1, 2, "expected a JSON object, found an array"},
		{"a number line", "{\"a\":1}\n\n42\n", 1, 3, "expected a JSON object, found a number"},
		{"input of a string", `"hello"`, 0, 1, "expected a JSON object, an array of objects, or JSON Lines; the input starts with a string"},
		{"input of garbage", "\n\nhello", 0, 3, `the input starts with "hello"`},
		{"CSV", "name,age\nann,31\n", 0, 1, `the input starts with "name"`},
		{"a null line", "{\"a\":1}\nnull\n", 1, 2, "expected a JSON object, found null"},
		{"a true line", "{\"a\":1}\ntrue\n", 1, 2, "expected a JSON object, found a boolean"},
		{"a word line", "{\"a\":1}\nnope\n", 1, 2, `expected a JSON object, found "nope"`},
		{"control byte", "\x01", 0, 1, "the input starts with byte 0x01"},
		{"array of numbers", "[{\"a\":1}, 2]", 1, 1, "expected a JSON object in the array, found a number"},
		{"unclosed array", "[{\"a\":1},\n{\"a\":2}\n", 2, 3, "the array is not closed"},
		{"trailing comma", "[{\"a\":1},\n]", 1, 2, "a comma before ']'"},
		{"missing comma", "[{\"a\":1}\n{\"a\":2}]", 1, 2, "expected ',' or ']' after an array element, found '{'"},
		{"data after the array", "[{\"a\":1}]\n{\"a\":2}", 1, 2, `unexpected '{' after the array`},
		{"bad element on line 3", "[\n{\"a\":1},\n{\"a\" 2}\n]", 1, 3, `invalid character '2' after object key (column 6)`},
		{"unclosed object at the end", "{\n\"a\": 1\n", 0, 1, "not closed at the end of the input"},
		{"bad value deep in a pretty object", "{\n  \"a\": 1,\n  \"b\": tru\n}", 0, 3, "invalid JSON: invalid character '\\n' in literal true (expecting 'e') (column 11)"},
		{"mismatched brackets", `{"a":[1,2}]`, 0, 1, "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, _, err := readAll(t, tc.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if len(docs) != tc.n {
				t.Errorf("read %d documents before the error, want %d", len(docs), tc.n)
			}
			if e.Line != tc.line {
				t.Errorf("line = %d, want %d (%v)", e.Line, tc.line, e)
			}
			if !strings.Contains(e.Msg, tc.match) {
				t.Errorf("message %q does not contain %q", e.Msg, tc.match)
			}
			if !strings.HasPrefix(e.Error(), fmt.Sprintf("line %d: ", e.Line)) {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

// A line far longer than the read buffer is read whole.
func TestHugeLine(t *testing.T) {
	big := strings.Repeat("x", 5<<20)
	in := "{\"a\":1}\n{\"big\":\"" + big + "\"}\n{\"a\":3}\n"
	docs, form, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if form != Lines || len(docs) != 3 || docs[1].line != 2 || len(docs[1].data) != len(big)+10 || docs[2].line != 3 {
		t.Fatalf("form %v, %d docs", form, len(docs))
	}
}

func TestMaxSize(t *testing.T) {
	r := NewReader(strings.NewReader("{\"a\":1}\n{\"a\":\"" + strings.Repeat("x", 100) + "\"}\n"))
	r.SetMaxSize(50)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Next()
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || !strings.Contains(e.Msg, "larger than 50 bytes") {
		t.Fatalf("err = %v", err)
	}
	// An unclosed object stops at the limit, not at the end of the input.
	r = NewReader(io.MultiReader(strings.NewReader("{\n\"a\": ["), &generator{n: 1 << 30, line: []byte("1,\n")}))
	r.SetMaxSize(1 << 20)
	_, err = r.Next()
	if !errors.As(err, &e) || e.Line != 1 || !strings.Contains(e.Msg, "larger than 1 MiB") {
		t.Fatalf("err = %v", err)
	}
	if r.Offset() > 2<<20 {
		t.Errorf("read %d bytes to refuse a 1 MiB document", r.Offset())
	}
}

func TestOffsets(t *testing.T) {
	in := "{\"a\":1}\n{\"a\":22}\n"
	r := NewReader(strings.NewReader(in))
	for _, want := range []int64{7, 16} {
		d, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if d.End != want {
			t.Errorf("End = %d, want %d", d.End, want)
		}
	}
}

// The caller owns each document: reading the next one does not change it.
func TestDocsAreOwned(t *testing.T) {
	r := NewReader(strings.NewReader("{\"a\":1}\n{\"b\":2}\n"))
	d1, _ := r.Next()
	d2, _ := r.Next()
	if string(d1.Data) != `{"a":1}` || string(d2.Data) != `{"b":2}` {
		t.Fatalf("%s %s", d1.Data, d2.Data)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestReadErrorPassesThrough(t *testing.T) {
	boom := errors.New("disk on fire")
	r := NewReader(io.MultiReader(strings.NewReader("{\"a\":1}\n{\"a\":"), failingReader{boom}))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the read error", err)
	}
}

// generator yields n bytes of a repeated line without holding them.
type generator struct {
	n    int64
	line []byte
	pos  int
}

func (g *generator) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	w := 0
	for w < len(p) && g.n > 0 {
		c := copy(p[w:], g.line[g.pos:])
		if int64(c) > g.n {
			c = int(g.n)
		}
		w += c
		g.n -= int64(c)
		g.pos = (g.pos + c) % len(g.line)
	}
	return w, nil
}

// Reading 256 MiB of JSON Lines keeps the heap flat: memory is bounded by one document.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 256 MiB")
	}
	line := []byte(`{"name":"someone","n":12345,"tags":["a","b","c"],"note":"` + strings.Repeat("z", 120) + `"}` + "\n")
	total := int64(256 << 20)
	total -= total % int64(len(line))
	r := NewReader(&generator{n: total, line: line})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak uint64
	count := 0
	for {
		d, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Data, line[:len(line)-1]) {
			t.Fatalf("doc %d = %q", count, d.Data)
		}
		count++
		if count%100000 == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak {
				peak = m.HeapInuse
			}
		}
	}
	if want := int(total / int64(len(line))); count != want {
		t.Fatalf("read %d documents, want %d", count, want)
	}
	if r.Offset() != total {
		t.Errorf("Offset = %d, want %d", r.Offset(), total)
	}
	if grown := int64(peak) - int64(before.HeapInuse); grown > 16<<20 {
		t.Errorf("heap grew by %d MiB while reading %d MiB", grown>>20, total>>20)
	}
}

func BenchmarkLines(b *testing.B) {
	line := []byte(`{"name":"someone","n":12345,"tags":["a","b","c"],"note":"` + strings.Repeat("z", 120) + `"}` + "\n")
	data := bytes.Repeat(line, 10000)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}
