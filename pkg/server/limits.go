package server

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// Limits bound what one connection can make the server hold. Zero fields take the
// defaults below.
type Limits struct {
	// MaxMessageSize bounds one gRPC message either way, on every transport.
	MaxMessageSize int
	// MaxStreams bounds the calls in progress on one HTTP/2 connection.
	MaxStreams uint32
	// IdleTimeout closes an HTTP/2 connection with no call in progress for this long,
	// and one that does not answer the server's ping (sent after half of it with
	// nothing read) within a quarter of it; gRPC keeps its pings at least 1s apart, so
	// below 2s the two race.
	IdleTimeout time.Duration
}

// Defaults of Limits: a message fits a large instance or a transaction batch (hubctl's
// own batches stop at 3 MiB), far below gRPC-over-websocket's old 64 MiB.
const (
	DefaultMaxMessageSize = 16 << 20
	DefaultMaxStreams     = 128
	DefaultIdleTimeout    = time.Minute
)

// handshakeTimeout bounds what a connection may take before its first call can start: the
// HTTP/2 preface on the gRPC port, the request headers (and for a websocket, its call's
// header frame) on the grpc-web port. A variable so that tests need not wait as long.
var handshakeTimeout = 10 * time.Second

// maxWebHeaderFrame bounds a websocket's first message, its call's headers: the Hub's
// headers (key, signature, token, thread) take well under 2 KiB.
const maxWebHeaderFrame = 16 << 10

func (l Limits) withDefaults() Limits {
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = DefaultMaxMessageSize
	}
	if l.MaxStreams == 0 {
		l.MaxStreams = DefaultMaxStreams
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	return l
}

// callCounter counts the calls in progress, as a stats handler: a call counts from its
// headers (InHeader, delivered by the transport's reader as the stream is created, over
// HTTP/2 and through ServeHTTP alike, so no call the server took is missed) to its End.
// Only calls of registered methods count: others end without an End event.
type callCounter struct {
	known   map[string]bool // the server's methods, set before it serves
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed and replaced on every change of n
}

// counted marks a call's context once its headers counted.
type counted struct{ yes bool }

type countedKey struct{}

// know records the methods of s, once they are all registered.
func (c *callCounter) know(s *grpc.Server) {
	c.known = map[string]bool{}
	for svc, info := range s.GetServiceInfo() {
		for _, m := range info.Methods {
			c.known["/"+svc+"/"+m.Name] = true
		}
	}
}

func (c *callCounter) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if !c.known[info.FullMethodName] {
		return ctx
	}
	return context.WithValue(ctx, countedKey{}, &counted{})
}

func (c *callCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (c *callCounter) HandleConn(context.Context, stats.ConnStats) {}

func (c *callCounter) HandleRPC(ctx context.Context, s stats.RPCStats) {
	mark, ok := ctx.Value(countedKey{}).(*counted)
	if !ok {
		return
	}
	switch s.(type) {
	case *stats.InHeader:
		if !mark.yes {
			mark.yes = true
			c.add(1)
		}
	case *stats.End:
		if mark.yes {
			mark.yes = false
			c.add(-1)
		}
	}
}

func (c *callCounter) add(d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += d
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

// idle returns a channel closed once no call is in progress, or when done closes.
func (c *callCounter) idle(done <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		for {
			c.mu.Lock()
			if c.n == 0 {
				c.mu.Unlock()
				return
			}
			if c.changed == nil {
				c.changed = make(chan struct{})
			}
			changed := c.changed
			c.mu.Unlock()
			select {
			case <-changed:
			case <-done:
				return
			}
		}
	}()
	return out
}
