package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/textileio/go-threads/core/thread"
	bpb "github.com/textileio/textile/v2/api/bucketsd/pb"
	"github.com/textileio/textile/v2/api/common"
	userspb "github.com/textileio/textile/v2/api/usersd/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Buckets on the command line's side: textile's bucketsd API (api.bucketsd.pb.APIService)
// over the client's shared connection, with the database a bucket lives in sent as the
// x-textile-thread header, as textile's Go and JS clients do. A bucket is an instance of
// the collection "buckets" of a thread database; by default the identity's database named
// "buckets", which Create makes when there is none (the JS client's getOrCreate).
const (
	// BucketsDBName is the name of the database buckets go in by default.
	BucketsDBName = "buckets"
	// BucketChunk is the size of the chunks a push sends: about 1 MiB, where the Hub's
	// clients sent 32 KiB (servers take any chunk up to their message size: the Hub's
	// 4 MiB, the daemon's --max-message-size, at least 1 MiB, which this stays under with
	// room for the message's own fields). bench/buckets.sh, 512 MiB: 0.62 of ipfs-lite's
	// own AddFile with 32 KiB chunks, 0.73 with 256 KiB, 0.79 with 1 MiB.
	BucketChunk = 1<<20 - 4<<10
	// SeedName is the random file every bucket root holds (pkg/buckets.SeedName).
	SeedName = ".textileseed"
)

// The servers' words for a stale root and a missing path (textile's bucketsd and
// go-path's resolver); hubctl's servers keep them.
const (
	msgNonFastForward = "update is non-fast-forward"
	msgNoLink         = "no link named"
	msgNoLinkByName   = "no link by that name"
	msgInstanceNF     = "instance not found"
	// msgNoPath is the Hub's word for a missing path of a private bucket (and of the role
	// methods).
	msgNoPath = "could not resolve path"
)

// ErrStaleRoot is a write that named a root (--root) the bucket no longer has.
var ErrStaleRoot = errors.New("stale root")

// Bucket is a bucket as the server describes it.
type Bucket struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	DB   string `json:"db"`
	// Root is the CID of the bucket's root directory.
	Root  string `json:"root"`
	Owner string `json:"owner,omitempty"`
	// Private: the server encrypts the bucket's files and directories (the Hub's private
	// buckets); its CIDs and sizes are the ciphertext's.
	Private   bool         `json:"private"`
	CreatedAt time.Time    `json:"createdAt"`
	UpdatedAt time.Time    `json:"updatedAt"`
	Links     *BucketLinks `json:"links,omitempty"`
}

// BucketLinks are where the server's gateway serves a bucket (or a path in it).
type BucketLinks struct {
	URL  string `json:"url"`
	WWW  string `json:"www,omitempty"`
	IPNS string `json:"ipns"`
}

// BucketItem is a file or directory of a bucket.
type BucketItem struct {
	Name string `json:"name"`
	// Path is relative to the bucket's root, without a leading slash ("" is the root).
	Path  string `json:"path"`
	CID   string `json:"cid"`
	Size  int64  `json:"size"`
	IsDir bool   `json:"isDir"`
	// Items is how many entries a directory holds.
	Items int `json:"items,omitempty"`
}

// Buckets is the buckets of one database, over the client's connection. Its streams
// (pushes, pulls) may run at once from several goroutines; other calls may not, as for
// every call of the Client.
type Buckets struct {
	c  *Client
	db thread.ID
	// tokenMu serialises the streams' token lookups (the Client's token state has no lock
	// of its own: a command's calls are otherwise sequential).
	tokenMu *sync.Mutex
}

// Buckets returns the buckets of database db.
func (c *Client) Buckets(db thread.ID) *Buckets {
	return &Buckets{c: c, db: db, tokenMu: &sync.Mutex{}}
}

// DB is the database the buckets are in.
func (b *Buckets) DB() thread.ID { return b.db }

// BucketsDB finds the database buckets go in: ref (an ID or a name) when given, else the
// identity's database named "buckets" (users GetThread, as the JS client does). When there
// is none and create is set, it is made (NewDB, named "buckets"); else ErrNotFound.
func (c *Client) BucketsDB(ctx context.Context, ref string, create bool) (thread.ID, error) {
	if ref != "" {
		return c.ResolveDB(ctx, ref)
	}
	conn, err := c.Conn(ctx)
	if err != nil {
		return thread.Undef, err
	}
	api := userspb.NewAPIServiceClient(conn)
	var id thread.ID
	err = c.authorized(ctx, func(ctx context.Context) error {
		res, err := api.GetThread(ctx, &userspb.GetThreadRequest{Name: BucketsDBName})
		if err != nil {
			return err
		}
		if id, err = thread.Cast(res.Id); err != nil {
			return fmt.Errorf("the server answered with an invalid thread ID: %w", err)
		}
		return nil
	})
	if err == nil || !isNotFound(err) {
		return id, err
	}
	if !create {
		return thread.Undef, &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("you have no database named %q on %s, so no buckets there", BucketsDBName, c.opts.Target),
			Hint: "create a bucket with hubctl bucket create NAME, or name a database with --db"}
	}
	id = thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, BucketsDBName); err != nil {
		return thread.Undef, fmt.Errorf("create the database %q for buckets: %w", BucketsDBName, err)
	}
	return id, nil
}

// unary runs one bucketsd call in the database's context, with the client's retry of a
// stale token and its --timeout.
func (b *Buckets) unary(ctx context.Context, fn func(ctx context.Context, api bpb.APIServiceClient) error) error {
	conn, err := b.c.Conn(ctx)
	if err != nil {
		return err
	}
	api := bpb.NewAPIServiceClient(conn)
	return b.c.authorized(ctx, func(ctx context.Context) error {
		return bucketError(fn(common.NewThreadIDContext(ctx, b.db), api))
	})
}

// stream runs a streaming bucketsd call. A stream has no deadline: a push of a large file
// takes as long as it takes. It is bounded by progress instead: when no message goes out
// or comes in for --timeout, the stream is cancelled (a push then writes nothing) and the
// server reported unreachable. fn calls poke on each message sent or received. The token
// is the one the client already holds, or a fresh one; a bucket was resolved with a unary
// call before, which has replaced a stale one.
func (b *Buckets) stream(ctx context.Context, fn func(ctx context.Context, api bpb.APIServiceClient, poke func()) error) error {
	conn, err := b.c.Conn(ctx)
	if err != nil {
		return err
	}
	api := bpb.NewAPIServiceClient(conn)
	b.tokenMu.Lock()
	tok, err := b.c.userToken(ctx, false)
	b.tokenMu.Unlock()
	if err != nil {
		return err
	}
	actx, err := b.c.opts.Auth.Context(ctx)
	if err != nil {
		return err
	}
	sctx, poke, stalled, stop := watchStall(actx, b.c.opts.Timeout)
	defer stop()
	err = bucketError(fn(common.NewThreadIDContext(withToken(sctx, tok), b.db), api, poke))
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case stalled():
		return &UnreachableError{Addr: b.c.opts.Target.String(),
			Reason: fmt.Sprintf("the transfer made no progress within %s (--timeout), so it was cancelled", b.c.opts.Timeout)}
	}
	return classify(ctx, b.c.opts.Target, b.c.opts.Timeout, err)
}

// watchStall returns a context that ends when poke has not been called for d, poke,
// whether that is why it ended, and stop, which ends the watch and the context.
func watchStall(ctx context.Context, d time.Duration) (context.Context, func(), func() bool, func()) {
	ctx, cancel := context.WithCancel(ctx)
	var last atomic.Int64
	var fired atomic.Bool
	last.Store(time.Now().UnixNano())
	go func() {
		defer cancel()
		t := time.NewTicker(max(d/8, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if time.Since(time.Unix(0, last.Load())) > d {
					fired.Store(true)
					return
				}
			}
		}
	}()
	return ctx, func() { last.Store(time.Now().UnixNano()) }, fired.Load, cancel
}

// bucketError names the fix for the bucket service's own refusals; others go on to
// classify.
func bucketError(err error) error {
	st, ok := status.FromError(err)
	if err == nil || !ok {
		return err
	}
	msg := st.Message()
	switch {
	case strings.Contains(msg, msgNonFastForward):
		return &ServerError{Class: ErrStaleRoot, Msg: "the bucket changed since its root was read (" + msgNonFastForward + ")",
			Hint: "read its root again with hubctl bucket show, or leave out --root"}
	case strings.Contains(msg, msgNoLink) || strings.Contains(msg, msgNoLinkByName) || strings.Contains(msg, msgNoPath):
		return &ServerError{Class: ErrNotFound, Msg: "no such path in the bucket: " + msg}
	case strings.Contains(msg, msgInstanceNF):
		return &ServerError{Class: ErrNotFound, Msg: "no such bucket: " + msg}
	case st.Code() == codes.PermissionDenied && !isAPIKeyMessage(msg) && msg != msgNotAccessible:
		return &RoleError{Msg: msg}
	case st.Code() == codes.InvalidArgument:
		return argErrorf("the server refused the request: %s", msg)
	case st.Code() == codes.FailedPrecondition, st.Code() == codes.ResourceExhausted:
		return &ServerError{Msg: "the server refused the request: " + msg}
	}
	return err
}

// IsStaleRoot reports whether err is a write refused because the bucket's root changed.
func IsStaleRoot(err error) bool {
	var se *ServerError
	return errors.As(err, &se) && se.Class == ErrStaleRoot
}

func bucketFromPb(db thread.ID, r *bpb.Root) (Bucket, error) {
	if r == nil {
		return Bucket{}, errors.New("the server sent no bucket")
	}
	b := Bucket{Key: r.Key, Name: r.Name, DB: db.String(), Owner: r.Owner, Private: privateRoot(r),
		CreatedAt: time.Unix(0, r.CreatedAt).UTC(), UpdatedAt: time.Unix(0, r.UpdatedAt).UTC()}
	root, err := rootCID(r.Path)
	if err != nil {
		return Bucket{}, err
	}
	b.Root = root
	if r.Thread != "" && r.Thread != b.DB {
		return Bucket{}, fmt.Errorf("the server sent bucket %s of database %s, not %s", r.Key, r.Thread, b.DB)
	}
	return b, nil
}

// privateRoot says whether the server describes a private bucket: one with a link key
// (sent to its owner), or with the key of a path (sent with the metadata of the paths a
// role lets the caller read, as the Hub's read filter left them). Neither is kept. A
// caller without the owner's view may not be told (a root answered without the
// metadata of its paths): Private is then false, and callers that read a bucket they do
// not own read it as they would a private one.
func privateRoot(r *bpb.Root) bool {
	if r.LinkKey != "" || r.Metadata != nil && r.Metadata.Key != "" {
		return true
	}
	for _, md := range r.PathMetadata {
		if md != nil && md.Key != "" {
			return true
		}
	}
	return false
}

// rootCID reads the bucket root as the Hub sends it, "/ipfs/<cid>".
func rootCID(p string) (string, error) {
	c, ok := strings.CutPrefix(p, "/ipfs/")
	if !ok || c == "" || strings.Contains(c, "/") {
		return "", fmt.Errorf("the server sent a bad bucket root %q", p)
	}
	return c, nil
}

func linksFromPb(l *bpb.LinksResponse) *BucketLinks {
	if l == nil {
		return nil
	}
	return &BucketLinks{URL: l.Url, WWW: l.Www, IPNS: l.Ipns}
}

// List lists the database's buckets, sorted by name then key. A database without the
// buckets collection has none.
func (b *Buckets) List(ctx context.Context) ([]Bucket, error) {
	out, err := b.list(ctx)
	if err != nil {
		return nil, b.dbErr(err)
	}
	return out, nil
}

// list is List with the server's refusal as it is.
func (b *Buckets) list(ctx context.Context) ([]Bucket, error) {
	var rep *bpb.ListResponse
	err := b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) (err error) {
		rep, err = api.List(ctx, &bpb.ListRequest{})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Bucket, 0, len(rep.Roots))
	for _, r := range rep.Roots {
		bk, err := bucketFromPb(b.db, r)
		if err != nil {
			return nil, err
		}
		out = append(out, bk)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// dbErr names the database when the server says it is not there.
func (b *Buckets) dbErr(err error) error {
	var se *ServerError
	if errors.As(err, &se) && se.Class == ErrNotFound && (strings.Contains(se.Msg, msgDBNotFound) || strings.Contains(se.Msg, msgThreadNotFound)) {
		// A database the caller does not own answers as a missing one: only its owner
		// lists or creates its buckets.
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("database %s does not exist, or is not yours (only a database's owner lists its buckets)", b.db),
			Hint: "see hubctl db list; a bucket shared with you is reached by --db and its key"}
	}
	return err
}

// Create makes a bucket named name, empty or holding the UnixFS directory cid (which the
// server must have); private, encrypted by the server as the Hub's private buckets were.
func (b *Buckets) Create(ctx context.Context, name, cid string, private bool) (Bucket, error) {
	var rep *bpb.CreateResponse
	err := b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) (err error) {
		rep, err = api.Create(ctx, &bpb.CreateRequest{Name: name, BootstrapCid: cid, Private: private})
		return err
	})
	if err != nil {
		return Bucket{}, b.dbErr(err)
	}
	bk, err := bucketFromPb(b.db, rep.Root)
	if err != nil {
		return Bucket{}, err
	}
	bk.Links = linksFromPb(rep.Links)
	return bk, nil
}

// Resolve finds a bucket by key or by name (which must be unique in the database). A key
// is read with Root, which a caller with a role in a bucket of another identity's
// database may call; a name needs List, which only the database's owner may: a name in
// a database that is not the caller's is refused saying to use the key.
func (b *Buckets) Resolve(ctx context.Context, ref string) (Bucket, error) {
	if IsBucketKey(ref) {
		bk, err := b.Root(ctx, ref)
		if err != nil {
			return Bucket{}, b.keyErr(err, ref)
		}
		return bk, nil
	}
	all, err := b.list(ctx)
	if err != nil {
		return Bucket{}, b.nameErr(err, ref)
	}
	var named []Bucket
	for _, bk := range all {
		if bk.Key == ref {
			return bk, nil
		}
		if bk.Name == ref {
			named = append(named, bk)
		}
	}
	switch len(named) {
	case 0:
		return Bucket{}, &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("no bucket named %q in database %s", ref, b.db), Hint: "see hubctl bucket list"}
	case 1:
		return named[0], nil
	}
	keys := make([]string, len(named))
	for i, bk := range named {
		keys[i] = bk.Key
	}
	return Bucket{}, argErrorf("%d buckets are named %q (%s): use a key", len(named), ref, strings.Join(keys, ", "))
}

// Root reads a bucket by key.
func (b *Buckets) Root(ctx context.Context, key string) (Bucket, error) {
	var rep *bpb.RootResponse
	err := b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) (err error) {
		rep, err = api.Root(ctx, &bpb.RootRequest{Key: key})
		return err
	})
	if err != nil {
		return Bucket{}, err
	}
	return bucketFromPb(b.db, rep.Root)
}

// Links reports where the server's gateway serves a bucket, or path in it.
func (b *Buckets) Links(ctx context.Context, key, pth string) (BucketLinks, error) {
	var rep *bpb.LinksResponse
	err := b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) (err error) {
		rep, err = api.Links(ctx, &bpb.LinksRequest{Key: key, Path: pth})
		return err
	})
	if err != nil {
		return BucketLinks{}, err
	}
	return *linksFromPb(rep), nil
}

// ListPath describes path (a file or a directory) and, for a directory, its entries.
func (b *Buckets) ListPath(ctx context.Context, key, pth string) (BucketItem, []BucketItem, Bucket, error) {
	var rep *bpb.ListPathResponse
	err := b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) (err error) {
		rep, err = api.ListPath(ctx, &bpb.ListPathRequest{Key: key, Path: pth})
		return err
	})
	if err != nil {
		return BucketItem{}, nil, Bucket{}, pathErr(err, pth)
	}
	if rep.Item == nil {
		return BucketItem{}, nil, Bucket{}, errors.New("the server sent no item")
	}
	if err := wholeListing(rep.Item, pth); err != nil {
		return BucketItem{}, nil, Bucket{}, err
	}
	bk, err := bucketFromPb(b.db, rep.Root)
	if err != nil {
		return BucketItem{}, nil, Bucket{}, err
	}
	item := itemFromPb(rep.Item, pth)
	if pth == "" {
		item.Name = ""
	}
	var entries []BucketItem
	for _, it := range rep.Item.Items {
		entries = append(entries, itemFromPb(it, path.Join(pth, it.Name)))
	}
	return item, entries, bk, nil
}

// wholeListing refuses a directory listing the server cut short: a ListPath or
// ListIpfsPath answer stays under half the server's message size, so a directory of some
// 50,000 entries lists only its first ones, and items_count says how many it holds. What
// a listing drives (sync --delete, pull, ls) must never take the first part for the whole.
func wholeListing(it *bpb.PathItem, pth string) error {
	if it.IsDir && int(it.ItemsCount) > len(it.Items) {
		where := "/" + pth
		return fmt.Errorf("directory %s holds %d entries, more than the server lists in one answer (%d): hubctl cannot list it whole; split it into smaller directories", where, it.ItemsCount, len(it.Items))
	}
	return nil
}

func itemFromPb(it *bpb.PathItem, pth string) BucketItem {
	return BucketItem{Name: it.Name, Path: pth, CID: it.Cid, Size: it.Size, IsDir: it.IsDir, Items: int(it.ItemsCount)}
}

// pathErr names the path a refusal is about.
func pathErr(err error, pth string) error {
	var se *ServerError
	if errors.As(err, &se) && se.Class == ErrNotFound && strings.HasPrefix(se.Msg, "no such path") {
		if pth == "" { // the root is always there: the server did not find it for the caller
			return &ServerError{Class: ErrNotFound, Msg: "the server found no root of the bucket for you: " + strings.TrimPrefix(se.Msg, "no such path in the bucket: "), Hint: "see hubctl bucket ls"}
		}
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("%q is not in the bucket", pth), Hint: "see hubctl bucket ls"}
	}
	return err
}

// Walk lists every file under pth (a directory, or a file), recursively, as of one root
// of the bucket, which it returns. The first level is a ListPath (the bucket's own call,
// which checks access and reads its root); the directories below are read by CID under
// that root (ListIpfsPath), which costs the server no read of the bucket's instance per
// directory and makes the listing one consistent snapshot. The bucket's seed is left out.
// A private bucket's directories are sealed: the server opens them for ListPath only, so
// its walk is ListPath throughout (see walkPrivate).
func (b *Buckets) Walk(ctx context.Context, key, pth string, fn func(BucketItem) error) (string, error) {
	item, entries, bk, err := b.ListPath(ctx, key, pth)
	if err != nil {
		return "", err
	}
	if !item.IsDir {
		item.Path = pth
		return bk.Root, fn(item)
	}
	if bk.Private {
		return bk.Root, b.walkPrivate(ctx, key, bk.Root, pth, entries, fn)
	}
	return bk.Root, b.walkEntries(ctx, bk.Root, pth, entries, fn)
}

// WalkListed is Walk by ListPath throughout, whatever the bucket: for a bucket the caller
// does not own, which may be private without the server saying so, and whose paths the
// caller may read only as its role allows.
func (b *Buckets) WalkListed(ctx context.Context, key, pth string, fn func(BucketItem) error) (string, error) {
	item, entries, bk, err := b.ListPath(ctx, key, pth)
	if err != nil {
		return "", err
	}
	if !item.IsDir {
		item.Path = pth
		return bk.Root, fn(item)
	}
	return bk.Root, b.walkPrivate(ctx, key, bk.Root, pth, entries, fn)
}

// ErrChangedDuringWalk is a walk of a private bucket that saw the bucket's root change.
var ErrChangedDuringWalk = errors.New("the bucket changed while it was listed")

// walkPrivate is walkEntries for a private bucket: each directory below is a ListPath of
// the bucket's current state, not a ListIpfsPath under a root (whose blocks are
// ciphertext), so the listing is one snapshot only if the root stays the same: every
// answer must be of root, else the walk stops with ErrChangedDuringWalk.
func (b *Buckets) walkPrivate(ctx context.Context, key, root, dir string, entries []BucketItem, fn func(BucketItem) error) error {
	for _, e := range entries {
		if dir == "" && e.Name == SeedName {
			continue
		}
		if !e.IsDir {
			if err := fn(e); err != nil {
				return err
			}
			continue
		}
		_, sub, bk, err := b.ListPath(ctx, key, e.Path)
		if err != nil {
			return err
		}
		if bk.Root != root {
			return &ServerError{Msg: fmt.Sprintf("%v (its root went from %s to %s)", ErrChangedDuringWalk, root, bk.Root), Hint: "run the command again"}
		}
		if err := b.walkPrivate(ctx, key, root, e.Path, sub, fn); err != nil {
			return err
		}
	}
	return nil
}

// WalkAt is Walk as of root, a root of the bucket the caller has already read (Resolve,
// List, ListPath): every listing is then a ListIpfsPath, so the server reads nothing of
// the bucket's instance, whose read (through the read filter, with metadata for every
// path written) is the dearest part of a listing of a large bucket. A missing pth is
// ErrNotFound.
func (b *Buckets) WalkAt(ctx context.Context, root, pth string, fn func(BucketItem) error) error {
	if root == "" {
		return errors.New("WalkAt needs the root to walk")
	}
	item, entries, err := b.listDir(ctx, root, pth)
	if err != nil {
		return err
	}
	if !item.IsDir {
		item.Path = pth
		return fn(item)
	}
	return b.walkEntries(ctx, root, pth, entries, fn)
}

// walkAhead is how many directory listings a Walk has in flight at once: a directory's
// listing is a round trip, and a tree of many small directories is read that much
// faster (the server answers them side by side). Answers are used in link order, so
// fn sees the same order as with one at a time.
const walkAhead = 8

// listing is one directory's ListIpfsPath, started ahead of its turn.
type listing struct {
	done  chan struct{}
	items []BucketItem
	err   error
}

func (b *Buckets) walkEntries(ctx context.Context, root, dir string, entries []BucketItem, fn func(BucketItem) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var dirs []int // indexes of entries that are directories
	for i, e := range entries {
		if e.IsDir && !(dir == "" && e.Name == SeedName) {
			dirs = append(dirs, i)
		}
	}
	lists := make(map[int]*listing, len(dirs))
	started := 0
	startUpTo := func(n int) {
		for ; started < len(dirs) && started < n; started++ {
			e, l := entries[dirs[started]], &listing{done: make(chan struct{})}
			lists[dirs[started]] = l
			go func() {
				defer close(l.done)
				_, l.items, l.err = b.listDir(ctx, root, e.Path)
			}()
		}
	}
	defer func() { // a failure stops the listings still running; none outlives the walk
		cancel()
		for _, l := range lists {
			<-l.done
		}
	}()
	next := 0 // the directory whose turn is next, of dirs
	for i, e := range entries {
		if dir == "" && e.Name == SeedName {
			continue
		}
		if !e.IsDir {
			if err := fn(e); err != nil {
				return err
			}
			continue
		}
		startUpTo(next + walkAhead)
		l := lists[i]
		next++
		<-l.done
		if l.err != nil {
			return l.err
		}
		if err := b.walkEntries(ctx, root, e.Path, l.items, fn); err != nil {
			return err
		}
		l.items = nil
	}
	return nil
}

// listDir lists the directory pth under root (ListIpfsPath). It may run beside others: the
// token is read under tokenMu, as a stream's is (Walk's first call, a ListPath, has
// already replaced a stale one).
func (b *Buckets) listDir(ctx context.Context, root, pth string) (BucketItem, []BucketItem, error) {
	conn, err := b.c.Conn(ctx)
	if err != nil {
		return BucketItem{}, nil, err
	}
	api := bpb.NewAPIServiceClient(conn)
	b.tokenMu.Lock()
	tok, err := b.c.userToken(ctx, false)
	b.tokenMu.Unlock()
	if err != nil {
		return BucketItem{}, nil, err
	}
	ipfsPath := "/ipfs/" + root
	if pth != "" {
		ipfsPath += "/" + pth
	}
	var rep *bpb.ListIpfsPathResponse
	err = b.c.call(ctx, tok, func(ctx context.Context) (err error) {
		rep, err = api.ListIpfsPath(common.NewThreadIDContext(ctx, b.db), &bpb.ListIpfsPathRequest{Path: ipfsPath})
		return bucketError(err)
	})
	if err = classify(ctx, b.c.opts.Target, b.c.opts.Timeout, err); err != nil {
		return BucketItem{}, nil, pathErr(err, pth)
	}
	if rep.Item == nil {
		return BucketItem{}, nil, errors.New("the server sent no item")
	}
	if err := wholeListing(rep.Item, pth); err != nil {
		return BucketItem{}, nil, err
	}
	var sub []BucketItem
	for _, it := range rep.Item.Items {
		sub = append(sub, itemFromPb(it, path.Join(pth, it.Name)))
	}
	return itemFromPb(rep.Item, pth), sub, nil
}

// PushResult is one file a push wrote.
type PushResult struct {
	Path string `json:"path"`
	CID  string `json:"cid"`
	Size int64  `json:"size"`
	// Root is the bucket's root after the file (committed only when the whole push is).
	Root string `json:"root"`
}

// PushOptions: Root, when set, makes the write fail unless the bucket's root is still that
// CID (the Hub's fast-forward rule); Progress, when set, is told the bytes sent so far.
type PushOptions struct {
	Root     string
	Progress func(sent int64)
}

func rootPath(root string) string {
	if root == "" {
		return ""
	}
	return "/ipfs/" + root
}

// PushPath writes r to path in the bucket, streaming it in chunks. If reading r fails, or
// ctx ends, the stream is cancelled rather than closed, and the bucket stays as it was.
func (b *Buckets) PushPath(ctx context.Context, key, pth string, r io.Reader, opts PushOptions) (PushResult, error) {
	var res PushResult
	err := b.stream(ctx, func(ctx context.Context, api bpb.APIServiceClient, poke func()) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := api.PushPath(ctx)
		if err != nil {
			return err
		}
		if err := stream.Send(&bpb.PushPathRequest{Payload: &bpb.PushPathRequest_Header_{Header: &bpb.PushPathRequest_Header{
			Key: key, Path: pth, Root: rootPath(opts.Root)}}}); err != nil {
			return pushSendErr(err, stream.RecvMsg)
		}
		done := make(chan error, 1)
		go func() {
			for {
				rep, err := stream.Recv()
				poke()
				if err == io.EOF && res.CID == "" {
					err = errors.New("the server ended the push without a result")
				}
				if err == io.EOF {
					done <- nil
					return
				}
				if err != nil {
					done <- err
					return
				}
				if ev := rep.Event; ev != nil && ev.Path != "" {
					if res, err = pushPathResult(pth, ev); err != nil {
						done <- err
						return
					}
				}
			}
		}()
		if err := sendChunks(r, opts.Progress, func(chunk []byte) error {
			err := stream.Send(&bpb.PushPathRequest{Payload: &bpb.PushPathRequest_Chunk{Chunk: chunk}})
			poke()
			return err
		}); err != nil {
			if errors.Is(err, io.EOF) { // the server ended the stream: its reason
				cancelledByServer := <-done
				if cancelledByServer != nil {
					return cancelledByServer
				}
			}
			return err
		}
		if err := stream.CloseSend(); err != nil {
			return err
		}
		return <-done
	})
	return res, err
}

func pushPathResult(pth string, ev *bpb.PushPathResponse_Event) (PushResult, error) {
	c := strings.TrimPrefix(ev.Path, "/ipfs/")
	size, _ := strconv.ParseInt(ev.Size, 10, 64)
	res := PushResult{Path: pth, CID: c, Size: size}
	if ev.Root == nil {
		return res, errors.New("the server sent a push result without the bucket's root")
	}
	root, err := rootCID(ev.Root.Path)
	if err != nil {
		return res, err
	}
	res.Root = root
	return res, nil
}

// readError is the input failing, not the server.
type readError struct{ err error }

func (e *readError) Error() string { return "read the input: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// sendChunks reads r to its end, sending it in BucketChunk pieces. An error reading r is
// a *readError; an error sending is returned as is (io.EOF: the server ended the stream).
func sendChunks(r io.Reader, progress func(int64), send func([]byte) error) error {
	var sent int64
	for {
		buf := make([]byte, BucketChunk) // gRPC may hold a sent message's bytes
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if serr := send(buf[:n]); serr != nil {
				return serr
			}
			sent += int64(n)
			if progress != nil {
				progress(sent)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return &readError{err}
		}
	}
}

func pushSendErr(err error, recv func(any) error) error {
	if errors.Is(err, io.EOF) {
		if rerr := recv(new(bpb.PushPathResponse)); rerr != nil {
			return rerr
		}
	}
	return err
}

// PushFile is one file of a PushPaths stream.
type PushFile struct {
	// Path is where it goes in the bucket.
	Path string
	Open func() (io.ReadCloser, error)
}

// PushPaths writes many files in one stream (PushPaths). onFile is told of each file the
// server has written, in the order it answers. The bucket changes only when every file
// went through: on any error, or if ctx ends, the stream is cancelled and the bucket stays
// as it was. It returns the bucket's new root.
func (b *Buckets) PushPaths(ctx context.Context, key string, files []PushFile, opts PushOptions, onFile func(PushResult)) (string, error) {
	if len(files) == 0 {
		return "", nil
	}
	var root string
	err := b.stream(ctx, func(ctx context.Context, api bpb.APIServiceClient, poke func()) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := api.PushPaths(ctx)
		if err != nil {
			return err
		}
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = f.Path
		}
		if err := stream.Send(&bpb.PushPathsRequest{Payload: &bpb.PushPathsRequest_Header_{Header: &bpb.PushPathsRequest_Header{
			Key: key, Root: rootPath(opts.Root), Paths: paths}}}); err != nil {
			return pushSendErr(err, stream.RecvMsg)
		}
		done := make(chan error, 1)
		go func() {
			n := 0
			for {
				rep, err := stream.Recv()
				poke()
				if err == io.EOF && n != len(files) {
					err = fmt.Errorf("the server ended the push after %d of %d files", n, len(files))
				}
				if err == io.EOF {
					done <- nil
					return
				}
				if err != nil {
					done <- err
					return
				}
				n++
				res := PushResult{Path: rep.Path, CID: rep.Cid, Size: rep.Size}
				if rep.Root == nil {
					done <- errors.New("the server sent a push result without the bucket's root")
					return
				}
				if res.Root, err = rootCID(rep.Root.Path); err != nil {
					done <- err
					return
				}
				root = res.Root
				if onFile != nil {
					onFile(res)
				}
			}
		}()
		var sent int64
		progress := func(n int64) {
			if opts.Progress != nil {
				opts.Progress(sent + n)
			}
		}
		for _, f := range files {
			err := sendFile(f, progress, func(data []byte) error {
				err := stream.Send(&bpb.PushPathsRequest{Payload: &bpb.PushPathsRequest_Chunk_{Chunk: &bpb.PushPathsRequest_Chunk{Path: f.Path, Data: data}}})
				poke()
				return err
			}, &sent)
			if errors.Is(err, io.EOF) {
				if serr := <-done; serr != nil {
					return serr
				}
			}
			if err != nil {
				return err
			}
		}
		if err := stream.CloseSend(); err != nil {
			return err
		}
		return <-done
	})
	return root, err
}

func sendFile(f PushFile, progress func(int64), send func([]byte) error, sent *int64) error {
	rc, err := f.Open()
	if err != nil {
		return &readError{err}
	}
	defer rc.Close()
	var n int64
	err = sendChunks(rc, func(s int64) { n = s; progress(s) }, send)
	*sent += n
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		return err
	}
	return send(nil) // the empty chunk ends the file
}

// PullPath writes the file at path to w; it returns the bytes written. progress, when
// set, is told the bytes received so far.
func (b *Buckets) PullPath(ctx context.Context, key, pth string, w io.Writer, progress func(int64)) (int64, error) {
	return b.pull(ctx, pth, w, progress, func(ctx context.Context, api bpb.APIServiceClient) (chunkStream, error) {
		s, err := api.PullPath(ctx, &bpb.PullPathRequest{Key: key, Path: pth})
		if err != nil {
			return nil, err
		}
		return pathChunks{s}, nil
	})
}

// PullAt is PullPath of the file at path under root, a root the bucket had (as Walk
// returned it), read by CID (PullIpfsPath): what a pull of many files uses, so that they
// all come from one snapshot and the server reads no bucket instance per file.
func (b *Buckets) PullAt(ctx context.Context, root, pth string, w io.Writer, progress func(int64)) (int64, error) {
	return b.pull(ctx, pth, w, progress, func(ctx context.Context, api bpb.APIServiceClient) (chunkStream, error) {
		s, err := api.PullIpfsPath(ctx, &bpb.PullIpfsPathRequest{Path: "/ipfs/" + root + "/" + pth})
		if err != nil {
			return nil, err
		}
		return ipfsChunks{s}, nil
	})
}

// chunkStream is PullPath's and PullIpfsPath's answer.
type chunkStream interface{ next() ([]byte, error) }

type pathChunks struct{ bpb.APIService_PullPathClient }

func (s pathChunks) next() ([]byte, error) {
	rep, err := s.Recv()
	if err != nil {
		return nil, err
	}
	return rep.Chunk, nil
}

type ipfsChunks struct {
	bpb.APIService_PullIpfsPathClient
}

func (s ipfsChunks) next() ([]byte, error) {
	rep, err := s.Recv()
	if err != nil {
		return nil, err
	}
	return rep.Chunk, nil
}

func (b *Buckets) pull(ctx context.Context, pth string, w io.Writer, progress func(int64), open func(context.Context, bpb.APIServiceClient) (chunkStream, error)) (int64, error) {
	var n int64
	err := b.stream(ctx, func(ctx context.Context, api bpb.APIServiceClient, poke func()) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := open(ctx, api)
		if err != nil {
			return err
		}
		for {
			chunk, err := stream.next()
			poke()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			m, err := w.Write(chunk)
			n += int64(m)
			if err != nil {
				return &writeError{err}
			}
			if progress != nil {
				progress(n)
			}
		}
	})
	var we *writeError
	if errors.As(err, &we) {
		return n, we.err
	}
	return n, pathErr(err, pth)
}

type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// MovePath moves (or renames) from to to within the bucket.
func (b *Buckets) MovePath(ctx context.Context, key, from, to string) error {
	err := b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) error {
		_, err := api.MovePath(ctx, &bpb.MovePathRequest{Key: key, FromPath: from, ToPath: to})
		return err
	})
	return pathErr(err, from)
}

// RemovePath removes a file or directory from the bucket, and returns its new root. root,
// when set, makes it fail unless the bucket's root is still that CID.
func (b *Buckets) RemovePath(ctx context.Context, key, pth, root string) (string, error) {
	var rep *bpb.RemovePathResponse
	err := b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) (err error) {
		rep, err = api.RemovePath(ctx, &bpb.RemovePathRequest{Key: key, Path: pth, Root: rootPath(root)})
		return err
	})
	if err != nil {
		return "", pathErr(err, pth)
	}
	if rep.Root == nil {
		return "", nil
	}
	return rootCID(rep.Root.Path)
}

// Remove deletes a bucket.
func (b *Buckets) Remove(ctx context.Context, key string) error {
	return b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) error {
		_, err := api.Remove(ctx, &bpb.RemoveRequest{Key: key})
		return err
	})
}
