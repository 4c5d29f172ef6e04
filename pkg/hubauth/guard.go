package hubauth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/peer"
	ma "github.com/multiformats/go-multiaddr"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Mode selects whether a server checks API keys.
type Mode int

const (
	// AuthKeys applies the Hub's key and signature checks and per-user isolation.
	AuthKeys Mode = iota
	// AuthNone serves everyone, like plain threadsd; owners are still recorded, so a later
	// start with keys keeps every user's databases.
	AuthNone
)

// ParseMode reads the --auth flag's value.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "keys":
		return AuthKeys, nil
	case "none":
		return AuthNone, nil
	}
	return 0, fmt.Errorf("invalid auth mode %q: use keys or none", s)
}

func (m Mode) String() string {
	if m == AuthNone {
		return "none"
	}
	return "keys"
}

// Answers for calls a caller may not make. A thread the caller does not own is reported as
// missing, with go-threads' own words for a missing thread, so its existence does not leak.
var (
	errTokenRequired  = status.Error(codes.Unauthenticated, "Token required")
	errInvalidToken   = status.Error(codes.Unauthenticated, thread.ErrInvalidToken.Error())
	errDBNotFound     = status.Error(codes.NotFound, "db not found")
	errThreadNotFound = status.Error(codes.NotFound, "thread not found")
	errNotAccessible  = status.Error(codes.PermissionDenied, "Method is not accessible")
)

// Guard is the server side of Hub auth as gRPC interceptors: it checks API keys, verifies
// user tokens against the host key, records who owns each thread, and confines callers
// with a user key to their own threads.
type Guard struct {
	Mode    Mode
	Checker *Checker
	Owners  *Owners
	// HostKey is the node's libp2p host key, which signs the tokens GetToken issues.
	HostKey crypto.PrivKey
	// HasThread reports whether the node holds a thread (a database, a net API thread,
	// or one it only replicates), owned or not.
	HasThread func(ctx context.Context, id thread.ID) (bool, error)
	// Threads lists every thread of the node with its name, for the names of threads
	// nobody owns (checkName); nil: those names are not checked.
	Threads func(ctx context.Context) ([]ThreadInfo, error)
	// Quotas bound what each identity with a user key keeps (quotas.go).
	Quotas Quotas
	// TokenTTL is the lifetime of the tokens GetToken issues; zero: they never expire.
	// Streams opened with a token end when it expires (tokens.go).
	TokenTTL time.Duration
	// Now is the clock tokens are issued and checked with (time.Now when nil).
	Now func() time.Time

	tokensMu sync.Mutex
	tokens   map[thread.Token]tokenClaims // verified tokens

	streams liveStreams // open streams by API key, ended when it is revoked (revoke.go)
}

// Caller is who a request comes from, once its key and token have been checked.
type Caller struct {
	// Key is the API key used, when the server checks keys.
	Key *Key
	// Identity is the verified subject of the user token ("" without a token).
	Identity string
	// Operator callers (an account key, or any caller without key checks) see every thread.
	Operator bool
	// TokenExpires is when the user token expires (zero: never, or no token).
	TokenExpires time.Time
}

type callerKey struct{}

// CallerFromContext returns the caller the guard attached to a request's context.
func CallerFromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// authenticate applies the key checks and verifies the token: signed by the host key,
// not expired, and issued through the caller's key (tokens.go). Public methods (GetToken,
// GetHostID) need a valid key but no token, and a stale token does not stop a client from
// fetching a new one.
func (g *Guard) authenticate(ctx context.Context, p policy) (Caller, error) {
	c := Caller{Operator: g.Mode == AuthNone}
	if g.Mode == AuthKeys {
		key, err := g.checkKey(ctx)
		if err != nil {
			return Caller{}, err
		}
		c.Key = &key
		c.Operator = key.Type == AccountKey
	}
	if p.kind == public {
		return c, nil
	}
	tok, err := thread.NewTokenFromMD(ctx)
	if err != nil {
		return Caller{}, err
	}
	if !tok.Defined() {
		if !c.Operator {
			return Caller{}, errTokenRequired
		}
		return c, nil
	}
	cl, err := g.checkToken(tok, c.Key)
	if err != nil {
		return Caller{}, err
	}
	c.Identity, c.TokenExpires = cl.sub, cl.exp
	return c, nil
}

// UnaryInterceptor guards unary calls.
func (g *Guard) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		p, ok := policies[info.FullMethod]
		if !ok {
			p = policyFor(info.FullMethod)
		}
		if p.kind == open {
			return handler(ctx, req)
		}
		c, err := g.authenticate(ctx, p)
		if err != nil {
			return nil, err
		}
		ctx = context.WithValue(ctx, callerKey{}, c)
		switch p.kind {
		case public:
			return handler(ctx, req)
		case create:
			name, err := createName(ctx, p, req)
			if err != nil {
				return nil, err
			}
			return g.create(ctx, c, p, name, req, handler)
		case remove:
			return g.remove(ctx, c, p, req, handler)
		case owned:
			if err := g.checkOwned(c, p, req); err != nil {
				return nil, err
			}
			return handler(ctx, req)
		case listDBs:
			res, err := handler(ctx, req)
			if err == nil && !c.Operator {
				reply := res.(*pb.ListDBsReply)
				mine := reply.Dbs[:0]
				for _, db := range reply.Dbs {
					if id, err := thread.Cast(db.DbID); err == nil && g.Owners.Owns(c.Identity, id) {
						mine = append(mine, db)
					}
				}
				reply.Dbs = mine
			}
			return res, err
		case users:
			return handler(ctx, req)
		case mailbox:
			if c.Identity == "" {
				// A mailbox is an identity's: an account key without a token has none.
				return nil, errTokenRequired
			}
			return handler(ctx, req)
		case unimplemented:
			return nil, errUnimplementedUsers(info.FullMethod)
		case bucket:
			ctx, err := g.checkBucket(ctx, c, p)
			if err != nil {
				return nil, err
			}
			return handler(ctx, req)
		}
		if c.Operator {
			return handler(ctx, req)
		}
		return nil, errNotAccessible
	}
}

// StreamInterceptor guards streaming calls: the thread a stream acts on is in its first
// message, and events of threads the caller does not own are not sent. A stream ends
// when its key is revoked or its token expires, with the status a new call would get
// (revoke.go). GetToken's token is reissued bound to the key (tokens.go).
func (g *Guard) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		p, ok := policies[info.FullMethod]
		if !ok {
			p = policyFor(info.FullMethod)
		}
		if p.kind == open {
			return handler(srv, ss)
		}
		c, err := g.authenticate(ss.Context(), p)
		if err != nil {
			return err
		}
		ctx, done := g.track(context.WithValue(ss.Context(), callerKey{}, c), c)
		defer done()
		ws := &guardedStream{ServerStream: ss, ctx: ctx}
		if p.kind == public && (info.FullMethod == threadsAPI+"GetToken" || info.FullMethod == netAPI+"GetToken") {
			aud := ""
			if c.Key != nil {
				aud = c.Key.Key
			}
			ws.issue = func(m any) error { return g.reissue(m, aud) }
		}
		switch {
		case p.kind == bucket:
			// The database is in the stream's headers: checked before any message.
			if ws.ctx, err = g.checkBucket(ctx, c, p); err != nil {
				return err
			}
		case p.kind == public || c.Operator:
		case p.kind == owned:
			ws.check = func(m any) error { return g.checkOwned(c, p, m) }
		case p.kind == subscribe:
			ws.check = func(m any) error {
				for _, b := range m.(*netpb.SubscribeRequest).ThreadIDs {
					if id, err := thread.Cast(b); err != nil || !g.Owners.Owns(c.Identity, id) {
						return errThreadNotFound
					}
				}
				return nil
			}
			ws.keep = func(m any) bool {
				rec, ok := m.(*netpb.NewRecordReply)
				if !ok {
					return true
				}
				id, err := thread.Cast(rec.ThreadID)
				return err == nil && g.Owners.Owns(c.Identity, id)
			}
		case p.kind == unimplemented:
			return errUnimplementedUsers(info.FullMethod)
		default:
			return errNotAccessible
		}
		err = handler(srv, ws)
		if ended := endedBy(ctx); ended != nil {
			// The handler saw its context end (go-threads' Listen then returns nil):
			// the client is told why.
			return ended
		}
		return err
	}
}

// UnusableThread is the one answer to a create or join (NewDB, NewDBFromAddr, CreateThread,
// AddThread) of a thread ID the caller may not use: a malformed ID, an address that names
// no thread, a thread this server holds that is not the caller's (another identity's, one
// it only replicates, one made without a token), an ID another identity has reserved, or
// a join from this server's own address of a thread it does not hold.
// One answer for all of them, so that a refusal does not tell whether another user's
// thread exists.
const UnusableThread = "thread ID unavailable: it is malformed or cannot be used by this identity on this server; a new thread needs a new random ID"

var errUnusableThread = status.Error(codes.InvalidArgument, UnusableThread)

// create decides who owns the thread a call creates or joins before the call is made, and
// never hands over an owner record: a caller with a token may create a thread that is not
// on the node and that nobody has reserved (its record is written first, durably, as the
// Hub did, and removed if the call fails), finish a create of its own that a crash
// interrupted (its record is there, the thread is not), or call again on its own thread
// (go-threads then answers as it does, "db already exists"). Every other case is
// refused with errUnusableThread, whatever go-threads would have said. Operators act on
// any thread, with their token or without, but their calls record nothing for a thread
// that is already there, and do not give another identity's reservation a thread.
// A user's create of a thread new to it is refused (ResourceExhausted) when its identity
// owns as many threads as Quotas allows (record); operators are not limited. A thread new
// to the caller may not take a name another of its threads has (checkName).
func (g *Guard) create(ctx context.Context, c Caller, p policy, name string, req any, handler grpc.UnaryHandler) (any, error) {
	id, err := p.threadID(req)
	if err != nil {
		if c.Operator {
			return handler(ctx, req) // go-threads explains a malformed request in its own words
		}
		return nil, errUnusableThread
	}
	// Every create of an ID, with a token or without, is serialised with the others and
	// with deletes, so what is decided here still holds when the handler runs (pushes
	// from peers aside: see below).
	unlock := g.Owners.lockID(id)
	defer unlock()
	if c.Identity == "" {
		// Only operators get here without a token (authenticate): the node's own
		// identity acts, and it owns nothing. Its threads' names are unique among the
		// threads nobody owns; the identity's lock is held through the call, as no record
		// stands for the name meanwhile.
		unlock := lockStripes(identityStripe(""))
		defer unlock()
		if has, err := g.HasThread(ctx, id); err == nil && !has {
			if err := g.checkName(ctx, "", name, id); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
	prev, recorded := g.Owners.Get(id)
	if recorded && prev.Identity != c.Identity && !c.Operator {
		return nil, errUnusableThread
	}
	has, err := g.HasThread(ctx, id)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "look up thread %s: %v", id, err)
	}
	rec := Owner{ThreadID: id, Identity: c.Identity, DB: p.db, Created: time.Now().UTC()}
	if c.Key != nil {
		rec.Key = c.Key.Key
	}
	rec.Name = name
	switch {
	case recorded && prev.Identity == c.Identity:
		if !has && (prev.Name != rec.Name || prev.DB != rec.DB) {
			// Repairing a create a crash interrupted: the record follows this call.
			if err := g.record(ctx, rec, false); err != nil {
				return nil, recordErr(err)
			}
		}
		return handler(ctx, req)
	case recorded:
		if !has {
			return nil, status.Errorf(codes.FailedPrecondition, "thread %s is reserved for identity %s by the owner record of a create that did not finish: only that identity can create it", id, prev.Identity)
		}
		return handler(ctx, req) // an operator; the record stays
	case has:
		if !c.Operator {
			return nil, errUnusableThread // replicated here, or made without a token
		}
		return handler(ctx, req)
	case !c.Operator && g.fromSelf(req):
		// go-threads would answer "cannot retrieve thread from self", where a thread
		// that is here gets errUnusableThread: a probe that told them apart would show
		// which IDs are in use without even creating one.
		return nil, errUnusableThread
	}
	// A thread new to this identity: the one place a user's count of threads grows, so
	// the quota is checked here (repairs and repeat calls above add nothing).
	if err := g.record(ctx, rec, !c.Operator); err != nil {
		return nil, recordErr(err)
	}
	res, err := handler(ctx, req)
	if err == nil {
		return res, nil
	}
	if derr := g.Owners.Delete(id); derr != nil {
		return nil, status.Error(codes.Internal, derr.Error())
	}
	if !c.Operator {
		// Peers can add a thread to the node at any time (go-threads' PushLog takes any
		// thread it is sent), so one may have arrived during the call and made go-threads
		// answer "exists" or "service-key mismatch". A thread left after a failed call is
		// not the caller's either way: answer as for any other unusable ID.
		if now, herr := g.HasThread(context.WithoutCancel(ctx), id); herr == nil && now {
			return nil, errUnusableThread
		}
	}
	return res, err
}

// recordErr is the answer to a failed record: its own refusal, or an internal error.
func recordErr(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Internal, err.Error())
}

// CreateAs makes a thread for the caller of ctx as its own create call would (ownership,
// name, quota), with make doing the creating: the users API's SetupMailbox makes the
// caller's mailbox this way. The caller must have a token: a thread made for nobody
// could not be found by name later.
func (g *Guard) CreateAs(ctx context.Context, id thread.ID, name string, isDB bool, make func(ctx context.Context) error) error {
	c, ok := CallerFromContext(ctx)
	if !ok || c.Identity == "" {
		return errTokenRequired
	}
	p := policy{kind: create, db: isDB, notFound: errDBNotFound,
		threadID: func(any) (thread.ID, error) { return id, nil }}
	_, err := g.create(ctx, c, p, name, nil, func(ctx context.Context, _ any) (any, error) { return nil, make(ctx) })
	return err
}

// fromSelf reports whether req joins a thread from this node's own address (its /p2p
// is the host's peer ID), which go-threads allows only for a thread the node holds.
func (g *Guard) fromSelf(req any) bool {
	var b []byte
	switch r := req.(type) {
	case *netpb.AddThreadRequest:
		b = r.Addr
	case *pb.NewDBFromAddrRequest:
		b = r.Addr
	default:
		return false
	}
	addr, err := ma.NewMultiaddrBytes(b)
	if err != nil {
		return false
	}
	v, err := addr.ValueForProtocol(ma.P_P2P)
	if err != nil {
		return false
	}
	to, err := peer.Decode(v)
	if err != nil {
		return false
	}
	self, err := peer.IDFromPrivateKey(g.HostKey)
	return err == nil && to == self
}

// remove deletes a thread the caller may delete, and its owner record.
func (g *Guard) remove(ctx context.Context, c Caller, p policy, req any, handler grpc.UnaryHandler) (any, error) {
	if err := g.checkOwned(c, p, req); err != nil {
		return nil, err
	}
	id, _ := p.threadID(req)
	unlock := g.Owners.lockID(id)
	defer unlock()
	res, err := handler(ctx, req)
	if err == nil {
		if derr := g.Owners.Delete(id); derr != nil {
			return nil, status.Error(codes.Internal, derr.Error())
		}
	}
	return res, err
}

// checkOwned refuses, as not found, a call on a thread the caller does not own.
func (g *Guard) checkOwned(c Caller, p policy, req any) error {
	if c.Operator {
		return nil
	}
	id, err := p.threadID(req)
	if err != nil || !g.Owners.Owns(c.Identity, id) {
		return p.notFound
	}
	return nil
}

// guardedStream checks a stream's first message and filters what it sends. Once its key
// is revoked or its token expires, nothing more is received or sent: a handler that does
// not watch its context (a transaction waiting for its client's next message) fails at
// its next message.
type guardedStream struct {
	grpc.ServerStream
	ctx     context.Context
	check   func(m any) error
	checked bool
	keep    func(m any) bool
	issue   func(m any) error // rewrites GetToken's token
}

func (s *guardedStream) Context() context.Context { return s.ctx }

func (s *guardedStream) RecvMsg(m any) error {
	if err := endedBy(s.ctx); err != nil {
		return err
	}
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if err := endedBy(s.ctx); err != nil {
		return err
	}
	if s.check != nil && !s.checked {
		s.checked = true
		return s.check(m)
	}
	return nil
}

func (s *guardedStream) SendMsg(m any) error {
	if err := endedBy(s.ctx); err != nil {
		return err
	}
	if s.keep != nil && !s.keep(m) {
		return nil
	}
	if s.issue != nil {
		if err := s.issue(m); err != nil {
			return err
		}
	}
	return s.ServerStream.SendMsg(m)
}

// A policy says how the guard treats a method.
type policy struct {
	kind     kind
	threadID func(req any) (thread.ID, error)
	name     func(req any) string
	db       bool
	notFound error
	// shared: a buckets method another identity may call on a database it does not
	// own, for a bucket whose path access roles give it a role (the service decides).
	shared bool
}

type kind int

const (
	operatorOnly  kind = iota // unknown methods: only operators
	open                      // no checks at all (health)
	public                    // a valid key, no token
	create                    // creates or joins a thread
	remove                    // deletes a thread
	owned                     // acts on an existing thread
	listDBs                   // lists DBs: filtered to the caller's
	subscribe                 // net Subscribe: events of the caller's threads
	users                     // the users API methods hubctl serves
	mailbox                   // the users API's mailbox: a token is required
	unimplemented             // the rest of the users API
	bucket                    // the buckets API: its database is in the x-textile-thread header
)

const (
	threadsAPI = "/threads.pb.API/"
	netAPI     = "/threads.net.pb.API/"
	usersAPI   = "/api.usersd.pb.APIService/"
	// storeAPI is hubctl's own service (pkg/server): its RepairDB is left to the
	// operators (policyFor), its ExportInstances is in the table.
	storeAPI = "/hubctl.v1.Store/"
	// bucketsAPI is textile's buckets service, as hubctl serves it (pkg/server/buckets.go).
	bucketsAPI = "/api.bucketsd.pb.APIService/"
)

// HeaderThread is the header Hub clients name the database of a buckets call with (textile's
// common.ThreadIDFromMD): the thread ID's string form.
const HeaderThread = "x-textile-thread"

// errBucketDBRequired is the Hub's answer to a buckets call without a database (textile
// api/bucketsd errDBRequired), with a code.
var errBucketDBRequired = status.Error(codes.InvalidArgument, "db required")

// HeaderThreadID is the database a buckets call names in its x-textile-thread header; a
// malformed one counts as none, as on the Hub.
func HeaderThreadID(ctx context.Context) (thread.ID, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(HeaderThread)
	if len(v) != 1 || v[0] == "" {
		return thread.Undef, false
	}
	id, err := thread.Decode(v[0])
	if err != nil || !id.Defined() {
		return thread.Undef, false
	}
	return id, true
}

// checkBucket applies a buckets method's policy: one whose database is in the
// x-textile-thread header needs that header (InvalidArgument "db required", operators
// included: the method cannot run without it) and, but for operators, a database the
// caller owns (NotFound "db not found" otherwise, as for every other database); one
// without (ListIpfsPath, PullIpfsPath: p.db false) only the caller checks of
// authenticate. A shared method (p.shared: the Hub's cross-user bucket methods) lets a
// caller with a token through to a database it does not own, marked as such
// (SharedBucketCall): the buckets service then answers it by the bucket's path access
// roles, and "db not found" where they give it nothing.
func (g *Guard) checkBucket(ctx context.Context, c Caller, p policy) (context.Context, error) {
	if !p.db {
		return ctx, nil
	}
	id, ok := HeaderThreadID(ctx)
	if !ok {
		return ctx, errBucketDBRequired
	}
	if c.Operator || g.Owners.Owns(c.Identity, id) {
		return ctx, nil
	}
	if p.shared && c.Identity != "" {
		return context.WithValue(ctx, sharedBucketKey{}, true), nil
	}
	return ctx, errDBNotFound
}

type sharedBucketKey struct{}

// SharedBucketCall reports whether a buckets call acts on a database its caller does not
// own (checkBucket let it through for the bucket's path access roles to decide).
func SharedBucketCall(ctx context.Context) bool {
	shared, _ := ctx.Value(sharedBucketKey{}).(bool)
	return shared
}

// errUnimplementedUsers answers the users API methods hubctl does not serve: the
// Filecoin archive calls.
func errUnimplementedUsers(method string) error {
	return status.Errorf(codes.Unimplemented, "hubctl daemon does not serve %s: hubctl has no Filecoin archiving", method)
}

// policyFor covers methods not in the table: health checks are open (load balancers
// carry no keys), the rest of the users API is unimplemented, anything else is for
// operators only, so a method added to go-threads later is not open by accident.
func policyFor(method string) policy {
	switch {
	case strings.HasPrefix(method, "/grpc.health.v1.Health/"):
		return policy{kind: open}
	case strings.HasPrefix(method, usersAPI), strings.HasPrefix(method, bucketsAPI):
		return policy{kind: unimplemented}
	}
	return policy{kind: operatorOnly}
}

func dbID(b []byte) (thread.ID, error) { return thread.Cast(b) }

func fromAddr(b []byte) (thread.ID, error) {
	addr, err := ma.NewMultiaddrBytes(b)
	if err != nil {
		return thread.Undef, err
	}
	return thread.FromAddr(addr)
}

func db(get func(req any) []byte) policy {
	return policy{kind: owned, threadID: func(req any) (thread.ID, error) { return dbID(get(req)) }, notFound: errDBNotFound}
}

func netThread(get func(req any) []byte) policy {
	return policy{kind: owned, threadID: func(req any) (thread.ID, error) { return dbID(get(req)) }, notFound: errThreadNotFound}
}

func with(p policy, k kind) policy { p.kind = k; return p }

// policies lists every method of the threads, net and users APIs; a test checks that the
// table covers the generated service descriptions.
var policies = map[string]policy{
	threadsAPI + "GetToken": {kind: public},
	threadsAPI + "NewDB": {kind: create, db: true, notFound: errDBNotFound,
		threadID: func(r any) (thread.ID, error) { return dbID(r.(*pb.NewDBRequest).DbID) },
		name:     func(r any) string { return r.(*pb.NewDBRequest).Name }},
	threadsAPI + "NewDBFromAddr": {kind: create, db: true, notFound: errDBNotFound,
		threadID: func(r any) (thread.ID, error) { return fromAddr(r.(*pb.NewDBFromAddrRequest).Addr) },
		name:     func(r any) string { return r.(*pb.NewDBFromAddrRequest).Name }},
	threadsAPI + "ListDBs":              {kind: listDBs},
	threadsAPI + "GetDBInfo":            db(func(r any) []byte { return r.(*pb.GetDBInfoRequest).DbID }),
	threadsAPI + "DeleteDB":             with(db(func(r any) []byte { return r.(*pb.DeleteDBRequest).DbID }), remove),
	threadsAPI + "NewCollection":        db(func(r any) []byte { return r.(*pb.NewCollectionRequest).DbID }),
	threadsAPI + "UpdateCollection":     db(func(r any) []byte { return r.(*pb.UpdateCollectionRequest).DbID }),
	threadsAPI + "DeleteCollection":     db(func(r any) []byte { return r.(*pb.DeleteCollectionRequest).DbID }),
	threadsAPI + "GetCollectionInfo":    db(func(r any) []byte { return r.(*pb.GetCollectionInfoRequest).DbID }),
	threadsAPI + "GetCollectionIndexes": db(func(r any) []byte { return r.(*pb.GetCollectionIndexesRequest).DbID }),
	threadsAPI + "ListCollections":      db(func(r any) []byte { return r.(*pb.ListCollectionsRequest).DbID }),
	threadsAPI + "Create":               db(func(r any) []byte { return r.(*pb.CreateRequest).DbID }),
	threadsAPI + "Verify":               db(func(r any) []byte { return r.(*pb.VerifyRequest).DbID }),
	threadsAPI + "Save":                 db(func(r any) []byte { return r.(*pb.SaveRequest).DbID }),
	threadsAPI + "Delete":               db(func(r any) []byte { return r.(*pb.DeleteRequest).DbID }),
	threadsAPI + "Has":                  db(func(r any) []byte { return r.(*pb.HasRequest).DbID }),
	threadsAPI + "Find":                 db(func(r any) []byte { return r.(*pb.FindRequest).DbID }),
	threadsAPI + "FindByID":             db(func(r any) []byte { return r.(*pb.FindByIDRequest).DbID }),
	threadsAPI + "Listen":               db(func(r any) []byte { return r.(*pb.ListenRequest).DbID }),
	threadsAPI + "ReadTransaction": db(func(r any) []byte {
		return r.(*pb.ReadTransactionRequest).GetStartTransactionRequest().GetDbID()
	}),
	threadsAPI + "WriteTransaction": db(func(r any) []byte {
		return r.(*pb.WriteTransactionRequest).GetStartTransactionRequest().GetDbID()
	}),

	netAPI + "GetHostID": {kind: public},
	netAPI + "GetToken":  {kind: public},
	netAPI + "CreateThread": {kind: create, notFound: errThreadNotFound,
		threadID: func(r any) (thread.ID, error) { return dbID(r.(*netpb.CreateThreadRequest).ThreadID) }},
	netAPI + "AddThread": {kind: create, notFound: errThreadNotFound,
		threadID: func(r any) (thread.ID, error) { return fromAddr(r.(*netpb.AddThreadRequest).Addr) }},
	netAPI + "GetThread":     netThread(func(r any) []byte { return r.(*netpb.GetThreadRequest).ThreadID }),
	netAPI + "PullThread":    netThread(func(r any) []byte { return r.(*netpb.PullThreadRequest).ThreadID }),
	netAPI + "DeleteThread":  with(netThread(func(r any) []byte { return r.(*netpb.DeleteThreadRequest).ThreadID }), remove),
	netAPI + "AddReplicator": netThread(func(r any) []byte { return r.(*netpb.AddReplicatorRequest).ThreadID }),
	netAPI + "CreateRecord":  netThread(func(r any) []byte { return r.(*netpb.CreateRecordRequest).ThreadID }),
	netAPI + "AddRecord":     netThread(func(r any) []byte { return r.(*netpb.AddRecordRequest).ThreadID }),
	netAPI + "GetRecord":     netThread(func(r any) []byte { return r.(*netpb.GetRecordRequest).ThreadID }),
	netAPI + "Subscribe":     {kind: subscribe},

	// ExportInstances reads every instance of a collection of a database, around its
	// read filter, for a backup: its owner and operators only, refused to anyone else
	// exactly as a Find on that database is.
	storeAPI + "ExportInstances": db(func(r any) []byte { return r.(*pb.FindRequest).DbID }),
	// FindInstances is Find as a stream of pages: whom Find lets through, it does.
	storeAPI + "FindInstances": db(func(r any) []byte { return r.(*pb.FindRequest).DbID }),

	// StorageUsage answers the caller's own storage (an operator's, anyone's).
	storeAPI + "StorageUsage": {kind: users},

	usersAPI + "ListThreads": {kind: users},
	usersAPI + "GetUsage":    {kind: users},

	usersAPI + "SetupMailbox":         {kind: mailbox},
	usersAPI + "SendMessage":          {kind: mailbox},
	usersAPI + "ListInboxMessages":    {kind: mailbox},
	usersAPI + "ListSentboxMessages":  {kind: mailbox},
	usersAPI + "ReadInboxMessage":     {kind: mailbox},
	usersAPI + "DeleteInboxMessage":   {kind: mailbox},
	usersAPI + "DeleteSentboxMessage": {kind: mailbox},
	usersAPI + "GetThread":            {kind: users},

	// Buckets: every method on a database named by the x-textile-thread header is its
	// owner's (and operators'); the two that read a CID of the node's own blocks name
	// no database and are for any caller with a token. The methods the Hub let other
	// identities call (its allowedCrossUserMethods, and PushPaths, which came later)
	// are shared: the bucket's path access roles decide them (pkg/server/buckets.go).
	bucketsAPI + "List":                    bucketDB,
	bucketsAPI + "Create":                  bucketDB,
	bucketsAPI + "Root":                    bucketShared,
	bucketsAPI + "Links":                   bucketShared,
	bucketsAPI + "ListPath":                bucketShared,
	bucketsAPI + "ListIpfsPath":            bucketBlocks,
	bucketsAPI + "PushPath":                bucketShared,
	bucketsAPI + "PushPaths":               bucketShared,
	bucketsAPI + "PullPath":                bucketShared,
	bucketsAPI + "PullIpfsPath":            bucketBlocks,
	bucketsAPI + "SetPath":                 bucketShared,
	bucketsAPI + "MovePath":                bucketShared,
	bucketsAPI + "Remove":                  bucketDB,
	bucketsAPI + "RemovePath":              bucketShared,
	bucketsAPI + "PushPathAccessRoles":     bucketShared,
	bucketsAPI + "PullPathAccessRoles":     bucketShared,
	bucketsAPI + "DefaultArchiveConfig":    {kind: unimplemented},
	bucketsAPI + "SetDefaultArchiveConfig": {kind: unimplemented},
	bucketsAPI + "Archive":                 {kind: unimplemented},
	bucketsAPI + "Archives":                {kind: unimplemented},
	bucketsAPI + "ArchiveWatch":            {kind: unimplemented},
}

// The policies of buckets methods: on the header's database (its owner's, or shared by
// path access roles), or on blocks only.
var (
	bucketDB     = policy{kind: bucket, db: true, notFound: errDBNotFound}
	bucketShared = policy{kind: bucket, db: true, notFound: errDBNotFound, shared: true}
	bucketBlocks = policy{kind: bucket}
)
