package buckets

import (
	"context"
	gopath "path"

	ipld "github.com/ipfs/go-ipld-format"
	dag "github.com/ipfs/go-merkledag"
	"github.com/ipfs/go-unixfs"
)

// Item describes a file or directory of a listing, as the Hub's ListPath and
// ListIpfsPath answer (their PathItem, without metadata, which the service adds from
// the bucket).
type Item struct {
	Cid        string `json:"cid"`
	Name       string `json:"name"`
	Path       string `json:"path"`
	Size       int64  `json:"size"` // cumulative: the file's bytes, or all a directory holds
	IsDir      bool   `json:"is_dir"`
	Items      []Item `json:"items,omitempty"`
	ItemsCount int    `json:"items_count"`
}

// NewItem describes n, found at pth (the Hub gives the whole path, "/ipfs/<root>/a/b";
// the name is its last segment), as the Hub's nodeToItem: a directory counts its named
// links and, withItems, describes each (one level: their own Items are not filled, their
// ItemsCount is). Children are read from ng, which should not reach the network for
// paths a client named.
func NewItem(ctx context.Context, ng ipld.NodeGetter, n ipld.Node, pth string, withItems bool) (Item, error) {
	st, err := n.Stat()
	if err != nil {
		return Item{}, err
	}
	it := Item{
		Cid:  n.Cid().String(),
		Name: gopath.Base(pth),
		Path: pth,
		Size: int64(st.CumulativeSize),
	}
	if pn, ok := n.(*dag.ProtoNode); ok {
		if fs, err := unixfs.FSNodeFromBytes(pn.Data()); err == nil && fs.IsDir() {
			it.IsDir = true
		}
	}
	if !it.IsDir {
		return it, nil
	}
	for _, l := range n.Links() {
		if l.Name == "" {
			break
		}
		it.ItemsCount++
		if !withItems {
			continue
		}
		c, err := l.GetNode(ctx, ng)
		if err != nil {
			return Item{}, err
		}
		ci, err := NewItem(ctx, ng, c, gopath.Join(pth, l.Name), false)
		if err != nil {
			return Item{}, err
		}
		it.Items = append(it.Items, ci)
	}
	return it, nil
}
