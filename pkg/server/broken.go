package server

import (
	"context"
	"encoding/json"
	"errors"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// HeaderBrokenDBs, on ListDBs and GetDBInfo, lists the databases in the answer that
// failed to load, as JSON (BrokenDB), so hubctl can say which and how to mend them.
const HeaderBrokenDBs = "hubctl-broken-dbs-bin"

// MethodRepairDB removes the definitions of a broken database's collections that fail to
// load, and loads it (node.RepairDB). It is hubctl's own, for operators (an account key,
// or the embedded node): the request is a GetDBInfoRequest naming the database, the answer
// a ListCollectionsReply with the collections whose definitions were removed.
const MethodRepairDB = "/hubctl.v1.Store/RepairDB"

// BrokenDB is a database that failed to load, as the server reports it.
type BrokenDB struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Collection string `json:"collection,omitempty"`
	Error      string `json:"error"`
}

func brokenFromNode(b node.BrokenDB) BrokenDB {
	return BrokenDB{ID: b.ID.String(), Name: b.Name, Collection: b.Collection, Error: b.Err}
}

// brokenInterceptor serves the databases that failed to load: they are listed (with the
// reason in a header), described, and deleted as any other; every other call on one is
// refused with the reason and the fix, rather than go-threads' "db not found". It runs
// after the Guard, so the caller owns the database (or is an operator).
type brokenInterceptor struct {
	node   *node.Node
	owners *hubauth.Owners
}

type dbRequest interface{ GetDbID() []byte }

func (b *brokenInterceptor) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !b.node.HasBrokenDBs() {
		return handler(ctx, req)
	}
	if info.FullMethod == "/threads.pb.API/ListDBs" {
		return b.listDBs(ctx, req, handler)
	}
	r, ok := req.(dbRequest)
	if !ok {
		return handler(ctx, req)
	}
	id, err := thread.Cast(r.GetDbID())
	if err != nil {
		return handler(ctx, req)
	}
	broken, ok := b.node.BrokenDB(id)
	if !ok {
		return handler(ctx, req)
	}
	switch info.FullMethod {
	case MethodRepairDB:
		return handler(ctx, req)
	case "/threads.pb.API/GetDBInfo":
		setBrokenHeader(ctx, []node.BrokenDB{broken})
		return &pb.GetDBInfoReply{Name: broken.Name}, nil
	case "/threads.pb.API/DeleteDB":
		if err := b.node.DropBrokenDB(ctx, id); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		return &pb.DeleteDBReply{}, nil
	}
	return nil, brokenError(broken)
}

func brokenError(b node.BrokenDB) error {
	return status.Errorf(codes.FailedPrecondition, "%s: run `hubctl db repair %s` (an operator's command) to drop the broken collection definitions, or `hubctl db delete %s`", b, b.ID, b.ID)
}

// listDBs adds the broken databases to the list, named and without addresses or key, so
// their owners see them; the Guard then keeps the caller's own.
func (b *brokenInterceptor) listDBs(ctx context.Context, req any, handler grpc.UnaryHandler) (any, error) {
	res, err := handler(ctx, req)
	if err != nil {
		return res, err
	}
	caller, _ := hubauth.CallerFromContext(ctx)
	reply := res.(*pb.ListDBsReply)
	var shown []node.BrokenDB
	for _, d := range b.node.BrokenDBs() {
		if !caller.Operator && !b.owners.Owns(caller.Identity, d.ID) {
			continue
		}
		shown = append(shown, d)
		reply.Dbs = append(reply.Dbs, &pb.ListDBsReply_DB{DbID: d.ID.Bytes(), Info: &pb.GetDBInfoReply{Name: d.Name}})
	}
	setBrokenHeader(ctx, shown)
	return reply, nil
}

func setBrokenHeader(ctx context.Context, dbs []node.BrokenDB) {
	if len(dbs) == 0 {
		return
	}
	out := make([]BrokenDB, len(dbs))
	for i, d := range dbs {
		out[i] = brokenFromNode(d)
	}
	data, err := json.Marshal(out)
	if err != nil {
		return
	}
	// A failure here means the client is gone.
	_ = grpc.SetHeader(ctx, metadata.Pairs(HeaderBrokenDBs, string(data)))
}

// storeService serves MethodRepairDB.
type storeService struct{ node *node.Node }

func (s *storeService) repairDB(ctx context.Context, req *pb.GetDBInfoRequest) (*pb.ListCollectionsReply, error) {
	id, err := thread.Cast(req.DbID)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invalid database ID: %v", err)
	}
	removed, err := s.node.RepairDB(ctx, id)
	if errors.Is(err, node.ErrNotBroken) {
		if ok, _ := s.node.HasDB(ctx, id); ok {
			return nil, status.Errorf(codes.FailedPrecondition, "database %s loads: there is nothing to repair", id)
		}
		return nil, status.Error(codes.NotFound, "db not found")
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	reply := &pb.ListCollectionsReply{}
	for _, name := range removed {
		reply.Collections = append(reply.Collections, &pb.GetCollectionInfoReply{Name: name})
	}
	return reply, nil
}

type storeServer interface {
	repairDB(context.Context, *pb.GetDBInfoRequest) (*pb.ListCollectionsReply, error)
}

var storeServiceDesc = grpc.ServiceDesc{
	ServiceName: "hubctl.v1.Store",
	HandlerType: (*storeServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "RepairDB",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(pb.GetDBInfoRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			call := func(ctx context.Context, req any) (any, error) {
				return srv.(storeServer).repairDB(ctx, req.(*pb.GetDBInfoRequest))
			}
			if interceptor == nil {
				return call(ctx, in)
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: MethodRepairDB}, call)
		},
	}},
	Streams:  []grpc.StreamDesc{exportStreamDesc, findStreamDesc},
	Metadata: "hubctl",
}
