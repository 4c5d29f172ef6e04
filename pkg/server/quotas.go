package server

import (
	"context"
	"hash/fnv"
	"sync"

	pb "github.com/textileio/go-threads/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// collectionQuota applies hubauth.Quotas.CollectionsPerDB to calls that add collections:
// NewCollection, and NewDB and NewDBFromAddr with the collections they create. Nothing
// else adds one in go-threads v1.1.5: UpdateCollection needs the collection to exist,
// transactions write instances of existing collections, and collection definitions are
// not replicated from peers (a joining peer gets them from NewDBFromAddr's request).
// Operators are not limited. It runs after the Guard, so the caller owns the database
// and a refusal tells nothing about anyone else's.
type collectionQuota struct {
	node   *node.Node
	quotas hubauth.Quotas

	// stripes serialise the count and the NewCollection of one database, so that
	// concurrent calls cannot together pass the limit (go-threads itself serialises
	// NewCollection on a database's lock, so this costs no concurrency it had).
	stripes [64]sync.Mutex
}

// collectionLister is the part of go-threads' api.Service (the handler's server) the
// count uses.
type collectionLister interface {
	ListCollections(context.Context, *pb.ListCollectionsRequest) (*pb.ListCollectionsReply, error)
}

func (q *collectionQuota) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	limit := q.quotas.MaxCollectionsPerDB()
	if limit < 0 {
		return handler(ctx, req)
	}
	var adding []*pb.CollectionConfig
	switch r := req.(type) {
	case *pb.NewDBRequest:
		adding = r.Collections
	case *pb.NewDBFromAddrRequest:
		adding = r.Collections
	case *pb.NewCollectionRequest:
	default:
		return handler(ctx, req)
	}
	if c, ok := hubauth.CallerFromContext(ctx); !ok || c.Operator {
		return handler(ctx, req)
	}
	r, ok := req.(*pb.NewCollectionRequest)
	if !ok {
		// A new database: go-threads refuses a create of one that exists before it adds
		// any collection, so the request's own are all it will have.
		if len(adding) > limit {
			return nil, status.Error(codes.ResourceExhausted, hubauth.CollectionLimitMessage(0, len(adding), limit))
		}
		return handler(ctx, req)
	}
	lister, ok := info.Server.(collectionLister)
	if !ok {
		return handler(ctx, req)
	}
	unlock := q.lock(r.DbID)
	defer unlock()
	// The caller's context: the count sees what the call may see. If it fails (a bad
	// token, a database that is not there) go-threads gives NewCollection the same answer.
	have, err := lister.ListCollections(ctx, &pb.ListCollectionsRequest{DbID: r.DbID})
	if err != nil {
		return handler(ctx, req)
	}
	n := len(have.Collections)
	if n >= limit {
		if r.Config != nil {
			for _, c := range have.Collections {
				if c.Name == r.Config.Name {
					return handler(ctx, req) // go-threads answers "collection already registered"
				}
			}
		}
		return nil, status.Error(codes.ResourceExhausted, hubauth.CollectionLimitMessage(n, 1, limit))
	}
	return handler(ctx, req)
}

func (q *collectionQuota) lock(dbID []byte) func() {
	h := fnv.New32a()
	h.Write(dbID)
	m := &q.stripes[h.Sum32()%uint32(len(q.stripes))]
	m.Lock()
	return m.Unlock
}
