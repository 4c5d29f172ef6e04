package buckets

import (
	"context"
	"io"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// FileCID returns the CID AddFile (and ipfs-lite's AddFile with FileParams) gives the
// content of r, without storing anything: blocks are hashed and dropped, so memory stays
// at a few chunks whatever the size. `hubctl bucket sync` compares local files with a
// bucket's this way.
func FileCID(r io.Reader) (cid.Cid, error) {
	n, err := layout(discard{}, r)
	if err != nil {
		return cid.Undef, err
	}
	return n.Cid(), nil
}

// discard is a DAG service that stores nothing. The balanced layout only adds.
type discard struct{}

func (discard) Get(context.Context, cid.Cid) (ipld.Node, error) { return nil, ipld.ErrNotFound }
func (discard) GetMany(context.Context, []cid.Cid) <-chan *ipld.NodeOption {
	ch := make(chan *ipld.NodeOption)
	close(ch)
	return ch
}
func (discard) Add(context.Context, ipld.Node) error        { return nil }
func (discard) AddMany(context.Context, []ipld.Node) error  { return nil }
func (discard) Remove(context.Context, cid.Cid) error       { return nil }
func (discard) RemoveMany(context.Context, []cid.Cid) error { return nil }
