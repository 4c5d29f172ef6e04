package server

import (
	"context"
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// bufSize is the in-memory listener's buffer; calls larger than it simply block until the
// other side reads, so it bounds memory, not message size.
const bufSize = 1 << 20

// Embedded is a node served on an in-memory listener, for hubctl's embedded default: every
// command takes the same gRPC path as against a remote server, without a TCP port. It
// checks no keys (only this process reaches it) but records who owns each database, so a
// daemon started later on the same data directory keeps every user's databases theirs.
type Embedded struct {
	node   *node.Node
	server *GRPC
	lis    *bufconn.Listener
	served chan error
}

// OpenEmbedded opens the node in opts.Dir (waiting for the directory lock as long as ctx
// allows) and serves it in memory.
func OpenEmbedded(ctx context.Context, opts node.Options) (*Embedded, error) {
	n, err := node.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	s, err := NewGRPC(n, Options{Mode: hubauth.AuthNone})
	if err != nil {
		return nil, errors.Join(err, n.Close())
	}
	e := &Embedded{node: n, server: s, lis: bufconn.Listen(bufSize), served: make(chan error, 1)}
	go func() { e.served <- e.server.Serve(e.lis) }()
	return e, nil
}

// DialContext connects to the in-memory listener.
func (e *Embedded) DialContext(ctx context.Context) (net.Conn, error) {
	return e.lis.Dial() // grpc v1.39's bufconn has no DialContext; Dial only waits for Serve to accept
}

// Node is the served node.
func (e *Embedded) Node() *node.Node { return e.node }

// Close lets in-flight calls finish, then closes the node (flushing its stores) and
// releases the directory.
func (e *Embedded) Close() error {
	e.server.Drain()
	e.server.GracefulStop()
	serveErr := <-e.served
	if errors.Is(serveErr, grpc.ErrServerStopped) {
		serveErr = nil
	}
	if err := errors.Join(serveErr, e.node.Close()); err != nil {
		return fmt.Errorf("close embedded node: %w", err)
	}
	return nil
}
