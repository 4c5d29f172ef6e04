package node

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p-core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
)

// pullSet tracks the db manager's pulls in flight, by thread. go-threads' NewDBFromAddr
// starts a pull of its own as it returns; a database deleted while that pull still waits
// for the peer's records would get them afterwards: go-threads then stores the log heads
// of a thread that is gone, and a later join of it inherits them and skips every record
// up to them (the join pulls nothing, the database stays empty). DeleteThread cancels
// those pulls and waits for them to return first.
type pullSet struct {
	mu   sync.Mutex
	byID map[thread.ID]*threadPulls
	// turns holds a token for each thread being pulled (lock).
	turns sync.Map // thread.ID -> chan struct{}
}

// lock waits for the thread's turn to pull, or for ctx.
func (s *pullSet) lock(ctx context.Context, id thread.ID) (unlock func(), err error) {
	c, _ := s.turns.LoadOrStore(id, make(chan struct{}, 1))
	turn := c.(chan struct{})
	select {
	case turn <- struct{}{}:
		return func() { <-turn }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type threadPulls struct {
	n       int
	cancels map[int]context.CancelFunc
	next    int
	idle    chan struct{} // closed when n drops to 0
}

func (s *pullSet) start(ctx context.Context, id thread.ID) (context.Context, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[thread.ID]*threadPulls{}
	}
	p := s.byID[id]
	if p == nil {
		p = &threadPulls{cancels: map[int]context.CancelFunc{}, idle: make(chan struct{})}
		s.byID[id] = p
	}
	ctx, cancel := context.WithCancel(ctx)
	k := p.next
	p.next++
	p.n++
	p.cancels[k] = cancel
	return ctx, func() {
		cancel()
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(p.cancels, k)
		if p.n--; p.n == 0 {
			close(p.idle)
			delete(s.byID, id)
		}
	}
}

// stop cancels the pulls of id in flight and waits for them to return, or for ctx.
func (s *pullSet) stop(ctx context.Context, id thread.ID) error {
	s.mu.Lock()
	p := s.byID[id]
	if p == nil {
		s.mu.Unlock()
		return nil
	}
	for _, cancel := range p.cancels {
		cancel()
	}
	idle := p.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *guardedNet) PullThread(ctx context.Context, id thread.ID, opts ...net.ThreadOption) error {
	pctx, done := g.pulls.start(ctx, id)
	// One pull of a thread at a time: `db join` pulls as go-threads' NewDBFromAddr starts
	// its own pull, and both fetched and checked every record (twice the work on both
	// peers for a join of 10,000). The second waits, and then finds little to fetch.
	unlock, err := g.pulls.lock(pctx, id)
	if err != nil {
		done()
		return err
	}
	err = g.Net.PullThread(pctx, id, opts...)
	unlock()
	done()
	if err == nil {
		g.announce(ctx, id)
	}
	return err
}

func (g *guardedNet) DeleteThread(ctx context.Context, id thread.ID, opts ...net.ThreadOption) error {
	if nw, ok := g.Net.(*network); ok {
		nw.pushes.forget(id)
	}
	g.unannounced.Delete(id)
	if err := g.pulls.stop(ctx, id); err != nil {
		return err
	}
	g.pulls.turns.Delete(id)
	return g.Net.DeleteThread(ctx, id, opts...)
}

// putRecords hands pushed records to go-threads (pushes.go), as a pull in flight: a
// thread deleted meanwhile waits for it, as it waits for its pulls.
func (g *guardedNet) putRecords(ctx context.Context, id thread.ID, lid peer.ID, recs []net.Record, counter int64) error {
	nw, ok := g.Net.(*network)
	if !ok {
		return errors.New("not hubctl's network")
	}
	p, ok := nw.Net.(recordsPutter)
	if !ok {
		return errors.New("go-threads lacks hubctl's PutRecords patch")
	}
	ctx, done := g.pulls.start(ctx, id)
	defer done()
	return p.PutRecords(ctx, id, lid, recs, counter)
}

// pull pulls a thread from its peers (pushes.go: a gap in a log).
func (g *guardedNet) pull(ctx context.Context, id thread.ID) error { return g.PullThread(ctx, id) }

// AddThread adds a thread from a peer. Once a pull of it has succeeded (announce), the
// thread's peers are told of this node's own log.
func (g *guardedNet) AddThread(ctx context.Context, addr ma.Multiaddr, opts ...net.NewThreadOption) (thread.Info, error) {
	info, err := g.Net.AddThread(ctx, addr, opts...)
	if err == nil {
		g.unannounced.Store(info.ID, struct{}{})
	}
	return info, err
}

// announce tells the peers of a thread added here of this node's own log, after the
// first pull of it that succeeded. go-threads leaves that to the next exchange of edges
// (up to a pull interval and more later), and until then the peers do not push new
// records here: a database joined while its writers were busy caught up only by pulling,
// 21 s behind (bench/converge, "A knew B's log: no"). Not before a pull succeeded: a
// join whose first pull fails is undone (`hubctl db join`), and must leave nothing on the
// peer either.
func (g *guardedNet) announce(ctx context.Context, id thread.ID) {
	if _, ok := g.unannounced.LoadAndDelete(id); !ok {
		return
	}
	nw, ok := g.Net.(*network)
	if !ok {
		return
	}
	info, err := g.Net.GetThread(ctx, id)
	if err != nil {
		return
	}
	nw.announceLogs(ctx, info)
}

// pullOnOpen pulls every thread once, two at a time, as a daemon's node opens, and
// returns what stops it. go-threads' first pulls wait for its exchange of edges, which
// starts 1 s after the node, takes a pull cycle to queue each thread, and batches the
// threads of a peer for up to 5 s more: a daemon stopped while its peers wrote began to
// catch up about 10 s after it came back.
func (g *guardedNet) pullOnOpen(threads []thread.ID) io.Closer {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	work := make(chan thread.ID)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				pctx, cancel := context.WithTimeout(ctx, pullOnOpenTimeout)
				if err := g.PullThread(pctx, id); err != nil && ctx.Err() == nil {
					replLog.Debugf("pulling thread %s as the node opened: %v", id, err)
				}
				cancel()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		for _, id := range threads {
			select {
			case work <- id:
			case <-ctx.Done():
				return
			}
		}
	}()
	return closerFunc(func() {
		cancel()
		done := make(chan struct{})
		go func() {
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeWait): // a pull go-threads runs under its own context
		}
	})
}

// pullOnOpenTimeout bounds each of pullOnOpen's pulls.
const pullOnOpenTimeout = time.Minute
