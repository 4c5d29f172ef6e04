package blockgc

import (
	"context"
	"strings"

	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dshelp "github.com/ipfs/go-ipfs-ds-help"
	ipld "github.com/ipfs/go-ipld-format"
)

// blocksPrefix is where go-ipfs-blockstore keeps blocks in its datastore.
const blocksPrefix = "/blocks/"

// Datastore is the datastore under a blockstore, telling the tracker of every block put
// and every check for one (a blockstore's Put first asks Has and skips a block it has:
// that write relies on the block as much as one that stores it). Everything else passes
// through.
type Datastore struct {
	ds.Batching
	t *Tracker
}

// WrapDatastore wraps d for ipfs-lite's blockstore.
func WrapDatastore(d ds.Batching, t *Tracker) *Datastore { return &Datastore{Batching: d, t: t} }

func (d *Datastore) note(k ds.Key) {
	s := k.String()
	rest, ok := strings.CutPrefix(s, blocksPrefix)
	if !ok {
		return
	}
	h, err := dshelp.DsKeyToMultihash(ds.NewKey(rest))
	if err != nil {
		return // not a block key: nothing a collection would delete
	}
	d.t.Put(h)
}

func (d *Datastore) Put(k ds.Key, v []byte) error {
	d.note(k)
	return d.Batching.Put(k, v)
}

func (d *Datastore) Has(k ds.Key) (bool, error) {
	d.note(k)
	return d.Batching.Has(k)
}

func (d *Datastore) Batch() (ds.Batch, error) {
	b, err := d.Batching.Batch()
	if err != nil {
		return nil, err
	}
	return &batch{Batch: b, d: d}, nil
}

type batch struct {
	ds.Batch
	d *Datastore
}

func (b *batch) Put(k ds.Key, v []byte) error {
	b.d.note(k)
	return b.Batch.Put(k, v)
}

// DAG is a DAG service telling the tracker of every node added (recorded before the
// service, whose blockstore may answer from its cache that it has the block and never
// reach the datastore) and, while writes are in flight, every node read.
type DAG struct {
	ipld.DAGService
	t *Tracker
}

// WrapDAG wraps d.
func WrapDAG(d ipld.DAGService, t *Tracker) *DAG { return &DAG{DAGService: d, t: t} }

func (d *DAG) Add(ctx context.Context, n ipld.Node) error {
	d.t.PutNode(n.Cid())
	return d.DAGService.Add(ctx, n)
}

func (d *DAG) AddMany(ctx context.Context, ns []ipld.Node) error {
	for _, n := range ns {
		d.t.PutNode(n.Cid())
	}
	return d.DAGService.AddMany(ctx, ns)
}

func (d *DAG) Get(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	d.t.ReadNode(c)
	return d.DAGService.Get(ctx, c)
}

func (d *DAG) GetMany(ctx context.Context, cs []cid.Cid) <-chan *ipld.NodeOption {
	for _, c := range cs {
		d.t.ReadNode(c)
	}
	return d.DAGService.GetMany(ctx, cs)
}
