// Package archive reads and writes hubctl's database export format: JSON Lines, one
// self-describing record per line, so an export streams in and out with bounded memory
// and a truncated file is detected.
//
//	{"type":"header","format":"hubctl-db-export","version":1,"name":"demo","db":"bafk...","exported":"..."}
//	{"type":"collection","collection":{"name":"notes","schema":{...},"indexes":[...]}}
//	{"type":"instance","collection":"notes","instance":{"_id":"...",...}}
//	...
//	{"type":"end","counts":{"notes":10000}}
//
// Every collection record comes before its instances; the end record counts the instances
// of each collection, and a reader checks the counts. A header with "filtered" names the
// collections whose instances were read through their read filter (the server could not
// read around it, and the user accepted that): instances it hid are not in the archive.
package archive

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/instanceid"
)

// Format and Version identify the format in the header.
const (
	Format  = "hubctl-db-export"
	Version = 1
)

// maxLine bounds one record: an instance may be as large as a gRPC message.
const maxLine = 64 << 20

// Header describes the exported database.
type Header struct {
	Format   string    `json:"format"`
	Version  int       `json:"version"`
	Name     string    `json:"name"`
	DB       string    `json:"db"`
	Exported time.Time `json:"exported"`
	// Filtered names the collections exported through their read filter: the archive
	// may lack instances the filter hid from the exporting user.
	Filtered []string `json:"filtered,omitempty"`
}

// record is one line.
type record struct {
	Type       string          `json:"type"`
	Format     string          `json:"format,omitempty"`
	Version    int             `json:"version,omitempty"`
	Name       string          `json:"name,omitempty"`
	DB         string          `json:"db,omitempty"`
	Exported   *time.Time      `json:"exported,omitempty"`
	Filtered   []string        `json:"filtered,omitempty"`
	Collection json.RawMessage `json:"collection,omitempty"`
	Instance   json.RawMessage `json:"instance,omitempty"`
	Counts     map[string]int  `json:"counts,omitempty"`
}

// Writer writes an archive.
type Writer struct {
	w      *bufio.Writer
	counts map[string]int
}

// NewWriter starts an archive with its header.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	aw := &Writer{w: bufio.NewWriterSize(w, 1<<16), counts: map[string]int{}}
	exported := h.Exported.UTC()
	return aw, aw.write(record{Type: "header", Format: Format, Version: Version, Name: h.Name, DB: h.DB, Exported: &exported, Filtered: h.Filtered})
}

// Collection writes a collection's configuration; its instances follow.
func (w *Writer) Collection(c hub.Collection) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	w.counts[c.Name] = 0
	return w.write(record{Type: "collection", Collection: raw})
}

// Instance writes one instance of a collection written before.
func (w *Writer) Instance(collection string, doc []byte) error {
	if _, ok := w.counts[collection]; !ok {
		return fmt.Errorf("instance of collection %q before its configuration", collection)
	}
	w.counts[collection]++
	colName, _ := json.Marshal(collection)
	return w.write(record{Type: "instance", Collection: colName, Instance: doc})
}

// Close writes the end record with the counts and flushes.
func (w *Writer) Close() (map[string]int, error) {
	if err := w.write(record{Type: "end", Counts: w.counts}); err != nil {
		return nil, err
	}
	return w.counts, w.w.Flush()
}

func (w *Writer) write(r record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := w.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

// ErrInvalid is a file that is not a well-formed archive.
var ErrInvalid = errors.New("invalid archive")

// LineError says where an archive is malformed.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string        { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }
func (e *LineError) Is(target error) bool { return target == ErrInvalid }

// Item is a collection or an instance read from an archive.
type Item struct {
	// Collection is set for a collection record.
	Collection *hub.Collection
	// InstanceOf and Instance are set for an instance record.
	InstanceOf string
	Instance   []byte
	Line       int
}

// Reader reads an archive, checking its structure as it goes.
type Reader struct {
	s      *bufio.Scanner
	line   int
	Header Header
	seen   map[string]int
	done   bool
}

// NewReader reads the header.
func NewReader(r io.Reader) (*Reader, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 1<<16), maxLine)
	ar := &Reader{s: s, seen: map[string]int{}}
	rec, err := ar.next()
	if err == io.EOF {
		return nil, &LineError{Line: 1, Msg: "empty file: not a hubctl export"}
	}
	if err != nil {
		return nil, err
	}
	if rec.Type != "header" || rec.Format != Format {
		return nil, &LineError{Line: 1, Msg: "not a hubctl export (no " + Format + " header)"}
	}
	if rec.Version != Version {
		return nil, &LineError{Line: 1, Msg: fmt.Sprintf("export format version %d: this hubctl reads version %d", rec.Version, Version)}
	}
	ar.Header = Header{Format: rec.Format, Version: rec.Version, Name: rec.Name, DB: rec.DB, Filtered: rec.Filtered}
	if rec.Exported != nil {
		ar.Header.Exported = *rec.Exported
	}
	return ar, nil
}

// Next returns the next collection or instance, io.EOF after a complete archive whose
// counts match, or an error saying what is wrong and where.
func (r *Reader) Next() (Item, error) {
	if r.done {
		return Item{}, io.EOF
	}
	rec, err := r.next()
	if err == io.EOF {
		return Item{}, &LineError{Line: r.line + 1, Msg: "the file ends without its end record: it is truncated"}
	}
	if err != nil {
		return Item{}, err
	}
	switch rec.Type {
	case "collection":
		var c hub.Collection
		if err := json.Unmarshal(rec.Collection, &c); err != nil || c.Name == "" {
			return Item{}, &LineError{Line: r.line, Msg: "bad collection record"}
		}
		if _, dup := r.seen[c.Name]; dup {
			return Item{}, &LineError{Line: r.line, Msg: fmt.Sprintf("collection %q appears twice", c.Name)}
		}
		r.seen[c.Name] = 0
		return Item{Collection: &c, Line: r.line}, nil
	case "instance":
		var name string
		if err := json.Unmarshal(rec.Collection, &name); err != nil {
			return Item{}, &LineError{Line: r.line, Msg: "bad instance record"}
		}
		if _, ok := r.seen[name]; !ok {
			return Item{}, &LineError{Line: r.line, Msg: fmt.Sprintf("instance of collection %q before its configuration", name)}
		}
		if len(rec.Instance) == 0 || rec.Instance[0] != '{' {
			return Item{}, &LineError{Line: r.line, Msg: "an instance must be a JSON object"}
		}
		if err := instanceid.CheckNew(rec.Instance); err != nil {
			return Item{}, &LineError{Line: r.line, Msg: fmt.Sprintf("%v: %s", err, instanceid.Rule)}
		}
		r.seen[name]++
		return Item{InstanceOf: name, Instance: rec.Instance, Line: r.line}, nil
	case "end":
		for name, n := range rec.Counts {
			if r.seen[name] != n {
				return Item{}, &LineError{Line: r.line, Msg: fmt.Sprintf("collection %q: the end record counts %d instances, the file holds %d", name, n, r.seen[name])}
			}
		}
		if len(rec.Counts) != len(r.seen) {
			return Item{}, &LineError{Line: r.line, Msg: "the end record does not count every collection"}
		}
		if r.s.Scan() {
			return Item{}, &LineError{Line: r.line + 1, Msg: "data after the end record"}
		}
		r.done = true
		return Item{}, io.EOF
	}
	return Item{}, &LineError{Line: r.line, Msg: fmt.Sprintf("unknown record type %q", rec.Type)}
}

// Counts are the instances read so far, per collection.
func (r *Reader) Counts() map[string]int { return r.seen }

func (r *Reader) next() (record, error) {
	for r.s.Scan() {
		r.line++
		if len(r.s.Bytes()) == 0 {
			continue
		}
		var rec record
		if err := json.Unmarshal(r.s.Bytes(), &rec); err != nil {
			return record{}, &LineError{Line: r.line, Msg: "invalid JSON: " + err.Error()}
		}
		return rec, nil
	}
	if err := r.s.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return record{}, &LineError{Line: r.line + 1, Msg: fmt.Sprintf("a record longer than %d MiB", maxLine>>20)}
		}
		return record{}, fmt.Errorf("read archive: %w", err)
	}
	return record{}, io.EOF
}
