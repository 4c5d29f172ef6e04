package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	dgbadger "github.com/dgraph-io/badger"
	ipfslite "github.com/hsanjuan/ipfs-lite"
	"github.com/libp2p/go-libp2p"
	connmgr "github.com/libp2p/go-libp2p-connmgr"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/host"
	"github.com/libp2p/go-libp2p-core/peer"
	"github.com/libp2p/go-libp2p-peerstore/pstoreds"
	ma "github.com/multiformats/go-multiaddr"
	badger "github.com/textileio/go-ds-badger"
	"github.com/textileio/go-threads/core/app"
	"github.com/textileio/go-threads/core/logstore"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/logstore/lstoreds"
	tnet "github.com/textileio/go-threads/net"
	"google.golang.org/grpc"

	"github.com/hubctl/hubctl/pkg/atomicfile"
	"github.com/hubctl/hubctl/pkg/blockgc"
)

// network is a go-threads network with badger persistence.
//
// It does what go-threads' common.DefaultNetwork does for a badger repo, with the same
// on-disk layout (ipfslite/, ipfslite/key, logstore/), so a threadsd repo opens as is.
// It is built here rather than through common because common also links the MongoDB
// driver, whose package initialisers cost every hubctl start about 1 ms (measured with
// GODEBUG=inittrace=1), for a backend hubctl never uses.
type network struct {
	app.Net
	lite *ipfslite.Peer
	// host and store are go-threads' own, for AddReplicator (replicator.go).
	host  host.Host
	store logstore.Logstore
	fin   closers
	key   crypto.PrivKey
	// addrs is the announce policy, applied to other peers' addresses too when the node
	// tells a client where else a thread is kept.
	addrs addrPolicy
	// blocks is the badger store under the blockstore (ipfslite/), for its value-log
	// collection after a sweep; tracker sees every block put into it (gc.go).
	blocks     *badger.Datastore
	blockStore *blockgc.Datastore
	tracker    *blockgc.Tracker
	// gcMu makes collections take turns.
	gcMu sync.Mutex
	// pushes queues the records peers push (pushes.go).
	pushes *pushQueue
	// catchUp answers and pages pulls (catchup.go).
	catchUp *catchUp
}

// recordsPutter is go-threads' network with hubctl's patch (net.PutRecords).
type recordsPutter interface {
	PutRecords(ctx context.Context, id thread.ID, lid peer.ID, recs []core.Record, counter int64) error
}

// peerMessageLimit bounds one gRPC message between peers (a pull's records).
const peerMessageLimit = 256 << 20

type networkConfig struct {
	dir          string
	hostAddr     ma.Multiaddr
	addrs        addrPolicy
	noNetPulling bool
	pullInterval time.Duration
	debug        bool
	// closeTimeout bounds closing what was opened when opening fails.
	closeTimeout time.Duration
	// blockGrace is how long the collector keeps blocks put outside writes
	// (blockgc.DefaultGrace when negative).
	blockGrace time.Duration
	// perCommand opens the stores for one command (storeOptions).
	perCommand bool
	// pullLimit is the most records one pull asks for and answers with (defaultPullLimit
	// when zero).
	pullLimit uint
	// goThreadsPeer leaves out the push queue and the pull interceptors (tests).
	goThreadsPeer bool
}

// defaultPullLimit is what one pull of a thread asks a peer for, and the most records a
// pull is answered with, shared among the thread's logs (go-threads' NetPullingLimit).
const defaultPullLimit = 10000

func newNetwork(cfg networkConfig) (_ *network, err error) {
	var fin closers
	defer func() {
		if err != nil {
			// Bounded: a store opened on a disk that then filled up never finishes
			// closing (closeBounded), and this cleanup once hung `hubctl token get`.
			timeout := cfg.closeTimeout
			if timeout <= 0 {
				timeout = DefaultCloseTimeout
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if cerr := closeBounded(ctx, cfg.dir, fin.closeAll); cerr != nil {
				err = fmt.Errorf("%w; close what was opened: %w", err, cerr)
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	fin.add(closerFunc(cancel))

	litestore, err := badgerStoreWith(filepath.Join(cfg.dir, "ipfslite"), &fin, smallStoreOptions(), cfg.perCommand)
	if err != nil {
		return nil, err
	}
	pstore, err := pstoreds.NewPeerstore(ctx, litestore, pstoreds.DefaultOpts())
	if err != nil {
		return nil, err
	}
	fin.add(pstore)
	hostKey, err := hostKey(filepath.Join(cfg.dir, "ipfslite", "key"))
	if err != nil {
		return nil, err
	}
	// No relay, no NAT port mapping (libp2p only maps ports when asked), no bootstrap
	// peers: peers are only ever added explicitly.
	h, dht, err := ipfslite.SetupLibp2p(ctx, hostKey, nil, []ma.Multiaddr{cfg.hostAddr}, litestore,
		libp2p.Peerstore(pstore),
		libp2p.ConnectionManager(connmgr.NewConnManager(100, 400, 20*time.Second)),
		libp2p.DisableRelay(),
		libp2p.AddrsFactory(cfg.addrs.filter),
	)
	if err != nil {
		return nil, err
	}
	// Every block put goes through the tracker, so that a collection keeps what writes in
	// flight have stored but not yet linked (pkg/blockgc). The peerstore and the DHT
	// keep their records in the same badger store, untracked.
	tracker := blockgc.NewTracker(cfg.blockGrace, 0)
	blockStore := blockgc.WrapDatastore(litestore, tracker)
	lite, err := ipfslite.New(ctx, blockStore, h, dht, nil)
	if err != nil {
		return nil, err
	}
	logstoreDS, err := badgerStoreWith(filepath.Join(cfg.dir, "logstore"), &fin, smallStoreOptions(), cfg.perCommand)
	if err != nil {
		return nil, err
	}
	tstore, err := lstoreds.NewLogstore(ctx, logstoreDS, lstoreds.DefaultOpts())
	if err != nil {
		return nil, err
	}
	// Records peers push are queued and applied in order (pushes.go); pulls are answered
	// oldest first and asked again until caught up (catchup.go).
	pullLimit := cfg.pullLimit
	if pullLimit == 0 {
		pullLimit = defaultPullLimit
	}
	pushes := newPushQueue(tstore, defaultPushLimits)
	catchUp := &catchUp{store: tstore, pullLimit: pullLimit}
	serverOpts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(pushes.intercept, catchUp.serve)}
	dialOpts := []grpc.DialOption{grpc.WithChainUnaryInterceptor(catchUp.page)}
	if cfg.goThreadsPeer {
		serverOpts, dialOpts = nil, nil
	}
	// go-threads adds its records through a DAG the tracker sees before the blockstore's
	// cache can answer that a block is there already.
	api, err := tnet.NewNetwork(ctx, h, lite.BlockStore(), blockgc.WrapDAG(lite, tracker), tstore, tnet.Config{
		NetPullingLimit:           pullLimit,
		NetPullingStartAfter:      time.Second,
		NetPullingInitialInterval: time.Second,
		NetPullingInterval:        cfg.pullInterval,
		NoNetPulling:              cfg.noNetPulling,
		Debug:                     cfg.debug,
	}, serverOpts, append(dialOpts,
		// go-threads dials peers with gRPC's default 4 MiB receive limit, and a pull of a few
		// thousand records is larger (6.9 MB for 10,000 small instances): the pull failed,
		// was only logged, and a joining peer crawled the log record by record instead
		// (bench/converge: 10,000 records took 128 s to catch up, 46 s with this limit).
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(peerMessageLimit)),
	))
	if err != nil {
		return nil, err
	}
	// The queue stops before the network closes under it.
	fin.add(h, dht, api, pushes)
	catchUp.setDAG(api)
	return &network{Net: api, lite: lite, host: h, store: tstore, fin: fin, key: hostKey, addrs: cfg.addrs,
		blocks: litestore, blockStore: blockStore, tracker: tracker, pushes: pushes, catchUp: catchUp}, nil
}

// Bootstrap connects to the given peers; nothing calls it with public peers unless a user
// names them.
func (n *network) Bootstrap(addrs []peer.AddrInfo) { n.lite.Bootstrap(addrs) }

// Close closes everything in reverse order of opening; Node.CloseContext bounds it.
func (n *network) Close() error { return n.fin.closeAll() }

// smallStoreOptions are go-ds-badger's defaults with a quarter of their table size and
// two memtables instead of five, for the stores of blocks and of logs. Every memtable is
// an arena of about the table size that the Go heap counts whole from its creation, and
// the garbage collector lets garbage grow by as much as is live: three stores at 16 MiB
// held 62 MB of a push's 100 MB live heap. A block costs a memtable almost nothing
// (values over 64 KB go to the value log; a memtable holds their pointers). Writes to
// both stores are batches, which split themselves at the smaller limit on a transaction
// (15% of a table, 614 KB), and go-threads' logstore transactions (heads) are a few
// entries. The event store keeps the defaults: go-threads writes instances in one
// transaction per write, which would fail past that limit.
func smallStoreOptions() badger.Options {
	o := badger.DefaultOptions
	o.MaxTableSize = 4 << 20
	o.NumMemtables = 2
	return o
}

// badgerStoreWith opens the badger store in dir with o (openBadger) and adds it to fin.
func badgerStoreWith(dir string, fin *closers, o badger.Options, perCommand bool) (*badger.Datastore, error) {
	ds, err := openBadger(dir, o, perCommand)
	if err != nil {
		return nil, err
	}
	fin.add(ds)
	return ds, nil
}

// openBadger opens (creating, 0700) the badger store in dir with o, adjusted by
// storeOptions for a store opened per command.
func openBadger(dir string, o badger.Options, perCommand bool) (*badger.Datastore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	o = storeOptions(dir, o, perCommand)
	ds, err := badger.NewDatastore(dir, &o)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return ds, nil
}

// storeOptions makes a store opened for one command compact its level 0 when it closes,
// whenever that close brings level 0 to the size at which badger compacts it. A long-running
// node (the daemon) keeps o: its compactors do that work in the background.
//
// Why: go-ds-badger turns off CompactL0OnClose, so every close that flushes writes adds one
// level-0 table, and every hubctl command writes to the block and log stores (libp2p's
// peerstore records the host's fresh addresses; go-threads its log keys). Badger's
// compactors start a random delay of up to 1 s after the open and then look once a second,
// so in a command of 50 ms they never run, and level 0 only grows. At
// NumLevelZeroTablesStall tables (10) the close's flush blocks (levels.go addLevel0Table)
// until a compactor's first look, 1 to 2 s after the open: the one command in ten that took
// 1.1-1.4 s. Compacting at close when level 0 reaches NumLevelZeroTables (5) is the
// compaction badger would have started, at its own rate, without the wait; level 0 then
// holds at most NumLevelZeroTables-1 tables between commands, never near the stall.
func storeOptions(dir string, o badger.Options, perCommand bool) badger.Options {
	if !perCommand {
		return o
	}
	l0, err := levelZeroTables(dir)
	if err != nil {
		// Badger's own open reads the same manifest and says what is wrong with it.
		return o
	}
	// The flush of this command's writes adds one table.
	o.CompactL0OnClose = l0+1 >= o.NumLevelZeroTables
	return o
}

// levelZeroTables counts the level-0 tables the MANIFEST in dir lists (0 for a new store),
// read the way badger's open reads it. The caller holds the node's directory lock, so no
// other process appends to it meanwhile.
func levelZeroTables(dir string) (int, error) {
	f, err := os.Open(filepath.Join(dir, dgbadger.ManifestFilename))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	m, _, err := dgbadger.ReplayManifestFile(f)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	n := 0
	for _, t := range m.Tables {
		if t.Level == 0 {
			n++
		}
	}
	return n, nil
}

// hostKey reads the libp2p host key, creating it (0400, as go-threads does) on first use.
func hostKey(path string) (crypto.PrivKey, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return crypto.UnmarshalPrivateKey(data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	sk, _, err := crypto.GenerateKeyPair(crypto.Ed25519, 0)
	if err != nil {
		return nil, err
	}
	data, err = crypto.MarshalPrivateKey(sk)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(path, data, 0o400, atomicfile.NoReplace); err != nil {
		return nil, err
	}
	return sk, nil
}
