// Package server serves a ThreadDB node over gRPC behind the Hub's auth: in memory for
// hubctl's embedded default, and over TCP and grpc-web for `hubctl daemon`. Both take the
// same path: the threads, net and Hub users APIs and the gRPC health service, behind a
// hubauth.Guard.
package server

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/textileio/go-threads/core/thread"
	bucketspb "github.com/textileio/textile/v2/api/bucketsd/pb"
	userspb "github.com/textileio/textile/v2/api/usersd/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// Options configure the gRPC server.
type Options struct {
	Mode hubauth.Mode
	// Keys are the API keys callers must present when Mode is hubauth.AuthKeys.
	Keys hubauth.KeyLookup
	// MaxSigTTL refuses signatures dated further ahead (hubauth.DefaultMaxSigTTL when 0).
	MaxSigTTL time.Duration
	// Limits bound connections and messages (limits.go).
	Limits Limits
	// Quotas bound what one identity with a user key keeps on the server.
	Quotas hubauth.Quotas
	// TokenTTL is the lifetime of the tokens GetToken issues; zero: they never expire.
	TokenTTL time.Duration
	// UserDial restricts the addresses calls with a user key make the node dial.
	UserDial DialPolicy
	// Warnf reports what the operator must see without --debug (nil: nothing).
	Warnf func(format string, args ...any)
	// GatewayURL is where the bucket links the server reports point (Links): the
	// daemon's gateway, or whatever serves it to the outside.
	GatewayURL string
	// StoragePerIdentity bounds the bytes of the buckets one identity owns (0: no
	// limit; buckets_quota.go).
	StoragePerIdentity int64
}

// GRPC is a node's gRPC server.
type GRPC struct {
	*grpc.Server
	Guard  *hubauth.Guard
	health *health.Server
	limits Limits
	calls  callCounter

	// drain ends open-ended streams (Listen, Subscribe) when the server stops: they would
	// otherwise keep a graceful stop waiting for ever.
	drainOnce sync.Once
	drain     chan struct{}
}

// NewGRPC builds the server for n: owner records live in the node's directory.
func NewGRPC(n *node.Node, opts Options) (*GRPC, error) {
	if opts.Mode == hubauth.AuthKeys && opts.Keys == nil {
		return nil, fmt.Errorf("key checks need a key registry")
	}
	owners, err := hubauth.OpenOwners(filepath.Join(n.Dir(), "owners"))
	if err != nil {
		return nil, err
	}
	limits := opts.Limits.withDefaults()
	g := &GRPC{
		Guard: &hubauth.Guard{
			Mode:      opts.Mode,
			Checker:   &hubauth.Checker{Keys: opts.Keys, MaxSigTTL: opts.MaxSigTTL},
			Owners:    owners,
			HostKey:   n.HostKey(),
			HasThread: n.HasThread,
			Threads:   func(ctx context.Context) ([]hubauth.ThreadInfo, error) { return usersThreads(ctx, n) },
			Quotas:    opts.Quotas,
			TokenTTL:  opts.TokenTTL,
		},
		limits: limits,
		health: health.NewServer(),
		drain:  make(chan struct{}),
	}
	checks := &collectionChecks{}
	configureStorage(n, owners, opts.StoragePerIdentity)
	g.Server = grpc.NewServer(
		grpc.MaxRecvMsgSize(limits.MaxMessageSize),
		grpc.MaxSendMsgSize(limits.MaxMessageSize),
		grpc.MaxConcurrentStreams(limits.MaxStreams),
		// Keys are checked from the headers, before a body is read (hubauth.Guard.TapHandle).
		grpc.InTapHandle(g.Guard.TapHandle),
		// A connection must finish its HTTP/2 preface within the handshake time, and one
		// with no call in progress is closed (GOAWAY; clients reconnect when they need to).
		grpc.ConnectionTimeout(handshakeTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: limits.IdleTimeout,
			// A connection that has sent nothing for half the idle time is pinged, and
			// closed if it does not answer within a quarter: before the idle close,
			// whose GOAWAY a client that reads nothing would never answer.
			Time:    limits.IdleTimeout / 2,
			Timeout: limits.IdleTimeout / 4,
		}),
		grpc.StatsHandler(&g.calls),
		grpc.ChainUnaryInterceptor(g.Guard.UnaryInterceptor(), holdInterceptor{n}.unary, checkRequest,
			(&collectionQuota{node: n, quotas: opts.Quotas}).unary,
			checks.checkCollection,
			(&brokenInterceptor{node: n, owners: owners}).unary, (&peerInterceptor{node: n}).unary,
			(&dialGuard{policy: opts.UserDial, warnf: opts.Warnf}).unary), // innermost: it rewrites go-threads' errors only
		grpc.ChainStreamInterceptor(webFlowInterceptor, g.drainInterceptor, g.Guard.StreamInterceptor(), holdInterceptor{n}.stream, checks.checkStream, readyInterceptor),
	)
	n.Serve(g.Server, node.ServeOptions{MaxFindReply: limits.MaxMessageSize})
	userspb.RegisterAPIServiceServer(g.Server, &usersService{
		Users: &hubauth.Users{
			Owners:  owners,
			Threads: func(ctx context.Context) ([]hubauth.ThreadInfo, error) { return usersThreads(ctx, n) },
		},
		node:  n,
		guard: g.Guard,
		// A list answer stays well under what a client accepts (--max-message-size).
		maxReply: limits.MaxMessageSize / 2,
	})
	g.Server.RegisterService(&storeServiceDesc, &storeService{node: n})
	healthpb.RegisterHealthServer(g.Server, g.health)
	bucketspb.RegisterAPIServiceServer(g.Server, newBucketsService(n, g.Guard, opts, limits))
	g.calls.know(g.Server)
	return g, nil
}

// Drain marks the server as not serving and ends open-ended streams, so that a graceful
// stop waits only for calls that end by themselves.
func (g *GRPC) Drain() {
	g.drainOnce.Do(func() {
		g.health.Shutdown()
		close(g.drain)
	})
}

// openEnded are the streams that last until the client leaves.
var openEnded = map[string]bool{
	"/threads.pb.API/Listen":        true,
	"/threads.net.pb.API/Subscribe": true,
	"/grpc.health.v1.Health/Watch":  true,
}

func (g *GRPC) drainInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !openEnded[info.FullMethod] {
		return handler(srv, ss)
	}
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	go func() {
		select {
		case <-g.drain:
			cancel()
		case <-ctx.Done():
		}
	}()
	return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

// readyInterceptor sends a Listen stream's headers as soon as go-threads has subscribed
// to the database's events, rather than with the first event: a client such as `hubctl db
// listen` can then tell its user it is listening, and a script can start making changes
// without one being missed. (go-threads itself sends nothing until an event. Net
// Subscribe, served by hubctl's own copy of the net API, sends its headers itself.)
func readyInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod != "/threads.pb.API/Listen" {
		return handler(srv, ss)
	}
	return handler(srv, &readyStream{ServerStream: ss})
}

// readyStream tells when the Listen handler has subscribed by counting its reads of the
// stream's context: go-threads' api.Service.Listen (v1.1.5, pinned in go.mod) reads it
// twice before it subscribes (for the token, then the database) and a third time as it
// starts waiting for events. The headers go out on that third read. Sending them when the
// request arrived instead, as an earlier version did, let a change made at once be missed
// under load (pkg/hub TestListen hung on it).
type readyStream struct {
	grpc.ServerStream
	reads int
}

// listenReadsBeforeWaiting is how many times go-threads' Listen reads the stream's
// context up to and including its first wait for events.
const listenReadsBeforeWaiting = 3

func (s *readyStream) Context() context.Context {
	s.reads++
	if s.reads == listenReadsBeforeWaiting {
		// A failure here means the client is gone; the handler finds out on its own.
		_ = s.ServerStream.SendHeader(metadata.MD{})
	}
	return s.ServerStream.Context()
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

// usersThreads is every thread of n as the users API lists them: the databases (also
// those that failed to load, which are databases to be repaired, not plain threads), then
// the logstore's other threads, unnamed: plain net threads, and those n keeps for others
// as a replicator (no owner: only operators see them).
func usersThreads(ctx context.Context, n *node.Node) ([]hubauth.ThreadInfo, error) {
	dbs, err := n.ListDBs(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := n.Threads()
	if err != nil {
		return nil, err
	}
	out := make([]hubauth.ThreadInfo, 0, len(ids))
	isDB := make(map[thread.ID]bool, len(dbs))
	for _, d := range dbs {
		isDB[d.ID] = true
		out = append(out, hubauth.ThreadInfo{ID: d.ID, Name: d.Name, IsDB: true})
	}
	for _, b := range n.BrokenDBs() {
		if !isDB[b.ID] {
			isDB[b.ID] = true
			out = append(out, hubauth.ThreadInfo{ID: b.ID, Name: b.Name, IsDB: true})
		}
	}
	for _, id := range ids {
		if !isDB[id] {
			out = append(out, hubauth.ThreadInfo{ID: id})
		}
	}
	return out, nil
}
