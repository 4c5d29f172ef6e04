package archive

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hubctl/hubctl/pkg/hub"
)

// roundTrip writes an archive with header h and one collection of one instance, and
// reads it back.
func roundTrip(t *testing.T, h Header) (*Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Collection(hub.Collection{Name: "notes", Schema: []byte(`{"type":"object"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Instance("notes", []byte(`{"_id":"a"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	r, err := NewReader(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return r, text
}

// A filtered export says so in its header, which a reader returns; a complete one has no
// filtered field at all.
func TestHeaderFiltered(t *testing.T) {
	now := time.Now()
	r, text := roundTrip(t, Header{Name: "demo", DB: "bafk", Exported: now, Filtered: []string{"notes"}})
	header, _, _ := strings.Cut(text, "\n")
	if !strings.Contains(header, `"filtered":["notes"]`) {
		t.Fatalf("header %s", header)
	}
	if strings.Join(r.Header.Filtered, ",") != "notes" || r.Header.Name != "demo" {
		t.Fatalf("read header %+v", r.Header)
	}
	r, text = roundTrip(t, Header{Name: "demo", Exported: now})
	if strings.Contains(text, "filtered") || r.Header.Filtered != nil {
		t.Fatalf("a complete export: %s, %+v", text, r.Header)
	}
}
