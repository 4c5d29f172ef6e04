// Package jsonin reads the documents of instance input one at a time, with the line each
// starts on: a single JSON object, a JSON array of objects, or a stream of objects (JSON
// Lines, or objects spanning lines one after another as jq prints them).
//
// It never holds more than one document (and a read buffer) in memory, so a file of any
// size streams through it; a document larger than the reader's limit is an error rather
// than an unbounded allocation.
package jsonin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Form is the shape of the input, known once the first document has been read.
type Form int

// The forms of input.
const (
	// Unknown: nothing read yet, or the input is empty.
	Unknown Form = iota
	// Object: a single object.
	Object
	// Array: a JSON array of objects.
	Array
	// Lines: JSON Lines, one object per line (blank lines are skipped).
	Lines
	// Stream: objects one after another, spanning lines (as jq prints them).
	Stream
)

func (f Form) String() string {
	switch f {
	case Object:
		return "a JSON object"
	case Array:
		return "a JSON array"
	case Lines:
		return "JSON Lines"
	case Stream:
		return "a stream of JSON objects"
	default:
		return "empty input"
	}
}

// DefaultMaxSize bounds one document: larger ones are refused, so that a file with a
// missing closing brace cannot make the reader buffer all of it.
const DefaultMaxSize = 16 << 20

// Doc is one document of the input.
type Doc struct {
	// Data is the object as it appears in the input; the caller owns it.
	Data []byte
	// Line is the 1-based line the object starts on.
	Line int
	// End is the input offset just after the object, for progress reports.
	End int64
}

// Error is input that is not what the reader accepts, at a line.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Reader reads documents from an input.
type Reader struct {
	br      *bufio.Reader
	maxSize int

	line int   // current line, 1-based
	col  int   // bytes read on the current line
	off  int64 // bytes consumed

	form    Form
	started bool
	done    bool
	err     error  // sticky: once the input is bad, every Next says so
	pending *Doc   // the first document, read ahead to tell Object from Lines and Stream
	buf     []byte // the document being scanned, reused
}

// NewReader reads documents from r. It buffers r itself.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), maxSize: DefaultMaxSize, line: 1}
}

// SetMaxSize sets the largest document accepted, in bytes.
func (r *Reader) SetMaxSize(n int) { r.maxSize = n }

// Form is the input's form, known after the first call to Next.
func (r *Reader) Form() Form { return r.form }

// Offset is the number of input bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// Next returns the next document. At the end of the input it returns io.EOF; bad input
// is an *Error naming the line; a failure of the underlying reader is returned as is.
func (r *Reader) Next() (Doc, error) {
	if r.err != nil {
		return Doc{}, r.err
	}
	d, err := r.next()
	if err != nil {
		r.err = err
	}
	return d, err
}

func (r *Reader) next() (Doc, error) {
	if !r.started {
		r.started = true
		return r.first()
	}
	if r.pending != nil {
		d := *r.pending
		r.pending = nil
		return d, nil
	}
	if r.done {
		return Doc{}, io.EOF
	}
	switch r.form {
	case Array:
		return r.nextInArray()
	case Lines, Stream:
		c, err := r.skipSpace()
		if err == io.EOF {
			r.done = true
			return Doc{}, io.EOF
		}
		if err != nil {
			return Doc{}, err
		}
		if c != '{' {
			return Doc{}, r.errorf(r.line, "expected a JSON object, found %s", r.what())
		}
		d, err := r.scanObject()
		if err != nil {
			return Doc{}, err
		}
		if r.form == Lines {
			if err := r.restOfLine(d.Line); err != nil {
				return Doc{}, err
			}
		}
		return d, nil
	default:
		r.done = true
		return Doc{}, io.EOF
	}
}

// first reads the first document and decides the form.
func (r *Reader) first() (Doc, error) {
	if err := r.skipBOM(); err != nil {
		return Doc{}, err
	}
	c, err := r.skipSpace()
	if err == io.EOF {
		r.done = true
		return Doc{}, io.EOF
	}
	if err != nil {
		return Doc{}, err
	}
	switch c {
	case '[':
		r.form = Array
		r.readByte()
		c, err := r.skipSpace()
		if err == io.EOF {
			return Doc{}, r.errorf(r.line, "invalid JSON: the array is not closed")
		}
		if err != nil {
			return Doc{}, err
		}
		if c == ']' {
			r.readByte()
			if err := r.end("the array"); err != nil {
				return Doc{}, err
			}
			r.done = true
			return Doc{}, io.EOF
		}
		return r.element()
	case '{':
		d, err := r.scanObject()
		if err != nil {
			return Doc{}, err
		}
		oneLine := r.line == d.Line
		_, err = r.skipSpace()
		if err == io.EOF {
			r.form, r.done = Object, true
			return d, nil
		}
		if err != nil {
			return Doc{}, err
		}
		if !oneLine {
			r.form = Stream
		} else {
			r.form = Lines
			if r.line == d.Line {
				return Doc{}, r.errorf(d.Line, "invalid JSON: unexpected %s after the object (JSON Lines hold one object per line)", r.what())
			}
		}
		return d, nil
	default:
		return Doc{}, r.errorf(r.line, "expected a JSON object, an array of objects, or JSON Lines; the input starts with %s", r.what())
	}
}

// nextInArray reads the separator after the previous element, then the next element.
func (r *Reader) nextInArray() (Doc, error) {
	c, err := r.skipSpace()
	if err == io.EOF {
		return Doc{}, r.errorf(r.line, "invalid JSON: the array is not closed")
	}
	if err != nil {
		return Doc{}, err
	}
	switch c {
	case ']':
		r.readByte()
		if err := r.end("the array"); err != nil {
			return Doc{}, err
		}
		r.done = true
		return Doc{}, io.EOF
	case ',':
		r.readByte()
		c, err := r.skipSpace()
		if err == io.EOF {
			return Doc{}, r.errorf(r.line, "invalid JSON: the array is not closed")
		}
		if err != nil {
			return Doc{}, err
		}
		if c == ']' {
			return Doc{}, r.errorf(r.line, "invalid JSON: a comma before ']' (no element follows it)")
		}
		return r.element()
	default:
		return Doc{}, r.errorf(r.line, "invalid JSON: expected ',' or ']' after an array element, found %s", r.what())
	}
}

// element reads one array element, which must be an object.
func (r *Reader) element() (Doc, error) {
	c, _ := r.peek()
	if c != '{' {
		return Doc{}, r.errorf(r.line, "expected a JSON object in the array, found %s", r.what())
	}
	return r.scanObject()
}

// end checks that nothing but white space follows what ended the input.
func (r *Reader) end(what string) error {
	_, err := r.skipSpace()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	return r.errorf(r.line, "invalid JSON: unexpected %s after %s", r.what(), what)
}

// restOfLine checks that only white space follows a JSON Lines object on its line.
func (r *Reader) restOfLine(line int) error {
	for {
		c, err := r.peek()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch c {
		case '\n':
			return nil
		case ' ', '\t', '\r':
			r.readByte()
		default:
			return r.errorf(line, "invalid JSON: unexpected %s after the object (JSON Lines hold one object per line)", r.what())
		}
	}
}

// scanObject reads the object that starts at the next byte: it finds its end by counting
// brackets outside strings, then lets encoding/json check it. It scans the read buffer a
// chunk at a time rather than a byte at a time: this loop is where the input's time goes.
func (r *Reader) scanObject() (Doc, error) {
	start, startCol := r.line, r.col
	r.buf = r.buf[:0]
	depth := 0
	inString, escaped := false, false
	for done := false; !done; {
		n := r.br.Buffered()
		if n == 0 {
			n = 1 // Peek fills the buffer
		}
		chunk, err := r.br.Peek(n)
		if err == io.EOF {
			return Doc{}, r.errorf(start, "invalid JSON: the object starting on this line is not closed at the end of the input")
		}
		if err != nil {
			return Doc{}, err
		}
		i := 0
		for ; i < len(chunk) && !done; i++ {
			c := chunk[i]
			if c == '\n' {
				r.line++
				r.col = 0
				if inString {
					return Doc{}, r.errorf(r.line-1, "invalid JSON: a string is not closed at the end of the line")
				}
				if r.form == Lines {
					return Doc{}, r.errorf(start, "invalid JSON: the line ends before the object does (JSON Lines hold one object per line)")
				}
				continue
			}
			r.col++
			if inString {
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
				}
				continue
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				done = depth == 0
			}
		}
		if len(r.buf)+i > r.maxSize {
			return Doc{}, r.errorf(start, "the object is larger than %s, the most one instance may hold here", size(r.maxSize))
		}
		r.buf = append(r.buf, chunk[:i]...)
		r.off += int64(i)
		if _, err := r.br.Discard(i); err != nil {
			return Doc{}, err
		}
	}
	if !json.Valid(r.buf) {
		return Doc{}, r.syntaxError(start, startCol)
	}
	return Doc{Data: bytes.Clone(r.buf), Line: start, End: r.off}, nil
}

// syntaxError locates encoding/json's complaint about the scanned object.
func (r *Reader) syntaxError(start, startCol int) error {
	var v any
	err := json.Unmarshal(r.buf, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return r.errorf(start, "invalid JSON: %v", err)
	}
	at := int(se.Offset)
	if at > 0 {
		at-- // Offset is just after the byte at fault
	}
	before := r.buf[:at]
	line := start + bytes.Count(before, []byte{'\n'})
	col := startCol + at + 1
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		col = at - i
	}
	return r.errorf(line, "invalid JSON: %s (column %d)", se.Error(), col)
}

func (r *Reader) errorf(line int, format string, args ...any) error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (r *Reader) readByte() (byte, error) {
	c, err := r.br.ReadByte()
	if err != nil {
		return 0, err
	}
	r.off++
	if c == '\n' {
		r.line++
		r.col = 0
	} else {
		r.col++
	}
	return c, nil
}

func (r *Reader) peek() (byte, error) {
	b, err := r.br.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// skipSpace consumes JSON white space and returns the next byte without consuming it.
func (r *Reader) skipSpace() (byte, error) {
	for {
		c, err := r.peek()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			r.readByte()
		default:
			return c, nil
		}
	}
}

// skipBOM drops a UTF-8 byte order mark, which some Windows editors write.
func (r *Reader) skipBOM() error {
	b, err := r.br.Peek(3)
	if err != nil && err != io.EOF {
		return err
	}
	if bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		r.br.Discard(3)
		r.off += 3
	}
	return nil
}

// what names the value that starts at the next (unread) byte, for a message.
func (r *Reader) what() string {
	b, _ := r.br.Peek(24)
	tok := b
	if i := bytes.IndexAny(tok, " \t\r\n,:[]{}\""); i >= 0 {
		tok = tok[:i]
	}
	if len(b) == 0 {
		return "the end of the input"
	}
	switch string(tok) {
	case "true", "false":
		return "a boolean"
	case "null":
		return "null"
	}
	c := b[0]
	if (c == 't' || c == 'f' || c == 'n') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') {
		return fmt.Sprintf("%q", tok)
	}
	return describe(c)
}

// describe names a byte for a message.
func describe(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c >= 0x20 && c < 0x7f:
		return fmt.Sprintf("%q", c)
	default:
		return fmt.Sprintf("byte 0x%02x", c)
	}
}

func size(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
