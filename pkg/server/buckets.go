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

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	errPrivateBuckets = status.Error(codes.FailedPrecondition, "private buckets are not supported yet by hubctl: create a public bucket")
	errPathRoles      = status.Error(codes.FailedPrecondition, "path access roles are not supported yet by hubctl")
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
	c := bucketCall{db: id, tok: tok, ctx: inProcess(ctx, tok)}
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
// taken (unlock releases it), the bucket read under it, and a private bucket refused.
func (s *bucketsService) writeBucket(ctx context.Context, c bucketCall, key string) (*buckets.Bucket, func(), error) {
	if err := checkBucketKey(key); err != nil {
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
	if b.IsPrivate() {
		unlock()
		return nil, nil, errPrivateBuckets
	}
	return b, unlock, nil
}

// getBucket reads bucket key of the call's database, through the read filter.
func (s *bucketsService) getBucket(c bucketCall, key string) (*buckets.Bucket, error) {
	if err := checkBucketKey(key); err != nil {
		return nil, err
	}
	raw, err := s.bucketJSON(c, key)
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
	return &b, nil
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
	doc, err := json.Marshal(b)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	api := s.node.ThreadsService()
	if err := (&collectionChecks{}).checkWrite(c.ctx, api, c.db.Bytes(), buckets.CollectionName, [][]byte{doc}); err != nil {
		return err
	}
	if _, err := api.Save(c.ctx, &pb.SaveRequest{DbID: c.db.Bytes(), CollectionName: buckets.CollectionName, Instances: [][]byte{doc}}); err != nil {
		return s.threadsErr(c, err, b.Key)
	}
	return nil
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
	ts := asSaved(now.UnixNano())
	b.UpdatedAt = ts
	b.SetMetadataAtPath(pth, buckets.Metadata{UpdatedAt: ts})
	if pth == "" {
		b.UnsetMetadataWithPrefix(buckets.SeedName + "/")
	} else {
		b.UnsetMetadataWithPrefix(pth + "/")
	}
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
	b, err := s.getBucket(c, req.Key)
	if err != nil {
		return nil, err
	}
	return &bucketspb.RootResponse{Root: fitRoot(c.db, b, s.msgLimit())}, nil
}

// links are a bucket's (and one of its paths') addresses on the gateway, as the Hub made
// them (createLinks): www only with a buckets host, which hubctl has not.
func (s *bucketsService) links(db thread.ID, key, pth string) *bucketspb.LinksResponse {
	if s.gatewayURL == "" {
		return &bucketspb.LinksResponse{}
	}
	l := &bucketspb.LinksResponse{
		Url:  s.gatewayURL + "/thread/" + db.String() + "/buckets/" + key,
		Ipns: s.gatewayURL + "/ipns/" + key,
	}
	if pth != "" {
		l.Url += "/" + pth
		l.Ipns += "/" + pth
	}
	return l
}

// Links answers where a bucket, or one of its paths, is on the gateway.
func (s *bucketsService) Links(ctx context.Context, req *bucketspb.LinksRequest) (*bucketspb.LinksResponse, error) {
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	pth, err := cleanPath(req.Path)
	if err != nil {
		return nil, err
	}
	b, err := s.getBucket(c, req.Key)
	if err != nil {
		return nil, err
	}
	if pth != "" {
		if _, err := s.resolve(ctx, b, pth); err != nil {
			return nil, err
		}
	}
	return s.links(c.db, b.Key, pth), nil
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
	if req.Private {
		return nil, errPrivateBuckets
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
	root, seed, seedCid, err := s.newRoot(ctx, boot)
	if err != nil {
		return nil, err
	}
	b := buckets.New(key, identity(ctx), req.Name, root, time.Now())
	doc, err := json.Marshal(b)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	api := s.node.ThreadsService()
	if err := checkInstanceIDs(&pb.CreateRequest{Instances: [][]byte{doc}}); err != nil {
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
	if b, err = s.getBucket(c, key); err != nil {
		return nil, err
	}
	return &bucketspb.CreateResponse{
		Root:    pbRoot(c.db, b),
		Links:   s.links(c.db, key, ""),
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
	if _, err := s.getBucket(c, req.Key); err != nil {
		return nil, err
	}
	if _, err := s.node.ThreadsService().Delete(c.ctx, &pb.DeleteRequest{DbID: c.db.Bytes(), CollectionName: buckets.CollectionName, InstanceIDs: []string{req.Key}}); err != nil {
		return nil, s.threadsErr(c, err, req.Key)
	}
	return &bucketspb.RemoveResponse{}, nil
}

// PushPathAccessRoles and PullPathAccessRoles are the next issue's.
func (s *bucketsService) PushPathAccessRoles(context.Context, *bucketspb.PushPathAccessRolesRequest) (*bucketspb.PushPathAccessRolesResponse, error) {
	return nil, errPathRoles
}

func (s *bucketsService) PullPathAccessRoles(context.Context, *bucketspb.PullPathAccessRolesRequest) (*bucketspb.PullPathAccessRolesResponse, error) {
	return nil, errPathRoles
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
	c, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	pth, err := cleanPath(req.Path)
	if err != nil {
		return nil, err
	}
	b, err := s.getBucket(c, req.Key)
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
	root := fitRoot(c.db, b, s.msgLimit()/2)
	item, err := s.listItem(ctx, n, full, b, proto.Size(root))
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
	item, err := s.listItem(ctx, n, req.Path, nil, 0)
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
	b, unlock, err := s.writeBucket(ctx, c, req.Key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var root cid.Cid
	if pth == "" {
		if root, _, _, err = s.newRoot(ctx, target); err != nil {
			return nil, err
		}
	} else {
		n, err := s.localNode(ctx, target)
		if err != nil {
			return nil, err
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
	touch(b, pth, time.Now())
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
	b, unlock, err := s.writeBucket(ctx, c, req.Key)
	if err != nil {
		return nil, err
	}
	defer unlock()
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
	b.UnsetMetadataWithPrefix(from)
	touch(b, to, time.Now())
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
	b, unlock, err := s.writeBucket(ctx, c, req.Key)
	if err != nil {
		return nil, err
	}
	defer unlock()
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
	b.UnsetMetadataWithPrefix(pth)
	b.UpdatedAt = asSaved(time.Now().UnixNano())
	if err := s.commit(ctx, c, b, ed); err != nil {
		return nil, err
	}
	return &bucketspb.RemovePathResponse{Root: fitRoot(c.db, b, s.msgLimit())}, nil
}
