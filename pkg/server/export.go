package server

import (
	"context"
	"errors"
	"fmt"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/node"
)

// MethodExportInstances streams every instance of a collection as go-threads stores it,
// around the collection's read filter, for `hubctl db export`: a backup must hold what a
// read filter hides from its owner too. It is hubctl's own (a plain go-threads server
// answers Unimplemented) and reuses go-threads' messages: the request is a FindRequest
// naming the database and the collection, with no query; the answer a stream of
// FindReply pages in instance ID order, then the end of the stream. The Guard lets only
// the database's owner and operators (an account key, the embedded node) call it, with
// the answers any call on that database gets (hubauth policies).
const MethodExportInstances = "/hubctl.v1.Store/ExportInstances"

// Bounds of one page of MethodExportInstances. The bytes stay well under the smallest
// message size `hubctl daemon` accepts (1 MiB, --max-message-size) whatever the
// daemon's own, with room for the framing of each instance (at most 6 bytes each); an
// instance larger than the bound is sent alone.
const (
	exportPageBytes     = 512 << 10
	exportPageInstances = node.DefaultScanLimit
)

// exportStreamDesc is MethodExportInstances in storeServiceDesc. The request is read
// first, through the interceptors: the Guard checks the caller owns its database before
// the handler sees it.
var exportStreamDesc = findRequestStream("ExportInstances", (*storeService).exportInstances)

// findRequestStream is a Store call that reads one FindRequest, then streams its answer.
func findRequestStream(name string, handle func(*storeService, *pb.FindRequest, grpc.ServerStream) error) grpc.StreamDesc {
	return grpc.StreamDesc{
		StreamName:    name,
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			in := new(pb.FindRequest)
			if err := stream.RecvMsg(in); err != nil {
				return err
			}
			return handle(srv.(*storeService), in, stream)
		},
	}
}

func (s *storeService) exportInstances(req *pb.FindRequest, stream grpc.ServerStream) error {
	ctx := stream.Context()
	id, err := thread.Cast(req.DbID)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "invalid database ID: %v", err)
	}
	if len(req.QueryJSON) > 0 {
		return status.Error(codes.InvalidArgument, "ExportInstances takes no query: it streams every instance of the collection")
	}
	after := ""
	for {
		page, err := s.node.ScanInstances(ctx, id, req.CollectionName, node.ScanOptions{
			After: after, Limit: exportPageInstances, MaxBytes: exportPageBytes,
		})
		if err != nil {
			return s.exportErr(ctx, id, err)
		}
		if len(page.Instances) > 0 {
			reply := &pb.FindReply{Instances: make([][]byte, len(page.Instances))}
			for i, in := range page.Instances {
				reply.Instances[i] = in.JSON
			}
			if err := stream.SendMsg(reply); err != nil {
				return err
			}
			after = page.Instances[len(page.Instances)-1].ID
		}
		if !page.More {
			return nil
		}
	}
}

// exportErr answers as go-threads answers a Find for a database or collection that is
// not there, and as hubctl answers any other call on a broken database.
func (s *storeService) exportErr(ctx context.Context, id thread.ID, err error) error {
	switch {
	case errors.Is(err, node.ErrInvalidCollection):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, node.ErrCollectionNotFound):
		return status.Error(codes.NotFound, "collection not found")
	case errors.Is(err, node.ErrDBNotFound):
		if b, ok := s.node.BrokenDB(id); ok {
			return brokenError(b)
		}
		return status.Error(codes.NotFound, "db not found")
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	}
	return status.Error(codes.Internal, fmt.Sprintf("export: %v", err))
}
