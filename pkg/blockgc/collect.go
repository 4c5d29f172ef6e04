package blockgc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	blockservice "github.com/ipfs/go-blockservice"
	"github.com/ipfs/go-cid"
	blockstore "github.com/ipfs/go-ipfs-blockstore"
	offline "github.com/ipfs/go-ipfs-exchange-offline"
	cbornode "github.com/ipfs/go-ipld-cbor"
	ipld "github.com/ipfs/go-ipld-format"
	merkledag "github.com/ipfs/go-merkledag"
	"github.com/libp2p/go-libp2p-core/peer"
	mh "github.com/multiformats/go-multihash"
	sym "github.com/textileio/crypto/symmetric"
	"github.com/textileio/go-threads/cbor"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/jsonpatcher"

	"github.com/hubctl/hubctl/pkg/buckets"
)

// Source is what a collection reads: a node's blocks, its tracker, its buckets and its
// thread logs (pkg/node implements it).
type Source interface {
	// Blocks is the blockstore, read and swept without the tracker seeing it.
	Blocks() blockstore.Blockstore
	Tracker() *Tracker
	// Buckets calls fn with every instance of every buckets collection of every
	// database the node holds (those that failed to load too), straight from the store.
	Buckets(ctx context.Context, fn func(db thread.ID, raw []byte) error) error
	// Logs lists every log of every thread the node's logstore holds.
	Logs(ctx context.Context) ([]Log, error)
	// Datastore is the datastore under Blocks (WrapDatastore), which a sweep lists and
	// deletes in.
	Datastore() *Datastore
}

// Log is one thread log: its head, and the thread's service key (nil when the node has
// none: its records cannot be read).
type Log struct {
	Thread     thread.ID
	ID         peer.ID
	Head       cid.Cid
	ServiceKey *sym.Key
	// ReadKey reads the records' bodies (nil: a thread kept for others).
	ReadKey *sym.Key
	// Err says the log cannot be walked (its thread could not be read).
	Err error
}

// Report is what a collection found and did.
type Report struct {
	// Blocks and bytes of the blockstore when the sweep ran, and of them those kept and
	// those deleted.
	Scanned        int   `json:"scanned"`
	ScannedBytes   int64 `json:"scannedBytes"`
	Kept           int   `json:"kept"`
	KeptBytes      int64 `json:"keptBytes"`
	Reclaimed      int   `json:"reclaimed"`
	ReclaimedBytes int64 `json:"reclaimedBytes"`
	// Protected are the blocks kept only for writes in flight or recent puts (the grace
	// period): no root or record reaches them yet.
	Protected int `json:"protected"`

	Buckets int `json:"buckets"`
	// BadBuckets are instances skipped: no JSON, or a path that is not /ipfs/<cid>.
	BadBuckets int `json:"badBuckets"`
	// Missing are blocks reachable from a root or a record that this node does not
	// hold (never fetched): a bucket whose blocks are on a peer, a hostile path.
	Missing int `json:"missing"`
	// PartialBuckets are buckets whose tree is not all here (a root written on a peer):
	// the trees of their earlier roots are kept too.
	PartialBuckets int `json:"partialBuckets"`
	// Undecodable are blocks whose links could not be read (kept, not followed).
	Undecodable int `json:"undecodable"`

	Logs           int `json:"logs"`
	Records        int `json:"records"`
	IncompleteLogs int `json:"incompleteLogs"`
	// ThreadBlocksKept says no dag-cbor block was deleted in this run: the walk of some
	// log was incomplete (a missing record or key), or the tracker overflowed.
	ThreadBlocksKept bool `json:"threadBlocksKept"`
	// Problems describe the first few things skipped.
	Problems []string `json:"problems,omitempty"`

	// DiskBefore and DiskAfter are the block store's bytes on disk (after badger's
	// value-log collection, which runs after the sweep).
	DiskBefore int64         `json:"diskBefore"`
	DiskAfter  int64         `json:"diskAfter"`
	Duration   time.Duration `json:"duration"`
}

const maxProblems = 10

func (r *Report) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Hooks let tests stop a collection between its steps.
type Hooks struct {
	// AfterMark runs once the mark is done, before the sweep.
	AfterMark func()
}

// Collect marks every block reachable from a bucket root or a thread record of src, and
// deletes every other block the tracker does not protect.
func Collect(ctx context.Context, src Source, hooks Hooks) (Report, error) {
	start := time.Now()
	run := src.Tracker().Begin()
	defer run.End()
	bs := src.Blocks()
	m := &marker{
		dag:    merkledag.NewDAGService(blockservice.New(bs, offline.Exchange(bs))),
		bs:     bs,
		marks:  map[string]struct{}{},
		walked: map[string]struct{}{},
	}
	var rep Report
	keepBuckets := false
	partial := map[thread.ID][]partialBucket{}
	err := src.Buckets(ctx, func(db thread.ID, raw []byte) error {
		rep.Buckets++
		var b struct {
			Key     string `json:"_id"`
			Path    string `json:"path"`
			LinkKey string `json:"key"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			rep.BadBuckets++
			rep.problem("db %s: an instance of buckets is not JSON: skipped", db)
			return nil
		}
		root, err := bucketRoot(b.Path)
		if err != nil {
			rep.BadBuckets++
			rep.problem("db %s bucket %q: %v: skipped", db, b.Key, err)
			return nil
		}
		var linkKey []byte
		if b.LinkKey != "" {
			if linkKey, err = base64.StdEncoding.DecodeString(b.LinkKey); err != nil {
				rep.BadBuckets++
				rep.problem("db %s bucket %q: its link key is not base64: its directories cannot be read: skipped", db, b.Key)
				return nil
			}
		}
		missing := rep.Missing
		if err := m.walk(ctx, root, linkKey, &rep); err != nil {
			return err
		}
		if rep.Missing > missing {
			rep.PartialBuckets++
			partial[db] = append(partial[db], partialBucket{key: b.Key, linkKey: linkKey})
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("mark the buckets' blocks: %w", err)
	}
	logs, err := src.Logs(ctx)
	if err != nil {
		return rep, fmt.Errorf("list the thread logs: %w", err)
	}
	if len(partial) > 0 {
		// A bucket whose tree is not all here (a database joined from a peer: a root
		// written there, not yet read here) may link, under what is missing, blocks
		// that only this node holds: those of its earlier roots. They are kept.
		if err := m.walkHistory(ctx, logs, partial, &rep); err != nil {
			return rep, err
		}
	}
	keepThreads := false
	for _, lg := range logs {
		rep.Logs++
		if err := m.walkLog(ctx, lg, &rep); err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			keepThreads = true
			rep.IncompleteLogs++
			rep.problem("thread %s log %s: %v", lg.Thread, lg.ID, err)
		}
	}
	// What writes in flight put or read, and what they link to (unchanged subtrees of a
	// directory a write made anew).
	before := len(m.marks)
	for _, c := range run.ProtectedNodes() {
		if err := m.walk(ctx, c, nil, &rep); err != nil {
			return rep, fmt.Errorf("mark the blocks of writes in flight: %w", err)
		}
	}
	rep.Protected = len(m.marks) - before // and those the sweep finds protected
	if run.Overflowed() {
		keepThreads, keepBuckets = true, true
		rep.problem("more blocks were put in the last %s than the collector tracks: nothing is deleted in this run; run it again later", src.Tracker().grace)
	}
	rep.ThreadBlocksKept = keepThreads
	if hooks.AfterMark != nil {
		hooks.AfterMark()
	}
	store := src.Datastore()
	if err := store.BeginDeletes(); err != nil {
		return rep, err
	}
	err = sweep(ctx, bs, store, run, m.marks, keepThreads, keepBuckets, &rep)
	if err := errors.Join(err, store.EndDeletes()); err != nil {
		return rep, err
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

func bucketRoot(p string) (cid.Cid, error) {
	s, ok := strings.CutPrefix(p, "/ipfs/")
	if !ok {
		return cid.Undef, fmt.Errorf("path %.80q is not /ipfs/<cid>", p)
	}
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("path %.80q: %v", p, err)
	}
	return c, nil
}

type marker struct {
	dag   ipld.DAGService
	bs    blockstore.Blockstore
	marks map[string]struct{}
	// walked are the nodes whose links have been followed, by multihash and, for a
	// private bucket's, the link key too: the same node walked without its key shows
	// no links.
	walked map[string]struct{}
}

func (m *marker) mark(c cid.Cid) { m.marks[string(c.Hash())] = struct{}{} }

// walk marks root and every block reachable from it that this node holds, reading
// only local blocks; linkKey is a private bucket's.
func (m *marker) walk(ctx context.Context, root cid.Cid, linkKey []byte, rep *Report) error {
	stack := []cid.Cid{root}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		m.mark(c)
		if c.Type() == cid.Raw || c.Prefix().MhType == mh.IDENTITY {
			continue // no links, and nothing to read
		}
		w := string(c.Hash())
		if linkKey != nil {
			w += "\x00" + string(linkKey)
		}
		if _, ok := m.walked[w]; ok {
			continue
		}
		m.walked[w] = struct{}{}
		// Read, then decode: a store that fails to read ends the run (what it would
		// not read may be live), while a block that does not decode as its CID says
		// (any block can be named with any codec: a hostile path) is kept, unfollowed.
		blk, err := m.bs.Get(c)
		if errors.Is(err, blockstore.ErrNotFound) {
			rep.Missing++
			continue
		}
		if err != nil {
			return fmt.Errorf("read block %s: %w", c, err)
		}
		n, err := ipld.Decode(blk)
		if err != nil {
			rep.Undecodable++
			rep.problem("block %s: %v: kept, its links not followed", c, err)
			continue
		}
		links := n.Links()
		if linkKey != nil {
			// A private bucket's directories keep their links in their ciphertext.
			if links, err = buckets.NodeLinks(n, linkKey); err != nil {
				rep.Undecodable++
				rep.problem("block %s of a private bucket: %v: kept, its links not followed", c, err)
				continue
			}
		}
		for _, l := range links {
			stack = append(stack, l.Cid)
		}
	}
	return nil
}

// partialBucket is a bucket whose current tree is not all on this node.
type partialBucket struct {
	key     string
	linkKey []byte
}

// walkHistory marks the earlier roots of the partial buckets, as the records of their
// databases' logs wrote them (the paths in the buckets collection's patches, read with
// the thread's read key), and what this node holds of their trees. A log it cannot read
// so leaves the bucket's older blocks to be collected: reported.
func (m *marker) walkHistory(ctx context.Context, logs []Log, partial map[thread.ID][]partialBucket, rep *Report) error {
	for _, lg := range logs {
		buckets, ok := partial[lg.Thread]
		if !ok || !lg.Head.Defined() || lg.Err != nil {
			continue
		}
		if lg.ReadKey == nil || lg.ServiceKey == nil {
			rep.problem("thread %s log %s: no read key: the earlier roots of its buckets are not kept", lg.Thread, lg.ID)
			continue
		}
		keys := map[string][]byte{}
		for _, b := range buckets {
			keys[b.key] = b.linkKey
		}
		for cur := lg.Head; cur.Defined(); {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := cbor.GetRecord(ctx, m.dag, cur, lg.ServiceKey)
			if err != nil {
				break // walkLog reports it
			}
			if ev, err := cbor.EventFromRecord(ctx, m.dag, rec); err == nil {
				if body, err := ev.GetBody(ctx, m.dag, lg.ReadKey); err == nil {
					for _, root := range bucketPaths(body.RawData(), keys) {
						if err := m.walk(ctx, root.c, root.linkKey, rep); err != nil {
							return err
						}
					}
				}
			}
			cur = rec.PrevID()
		}
	}
	return nil
}

type historicRoot struct {
	c       cid.Cid
	linkKey []byte
}

// bucketPaths are the roots that the buckets-collection patches of a record's body
// (go-threads' jsonpatcher events) give to the buckets of keys.
func bucketPaths(body []byte, keys map[string][]byte) []historicRoot {
	events, err := jsonpatcher.New().EventsFromBytes(body)
	if err != nil {
		return nil
	}
	var out []historicRoot
	for _, e := range events {
		if e.Collection() != bucketsCollection {
			continue
		}
		linkKey, ok := keys[string(e.InstanceID())]
		if !ok {
			continue
		}
		data, err := e.Marshal()
		if err != nil {
			continue
		}
		var ev struct {
			Patch struct {
				JSONPatch struct {
					Path string `json:"path"`
				} `json:"json_patch"`
			} `json:"patch"`
		}
		if json.Unmarshal(data, &ev) != nil || ev.Patch.JSONPatch.Path == "" {
			continue
		}
		if c, err := bucketRoot(ev.Patch.JSONPatch.Path); err == nil {
			out = append(out, historicRoot{c: c, linkKey: linkKey})
		}
	}
	return out
}

// bucketsCollection is the Hub's buckets collection.
const bucketsCollection = "buckets"

// walkLog marks every record of a log from its head back, with each record's event,
// header and body; an error says the walk is incomplete.
func (m *marker) walkLog(ctx context.Context, lg Log, rep *Report) error {
	if lg.Err != nil {
		return lg.Err
	}
	cur := lg.Head
	if !cur.Defined() {
		return nil // an empty log
	}
	if lg.ServiceKey == nil {
		return errors.New("no service key: its records cannot be read")
	}
	for cur.Defined() {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Its own key space: a bucket path naming a record (a hostile instance) has
		// walked it as a node, which must not end this walk there.
		w := "log\x00" + string(cur.Hash())
		if _, ok := m.walked[w]; ok {
			return nil
		}
		m.walked[w] = struct{}{}
		m.mark(cur)
		rec, err := cbor.GetRecord(ctx, m.dag, cur, lg.ServiceKey)
		if err != nil {
			return fmt.Errorf("record %s: %w", cur, err)
		}
		rep.Records++
		m.mark(rec.BlockID())
		ev, err := cbor.GetEvent(ctx, m.dag, rec.BlockID())
		if err != nil {
			return fmt.Errorf("event %s of record %s: %w", rec.BlockID(), cur, err)
		}
		m.mark(ev.HeaderID())
		m.mark(ev.BodyID())
		cur = rec.PrevID()
	}
	return nil
}

// sweep deletes every block neither marked nor protected; with keepThreads it keeps
// every block that may be dag-cbor (it decodes as CBOR), and with keepBuckets every
// other block.
func sweep(ctx context.Context, bs blockstore.Blockstore, store *Datastore, run *Run, marks map[string]struct{}, keepThreads, keepBuckets bool, rep *Report) error {
	return store.listBlocks(ctx, func(c cid.Cid, size int) error {
		rep.Scanned++
		rep.ScannedBytes += int64(size)
		h := c.Hash()
		keep := false
		if _, ok := marks[string(h)]; ok {
			keep = true
		} else if keepThreads || keepBuckets {
			cborish, err := mayBeCBOR(bs, c)
			if err != nil {
				return err
			}
			keep = (cborish && keepThreads) || (!cborish && keepBuckets)
		}
		if keep {
			rep.Kept++
			rep.KeptBytes += int64(size)
			return nil
		}
		deleted, done, err := run.DeleteUnlessProtected(h, func() error { return store.deleteBlock(h) })
		if err != nil {
			return fmt.Errorf("delete block %s: %w", c, err)
		}
		if deleted {
			// The caches forget it (the datastore's delete is queued already).
			err := bs.DeleteBlock(c)
			done()
			if err != nil && !errors.Is(err, blockstore.ErrNotFound) {
				return fmt.Errorf("delete block %s: %w", c, err)
			}
		}
		if !deleted {
			rep.Protected++
			rep.Kept++
			rep.KeptBytes += int64(size)
			return nil
		}
		rep.Reclaimed++
		rep.ReclaimedBytes += int64(size)
		return nil
	})
}

// mayBeCBOR reports whether block c decodes as one CBOR item, as every block go-threads
// stores does (records, events, headers and bodies); a raw leaf seldom does, and one
// that does is kept, which is safe.
func mayBeCBOR(bs blockstore.Blockstore, c cid.Cid) (bool, error) {
	b, err := bs.Get(c)
	if errors.Is(err, blockstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read block %s: %w", c, err)
	}
	_, err = cbornode.Decode(b.RawData(), mh.SHA2_256, -1)
	return err == nil, nil
}
