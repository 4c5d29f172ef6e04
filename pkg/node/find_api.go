package node

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/textileio/go-threads/api"
	pb "github.com/textileio/go-threads/api/pb"
	core "github.com/textileio/go-threads/core/db"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hq "github.com/hubctl/hubctl/pkg/query"
)

// ServeOptions are what hubctl's servers serve the threads API with.
type ServeOptions struct {
	// MaxFindReply bounds the bytes of one FindReply (the server's message size limit):
	// a larger answer is ResourceExhausted, before it is held whole in memory.
	MaxFindReply int
}

// Serve adds the threads and net API services to s as hubctl's servers answer them:
// go-threads' own, but with Find, and the Find of ReadTransaction, answered by
// Node.Find, and changes of a collection's definition clearing its built indexes.
// Register serves go-threads' API as it is (a plain go-threads server, for tests).
func (n *Node) Serve(s *grpc.Server, opts ServeOptions) {
	pb.RegisterAPIServer(s, &threadsAPI{Service: n.threads, node: n, maxReply: opts.MaxFindReply})
	netpb.RegisterAPIServer(s, n.netAPI)
}

type threadsAPI struct {
	*api.Service
	node     *Node
	maxReply int
}

// ErrFindTooLarge is an answer to Find larger than one message.
var ErrFindTooLarge = errors.New("the answer is larger than one message")

// FindError is err as go-threads' API answers it, with hubctl's codes for what
// go-threads answered with panics or Unknown: InvalidArgument for a query it cannot
// evaluate, ResourceExhausted for an answer past the message size.
func FindError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrDBNotFound):
		return status.Error(codes.NotFound, "db not found")
	case errors.Is(err, ErrCollectionNotFound):
		return status.Error(codes.NotFound, "collection not found")
	case errors.Is(err, ErrFindTooLarge):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, ErrBadToken), errors.Is(err, errInvalidQuery):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Internal, err.Error())
}

// errInvalidQuery marks a query Decode refused.
var errInvalidQuery = errors.New("invalid query")

// DecodeQuery reads a FindRequest's query as go-threads' server does, and checks it.
func DecodeQuery(raw []byte) (*db.Query, error) {
	q, err := hq.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%w%s", errInvalidQuery, trimInvalid(err.Error()))
	}
	return q, nil
}

func trimInvalid(msg string) string {
	const p = "invalid query"
	if len(msg) >= len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return ": " + msg
}

func (s *threadsAPI) Find(ctx context.Context, req *pb.FindRequest) (*pb.FindReply, error) {
	instances, err := s.find(ctx, req, true)
	if err != nil {
		return nil, FindError(err)
	}
	return &pb.FindReply{Instances: instances}, nil
}

// find answers req whole, within maxReply bytes.
func (s *threadsAPI) find(ctx context.Context, req *pb.FindRequest, build bool) ([][]byte, error) {
	id, err := thread.Cast(req.DbID)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	token, err := thread.NewTokenFromMD(ctx)
	if err != nil {
		return nil, err
	}
	q, err := DecodeQuery(req.QueryJSON)
	if err != nil {
		return nil, err
	}
	instances := [][]byte{}
	size := 0
	_, err = s.node.find(ctx, id, req.CollectionName, q, token, build, func(doc []byte) error {
		// Each instance costs its bytes and at most 6 of framing.
		if size += len(doc) + 6; s.maxReply > 0 && size > s.maxReply {
			return fmt.Errorf("%w (%d bytes at most): ask with a limit, and seek from the last _id", ErrFindTooLarge, s.maxReply)
		}
		instances = append(instances, doc)
		return nil
	})
	return instances, err
}

// ReadTransaction is go-threads' (api/service.go), with its Find answered by Node.Find:
// Has and FindByID are go-threads' own, in its read transaction, as before.
func (s *threadsAPI) ReadTransaction(stream pb.API_ReadTransactionServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start, ok := first.Option.(*pb.ReadTransactionRequest_StartTransactionRequest)
	if !ok {
		return status.Errorf(codes.InvalidArgument, "a read transaction starts with a StartTransactionRequest, not %T", first.Option)
	}
	id, err := thread.Cast(start.StartTransactionRequest.DbID)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	name := start.StartTransactionRequest.CollectionName
	ctx := stream.Context()
	token, err := thread.NewTokenFromMD(ctx)
	if err != nil {
		return err
	}
	c, err := s.node.collection(ctx, id, name, token)
	if err != nil {
		return FindError(err)
	}
	return c.ReadTxn(func(txn *db.Txn) error {
		for {
			req, err := stream.Recv()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := txn.RefreshCollection(); err != nil {
				return err
			}
			var reply pb.ReadTransactionReply
			switch x := req.Option.(type) {
			case *pb.ReadTransactionRequest_HasRequest:
				ids := make([]core.InstanceID, len(x.HasRequest.InstanceIDs))
				for i, id := range x.HasRequest.InstanceIDs {
					ids[i] = core.InstanceID(id)
				}
				exists, err := txn.Has(ids...)
				r := &pb.HasReply{Exists: exists}
				if err != nil {
					r.TransactionError = err.Error()
				}
				reply.Option = &pb.ReadTransactionReply_HasReply{HasReply: r}
			case *pb.ReadTransactionRequest_FindByIDRequest:
				found, err := txn.FindByID(core.InstanceID(x.FindByIDRequest.InstanceID))
				r := &pb.FindByIDReply{Instance: found}
				if err != nil {
					r.TransactionError = err.Error()
				}
				reply.Option = &pb.ReadTransactionReply_FindByIDReply{FindByIDReply: r}
			case *pb.ReadTransactionRequest_FindRequest:
				// Within go-threads' read transaction, whose lock a build would take
				// again: an index not yet built is scanned around.
				instances, err := s.find(ctx, &pb.FindRequest{DbID: id.Bytes(), CollectionName: name, QueryJSON: x.FindRequest.QueryJSON}, false)
				r := &pb.FindReply{Instances: instances}
				if err != nil {
					r.Instances = nil
					r.TransactionError = status.Convert(FindError(err)).Message()
				}
				reply.Option = &pb.ReadTransactionReply_FindReply{FindReply: r}
			case nil:
				return status.Error(codes.InvalidArgument, "no ReadTransactionRequest type set")
			default:
				return status.Errorf(codes.InvalidArgument, "ReadTransactionRequest.Option has unexpected type %T", x)
			}
			if err := stream.Send(&reply); err != nil {
				return err
			}
		}
	}, db.WithTxnToken(token))
}

// The calls that change a collection's definition clear the marks of its built indexes
// before and after (ForgetIndexes): an index a change drops stops being kept, and one it
// adds was never built by go-threads.

func (s *threadsAPI) NewCollection(ctx context.Context, req *pb.NewCollectionRequest) (*pb.NewCollectionReply, error) {
	var name string
	if req.Config != nil {
		name = req.Config.Name
	}
	defer s.forget(req.DbID, name)()
	return s.Service.NewCollection(ctx, req)
}

func (s *threadsAPI) UpdateCollection(ctx context.Context, req *pb.UpdateCollectionRequest) (*pb.UpdateCollectionReply, error) {
	var name string
	if req.Config != nil {
		name = req.Config.Name
	}
	defer s.forget(req.DbID, name)()
	return s.Service.UpdateCollection(ctx, req)
}

func (s *threadsAPI) DeleteCollection(ctx context.Context, req *pb.DeleteCollectionRequest) (*pb.DeleteCollectionReply, error) {
	defer s.forget(req.DbID, req.Name)()
	return s.Service.DeleteCollection(ctx, req)
}

// forget clears the marks now, and returns what clears them again.
func (s *threadsAPI) forget(rawID []byte, collection string) func() {
	id, err := thread.Cast(rawID)
	if err != nil || collection == "" {
		return func() {}
	}
	clear := func() {
		if err := s.node.ForgetIndexes(id, collection); err != nil {
			findLog.Warnf("clear the built indexes of %s in %s: %v", collection, id, err)
		}
	}
	clear()
	return clear
}
