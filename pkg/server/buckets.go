package server

// The buckets API (textile's api.bucketsd.pb.APIService) as hubctl serves it.
//
// A bucket is an instance of the "buckets" collection of one of its owner's databases
// (pkg/buckets: the Hub's instance JSON, schema, write validator and read filter), whose
// path field names the root of a UnixFS directory in the node's blockstore. The guard
// (pkg/hubauth, kind bucket) has checked, before a handler runs, that the call names a
// database in its x-textile-thread header and that the caller owns it (or is an
// operator); every read and write of an instance is then made in process through
// go-threads' own threads API with the caller's token, so the collection's write
// validator and read filter apply as they did on the Hub.
//
// Writes to one bucket take turns (bucketLocks): each reads the instance, builds a new
// root from the current one, then saves the instance. A write builds all its blocks
// before the save, so one that fails or is cut off leaves the instance, and so the
// bucket, as it was (its blocks stay in the blockstore, unreferenced: the blockstore is
// shared with go-threads' records, and nothing deletes blocks).
//
// Reads of contents go through the node's LocalDAG: nobody can make the node fetch (and
// keep) blocks it does not have by naming a CID.
//
// Private buckets are encrypted as the Hub encrypted them (pkg/buckets private.go): the
// service seals what it writes and opens what it reads with the keys of the instance,
// so that what a client sends and gets is plaintext and what is stored is not.
//
// Path access roles (the metadata's roles, merged down the tree: Bucket.RoleOf) let
// another identity reach a bucket in a database it does not own through the methods the
// guard marks shared; authorize decides each call. The caller's role is worked out from
// the instance as stored, and what it is answered is the instance as the Hub's read
// filter would give it (buckets.FilterFor). Its writes go through go-threads with its own
// token, so the Hub's write validator checks them too.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	bucketspb "github.com/textileio/textile/v2/api/bucketsd/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/instanceid"
	"github.com/hubctl/hubctl/pkg/node"
)

// bucketsService serves the buckets API on a node.
type bucketsService struct {
	bucketspb.UnimplementedAPIServiceServer
	node  *node.Node
	guard *hubauth.Guard
	// dag is where bucket trees are read and written (bucketDAG).
	dag bucketDAG
	// gatewayURL is where Links point (Options.GatewayURL), without a trailing "/".
	gatewayURL string
	// maxReply bounds a ListPath answer in bytes (maxListReply when 0).
	maxReply int
	locks    bucketLocks
}

func newBucketsService(n *node.Node, g *hubauth.Guard, opts Options, limits Limits) *bucketsService {
	return &bucketsService{
		node:       n,
		guard:      g,
		dag:        newBucketDAG(n.LocalDAG()),
		gatewayURL: strings.TrimSuffix(opts.GatewayURL, "/"),
		maxReply:   limits.MaxMessageSize / 2,
	}
}

// The buckets API's answers for what is missing or not served.
var (
	// errSharedNotFound answers a caller that reaches a database it does not own and
	// has no role in the bucket it names: what a missing database answers, so that
	// nobody learns what another identity's databases and buckets are.
	errSharedNotFound = status.Error(codes.NotFound, "db not found")
	// errNonFastForward is the Hub's answer to a write whose root is not the bucket's
	// current one (textile buckets.ErrNonFastForward); clients match its text.
	errNonFastForward = status.Error(codes.FailedPrecondition, "update is non-fast-forward")
)

func errArchive(method string) error {
	return status.Errorf(codes.Unimplemented, "hubctl daemon does not serve %s: hubctl has no Filecoin archiving", method)
}

// bucketCall is who a buckets call acts for and on: the database of its header (the
// guard has checked it) and the caller's token, which every in-process call to
// go-threads carries ("" for an operator without one: the node's own identity).
type bucketCall struct {
	db  thread.ID
	tok thread.Token
	ctx context.Context // inProcess(ctx, tok): for go-threads
	// reader is the token's identity as go-threads hands it to read filters ("" without
	// a token).
	reader string
	// shared: the caller does not own the database (nor is an operator): a bucket that
	// gives it no role is answered as a missing database.
	shared bool
	// byRole: the bucket's path access roles decide what the caller may do (authorize),
	// and it is answered and saves the bucket as the read filter shows it: a shared
	// caller, or one with a token that is not the bucket's owner (an operator's or the
	// database owner's token for another identity, every identity on the embedded
	// node); set by getBucket.
	byRole bool
}

func (s *bucketsService) call(ctx context.Context) (bucketCall, error) {
	id, ok := hubauth.HeaderThreadID(ctx)
	if !ok {
		return bucketCall{}, status.Error(codes.InvalidArgument, "db required")
	}
	tok, err := thread.NewTokenFromMD(ctx)
	if err != nil {
		return bucketCall{}, err
	}
	c := bucketCall{db: id, tok: tok, ctx: inProcess(ctx, tok), shared: hubauth.SharedBucketCall(ctx)}
	c.byRole = c.shared
	if pk, err := tok.PubKey(); err == nil && pk != nil {
		c.reader = pk.String()
	}
	return c, nil
}

// identity is the caller's identity, the owner of the buckets it creates ("" without a
// token, as on the Hub).
func identity(ctx context.Context) string {
	c, _ := hubauth.CallerFromContext(ctx)
	return c.Identity
}

// bucketLocks serialises the writes of each bucket; a write waiting for its turn leaves
// when its context ends.
type bucketLocks struct {
	mu    sync.Mutex
	locks map[string]*bucketLock
}

type bucketLock struct {
	ch    chan struct{}
	users int
}

func (l *bucketLocks) lock(ctx context.Context, db thread.ID, key string) (func(), error) {
	name := db.String() + "/" + key
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*bucketLock{}
	}
	b, ok := l.locks[name]
	if !ok {
		b = &bucketLock{ch: make(chan struct{}, 1)}
		l.locks[name] = b
	}
	b.users++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		b.users--
		if b.users == 0 {
			delete(l.locks, name)
		}
		l.mu.Unlock()
	}
	select {
	case b.ch <- struct{}{}:
		return func() { <-b.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// newKeys makes the keys of a new private bucket.
func newKeys() (*buckets.Keys, error) {
	link, err := buckets.NewEncryptionKey()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	file, err := buckets.NewEncryptionKey()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &buckets.Keys{Link: link, File: file}, nil
}

// writeKeys are the keys a write of pth into b seals with: nil for a public bucket.
func writeKeys(b *buckets.Bucket, pth string) (*buckets.Keys, error) {
	if !b.IsPrivate() {
		return nil, nil
	}
	link, err := b.LinkKeyBytes()
	if err != nil {
		return nil, unreadableBucket(b)
	}
	file, err := b.FileKey(pth)
	if err != nil {
		return nil, unreadableBucket(b)
	}
	return &buckets.Keys{Link: link, File: file}, nil
}

// unreadableBucket answers a private bucket whose keys cannot be read (an instance
// written through the threads API, not by a buckets server); the keys are not shown.
func unreadableBucket(b *buckets.Bucket) error {
	return status.Errorf(codes.FailedPrecondition, "private bucket %s has keys this server cannot use: it was written through the threads API; remove it", b.Key)
}

// sameFileKeys refuses a move in a private bucket between paths whose files are
// encrypted with different keys (a bucket the Hub gave per-path keys, on a role change):
// the move would leave files that their new path's key does not open. Buckets hubctl
// made have one file key.
func sameFileKeys(b *buckets.Bucket, from, to string) error {
	if !b.IsPrivate() {
		return nil
	}
	fk, err := b.FileKey(from)
	if err != nil {
		return unreadableBucket(b)
	}
	tk, err := b.FileKey(to)
	if err != nil {
		return unreadableBucket(b)
	}
	own := false
	for p, md := range b.Metadata {
		if md.Key != "" && p != from && strings.HasPrefix(p, from+"/") {
			own = true
		}
	}
	if !bytes.Equal(fk, tk) || own {
		return status.Errorf(codes.FailedPrecondition, "cannot move %q to %q in private bucket %s: their files are encrypted with different keys (the Hub gave paths keys of their own); pull the files and push them to the new path", from, to, b.Key)
	}
	return nil
}

// bucketNotFound answers a key with no bucket in the database.
func bucketNotFound(key string) error {
	return status.Errorf(codes.NotFound, "bucket %s not found: list the database's buckets (hubctl bucket list)", key)
}

// checkBucketKey refuses what cannot be a bucket key before it reaches go-threads.
func checkBucketKey(key string) error {
	if key == "" {
		return status.Error(codes.InvalidArgument, "bucket key required")
	}
	if err := instanceid.Check(key); err != nil {
		return status.Errorf(codes.InvalidArgument, "invalid bucket key: %v", err)
	}
	if err := buckets.CheckKey(key); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}

// cleanPath is buckets.CleanPath with its refusal as InvalidArgument.
func cleanPath(p string) (string, error) {
	c, err := buckets.CleanPath(p)
	if err != nil {
		return "", status.Error(codes.InvalidArgument, err.Error())
	}
	return c, nil
}

// jsUnsafe names the first character of s that go-threads cannot hand to a JavaScript
// validator (pkg/jssafe: ', ", \, control characters, line separators), "" for none: a
// bucket's name is in its instance, which the buckets collection's validator reads
// (buckets.CleanPath refuses the same in paths).
func jsUnsafe(s string) string {
	for _, r := range s {
		switch {
		case r == '\'':
			return "a single quote (')"
		case r == '"':
			return `a double quote (")`
		case r == '\\':
			return `a backslash (\)`
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029':
			return fmt.Sprintf("the control character %U", r)
		}
	}
	return ""
}

// writeBucket starts a write to the bucket key: the key checked, the bucket's write lock
// taken (unlock releases it), and the bucket read under it.
func (s *bucketsService) writeBucket(ctx context.Context, c *bucketCall, key string) (*buckets.Bucket, func(), error) {
	if err := checkBucketKey(key); err != nil {
		if c.shared {
			return nil, nil, errSharedNotFound
		}
		return nil, nil, err
	}
	unlock, err := s.locks.lock(ctx, c.db, key)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.getBucket(c, key)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return b, unlock, nil
}

// getBucket reads bucket key of the call's database, through the read filter; for a
// shared call, as stored (authorize and the answers' view decide what the caller sees).
// A caller whose token is not the bucket's owner's is then served by role too (byRole):
// the filter would have hidden the keys the server needs to read the bucket for it.
func (s *bucketsService) getBucket(c *bucketCall, key string) (*buckets.Bucket, error) {
	if c.shared {
		return s.sharedBucket(c, key)
	}
	if err := checkBucketKey(key); err != nil {
		return nil, err
	}
	raw, err := s.bucketJSON(*c, key)
	if err != nil {
		return nil, err
	}
	var b buckets.Bucket
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "bucket %s is no bucket this server can read (%v): it was written through the threads API; remove it", key, err)
	}
	if b.Key != key {
		return nil, bucketNotFound(key)
	}
	b.EnsureNoNulls()
	if c.reader != "" && b.Version != 0 && b.Owner != "" && b.Owner != c.reader && s.hubFilter(*c) {
		full, err := s.node.ReadInstance(c.ctx, c.db, buckets.CollectionName, key)
		if err != nil {
			return nil, s.threadsErr(*c, err, key)
		}
		var whole buckets.Bucket
		if err := json.Unmarshal(full, &whole); err != nil || whole.Key != key {
			return nil, status.Errorf(codes.FailedPrecondition, "bucket %s is no bucket this server can read: it was written through the threads API; remove it", key)
		}
		whole.EnsureNoNulls()
		c.byRole = true
		return &whole, nil
	}
	return &b, nil
}

// sharedBucket reads bucket key for a caller that does not own its database: straight
// from the store, only while the collection reads through the Hub's filter (the roles
// are the Hub's only then), and only when the bucket gives the caller a role somewhere.
// Every other case is errSharedNotFound, whatever the reason.
func (s *bucketsService) sharedBucket(c *bucketCall, key string) (*buckets.Bucket, error) {
	if checkBucketKey(key) != nil || !s.hubFilter(*c) {
		return nil, errSharedNotFound
	}
	raw, err := s.node.ReadInstance(c.ctx, c.db, buckets.CollectionName, key)
	if err != nil {
		return nil, errSharedNotFound
	}
	var b buckets.Bucket
	if json.Unmarshal(raw, &b) != nil || b.Key != key {
		return nil, errSharedNotFound
	}
	b.EnsureNoNulls()
	if !b.ReaderAnywhere(c.reader) {
		return nil, errSharedNotFound
	}
	return &b, nil
}

// readPath starts a read of a path of a bucket: the call, the path cleaned, the bucket
// read, and the caller's role to read there checked.
func (s *bucketsService) readPath(ctx context.Context, key, path string) (bucketCall, *buckets.Bucket, string, error) {
	c, err := s.call(ctx)
	if err != nil {
		return c, nil, "", err
	}
	pth, err := cleanPath(path)
	if err != nil {
		return c, nil, "", err
	}
	b, err := s.getBucket(&c, key)
	if err != nil {
		return c, nil, "", err
	}
	if err := s.authorize(c, b, pth, buckets.Reader); err != nil {
		return c, nil, "", err
	}
	return c, b, pth, nil
}

// authorize lets the call act on pth (cleaned; "" the root) of b with at least role
// need. The bucket's owner (and a caller without a token: an operator, or anyone on a
// server without key checks, as go-threads' validator lets them) may do anything here;
// another identity needs the role on the path (Bucket.RoleOf), and is answered "db not
// found", in a database it does not own, when it has none anywhere in the bucket.
func (s *bucketsService) authorize(c bucketCall, b *buckets.Bucket, pth string, need buckets.Role) error {
	if !c.byRole {
		return nil
	}
	if b.RoleOf(c.reader, pth) >= need {
		return nil
	}
	if !b.ReaderAnywhere(c.reader) {
		if c.shared {
			return errSharedNotFound
		}
		return status.Errorf(codes.PermissionDenied, "permission denied: bucket %s is another identity's and gives yours no role: ask its owner to grant one (hubctl bucket roles grant)", b.Key)
	}
	shown := pth
	if shown == "" {
		shown = "the root"
	}
	return status.Errorf(codes.PermissionDenied, "permission denied: %s of bucket %s needs the %s role, which your identity does not have there: ask its owner or an admin of the path to grant it (hubctl bucket roles grant)", shown, b.Key, need)
}

// view is b as the call may be answered it: as the Hub's read filter gives it to a
// caller that does not own the database (b itself for the others, whose reads went
// through the filter already), and without keys. The Hub's filter left the link key to
// a reader of any path, and it opens every directory of a private bucket, so names what
// the caller may not read; a file key opens files beside the shared path that share it.
// The server decrypts for the caller: no client needs them.
func (c bucketCall) view(b *buckets.Bucket) *buckets.Bucket {
	if !c.byRole {
		return b
	}
	v := buckets.FilterFor(b, c.reader)
	v.LinkKey = ""
	for p, md := range v.Metadata {
		md.Key = ""
		v.Metadata[p] = md
	}
	return v
}

// bucketJSON is bucket key's instance as go-threads' FindByID answers it to the caller:
// read straight from the store when the Hub's read filter would give it to the caller
// unchanged (buckets.ReadFilterKeeps: a public bucket, or one whose root grants the
// caller a role), which spares every call on a bucket with many paths the filter's
// JavaScript (about 100 ms at 10,000 paths); through go-threads and the filter otherwise,
// and for every miss or error, whose answers are then go-threads' own.
func (s *bucketsService) bucketJSON(c bucketCall, key string) ([]byte, error) {
	if c.reader != "" && s.hubFilter(c) {
		raw, err := s.node.ReadInstance(c.ctx, c.db, buckets.CollectionName, key)
		if err == nil && buckets.ReadFilterKeeps(raw, c.reader) {
			return raw, nil
		}
	}
	res, err := s.node.ThreadsService().FindByID(c.ctx, &pb.FindByIDRequest{DbID: c.db.Bytes(), CollectionName: buckets.CollectionName, InstanceID: key})
	if err != nil {
		return nil, s.threadsErr(c, err, key)
	}
	return res.Instance, nil
}

// hubFilter reports whether the database's buckets collection reads through the Hub's
// read filter, the one buckets.ReadFilterKeeps speaks for: its owner may have given it
// another (UpdateCollection), or made a foreign collection of that name.
func (s *bucketsService) hubFilter(c bucketCall) bool {
	info, err := s.node.ThreadsService().GetCollectionInfo(c.ctx, &pb.GetCollectionInfoRequest{DbID: c.db.Bytes(), Name: buckets.CollectionName})
	return err == nil && info.ReadFilter == buckets.CollectionConfigPB().ReadFilter
}

// listBucketsJSON is every bucket of the database as go-threads' Find answers it to the
// caller (in ID order), each read as bucketJSON reads one. ok is false when the store
// is not to be read directly (no token, a filter that is not the Hub's, a database that
// is not served): the caller then asks go-threads, whose answer is the one that counts.
func (s *bucketsService) listBucketsJSON(c bucketCall) (all [][]byte, ok bool, err error) {
	if c.reader == "" || !s.hubFilter(c) {
		return nil, false, nil
	}
	opts := node.ScanOptions{}
	for {
		page, err := s.node.ScanInstances(c.ctx, c.db, buckets.CollectionName, opts)
		if errors.Is(err, node.ErrCollectionNotFound) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, nil
		}
		for _, in := range page.Instances {
			if buckets.ReadFilterKeeps(in.JSON, c.reader) {
				all = append(all, in.JSON)
				continue
			}
			res, err := s.node.ThreadsService().FindByID(c.ctx, &pb.FindByIDRequest{DbID: c.db.Bytes(), CollectionName: buckets.CollectionName, InstanceID: in.ID})
			switch {
			case err == nil:
				all = append(all, res.Instance)
			case strings.Contains(status.Convert(err).Message(), "instance not found"):
				// removed since the page was read, or filtered to nothing: Find omits it too
			default:
				return nil, false, s.threadsErr(c, err, in.ID)
			}
		}
		if !page.More {
			return all, true, nil
		}
		opts.After = page.Instances[len(page.Instances)-1].ID
	}
}

// threadsErr answers a failed in-process call of go-threads on bucket key ("" for the
// collection): a missing database, collection or instance is not found, in the Hub's
// words where clients read them.
func (s *bucketsService) threadsErr(c bucketCall, err error, key string) error {
	st := status.Convert(err)
	msg := st.Message()
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), st.Code() == codes.Canceled, st.Code() == codes.DeadlineExceeded:
		return st.Err()
	case strings.Contains(msg, "collection not found"), strings.Contains(msg, "instance not found"):
		if key == "" {
			return status.Errorf(codes.NotFound, "db %s has no buckets", c.db)
		}
		return bucketNotFound(key)
	case st.Code() == codes.NotFound:
		if b, broken := s.node.BrokenDB(c.db); broken {
			return status.Errorf(codes.FailedPrecondition, "database %s failed to load (%s): ask the server's operator to repair it (hubctl db repair %s)", c.db, b.Err, c.db)
		}
		return status.Error(codes.NotFound, "db not found")
	case st.Code() == codes.Unknown && strings.Contains(msg, "permission denied"):
		// The Hub's write validator: only the owner changes what it guards.
		return status.Errorf(codes.PermissionDenied, "the buckets collection of db %s refused the write (%s): only a bucket's owner may change it; call with the owner's token", c.db, msg)
	case st.Code() == codes.Unknown:
		// go-threads' plain errors: the collection's schema or write validator.
		return status.Errorf(codes.FailedPrecondition, "the buckets collection of db %s refused the write: %s", c.db, msg)
	}
	return st.Err()
}

// saveBucket saves a changed bucket, with the checks of a Save through the threads API.
func (s *bucketsService) saveBucket(c bucketCall, b *buckets.Bucket) error {
	save := b
	if c.byRole {
		var err error
		if save, err = s.sharedSave(c, b); err != nil {
			return err
		}
	}
	doc, err := json.Marshal(save)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	api := s.node.ThreadsService()
	if err := s.checkStorage(c.ctx, c, save, cid.Undef); err != nil {
		return err
	}
	if err := (&collectionChecks{}).checkWrite(c.ctx, api, c.db.Bytes(), buckets.CollectionName, [][]byte{doc}); err != nil {
		return err
	}
	if _, err := api.Save(c.ctx, &pb.SaveRequest{DbID: c.db.Bytes(), CollectionName: buckets.CollectionName, Instances: [][]byte{doc}}); err != nil {
		return s.threadsErr(c, err, b.Key)
	}
	return nil
}

// sharedSave is what a caller that does not own the database saves for the changed
// bucket b: go-threads diffs a Save against the instance as the read filter gives it
// to the caller, not as stored, so the caller's own view is saved with b's changes
// (its path and times, and each metadata entry it changed) made to it. Saving b whole
// would read, to go-threads, as adding every entry the filter hid, which the Hub's
// validator refuses; saving the view without the changes' care could drop the link key
// or the entries the caller cannot see. The bucket's write lock is held: the stored
// instance is the one b was read from.
func (s *bucketsService) sharedSave(c bucketCall, b *buckets.Bucket) (*buckets.Bucket, error) {
	raw, err := s.node.ReadInstance(c.ctx, c.db, buckets.CollectionName, b.Key)
	if err != nil {
		return nil, s.threadsErr(c, err, b.Key)
	}
	var before buckets.Bucket
	if err := json.Unmarshal(raw, &before); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "bucket %s is no bucket this server can read: %v", b.Key, err)
	}
	before.EnsureNoNulls()
	v := buckets.FilterFor(&before, c.reader)
	v.Path, v.UpdatedAt = b.Path, b.UpdatedAt
	for p, md := range b.Metadata {
		if old, ok := before.Metadata[p]; !ok || !reflect.DeepEqual(old, md) {
			v.Metadata[p] = md
		}
	}
	for p := range before.Metadata {
		if _, ok := b.Metadata[p]; !ok {
			delete(v.Metadata, p)
		}
	}
	return v, nil
}

// commit commits ed, an editor of b's tree, points b at the new root and saves b. The
// caller has recorded in b's metadata what the edit changed (touch).
func (s *bucketsService) commit(ctx context.Context, c bucketCall, b *buckets.Bucket, ed *buckets.Editor) error {
	root, err := ed.Commit(ctx)
	if err != nil {
		return editErr(err)
	}
	b.Path = buckets.IPFSPath(root)
	return s.saveBucket(c, b)
}

// touch records a write of pth (bucket-relative; "" the root) as the Hub did: the path's
// metadata updated at now, and what was under it forgotten.
// Times are as go-threads stores them (asSaved), so that answers match later reads.
func touch(b *buckets.Bucket, pth string, now time.Time) {
	touchAs(bucketCall{}, b, pth, now)
}

// touchAs is touch for the call's caller. The Hub's write validator lets only the owner
// add or remove metadata entries (an admin may remove them): a write by another
// identity (shared) instead updates the time of the nearest entry at or above the path,
// the one its role comes through, and forgets nothing it may not remove.
func touchAs(c bucketCall, b *buckets.Bucket, pth string, now time.Time) {
	if !c.byRole {
		touchOwner(b, pth, now)
		return
	}
	ts := asSaved(now.UnixNano())
	b.UpdatedAt = ts
	if _, at, ok := b.MetadataForPath(pth, false); ok {
		if md, exists := b.Metadata[at]; exists {
			md.UpdatedAt = ts
			b.Metadata[at] = md
		}
	}
	unsetUnder(c, b, pth)
}

// unsetUnder forgets the metadata under pth ("" the root: all but the seed's), when the
// caller may.
func unsetUnder(c bucketCall, b *buckets.Bucket, pth string) {
	if c.byRole && b.RoleOf(c.reader, pth) < buckets.Admin {
		return
	}
	if pth == "" {
		b.UnsetMetadataWithPrefix(buckets.SeedName + "/")
	} else {
		b.UnsetMetadataWithPrefix(pth + "/")
	}
}

func touchOwner(b *buckets.Bucket, pth string, now time.Time) {
	ts := asSaved(now.UnixNano())
	b.UpdatedAt = ts
	b.SetMetadataAtPath(pth, buckets.Metadata{UpdatedAt: ts})
	unsetUnder(bucketCall{}, b, pth)
}

// fastForward refuses a write whose root (a push header's, RemovePath's: "/ipfs/<cid>",
// or empty for none) is not the bucket's current path.
func fastForward(b *buckets.Bucket, root string) error {
	if root != "" && root != b.Path {
		return errNonFastForward
	}
	return nil
}

// pbRoot is a bucket as the Hub answered it (getPbRoot).
func pbRoot(db thread.ID, b *buckets.Bucket) *bucketspb.Root {
	r := &bucketspb.Root{
		Thread:    db.String(),
		Key:       b.Key,
		Owner:     b.Owner,
		Name:      b.Name,
		Version:   int32(b.Version),
		LinkKey:   b.LinkKey,
		Path:      b.Path,
		CreatedAt: b.CreatedAt,
		UpdatedAt: b.UpdatedAt,
		Archives:  &bucketspb.Archives{Current: &bucketspb.Archive{}},
	}
	if len(b.Metadata) > 0 {
		r.PathMetadata = make(map[string]*bucketspb.Metadata, len(b.Metadata))
		for p, md := range b.Metadata {
			r.PathMetadata[p] = pbMetadata(md)
		}
		if md, ok := b.Metadata[""]; ok {
			r.Metadata = pbMetadata(md)
		}
	}
	return r
}

// pbRootBrief is pbRoot without the metadata of every path (path_metadata), for the
// answers of a push, one per file: a bucket keeps an entry for every path written, so
// the full root in every answer would make a push of n files send n² entries, and
// outgrow the message size. The bucket's own metadata (the root's) is kept. Root,
// List and ListPath answer the full root.
func pbRootBrief(db thread.ID, b *buckets.Bucket) *bucketspb.Root {
	r := pbRoot(db, &buckets.Bucket{Key: b.Key, Owner: b.Owner, Name: b.Name, Version: b.Version, LinkKey: b.LinkKey, Path: b.Path, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt})
	if md, ok := b.Metadata[""]; ok {
		r.Metadata = pbMetadata(md)
	}
	return r
}

// msgLimit is the largest answer the server sends (its message size), less a margin.
func (s *bucketsService) msgLimit() int {
	limit := 2 * s.maxReply
	if limit <= 0 {
		limit = DefaultMaxMessageSize
	}
	return limit - 1024
}

// fitRoot is pbRoot when it takes at most room bytes, else pbRootBrief: a bucket keeps
// metadata for every path written, which can outgrow an answer (the Hub's did too), and
// the bucket must still be readable.
func fitRoot(db thread.ID, b *buckets.Bucket, room int) *bucketspb.Root {
	if r := pbRoot(db, b); proto.Size(r) <= room {
		return r
	}
	return pbRootBrief(db, b)
}

func pbMetadata(md buckets.Metadata) *bucketspb.Metadata {
	out := &bucketspb.Metadata{Key: md.Key, UpdatedAt: md.UpdatedAt, Roles: make(map[string]bucketspb.PathAccessRole, len(md.Roles))}
	for who, r := range md.Roles {
		out.Roles[who] = bucketspb.PathAccessRole(r)
	}
	return out
}

// List lists the buckets of the database (none when it has no buckets collection yet:
// the Hub created the collection on a read, hubctl does not).
func (s *bucketsService) List(ctx context.Context, _ *bucketspb.ListRequest) (*bucketspb.ListResponse, error) {
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	instances, ok, err := s.listBucketsJSON(c)
	if err != nil {
		return nil, err
	}
	if !ok {
		res, err := s.node.ThreadsService().Find(c.ctx, &pb.FindRequest{DbID: c.db.Bytes(), CollectionName: buckets.CollectionName, QueryJSON: []byte("{}")})
		if err != nil {
			if strings.Contains(status.Convert(err).Message(), "collection not found") {
				return &bucketspb.ListResponse{}, nil
			}
			return nil, s.threadsErr(c, err, "")
		}
		instances = res.Instances
	}
	out := &bucketspb.ListResponse{}
	var all []*buckets.Bucket
	for _, raw := range instances {
		var b buckets.Bucket
		if err := json.Unmarshal(raw, &b); err != nil {
			continue // not a bucket this server wrote; Root of it says so
		}
		b.EnsureNoNulls()
		all = append(all, &b)
		out.Roots = append(out.Roots, pbRoot(c.db, &b))
	}
	// The answer stays under the message size: past it, the buckets come without the
	// metadata of their paths (Root of one gives it), and past that it is refused.
	limit := s.msgLimit()
	if proto.Size(out) > limit {
		for i, b := range all {
			out.Roots[i] = pbRootBrief(c.db, b)
		}
		if n := proto.Size(out); n > limit {
			return nil, status.Errorf(codes.ResourceExhausted, "db %s has too many buckets to list in one answer (%d, %d bytes; this server sends at most %d): remove some, or read each with Root", c.db, len(all), n, limit)
		}
	}
	return out, nil
}

// Root answers a bucket.
func (s *bucketsService) Root(ctx context.Context, req *bucketspb.RootRequest) (*bucketspb.RootResponse, error) {
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	b, err := s.getBucket(&c, req.Key)
	if err != nil {
		return nil, err
	}
	return &bucketspb.RootResponse{Root: fitRoot(c.db, c.view(b), s.msgLimit())}, nil
}

// links are a bucket's (and one of its paths') addresses on the gateway, as the Hub made
// them (createLinks): www only with a buckets host, which hubctl has not. A private
// bucket's carry the caller's token (?token=), which the gateway reads them with, as the
// Hub's did.
func (s *bucketsService) links(c bucketCall, b *buckets.Bucket, pth string) *bucketspb.LinksResponse {
	if s.gatewayURL == "" {
		return &bucketspb.LinksResponse{}
	}
	l := &bucketspb.LinksResponse{
		Url:  s.gatewayURL + "/thread/" + c.db.String() + "/buckets/" + b.Key,
		Ipns: s.gatewayURL + "/ipns/" + b.Key,
	}
	if pth != "" {
		l.Url += "/" + pth
		l.Ipns += "/" + pth
	}
	if b.IsPrivate() && c.tok != "" {
		q := "?token=" + url.QueryEscape(string(c.tok))
		l.Url += q
		l.Ipns += q
	}
	return l
}

// Links answers where a bucket, or one of its paths, is on the gateway.
func (s *bucketsService) Links(ctx context.Context, req *bucketspb.LinksRequest) (*bucketspb.LinksResponse, error) {
	c, b, pth, err := s.readPath(ctx, req.Key, req.Path)
	if err != nil {
		return nil, err
	}
	if pth != "" {
		if _, err := s.resolve(ctx, b, pth); err != nil {
			return nil, err
		}
	}
	return s.links(c, b, pth), nil
}

// Create makes a bucket: a new key, a root directory holding a new seed (or the
// directory of bootstrap_cid, with a new seed), and its instance in the database's
// buckets collection, which is made with the first bucket (within the caller's
// collection quota).
func (s *bucketsService) Create(ctx context.Context, req *bucketspb.CreateRequest) (*bucketspb.CreateResponse, error) {
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	if req.Unfreeze {
		return nil, status.Error(codes.Unimplemented, "hubctl daemon cannot unfreeze a bucket from Filecoin: hubctl has no Filecoin archiving")
	}
	if bad := jsUnsafe(req.Name); bad != "" {
		return nil, status.Errorf(codes.InvalidArgument, "invalid bucket name %q: %s is not allowed in a bucket name on this server (go-threads hands the bucket to its collection's JavaScript validator)", req.Name, bad)
	}
	var boot cid.Cid
	if req.BootstrapCid != "" {
		if boot, err = cid.Decode(req.BootstrapCid); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "invalid bootstrap cid: %v", err)
		}
	}
	if err := s.ensureCollection(ctx, c); err != nil {
		return nil, err
	}
	key, err := buckets.NewKey()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	var keys *buckets.Keys
	if req.Private {
		if keys, err = newKeys(); err != nil {
			return nil, err
		}
	}
	root, seed, seedCid, err := s.newRoot(ctx, boot, keys)
	if err != nil {
		return nil, err
	}
	b := buckets.New(key, identity(ctx), req.Name, root, time.Now())
	if keys != nil {
		b = buckets.NewPrivate(key, identity(ctx), req.Name, root, keys.Link, keys.File, time.Now())
	}
	doc, err := json.Marshal(b)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	api := s.node.ThreadsService()
	if err := checkInstanceIDs(&pb.CreateRequest{Instances: [][]byte{doc}}); err != nil {
		return nil, err
	}
	if err := s.checkStorage(c.ctx, c, b, cid.Undef); err != nil {
		return nil, err
	}
	if err := (&collectionChecks{}).checkWrite(c.ctx, api, c.db.Bytes(), buckets.CollectionName, [][]byte{doc}); err != nil {
		return nil, err
	}
	if _, err := api.Create(c.ctx, &pb.CreateRequest{DbID: c.db.Bytes(), CollectionName: buckets.CollectionName, Instances: [][]byte{doc}}); err != nil {
		if msg := status.Convert(err).Message(); strings.Contains(msg, "doesn't correspond to schema") {
			return nil, status.Errorf(codes.FailedPrecondition, "db %s has a collection named %s that is not the Hub's buckets collection (%s): delete or rename it, or use another database", c.db, buckets.CollectionName, msg)
		}
		return nil, s.threadsErr(c, err, "")
	}
	// As stored (go-threads' JSON patches keep numbers as floats).
	if b, err = s.getBucket(&c, key); err != nil {
		return nil, err
	}
	return &bucketspb.CreateResponse{
		Root:    pbRoot(c.db, b),
		Links:   s.links(c, b, ""),
		Seed:    seed,
		SeedCid: seedCid.String(),
	}, nil
}

// ensureCollection adds the buckets collection to a database that lacks it, within the
// caller's collection quota, as the mailbox adds its collections.
func (s *bucketsService) ensureCollection(ctx context.Context, c bucketCall) error {
	api := s.node.ThreadsService()
	have, err := api.ListCollections(c.ctx, &pb.ListCollectionsRequest{DbID: c.db.Bytes()})
	if err != nil {
		return s.threadsErr(c, err, "")
	}
	for _, col := range have.Collections {
		if col.Name == buckets.CollectionName {
			return nil
		}
	}
	caller, _ := hubauth.CallerFromContext(ctx)
	if limit := s.guard.Quotas.MaxCollectionsPerDB(); !caller.Operator && limit >= 0 && len(have.Collections)+1 > limit {
		return status.Error(codes.ResourceExhausted, hubauth.CollectionLimitMessage(len(have.Collections), 1, limit))
	}
	if _, err := api.NewCollection(c.ctx, &pb.NewCollectionRequest{DbID: c.db.Bytes(), Config: buckets.CollectionConfigPB()}); err != nil {
		if strings.Contains(status.Convert(err).Message(), "already") {
			return nil // made meanwhile by another Create
		}
		return s.threadsErr(c, err, "")
	}
	return nil
}

// Remove deletes a bucket's instance. Its blocks stay (see the top of this file).
func (s *bucketsService) Remove(ctx context.Context, req *bucketspb.RemoveRequest) (*bucketspb.RemoveResponse, error) {
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkBucketKey(req.Key); err != nil {
		return nil, err
	}
	unlock, err := s.locks.lock(ctx, c.db, req.Key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := s.getBucket(&c, req.Key); err != nil {
		return nil, err
	}
	if _, err := s.node.ThreadsService().Delete(c.ctx, &pb.DeleteRequest{DbID: c.db.Bytes(), CollectionName: buckets.CollectionName, InstanceIDs: []string{req.Key}}); err != nil {
		return nil, s.threadsErr(c, err, req.Key)
	}
	return &bucketspb.RemoveResponse{}, nil
}

// PushPathAccessRoles gives identities roles on a path of a bucket (one that exists), as
// the Hub did: the path gets an entry of its own, None takes a role away. Its caller
// needs Admin there; another identity than the owner may change only an entry that is
// already there (the Hub's write validator lets only the owner add one). Unlike the
// Hub, a private bucket keeps its file keys: the server decrypts for every reader, and
// the read filter shows a reader the entries of what it may read, never the keys above.
func (s *bucketsService) PushPathAccessRoles(ctx context.Context, req *bucketspb.PushPathAccessRolesRequest) (*bucketspb.PushPathAccessRolesResponse, error) {
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	pth, err := cleanPath(req.Path)
	if err != nil {
		return nil, err
	}
	roles := make(map[string]buckets.Role, len(req.Roles))
	for who, r := range req.Roles {
		if r < bucketspb.PathAccessRole_PATH_ACCESS_ROLE_UNSPECIFIED || r > bucketspb.PathAccessRole_PATH_ACCESS_ROLE_ADMIN {
			return nil, status.Errorf(codes.InvalidArgument, "invalid role %d for %q: give none, reader, writer or admin", r, who)
		}
		if err := checkRoleHolder(who); err != nil {
			return nil, err
		}
		roles[who] = buckets.Role(r)
	}
	b, unlock, err := s.writeBucket(ctx, &c, req.Key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.authorize(c, b, pth, buckets.Admin); err != nil {
		return nil, err
	}
	if _, err := s.resolve(ctx, b, pth); err != nil {
		return nil, err
	}
	if _, own := b.Metadata[pth]; c.byRole && !own {
		_, at, _ := b.MetadataForPath(pth, false)
		return nil, status.Errorf(codes.PermissionDenied, "permission denied: only the owner of bucket %s can give %q roles of its own; an admin can change the roles of %q, where %q's come from", b.Key, pth, at, pth)
	}
	if !b.SetRoles(pth, roles, asSaved(time.Now().UnixNano())) {
		return &bucketspb.PushPathAccessRolesResponse{}, nil
	}
	if err := s.saveBucket(c, b); err != nil {
		return nil, err
	}
	return &bucketspb.PushPathAccessRolesResponse{}, nil
}

// checkRoleHolder refuses what cannot be given a role: "*", or a public key in its
// string form (what tokens name), before it reaches the instance.
func checkRoleHolder(who string) error {
	if who == buckets.Everyone {
		return nil
	}
	pk := &thread.Libp2pPubKey{}
	if err := pk.UnmarshalString(who); err != nil {
		return status.Errorf(codes.InvalidArgument, "invalid role holder %q: give an identity's public key or \"*\" for everyone", who)
	}
	if pk.String() != who {
		return status.Errorf(codes.InvalidArgument, "invalid role holder %q: give the public key as tokens spell it (%s)", who, pk.String())
	}
	return nil
}

// PullPathAccessRoles answers the roles of a path: those of its nearest entry, as the
// Hub did. Its caller needs to be able to read the path.
func (s *bucketsService) PullPathAccessRoles(ctx context.Context, req *bucketspb.PullPathAccessRolesRequest) (*bucketspb.PullPathAccessRolesResponse, error) {
	c, b, pth, err := s.readPath(ctx, req.Key, req.Path)
	if err != nil {
		return nil, err
	}
	if _, err := s.resolve(ctx, b, pth); err != nil {
		return nil, err
	}
	md, _, ok := c.view(b).MetadataForPath(pth, false)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "could not resolve path: %s", pth)
	}
	return &bucketspb.PullPathAccessRolesResponse{Roles: pbMetadata(md).Roles}, nil
}

// The archive methods: hubctl has no Filecoin.
func (s *bucketsService) DefaultArchiveConfig(context.Context, *bucketspb.DefaultArchiveConfigRequest) (*bucketspb.DefaultArchiveConfigResponse, error) {
	return nil, errArchive("/api.bucketsd.pb.APIService/DefaultArchiveConfig")
}

func (s *bucketsService) SetDefaultArchiveConfig(context.Context, *bucketspb.SetDefaultArchiveConfigRequest) (*bucketspb.SetDefaultArchiveConfigResponse, error) {
	return nil, errArchive("/api.bucketsd.pb.APIService/SetDefaultArchiveConfig")
}

func (s *bucketsService) Archive(context.Context, *bucketspb.ArchiveRequest) (*bucketspb.ArchiveResponse, error) {
	return nil, errArchive("/api.bucketsd.pb.APIService/Archive")
}

func (s *bucketsService) Archives(context.Context, *bucketspb.ArchivesRequest) (*bucketspb.ArchivesResponse, error) {
	return nil, errArchive("/api.bucketsd.pb.APIService/Archives")
}

func (s *bucketsService) ArchiveWatch(*bucketspb.ArchiveWatchRequest, bucketspb.APIService_ArchiveWatchServer) error {
	return errArchive("/api.bucketsd.pb.APIService/ArchiveWatch")
}

// ListPath answers a path of a bucket ("" its root) as an item, with one level of the
// items of a directory (bounded: see listItem).
func (s *bucketsService) ListPath(ctx context.Context, req *bucketspb.ListPathRequest) (*bucketspb.ListPathResponse, error) {
	c, b, pth, err := s.readPath(ctx, req.Key, req.Path)
	if err != nil {
		return nil, err
	}
	n, err := s.resolve(ctx, b, pth)
	if err != nil {
		return nil, err
	}
	full := b.Path
	if pth != "" {
		full += "/" + pth
	}
	view := c.view(b)
	root := fitRoot(c.db, view, s.msgLimit()/2)
	item, err := s.listItem(ctx, n, full, b, view, proto.Size(root))
	if err != nil {
		return nil, err
	}
	if pth == "" {
		item.Name = b.Name
	}
	return &bucketspb.ListPathResponse{Item: item, Root: root}, nil
}

// ListIpfsPath answers an IPFS path (/ipfs/<cid>/<path>, or <cid>/<path>) of this
// node's blocks as an item.
func (s *bucketsService) ListIpfsPath(ctx context.Context, req *bucketspb.ListIpfsPathRequest) (*bucketspb.ListIpfsPathResponse, error) {
	n, err := s.resolveIPFS(ctx, req.Path)
	if err != nil {
		return nil, err
	}
	item, err := s.listItem(ctx, n, req.Path, nil, nil, 0)
	if err != nil {
		return nil, err
	}
	return &bucketspb.ListIpfsPathResponse{Item: item}, nil
}

// SetPath puts the file or directory of a CID this node holds at a path of a bucket;
// at "" it replaces the bucket's whole tree with the directory (and a new seed).
func (s *bucketsService) SetPath(ctx context.Context, req *bucketspb.SetPathRequest) (*bucketspb.SetPathResponse, error) {
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	pth, err := cleanPath(req.Path)
	if err != nil {
		return nil, err
	}
	target, err := cid.Decode(req.Cid)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invalid remote cid: %v", err)
	}
	b, unlock, err := s.writeBucket(ctx, &c, req.Key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.authorize(c, b, pth, buckets.Writer); err != nil {
		return nil, err
	}
	keys, err := writeKeys(b, pth)
	if err != nil {
		return nil, err
	}
	var root cid.Cid
	if pth == "" {
		if root, _, _, err = s.newRoot(ctx, target, keys); err != nil {
			return nil, err
		}
	} else {
		if err := s.localTree(ctx, target); err != nil {
			return nil, err
		}
		n, err := s.localNode(ctx, target)
		if err != nil {
			return nil, err
		}
		if keys != nil {
			// The Hub's setPathFromExistingCid: a private bucket holds the tree
			// encrypted, as if its files had been pushed.
			if n, _, err = buckets.SealTree(ctx, s.dag, s.dag, target, *keys); err != nil {
				return nil, editErr(err)
			}
		}
		ed, err := s.editor(ctx, b)
		if err != nil {
			return nil, err
		}
		if err := ed.Put(ctx, pth, n); err != nil {
			return nil, editErr(err)
		}
		if root, err = ed.Commit(ctx); err != nil {
			return nil, editErr(err)
		}
	}
	touchAs(c, b, pth, time.Now())
	b.Path = buckets.IPFSPath(root)
	if err := s.saveBucket(c, b); err != nil {
		return nil, err
	}
	return &bucketspb.SetPathResponse{}, nil
}

// MovePath moves a path of a bucket as mv does: into an existing directory, else to the
// new name.
func (s *bucketsService) MovePath(ctx context.Context, req *bucketspb.MovePathRequest) (*bucketspb.MovePathResponse, error) {
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	from, err := cleanPath(req.FromPath)
	if err != nil {
		return nil, err
	}
	to, err := cleanPath(req.ToPath)
	if err != nil {
		return nil, err
	}
	if from == "" {
		return nil, status.Error(codes.InvalidArgument, "source is root directory: move a path of the bucket")
	}
	b, unlock, err := s.writeBucket(ctx, &c, req.Key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.authorize(c, b, from, buckets.Writer); err != nil {
		return nil, err
	}
	if err := s.authorize(c, b, to, buckets.Writer); err != nil {
		return nil, err
	}
	if err := sameFileKeys(b, from, to); err != nil {
		return nil, err
	}
	if from == to {
		if _, err := s.resolve(ctx, b, from); err != nil {
			return nil, err
		}
		return &bucketspb.MovePathResponse{}, nil
	}
	ed, err := s.editor(ctx, b)
	if err != nil {
		return nil, err
	}
	if err := ed.Move(ctx, from, to); err != nil {
		return nil, editErr(err)
	}
	if !c.byRole || b.RoleOf(c.reader, from) >= buckets.Admin {
		b.UnsetMetadataWithPrefix(from)
	}
	touchAs(c, b, to, time.Now())
	if err := s.commit(ctx, c, b, ed); err != nil {
		return nil, err
	}
	return &bucketspb.MovePathResponse{}, nil
}

// RemovePath removes a path of a bucket (its parent directories stay), checked against
// the root the client last saw when it gives one.
func (s *bucketsService) RemovePath(ctx context.Context, req *bucketspb.RemovePathRequest) (*bucketspb.RemovePathResponse, error) {
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	pth, err := cleanPath(req.Path)
	if err != nil {
		return nil, err
	}
	if pth == "" {
		return nil, status.Error(codes.InvalidArgument, "cannot remove the bucket's root: remove the bucket itself (Remove, hubctl bucket rm)")
	}
	b, unlock, err := s.writeBucket(ctx, &c, req.Key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.authorize(c, b, pth, buckets.Writer); err != nil {
		return nil, err
	}
	if err := fastForward(b, req.Root); err != nil {
		return nil, err
	}
	ed, err := s.editor(ctx, b)
	if err != nil {
		return nil, err
	}
	if err := ed.Remove(ctx, pth); err != nil {
		return nil, editErr(err)
	}
	if c.byRole {
		// What it may not remove stays (touchAs); the time is its entry's.
		touchAs(c, b, pth, time.Now())
		if b.RoleOf(c.reader, pth) >= buckets.Admin {
			b.UnsetMetadataWithPrefix(pth)
		}
	} else {
		b.UnsetMetadataWithPrefix(pth)
		b.UpdatedAt = asSaved(time.Now().UnixNano())
	}
	if err := s.commit(ctx, c, b, ed); err != nil {
		return nil, err
	}
	return &bucketspb.RemovePathResponse{Root: fitRoot(c.db, c.view(b), s.msgLimit())}, nil
}
