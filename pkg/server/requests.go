package server

import (
	"context"
	"fmt"

	pb "github.com/textileio/go-threads/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/instanceid"
)

// checkRequest refuses unary calls whose instance IDs break the instanceid rule before
// go-threads turns them into datastore keys. It runs after the Guard, so only a caller
// allowed to act on the database gets this far, and its answer reveals nothing else.
func checkRequest(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := checkInstanceIDs(req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// checkStream applies the same rule to every message of a read or write transaction.
func (cc *collectionChecks) checkStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	switch info.FullMethod {
	case "/threads.pb.API/WriteTransaction", "/threads.pb.API/ReadTransaction":
		return handler(srv, &checkedStream{ServerStream: ss, srv: srv, checks: cc})
	}
	return handler(srv, ss)
}

// checkedStream also applies checkWrite (collections.go) to a write transaction's
// creates, saves and verifies, for the collection its start names (go-threads ignores
// the sub-requests' own DbID and CollectionName).
type checkedStream struct {
	grpc.ServerStream
	srv        any
	checks     *collectionChecks
	db         []byte
	collection string
}

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	switch m := m.(type) {
	case *pb.WriteTransactionRequest:
		switch o := m.Option.(type) {
		case *pb.WriteTransactionRequest_StartTransactionRequest:
			s.db, s.collection = o.StartTransactionRequest.DbID, o.StartTransactionRequest.CollectionName
		case *pb.WriteTransactionRequest_CreateRequest:
			if err := checkInstanceIDs(o.CreateRequest); err != nil {
				return err
			}
			return s.checks.checkWrite(s.Context(), s.srv, s.db, s.collection, o.CreateRequest.Instances)
		case *pb.WriteTransactionRequest_SaveRequest:
			if err := checkInstanceIDs(o.SaveRequest); err != nil {
				return err
			}
			return s.checks.checkWrite(s.Context(), s.srv, s.db, s.collection, o.SaveRequest.Instances)
		case *pb.WriteTransactionRequest_VerifyRequest:
			if err := checkInstanceIDs(o.VerifyRequest); err != nil {
				return err
			}
			return s.checks.checkWrite(s.Context(), s.srv, s.db, s.collection, o.VerifyRequest.Instances)
		case *pb.WriteTransactionRequest_DeleteRequest:
			return checkInstanceIDs(o.DeleteRequest)
		case *pb.WriteTransactionRequest_HasRequest:
			return checkInstanceIDs(o.HasRequest)
		case *pb.WriteTransactionRequest_FindByIDRequest:
			return checkInstanceIDs(o.FindByIDRequest)
		}
	case *pb.ReadTransactionRequest:
		switch o := m.Option.(type) {
		case *pb.ReadTransactionRequest_HasRequest:
			return checkInstanceIDs(o.HasRequest)
		case *pb.ReadTransactionRequest_FindByIDRequest:
			return checkInstanceIDs(o.FindByIDRequest)
		}
	}
	return nil
}

// checkInstanceIDs checks every instance ID a request carries: the `_id` of documents
// created (when the caller chose one), saved or verified, and the IDs of Delete, Has and
// FindByID.
func checkInstanceIDs(req any) error {
	var err error
	switch r := req.(type) {
	case *pb.CreateRequest:
		err = eachDoc(r.Instances, instanceid.CheckNew)
	case *pb.SaveRequest:
		err = eachDoc(r.Instances, instanceid.CheckSaved)
	case *pb.VerifyRequest:
		err = eachDoc(r.Instances, instanceid.CheckSaved)
	case *pb.DeleteRequest:
		err = eachID(r.InstanceIDs)
	case *pb.HasRequest:
		err = eachID(r.InstanceIDs)
	case *pb.FindByIDRequest:
		err = instanceid.Check(r.InstanceID)
	}
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "%v (%s)", err, instanceid.Rule)
	}
	return nil
}

func eachDoc(docs [][]byte, check func([]byte) error) error {
	for i, d := range docs {
		if err := check(d); err != nil {
			if len(docs) == 1 {
				return err
			}
			return fmt.Errorf("instance %d: %w", i+1, err)
		}
	}
	return nil
}

func eachID(ids []string) error {
	for _, id := range ids {
		if err := instanceid.Check(id); err != nil {
			return err
		}
	}
	return nil
}
