package server

import (
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/node"
)

// MethodFindInstances answers a query as the threads API's Find does on hubctl's servers
// (node.Find: ThreadDB's meaning, through indexes, through the read filter), but as a
// stream of pages, so that an answer of any size costs the server one page of memory
// and reaches the client whatever its message size. It is hubctl's own (a plain
// go-threads server answers Unimplemented, and `hubctl instance find` then evaluates the
// query itself) and reuses go-threads' messages: a FindRequest, answered by FindReply
// pages in the query's order, then the end of the stream. The Guard lets through exactly
// whom it lets call Find on that database.
const MethodFindInstances = "/hubctl.v1.Store/FindInstances"

// findStreamDesc is MethodFindInstances in storeServiceDesc. The request is read first,
// through the interceptors, as for ExportInstances.
var findStreamDesc = findRequestStream("FindInstances", (*storeService).findInstances)

func (s *storeService) findInstances(req *pb.FindRequest, stream grpc.ServerStream) error {
	ctx := stream.Context()
	id, err := thread.Cast(req.DbID)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "invalid database ID: %v", err)
	}
	token, err := thread.NewTokenFromMD(ctx)
	if err != nil {
		return err
	}
	q, err := node.DecodeQuery(req.QueryJSON)
	if err != nil {
		return node.FindError(err)
	}
	page := &pb.FindReply{}
	size := 0
	flush := func() error {
		if len(page.Instances) == 0 {
			return nil
		}
		err := stream.SendMsg(page)
		page, size = &pb.FindReply{}, 0
		return err
	}
	_, err = s.node.Find(ctx, id, req.CollectionName, q, token, func(doc []byte) error {
		// The bounds of ExportInstances' pages; an instance larger than the bytes is
		// sent alone.
		if len(page.Instances) > 0 && (size+len(doc) > exportPageBytes || len(page.Instances) >= exportPageInstances) {
			if err := flush(); err != nil {
				return err
			}
		}
		page.Instances = append(page.Instances, doc)
		size += len(doc)
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		if b, ok := s.node.BrokenDB(id); ok {
			return brokenError(b)
		}
		return node.FindError(err)
	}
	return nil
}
