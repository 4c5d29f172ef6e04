package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipfs/go-datastore/query"
	blockstore "github.com/ipfs/go-ipfs-blockstore"
	dse "github.com/textileio/go-datastore-extensions"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/blockgc"
)

// bucketsCollection is the Hub's buckets collection (pkg/buckets.CollectionName), whose
// instances' paths are the roots the collector keeps.
const bucketsCollection = "buckets"

func blockGrace(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return blockgc.DefaultGrace
	case d < 0:
		return 0
	}
	return d
}

// HoldBlocks keeps every block put or read from now until release as far as the block
// collector is concerned: a write takes it before it stores its first block and releases
// it once the root linking them is saved.
func (n *Node) HoldBlocks() (release func()) { return n.net.tracker.Hold() }

// BlockTracker is what sees the node's block writes, for tests that wait on them.
func (n *Node) BlockTracker() *blockgc.Tracker { return n.net.tracker }

// CollectGarbage deletes the blocks no bucket root and no thread record of the node
// needs (pkg/blockgc), then has badger give back the space on disk. Runs take turns.
func (n *Node) CollectGarbage(ctx context.Context, hooks blockgc.Hooks) (blockgc.Report, error) {
	n.net.gcMu.Lock()
	defer n.net.gcMu.Unlock()
	dir := filepath.Join(n.dir, "ipfslite")
	before := diskBytes(dir)
	rep, err := blockgc.Collect(ctx, gcSource{n}, hooks)
	rep.DiskBefore = before
	if err != nil {
		return rep, err
	}
	start := time.Now()
	// Badger keeps deleted values in its value log until that log is rewritten.
	if err := n.net.blocks.CollectGarbage(); err != nil {
		return rep, fmt.Errorf("compact the block store: %w", err)
	}
	rep.Duration += time.Since(start)
	rep.DiskAfter = diskBytes(dir)
	return rep, nil
}

// diskBytes is the size of the files under dir (0 for what cannot be read).
func diskBytes(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += info.Size()
		}
		return nil
	})
	return total
}

// gcSource is the node as the collector reads it.
type gcSource struct{ n *Node }

func (s gcSource) Blocks() blockstore.Blockstore { return s.n.net.lite.BlockStore() }
func (s gcSource) Tracker() *blockgc.Tracker     { return s.n.net.tracker }
func (s gcSource) Datastore() *blockgc.Datastore { return s.n.net.blockStore }

// Buckets reads the buckets instances of every database, the broken ones too (their
// buckets come back when they are repaired), straight from the event store: no read
// filter, no token. The key is the collection's prefix under a checked thread ID.
func (s gcSource) Buckets(ctx context.Context, fn func(db thread.ID, raw []byte) error) error {
	dbs, err := s.n.ListDBs(ctx)
	if err != nil {
		return err
	}
	ids := make([]thread.ID, 0, len(dbs))
	seen := map[thread.ID]bool{}
	for _, d := range dbs {
		ids = append(ids, d.ID)
		seen[d.ID] = true
	}
	for _, b := range s.n.BrokenDBs() {
		if !seen[b.ID] {
			ids = append(ids, b.ID)
			seen[b.ID] = true
		}
	}
	for _, id := range ids {
		if err := id.Validate(); err != nil {
			continue
		}
		prefix := instancesPrefix(id, bucketsCollection)
		q := dse.QueryExt{Query: query.Query{Prefix: strings.TrimSuffix(prefix, "/"), Orders: []query.Order{query.OrderByKey{}}}}
		for {
			page, err := s.n.readPage(ctx, id, bucketsCollection, prefix, q, 0, 0)
			if err != nil {
				return err
			}
			for _, in := range page.Instances {
				if err := fn(id, in.JSON); err != nil {
					return err
				}
			}
			if !page.More {
				break
			}
			q.SeekPrefix = prefix + page.Instances[len(page.Instances)-1].ID + "\x00"
		}
	}
	return nil
}

// Logs lists every log of every thread of the logstore, with the thread's service key;
// a thread whose keys or logs cannot be read is one log with Err.
func (s gcSource) Logs(ctx context.Context) ([]blockgc.Log, error) {
	ids, err := s.n.net.store.Threads()
	if err != nil {
		return nil, err
	}
	var out []blockgc.Log
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info, err := s.n.net.store.GetThread(id)
		if err != nil {
			out = append(out, blockgc.Log{Thread: id, Err: fmt.Errorf("read the thread: %w", err)})
			continue
		}
		sk := info.Key.Service()
		for _, lg := range info.Logs {
			l := blockgc.Log{Thread: id, ID: lg.ID, Head: lg.Head.ID, ServiceKey: sk, ReadKey: info.Key.Read()}
			if sk == nil && lg.Head.ID.Defined() {
				l.Err = errors.New("no service key: its records cannot be read")
			}
			out = append(out, l)
		}
	}
	return out, nil
}
