// Package testnode serves a real go-threads node on 127.0.0.1:0 for tests and benchmarks,
// optionally behind the Hosted Hub's API key checks, so hubctl can be tested against a
// server it did not start itself.
package testnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	mbase "github.com/multiformats/go-multibase"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// Options configure a test server.
type Options struct {
	Dir string
	// Addr is the address to listen on (127.0.0.1:0 when empty); a restarted server can
	// take its old port back.
	Addr string
	// Key and Secret, when set, make every call pass the Hub's checks: the key must match
	// and carry a valid signature made with the secret.
	Key, Secret string
	// MaxSigTTL refuses signatures dated further ahead (24h when zero), like the Hub.
	MaxSigTTL time.Duration
	// TLS, when set, serves TLS with this configuration.
	TLS *tls.Config
}

// Server is a node served over TCP on loopback.
type Server struct {
	Addr      string
	node      *node.Node
	grpc      *grpc.Server
	served    chan error
	getTokens atomic.Int64
}

// Start opens a node in opts.Dir and serves it on 127.0.0.1 on a free port.
func Start(ctx context.Context, opts Options) (*Server, error) {
	n, err := node.Open(ctx, node.Options{Dir: opts.Dir, NoNetPulling: true, IncludePrivateAddrs: true})
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		_ = n.Close()
		return nil, err
	}
	if opts.MaxSigTTL == 0 {
		opts.MaxSigTTL = 24 * time.Hour
	}
	s := &Server{Addr: lis.Addr().String(), node: n, served: make(chan error, 1)}
	var checker *hubauth.Checker
	if opts.Key != "" {
		_, secret, err := mbase.Decode(opts.Secret)
		if err != nil {
			_ = n.Close()
			return nil, fmt.Errorf("test server secret: %w", err)
		}
		keys := oneKey{key: hubauth.Key{Key: opts.Key, Secret: opts.Secret, Type: hubauth.AccountKey, Secure: true}, secret: secret}
		checker = &hubauth.Checker{Keys: keys, MaxSigTTL: opts.MaxSigTTL}
	}
	check := func(ctx context.Context, method string) error {
		if method == "/threads.pb.API/GetToken" {
			s.getTokens.Add(1)
		}
		if checker == nil {
			return nil
		}
		_, err := checker.Check(ctx)
		return err
	}
	var serverOpts []grpc.ServerOption
	if opts.TLS != nil {
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	s.grpc = grpc.NewServer(append(serverOpts,
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if err := check(ctx, info.FullMethod); err != nil {
				return nil, err
			}
			return handler(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			if err := check(ss.Context(), info.FullMethod); err != nil {
				return err
			}
			return handler(srv, ss)
		}),
	)...)
	n.Register(s.grpc)
	go func() { s.served <- s.grpc.Serve(lis) }()
	return s, nil
}

// oneKey is a key registry holding a single secure account key.
type oneKey struct {
	key    hubauth.Key
	secret []byte
}

func (k oneKey) Lookup(key string) (hubauth.Key, []byte, bool) {
	return k.key, k.secret, key == k.key.Key
}

// GetTokenCalls is how many GetToken calls the server has answered.
func (s *Server) GetTokenCalls() int64 { return s.getTokens.Load() }

// Close stops serving and closes the node.
// Open streams (a Listen) would hold a graceful stop for ever, as they do on a plain
// go-threads server: after a moment they are cut off, as a server going down does.
func (s *Server) Close() error {
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(time.Second):
		s.grpc.Stop()
		<-stopped
	}
	err := <-s.served
	if errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return errors.Join(err, s.node.Close())
}
