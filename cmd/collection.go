package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/output"
	"github.com/hubctl/hubctl/pkg/schema"
)

// maxConfigFile bounds what a schema, sample or validator file may hold: they travel in
// one gRPC message, and a mistaken --schema /dev/zero must not eat the memory.
const maxConfigFile = 16 << 20

func newCollectionCmd(f *Factory) *cobra.Command {
	return group(&cobra.Command{
		Use:     "collection",
		Aliases: []string{"col", "collections"},
		Short:   "Create, list, show, update and delete collections (schemas, indexes, validators)",
		Long: `A collection holds a database's instances of one kind: a JSON Schema they must match,
indexes on their properties, and optional JavaScript run on writes and reads.

Schemas are checked before any call, as ThreadDB (go-threads v1.1.5) will read them: JSON
errors are reported as FILE:LINE:COL; the root must describe objects and declare
"_id": {"type": "string"} (the instance ID); go-threads reads schemas as JSON Schema
draft-04 (one type name in "type", integer "minimum"/"maximum", boolean
"exclusiveMinimum"/"exclusiveMaximum"), and keywords it has no place for (such as
"const", or a "minimum" of 0) are dropped with a warning. 'collection show' prints the
schema as stored.

--write-validator FILE holds the body of function _validate(writer, event, instance),
run before each write: return true to accept it. --read-filter FILE holds the body of
function _filter(reader, instance), run on each read: return the instance (changed or
not), or null to hide it. ThreadDB's engine is ES5.1: var, not let or const. Bodies are
compiled before any call, with errors at FILE:LINE:COL.

A database is named by its thread ID, or by its name where that is unique. A database or
collection that does not exist is exit 3; a bad file or flag is exit 2.`,
	}, newCollectionCreateCmd(f), newCollectionListCmd(f), newCollectionShowCmd(f),
		newCollectionUpdateCmd(f), newCollectionDeleteCmd(f), newCollectionIndexesCmd(f))
}

// collectionFlags are the configuration flags create and update share.
type collectionFlags struct {
	schema         string
	sample         string
	indexes        []string
	writeValidator string
	readFilter     string
	// update only: empty what is there
	noIndexes        bool
	noWriteValidator bool
	noReadFilter     bool
}

func (cf *collectionFlags) register(cmd *cobra.Command, update bool) {
	fl := cmd.Flags()
	fl.StringVar(&cf.schema, "schema", "", "JSON Schema file for the instances (- reads standard input)")
	fl.StringVar(&cf.sample, "from-sample", "", "infer the schema from a sample instance (a JSON object, or an array of them; - reads standard input)")
	fl.StringArrayVar(&cf.indexes, "index", nil, "index on a property PATH (dotted for nested ones), PATH:unique for a unique one; repeatable")
	fl.StringVar(&cf.writeValidator, "write-validator", "", "JavaScript file: body of _validate(writer, event, instance), run before each write; return true to accept")
	fl.StringVar(&cf.readFilter, "read-filter", "", "JavaScript file: body of _filter(reader, instance), run on each read; return the instance, or null to hide it")
	if update {
		fl.BoolVar(&cf.noIndexes, "no-indexes", false, "drop every index (the one on _id stays)")
		fl.BoolVar(&cf.noWriteValidator, "no-write-validator", false, "remove the write validator")
		fl.BoolVar(&cf.noReadFilter, "no-read-filter", false, "remove the read filter")
	}
}

// collectionInput is what the flags gave, read and checked: nil fields were not given.
type collectionInput struct {
	schema         json.RawMessage
	indexes        []hub.Index
	indexesSet     bool
	writeValidator *string
	readFilter     *string
}

// loadCollectionInput reads and checks every file the flags name, before any call.
func (f *Factory) loadCollectionInput(cf *collectionFlags, update bool) (*collectionInput, error) {
	in := &collectionInput{}
	switch {
	case cf.schema != "" && cf.sample != "":
		return nil, usageErrorf("give --schema or --from-sample, not both")
	case !update && cf.schema == "" && cf.sample == "":
		return nil, usageErrorf("a collection needs a schema: --schema FILE (a JSON Schema) or --from-sample FILE (an instance to infer one from)")
	case cf.noIndexes && len(cf.indexes) > 0:
		return nil, usageErrorf("give --index or --no-indexes, not both")
	case cf.noWriteValidator && cf.writeValidator != "":
		return nil, usageErrorf("give --write-validator or --no-write-validator, not both")
	case cf.noReadFilter && cf.readFilter != "":
		return nil, usageErrorf("give --read-filter or --no-read-filter, not both")
	}
	stdin := 0
	for _, name := range []string{cf.schema, cf.sample, cf.writeValidator, cf.readFilter} {
		if name == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return nil, usageErrorf("only one of --schema, --from-sample, --write-validator and --read-filter can read standard input (-)")
	}

	if cf.schema != "" {
		data, err := f.readConfigFile("--schema", cf.schema, "the schema")
		if err != nil {
			return nil, err
		}
		checked, err := schema.Check(cf.schema, data)
		if err != nil {
			return nil, withCode(ExitUsage, err)
		}
		if len(checked.Dropped) > 0 {
			f.IO.Warnf("%s: ThreadDB does not keep %s, so instances will not be checked against %s",
				schema.DisplayName(cf.schema), strings.Join(checked.Dropped, ", "), map[bool]string{true: "it", false: "them"}[len(checked.Dropped) == 1])
		}
		in.schema = checked.Schema
	}
	if cf.sample != "" {
		data, err := f.readConfigFile("--from-sample", cf.sample, "the sample")
		if err != nil {
			return nil, err
		}
		inferred, err := schema.Infer(cf.sample, data)
		if err != nil {
			return nil, withCode(ExitUsage, err)
		}
		in.schema = inferred
	}

	if len(cf.indexes) > 0 || cf.noIndexes {
		in.indexesSet = true
		in.indexes = []hub.Index{}
		seen := map[string]bool{}
		for _, spec := range cf.indexes {
			ix, err := parseIndexFlag(spec)
			if err != nil {
				return nil, err
			}
			if seen[ix.Path] {
				return nil, usageErrorf("--index %s is given twice", ix.Path)
			}
			seen[ix.Path] = true
			in.indexes = append(in.indexes, ix)
		}
	}

	var err error
	if in.writeValidator, err = f.loadFunction("--write-validator", cf.writeValidator, cf.noWriteValidator, schema.WriteValidator); err != nil {
		return nil, err
	}
	if in.readFilter, err = f.loadFunction("--read-filter", cf.readFilter, cf.noReadFilter, schema.ReadFilter); err != nil {
		return nil, err
	}
	if update && in.schema == nil && !in.indexesSet && in.writeValidator == nil && in.readFilter == nil {
		return nil, usageErrorf("nothing to update: give --schema, --from-sample, --index, --no-indexes, --write-validator, --read-filter, --no-write-validator or --no-read-filter")
	}
	return in, nil
}

// loadFunction reads and compiles a validator body; "" with remove set means "remove it".
func (f *Factory) loadFunction(flag, file string, remove bool, fn schema.Function) (*string, error) {
	if remove {
		empty := ""
		return &empty, nil
	}
	if file == "" {
		return nil, nil
	}
	data, err := f.readConfigFile(flag, file, "the "+fn.What)
	if err != nil {
		return nil, err
	}
	warnings, err := schema.CheckFunction(file, fn, data)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	for _, w := range warnings {
		f.IO.Warnf("%s", w)
	}
	body := string(data)
	return &body, nil
}

// readConfigFile reads a file a flag names, or standard input for "-".
func (f *Factory) readConfigFile(flag, name, what string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		if f.IO.IsStdinTTY() {
			f.IO.Infof("Reading %s from standard input; end with Ctrl-D.", what)
		}
		r = f.IO.In
	} else {
		file, err := os.Open(name)
		if err != nil {
			return nil, usageErrorf("%s: %v", flag, err)
		}
		defer file.Close()
		r = file
	}
	data, err := io.ReadAll(io.LimitReader(r, maxConfigFile+1))
	if err != nil {
		return nil, usageErrorf("%s: read %s: %v", flag, schema.DisplayName(name), err)
	}
	if len(data) > maxConfigFile {
		return nil, usageErrorf("%s: %s is larger than %d MiB", flag, schema.DisplayName(name), maxConfigFile>>20)
	}
	return data, nil
}

// parseIndexFlag parses PATH or PATH:unique.
func parseIndexFlag(spec string) (hub.Index, error) {
	path, opt, hasOpt := strings.Cut(strings.TrimSpace(spec), ":")
	ix := hub.Index{Path: path}
	if hasOpt {
		if opt != "unique" {
			return hub.Index{}, usageErrorf("invalid --index %q: use PATH or PATH:unique", spec)
		}
		ix.Unique = true
	}
	if path == "" {
		return hub.Index{}, usageErrorf("invalid --index %q: use PATH or PATH:unique", spec)
	}
	if path == schema.IDField {
		return hub.Index{}, usageErrorf("--index _id: _id is always indexed (unique) by ThreadDB")
	}
	return ix, nil
}

// checkIndexes checks every index path against the schema the collection will have.
// kept says the indexes come from the current configuration, not the command line.
func checkIndexes(schemaJSON json.RawMessage, indexes []hub.Index, kept bool) error {
	for _, ix := range indexes {
		if err := schema.CheckIndex(schemaJSON, ix.Path); err != nil {
			if kept {
				return usageErrorf("the collection's index on %s does not fit the new schema: %v; give the indexes to keep with --index, or --no-indexes", ix.Path, err)
			}
			return withCode(ExitUsage, err)
		}
	}
	return nil
}

// dbRef is a resolved database reference, with how to name it in messages.
type dbRef struct {
	id    thread.ID
	label string
}

// hubDB returns the client and the database ref names, resolved: the start of every
// collection command.
func (f *Factory) hubDB(cmd *cobra.Command, ref string) (*hub.Client, dbRef, error) {
	c, err := f.Hub()
	if err != nil {
		return nil, dbRef{}, err
	}
	id, err := c.ResolveDB(cmd.Context(), ref)
	if err != nil {
		return nil, dbRef{}, err
	}
	name := strings.TrimSpace(ref)
	if name == id.String() {
		name = ""
	}
	return c, dbRef{id: id, label: describeDB(id, name)}, nil
}

type collectionCreateOptions struct {
	flags collectionFlags
}

func newCollectionCreateCmd(f *Factory) *cobra.Command {
	opts := &collectionCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create DB NAME (--schema FILE | --from-sample FILE)",
		Short: "Create a collection from a JSON Schema or a sample instance",
		Example: `  hubctl collection create demo people --schema person.json --index name:unique --index age
  hubctl collection create demo people --from-sample ada.json
  curl -s https://example.com/person.schema.json | hubctl collection create demo people --schema -`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCollectionCreate(cmd, f, opts, args[0], args[1])
		},
	}
	opts.flags.register(cmd, false)
	return cmd
}

func runCollectionCreate(cmd *cobra.Command, f *Factory, opts *collectionCreateOptions, dbArg, name string) error {
	// Everything local first: a bad name, file or index is refused before any call.
	if err := hub.ValidateName(name); err != nil {
		return err
	}
	in, err := f.loadCollectionInput(&opts.flags, false)
	if err != nil {
		return err
	}
	if err := checkIndexes(in.schema, in.indexes, false); err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	col := hub.Collection{Name: name, Schema: in.schema, Indexes: in.indexes}
	if col.Indexes == nil {
		col.Indexes = []hub.Index{}
	}
	if in.writeValidator != nil {
		col.WriteValidator = *in.writeValidator
	}
	if in.readFilter != nil {
		col.ReadFilter = *in.readFilter
	}

	c, db, err := f.hubDB(cmd, dbArg)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if err := c.NewCollection(ctx, db.id, col); err != nil {
		return err
	}
	if opts.flags.sample != "" {
		f.IO.Infof("Inferred the schema from %s: properties %s.", schema.DisplayName(opts.flags.sample), strings.Join(schema.Properties(col.Schema), ", "))
	}
	f.IO.Infof("Created collection %s in database %s.", name, db.label)
	if p.Format == output.Table {
		return nil
	}
	created, err := c.GetCollection(ctx, db.id, name)
	if err != nil {
		return err
	}
	return p.Print(created, nil)
}

func newCollectionListCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list DB",
		Aliases: []string{"ls"},
		Short:   "List a database's collections",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, db, err := f.hubDB(cmd, args[0])
			if err != nil {
				return err
			}
			cols, err := c.ListCollections(cmd.Context(), db.id)
			if err != nil {
				return err
			}
			if len(cols) == 0 && p.Format == output.Table {
				f.IO.Infof("No collections in database %s; create one with: hubctl collection create %s NAME --schema FILE", db.label, args[0])
				return nil
			}
			return p.Print(cols, func() output.TableData {
				t := output.TableData{Header: []string{"NAME", "PROPERTIES", "INDEXES", "WRITE VALIDATOR", "READ FILTER"}}
				for _, col := range cols {
					t.Rows = append(t.Rows, []string{col.Name, fmt.Sprint(len(schema.Properties(col.Schema))),
						fmt.Sprint(len(col.Indexes)), yesNo(col.WriteValidator != ""), yesNo(col.ReadFilter != "")})
				}
				return t
			})
		},
	}
}

func newCollectionShowCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "show DB NAME",
		Aliases: []string{"info"},
		Short:   "Show a collection's schema (as stored), indexes and validators",
		Example: `  hubctl collection show demo people
  hubctl collection show demo people -o json | jq .schema > person.json`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := hub.ValidateName(args[1]); err != nil {
				return err
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, db, err := f.hubDB(cmd, args[0])
			if err != nil {
				return err
			}
			col, err := c.GetCollection(cmd.Context(), db.id, args[1])
			if err != nil {
				return err
			}
			if p.Format != output.Table {
				return p.Print(col, nil)
			}
			return writeCollection(f.IO.Out, p, db, col)
		},
	}
}

// writeCollection is show's table form: fields, then the schema and validators as blocks.
func writeCollection(w io.Writer, p *output.Printer, db dbRef, col hub.Collection) error {
	none := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return "below"
	}
	if err := p.WriteTable(output.TableData{Rows: [][]string{
		{"Name:", col.Name},
		{"Database:", db.label},
		{"Properties:", strings.Join(schema.Properties(col.Schema), ", ")},
		{"Indexes:", formatIndexes(col.Indexes)},
		{"Write validator:", none(col.WriteValidator)},
		{"Read filter:", none(col.ReadFilter)},
	}}); err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, col.Schema, "", "  "); err != nil {
		pretty.Reset()
		pretty.Write(col.Schema)
	}
	blocks := []struct{ title, body string }{{"Schema", pretty.String()}}
	if col.WriteValidator != "" {
		blocks = append(blocks, struct{ title, body string }{"Write validator", col.WriteValidator})
	}
	if col.ReadFilter != "" {
		blocks = append(blocks, struct{ title, body string }{"Read filter", col.ReadFilter})
	}
	for _, b := range blocks {
		if _, err := fmt.Fprintf(w, "\n%s:\n", b.title); err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimRight(b.body, "\n"), "\n") {
			if _, err := fmt.Fprintf(w, "  %s\n", line); err != nil {
				return err
			}
		}
	}
	return nil
}

type collectionUpdateOptions struct {
	flags collectionFlags
}

func newCollectionUpdateCmd(f *Factory) *cobra.Command {
	opts := &collectionUpdateOptions{}
	cmd := &cobra.Command{
		Use:   "update DB NAME [flags]",
		Short: "Change a collection's schema, indexes or validators; what is not given stays",
		Long: `Change a collection's configuration. Only what the flags give changes: the current
configuration is read first, so 'update --index age' keeps the schema and validators.

--index gives the whole set of indexes: those given replace the current ones (dropped
indexes are named on stderr); --no-indexes drops them all. --no-write-validator and
--no-read-filter remove the validators.

ThreadDB does not check the instances already there against a new schema: they stay as
they are; new writes must match it.`,
		Example: `  hubctl collection update demo people --index name:unique --index age
  hubctl collection update demo people --schema person-v2.json
  hubctl collection update demo people --no-read-filter`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCollectionUpdate(cmd, f, opts, args[0], args[1])
		},
	}
	opts.flags.register(cmd, true)
	return cmd
}

func runCollectionUpdate(cmd *cobra.Command, f *Factory, opts *collectionUpdateOptions, dbArg, name string) error {
	if err := hub.ValidateName(name); err != nil {
		return err
	}
	in, err := f.loadCollectionInput(&opts.flags, true)
	if err != nil {
		return err
	}
	// Index paths given on the command line are checked now when the new schema is known
	// too; the rest once the current configuration is read.
	if in.schema != nil && in.indexesSet {
		if err := checkIndexes(in.schema, in.indexes, false); err != nil {
			return err
		}
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	c, db, err := f.hubDB(cmd, dbArg)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	current, err := c.GetCollection(ctx, db.id, name)
	if err != nil {
		return err
	}

	next := current
	var changed []string
	if in.schema != nil {
		next.Schema = in.schema
		changed = append(changed, "schema")
	}
	if in.indexesSet {
		next.Indexes = in.indexes
		changed = append(changed, "indexes")
	}
	if err := checkIndexes(next.Schema, next.Indexes, !in.indexesSet); err != nil {
		return err
	}
	if in.writeValidator != nil {
		next.WriteValidator = *in.writeValidator
		changed = append(changed, "write validator")
	}
	if in.readFilter != nil {
		next.ReadFilter = *in.readFilter
		changed = append(changed, "read filter")
	}
	if err := c.UpdateCollection(ctx, db.id, next); err != nil {
		return err
	}
	if opts.flags.sample != "" {
		f.IO.Infof("Inferred the schema from %s: properties %s.", schema.DisplayName(opts.flags.sample), strings.Join(schema.Properties(next.Schema), ", "))
	}
	f.IO.Infof("Updated collection %s in database %s: %s.", name, db.label, strings.Join(changed, ", "))
	if in.indexesSet {
		f.IO.Infof("Indexes: %s (before: %s).", formatIndexes(next.Indexes), formatIndexes(current.Indexes))
	}
	if p.Format == output.Table {
		return nil
	}
	updated, err := c.GetCollection(ctx, db.id, name)
	if err != nil {
		return err
	}
	return p.Print(updated, nil)
}

// formatIndexes is an index list for people: "age, name (unique)".
func formatIndexes(indexes []hub.Index) string {
	if len(indexes) == 0 {
		return "(none besides _id)"
	}
	sorted := append([]hub.Index(nil), indexes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	parts := make([]string, 0, len(sorted))
	for _, ix := range sorted {
		s := ix.Path
		if ix.Unique {
			s += " (unique)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

type collectionDeleteOptions struct {
	yes bool
}

func newCollectionDeleteCmd(f *Factory) *cobra.Command {
	opts := &collectionDeleteOptions{}
	cmd := &cobra.Command{
		Use:     "delete DB NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete collections and all their instances",
		Args:    usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			names := args[1:]
			for _, name := range names {
				if err := hub.ValidateName(name); err != nil {
					return err
				}
			}
			c, db, err := f.hubDB(cmd, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			// Check that every collection exists before deleting any, so a typo deletes nothing.
			for _, name := range names {
				if _, err := c.GetCollection(ctx, db.id, name); err != nil {
					return err
				}
			}
			question := fmt.Sprintf("Delete collection %s from database %s, and all its instances?", names[0], db.label)
			if len(names) > 1 {
				question = fmt.Sprintf("Delete %d collections (%s) from database %s, and all their instances?", len(names), strings.Join(names, ", "), db.label)
			}
			if err := f.confirm(opts.yes, question, "refusing to delete"); err != nil {
				return err
			}
			for _, name := range names {
				if err := c.DeleteCollection(ctx, db.id, name); err != nil {
					return err
				}
				f.IO.Infof("Deleted collection %s from database %s.", name, db.label)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func newCollectionIndexesCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "indexes DB NAME",
		Short: "List a collection's indexes (besides the unique one on _id)",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := hub.ValidateName(args[1]); err != nil {
				return err
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, db, err := f.hubDB(cmd, args[0])
			if err != nil {
				return err
			}
			indexes, err := c.CollectionIndexes(cmd.Context(), db.id, args[1])
			if err != nil {
				return err
			}
			if len(indexes) == 0 && p.Format == output.Table {
				f.IO.Infof("Collection %s has no indexes besides the unique one on _id; add some with: hubctl collection update %s %s --index PATH", args[1], args[0], args[1])
				return nil
			}
			return p.Print(indexes, func() output.TableData {
				t := output.TableData{Header: []string{"PATH", "UNIQUE"}}
				for _, ix := range indexes {
					t.Rows = append(t.Rows, []string{ix.Path, yesNo(ix.Unique)})
				}
				return t
			})
		},
	}
}
