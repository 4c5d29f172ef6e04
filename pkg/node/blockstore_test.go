package node

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	ipld "github.com/ipfs/go-ipld-format"
	"github.com/ipfs/go-merkledag"
)

// The block store's smaller tables (smallStoreOptions) lower badger's limit on one
// transaction to 15% of a table, 614 KB. Writes of blocks must not meet it: one AddMany
// of 20 MB of the largest blocks badger keeps in its tree (65,500 bytes, the value log
// takes larger ones) and of 1 MiB blocks writes them all, and each reads back after the
// node is reopened.
func TestBlockStoreTakesBatchesPastTheTransactionLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "node")
	n := openAt(t, ctx, dir, nil)
	r := rand.New(rand.NewPCG(3, 4))
	var nodes []ipld.Node
	for total, i := 0, 0; total < 20<<20; i++ {
		size := 65500
		if i%8 == 7 {
			size = 1 << 20
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		nodes = append(nodes, merkledag.NewRawNode(data))
		total += size
	}
	if err := n.LocalDAG().AddMany(ctx, nodes); err != nil {
		t.Fatalf("AddMany of %d blocks: %v", len(nodes), err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = openAt(t, ctx, dir, nil)
	for _, want := range nodes {
		got, err := n.LocalDAG().Get(ctx, want.Cid())
		if err != nil {
			t.Fatalf("block %s after reopening: %v", want.Cid(), err)
		}
		if len(got.RawData()) != len(want.RawData()) {
			t.Fatalf("block %s: %d bytes, want %d", want.Cid(), len(got.RawData()), len(want.RawData()))
		}
	}
}
