package server

// Bucket trees across peers. A bucket database joined on a second node replicates its
// instances through go-threads, but a bucket's files stay in the blockstore of the node
// they were pushed to. Reads of a bucket's own tree (the root its instance names, and
// what that root links to) therefore fetch the blocks that are not here from peers over
// bitswap (node.DAG: the ipfs-lite peer on the libp2p host go-threads uses), and keep
// them. Reads of a CID a caller names (ListIpfsPath, PullIpfsPath, the gateway's /ipfs/,
// SetPath's source, Create's bootstrap) stay on node.LocalDAG: nobody can make the node
// fetch, and keep, what they name.
//
// A fetch is bounded twice: each block it asks peers for must arrive within
// fetchBlockTimeout, and one call (one tree DAG) waits on peers for at most
// fetchCallTimeout in all, so that a bucket whose instance names a CID no peer has (a
// peer's record can name any) answers Unavailable in one line instead of hanging.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc"

	"github.com/hubctl/hubctl/pkg/gateway"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// The bounds of fetching a bucket's blocks from peers. Variables so that tests can make
// them short; nothing else changes them.
var (
	// fetchBlockTimeout is how long one block may take to come from a peer once asked
	// for: bitswap has no answer for "nobody has it", only silence.
	fetchBlockTimeout = 30 * time.Second
	// fetchCallTimeout is how long one call may wait on peers in all (blocks found here
	// cost nothing): a pull of a large file from a slow peer that outlasts it fails, and
	// its retry goes on from the blocks already fetched, which were kept.
	fetchCallTimeout = 5 * time.Minute
)

// fetchDAG reads blocks from the local blockstore, and those that are not there from
// peers (net), within its bounds; it writes to the local blockstore. One is made for each
// call (treeDAG, the gateway's requests), and its call's time for fetching is the time
// its fetches wait on peers, in all.
type fetchDAG struct {
	ipld.DAGService // local: reads here first, and every write
	net             ipld.DAGService
	node            *node.Node
	blockTimeout    time.Duration
	callTimeout     time.Duration

	mu     sync.Mutex
	waited time.Duration // on peers, so far
}

func newFetchDAG(n *node.Node) *fetchDAG {
	return &fetchDAG{DAGService: n.LocalDAG(), net: n.DAG(), node: n, blockTimeout: fetchBlockTimeout, callTimeout: fetchCallTimeout}
}

// treeDAG is the DAG a call reads its bucket's own tree through: bucketDAG's view
// (gateway.FilesOnly) of a fetchDAG of its own.
func (s *bucketsService) treeDAG() bucketDAG { return newBucketDAG(newFetchDAG(s.node)) }

// pullsBucketPath says whether ctx is a call of PullPath, whose file is in a bucket's
// own tree (its node came through treeDAG), unlike PullIpfsPath's, which a caller named:
// the two share fileReader.
func pullsBucketPath(ctx context.Context) bool {
	m, _ := grpc.Method(ctx)
	return m == "/api.bucketsd.pb.APIService/PullPath"
}

// fetchError is a block no peer sent within the bounds. It is ipld.ErrNotFound to
// errors.Is (a block that is not here, as the readers of files answer it), and
// Unavailable to the buckets API (editErr): a peer that holds it may come back.
type fetchError struct {
	c      cid.Cid
	within string
}

func (e *fetchError) Error() string {
	return fmt.Sprintf("block %s is not on this server and no peer sent it within %s: retry when a peer that holds the bucket is online", e.c, e.within)
}

func (e *fetchError) Unwrap() error { return ipld.ErrNotFound }

func isNotFound(err error) bool {
	return errors.Is(err, ipld.ErrNotFound) || strings.Contains(err.Error(), ipld.ErrNotFound.Error())
}

func (d *fetchDAG) Get(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	nd, err := d.DAGService.Get(ctx, c)
	if err == nil || !isNotFound(err) {
		return nd, err
	}
	return d.fetch(ctx, c)
}

// fetch gets c from peers, within the block's and the call's bounds.
func (d *fetchDAG) fetch(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	d.mu.Lock()
	left := d.callTimeout - d.waited
	d.mu.Unlock()
	wait, within := d.blockTimeout, d.blockTimeout.String()
	if left < wait {
		wait, within = left, "the "+d.callTimeout.String()+" a call may wait for peers"
	}
	if wait <= 0 {
		return nil, &fetchError{c: c, within: within}
	}
	start := time.Now()
	defer func() {
		d.mu.Lock()
		d.waited += time.Since(start)
		d.mu.Unlock()
	}()
	if db, ok := hubauth.HeaderThreadID(ctx); ok {
		peerDials.dial(d.node, db)
	}
	fctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	nd, err := d.net.Get(fctx, c)
	switch {
	case err == nil:
		// Read again through the local DAG, which the block collector watches: a write
		// in flight then keeps what it read, here or fetched (node.HoldBlocks).
		if local, lerr := d.DAGService.Get(ctx, c); lerr == nil {
			return local, nil
		}
		return nd, nil
	case ctx.Err() != nil:
		return nil, ctx.Err() // the caller's own end: answered as such
	case fctx.Err() != nil, isNotFound(err):
		return nil, &fetchError{c: c, within: within}
	}
	return nil, fmt.Errorf("fetching block %s from peers: %w", c, err)
}

// GetMany gets the blocks one at a time, each through Get, and stops at the first error
// (as gateway.FilesOnly's, which every read goes through anyway).
func (d *fetchDAG) GetMany(ctx context.Context, cids []cid.Cid) <-chan *ipld.NodeOption {
	return gateway.GetEach(ctx, d.Get, cids)
}

// peerDials connects a node to the peers of a database whose bucket it fetches for: bitswap
// asks only the peers the host is connected to (it sends its wants to one as it connects),
// and a node that does not pull (the embedded node), or whose connection dropped, has
// none. A database's peers are dialled at most once every redialPeers, in the background
// (the fetch waits for the block, not for the dials), to the addresses go-threads keeps
// for its logs (node.PeerAddrs): the peers its own pulls dial.
var peerDials = dialMemo{}

const (
	redialPeers = 30 * time.Second
	// maxDialMemo bounds the memo: past it, it starts afresh.
	maxDialMemo = 10000
)

type dialMemo struct {
	mu   sync.Mutex
	last map[dialKey]time.Time
}

type dialKey struct {
	node *node.Node
	db   thread.ID
}

func (m *dialMemo) dial(n *node.Node, db thread.ID) {
	now := time.Now()
	m.mu.Lock()
	k := dialKey{n, db}
	if t, ok := m.last[k]; ok && now.Sub(t) < redialPeers {
		m.mu.Unlock()
		return
	}
	if m.last == nil || len(m.last) >= maxDialMemo {
		m.last = map[dialKey]time.Time{}
	}
	m.last[k] = now
	m.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), redialPeers)
		defer cancel()
		addrs, err := n.PeerAddrs(ctx, db)
		if err != nil || len(addrs) == 0 {
			return
		}
		// Each dial ends within libp2p's dial timeout; a peer that does not answer is one
		// bitswap cannot ask, and the fetch says so when its time is up.
		_ = n.Bootstrap(addrs)
	}()
}
