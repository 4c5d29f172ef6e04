package server

// Block garbage collection on a server: writes hold their blocks (holdInterceptor), the
// operator's Store RPC runs a collection on demand, and the daemon runs one on a
// schedule (Daemon.collectEvery).

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/hubctl/hubctl/pkg/blockgc"
	"github.com/hubctl/hubctl/pkg/node"
)

// MethodCollectGarbage runs a block collection (node.CollectGarbage) and answers its
// report as JSON (blockgc.Report) in a BytesValue; the request is Empty. It is for
// operators (an account key, or the embedded node): the guard refuses hubctl's own
// methods to everyone else.
const MethodCollectGarbage = "/hubctl.v1.Store/CollectGarbage"

// DefaultGCInterval is how often `hubctl daemon` collects blocks unless told otherwise.
const DefaultGCInterval = time.Hour

// blockWrites are the methods that store blocks, or save what links them: each holds the
// blocks it puts and reads until it ends, so a collection running meanwhile keeps them.
var blockWrites = map[string]bool{
	"/api.bucketsd.pb.APIService/Create":              true,
	"/api.bucketsd.pb.APIService/Remove":              true,
	"/api.bucketsd.pb.APIService/SetPath":             true,
	"/api.bucketsd.pb.APIService/MovePath":            true,
	"/api.bucketsd.pb.APIService/RemovePath":          true,
	"/api.bucketsd.pb.APIService/PushPath":            true,
	"/api.bucketsd.pb.APIService/PushPaths":           true,
	"/api.bucketsd.pb.APIService/PushPathAccessRoles": true,
	"/threads.pb.API/NewDB":                           true,
	"/threads.pb.API/NewDBFromAddr":                   true,
	"/threads.pb.API/NewCollection":                   true,
	"/threads.pb.API/UpdateCollection":                true,
	"/threads.pb.API/DeleteCollection":                true,
	"/threads.pb.API/Create":                          true,
	"/threads.pb.API/Save":                            true,
	"/threads.pb.API/Delete":                          true,
	"/threads.pb.API/WriteTransaction":                true,
	"/threads.pb.API/DeleteDB":                        true,
	"/threads.net.pb.API/CreateThread":                true,
	"/threads.net.pb.API/AddThread":                   true,
	"/threads.net.pb.API/CreateRecord":                true,
	"/threads.net.pb.API/AddRecord":                   true,
	"/threads.net.pb.API/AddReplicator":               true,
	"/api.usersd.pb.APIService/SetupMailbox":          true,
	"/api.usersd.pb.APIService/SendMessage":           true,
	"/api.usersd.pb.APIService/ReadInboxMessage":      true,
	"/api.usersd.pb.APIService/DeleteInboxMessage":    true,
	"/api.usersd.pb.APIService/DeleteSentboxMessage":  true,
}

// holdInterceptor holds the node's blocks for the length of every write (blockWrites).
type holdInterceptor struct{ node *node.Node }

func (h holdInterceptor) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !blockWrites[info.FullMethod] {
		return handler(ctx, req)
	}
	release := h.node.HoldBlocks()
	defer release()
	return handler(ctx, req)
}

func (h holdInterceptor) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !blockWrites[info.FullMethod] {
		return handler(srv, ss)
	}
	release := h.node.HoldBlocks()
	defer release()
	return handler(srv, ss)
}

func (s *storeService) collectGarbage(ctx context.Context, _ *emptypb.Empty) (*wrapperspb.BytesValue, error) {
	rep, err := s.node.CollectGarbage(ctx, blockgc.Hooks{})
	if err != nil {
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, status.Errorf(codes.Internal, "collect blocks: %v", err)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return wrapperspb.Bytes(data), nil
}

type gcServer interface {
	collectGarbage(context.Context, *emptypb.Empty) (*wrapperspb.BytesValue, error)
	storageUsage(context.Context, *wrapperspb.StringValue) (*wrapperspb.BytesValue, error)
}

func init() {
	storeServiceDesc.Methods = append(storeServiceDesc.Methods,
		grpc.MethodDesc{
			MethodName: "CollectGarbage",
			Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				call := func(ctx context.Context, req any) (any, error) {
					return srv.(gcServer).collectGarbage(ctx, req.(*emptypb.Empty))
				}
				if interceptor == nil {
					return call(ctx, in)
				}
				return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: MethodCollectGarbage}, call)
			},
		},
		grpc.MethodDesc{
			MethodName: "StorageUsage",
			Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				call := func(ctx context.Context, req any) (any, error) {
					return srv.(gcServer).storageUsage(ctx, req.(*wrapperspb.StringValue))
				}
				if interceptor == nil {
					return call(ctx, in)
				}
				return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: MethodStorageUsage}, call)
			},
		},
	)
}

// collectEvery runs a collection every interval until ctx ends, reporting through warnf
// each run that reclaimed something or skipped something, and each failure.
func collectEvery(ctx context.Context, n *node.Node, interval time.Duration, warnf func(string, ...any)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := n.CollectGarbage(ctx, blockgc.Hooks{})
		if ctx.Err() != nil {
			return
		}
		if warnf == nil {
			continue
		}
		if err != nil {
			warnf("block collection failed: %v (it runs again in %s; `hubctl bucket gc` runs it now)", err, interval)
			continue
		}
		if rep.Reclaimed > 0 || len(rep.Problems) > 0 {
			warnf("%s", gcSummary(rep))
		}
	}
}

// gcSummary is a collection's report in one line.
func gcSummary(r blockgc.Report) string {
	s := fmt.Sprintf("block collection: %d blocks (%d bytes) reclaimed of %d (%d bytes), %d kept; disk %d -> %d bytes; %s",
		r.Reclaimed, r.ReclaimedBytes, r.Scanned, r.ScannedBytes, r.Kept, r.DiskBefore, r.DiskAfter, r.Duration.Round(time.Millisecond))
	if r.ThreadBlocksKept {
		s += fmt.Sprintf("; thread blocks kept (%d logs could not be walked)", r.IncompleteLogs)
	}
	if r.BadBuckets > 0 {
		s += fmt.Sprintf("; %d bucket instances skipped", r.BadBuckets)
	}
	return s
}
