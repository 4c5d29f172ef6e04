// Package blockgc reclaims the blocks of a node's blockstore that no bucket and no thread
// needs any more: a mark from every current bucket root and every thread record, then a
// sweep of everything else, safe while writes run (Tracker).
package blockgc

import (
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// DefaultGrace is how long a block put outside any write (a peer's records, a block
// fetched over bitswap) is kept whatever the mark says: the writer may not yet have made
// it reachable (go-threads stores a peer's records, then moves the log's head).
const DefaultGrace = 2 * time.Minute

// maxHeldFactor times the bound on recent blocks bounds those held by writes in flight.
const maxHeldFactor = 4

// DefaultMaxRecent bounds the blocks the tracker remembers outside writes. Past it the
// oldest are forgotten, and a collection whose window they were in deletes nothing
// (Run.Protected): memory stays bounded, safety too.
const DefaultMaxRecent = 100_000

// Tracker sees every block put (and every block a write reads) and tells a collection
// which ones it must keep although its mark did not reach them:
//
//   - a block put, or read by a write, while a hold is open (a write in flight: it may
//     link the block into a root it has not saved yet) is held until every hold that was
//     open when it was put has ended;
//   - then, and for blocks put outside any hold, it stays protected for the grace period,
//     counted back from the start of a collection.
//
// A collection is itself a hold (Begin), so a block put while it runs stays protected
// until it ends, and it checks and deletes each block under the tracker's lock
// (Run.DeleteUnlessProtected): a put either comes before the check (the block is kept)
// or after the delete (the put writes it again, WaitDeleted).
type Tracker struct {
	mu    sync.Mutex
	now   func() time.Time
	grace time.Duration
	max   int

	seq uint64
	// holds are the open holds by their start sequence; writes counts those that are
	// writes (not collections): only they record reads.
	holds  map[uint64]bool
	writes int
	// held are the blocks recorded while holds were open, by key, with the sequence
	// of their last record; heldQ has them in sequence order (stale entries skipped).
	held  map[string]heldEntry
	heldQ []seqKey
	// recent are the blocks recorded outside holds, or released from them, with the
	// time; recentQ in time order.
	recent      map[string]recentEntry
	recentQ     []timeKey
	lastEvicted time.Time
	// runs are the open collections' cutoffs: recent blocks after them are kept for them.
	runs map[uint64]time.Time
	// heldOverflow is the sequence at which held blocks past the bound were forgotten
	// (0: none): until every hold open then has ended, collections delete nothing.
	heldOverflow uint64
	// deleting are the blocks a collection has deleted whose caches have not yet
	// forgotten them (closed when they have); gone those done, until the collections end.
	deleting map[string]chan struct{}
	gone     map[string]struct{}

	hook func(mh.Multihash)
	// onWait runs as WaitDeleted starts waiting (tests).
	onWait func()
}

// heldEntry and recentEntry keep the CID a block was recorded with when it was a node
// with links (a DAG's add or read), for the mark to follow them (Run.ProtectedNodes).
type heldEntry struct {
	seq uint64
	c   cid.Cid
}

type recentEntry struct {
	at time.Time
	c  cid.Cid
}

type seqKey struct {
	key string
	seq uint64
}

type timeKey struct {
	key string
	at  time.Time
}

// NewTracker keeps blocks put outside writes for grace (DefaultGrace when negative) and
// remembers at most maxRecent of them (DefaultMaxRecent when 0 or less).
func NewTracker(grace time.Duration, maxRecent int) *Tracker {
	if grace < 0 {
		grace = DefaultGrace
	}
	if maxRecent <= 0 {
		maxRecent = DefaultMaxRecent
	}
	return &Tracker{
		now: time.Now, grace: grace, max: maxRecent,
		holds: map[uint64]bool{}, held: map[string]heldEntry{}, recent: map[string]recentEntry{},
		runs: map[uint64]time.Time{}, deleting: map[string]chan struct{}{}, gone: map[string]struct{}{},
	}
}

// SetGrace changes the grace period (tests set none, so that a collection takes every
// block not reachable and not held).
func (t *Tracker) SetGrace(grace time.Duration) {
	t.mu.Lock()
	t.grace = grace
	t.mu.Unlock()
}

// SetRecordHook calls f (outside the tracker's lock) after each block recorded: for
// tests, which wait on it instead of sleeping.
func (t *Tracker) SetRecordHook(f func(mh.Multihash)) {
	t.mu.Lock()
	t.hook = f
	t.mu.Unlock()
}

// Hold marks a write in flight until release is called (more than once is harmless):
// what it puts or reads meanwhile is kept by any collection.
func (t *Tracker) Hold() (release func()) {
	t.mu.Lock()
	t.seq++
	start := t.seq
	t.holds[start] = true
	t.writes++
	t.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { t.release(start, true) }) }
}

// Put records a block being stored, by its multihash (the blockstore's key).
func (t *Tracker) Put(h mh.Multihash) { t.record(h, cid.Undef, false) }

// PutNode records a node being stored, with its CID: the mark follows its links.
func (t *Tracker) PutNode(c cid.Cid) { t.record(c.Hash(), c, false) }

// ReadNode records a node read: only while a write is in flight, since a write may link
// a node it read (a CID it was given) into its new root without storing it again.
func (t *Tracker) ReadNode(c cid.Cid) { t.record(c.Hash(), c, true) }

func (t *Tracker) record(h mh.Multihash, c cid.Cid, read bool) {
	key := string(h)
	if c.Defined() && c.Type() == cid.Raw {
		c = cid.Undef // no links to follow
	}
	t.mu.Lock()
	if read && t.writes == 0 {
		t.mu.Unlock()
		return
	}
	t.seq++
	if len(t.holds) > 0 {
		if e, ok := t.held[key]; ok && !c.Defined() {
			c = e.c
		} else if r, ok := t.recent[key]; ok && !c.Defined() {
			c = r.c
		}
		t.held[key] = heldEntry{seq: t.seq, c: c}
		t.heldQ = append(t.heldQ, seqKey{key: key, seq: t.seq})
		if len(t.heldQ) > maxHeldFactor*t.max {
			// A write that never ends (a stream kept open) must not grow this for ever:
			// forget the oldest, and let no collection delete until it ends.
			t.heldOverflow = t.seq
			drop := len(t.heldQ) / 2
			for _, e := range t.heldQ[:drop] {
				if t.held[e.key].seq == e.seq {
					delete(t.held, e.key)
				}
			}
			t.heldQ = append(t.heldQ[:0:0], t.heldQ[drop:]...)
		}
	} else {
		if r, ok := t.recent[key]; ok && !c.Defined() {
			c = r.c
		}
		t.addRecent(key, t.now(), c)
	}
	hook := t.hook
	t.mu.Unlock()
	if hook != nil {
		hook(h)
	}
}

// addRecent records key at at, forgetting what is older than every window still needed
// and, past the bound, the oldest. The caller holds mu.
func (t *Tracker) addRecent(key string, at time.Time, c cid.Cid) {
	t.recent[key] = recentEntry{at: at, c: c}
	t.recentQ = append(t.recentQ, timeKey{key: key, at: at})
	cutoff := at.Add(-t.grace)
	for _, c := range t.runs {
		if c.Before(cutoff) {
			cutoff = c
		}
	}
	drop := 0
	for drop < len(t.recentQ) {
		e := t.recentQ[drop]
		if !e.at.Before(cutoff) && len(t.recent) <= t.max {
			break
		}
		if t.recent[e.key].at.Equal(e.at) {
			delete(t.recent, e.key)
			if !e.at.Before(cutoff) && e.at.After(t.lastEvicted) {
				t.lastEvicted = e.at
			}
		}
		drop++
	}
	if drop > 0 {
		t.recentQ = append(t.recentQ[:0:0], t.recentQ[drop:]...)
	}
}

// release ends the hold that started at start, and lets go of the blocks no open hold
// needs any more: those recorded before the oldest hold still open began.
func (t *Tracker) release(start uint64, write bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.holds, start)
	if write {
		t.writes--
	}
	oldest := ^uint64(0)
	for s := range t.holds {
		if s < oldest {
			oldest = s
		}
	}
	if t.heldOverflow != 0 && t.heldOverflow < oldest {
		t.heldOverflow = 0 // every hold open at the overflow has ended
	}
	now := t.now()
	i := 0
	for ; i < len(t.heldQ) && t.heldQ[i].seq < oldest; i++ {
		e := t.heldQ[i]
		if h := t.held[e.key]; h.seq == e.seq {
			delete(t.held, e.key)
			t.addRecent(e.key, now, h.c)
		}
	}
	if i > 0 {
		t.heldQ = append(t.heldQ[:0:0], t.heldQ[i:]...)
	}
}

// Run is one collection's view of the tracker (Begin).
type Run struct {
	t      *Tracker
	start  uint64
	cutoff time.Time
}

// Begin starts a collection: it is a hold until End, and keeps what was recorded since
// the grace period before now.
func (t *Tracker) Begin() *Run {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	r := &Run{t: t, start: t.seq, cutoff: t.now().Add(-t.grace)}
	t.holds[r.start] = true
	t.runs[r.start] = r.cutoff
	return r
}

// End ends the collection.
func (r *Run) End() {
	r.t.mu.Lock()
	delete(r.t.runs, r.start)
	if len(r.t.runs) == 0 {
		r.t.gone = map[string]struct{}{}
	}
	r.t.mu.Unlock()
	r.t.release(r.start, false)
}

// protected reports whether the collection must keep key whatever its mark says. The
// caller holds mu.
func (r *Run) protected(key string) bool {
	if _, ok := r.t.held[key]; ok {
		return true
	}
	if e, ok := r.t.recent[key]; ok && !e.at.Before(r.cutoff) {
		return true
	}
	// Forgotten past the bound within this window, or while a write still open held
	// them: anything may have been among them.
	return !r.t.lastEvicted.Before(r.cutoff) || r.t.heldOverflow != 0
}

// Protected reports whether the collection must keep the block.
func (r *Run) Protected(h mh.Multihash) bool {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	return r.protected(string(h))
}

// Overflowed reports whether the tracker forgot blocks within this collection's window:
// it then deletes nothing.
func (r *Run) Overflowed() bool {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	return !r.t.lastEvicted.Before(r.cutoff) || r.t.heldOverflow != 0
}

// ProtectedNodes lists the nodes with links the collection must keep now, for its mark
// to follow them: a write's new directory links blocks it did not store again.
func (r *Run) ProtectedNodes() []cid.Cid {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	var out []cid.Cid
	for _, e := range r.t.held {
		if e.c.Defined() {
			out = append(out, e.c)
		}
	}
	for _, e := range r.t.recent {
		if e.c.Defined() && !e.at.Before(r.cutoff) {
			out = append(out, e.c)
		}
	}
	return out
}

// DeleteUnlessProtected calls del unless the block is protected, under the tracker's
// lock, so that no record slips between the check and the delete: del deletes in the
// datastore, under the blockstore's caches. The caller then has the caches forget the
// block (its DeleteBlock), without the tracker's lock (the caches call the datastore,
// and so the tracker, under locks of their own), and calls done. Meanwhile a write
// recording the block waits for done (WaitDeleted) and stores it again: its own put may
// have stopped at a cache still saying the block is there.
func (r *Run) DeleteUnlessProtected(h mh.Multihash, del func() error) (deleted bool, done func(), err error) {
	key := string(h)
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	if r.protected(key) {
		return false, nil, nil
	}
	if err := del(); err != nil {
		return false, nil, err
	}
	ch := make(chan struct{})
	r.t.deleting[key] = ch
	var once sync.Once
	return true, func() {
		once.Do(func() {
			r.t.mu.Lock()
			delete(r.t.deleting, key)
			r.t.gone[key] = struct{}{}
			r.t.mu.Unlock()
			close(ch)
		})
	}, nil
}

// WaitDeleted reports whether a collection running now has deleted the block, waiting
// until the caches have forgotten it: a write that recorded the block stores it again.
func (t *Tracker) WaitDeleted(h mh.Multihash) bool {
	key := string(h)
	t.mu.Lock()
	ch, deleting := t.deleting[key]
	_, gone := t.gone[key]
	t.mu.Unlock()
	if deleting {
		if t.onWait != nil {
			t.onWait()
		}
		<-ch
		return true
	}
	return gone
}
