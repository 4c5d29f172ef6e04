package node

import (
	ipfslite "github.com/hsanjuan/ipfs-lite"
	blockservice "github.com/ipfs/go-blockservice"
	offline "github.com/ipfs/go-ipfs-exchange-offline"
	ipld "github.com/ipfs/go-ipld-format"
	merkledag "github.com/ipfs/go-merkledag"

	"github.com/hubctl/hubctl/pkg/blockgc"
)

// DAG is the node's IPFS peer (ipfs-lite), on the node's libp2p host and blockstore:
// what it adds is stored with the threads' own records, and what it gets that is not
// local it fetches from peers over bitswap, waiting as long as its context allows.
// Buckets keep their files in it.
func (n *Node) DAG() *ipfslite.Peer { return n.net.lite }

// LocalDAG reads and writes the same blockstore as DAG without the network: a Get of a
// block that is not stored here fails at once (ipld.ErrNotFound) instead of waiting for
// a peer. Paths given by callers (a gateway's /ipfs/ URLs, ListIpfsPath) are read through
// it, so that nobody can make the node fetch, and keep, what they name. What is added
// through it, and read while a write holds the blocks (HoldBlocks), the collector keeps.
func (n *Node) LocalDAG() ipld.DAGService {
	bs := n.net.lite.BlockStore()
	return blockgc.WrapDAG(merkledag.NewDAGService(blockservice.New(bs, offline.Exchange(bs))), n.net.tracker)
}
