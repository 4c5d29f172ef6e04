package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// bufSize is the in-memory listener's buffer; calls larger than it simply block until the
// other side reads, so it bounds memory, not message size.
const bufSize = 1 << 20

// ErrOpenTimeout means the embedded node's stores did not open within the command's
// --timeout (its directory lock was free: a busy store is node.ErrBusy).
var ErrOpenTimeout = errors.New("the local store did not open within --timeout")

// lockGrace is how long OpenEmbedded still waits for node.Open after its context ended:
// node.Lock notices the end within its 10ms poll and says the store was busy, a better
// answer than ErrOpenTimeout.
const lockGrace = time.Second

// Embedded is a node served on an in-memory listener, for hubctl's embedded default: every
// command takes the same gRPC path as against a remote server, without a TCP port. It
// checks no keys (only this process reaches it) but records who owns each database, so a
// daemon started later on the same data directory keeps every user's databases theirs.
type Embedded struct {
	node         *node.Node
	server       *GRPC
	lis          *bufconn.Listener
	served       chan error
	closeTimeout time.Duration
}

// OpenEmbedded opens the node in opts.Dir (waiting for the directory lock as long as ctx
// allows) and serves it in memory. It returns when ctx ends even if the stores are still
// opening (badger's opens take no context): they are then closed in the background, and
// the caller, a command that has failed, exits.
func OpenEmbedded(ctx context.Context, opts node.Options) (*Embedded, error) {
	// An embedded node lives for one command: its stores compact as they close.
	opts.PerCommand = true
	type result struct {
		n   *node.Node
		err error
	}
	opened := make(chan result, 1)
	go func() {
		n, err := node.Open(ctx, opts)
		opened <- result{n, err}
	}()
	var r result
	select {
	case r = <-opened:
	case <-ctx.Done():
		select {
		case r = <-opened:
		case <-time.After(lockGrace):
			go func() {
				if r := <-opened; r.err == nil {
					_ = r.n.Close()
				}
			}()
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: the stores in %s are still opening; check that disk (--debug shows what badger says)", ErrOpenTimeout, opts.Dir)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	n := r.n
	s, err := NewGRPC(n, Options{Mode: hubauth.AuthNone})
	if err != nil {
		return nil, errors.Join(err, n.Close())
	}
	closeTimeout := opts.CloseTimeout
	if closeTimeout <= 0 {
		closeTimeout = node.DefaultCloseTimeout
	}
	e := &Embedded{node: n, server: s, lis: bufconn.Listen(bufSize), served: make(chan error, 1), closeTimeout: closeTimeout}
	go func() { e.served <- e.server.Serve(e.lis) }()
	return e, nil
}

// callsShare is the part of a close's time that calls in flight get: three quarters of
// what ctx leaves, so the stores still have time to close after a call that does not end.
func callsShare(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(deadline)*3/4)
}

// DialContext connects to the in-memory listener.
func (e *Embedded) DialContext(ctx context.Context) (net.Conn, error) {
	return e.lis.Dial() // grpc v1.39's bufconn has no DialContext; Dial only waits for Serve to accept
}

// Node is the served node.
func (e *Embedded) Node() *node.Node { return e.node }

// Close lets in-flight calls finish, then closes the node (flushing its stores) and
// releases the directory, all within the node's CloseTimeout: a call stuck in a store
// that cannot write is cut off, and stores that cannot close are left to the end of the
// process (node.CloseError).
func (e *Embedded) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), e.closeTimeout)
	defer cancel()
	e.server.Drain()
	callsCtx, cancelCalls := callsShare(ctx)
	defer cancelCalls()
	stopGRPC(callsCtx, e.server)
	serveErr := <-e.served
	if errors.Is(serveErr, grpc.ErrServerStopped) {
		serveErr = nil
	}
	if err := errors.Join(serveErr, e.node.CloseContext(ctx)); err != nil {
		return fmt.Errorf("close embedded node: %w", err)
	}
	return nil
}
