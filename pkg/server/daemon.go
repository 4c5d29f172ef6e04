package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"

	"github.com/hubctl/hubctl/pkg/gateway"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// Defaults for `hubctl daemon`: everything on loopback unless the operator says otherwise.
const (
	DefaultAPIAddr  = "127.0.0.1:6006"
	DefaultWebAddr  = "127.0.0.1:6007"
	DefaultHostAddr = "/ip4/127.0.0.1/tcp/4006"
)

// DefaultGatewayAddr is where the gateway listens by default: the Hub gateway's port.
const DefaultGatewayAddr = "127.0.0.1:8006"

// DefaultGCPercent is the daemon's garbage collection target (GOGC) unless told
// otherwise. Go's default, 100, lets the heap grow by as much as is live before a
// collection, and what is live is for the most part badger's memtable arenas, counted
// whole from their creation though barely written. A push of 1 GiB peaked at 238 MB with
// 100 and at 152 MB with 50; with 50 and the node's smaller tables for blocks and logs
// (pkg/node smallStoreOptions), at 128 MB (bench/buckets.sh), for a few percent more
// collection work.
const DefaultGCPercent = 50

// ErrRunning means a daemon already serves the data directory.
var ErrRunning = errors.New("a daemon is already running")

// DaemonOptions configure `hubctl daemon`.
type DaemonOptions struct {
	// DataDir holds the node (DataDir/node), the API keys and the state file.
	DataDir string
	// APIAddr serves gRPC, WebAddr grpc-web (with websockets); port 0 picks a free port.
	APIAddr, WebAddr string
	// GatewayAddr serves buckets' content over HTTP (the gateway); GatewayURL is the
	// gateway's address in the links the server reports (Options.GatewayURL; by default
	// http:// and the gateway's listen address). An empty GatewayAddr serves no gateway.
	GatewayAddr, GatewayURL string
	// HostAddr is the libp2p listen multiaddr.
	HostAddr string
	// AnnounceAddrs replace the listen addresses in what peers are told (node.Options).
	AnnounceAddrs []string
	// IncludePrivateAddrs announces loopback and private addresses too.
	IncludePrivateAddrs bool
	// PullInterval is how often threads are pulled from peers.
	PullInterval time.Duration
	// CORSOrigins are the browser origins allowed on the grpc-web address; empty or "*"
	// allows any.
	CORSOrigins []string
	// Bootstrap are peers to connect to at start; nothing else is ever dialled.
	Bootstrap []string
	Mode      hubauth.Mode
	Keys      hubauth.KeyLookup
	MaxSigTTL time.Duration
	// Limits, Quotas, TokenTTL and UserDial are the server's (Options).
	Limits   Limits
	Quotas   hubauth.Quotas
	TokenTTL time.Duration
	UserDial DialPolicy
	// CloseTimeout bounds closing the node, at the end of Shutdown and when the start
	// fails after opening it (node.DefaultCloseTimeout when zero).
	CloseTimeout time.Duration
	Debug        bool
	// Warnf reports what the operator must see without --debug (node.Options.Warnf).
	Warnf func(format string, args ...any)
	// GCInterval is how often unreferenced blocks are collected (0: never on a
	// schedule; `hubctl bucket gc` still runs one). Each run is reported through Warnf.
	GCInterval time.Duration
	// StoragePerIdentity bounds the bytes of the buckets one identity owns (0: none).
	StoragePerIdentity int64
	// BlockGrace is node.Options.BlockGrace (tests).
	BlockGrace time.Duration
}

// Daemon is a running `hubctl daemon`.
type Daemon struct {
	dataDir string
	node    *node.Node
	grpc    *GRPC
	web     *http.Server
	gateway *http.Server // nil without GatewayAddr
	gwReqs  *gateway.Handler
	state   State
	failed  chan error
	served  chan struct{}
	// webServer serves grpc-web and counts its calls in flight, websockets included.
	webServer *webServer
	// closeTimeout bounds the node's close in Shutdown; abort (Abort) cuts it short.
	closeTimeout time.Duration
	abort        context.Context
	abortCancel  context.CancelFunc
	// stopGC ends the scheduled collections; gcDone is closed when they have.
	stopGC context.CancelFunc
	gcDone chan struct{}
}

// StartDaemon opens the node in o.DataDir (waiting for its lock as long as ctx allows),
// listens, serves, and writes the state file that other hubctl commands find it by.
func StartDaemon(ctx context.Context, o DaemonOptions) (d *Daemon, err error) {
	if st, ok := Running(o.DataDir); ok {
		return nil, fmt.Errorf("%w on %s (pid %d, api %s): stop it first, or use another --data-dir", ErrRunning, o.DataDir, st.PID, st.API)
	}
	if st, ok := readState(o.DataDir); ok {
		// A stale file goes before the node is opened: from the moment this daemon holds
		// the lock until it writes its own state, other processes would take the stale
		// file for this daemon's (Running) and call a dead address.
		if err := removeState(o.DataDir, st.PID); err != nil {
			return nil, err
		}
	}
	n, err := node.Open(ctx, node.Options{
		Dir: nodeDir(o.DataDir), HostAddr: o.HostAddr, Debug: o.Debug, CloseTimeout: o.CloseTimeout,
		AnnounceAddrs: o.AnnounceAddrs, IncludePrivateAddrs: o.IncludePrivateAddrs, PullInterval: o.PullInterval,
		Warnf: o.Warnf, BlockGrace: o.BlockGrace,
	})
	if err != nil {
		return nil, err
	}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				err = errors.Join(err, closers[i]())
			}
			err = errors.Join(err, n.Close())
		}
	}()
	// The gateway listens first: its address is the links' default URL.
	gatewayURL := o.GatewayURL
	var gatewayLis net.Listener
	if o.GatewayAddr != "" {
		if gatewayLis, err = net.Listen("tcp", o.GatewayAddr); err != nil {
			return nil, fmt.Errorf("listen on --gateway-addr %s: %w", o.GatewayAddr, err)
		}
		closers = append(closers, gatewayLis.Close)
		if gatewayURL == "" {
			gatewayURL = "http://" + gatewayLis.Addr().String()
		}
	}
	g, err := NewGRPC(n, Options{Mode: o.Mode, Keys: o.Keys, MaxSigTTL: o.MaxSigTTL, Limits: o.Limits,
		Quotas: o.Quotas, TokenTTL: o.TokenTTL, UserDial: o.UserDial, Warnf: o.Warnf, GatewayURL: gatewayURL,
		StoragePerIdentity: o.StoragePerIdentity})
	if err != nil {
		return nil, err
	}
	apiLis, err := net.Listen("tcp", o.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on --api-addr %s: %w", o.APIAddr, err)
	}
	closers = append(closers, apiLis.Close)
	webLis, err := net.Listen("tcp", o.WebAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on --web-addr %s: %w", o.WebAddr, err)
	}
	closers = append(closers, webLis.Close)
	if err := n.Bootstrap(o.Bootstrap); err != nil {
		return nil, err
	}

	closeTimeout := o.CloseTimeout
	if closeTimeout <= 0 {
		closeTimeout = node.DefaultCloseTimeout
	}
	abort, abortCancel := context.WithCancel(context.Background())
	d = &Daemon{
		dataDir:      o.DataDir,
		node:         n,
		grpc:         g,
		failed:       make(chan error, 3),
		served:       make(chan struct{}),
		closeTimeout: closeTimeout,
		abort:        abort,
		abortCancel:  abortCancel,
		state: State{
			PID:       os.Getpid(),
			API:       apiLis.Addr().String(),
			Web:       webLis.Addr().String(),
			PeerID:    n.HostID(),
			HostAddrs: n.HostAddrs(),
			Listen:    n.ListenAddrs(),
			Auth:      o.Mode.String(),
			Started:   time.Now().UTC().Truncate(time.Second),
		},
	}
	debugf := func(string, ...any) {}
	if o.Debug && o.Warnf != nil {
		debugf = o.Warnf
	}
	d.webServer = newWebServer(g.Server, g.limits, o.CORSOrigins, g.Guard.Precheck, debugf)
	d.web = &http.Server{
		Handler:           d.webServer,
		ReadHeaderTimeout: handshakeTimeout,
		// Between requests, a keep-alive HTTP connection is idle.
		IdleTimeout: g.limits.IdleTimeout,
	}
	if !o.Debug {
		// net/http logs every client that breaks off its TLS or HTTP exchange: noise.
		d.web.ErrorLog = log.New(io.Discard, "", 0)
	}
	if gatewayLis != nil {
		d.gateway, d.gwReqs = newGatewayServer(n, g.Guard, g.limits, debugf, o.Debug)
		d.state.Gateway = gatewayLis.Addr().String()
	}
	if err := writeState(o.DataDir, d.state); err != nil {
		return nil, err
	}
	apiDone, webDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(apiDone)
		if err := g.Serve(apiLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			d.failed <- fmt.Errorf("serve gRPC on %s: %w", d.state.API, err)
		}
	}()
	go func() {
		defer close(webDone)
		if err := d.web.Serve(webLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.failed <- fmt.Errorf("serve grpc-web on %s: %w", d.state.Web, err)
		}
	}()
	gatewayDone := make(chan struct{})
	go func() {
		defer close(gatewayDone)
		if d.gateway == nil {
			return
		}
		if err := d.gateway.Serve(gatewayLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.failed <- fmt.Errorf("serve the gateway on %s: %w", d.state.Gateway, err)
		}
	}()
	go func() { <-apiDone; <-webDone; <-gatewayDone; close(d.served) }()
	gcCtx, stopGC := context.WithCancel(context.Background())
	d.stopGC, d.gcDone = stopGC, make(chan struct{})
	go func() {
		defer close(d.gcDone)
		if o.GCInterval > 0 {
			collectEvery(gcCtx, n, o.GCInterval, o.Warnf)
		}
	}()
	return d, nil
}

// State is what the daemon wrote to its state file.
func (d *Daemon) State() State { return d.state }

// Failed delivers an error if serving stops on its own.
func (d *Daemon) Failed() <-chan error { return d.failed }

// Shutdown stops the daemon: new calls are refused, open-ended streams end, calls in
// flight finish, then the stores close, flushing everything acknowledged. When ctx ends
// first, remaining calls are cut off (their clients were not answered, so nothing they
// sent was acknowledged). The stores then get CloseTimeout: stores that cannot close by
// then (a full disk, a removed directory: badger retries for ever) are left to the end of
// the process, with an error wrapping a *node.CloseError, so a daemon asked to stop
// stops. Abort, from another goroutine, cuts the close short at once.
//
// grpc-web calls are let finish first: grpc v1.39's GracefulStop panics on a call served
// through ServeHTTP (its handler transport cannot drain), so none may be left by then.
func (d *Daemon) Shutdown(ctx context.Context) error {
	// The gateway's requests end along with the calls (downloads in flight get until ctx
	// ends), and before the stores close.
	gatewayErr := make(chan error, 1)
	go func() { gatewayErr <- d.stopGateway(ctx) }()
	d.grpc.Drain()
	d.webServer.stop()            // websockets that have not started a call
	webErr := d.web.Shutdown(ctx) // waits for grpc-web over HTTP; websockets are hijacked
	webDone := make(chan struct{})
	go func() {
		d.webServer.calls.Wait()
		close(webDone)
	}()
	select {
	case <-webDone:
	case <-ctx.Done():
	}
	stopGRPC(ctx, d.grpc)
	if webErr != nil {
		webErr = d.web.Close()
	}
	gwErr := <-gatewayErr
	<-d.served
	// A scheduled collection in progress stops at its next block: none may read the
	// blockstore once it closes.
	d.stopGC()
	<-d.gcDone
	closeCtx, cancel := context.WithTimeout(d.abort, d.closeTimeout)
	defer cancel()
	if d.gwReqs != nil {
		// Closed connections end their requests at their next write; none may read the
		// blockstore once it closes.
		gwErr = errors.Join(gwErr, d.gwReqs.Drain(closeCtx))
	}
	return errors.Join(webErr, gwErr, d.node.CloseContext(closeCtx), removeState(d.dataDir, d.state.PID))
}

// stopGateway stops the gateway gracefully, or closes its connections when ctx ends.
func (d *Daemon) stopGateway(ctx context.Context) error {
	if d.gateway == nil {
		return nil
	}
	if err := d.gateway.Shutdown(ctx); err != nil {
		return d.gateway.Close()
	}
	return nil
}

// Abort makes a Shutdown in progress, or the next one, give up waiting for the stores to
// close: for a second signal, which must stop the daemon at once.
func (d *Daemon) Abort() { d.abortCancel() }

// stopGRPC stops g gracefully, or at once when ctx ends first. A graceful stop waits for
// the calls in progress, not for connections: grpc's GracefulStop waits until every
// client has closed its connection after the GOAWAY, which a client that reads nothing
// never does, so once no call is left the rest are closed.
func stopGRPC(ctx context.Context, g *GRPC) {
	if ctx.Err() != nil {
		g.Stop()
		return
	}
	graceful := make(chan struct{})
	go func() {
		defer close(graceful)
		g.GracefulStop()
	}()
	select {
	case <-graceful:
	case <-g.calls.idle(graceful):
		g.Stop()
		<-graceful
	case <-ctx.Done():
		g.Stop()
		<-graceful
	}
}
