package node

import (
	"context"
	"sync"

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
	ctx, done := g.pulls.start(ctx, id)
	defer done()
	return g.Net.PullThread(ctx, id, opts...)
}

func (g *guardedNet) DeleteThread(ctx context.Context, id thread.ID, opts ...net.ThreadOption) error {
	if err := g.pulls.stop(ctx, id); err != nil {
		return err
	}
	return g.Net.DeleteThread(ctx, id, opts...)
}
