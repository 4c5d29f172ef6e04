package hubauth

import (
	"context"
	"sync"
	"time"
)

// KeyChanges is implemented by key lookups that can tell when their keys change, as
// *Keyring does. With one, the Guard ends the open streams of a key as soon as a lookup no
// longer finds it (revoked or removed); a lookup without it (a test's map, say) still
// refuses new calls, but open streams run on.
type KeyChanges interface {
	// Changes returns a channel that is closed at the next change of the keys.
	Changes() <-chan struct{}
}

// liveStreams are the open streams of each API key. One watcher goroutine per Guard runs
// while there are any: at each change of the keys it looks up every key that has streams
// and ends those of a key that is gone.
type liveStreams struct {
	mu    sync.Mutex
	byKey map[string]map[*liveStream]struct{}
	stop  chan struct{} // closed when the last stream ends; nil while no watcher runs
}

type liveStream struct {
	key    string
	cancel context.CancelCauseFunc
}

// track makes the context a stream's handler runs with: it ends with the status error
// the stream must end with when the caller's key stops being valid (errKeyNotFound, the
// Hub's answer for a revoked key) or its token expires (errTokenExpired). done must be
// called when the handler returns.
func (g *Guard) track(ctx context.Context, c Caller) (_ context.Context, done func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if !c.TokenExpires.IsZero() {
		timer = time.AfterFunc(c.TokenExpires.Sub(g.now()), func() { cancel(errTokenExpired) })
	}
	var ls *liveStream
	if c.Key != nil && g.Checker != nil {
		if changes, ok := g.Checker.Keys.(KeyChanges); ok {
			ls = &liveStream{key: c.Key.Key, cancel: cancel}
			g.streams.add(ls, g.Checker.Keys, changes)
			// A revocation loaded between the key check and add was missed by the
			// watcher, which did not know this stream yet: look again.
			if !keyValid(g.Checker.Keys, ls.key) {
				cancel(errKeyNotFound)
			}
		}
	}
	return ctx, func() {
		if timer != nil {
			timer.Stop()
		}
		if ls != nil {
			g.streams.remove(ls)
		}
		cancel(context.Canceled)
	}
}

// endedBy is the status error a tracked stream was ended with, or nil.
func endedBy(ctx context.Context) error {
	switch err := context.Cause(ctx); err {
	case errKeyNotFound, errTokenExpired:
		return err
	}
	return nil
}

func keyValid(keys KeyLookup, key string) bool {
	k, _, ok := keys.Lookup(key)
	return ok && k.Valid()
}

func (s *liveStreams) add(ls *liveStream, keys KeyLookup, changes KeyChanges) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKey == nil {
		s.byKey = map[string]map[*liveStream]struct{}{}
	}
	set := s.byKey[ls.key]
	if set == nil {
		set = map[*liveStream]struct{}{}
		s.byKey[ls.key] = set
	}
	set[ls] = struct{}{}
	if s.stop == nil {
		s.stop = make(chan struct{})
		go s.watch(keys, changes, s.stop)
	}
}

func (s *liveStreams) remove(ls *liveStream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.byKey[ls.key]
	delete(set, ls)
	if len(set) == 0 {
		delete(s.byKey, ls.key)
	}
	if len(s.byKey) == 0 && s.stop != nil {
		close(s.stop)
		s.stop = nil
	}
}

// watch ends the streams of keys that are no longer valid, at each change of the keys,
// until stop is closed. It takes the change channel before it looks the keys up, so a
// change made during a round is seen by the next one.
func (s *liveStreams) watch(keys KeyLookup, changes KeyChanges, stop chan struct{}) {
	for {
		changed := changes.Changes()
		s.mu.Lock()
		open := make([]string, 0, len(s.byKey))
		for k := range s.byKey {
			open = append(open, k)
		}
		s.mu.Unlock()
		for _, k := range open {
			if !keyValid(keys, k) {
				s.end(k)
			}
		}
		select {
		case <-changed:
		case <-stop:
			return
		}
	}
}

// end ends every open stream of key.
func (s *liveStreams) end(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ls := range s.byKey[key] {
		ls.cancel(errKeyNotFound)
	}
}
