package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/textileio/go-threads/core/thread"
	"github.com/tidwall/sjson"

	"github.com/hubctl/hubctl/pkg/archive"
	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/output"
	"github.com/hubctl/hubctl/pkg/pipeline"
)

// modField is go-threads' modification time, set by the server on every write: it is not
// the user's data, and an import gets new ones.
const modField = "_mod"

// importBatch bounds one Create call of an import: whichever of the count and the size
// comes first (a batch ends before an instance that would take it past the size).
const (
	importBatchDocs  = 500
	importBatchBytes = 4 << 20
)

func newDBExportCmd(f *Factory) *cobra.Command {
	var out string
	var allowFiltered bool
	cmd := &cobra.Command{
		Use:   "export DB",
		Short: "Write a database's collections and instances to one archive (JSON Lines)",
		Long: `Write a database to one self-describing archive: JSON Lines with a header (the DB's name
and the format version), each collection's configuration (schema, indexes, validators),
then every instance, and an end record counting them. Instances stream through with
bounded memory. go-threads' modification times (_mod) are left out: they are not data.

The archive goes to standard output, or to --out FILE, written to a temporary file and
renamed into place when complete (mode 0600), so a failed export leaves no partial file.
The thread key is not exported: an import makes a new database.

Every instance is exported, those a collection's read filter hides included: hubctl's
servers (the daemon, the embedded node) read around read filters for the database's
owner and for account keys. Other servers (plain go-threads) cannot: against one, a
database with a read filter is not exported unless --allow-filtered accepts an archive of
what the filters show, and the archive then says which collections are filtered.`,
		Example: `  hubctl db export demo --out demo.jsonl
  hubctl db export demo | gzip > demo.jsonl.gz`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDBExport(cmd.Context(), f, args[0], out, allowFiltered)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the archive to FILE instead of standard output")
	cmd.Flags().BoolVar(&allowFiltered, "allow-filtered", false, "against a server that cannot read around read filters, export what they show (the archive says so)")
	return cmd
}

func runDBExport(ctx context.Context, f *Factory, ref, out string, allowFiltered bool) error {
	c, err := f.Hub()
	if err != nil {
		return err
	}
	id, err := c.ResolveDB(ctx, ref)
	if err != nil {
		return err
	}
	info, err := c.GetDB(ctx, id, false)
	if err != nil {
		return err
	}
	exp, err := c.OpenExport(ctx, id)
	if err != nil {
		return err
	}
	defer exp.Close()
	if len(exp.Filtered) > 0 && !allowFiltered {
		return fmt.Errorf("the server cannot read %s, which may hide instances from the export: pass --allow-filtered to export what %s, or export through hubctl daemon or the embedded node, which read around read filters",
			aroundFilters(exp.Filtered), filtersShow(len(exp.Filtered)))
	}
	var dst io.Writer = f.IO.Out
	var file *pendingFile
	if out != "" && out != "-" {
		if file, err = createPending(out); err != nil {
			return err
		}
		defer file.abort()
		dst = file
	}
	w, err := archive.NewWriter(dst, archive.Header{Name: info.Name, DB: id.String(), Exported: time.Now(), Filtered: exp.Filtered})
	if err != nil {
		return err
	}
	for _, col := range exp.Collections {
		if err := w.Collection(col); err != nil {
			return err
		}
		err := exp.Each(ctx, col.Name, func(doc []byte) error {
			doc, err := sjson.DeleteBytes(doc, modField)
			if err != nil {
				return fmt.Errorf("instance of %s: %w", col.Name, err)
			}
			return w.Instance(col.Name, doc)
		})
		if err != nil {
			return err
		}
	}
	counts, err := w.Close()
	if err != nil {
		return err
	}
	where := "standard output"
	if file != nil {
		if err := file.commit(); err != nil {
			return err
		}
		where = out
	}
	filtered := ""
	if len(exp.Filtered) > 0 {
		filtered = ", " + throughFilters(exp.Filtered)
	}
	f.IO.Infof("Exported %s in %s of %s (%s) to %s%s.", plural(total(counts), "instance"), plural(len(counts), "collection"), id, info.Name, where, filtered)
	return nil
}

// aroundFilters names collections with their read filters: "collection notes around its
// read filter", "collections a, b around their read filters".
func aroundFilters(names []string) string {
	if len(names) == 1 {
		return "collection " + names[0] + " around its read filter"
	}
	return "collections " + strings.Join(names, ", ") + " around their read filters"
}

// throughFilters is "collection notes through its read filter", and so on.
func throughFilters(names []string) string {
	if len(names) == 1 {
		return "collection " + names[0] + " through its read filter"
	}
	return "collections " + strings.Join(names, ", ") + " through their read filters"
}

func filtersShow(n int) string {
	if n == 1 {
		return "the filter shows"
	}
	return "the filters show"
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// pendingFile is an export being written: a temporary file next to the destination,
// renamed into place only once complete.
type pendingFile struct {
	*os.File
	dest string
	done bool
}

func createPending(dest string) (*pendingFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create --out file: %w", err)
	}
	return &pendingFile{File: tmp, dest: dest}, nil // CreateTemp makes it 0600
}

func (p *pendingFile) commit() error {
	if err := p.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", p.dest, err)
	}
	if err := p.Close(); err != nil {
		return fmt.Errorf("write %s: %w", p.dest, err)
	}
	if err := os.Rename(p.Name(), p.dest); err != nil {
		return fmt.Errorf("write %s: %w", p.dest, err)
	}
	p.done = true
	return nil
}

func (p *pendingFile) abort() {
	if !p.done {
		_ = p.Close()
		_ = os.Remove(p.Name())
	}
}

type importResult struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Counts map[string]int `json:"counts"`
}

func newDBImportCmd(f *Factory) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Create a database from an export: its collections and instances, verified",
		Long: `Create a new database from an archive written by 'hubctl db export': the same collections
(schemas, indexes, validators) and instances, with the same instance IDs. Instances are
sent in batches as the file is read, with bounded memory. Afterwards the instances of each
collection are counted on the server (around read filters, on hubctl's servers) and checked
against the archive's end record. An archive exported with --allow-filtered is imported
with a warning naming its filtered collections.

Prints the new database's ID (-o json: {id, name, counts}). A malformed or truncated
archive stops the import with FILE:LINE and says what the new database holds so far.`,
		Example: `  hubctl db import demo.jsonl --name demo-restored
  gunzip -c demo.jsonl.gz | hubctl db import -`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDBImport(cmd.Context(), f, args[0], name)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the new database (default: the exported one's)")
	return cmd
}

func runDBImport(ctx context.Context, f *Factory, path, name string) error {
	p, err := f.Printer()
	if err != nil {
		return err
	}
	in, label := f.IO.In, "stdin"
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return usageErrorf("cannot read the archive: %v", err)
		}
		defer file.Close()
		in, label = file, path
	}
	r, err := archive.NewReader(in)
	if err != nil {
		return archiveErr(label, err)
	}
	if name == "" {
		name = r.Header.Name
	}
	if name != "" {
		if err := hub.ValidateName(name); err != nil {
			return err
		}
	}
	if len(r.Header.Filtered) > 0 {
		f.IO.Warnf("%s was exported with --allow-filtered, %s: instances hidden from its exporter then are not in it", label, throughFilters(r.Header.Filtered))
	}
	c, err := f.Hub()
	if err != nil {
		return err
	}
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, name); err != nil {
		return err
	}
	imp := &importer{c: c, db: id, written: map[string]int{}}
	if err := imp.run(ctx, r); err != nil {
		var le *archive.LineError
		if errors.As(err, &le) {
			err = archiveErr(label, err)
		}
		return fmt.Errorf("%w; the new database %s holds what was written before: %s (delete it with hubctl db delete %s --yes)", err, id, plural(total(imp.written), "instance"), id)
	}
	// Verify on the server, not from what was sent: every instance, around read filters,
	// where the server can; through them where it cannot, which may show fewer.
	exp, err := c.OpenExport(ctx, id)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer exp.Close()
	filtered := map[string]bool{}
	for _, col := range exp.Filtered {
		filtered[col] = true
	}
	names := make([]string, 0, len(r.Counts()))
	for col := range r.Counts() {
		names = append(names, col)
	}
	sort.Strings(names)
	counts := map[string]int{}
	var lines []string
	for _, col := range names {
		want := r.Counts()[col]
		n, err := exp.Count(ctx, col)
		if err != nil {
			return fmt.Errorf("verify %s: %w", col, err)
		}
		counts[col] = n
		switch {
		case filtered[col] && n < want:
			lines = append(lines, fmt.Sprintf("  %s: %s written, %d shown through its read filter (this server cannot count around it)", col, plural(want, "instance"), n))
		case n != want:
			return fmt.Errorf("verification failed: collection %s of the new database %s holds %s, the archive %d", col, id, plural(n, "instance"), want)
		default:
			lines = append(lines, fmt.Sprintf("  %s: %s (verified)", col, plural(n, "instance")))
		}
	}
	for _, l := range lines {
		f.IO.Infof("%s", l)
	}
	f.IO.Infof("Imported %s in %s into %s (%s).", plural(total(counts), "instance"), plural(len(counts), "collection"), id, name)
	res := importResult{ID: id.String(), Name: name, Counts: counts}
	if p.Format == output.Table {
		_, err := fmt.Fprintln(f.IO.Out, res.ID)
		return err
	}
	return p.Print(res, nil)
}

func archiveErr(label string, err error) error {
	var le *archive.LineError
	if errors.As(err, &le) {
		return withCode(ExitUsage, fmt.Errorf("%s:%d: %s", label, le.Line, le.Msg))
	}
	return err
}

// importer sends an archive's collections and instances through the write pipeline: a
// collection is created alone, before its instances, which go in batches of their
// collection.
type importer struct {
	c       *hub.Client
	db      thread.ID
	written map[string]int
}

func (imp *importer) run(ctx context.Context, r *archive.Reader) error {
	src := pipeline.SourceFunc[archive.Item](func(context.Context) (pipeline.Item[archive.Item], error) {
		item, err := r.Next()
		if err != nil {
			return pipeline.Item[archive.Item]{}, err // io.EOF at the end
		}
		if item.Collection != nil {
			return pipeline.Item[archive.Item]{Value: item, Target: item.Collection.Name, Alone: true}, nil
		}
		return pipeline.Item[archive.Item]{Value: item, Target: item.InstanceOf, Size: int64(len(item.Instance))}, nil
	})
	_, err := pipeline.Run(ctx, src, pipeline.Config[archive.Item]{
		MaxItems: importBatchDocs, MaxBytes: importBatchBytes, Send: imp.send, Sent: imp.sent,
	})
	return err // a failed call's own message, or the archive's error after what was before it
}

func (imp *importer) send(ctx context.Context, b pipeline.Batch[archive.Item]) error {
	if col := b.Items[0].Value.Collection; col != nil {
		if err := imp.c.NewCollection(ctx, imp.db, *col); err != nil {
			return fmt.Errorf("collection %s: %w", col.Name, err)
		}
		return nil
	}
	docs := make([][]byte, len(b.Items))
	for i, it := range b.Items {
		docs[i] = it.Value.Instance
	}
	if _, err := imp.c.CreateInstances(ctx, imp.db, b.Target, docs); err != nil {
		return fmt.Errorf("create instances of %s: %w", b.Target, err)
	}
	return nil
}

// sent counts the instances written per collection (a collection, once created, with none).
func (imp *importer) sent(b pipeline.Batch[archive.Item], _ pipeline.Result) error {
	if b.Items[0].Value.Collection != nil {
		imp.written[b.Target] = 0
		return nil
	}
	imp.written[b.Target] += len(b.Items)
	return nil
}
