package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/textileio/go-threads/core/thread"
)

// A delete cancels the pulls of its thread in flight and returns only once they have
// returned: a pull that went on would store the log heads of a thread that is gone.
func TestPullSetStopCancelsAndWaits(t *testing.T) {
	var s pullSet
	id, other := thread.NewIDV1(thread.Raw, 32), thread.NewIDV1(thread.Raw, 32)
	ctx1, done1 := s.start(context.Background(), id)
	ctx2, done2 := s.start(context.Background(), id)
	ctxOther, doneOther := s.start(context.Background(), other)
	defer doneOther()

	stopped := make(chan error, 1)
	go func() { stopped <- s.stop(context.Background(), id) }()
	for _, ctx := range []context.Context{ctx1, ctx2} {
		select {
		case <-ctx.Done():
		case <-time.After(time.Minute):
			t.Fatal("stop did not cancel a pull of its thread")
		}
	}
	done1()
	select {
	case err := <-stopped:
		t.Fatalf("stop returned (%v) while a pull was still running", err)
	default:
	}
	done2()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("stop did not return once the pulls had")
	}
	if ctxOther.Err() != nil {
		t.Fatal("stop cancelled a pull of another thread")
	}
	// Nothing in flight: nothing to wait for; and the thread's entry is gone.
	if err := s.stop(context.Background(), id); err != nil {
		t.Fatalf("stop with no pulls: %v", err)
	}
	if _, ok := s.byID[id]; ok {
		t.Fatal("the ended pulls' entry is kept")
	}
}

// A pull that does not return holds a delete only as long as the delete's context.
func TestPullSetStopIsBounded(t *testing.T) {
	var s pullSet
	id := thread.NewIDV1(thread.Raw, 32)
	_, done := s.start(context.Background(), id)
	defer done()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.stop(ctx, id); !errors.Is(err, context.Canceled) {
		t.Fatalf("stop = %v, want context.Canceled", err)
	}
}
