package blockgc

import (
	"context"
	"fmt"
	"testing"
	"time"

	blockservice "github.com/ipfs/go-blockservice"
	offline "github.com/ipfs/go-ipfs-exchange-offline"
	merkledag "github.com/ipfs/go-merkledag"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	blockstore "github.com/ipfs/go-ipfs-blockstore"
	mh "github.com/multiformats/go-multihash"
)

func hashOf(t *testing.T, s string) mh.Multihash {
	t.Helper()
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fakeClock is a tracker clock the test moves.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func newTestTracker(grace time.Duration, max int) (*Tracker, *fakeClock) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	t := NewTracker(grace, max)
	t.now = clock.Now
	return t, clock
}

// A block put during a write stays protected while the write is open, for a collection
// that began before or after the put, and after the write ends for a collection that
// was running then; a block put outside writes is protected for the grace period only.
func TestTrackerHolds(t *testing.T) {
	tr, clock := newTestTracker(time.Minute, 0)
	inWrite, outside := hashOf(t, "in write"), hashOf(t, "outside")

	release := tr.Hold()
	tr.Put(inWrite)
	clock.now = clock.now.Add(time.Hour) // long past any grace
	run := tr.Begin()
	if !run.Protected(inWrite) {
		t.Fatal("a block of a write in flight is not protected")
	}
	release()
	if !run.Protected(inWrite) {
		t.Fatal("a block whose write ended during the collection is not protected for it")
	}
	run.End()

	clock.now = clock.now.Add(time.Hour)
	tr.Put(outside)
	run = tr.Begin()
	if !run.Protected(outside) {
		t.Fatal("a block put within the grace period is not protected")
	}
	run.End()
	clock.now = clock.now.Add(2 * time.Minute)
	run = tr.Begin()
	defer run.End()
	if run.Protected(outside) || run.Protected(inWrite) {
		t.Fatal("blocks stay protected past their write and the grace period")
	}
}

// Overlapping writes: a block put while two writes run stays held until both have ended
// (either may link it); a write that starts after the put does not hold it.
func TestTrackerOverlappingHolds(t *testing.T) {
	tr, clock := newTestTracker(0, 0)
	first := tr.Hold()
	second := tr.Hold()
	h := hashOf(t, "shared")
	tr.Put(h)
	later := tr.Hold()
	defer later()
	first()
	clock.now = clock.now.Add(time.Hour)
	run := tr.Begin()
	if !run.Protected(h) {
		t.Fatal("released while a write open at its put still runs")
	}
	run.End()
	second()
	clock.now = clock.now.Add(time.Hour)
	run = tr.Begin()
	defer run.End()
	if run.Protected(h) {
		t.Fatal("held by a write that began after it was put")
	}
}

// Past its bound the tracker forgets the oldest blocks, and a collection whose window
// they were in protects everything.
func TestTrackerOverflowProtectsAll(t *testing.T) {
	tr, _ := newTestTracker(time.Minute, 2)
	for _, s := range []string{"a", "b", "c"} {
		tr.Put(hashOf(t, s))
	}
	run := tr.Begin()
	defer run.End()
	if !run.Overflowed() || !run.Protected(hashOf(t, "never seen")) {
		t.Fatal("an overflowed tracker let a collection delete")
	}
}

// A blockstore's Put of a block it already holds stops at Has: the datastore wrapper
// records that check, so a write that relies on a block present as garbage keeps it.
// The check and the delete exclude each other: a put recorded after the delete finds
// no block and writes it.
func TestDatastoreRecordsHasOfPresentBlock(t *testing.T) {
	tr, clock := newTestTracker(0, 0)
	store := WrapDatastore(dssync.MutexWrap(ds.NewMapDatastore()), tr)
	bs := blockstore.NewBlockstore(store)
	b := blocks.NewBlock([]byte("garbage, then pushed again"))
	if err := bs.Put(b); err != nil {
		t.Fatal(err)
	}
	clock.now = clock.now.Add(time.Hour)
	release := tr.Hold()
	defer release()
	if err := bs.Put(b); err != nil { // stops at Has
		t.Fatal(err)
	}
	run := tr.Begin()
	defer run.End()
	deleted, _, err := run.DeleteUnlessProtected(b.Cid().Hash(), func() error { return bs.DeleteBlock(b.Cid()) })
	if err != nil || deleted {
		t.Fatalf("a block a write relies on was deleted (%v)", err)
	}
	if ok, _ := bs.Has(cid.NewCidV1(cid.Raw, b.Cid().Hash())); !ok {
		t.Fatal("block gone")
	}
}

// A write that never ends cannot grow the tracker for ever: past the bound its oldest
// blocks are forgotten, and until it ends no collection deletes anything.
func TestTrackerHeldOverflow(t *testing.T) {
	tr, clock := newTestTracker(0, 2)
	release := tr.Hold()
	for i := 0; i < 3*maxHeldFactor*2; i++ {
		tr.Put(hashOf(t, fmt.Sprint(i)))
	}
	if len(tr.heldQ) > maxHeldFactor*2 {
		t.Fatalf("held %d blocks, bound %d", len(tr.heldQ), maxHeldFactor*2)
	}
	run := tr.Begin()
	if !run.Protected(hashOf(t, "0")) {
		t.Fatal("a forgotten block of a write in flight is not protected")
	}
	run.End()
	release()
	clock.now = clock.now.Add(time.Hour)
	run = tr.Begin()
	defer run.End()
	if run.Overflowed() {
		t.Fatal("still overflowed after the write ended")
	}
}

// A sweep's deletes are batched; a block queued for deletion reads as deleted, and a
// put of it meanwhile is written after the delete, so it stays.
func TestDatastoreBatchedDeletes(t *testing.T) {
	tr, _ := newTestTracker(0, 0)
	store := WrapDatastore(dssync.MutexWrap(ds.NewMapDatastore()), tr)
	bs := blockstore.NewBlockstore(store)
	gone, again := blocks.NewBlock([]byte("gone")), blocks.NewBlock([]byte("pushed again"))
	for _, b := range []blocks.Block{gone, again} {
		if err := bs.Put(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.BeginDeletes(); err != nil {
		t.Fatal(err)
	}
	for _, b := range []blocks.Block{gone, again} {
		if err := bs.DeleteBlock(b.Cid()); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := bs.Has(again.Cid()); ok {
		t.Fatal("a block queued for deletion reads as present")
	}
	if err := bs.Put(again); err != nil {
		t.Fatal(err)
	}
	if err := store.EndDeletes(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := bs.Has(again.Cid()); !ok {
		t.Fatal("a block put while its delete was queued is gone")
	}
	if ok, _ := bs.Has(gone.Cid()); ok {
		t.Fatal("a queued delete was not committed")
	}
}

// A write that stores a block a collection has just deleted, while the blockstore's
// cache still says it is there (so the write's put stops at the cache), waits for the
// cache to forget it and stores it again.
func TestDAGStoresAgainWhatASweepDeleted(t *testing.T) {
	tr, clock := newTestTracker(0, 0)
	store := WrapDatastore(dssync.MutexWrap(ds.NewMapDatastore()), tr)
	cached, err := blockstore.CachedBlockstore(context.Background(), blockstore.NewBlockstore(store), blockstore.DefaultCacheOpts())
	if err != nil {
		t.Fatal(err)
	}
	dag := WrapDAG(merkledag.NewDAGService(blockservice.New(cached, offline.Exchange(cached))), tr)
	n := merkledag.NewRawNode([]byte("removed, then pushed again"))
	if err := dag.Add(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	clock.now = clock.now.Add(time.Hour)
	if err := store.BeginDeletes(); err != nil {
		t.Fatal(err)
	}
	run := tr.Begin()
	deleted, done, err := run.DeleteUnlessProtected(n.Cid().Hash(), func() error { return store.deleteBlock(n.Cid().Hash()) })
	if err != nil || !deleted {
		t.Fatalf("garbage not deleted: %v", err)
	}
	waiting := make(chan struct{})
	tr.onWait = func() { close(waiting) }
	added := make(chan error, 1)
	go func() {
		release := tr.Hold()
		defer release()
		added <- dag.Add(context.Background(), n) // stops at the cache, then waits
	}()
	<-waiting
	if err := cached.DeleteBlock(n.Cid()); err != nil {
		t.Fatal(err)
	}
	done()
	if err := <-added; err != nil {
		t.Fatal(err)
	}
	if err := store.EndDeletes(); err != nil {
		t.Fatal(err)
	}
	run.End()
	if ok, err := blockstore.NewBlockstore(store).Has(n.Cid()); err != nil || !ok {
		t.Fatalf("the block a write stored again is gone (%v)", err)
	}
}
