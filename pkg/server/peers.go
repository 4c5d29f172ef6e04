package server

import (
	"context"
	"strings"
	"sync"

	ma "github.com/multiformats/go-multiaddr"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/node"
)

// Response headers of net GetHostID: the host's addresses, which go-threads' API does not
// report, so `hubctl net id` can print them. Plain go-threads servers send neither.
const (
	HeaderHostAddrs   = "hubctl-host-addrs"
	HeaderListenAddrs = "hubctl-listen-addrs"
	// HeaderPeerAddrs, on GetDBInfo, are the addresses of the other peers that keep the
	// database (writers that joined it, replicators), which invites list after the
	// server's own so a peer can join while this server is down.
	HeaderPeerAddrs = "hubctl-peer-addrs"
)

// ReplicaOnly starts the refusal of a join of a thread the server only replicates.
const ReplicaOnly = "this server already keeps thread"

const (
	methodGetHostID     = "/threads.net.pb.API/GetHostID"
	methodNewDBFromAddr = "/threads.pb.API/NewDBFromAddr"
	methodAddThread     = "/threads.net.pb.API/AddThread"
	methodGetDBInfo     = "/threads.pb.API/GetDBInfo"
)

// peerInterceptor serves what hubctl adds for peers on top of go-threads:
//   - GetHostID answers with the host's announced and listen addresses in its headers,
//     GetDBInfo with the addresses of the other peers that keep the database;
//   - a failed join (NewDBFromAddr, net AddThread) leaves nothing behind. go-threads
//     stores the thread and a log for the caller before it dials the peer, so a join that
//     failed because the peer was down, or that tried an invite's first address in vain,
//     would otherwise turn every later join of that database into "log already exists",
//     and leave a thread without an owner, which the guard refuses to every user.
//
// Only a thread the node did not hold before the call is forgotten: the guard (which runs
// first, and serialises every create of one thread ID) refuses users a thread that is
// there and not theirs, and lets operators and owners through, whose failed calls on a
// thread that was there must not delete it.
type peerInterceptor struct {
	node  *node.Node
	joins sync.Mutex // one join at a time: the check before and the cleanup after pair up
}

func (p *peerInterceptor) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	switch info.FullMethod {
	case methodGetHostID:
		_ = grpc.SetHeader(ctx, metadata.Pairs(
			HeaderHostAddrs, strings.Join(p.node.HostAddrs(), ","),
			HeaderListenAddrs, strings.Join(p.node.ListenAddrs(), ","),
		))
		return handler(ctx, req)
	case methodNewDBFromAddr:
		return p.join(ctx, req.(*pb.NewDBFromAddrRequest).Addr, true, req, handler)
	case methodAddThread:
		return p.join(ctx, req.(*netpb.AddThreadRequest).Addr, false, req, handler)
	case methodGetDBInfo:
		res, err := handler(ctx, req)
		if err == nil {
			if id, cerr := thread.Cast(req.(*pb.GetDBInfoRequest).DbID); cerr == nil {
				if addrs, perr := p.node.PeerAddrs(ctx, id); perr == nil {
					_ = grpc.SetHeader(ctx, metadata.Pairs(HeaderPeerAddrs, strings.Join(addrs, ",")))
				}
			}
		}
		return res, err
	}
	return handler(ctx, req)
}

// join runs a join of the thread at addrBytes, as a database when isDBJoin (NewDBFromAddr).
func (p *peerInterceptor) join(ctx context.Context, addrBytes []byte, isDBJoin bool, req any, handler grpc.UnaryHandler) (any, error) {
	addr, err := ma.NewMultiaddrBytes(addrBytes)
	if err != nil {
		return handler(ctx, req) // go-threads answers a bad address itself
	}
	id, err := thread.FromAddr(addr)
	if err != nil {
		return handler(ctx, req)
	}
	p.joins.Lock()
	defer p.joins.Unlock()
	had, err := p.node.HasThread(ctx, id)
	if err != nil {
		return nil, err
	}
	if had && isDBJoin {
		isDB, err := p.node.HasDB(ctx, id)
		if err != nil {
			return nil, err
		}
		if !isDB {
			// go-threads would join it, but count the records it already holds as applied:
			// the new database would stay empty, silently.
			return nil, status.Errorf(codes.FailedPrecondition, "%s %s as a replicator, without its read key: joined here, none of the records it holds would show; join it on another server", ReplicaOnly, id)
		}
	}
	res, err := handler(ctx, req)
	if err == nil || had {
		return res, err
	}
	// A thread this node did not hold before the call and that no database uses is what
	// the failed join left: forget it. The caller gets the join's own error either way.
	cleanup := context.WithoutCancel(ctx)
	if isDB, derr := p.node.HasDB(cleanup, id); derr == nil && !isDB {
		_ = p.node.ForgetThread(cleanup, id)
	}
	return res, err
}
