package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/output"
	"github.com/hubctl/hubctl/pkg/pipeline"
)

// Batches of a push of many files: each is one PushPaths stream, written (and committed
// by the server) as a whole.
const (
	pushBatchFiles = 1000
	pushBatchBytes = 256 << 20
)

// bucketOptions are the flags every bucket command shares.
type bucketOptions struct {
	db string
}

func newBucketCmd(f *Factory) *cobra.Command {
	opts := &bucketOptions{}
	cmd := group(&cobra.Command{
		Use:     "bucket",
		Aliases: []string{"buckets", "buck"},
		Short:   "Store files in buckets: push, pull, list and sync directories (the Hub's buckets)",
		Long: `Buckets are the Hub's file storage: a bucket is a UnixFS directory on the server's IPFS
blockstore, recorded as an instance of the collection "buckets" in a database. Textile's
Go and JS clients (Buckets) see the same buckets.

A BUCKET is named by its name or its key, within --db (a database ID or name; default:
your database named "buckets", which 'bucket create' makes when you have none). A path in
it follows a slash: BUCKET/dir/file.txt. A bucket of another identity's database, shared
with you by a role (bucket roles), is named by --db ID and its key: only a database's
owner can look its buckets up by name. Paths may not hold "." or ".." segments, empty
segments or the name .textileseed (every bucket's root holds a random .textileseed file;
listings leave it out).

Pushes and pulls stream: neither side holds a whole file in memory. A push that fails
or is cut off leaves the bucket as it was. A progress bar is shown on standard error
when it is a terminal.`,
	}, newBucketCreateCmd(f, opts), newBucketListCmd(f, opts),
		needsRole(f, opts, newBucketShowCmd(f, opts), hub.RoleReader, "read it"), newBucketRmCmd(f, opts),
		needsRole(f, opts, newBucketLsCmd(f, opts), hub.RoleReader, "list it"),
		needsRole(f, opts, newBucketCatCmd(f, opts), hub.RoleReader, "read it"),
		needsRole(f, opts, newBucketPushCmd(f, opts), hub.RoleWriter, "push there"),
		needsRole(f, opts, newBucketPullCmd(f, opts), hub.RoleReader, "pull it"),
		needsRole(f, opts, newBucketMvCmd(f, opts), hub.RoleWriter, "move it"),
		needsRole(f, opts, newBucketRmPathCmd(f, opts), hub.RoleWriter, "remove it"),
		newBucketLinksCmd(f, opts), newBucketSyncCmd(f, opts),
		newBucketRolesCmd(f, opts), newBucketGCCmd(f), newBucketUsageCmd(f))
	cmd.PersistentFlags().StringVar(&opts.db, "db", "", `database of the buckets, by ID or name (default: your database named "buckets")`)
	_ = cmd.RegisterFlagCompletionFunc("db", flagCompletion(f, dbCompletions))
	return cmd
}

// bucketRef is BUCKET[/PATH] as typed.
type bucketRef struct {
	bucket string
	path   string // cleaned, "" for the root
	// dir: the path was typed with a trailing slash, so it names a directory.
	dir bool
}

// parseBucketRef splits BUCKET[/PATH] and checks the path before any call.
func parseBucketRef(arg string) (bucketRef, error) {
	name, rest, _ := strings.Cut(arg, "/")
	if name == "" {
		return bucketRef{}, usageErrorf("invalid bucket %q: give BUCKET[/PATH], a bucket's name or key (see hubctl bucket list)", arg)
	}
	p, err := buckets.CleanPath(rest)
	if err != nil {
		return bucketRef{}, usageErrorf("%v", err)
	}
	return bucketRef{bucket: name, path: p, dir: p != "" && strings.HasSuffix(rest, "/")}, nil
}

// String is the reference as printed: BUCKET or BUCKET/PATH.
func (r bucketRef) String() string {
	if r.path == "" {
		return r.bucket
	}
	return r.bucket + "/" + r.path
}

// bucketSession is a resolved bucket over the process's client.
type bucketSession struct {
	c  *hub.Client
	bs *hub.Buckets
	b  hub.Bucket
	// me is the caller's public key ("" when unknown).
	me string
}

// shared reports whether the bucket is another identity's, which the caller reaches by
// a role: the server may not say whether it is private (it keeps the link key from
// everyone but the owner), so it is read as a private one is (ListPath and PullPath,
// within the caller's role) and synced by the state.
func (s *bucketSession) shared() bool { return s.b.Owner != "" && s.b.Owner != s.me }

// sealed reports whether the bucket's blocks may be ciphertext, or the caller's access
// limited to paths: it is then read path by path (ListPath, PullPath), never under a
// root by CID (ListIpfsPath, PullIpfsPath).
func (s *bucketSession) sealed() bool { return s.b.Private || s.shared() }

// walk is Walk, or WalkListed for a bucket sealed() without the server saying it is private.
func (s *bucketSession) walk(ctx context.Context, pth string, fn func(hub.BucketItem) error) (string, error) {
	if s.shared() {
		return s.bs.WalkListed(ctx, s.b.Key, pth, fn)
	}
	return s.bs.Walk(ctx, s.b.Key, pth, fn)
}

// openDB finds the database of the buckets (--db, else the identity's "buckets").
func (o *bucketOptions) openDB(ctx context.Context, f *Factory, create bool) (*hub.Client, *hub.Buckets, error) {
	c, err := f.Hub()
	if err != nil {
		return nil, nil, err
	}
	id, err := c.BucketsDB(ctx, o.db, create)
	if err != nil {
		return nil, nil, err
	}
	return c, c.Buckets(id), nil
}

// open resolves a bucket by name or key.
func (o *bucketOptions) open(ctx context.Context, f *Factory, name string) (*bucketSession, error) {
	c, bs, err := o.openDB(ctx, f, false)
	if err != nil {
		return nil, err
	}
	b, err := bs.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	return &bucketSession{c: c, bs: bs, b: b, me: callerPublicKey(f)}, nil
}

func (s *bucketSession) label() string {
	if s.b.Name == "" {
		return s.b.Key
	}
	return s.b.Name
}

type bucketCreateOptions struct {
	cid     string
	private bool
}

func newBucketCreateCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	opts := &bucketCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a bucket and print its key",
		Long: `Create a bucket named NAME in --db, or in your database named "buckets" (made when you
have none, as the JS client's getOrCreate does). --cid starts it with a UnixFS directory
the server already has. Names are unique within a database here, so that a name can
stand for the bucket; they may not hold a slash, nor have the form of a bucket key.

--private makes a private bucket, encrypted as the Hub's were: the server seals its
directories with the bucket's link key and each file with a key of its path, so what
its blockstore, its peers and /ipfs/ hold is ciphertext; push, pull, cat, ls and sync
work as on any bucket, and return plaintext. CIDs and sizes that ls prints are the
stored (ciphertext) ones. A bucket is private or public from its creation on.`,
		Example: `  hubctl bucket create site
  hubctl bucket create vault --private
  hubctl bucket create photos --db media -o json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBucketCreate(cmd.Context(), f, bo, args[0], opts)
		},
	}
	cmd.Flags().StringVar(&opts.cid, "cid", "", "start with this UnixFS directory (its CID), which the server must have")
	cmd.Flags().BoolVar(&opts.private, "private", false, "encrypt the bucket's files and directories on the server (a private bucket)")
	return cmd
}

func runBucketCreate(ctx context.Context, f *Factory, bo *bucketOptions, name string, opts *bucketCreateOptions) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || strings.TrimSpace(name) != name {
		return usageErrorf("invalid bucket name %q: use a name without slashes or spaces at either end", name)
	}
	if hub.IsBucketKey(name) {
		return usageErrorf("invalid bucket name %q: it has the form of a bucket key, which BUCKET arguments take for a key; choose another name", name)
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	_, bs, err := bo.openDB(ctx, f, true)
	if err != nil {
		return err
	}
	all, err := bs.List(ctx)
	if err != nil {
		return err
	}
	for _, b := range all {
		if b.Name == name {
			return withCode(ExitError, fmt.Errorf("database %s already has a bucket named %q (%s); choose another name", bs.DB(), name, b.Key))
		}
	}
	b, err := bs.Create(ctx, name, opts.cid, opts.private)
	if err != nil {
		return err
	}
	if p.Format == output.Table {
		_, err = fmt.Fprintln(f.IO.Out, b.Key)
		return err
	}
	return p.Print(b, nil)
}

func newBucketListCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	return &cobra.Command{
		Use: "list",
		// "lst" is one edit from ls as well; list is what every group suggests for it.
		SuggestFor: []string{"lst"},
		Short:      "List the buckets of a database (name, key, root, private)",
		Example: `  hubctl bucket list
  hubctl bucket list --db media -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			c, bs, err := bo.openDB(ctx, f, false)
			if bo.db == "" && errors.Is(err, hub.ErrNotFound) {
				if p.Format == output.Table {
					f.IO.Infof("No buckets; create one with: hubctl bucket create NAME")
					return nil
				}
				return p.Print([]hub.Bucket{}, nil)
			}
			if err != nil {
				return err
			}
			all, err := bs.List(ctx)
			if err != nil {
				return err
			}
			if len(all) == 0 && p.Format == output.Table {
				f.IO.Infof("No buckets in database %s on %s; create one with: hubctl bucket create NAME", bs.DB(), c.Target())
				return nil
			}
			return p.Print(all, func() output.TableData {
				t := output.TableData{Header: []string{"NAME", "KEY", "ROOT", "UPDATED", "PRIVATE"}}
				for _, b := range all {
					t.Rows = append(t.Rows, []string{b.Name, b.Key, b.Root, shortTime(b.UpdatedAt), yesNo(b.Private)})
				}
				return t
			})
		},
	}
}

func newBucketShowCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "show BUCKET",
		Short: "Show a bucket: key, name, database, root, whether private, and links",
		Example: `  hubctl bucket show site
  hubctl bucket show site -o json | jq -r .root`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := bo.open(ctx, f, args[0])
			if err != nil {
				return err
			}
			b := s.b
			// A role on a path below the root does not let its holder ask for the root's
			// links: the bucket is shown without them.
			links, err := s.bs.Links(ctx, b.Key, "")
			switch {
			case err == nil:
				links = redactLinks(links, false)
				b.Links = &links
			case !errors.Is(err, hub.ErrAuth):
				return err
			}
			// The server tells only the owner whether a bucket is private (by its link
			// key): to anyone else it is unknown (null), not "no".
			view := shownBucket{Bucket: b, Private: &b.Private}
			private := yesNo(b.Private)
			if s.shared() && !b.Private {
				view.Private, private = nil, "unknown (the server tells only its owner)"
			}
			return p.Print(view, func() output.TableData {
				rows := [][]string{{"Name:", b.Name}, {"Key:", b.Key}, {"Database:", b.DB}, {"Root:", b.Root},
					{"Private:", private}, {"Owner:", b.Owner}, {"Created:", shortTime(b.CreatedAt)}, {"Updated:", shortTime(b.UpdatedAt)},
				}
				if b.Links == nil {
					return output.TableData{Rows: rows}
				}
				return output.TableData{Rows: append(rows, linkRows(links)...)}
			})
		},
		ValidArgsFunction: bucketArg(f, bo, false),
	}
}

// shownBucket is bucket show with -o json: private is null when the caller is not told.
type shownBucket struct {
	hub.Bucket
	Private *bool `json:"private"`
}

type bucketYesOptions struct {
	yes  bool
	root string
}

func newBucketRmCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	opts := &bucketYesOptions{}
	cmd := &cobra.Command{
		Use:     "rm BUCKET",
		Aliases: []string{"delete"},
		Short:   "Delete a bucket and everything in it",
		Example: `  hubctl bucket rm site
  hubctl bucket rm bafzaajaiaejc... --yes`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := bo.open(ctx, f, args[0])
			if err != nil {
				return err
			}
			if err := f.confirm(opts.yes, fmt.Sprintf("Delete bucket %s (%s) and everything in it?", s.label(), s.b.Key), "refusing to delete a bucket"); err != nil {
				return err
			}
			if err := s.bs.Remove(ctx, s.b.Key); err != nil {
				return err
			}
			f.IO.Infof("Deleted bucket %s (%s).", s.label(), s.b.Key)
			return nil
		},
		ValidArgsFunction: bucketArg(f, bo, false),
	}
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// lsEntry is one line of bucket ls.
type lsEntry = hub.BucketItem

func newBucketLsCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "ls BUCKET[/PATH]",
		Short: "List a directory of a bucket (or describe a file)",
		Long: `List the entries of a directory of a bucket (its root by default): name, size and CID,
directories with a trailing slash. For a file, its own line. The root's .textileseed is
left out.`,
		Example: `  hubctl bucket ls site
  hubctl bucket ls site/img -o json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseBucketRef(args[0])
			if err != nil {
				return err
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			_, l, err := bo.openPath(cmd.Context(), f, ref)
			if err != nil {
				return err
			}
			item, entries := l.item, l.entries
			list := []lsEntry{}
			if !item.IsDir {
				list = append(list, item)
			}
			for _, e := range entries {
				if ref.path == "" && e.Name == buckets.SeedName {
					continue
				}
				list = append(list, e)
			}
			if len(list) == 0 && p.Format == output.Table {
				f.IO.Infof("%s is empty.", ref)
				return nil
			}
			return p.Print(list, func() output.TableData {
				t := output.TableData{Header: []string{"NAME", "SIZE", "CID"}}
				for _, e := range list {
					name := e.Name
					if e.IsDir {
						name += "/"
					}
					t.Rows = append(t.Rows, []string{name, fmt.Sprint(e.Size), e.CID})
				}
				return t
			})
		},
		ValidArgsFunction: bucketArg(f, bo, true),
	}
}

// notInBucket names the bucket and path a missing path is about.
func notInBucket(err error, s *bucketSession, ref bucketRef) error {
	var se *hub.ServerError
	if errors.As(err, &se) && errors.Is(err, hub.ErrNotFound) && ref.path != "" {
		return &hub.ServerError{Class: hub.ErrNotFound, Msg: fmt.Sprintf("bucket %s has no %s", s.label(), ref.path), Hint: "see hubctl bucket ls " + ref.bucket}
	}
	return err
}

// listedPath is one path of a bucket as ListPath answered it.
type listedPath struct {
	item    hub.BucketItem
	entries []hub.BucketItem // a directory's, one level
	bucket  hub.Bucket       // the bucket as of the listing (its root)
}

// openPath opens ref's bucket and lists ref's path in it (the bucket's root for none):
// the start of every command that reads or removes one path. A path the bucket does not
// have is notInBucket's error.
func (o *bucketOptions) openPath(ctx context.Context, f *Factory, ref bucketRef) (*bucketSession, listedPath, error) {
	s, err := o.open(ctx, f, ref.bucket)
	if err != nil {
		return nil, listedPath{}, err
	}
	item, entries, bk, err := s.bs.ListPath(ctx, s.b.Key, ref.path)
	if err != nil {
		return nil, listedPath{}, notInBucket(err, s, ref)
	}
	return s, listedPath{item: item, entries: entries, bucket: bk}, nil
}

func newBucketCatCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "cat BUCKET/PATH",
		Short: "Write a file of a bucket to standard output",
		Example: `  hubctl bucket cat site/index.html
  hubctl bucket cat photos/a.jpg > a.jpg`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseBucketRef(args[0])
			if err != nil {
				return err
			}
			if ref.path == "" {
				return usageErrorf("give the file to print: BUCKET/PATH")
			}
			ctx := cmd.Context()
			s, l, err := bo.openPath(ctx, f, ref)
			if err != nil {
				return err
			}
			if l.item.IsDir {
				return usageErrorf("%s is a directory: list it with hubctl bucket ls, or pull it with hubctl bucket pull", ref)
			}
			_, err = s.bs.PullPath(ctx, s.b.Key, ref.path, f.IO.Out, nil)
			return notInBucket(err, s, ref)
		},
		ValidArgsFunction: bucketArg(f, bo, true),
	}
}

type bucketPushOptions struct {
	root string
}

// pushed is what a push or sync reports with -o json.
type pushed struct {
	Bucket  string           `json:"bucket"`
	Root    string           `json:"root"`
	Pushed  []hub.PushResult `json:"pushed"`
	Deleted []string         `json:"deleted,omitempty"`
	DryRun  bool             `json:"dryRun,omitempty"`
}

func newBucketPushCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	opts := &bucketPushOptions{}
	cmd := &cobra.Command{
		Use:   "push BUCKET[/PATH] FILE|DIR|-",
		Short: "Push a file, a directory or standard input into a bucket",
		Long: `Push FILE to PATH (when PATH is a directory of the bucket, ends with a slash, or is left
out, into it under FILE's name), the files of DIR under PATH (the root by default), or standard input (-)
to PATH. Files are streamed; a directory goes in PushPaths streams of up to 1000 files or
256 MiB, each written as a whole, and the files pushed are listed on standard output.
A push that fails or is cut off leaves the bucket as it was before the stream it was
in. --root CID pushes only if the bucket's root is still CID (bucket show prints it).
Symbolic links and other files that are not regular files are skipped with a warning.`,
		Example: `  hubctl bucket push site index.html
  hubctl bucket push site/img ./photos
  tar c dir | hubctl bucket push backups/dir.tar -`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBucketPush(cmd.Context(), f, bo, args[0], args[1], opts)
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return nil, cobra.ShellCompDirectiveDefault
			}
			return bucketArg(f, bo, true)(cmd, args, toComplete)
		},
	}
	cmd.Flags().StringVar(&opts.root, "root", "", "push only if the bucket's root is still this CID")
	return cmd
}

// localFile is a file to push.
type localFile struct {
	rel  string // bucket path
	abs  string
	size int64
}

// walkLocal lists the regular files under dir, with their bucket paths under prefix,
// refusing a name the bucket cannot hold before anything is sent.
func walkLocal(f *Factory, dir, prefix string) ([]localFile, error) {
	var files []localFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			f.IO.Warnf("skipping %s: not a regular file", p)
			return nil
		}
		bp, err := buckets.CleanPath(path.Join(prefix, rel))
		if err != nil {
			return usageErrorf("cannot push %s: %v", p, err)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, localFile{rel: bp, abs: p, size: info.Size()})
		return nil
	})
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return nil, err
		}
		return nil, usageErrorf("read %s: %v", dir, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return files, nil
}

func runBucketPush(ctx context.Context, f *Factory, bo *bucketOptions, dst, src string, opts *bucketPushOptions) error {
	ref, err := parseBucketRef(dst)
	if err != nil {
		return err
	}
	var info os.FileInfo
	if src != "-" {
		if info, err = os.Stat(src); err != nil {
			return usageErrorf("cannot push %s: %v", src, errors.Unwrap(err))
		}
	} else if ref.path == "" {
		return usageErrorf("give the path standard input goes to: BUCKET/PATH")
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	s, err := bo.open(ctx, f, ref.bucket)
	if err != nil {
		return err
	}
	out := pushed{Bucket: s.b.Key, Root: s.b.Root, Pushed: []hub.PushResult{}}
	switch {
	case src == "-":
		if f.IO.IsStdinTTY() {
			f.IO.Infof("Reading standard input for %s; end it with Ctrl-D (Ctrl-C pushes nothing).", ref)
		}
		bar := newTransferProgress(f, -1, "pushing")
		res, err := s.bs.PushPath(ctx, s.b.Key, ref.path, f.IO.In, hub.PushOptions{Root: opts.root, Progress: bar.bytes})
		bar.done(err == nil)
		if err != nil {
			return pushFailed(err, s, 0)
		}
		out.Pushed, out.Root = append(out.Pushed, res), res.Root
	case info.IsDir():
		files, err := walkLocal(f, src, ref.path)
		if err != nil {
			return err
		}
		if out, err = pushFiles(ctx, f, s, files, opts.root, nil); err != nil {
			return err
		}
	default:
		if !info.Mode().IsRegular() {
			return usageErrorf("cannot push %s: not a regular file or directory", src)
		}
		target := ref.path
		if target == "" || ref.dir {
			target = path.Join(target, filepath.Base(src))
		} else if item, _, _, err := s.bs.ListPath(ctx, s.b.Key, target); err == nil && item.IsDir {
			target = path.Join(target, filepath.Base(src))
		}
		if target, err = buckets.CleanPath(target); err != nil {
			return usageErrorf("cannot push %s: %v", src, err)
		}
		fh, err := os.Open(src)
		if err != nil {
			return usageErrorf("cannot push %s: %v", src, errors.Unwrap(err))
		}
		defer fh.Close()
		bar := newTransferProgress(f, info.Size(), "pushing")
		res, err := s.bs.PushPath(ctx, s.b.Key, target, fh, hub.PushOptions{Root: opts.root, Progress: bar.bytes})
		bar.done(err == nil)
		if err != nil {
			return pushFailed(err, s, 0)
		}
		out.Pushed, out.Root = append(out.Pushed, res), res.Root
	}
	return printPushed(f, p, s, out, nil)
}

// pushFailed says what a failed push left.
func pushFailed(err error, s *bucketSession, written int) error {
	if written == 0 {
		return err
	}
	return fmt.Errorf("%w (%s written before it)", err, plural(written, "file"))
}

// pushFiles pushes files through the write pipeline, one PushPaths stream a batch; each
// batch names the root the one before it left (with --root, the first names that). With
// sums, the SHA-256 of each file's bytes as sent is recorded there. What it returns holds
// the files pushed before a failure too.
func pushFiles(ctx context.Context, f *Factory, s *bucketSession, files []localFile, root string, sums *sentSums) (pushed, error) {
	out := pushed{Bucket: s.b.Key, Root: s.b.Root, Pushed: []hub.PushResult{}}
	var total int64
	for _, lf := range files {
		total += lf.size
	}
	bar := newTransferProgress(f, total, "pushing")
	i := 0
	src := pipeline.SourceFunc[localFile](func(context.Context) (pipeline.Item[localFile], error) {
		if i == len(files) {
			return pipeline.Item[localFile]{}, io.EOF
		}
		lf := files[i]
		i++
		return pipeline.Item[localFile]{Value: lf, Target: s.b.Key, Size: lf.size}, nil
	})
	var base int64
	_, err := pipeline.Run(ctx, src, pipeline.Config[localFile]{
		MaxItems: pushBatchFiles,
		MaxBytes: pushBatchBytes,
		Send: func(ctx context.Context, b pipeline.Batch[localFile]) error {
			var batch []hub.PushFile
			for _, lf := range b.Values() {
				abs, rel := lf.abs, lf.rel
				open := func() (io.ReadCloser, error) { return os.Open(abs) }
				if sums != nil {
					open = func() (io.ReadCloser, error) { return sums.open(rel, abs) }
				}
				batch = append(batch, hub.PushFile{Path: lf.rel, Open: open})
			}
			var got []hub.PushResult
			newRoot, err := s.bs.PushPaths(ctx, s.b.Key, batch, hub.PushOptions{Root: root, Progress: func(n int64) { bar.bytes(base + n) }},
				func(r hub.PushResult) { got = append(got, r); bar.files(len(out.Pushed) + len(got)) })
			if err != nil {
				return err
			}
			base += b.Bytes
			if root != "" {
				root = newRoot
			}
			out.Root = newRoot
			out.Pushed = append(out.Pushed, got...)
			return nil
		},
	})
	bar.done(err == nil)
	if err != nil {
		var st *pipeline.StoppedError[localFile]
		if errors.As(err, &st) {
			err = st.Err
		}
		return out, pushFailed(err, s, len(out.Pushed))
	}
	return out, nil
}

func printPushed(f *Factory, p *output.Printer, s *bucketSession, out pushed, unchanged *int) error {
	var bytes int64
	for _, r := range out.Pushed {
		bytes += r.Size
	}
	// The server answers in the order files complete; the listing is in path order.
	sort.Slice(out.Pushed, func(i, j int) bool { return out.Pushed[i].Path < out.Pushed[j].Path })
	if p.Format != output.Table {
		return p.Print(out, nil)
	}
	for _, r := range out.Pushed {
		if _, err := fmt.Fprintln(f.IO.Out, r.Path); err != nil {
			return err
		}
	}
	summary := fmt.Sprintf("Pushed %s to bucket %s", plural(len(out.Pushed), "file"), s.label())
	if unchanged != nil {
		summary += fmt.Sprintf(", %d unchanged", *unchanged)
	}
	f.IO.Infof("%s; its root is %s.", summary, out.Root)
	return nil
}

type bucketPullOptions struct{}

func newBucketPullCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pull BUCKET[/PATH] DIR|FILE|-",
		Short: "Pull a file or a directory of a bucket to local files or standard output",
		Long: `Pull the file at PATH into FILE (or into DIR under its name when DIR is a directory), or
to standard output (-); or every file under a directory PATH (the root by default) into
DIR, made if missing, keeping the tree. Each file is written to a temporary file beside
it and renamed into place when complete, so an error leaves no half-written file;
existing files are replaced.`,
		Example: `  hubctl bucket pull site ./site-copy
  hubctl bucket pull site/index.html index.html
  hubctl bucket pull backups/dir.tar - | tar x`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBucketPull(cmd.Context(), f, bo, args[0], args[1])
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return nil, cobra.ShellCompDirectiveDefault
			}
			return bucketArg(f, bo, true)(cmd, args, toComplete)
		},
	}
	return cmd
}

func runBucketPull(ctx context.Context, f *Factory, bo *bucketOptions, srcArg, dst string) error {
	ref, err := parseBucketRef(srcArg)
	if err != nil {
		return err
	}
	s, l, err := bo.openPath(ctx, f, ref)
	if err != nil {
		return err
	}
	item := l.item
	if !item.IsDir {
		if dst == "-" {
			_, err := s.bs.PullPath(ctx, s.b.Key, ref.path, f.IO.Out, nil)
			return notInBucket(err, s, ref)
		}
		target := dst
		if st, err := os.Stat(dst); err == nil && st.IsDir() {
			target = filepath.Join(dst, path.Base(ref.path))
		}
		bar := newTransferProgress(f, item.Size, "pulling")
		err = pullFile(ctx, s, "", ref.path, target, nil, bar.bytes)
		bar.done(err == nil)
		if err != nil {
			return err
		}
		f.IO.Infof("Pulled %s into %s.", ref, target)
		return nil
	}
	if dst == "-" {
		return usageErrorf("%s is a directory: pull it into a DIR", ref)
	}
	var files []hub.BucketItem
	root, err := s.walk(ctx, ref.path, func(it hub.BucketItem) error { files = append(files, it); return nil })
	if err != nil {
		return err
	}
	n, err := pullFiles(ctx, f, s, root, ref.path, files, dst, nil)
	if err != nil {
		return err
	}
	f.IO.Infof("Pulled %s from %s into %s.", plural(n, "file"), ref, dst)
	return nil
}

// pullWorkers is how many files a pull of many fetches at once: each is a stream of its
// own, and most of a small file's time is the round trip.
const pullWorkers = 4

// pullFiles pulls files (under the bucket directory from, as of root) into dir, a few at a
// time. It returns how many were written; on an error, the others under way finish or
// fail, and none is started after it. With sums, the SHA-256 of each file written is
// recorded there by bucket path. A private bucket's files are pulled as they are now
// (PullPath): under a root, their blocks are ciphertext.
func pullFiles(ctx context.Context, f *Factory, s *bucketSession, root, from string, files []hub.BucketItem, dir string, sums *sentSums) (int, error) {
	if s.sealed() {
		root = ""
	}
	var total int64
	for _, it := range files {
		total += it.Size
	}
	bar := newTransferProgress(f, total, "pulling")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		received int64
		done     int
		firstErr error
	)
	jobs := make(chan hub.BucketItem)
	var wg sync.WaitGroup
	for range min(pullWorkers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range jobs {
				rel := strings.TrimPrefix(strings.TrimPrefix(it.Path, from), "/")
				target := filepath.Join(dir, filepath.FromSlash(rel))
				err := os.MkdirAll(filepath.Dir(target), 0o755)
				if err != nil {
					err = fmt.Errorf("pull %s: %v", it.Path, err)
				} else {
					var last int64
					var h hash.Hash
					if sums != nil {
						h = sha256.New()
					}
					err = pullFile(ctx, s, root, it.Path, target, h, func(n int64) {
						mu.Lock()
						received += n - last
						last = n
						r := received
						mu.Unlock()
						bar.bytes(r)
					})
					if err == nil && h != nil {
						sums.put(it.Path, hex.EncodeToString(h.Sum(nil)))
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if err == nil {
					done++
				}
				n := done
				mu.Unlock()
				if err == nil {
					bar.files(n)
				}
			}
		}()
	}
feed:
	for _, it := range files {
		select {
		case jobs <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	bar.done(firstErr == nil && ctx.Err() == nil)
	if firstErr != nil {
		return done, firstErr
	}
	return done, ctx.Err()
}

// writebackEvery is how many bytes a pull writes between the syncs that keep the disk
// writing while the stream goes on.
const writebackEvery = 32 << 20

// writeback writes to a file and, every writebackEvery bytes, syncs it in the background:
// the disk then writes a large pull while it streams in, rather than all of it at the
// final sync (which stays, and is what makes the file durable before its rename). A
// background sync's failure is kept: a later sync may not report it again.
type writeback struct {
	f       *os.File
	pending int64
	kick    chan struct{}
	done    chan struct{}
	err     error // the background syncs' first, read after done
}

func newWriteback(f *os.File) *writeback {
	w := &writeback{f: f, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for range w.kick {
			if w.err == nil {
				w.err = f.Sync()
			}
		}
	}()
	return w
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if w.pending += int64(n); w.pending >= writebackEvery {
		w.pending = 0
		select {
		case w.kick <- struct{}{}:
		default: // a sync is still running: the next one takes these bytes too
		}
	}
	return n, err
}

// finish waits for the background sync and returns its error.
func (w *writeback) finish() error {
	close(w.kick)
	<-w.done
	if w.err != nil {
		return fmt.Errorf("sync: %v", w.err)
	}
	return nil
}

// root, when set, is the bucket root to read p under (PullAt), else the current one. h,
// when set, is given every byte written.
func pullFile(ctx context.Context, s *bucketSession, root, p, target string, h hash.Hash, progress func(int64)) error {
	dir, name := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("pull %s: %v", p, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	w := newWriteback(tmp)
	var dst io.Writer = w
	if h != nil {
		dst = io.MultiWriter(w, h)
	}
	if root != "" {
		_, err = s.bs.PullAt(ctx, root, p, dst, progress)
	} else {
		_, err = s.bs.PullPath(ctx, s.b.Key, p, dst, progress)
	}
	if werr := w.finish(); err == nil {
		err = werr
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		var se *hub.ServerError
		if errors.As(err, &se) || errors.Is(err, context.Canceled) {
			return err
		}
		var ue *hub.UnreachableError
		if errors.As(err, &ue) {
			return err
		}
		return fmt.Errorf("pull %s into %s: %v", p, target, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("pull %s: %v", p, err)
	}
	return nil
}

func newBucketMvCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "mv BUCKET/FROM TO",
		Short: "Move or rename a file or directory within a bucket",
		Long: `Move FROM to TO, a path in the same bucket: into TO when it is a directory, else to
TO itself ("" or / is the root).`,
		Example: `  hubctl bucket mv site/old.html new.html
  hubctl bucket mv site/img assets/`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseBucketRef(args[0])
			if err != nil {
				return err
			}
			if ref.path == "" {
				return usageErrorf("give the path to move: BUCKET/FROM (the root cannot be moved)")
			}
			to, err := buckets.CleanPath(args[1])
			if err != nil {
				return usageErrorf("%v", err)
			}
			ctx := cmd.Context()
			s, err := bo.open(ctx, f, ref.bucket)
			if err != nil {
				return err
			}
			if err := s.bs.MovePath(ctx, s.b.Key, ref.path, to); err != nil {
				return notInBucket(err, s, ref)
			}
			f.IO.Infof("Moved %s to /%s in bucket %s.", ref.path, to, s.label())
			return nil
		},
		ValidArgsFunction: bucketArg(f, bo, true),
	}
}

func newBucketRmPathCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	opts := &bucketYesOptions{}
	cmd := &cobra.Command{
		Use:   "rm-path BUCKET/PATH",
		Short: "Remove a file or a directory (with everything in it) from a bucket",
		Example: `  hubctl bucket rm-path site/old.html
  hubctl bucket rm-path site/img --yes`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseBucketRef(args[0])
			if err != nil {
				return err
			}
			if ref.path == "" {
				return usageErrorf("give the path to remove: BUCKET/PATH (hubctl bucket rm deletes a whole bucket)")
			}
			ctx := cmd.Context()
			s, l, err := bo.openPath(ctx, f, ref)
			if err != nil {
				return err
			}
			item := l.item
			what := "file"
			if item.IsDir {
				what = fmt.Sprintf("directory of %s", plural(item.Items, "entry"))
			}
			if err := f.confirm(opts.yes, fmt.Sprintf("Remove %s (a %s) from bucket %s?", ref.path, what, s.label()), "refusing to remove a path"); err != nil {
				return err
			}
			root, err := s.bs.RemovePath(ctx, s.b.Key, ref.path, opts.root)
			if err != nil {
				return notInBucket(err, s, ref)
			}
			f.IO.Infof("Removed %s from bucket %s; its root is %s.", ref.path, s.label(), root)
			return nil
		},
		ValidArgsFunction: bucketArg(f, bo, true),
	}
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&opts.root, "root", "", "remove only if the bucket's root is still this CID")
	return cmd
}

func newBucketLinksCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	var showToken bool
	cmd := &cobra.Command{
		Use:   "links BUCKET[/PATH]",
		Short: "Print where the server's gateway serves a bucket or a path in it",
		Long: `Print the gateway's links to a bucket or a path in it. The links of a private bucket
carry your user token (?token=, as the Hub's did), which lets anyone who has the link
read what your role lets you read: it is printed as REDACTED unless --show-token.`,
		Example: `  hubctl bucket links site
  hubctl bucket links site/index.html -o json
  hubctl bucket links vault/report.pdf --show-token`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseBucketRef(args[0])
			if err != nil {
				return err
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := bo.open(ctx, f, ref.bucket)
			if err != nil {
				return err
			}
			links, err := s.bs.Links(ctx, s.b.Key, ref.path)
			if err != nil {
				return roleRefused(f, bo, notInBucket(err, s, ref), ref, hub.RoleReader, "read it")
			}
			links = redactLinks(links, showToken)
			return p.Print(links, func() output.TableData {
				return output.TableData{Rows: linkRows(links)}
			})
		},
		ValidArgsFunction: bucketArg(f, bo, true),
	}
	cmd.Flags().BoolVar(&showToken, "show-token", false, "print the user token the links of a private bucket carry")
	return cmd
}

// noGateway stands for the links of a server that serves no gateway.
const noGateway = "(none: the server serves no gateway)"

func linkRows(l hub.BucketLinks) [][]string {
	or := func(s string) string {
		if s == "" {
			return noGateway
		}
		return s
	}
	rows := [][]string{{"URL:", or(l.URL)}, {"IPNS:", or(l.IPNS)}}
	if l.WWW != "" {
		rows = append(rows, []string{"WWW:", l.WWW})
	}
	return rows
}

// transferProgress is pipeline's bar of bytes (and files) on standard error when it is a
// terminal, else nothing. Bytes come from the sending goroutine and files from the one
// receiving answers, so it takes a lock.
type transferProgress struct {
	mu    sync.Mutex
	bar   *pipeline.Bar
	sent  int64
	count int
}

func newTransferProgress(f *Factory, size int64, what string) *transferProgress {
	return &transferProgress{bar: pipeline.NewBar(pipeline.BarOptions{Out: f.IO.ErrOut, Terminal: f.IO.IsStderrTTY(),
		Shared: f.IO.IsStdoutTTY(), Size: size, What: what})}
}

func (p *transferProgress) bytes(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = n
	p.bar.Update(n, plural(p.count, "file"))
}

func (p *transferProgress) files(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count = n
	p.bar.Update(p.sent, plural(n, "file"))
}

// done ends the bar; a transfer of one file, which counts none on the way, ends at one.
func (p *transferProgress) done(ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok && p.count == 0 {
		p.bar.Update(p.sent, plural(1, "file"))
	}
	p.bar.Done(ok)
}

// bucketArg completes BUCKET (with pathToo, BUCKET/PATH: the entries of the directory
// typed so far) for the first argument.
func bucketArg(f *Factory, bo *bucketOptions, pathToo bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := commandContext(cmd)
		name, rest, hasPath := strings.Cut(toComplete, "/")
		if !hasPath || !pathToo {
			out := askServer(ctx, f, func(ctx context.Context, c *hub.Client) ([]cobra.Completion, error) {
				id, err := c.BucketsDB(ctx, bo.db, false)
				if err != nil {
					return nil, err
				}
				all, err := c.Buckets(id).List(ctx)
				if err != nil {
					return nil, err
				}
				var out []cobra.Completion
				for _, b := range all {
					v := b.Name
					if v == "" {
						v = b.Key
					}
					out = append(out, cobra.CompletionWithDesc(v, b.Key))
				}
				return out, nil
			})
			out = matching(out, toComplete, nil)
			if pathToo && len(out) == 1 {
				v, _, _ := strings.Cut(out[0], "\t")
				return []cobra.Completion{v + "/"}, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		dir := ""
		if i := strings.LastIndex(rest, "/"); i >= 0 {
			dir = rest[:i]
		}
		out := askServer(ctx, f, func(ctx context.Context, c *hub.Client) ([]cobra.Completion, error) {
			id, err := c.BucketsDB(ctx, bo.db, false)
			if err != nil {
				return nil, err
			}
			bs := c.Buckets(id)
			b, err := bs.Resolve(ctx, name)
			if err != nil {
				return nil, err
			}
			_, entries, _, err := bs.ListPath(ctx, b.Key, dir)
			if err != nil {
				return nil, err
			}
			var out []cobra.Completion
			for _, e := range entries {
				if dir == "" && e.Name == buckets.SeedName {
					continue
				}
				v := name + "/" + e.Path
				if e.IsDir {
					v += "/"
				}
				out = append(out, v)
			}
			return out, nil
		})
		return matching(out, toComplete, nil), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

type bucketSyncOptions struct {
	delete bool
	dryRun bool
	yes    bool
}

func newBucketSyncCmd(f *Factory, bo *bucketOptions) *cobra.Command {
	opts := &bucketSyncOptions{}
	cmd := &cobra.Command{
		Use:   "sync LOCALDIR BUCKET[/PATH] | sync BUCKET[/PATH] LOCALDIR",
		Short: "Make a bucket directory match a local one, or the other way round",
		Long: `Send only what differs. With LOCALDIR first (it must be an existing directory), push each
local file whose content differs from the bucket's file at the same path under PATH:
CIDs are computed locally exactly as the server builds them, so an unchanged file is
not sent. With BUCKET first, pull each bucket file that differs from the local one into
LOCALDIR (made if missing). A first argument that is an existing directory is LOCALDIR;
write ./NAME for a directory named like a bucket.

--delete also removes what the source does not have (asking first on a terminal; --yes
skips the question); --dry-run prints what would change and changes nothing. Each file
sent or removed is printed on standard output ("push PATH", "pull PATH", "delete PATH":
bucket paths when pushing, paths under LOCALDIR when pulling), and a summary on standard
error. Each write names the bucket root the comparison was made on, so a bucket changed
meanwhile is not overwritten: the sync stops and says to run it again.`,
		Example: `  hubctl bucket sync ./public site
  hubctl bucket sync ./public site --delete --yes
  hubctl bucket sync site/img ./img --dry-run`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if st, err := os.Stat(args[0]); err == nil {
				if !st.IsDir() {
					return usageErrorf("cannot sync %s: it is a file; give a LOCALDIR and a BUCKET[/PATH]", args[0])
				}
				err := runBucketSyncUp(cmd.Context(), f, bo, args[0], args[1], opts)
				if ref, perr := parseBucketRef(args[1]); perr == nil {
					err = roleRefused(f, bo, err, ref, hub.RoleWriter, "push there")
				}
				return err
			}
			err := runBucketSyncDown(cmd.Context(), f, bo, args[0], args[1], opts)
			if ref, perr := parseBucketRef(args[0]); perr == nil {
				err = roleRefused(f, bo, err, ref, hub.RoleReader, "pull it")
			}
			return err
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 {
				out, dir := bucketArg(f, bo, true)(cmd, args, toComplete)
				if len(out) == 0 {
					return nil, cobra.ShellCompDirectiveFilterDirs
				}
				return out, dir
			}
			if _, err := os.Stat(args[0]); err == nil {
				return bucketArg(f, bo, true)(cmd, nil, toComplete)
			}
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
	}
	cmd.Flags().BoolVar(&opts.delete, "delete", false, "also remove what the source does not have")
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "print what would change, change nothing")
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "do not ask before --delete removes anything")
	return cmd
}

// compared is a bucket directory compared with local files.
type compared struct {
	remote map[string]hub.BucketItem // by path relative to the directory
	root   string                    // the bucket root remote is of
	// same reports whether the local file abs holds what the bucket holds as it.
	same func(abs string, it hub.BucketItem) bool
	// private is the state a private bucket is compared by (nil for a public one).
	private *privateCompare
}

// compareTree walks the bucket directory dir (remoteFiles) and hashes each local file
// that has a counterpart there (local: the local files by path relative to dir). A public
// bucket's files are compared by CID, computed locally as the server builds them, during
// the walk; a private bucket's (whose CIDs are of ciphertext) by the sync state.
func compareTree(ctx context.Context, f *Factory, s *bucketSession, dir string, local map[string]localFile) (compared, error) {
	if s.sealed() {
		return comparePrivate(ctx, f, s, dir, local)
	}
	h := buckets.NewFileHasher(ctx)
	remote, root, err := remoteFiles(ctx, s, dir, func(rel string, it hub.BucketItem) {
		if lf, ok := local[rel]; ok && !it.IsDir {
			h.Add(lf.abs)
		}
	})
	cids, herr := h.Wait(ctx)
	if err != nil {
		return compared{}, err
	}
	if herr != nil {
		return compared{}, herr
	}
	return compared{remote: remote, root: root, same: func(abs string, it hub.BucketItem) bool {
		c, ok := cids[abs]
		return ok && c == it.CID
	}}, nil
}

func comparePrivate(ctx context.Context, f *Factory, s *bucketSession, dir string, local map[string]localFile) (compared, error) {
	statePath, err := syncStatePath(f, s.bs.DB().String(), s.b.Key)
	if err != nil {
		return compared{}, err
	}
	var toHash []string
	remote, root, err := remoteFiles(ctx, s, dir, func(rel string, it hub.BucketItem) {
		if lf, ok := local[rel]; ok && !it.IsDir {
			toHash = append(toHash, lf.abs)
		}
	})
	if err != nil {
		return compared{}, err
	}
	pc := &privateCompare{statePath: statePath, state: loadSyncState(f, statePath)}
	if pc.sums, err = sha256Files(ctx, toHash); err != nil {
		return compared{}, err
	}
	return compared{remote: remote, root: root, same: pc.same, private: pc}, nil
}

// remoteFiles lists a bucket directory's files by path relative to it (nothing when it
// does not exist yet), telling found of each as the walk reaches it, as of the bucket
// root it returns: s.b.Root, the one the session
// read (WalkAt: no second read of a bucket instance that may hold metadata for 10,000
// paths), else the current one.
func remoteFiles(ctx context.Context, s *bucketSession, dir string, found func(rel string, it hub.BucketItem)) (map[string]hub.BucketItem, string, error) {
	files := map[string]hub.BucketItem{}
	add := func(it hub.BucketItem) error {
		rel := strings.TrimPrefix(strings.TrimPrefix(it.Path, dir), "/")
		files[rel] = it
		found(rel, it)
		return nil
	}
	root, err := s.b.Root, error(nil)
	if root != "" && !s.sealed() {
		err = s.bs.WalkAt(ctx, root, dir, add)
	} else {
		root, err = s.walk(ctx, dir, add)
	}
	if errors.Is(err, hub.ErrNotFound) && dir != "" {
		return files, s.b.Root, nil
	}
	return files, root, err
}

func runBucketSyncUp(ctx context.Context, f *Factory, bo *bucketOptions, local, dst string, opts *bucketSyncOptions) error {
	ref, err := parseBucketRef(dst)
	if err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	files, err := walkLocal(f, local, ref.path)
	if err != nil {
		return err
	}
	s, err := bo.open(ctx, f, ref.bucket)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	byRel := make(map[string]localFile, len(files))
	for _, lf := range files {
		rel := strings.TrimPrefix(strings.TrimPrefix(lf.rel, ref.path), "/")
		seen[rel] = true
		byRel[rel] = lf
	}
	// The local files the bucket has too are compared (by CID, or by the state of a
	// private bucket).
	cmp, err := compareTree(ctx, f, s, ref.path, byRel)
	if err != nil {
		return err
	}
	remote := cmp.remote
	s.b.Root = cmp.root // what the comparison is made on
	var send []localFile
	unchanged := 0
	kept := map[string]syncEntry{} // a private bucket's state entries of the unchanged files
	for _, lf := range files {
		rel := strings.TrimPrefix(strings.TrimPrefix(lf.rel, ref.path), "/")
		if it, ok := remote[rel]; ok && !it.IsDir && cmp.same(lf.abs, it) {
			unchanged++
			if cmp.private != nil {
				kept[it.Path] = cmp.private.entry(lf.abs, it)
			}
			continue
		}
		send = append(send, lf)
	}
	var gone []string
	if opts.delete {
		for rel := range remote {
			if !seen[rel] && !underFile(rel, seen) {
				gone = append(gone, path.Join(ref.path, rel))
			}
		}
		sort.Strings(gone)
	}
	out := pushed{Bucket: s.b.Key, Root: s.b.Root, Pushed: []hub.PushResult{}, Deleted: gone, DryRun: opts.dryRun}
	if opts.dryRun {
		for _, lf := range send {
			out.Pushed = append(out.Pushed, hub.PushResult{Path: lf.rel, Size: lf.size})
		}
		return printSync(f, p, s, out, "push", unchanged)
	}
	if len(gone) > 0 {
		if err := f.confirm(opts.yes, fmt.Sprintf("Remove %s from bucket %s that %s does not have?", plural(len(gone), "file"), s.label(), local), "refusing to remove files (--delete)"); err != nil {
			return err
		}
	}
	// Every write names the root the comparison was made on (then the one the write
	// before it left): a bucket that someone else changed meanwhile is not overwritten.
	var sent *sentSums
	if cmp.private != nil {
		sent = newSentSums()
	}
	if len(send) > 0 {
		res, err := pushFiles(ctx, f, s, send, s.b.Root, sent)
		if cmp.private != nil { // what was pushed before a failure is in the bucket
			if serr := savePushedState(cmp.private, s, ref.path, kept, res.Pushed, sent); serr != nil && err == nil {
				err = serr
			}
		}
		if err != nil {
			return syncStale(err, s)
		}
		out.Pushed, out.Root = res.Pushed, res.Root
	} else if cmp.private != nil {
		if err := savePushedState(cmp.private, s, ref.path, kept, nil, nil); err != nil {
			return err
		}
	}
	for i, g := range gone {
		root, err := s.bs.RemovePath(ctx, s.b.Key, g, out.Root)
		if err != nil {
			return fmt.Errorf("remove %s: %w (%s pushed, %d of %d removed before it)", g, syncStale(err, s), plural(len(out.Pushed), "file"), i, len(gone))
		}
		out.Root = root
	}
	return printSync(f, p, s, out, "push", unchanged)
}

// underFile reports whether a directory above rel is a local file: the push of that file
// replaces the whole directory, rel included, so there is nothing left to remove.
func underFile(rel string, local map[string]bool) bool {
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		if local[d] {
			return true
		}
	}
	return false
}

// syncStale says what a stale root means for a sync.
func syncStale(err error, s *bucketSession) error {
	if hub.IsStaleRoot(err) {
		return withCode(ExitError, fmt.Errorf("bucket %s changed while sync compared it (update is non-fast-forward); nothing after that was written: run the sync again", s.label()))
	}
	return err
}

func printSync(f *Factory, p *output.Printer, s *bucketSession, out pushed, verb string, unchanged int) error {
	sort.Slice(out.Pushed, func(i, j int) bool { return out.Pushed[i].Path < out.Pushed[j].Path })
	if p.Format != output.Table {
		return p.Print(out, nil)
	}
	for _, r := range out.Pushed {
		if _, err := fmt.Fprintf(f.IO.Out, "%s %s\n", verb, r.Path); err != nil {
			return err
		}
	}
	for _, d := range out.Deleted {
		if _, err := fmt.Fprintf(f.IO.Out, "delete %s\n", d); err != nil {
			return err
		}
	}
	done := map[string]string{"push": "Pushed", "pull": "Pulled"}[verb]
	summary := fmt.Sprintf("%s %s, deleted %d, %d unchanged", done, plural(len(out.Pushed), "file"), len(out.Deleted), unchanged)
	switch {
	case out.DryRun:
		summary = fmt.Sprintf("Would have %s; nothing was changed (--dry-run)", strings.ToLower(summary[:1])+summary[1:])
		f.IO.Infof("%s.", summary)
	case verb == "push":
		f.IO.Infof("%s; bucket %s's root is %s.", summary, s.label(), out.Root)
	default:
		f.IO.Infof("%s.", summary)
	}
	return nil
}

func runBucketSyncDown(ctx context.Context, f *Factory, bo *bucketOptions, srcArg, local string, opts *bucketSyncOptions) error {
	ref, err := parseBucketRef(srcArg)
	if err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	s, l, err := bo.openPath(ctx, f, ref)
	if err != nil {
		return err
	}
	if !l.item.IsDir {
		return usageErrorf("%s is a file: sync syncs directories; pull a file with hubctl bucket pull", ref)
	}
	bk := l.bucket
	s.b.Root = bk.Root // the root that listing was of: the walk reads the same one
	localFiles := map[string]localFile{}
	if st, err := os.Stat(local); err == nil && st.IsDir() {
		files, err := walkLocal(f, local, "")
		if err != nil {
			return err
		}
		for _, lf := range files {
			localFiles[lf.rel] = lf
		}
	} else if err == nil {
		return usageErrorf("cannot sync into %s: it is a file", local)
	}
	// The bucket's files there are locally too are compared (by CID, or by the state of
	// a private bucket).
	cmp, err := compareTree(ctx, f, s, ref.path, localFiles)
	if err != nil {
		return err
	}
	remote, root := cmp.remote, cmp.root
	kept := map[string]syncEntry{}
	var get []hub.BucketItem
	unchanged := 0
	rels := make([]string, 0, len(remote))
	for rel := range remote {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		it := remote[rel]
		if lf, ok := localFiles[rel]; ok && cmp.same(lf.abs, it) {
			unchanged++
			if cmp.private != nil {
				kept[it.Path] = cmp.private.entry(lf.abs, it)
			}
			continue
		}
		get = append(get, it)
	}
	var gone []string
	if opts.delete {
		for rel := range localFiles {
			if _, ok := remote[rel]; !ok {
				gone = append(gone, rel)
			}
		}
		sort.Strings(gone)
	}
	out := pushed{Bucket: s.b.Key, Root: s.b.Root, Pushed: []hub.PushResult{}, Deleted: gone, DryRun: opts.dryRun}
	for _, it := range get { // paths relative to the directories synced, as deletes are
		rel := strings.TrimPrefix(strings.TrimPrefix(it.Path, ref.path), "/")
		out.Pushed = append(out.Pushed, hub.PushResult{Path: rel, CID: it.CID, Size: it.Size})
	}
	if opts.dryRun {
		return printSync(f, p, s, out, "pull", unchanged)
	}
	if len(gone) > 0 {
		if err := f.confirm(opts.yes, fmt.Sprintf("Remove %s from %s that bucket %s does not have?", plural(len(gone), "file"), local, s.label()), "refusing to remove files (--delete)"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(local, 0o755); err != nil {
		return fmt.Errorf("create %s: %v", local, err)
	}
	// Removals first, with the directories they empty: a bucket file may be pulled where
	// a local directory of its name held only what is removed.
	for _, g := range gone {
		if err := os.Remove(localFiles[g].abs); err != nil {
			return fmt.Errorf("remove %s: %v", localFiles[g].abs, err)
		}
		for d := filepath.Dir(localFiles[g].abs); d != filepath.Clean(local) && os.Remove(d) == nil; d = filepath.Dir(d) {
		}
	}
	var got *sentSums
	if cmp.private != nil {
		got = newSentSums()
	}
	n, err := pullFiles(ctx, f, s, root, ref.path, get, local, got)
	if cmp.private != nil {
		if serr := savePulledState(ctx, cmp.private, s, ref.path, root, kept, get, got); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return fmt.Errorf("%w (%s pulled before it)", err, plural(n, "file"))
	}
	return printSync(f, p, s, out, "pull", unchanged)
}
