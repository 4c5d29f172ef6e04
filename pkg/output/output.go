// Package output renders command results as a table, JSON, JSON Lines or YAML.
//
// JSON is the stable, documented form (lower camel case field names). YAML is produced from
// that same JSON so the two never disagree on names or order. JSON Lines is the same JSON,
// compact, one line per element of a list (a single value is one line). Tables are for
// people.
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// Formats.
const (
	Table = "table"
	JSON  = "json"
	YAML  = "yaml"
	JSONL = "jsonl"
)

// TableData is the human-readable form of a result.
type TableData struct {
	Header []string
	Rows   [][]string
}

// Printer writes results to w in one format.
type Printer struct {
	W      io.Writer
	Format string
	// Bold styles table headers; nil leaves them plain.
	Bold func(string) string
}

// Print writes data (a value with JSON tags) in the printer's format; table builds the
// table form and is only called for the table format.
func (p *Printer) Print(data any, table func() TableData) error {
	switch p.Format {
	case JSON:
		return WriteJSON(p.W, data)
	case YAML:
		return WriteYAML(p.W, data)
	case JSONL:
		return WriteJSONL(p.W, data)
	default:
		return p.WriteTable(table())
	}
}

// WriteJSON writes v as indented JSON followed by a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	return nil
}

// WriteJSONL writes v as JSON Lines: each element of a slice or array as compact JSON on
// a line of its own (an empty list writes nothing), and any other value as one line.
func WriteJSONL(w io.Writer, v any) error {
	rv := reflect.ValueOf(v)
	_, raw := v.(json.RawMessage)
	list := rv.IsValid() && (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) && !raw &&
		rv.Type().Elem().Kind() != reflect.Uint8 // []byte marshals as one base64 string
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if !list {
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
		_, err := w.Write(buf.Bytes())
		return err
	}
	for i := 0; i < rv.Len(); i++ {
		if err := enc.Encode(rv.Index(i).Interface()); err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
		// Flush every 64 KiB: a long list streams instead of piling up.
		if buf.Len() >= 64<<10 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return err
			}
			buf.Reset()
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteYAML writes v as YAML, with the field names and order of its JSON form.
func WriteYAML(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode YAML: %w", err)
	}
	// JSON is YAML: parsing it into a node keeps the JSON field order.
	var node yaml.Node
	if err := yaml.Unmarshal(raw, &node); err != nil {
		return fmt.Errorf("encode YAML: %w", err)
	}
	plainStyle(&node)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&node); err != nil {
		return fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode YAML: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// plainStyle drops the JSON flow and quoting styles so the encoder writes idiomatic YAML;
// it still quotes strings that would otherwise read as another type.
func plainStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plainStyle(c)
	}
}

// WriteTable writes aligned columns; an empty table prints nothing.
func (p *Printer) WriteTable(t TableData) error {
	if len(t.Rows) == 0 {
		return nil
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	if len(t.Header) > 0 {
		fmt.Fprintln(tw, strings.Join(t.Header, "\t"))
	}
	for _, row := range t.Rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	out := buf.String()
	if len(t.Header) > 0 && p.Bold != nil {
		// Style the aligned header line as a whole: escape codes inside cells would be
		// counted as width and skew the columns.
		header, rest, _ := strings.Cut(out, "\n")
		out = p.Bold(header) + "\n" + rest
	}
	_, err := io.WriteString(p.W, out)
	return err
}
