package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/instanceid"
	"github.com/hubctl/hubctl/pkg/jsonin"
	"github.com/hubctl/hubctl/pkg/output"
	"github.com/hubctl/hubctl/pkg/pipeline"
)

// defaultBatchSize is the number of instances per Create or Save call, chosen with
// bench/import.sh on 200-byte documents: the CPU the client and the server spend per 1000
// documents falls from 300 ms in calls of 50 to 203 ms (100), 174 ms (250) and 153 ms
// (500), and is no lower at 1000 or 2000; larger calls only put more instances at stake
// when one fails, and near 5000 go-threads' store refuses them (ErrTooLarge).
const defaultBatchSize = 500

// maxBatchBytes ends a batch early: it keeps each call under gRPC's default 4 MiB message
// limit, which servers other than hubctl's own keep.
const maxBatchBytes = 3 << 20

// stdinName names standard input in FILE:LINE messages.
const stdinName = "stdin"

func newInstanceCmd(f *Factory) *cobra.Command {
	return group(&cobra.Command{
		Use:     "instance",
		Aliases: []string{"inst", "instances"},
		Short:   "Create, get, list, find, save and delete a collection's instances",
		Long: `Instances are the JSON objects a collection holds, each with a string "_id": 1 to
256 bytes of UTF-8 with no "/", "\" or control characters, and not "." or ".." (ULIDs,
UUIDs and e-mail addresses are fine; hubctl's servers refuse the rest).

Input (create, save) is one JSON object, a JSON array of objects, or JSON Lines (one
object per line), read from FILE or standard input and streamed: it is sent in batches
as it is read, so files of any size work in bounded memory. A line that is not valid
stops the input at that line: the instances before it are written, the message says how
many, and nothing after it is.

Output of instance data (get, list, find) is JSON Lines when standard output is not a
terminal, so 'hubctl instance list DB C | jq' works, and a table of the top-level fields
on a terminal; -o json, yaml or jsonl chooses explicitly (as does output in the config).

Exit codes: 2 for a bad argument or bad input (invalid JSON, a document the schema or
the server refuses, with FILE:LINE); 3 for a database, collection or instance that does
not exist ('instance has' exits 3, silently, when any ID is missing).`,
	}, newInstanceCreateCmd(f), newInstanceSaveCmd(f), newInstanceGetCmd(f), newInstanceListCmd(f),
		newInstanceFindCmd(f), newInstanceDeleteCmd(f), newInstanceHasCmd(f))
}

type instanceWriteOptions struct {
	save      bool
	batchSize int
	dryRun    bool
}

func newInstanceCreateCmd(f *Factory) *cobra.Command {
	opts := &instanceWriteOptions{}
	cmd := &cobra.Command{
		Use:   "create DB COLLECTION [FILE|-]",
		Short: "Create instances from a JSON object, a JSON array or JSON Lines, and print their IDs",
		Long: `Create instances from FILE, or standard input when FILE is - or absent: one JSON object,
a JSON array of objects, or JSON Lines. An instance without an "_id" (or with an empty
one) gets one from the server. The new IDs are printed one per line as each batch is
written (-o json: a JSON array). A progress bar is shown on standard error when it is a
terminal.

A line that is not a JSON object, or that the server refuses (the schema, an existing
_id, a unique index, the write validator), stops the command with FILE:LINE and exit 2;
the instances before that line are written, and the message says how many.

--dry-run checks every instance against the collection's schema, as the server would,
and writes nothing.`,
		Example: `  hubctl instance create demo people people.jsonl
  jq -c '.[]' export.json | hubctl instance create demo people
  hubctl instance create demo people --dry-run < people.json`,
		Args: usageArgs(cobra.RangeArgs(2, 3)),
		RunE: func(cmd *cobra.Command, args []string) error { return runInstanceWrite(cmd, f, opts, args) },
	}
	opts.register(cmd)
	return cmd
}

func newInstanceSaveCmd(f *Factory) *cobra.Command {
	opts := &instanceWriteOptions{save: true}
	cmd := &cobra.Command{
		Use:   "save DB COLLECTION [FILE|-]",
		Short: "Save (update) instances from a JSON object, a JSON array or JSON Lines",
		Long: `Save instances from FILE, or standard input when FILE is - or absent, in the forms create
reads. Each instance replaces the one with its "_id", which it must hold; an _id that
does not exist yet is created (ThreadDB's save is an upsert). Nothing is printed on
standard output. Errors stop at FILE:LINE as for create.`,
		Example: `  hubctl instance get demo people 01F... | jq -c '.age += 1' | hubctl instance save demo people`,
		Args:    usageArgs(cobra.RangeArgs(2, 3)),
		RunE:    func(cmd *cobra.Command, args []string) error { return runInstanceWrite(cmd, f, opts, args) },
	}
	opts.register(cmd)
	return cmd
}

func (o *instanceWriteOptions) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&o.batchSize, "batch-size", defaultBatchSize,
		"instances per call; 500 is where bench/import.sh found the cost per instance stops falling; a batch also ends at 3 MiB")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "check every instance against the collection's schema; write nothing")
}

func runInstanceWrite(cmd *cobra.Command, f *Factory, opts *instanceWriteOptions, args []string) error {
	dbRef, collection := args[0], args[1]
	file := "-"
	if len(args) == 3 {
		file = args[2]
	}
	if err := hub.ValidateName(collection); err != nil {
		return err
	}
	if opts.batchSize < 1 {
		return usageErrorf("--batch-size must be at least 1")
	}
	in, name, size, closeIn, err := openInput(f, file, len(args) == 3)
	if err != nil {
		return err
	}
	defer closeIn()

	c, err := f.Hub()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	dbID, err := c.ResolveDB(ctx, dbRef)
	if err != nil {
		return err
	}
	var validator *hub.InstanceValidator
	if opts.dryRun {
		col, err := c.GetCollection(ctx, dbID, collection)
		if err != nil {
			return err
		}
		if validator, err = hub.NewInstanceValidator(col.Schema); err != nil {
			return err
		}
	}
	var ids *listWriter
	if !opts.save && !opts.dryRun {
		p, err := f.Printer()
		if err != nil {
			return err
		}
		ids = newListWriter(f.IO.Out, p.Format)
	}

	w := &instanceWriter{
		c: c, db: dbID, collection: collection, save: opts.save, name: name, ids: ids,
		bar: newProgress(f, size, opts),
	}
	src := instanceSource(jsonin.NewReader(in), opts.save, name)
	if opts.dryRun {
		err = w.validate(ctx, src, opts.batchSize, validator)
	} else {
		err = w.write(ctx, src, opts.batchSize)
	}
	w.bar.Done(err == nil)
	if ids != nil {
		if cerr := ids.close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	verb := map[bool]string{false: "Created", true: "Saved"}[opts.save]
	switch {
	case opts.dryRun:
		match := "match"
		if w.checked == 1 {
			match = "matches"
		}
		f.IO.Infof("%s: %s %s the schema of %s; nothing was written (--dry-run).", name, plural(w.checked, "instance"), match, collection)
	case w.written == 0:
		f.IO.Infof("%s holds no instances; nothing was written.", name)
	default:
		f.IO.Infof("%s %s in %s.", verb, plural(w.written, "instance"), collection)
	}
	return nil
}

// openInput opens FILE, or standard input for "-". It refuses to wait on a terminal for
// input nobody asked to type, unless "-" was given explicitly.
func openInput(f *Factory, file string, explicit bool) (io.Reader, string, int64, func(), error) {
	if file == "-" {
		if !explicit && f.IO.IsStdinTTY() {
			return nil, "", 0, nil, usageErrorf("give a FILE of instances, or pipe them into standard input (or give - to type them)")
		}
		size := int64(-1)
		if st, ok := f.IO.In.(*os.File); ok {
			if info, err := st.Stat(); err == nil && info.Mode().IsRegular() {
				size = info.Size() // redirected from a file: the bar can show a total
			}
		}
		return f.IO.In, stdinName, size, func() {}, nil
	}
	fh, err := os.Open(file)
	if err != nil {
		return nil, "", 0, nil, usageErrorf("read instances: %v", err)
	}
	size := int64(-1)
	if info, err := fh.Stat(); err == nil && info.Mode().IsRegular() {
		size = info.Size()
	}
	return fh, file, size, func() { fh.Close() }, nil
}

// instanceSource streams the input's instances, each checked for its _id, to the write
// pipeline; an input error names FILE:LINE.
func instanceSource(r *jsonin.Reader, save bool, name string) pipeline.SourceFunc[jsonin.Doc] {
	return func(context.Context) (pipeline.Item[jsonin.Doc], error) {
		d, err := r.Next()
		if err == io.EOF {
			return pipeline.Item[jsonin.Doc]{}, io.EOF
		}
		if err == nil {
			if err = checkID(d.Data, save); err != nil {
				err = &jsonin.Error{Line: d.Line, Msg: err.Error()}
			}
		}
		if err == nil && gjson.GetBytes(d.Data, modField).Exists() {
			// go-threads' modification time, as instance get prints it: the server
			// sets its own, and a schema without it (additionalProperties: false)
			// would refuse what get just gave.
			d.Data, err = sjson.DeleteBytes(d.Data, modField)
		}
		if err != nil {
			return pipeline.Item[jsonin.Doc]{}, inputError(name, err)
		}
		return pipeline.Item[jsonin.Doc]{Value: d, Size: int64(len(d.Data))}, nil
	}
}

// checkID refuses an _id the server would choke on or refuse: it must be a string that
// keeps to the instanceid rule, and a save must name one.
func checkID(doc []byte, save bool) error {
	id := gjson.GetBytes(doc, "_id")
	switch {
	case !id.Exists() || id.Type == gjson.Null:
		if save {
			return errors.New(`save needs the instance's "_id"; this one has none (create makes new instances)`)
		}
	case id.Type != gjson.String:
		return fmt.Errorf(`"_id" must be a string; this one is %s`, strings.TrimSpace(id.Raw))
	case save && id.Str == "":
		return errors.New(`save needs the instance's "_id"; this one is empty (create makes new instances)`)
	case id.Str != "":
		if err := instanceid.Check(id.Str); err != nil {
			return fmt.Errorf("%v: %s", err, instanceid.Rule)
		}
	}
	return nil
}

// lineError is an error at a line of the input: bad input, exit 2.
type lineError struct {
	file string
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg) }

func inputError(name string, err error) error {
	var je *jsonin.Error
	if errors.As(err, &je) {
		return &lineError{file: name, line: je.Line, msg: je.Msg}
	}
	return fmt.Errorf("read %s: %w", name, err)
}

// instanceWriter is the command's side of the write pipeline: what a batch is sent as,
// what is printed after it, and the messages that say how many instances were written.
type instanceWriter struct {
	c          *hub.Client
	db         thread.ID
	collection string
	save       bool
	name       string
	ids        *listWriter // nil for save
	bar        *pipeline.Bar

	written int
	checked int
	created []string // the IDs of the batch just sent
	outErr  error    // what printing them failed with
}

// instanceRefused is a refusal of a call for its instances, or for its size: the call wrote
// nothing, and its halves are worth sending.
func instanceRefused(err error) bool {
	return errors.Is(err, hub.ErrRefused) || errors.Is(err, hub.ErrTooLarge)
}

func instanceDocs(b pipeline.Batch[jsonin.Doc]) [][]byte {
	d := make([][]byte, len(b.Items))
	for i, it := range b.Items {
		d[i] = it.Value.Data
	}
	return d
}

// batchEnd is the input offset after a batch's last instance.
func batchEnd(b pipeline.Batch[jsonin.Doc]) int64 { return b.Items[len(b.Items)-1].Value.End }

func (w *instanceWriter) send(ctx context.Context, b pipeline.Batch[jsonin.Doc]) error {
	if w.save {
		return w.c.SaveInstances(ctx, w.db, w.collection, instanceDocs(b))
	}
	ids, err := w.c.CreateInstances(ctx, w.db, w.collection, instanceDocs(b))
	w.created = ids
	return err
}

// wrote prints a written batch's IDs, then moves the bar below them.
func (w *instanceWriter) wrote(b pipeline.Batch[jsonin.Doc], r pipeline.Result) error {
	w.written = r.Total
	if w.ids != nil {
		for _, id := range w.created {
			if err := w.ids.addString(id); err != nil {
				w.outErr = err
				return err
			}
		}
		w.bar.Clear()
		if err := w.ids.flush(); err != nil {
			w.outErr = err
			return err
		}
	}
	w.bar.Update(batchEnd(b), plural(w.written, "instance"))
	return nil
}

// write sends the input in batches of up to size instances (and maxBatchBytes). A batch
// the server refuses wrote nothing (a call is one transaction). When the refusal is about
// an instance's content, or the batch is too large for one of the server's transactions,
// the pipeline sends it again in halves, recursively: the instances before the one at
// fault are written and the message names its line, in a few calls more than one.
func (w *instanceWriter) write(ctx context.Context, src pipeline.Source[jsonin.Doc], size int) error {
	res, err := pipeline.Run(ctx, src, pipeline.Config[jsonin.Doc]{
		MaxItems: size, MaxBytes: maxBatchBytes,
		Send: w.send, Split: instanceRefused, Sent: w.wrote,
	})
	w.written = res.Total
	var refused *pipeline.RefusedError[jsonin.Doc]
	var stopped *pipeline.StoppedError[jsonin.Doc]
	switch {
	case err == nil:
		return nil
	case w.outErr != nil && err == w.outErr:
		return err
	case errors.As(err, &refused):
		return w.withCount(&lineError{file: w.name, line: refused.Item.Value.Line, msg: refused.Err.Error()})
	case errors.As(err, &stopped) && stopped.Sent:
		return w.stopped(ctx, stopped.Err, stopped.Batch.Items[0].Value.Line, len(stopped.Batch.Items))
	case errors.As(err, &stopped):
		// Interrupted while the next instances were being read: nothing more was sent.
		if w.written == 0 {
			return errors.New("stopped; no instances were written")
		}
		return fmt.Errorf("stopped; %s, none after them", w.wroteCount())
	default: // the input's error, after the instances before it
		return w.withCount(err)
	}
}

// withCount adds how many instances were written to an error at a line of the input:
// the instances before it were, none from it on.
func (w *instanceWriter) withCount(err error) error {
	var le *lineError
	if !errors.As(err, &le) {
		return fmt.Errorf("%w; %s", err, w.count())
	}
	return withCode(ExitUsage, fmt.Errorf("%w; %s", err, w.count()))
}

func (w *instanceWriter) count() string {
	switch w.written {
	case 0:
		return "no instances were written"
	case 1:
		return "the 1 instance before it was written"
	default:
		return fmt.Sprintf("the %d instances before it were written", w.written)
	}
}

func (w *instanceWriter) wroteCount() string {
	if w.written == 1 {
		return "1 instance was written"
	}
	return fmt.Sprintf("%d instances were written", w.written)
}

func (w *instanceWriter) before(line int) string {
	if w.written == 1 {
		return fmt.Sprintf("1 instance before %s:%d was written", w.name, line)
	}
	return fmt.Sprintf("%d instances before %s:%d were written", w.written, w.name, line)
}

// stopped reports a call that failed for a reason other than its instances.
func (w *instanceWriter) stopped(ctx context.Context, err error, line, n int) error {
	written := w.before(line)
	maybe := fmt.Sprintf("the %d from line %d on may or may not have been (check with hubctl instance has)", n, line)
	switch {
	case ctx.Err() != nil:
		// Not wrapping context.Canceled: the count must be printed, not replaced by
		// "interrupted". The call may have reached the server before it was cut off.
		return fmt.Errorf("stopped at %s:%d; %s; %s", w.name, line, written, maybe)
	case errors.Is(err, hub.ErrUnreachable):
		return fmt.Errorf("%w; %s; %s", err, written, maybe)
	case w.written == 0:
		return fmt.Errorf("%w; no instances were written", err)
	default:
		return fmt.Errorf("%w; %s, none from there on", err, written)
	}
}

// validate checks the input against the schema in the pipeline's batches, writing nothing.
func (w *instanceWriter) validate(ctx context.Context, src pipeline.Source[jsonin.Doc], size int, v *hub.InstanceValidator) error {
	check := func(_ context.Context, b pipeline.Batch[jsonin.Doc]) error {
		for _, it := range b.Items {
			if err := v.Validate(it.Value.Data, !w.save); err != nil {
				return &lineError{file: w.name, line: it.Value.Line, msg: err.Error()}
			}
			w.checked++
		}
		return nil
	}
	checked := func(b pipeline.Batch[jsonin.Doc], r pipeline.Result) error {
		w.bar.Update(batchEnd(b), plural(w.checked, "instance"))
		return nil
	}
	_, err := pipeline.Run(ctx, src, pipeline.Config[jsonin.Doc]{
		MaxItems: size, MaxBytes: maxBatchBytes, Send: check, Sent: checked,
	})
	var le *lineError
	var stopped *pipeline.StoppedError[jsonin.Doc]
	switch {
	case err == nil:
		return nil
	case errors.As(err, &stopped) && !errors.As(err, &le):
		return err // interrupted
	default: // an instance the schema refuses, or the input's error
		return withCode(ExitUsage, fmt.Errorf("%w; nothing was written (--dry-run)", err))
	}
}

// newProgress is a bar on standard error when it is a terminal, else nothing.
func newProgress(f *Factory, size int64, opts *instanceWriteOptions) *pipeline.Bar {
	what := map[bool]string{false: "creating", true: "saving"}[opts.save]
	if opts.dryRun {
		what = "checking"
	}
	return pipeline.NewBar(pipeline.BarOptions{Out: f.IO.ErrOut, Terminal: f.IO.IsStderrTTY(),
		Shared: f.IO.IsStdoutTTY(), Size: size, What: what})
}

// listWriter streams a list to standard output in an output format: as it comes for
// table (plain lines), jsonl, json (one array) and yaml.
type listWriter struct {
	w      *bufio.Writer
	format string
	n      int
}

func newListWriter(w io.Writer, format string) *listWriter {
	return &listWriter{w: bufio.NewWriter(w), format: format}
}

func (l *listWriter) addString(s string) error {
	if l.format == output.Table || l.format == "" {
		l.n++
		_, err := l.w.WriteString(s + "\n") // the common case, with no JSON to build
		return err
	}
	raw, _ := json.Marshal(s)
	return l.add(raw, s)
}

// add writes one element: raw is its JSON, plain its table form (a line).
func (l *listWriter) add(raw []byte, plain string) error {
	l.n++
	switch l.format {
	case output.JSON:
		sep := ",\n  "
		if l.n == 1 {
			sep = "[\n  "
		}
		l.w.WriteString(sep)
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "  ", "  "); err != nil {
			return err
		}
		_, err := l.w.Write(buf.Bytes())
		return err
	case output.JSONL:
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := l.w.Write(buf.Bytes())
		return err
	case output.YAML:
		return output.WriteYAML(l.w, []json.RawMessage{raw})
	default:
		_, err := l.w.WriteString(plain + "\n")
		return err
	}
}

func (l *listWriter) flush() error { return l.w.Flush() }

// close ends the list (a JSON array is closed even after an error, so what was written
// stays valid JSON) and flushes.
func (l *listWriter) close() error {
	switch {
	case l.format == output.JSON && l.n == 0:
		l.w.WriteString("[]\n")
	case l.format == output.JSON:
		l.w.WriteString("\n]\n")
	case l.format == output.YAML && l.n == 0:
		l.w.WriteString("[]\n")
	}
	return l.w.Flush()
}

// instancePrinter is the printer for instance data: -o (or the config) when given;
// otherwise a table on a terminal and JSON Lines when standard output is piped.
func (f *Factory) instancePrinter() (*output.Printer, error) {
	p, err := f.Printer()
	if err != nil {
		return nil, err
	}
	s, err := f.Settings()
	if err != nil {
		return nil, err
	}
	if s.Source("output") == "default" {
		p.Format = output.JSONL
		if f.IO.IsStdoutTTY() {
			p.Format = output.Table
		}
	}
	return p, nil
}

func newInstanceGetCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "get DB COLLECTION ID",
		Short: "Print one instance",
		Example: `  hubctl instance get demo people 01F...
  hubctl instance get demo people 01F... | jq .name`,
		Args: usageArgs(cobra.ExactArgs(3)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, dbID, collection, err := instanceTarget(cmd, f, args)
			if err != nil {
				return err
			}
			p, err := f.instancePrinter()
			if err != nil {
				return err
			}
			doc, err := c.GetInstance(cmd.Context(), dbID, collection, args[2])
			if err != nil {
				return err
			}
			if p.Format == output.Table {
				var rows [][]string
				gjson.ParseBytes(doc).ForEach(func(k, v gjson.Result) bool {
					if k.String() != "_mod" {
						rows = append(rows, []string{k.String() + ":", cell(v, 0)})
					}
					return true
				})
				return p.WriteTable(output.TableData{Rows: rows})
			}
			return p.Print(json.RawMessage(doc), nil)
		},
	}
}

// instanceTarget resolves DB and checks COLLECTION.
func instanceTarget(cmd *cobra.Command, f *Factory, args []string) (*hub.Client, thread.ID, string, error) {
	if err := hub.ValidateName(args[1]); err != nil {
		return nil, thread.Undef, "", err
	}
	c, err := f.Hub()
	if err != nil {
		return nil, thread.Undef, "", err
	}
	dbID, err := c.ResolveDB(cmd.Context(), args[0])
	if err != nil {
		return nil, thread.Undef, "", err
	}
	return c, dbID, args[1], nil
}

type instanceFindOptions struct {
	query  string
	where  []string
	sort   string
	limit  int
	skip   int
	isFind bool
}

func newInstanceListCmd(f *Factory) *cobra.Command {
	opts := &instanceFindOptions{}
	cmd := &cobra.Command{
		Use:     "list DB COLLECTION",
		Aliases: []string{"ls"},
		Short:   "List a collection's instances, in _id order",
		Example: `  hubctl instance list demo people --limit 10
  hubctl instance list demo people | jq -r .name`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error { return runInstanceFind(cmd, f, opts, args) },
	}
	cmd.Flags().IntVar(&opts.limit, "limit", 0, "print at most N instances (0: all)")
	cmd.Flags().IntVar(&opts.skip, "skip", 0, "skip the first N instances")
	return cmd
}

func newInstanceFindCmd(f *Factory) *cobra.Command {
	opts := &instanceFindOptions{isFind: true}
	cmd := &cobra.Command{
		Use:   "find DB COLLECTION [--where EXPR]... [--sort [-]FIELD] | --query JSON",
		Short: "Find instances with a query: --where and --sort, or ThreadDB's query JSON",
		Long: `Find the instances that match a query, given by flags or as ThreadDB's query JSON.

--where FIELD OP VALUE, with OP one of = != < <= > >=, compares a field (a dotted path for
nested ones: address.city) with a value; several --where must all hold. The value is
read as JSON when it parses (a number, true, false, or a "quoted string"), else as a
string: --where age>=30, --where name=ann, --where 'zip="0042"'. --sort FIELD orders by
a field, --sort -FIELD in descending order; then --skip and --limit apply.

--query takes ThreadDB's query JSON (what its Go and JS clients send):
  {"ands":[{"fieldPath":"age","operation":2,"value":{"float":30}}],
   "ors":[QUERY...], "sort":{"fieldPath":"name","desc":false},
   "seek":"ID", "limit":10, "skip":0}
with operation 0 eq, 1 ne, 2 gt, 3 lt, 4 ge, 5 le and a value of exactly one of
"string", "float" or "bool". It is checked before any call; --sort, --limit and --skip
given with it replace its own.

hubctl's servers (hubctl daemon and the embedded node) answer the query themselves,
with ThreadDB's meaning and through the collection's indexes (an equality on an indexed
field, or a range on an indexed field of numbers or booleans), and stream the answer. A
plain go-threads server has no such call; hubctl then pages through its instances and
evaluates the query here, rather than leaving it to go-threads v1.1.5's Find, which
silently stops at the first instance that lacks a queried field (or holds another type
there), applies limit and skip before sorting, and can crash the server on a sort over
mixed types. Either way an instance without the field, or with another type, does not
match; sorting orders mixed types null, booleans, numbers, strings, then objects, with
instances lacking the field last.`,
		Example: `  hubctl instance find demo people --where age>=30 --where city=Oslo --sort -age
  hubctl instance find demo people --query '{"ands":[{"fieldPath":"name","operation":0,"value":{"string":"ann"}}]}'`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error { return runInstanceFind(cmd, f, opts, args) },
	}
	cmd.Flags().StringVar(&opts.query, "query", "", "ThreadDB's query JSON (see above)")
	cmd.Flags().StringArrayVar(&opts.where, "where", nil, "FIELD OP VALUE with OP one of = != < <= > >=; repeatable, all must hold")
	cmd.Flags().StringVar(&opts.sort, "sort", "", "sort by FIELD, or -FIELD for descending order")
	cmd.Flags().IntVar(&opts.limit, "limit", 0, "print at most N instances (0: all)")
	cmd.Flags().IntVar(&opts.skip, "skip", 0, "skip the first N matches")
	return cmd
}

// buildQuery turns the flags into ThreadDB's query JSON, checked.
func (o *instanceFindOptions) buildQuery(cmd *cobra.Command) ([]byte, error) {
	if o.limit < 0 || o.skip < 0 {
		return nil, usageErrorf("--limit and --skip must not be negative")
	}
	q := &db.Query{}
	if o.query != "" {
		if len(o.where) > 0 {
			return nil, usageErrorf("give --query or --where, not both (--where can be written as ands in the query)")
		}
		var err error
		if q, err = hub.ParseQuery([]byte(o.query)); err != nil {
			return nil, err
		}
	}
	for _, w := range o.where {
		c, err := parseWhere(w)
		if err != nil {
			return nil, err
		}
		q.Ands = append(q.Ands, c)
	}
	if o.sort != "" || cmd.Flags().Changed("sort") {
		field, desc := o.sort, false
		switch {
		case strings.HasPrefix(field, "-"):
			field, desc = field[1:], true
		case strings.HasPrefix(field, "+"):
			field = field[1:]
		}
		if field == "" {
			return nil, usageErrorf("--sort needs a field: --sort age, or --sort -age for descending order")
		}
		q.Sort = db.Sort{FieldPath: field, Desc: desc}
	}
	if cmd.Flags().Changed("limit") {
		q.Limit = o.limit
	}
	if cmd.Flags().Changed("skip") {
		q.Skip = o.skip
	}
	raw, err := json.Marshal(q)
	if err != nil {
		return nil, fmt.Errorf("encode the query: %w", err)
	}
	return raw, nil
}

// whereOps are --where's operators, longest first so "<=" is not read as "<".
var whereOps = []struct {
	text string
	op   db.Operation
}{{"!=", db.Ne}, {"<=", db.Le}, {">=", db.Ge}, {"==", db.Eq}, {"=", db.Eq}, {"<", db.Lt}, {">", db.Gt}}

// parseWhere reads FIELD OP VALUE.
func parseWhere(expr string) (*db.Criterion, error) {
	i := strings.IndexAny(expr, "!<>=")
	if i < 0 {
		return nil, usageErrorf("--where %q has no operator: use FIELD=VALUE, or != < <= > >=", expr)
	}
	field, rest := strings.TrimSpace(expr[:i]), expr[i:]
	if field == "" {
		return nil, usageErrorf("--where %q has no field before its operator", expr)
	}
	var op db.Operation
	opText := ""
	for _, o := range whereOps {
		if strings.HasPrefix(rest, o.text) {
			op, opText = o.op, o.text
			break
		}
	}
	if opText == "" {
		return nil, usageErrorf("--where %q: unknown operator; use = != < <= > >=", expr)
	}
	text := strings.TrimSpace(rest[len(opText):])
	c := &db.Criterion{FieldPath: field, Operation: op}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		v = text // not JSON: a bare string
	}
	switch x := v.(type) {
	case string:
		c.Value.String = &x
	case float64:
		c.Value.Float = &x
	case bool:
		if op != db.Eq && op != db.Ne {
			return nil, usageErrorf("--where %q: booleans compare with = and != only", expr)
		}
		c.Value.Bool = &x
	case nil:
		return nil, usageErrorf("--where %q: ThreadDB queries compare strings, numbers and booleans, not null", expr)
	default:
		return nil, usageErrorf("--where %q: ThreadDB queries compare strings, numbers and booleans, not objects or arrays", expr)
	}
	return c, nil
}

func runInstanceFind(cmd *cobra.Command, f *Factory, opts *instanceFindOptions, args []string) error {
	query, err := opts.buildQuery(cmd)
	if err != nil {
		return err
	}
	p, err := f.instancePrinter()
	if err != nil {
		return err
	}
	c, dbID, collection, err := instanceTarget(cmd, f, args)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if p.Format == output.JSONL || p.Format == output.JSON {
		// Stream: a collection of any size goes straight through.
		lw := newListWriter(f.IO.Out, p.Format)
		err := c.EachInstance(ctx, dbID, collection, query, func(doc []byte) error { return lw.add(doc, "") })
		if cerr := lw.close(); err == nil {
			err = cerr
		}
		return err
	}
	docs, err := c.FindInstances(ctx, dbID, collection, query)
	if err != nil {
		return err
	}
	if len(docs) == 0 && p.Format == output.Table {
		what := "no instances"
		if opts.isFind {
			what = "no instances match"
		}
		f.IO.Infof("%s: %s.", collection, what)
		return nil
	}
	list := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		list[i] = d
	}
	return p.Print(list, func() output.TableData { return instanceTable(docs) })
}

// instanceTable has a column per top-level field, _id first, then in the order they first
// appear; _mod, ThreadDB's modification time, is left out.
func instanceTable(docs [][]byte) output.TableData {
	cols := []string{"_id"}
	index := map[string]int{"_id": 0, "_mod": -1}
	var rows []map[string]string
	for _, d := range docs {
		row := map[string]string{}
		gjson.ParseBytes(d).ForEach(func(k, v gjson.Result) bool {
			key := k.String()
			if _, ok := index[key]; !ok {
				index[key] = len(cols)
				cols = append(cols, key)
			}
			row[key] = cell(v, maxCell)
			return true
		})
		rows = append(rows, row)
	}
	t := output.TableData{Header: make([]string, len(cols))}
	for i, c := range cols {
		t.Header[i] = strings.ToUpper(c)
	}
	for _, r := range rows {
		line := make([]string, len(cols))
		for i, c := range cols {
			line[i] = r[c]
		}
		t.Rows = append(t.Rows, line)
	}
	return t
}

// maxCell bounds a table cell: nested objects can be long.
const maxCell = 40

// cell is a value as a table shows it: strings bare, anything else as compact JSON, on one
// line, cut at max characters (0: whole).
func cell(v gjson.Result, max int) string {
	s := v.Raw
	if v.Type == gjson.String {
		s = v.Str
	} else {
		var buf bytes.Buffer
		if json.Compact(&buf, []byte(v.Raw)) == nil {
			s = buf.String()
		}
	}
	s = strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
	if max > 0 && utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

func newInstanceDeleteCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "delete DB COLLECTION ID...",
		Aliases: []string{"rm"},
		Short:   "Delete instances by ID",
		Long: `Delete instances by ID. Every ID must exist: if one does not, nothing is deleted and the
missing IDs are named (exit 3).`,
		Example: `  hubctl instance delete demo people 01F... 01G...
  hubctl instance find demo people --where age<18 | jq -r ._id | xargs hubctl instance delete demo people`,
		Args: usageArgs(cobra.MinimumNArgs(3)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, dbID, collection, err := instanceTarget(cmd, f, args)
			if err != nil {
				return err
			}
			ids := args[2:]
			if err := c.DeleteInstances(cmd.Context(), dbID, collection, ids); err != nil {
				return err
			}
			if len(ids) == 1 {
				f.IO.Infof("Deleted instance %s from %s.", ids[0], collection)
			} else {
				f.IO.Infof("Deleted %s from %s.", plural(len(ids), "instance"), collection)
			}
			return nil
		},
	}
}

func newInstanceHasCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "has DB COLLECTION ID...",
		Short:   "Exit 0 if every instance exists, 3 if one does not (prints nothing)",
		Example: `  if hubctl instance has demo people "$ID"; then echo there; fi`,
		Args:    usageArgs(cobra.MinimumNArgs(3)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, dbID, collection, err := instanceTarget(cmd, f, args)
			if err != nil {
				return err
			}
			ok, err := c.HasInstances(cmd.Context(), dbID, collection, args[2:])
			if err != nil {
				return err
			}
			if !ok {
				return withCode(ExitNotFound, errSilent)
			}
			return nil
		},
	}
}
