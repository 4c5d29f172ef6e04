package server

import (
	"context"

	"google.golang.org/grpc"
)

// TEMPORARY pass-throughs, replaced by the instance ID checks (issue 13 item 1).
func checkRequest(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return handler(ctx, req)
}

func checkStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, ss)
}
