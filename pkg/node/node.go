// Package node runs a ThreadDB node: the go-threads network (libp2p host, logstore, IPFS
// blocks), the db manager with its badger event store, and the threads and net API services.
// hubctl opens one in-process for its embedded default and serves it on an in-memory
// listener; `hubctl daemon` serves one over TCP.
package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/gofrs/flock"
	logging "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/peer"
	ma "github.com/multiformats/go-multiaddr"
	badger "github.com/textileio/go-ds-badger"
	"github.com/textileio/go-threads/api"
	pb "github.com/textileio/go-threads/api/pb"
	lstore "github.com/textileio/go-threads/core/logstore"
	"github.com/textileio/go-threads/core/thread"
	kt "github.com/textileio/go-threads/db/keytransform"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/atomicfile"
	"github.com/hubctl/hubctl/pkg/node/netapi"
)

// DefaultHostAddr keeps the libp2p host on loopback: an embedded node has no business
// being reachable from other machines.
const DefaultHostAddr = "/ip4/127.0.0.1/tcp/0"

// ErrBusy means another process holds the node's data directory for longer than the
// caller was willing to wait.
var ErrBusy = errors.New("the local store is busy")

// BusyError names the directory another process holds.
type BusyError struct{ Dir string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("the local store at %s is busy: another hubctl is using it; wait for it to finish or use another --data-dir", e.Dir)
}

func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Options configure a node.
type Options struct {
	// Dir holds the node's badger stores; it is created 0700 because the logstore holds
	// thread keys.
	Dir string
	// CloseTimeout bounds Close, and the cleanup of a failed Open (DefaultCloseTimeout
	// when zero): on a full disk or a removed directory badger never finishes closing.
	CloseTimeout time.Duration
	// HostAddr is the libp2p listen address (DefaultHostAddr when empty).
	HostAddr string
	// Debug lets go-threads, libp2p and badger log to stderr; otherwise they are silent.
	Debug bool
	// NoNetPulling turns off the periodic pulling of threads from peers, pointless for a
	// short-lived embedded node with no peers.
	NoNetPulling bool
	// PullInterval is how often every thread is pulled from its peers
	// (DefaultPullInterval when zero).
	PullInterval time.Duration
	// AnnounceAddrs, when set, are the addresses announced to peers instead of the
	// listen addresses (multiaddrs without /p2p).
	AnnounceAddrs []string
	// IncludePrivateAddrs announces loopback and private listen addresses too; otherwise
	// only addresses peers elsewhere can dial are announced.
	IncludePrivateAddrs bool
	// Warnf reports what an operator must see even without Debug: a peer's record that
	// was refused, a database that could not be loaded. Nil drops the reports.
	Warnf func(format string, args ...any)
	// BlockGrace is how long the block collector keeps blocks put outside writes
	// (blockgc.DefaultGrace when zero; none when negative, for tests).
	BlockGrace time.Duration
	// PerCommand is for a node opened and closed around one command (the embedded
	// default): its stores compact level 0 as they close, before it fills up, because a
	// command ends before badger's compactors start (storeOptions in network.go). A
	// long-running node leaves that to them.
	PerCommand bool

	// pullLimit is the most records one pull asks a peer for (defaultPullLimit when
	// zero; tests make it small).
	pullLimit uint
	// goThreadsPeer leaves out hubctl's handling of pushes and pulls (pushes.go,
	// catchup.go), for tests of a peer that replicates as go-threads does.
	goThreadsPeer bool
}

// DefaultPullInterval is go-threads' own: pushes carry new records at once, pulls only
// catch what a peer missed while it was away.
const DefaultPullInterval = 10 * time.Second

// Node is an open ThreadDB node. It never bootstraps to public peers and never maps ports:
// peers are only ever added explicitly.
type Node struct {
	dir     string
	lock    *flock.Flock
	net     *network
	store   kt.TxnDatastoreExtended
	threads *api.Service
	netAPI  *netapi.Service
	// broken are the databases that failed to load (broken.go).
	broken *brokenDBs

	// closeTimeout bounds Close (close.go).
	closeTimeout time.Duration
}

// Lock waits until this process holds the exclusive lock on dir, or ctx ends. Badger's own
// directory lock fails at once; waiting here lets concurrent hubctl commands take turns.
func Lock(ctx context.Context, dir string) (*flock.Flock, error) {
	if err := atomicfile.MkdirPrivate(dir); err != nil {
		return nil, err
	}
	lock := flock.New(filepath.Join(dir, "lock"))
	ok, err := lock.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if !ok {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, ctx.Err()
		}
		return nil, &BusyError{Dir: dir}
	}
	return lock, nil
}

// Locked reports whether a process (this one included) holds the lock on dir, without
// waiting and without creating dir. The kernel releases the lock when its holder ends,
// however it ends, so unlike a pid it cannot outlive the process or be inherited by an
// unrelated one after a reboot.
func Locked(dir string) bool {
	if _, err := os.Stat(dir); err != nil {
		return false
	}
	lock := flock.New(filepath.Join(dir, "lock"))
	ok, err := lock.TryLock()
	if err != nil {
		return false // the lock file cannot even be opened: no daemon of ours holds it
	}
	if ok {
		_ = lock.Unlock()
		return false
	}
	return true
}

// Open locks opts.Dir (waiting as long as ctx allows) and opens the node in it.
func Open(ctx context.Context, opts Options) (_ *Node, err error) {
	Quiet(opts.Debug)
	lock, err := Lock(ctx, opts.Dir)
	if err != nil {
		return nil, err
	}
	// n is not the named result: every error return sets that to nil, and the cleanup
	// below must close what was opened (it once dereferenced the nil result and panicked).
	closeTimeout := opts.CloseTimeout
	if closeTimeout <= 0 {
		closeTimeout = DefaultCloseTimeout
	}
	n := &Node{dir: opts.Dir, lock: lock, closeTimeout: closeTimeout}
	defer func() {
		if err == nil {
			return
		}
		if cerr := n.Close(); cerr != nil {
			err = fmt.Errorf("%w; %w", err, cerr)
		}
	}()
	hostAddr := opts.HostAddr
	if hostAddr == "" {
		hostAddr = DefaultHostAddr
	}
	addr, err := ma.NewMultiaddr(hostAddr)
	if err != nil {
		return nil, fmt.Errorf("invalid host address %q: %w", hostAddr, err)
	}
	policy, err := newAddrPolicy(opts.AnnounceAddrs, opts.IncludePrivateAddrs)
	if err != nil {
		return nil, err
	}
	pullInterval := opts.PullInterval
	if pullInterval <= 0 {
		pullInterval = DefaultPullInterval
	}
	n.net, err = newNetwork(networkConfig{
		dir: opts.Dir, hostAddr: addr, addrs: policy,
		noNetPulling: opts.NoNetPulling, pullInterval: pullInterval, debug: opts.Debug,
		closeTimeout: closeTimeout, blockGrace: blockGrace(opts.BlockGrace), perCommand: opts.PerCommand,
		pullLimit: opts.pullLimit, goThreadsPeer: opts.goThreadsPeer,
	})
	if errors.Is(err, ErrNotClosed) {
		// Stores of the network are still closing in the background: keep the directory
		// locked until the process ends, so no other process opens them meanwhile.
		n.lock = nil
	}
	if err != nil {
		return nil, fmt.Errorf("open network in %s: %w", opts.Dir, err)
	}
	// go-threads' defaults (util.NewBadgerDatastore), not smallStoreOptions: see there.
	n.store, err = openBadger(filepath.Join(opts.Dir, "eventstore"), badger.DefaultOptions, opts.PerCommand)
	if err != nil {
		return nil, fmt.Errorf("open event store in %s: %w", opts.Dir, err)
	}
	n.threads, err = n.openThreads(opts)
	if err != nil {
		return nil, err
	}
	if !opts.NoNetPulling && !opts.PerCommand {
		// A node that keeps its threads up to date catches up at once (pullOnOpen).
		ids, err := n.net.store.Threads()
		if err != nil {
			return nil, fmt.Errorf("list threads: %w", err)
		}
		n.net.fin.add(n.broken.net.pullOnOpen(ids))
	}
	n.netAPI, err = netapi.NewService(n.net, netapi.Config{Debug: opts.Debug})
	if err != nil {
		return nil, fmt.Errorf("start net API: %w", err)
	}
	// The API services reset their loggers' levels when they start.
	Quiet(opts.Debug)
	return n, nil
}

// Register adds the threads and net API services to s.
func (n *Node) Register(s *grpc.Server) {
	pb.RegisterAPIServer(s, n.threads)
	netpb.RegisterAPIServer(s, n.netAPI)
}

// Dir is the node's data directory.
func (n *Node) Dir() string { return n.dir }

// DB is a database the node holds.
type DB struct {
	ID   thread.ID
	Name string
}

// ListDBs lists every database of the node, for callers already allowed to see them all.
func (n *Node) ListDBs(ctx context.Context) ([]DB, error) {
	res, err := n.threads.ListDBs(ctx, &pb.ListDBsRequest{})
	if err != nil {
		return nil, err
	}
	out := make([]DB, 0, len(res.Dbs))
	for _, d := range res.Dbs {
		id, err := thread.Cast(d.DbID)
		if err != nil {
			return nil, err
		}
		out = append(out, DB{ID: id, Name: d.GetInfo().GetName()})
	}
	return out, nil
}

// Threads lists every thread the node's logstore holds: its databases' threads, plain net
// threads (CreateThread, AddThread), those it keeps for others as a replicator, and the
// threads of databases that failed to load.
func (n *Node) Threads() ([]thread.ID, error) {
	ids, err := n.net.store.Threads()
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	return ids, nil
}

// HostID is the libp2p peer ID of the node's host.
func (n *Node) HostID() string { return n.net.Host().ID().String() }

// HostKey is the host's private key: it signs the user tokens the node issues, so a
// server verifies tokens against it.
func (n *Node) HostKey() crypto.PrivKey { return n.net.key }

// Bootstrap connects the host to the given peers (never public ones unless a user names
// them).
func (n *Node) Bootstrap(addrs []string) error {
	var infos []peer.AddrInfo
	for _, a := range addrs {
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			return fmt.Errorf("invalid bootstrap address %q: %w", a, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return fmt.Errorf("invalid bootstrap address %q (it needs /p2p/PEER-ID): %w", a, err)
		}
		infos = append(infos, *info)
	}
	n.net.Bootstrap(infos)
	return nil
}

// HostAddrs are the addresses the node announces to peers, with /p2p/ID: the ones they
// can dial it at.
func (n *Node) HostAddrs() []string {
	out := []string{}
	for _, a := range n.net.Host().Addrs() {
		out = append(out, a.String()+"/p2p/"+n.HostID())
	}
	return out
}

// ListenAddrs are the addresses the node's host listens on, announced or not, with
// wildcard addresses expanded to the machine's interfaces.
func (n *Node) ListenAddrs() []string {
	out := []string{}
	addrs, err := n.net.Host().Network().InterfaceListenAddresses()
	if err != nil {
		addrs = n.net.Host().Network().ListenAddresses()
	}
	for _, a := range addrs {
		out = append(out, a.String()+"/p2p/"+n.HostID())
	}
	return out
}

var grpcLogOnce sync.Once

// Quiet silences go-log (go-threads, libp2p and badger all log through it) unless debug,
// when everything goes to stderr at debug level.
func Quiet(debug bool) {
	// gRPC logs errors to stderr by default (the grpc-web library's "error reading
	// websocket message" for every client that goes away among them). Its logger is a
	// global that may only be set before gRPC runs: the first node opened decides.
	grpcLogOnce.Do(func() {
		if !debug {
			grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, io.Discard))
		}
	})
	if debug {
		logging.SetupLogging(logging.Config{Format: logging.PlaintextOutput, Stderr: true, Level: logging.LevelDebug})
		return
	}
	logging.SetPrimaryCore(zapcore.NewNopCore())
	logging.SetAllLoggers(logging.LevelFatal)
}

// HasThread reports whether the node's logstore holds the thread: a database, a net API
// thread, or a thread it only replicates for a peer.
func (n *Node) HasThread(ctx context.Context, id thread.ID) (bool, error) {
	_, err := n.net.GetThread(ctx, id)
	if errors.Is(err, lstore.ErrThreadNotFound) {
		return false, nil
	}
	return err == nil, err
}

// HasDB reports whether id is one of the node's databases.
func (n *Node) HasDB(ctx context.Context, id thread.ID) (bool, error) {
	_, err := n.threads.GetDBInfo(ctx, &pb.GetDBInfoRequest{DbID: id.Bytes()})
	if err == nil {
		return true, nil
	}
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	return false, err
}

// ForgetThread removes a thread that no database uses from the logstore: what a failed
// join leaves behind (go-threads stores the thread and a log for the caller before it
// dials the peer), which would otherwise refuse every later join of it as "log already
// exists".
func (n *Node) ForgetThread(ctx context.Context, id thread.ID) error {
	if err := n.net.DeleteThread(ctx, id); err != nil && !errors.Is(err, lstore.ErrThreadNotFound) {
		return fmt.Errorf("forget thread %s: %w", id, err)
	}
	return nil
}

// PeerAddrs are the addresses (with /p2p/ID) of the other peers that keep the thread's
// logs (writers that joined it, replicators), as far as the node knows them: where else
// a peer can join the thread from. Loopback and private addresses are left out unless
// the node announces its own.
func (n *Node) PeerAddrs(ctx context.Context, id thread.ID) ([]string, error) {
	info, err := n.net.GetThread(ctx, id)
	if err != nil {
		return nil, err
	}
	self := n.net.Host().ID()
	seen := map[peer.ID]bool{self: true}
	out := []string{}
	for _, lg := range info.Logs {
		for _, a := range lg.Addrs {
			v, err := a.ValueForProtocol(ma.P_P2P)
			if err != nil {
				continue
			}
			pid, err := peer.Decode(v)
			if err != nil || seen[pid] {
				continue
			}
			seen[pid] = true
			var addrs []string
			for _, pa := range n.net.Host().Peerstore().Addrs(pid) {
				if n.net.addrs.includePrivate || Reachable(pa) {
					addrs = append(addrs, pa.String()+"/p2p/"+pid.String())
				}
			}
			sort.Strings(addrs)
			out = append(out, addrs...)
		}
	}
	return out, nil
}
