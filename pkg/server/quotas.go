package server

import (
	"context"

	"google.golang.org/grpc"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// collectionQuota applies hubauth.Quotas.CollectionsPerDB to calls that add collections.
type collectionQuota struct {
	node   *node.Node
	quotas hubauth.Quotas
}

func (q *collectionQuota) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return handler(ctx, req)
}
