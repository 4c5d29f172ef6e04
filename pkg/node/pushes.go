package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p-core/peer"
	"github.com/textileio/go-threads/cbor"
	"github.com/textileio/go-threads/core/logstore"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	pb "github.com/textileio/go-threads/net/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// pushQueue applies the records peers push, in each log's order, without making the
// pusher wait.
//
// go-threads v1.1.5 handles a push inside the pusher's call: the record waits behind the
// thread's lock, and when the pushes of concurrent writers arrive out of order each one
// fills the gap before it by fetching records one at a time over bitswap. In a burst the
// calls waited past the pusher's 10 s timeout and the records were dropped, with no retry
// (7,909 of 10,000 in one run of bench/converge). Here a push whose record verifies is
// answered at once; the record waits, in memory and bounded, until the records before it
// have arrived, and each log's records then go to go-threads in runs, in order
// (net.PutRecords, patched), which applies a run in batches. A gap that stays open (a
// push lost on the way, or refused here because the queue was full) is filled by pulling
// the thread from its peers at once, not at the next periodic pull.
type pushQueue struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	store  logstore.Logstore
	limits pushLimits

	mu    sync.Mutex
	net   pushTarget // nil until the node's databases are up (attach)
	logs  map[logKey]*pendingLog
	bytes int
}

// pushTarget is where queued records go: go-threads' network, through the guard that
// tracks what is in flight per thread (guardedNet).
type pushTarget interface {
	putRecords(ctx context.Context, id thread.ID, lid peer.ID, recs []core.Record, counter int64) error
	pull(ctx context.Context, id thread.ID) error
}

type pushLimits struct {
	// maxBytes bounds the pushed records held, over all logs (their encoded size).
	maxBytes int
	// maxRun bounds the records handed to go-threads at once.
	maxRun int
	// gapWait is how long a gap may stay open before the thread is pulled.
	gapWait time.Duration
	// callTimeout bounds one hand-over or pull.
	callTimeout time.Duration
}

var defaultPushLimits = pushLimits{maxBytes: 64 << 20, maxRun: 5000, gapWait: 200 * time.Millisecond, callTimeout: time.Minute}

type logKey struct {
	thread thread.ID
	log    peer.ID
}

// pendingLog is one log's records waiting for the records before them.
type pendingLog struct {
	byPrev    map[cid.Cid]pendingRecord // by the record before each
	bytes     int
	needsPull bool          // a push was refused or could not be applied: pull the thread
	wake      chan struct{} // a record arrived
}

type pendingRecord struct {
	rec     core.Record
	counter int64
	size    int
	at      time.Time
}

func newPushQueue(store logstore.Logstore, limits pushLimits) *pushQueue {
	ctx, cancel := context.WithCancel(context.Background())
	return &pushQueue{ctx: ctx, cancel: cancel, store: store, limits: limits, logs: map[logKey]*pendingLog{}}
}

// attach starts queueing pushes; until then go-threads handles them itself.
func (q *pushQueue) attach(t pushTarget) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.net = t
}

// closeWait bounds how long Close waits for the queue's work to stop.
const closeWait = 2 * time.Second

// Close stops the queue's work and waits for it, up to closeWait; what is still queued
// comes again with the next pull. A worker may be inside a pull, which go-threads runs
// under its own context: go-threads' Close ends that (as it ends its own pulls), and the
// worker then returns.
func (q *pushQueue) Close() error {
	q.cancel()
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		replLog.Warnf("push queue: work still in go-threads after %s; the network's close ends it", closeWait)
	}
	return nil
}

// forget drops what is queued for thread id (a deleted thread).
func (q *pushQueue) forget(id thread.ID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, pl := range q.logs {
		if k.thread == id {
			q.bytes -= pl.bytes
			pl.bytes, pl.byPrev, pl.needsPull = 0, map[cid.Cid]pendingRecord{}, false
		}
	}
}

// intercept is a gRPC unary server interceptor for go-threads' peer service: it takes
// PushRecord calls into the queue and passes every other call on.
func (q *pushQueue) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if info.FullMethod != "/net.pb.Service/PushRecord" {
		return handler(ctx, req)
	}
	r, ok := req.(*pb.PushRecordRequest)
	if !ok || r.Body == nil || r.Body.ThreadID == nil || r.Body.LogID == nil || r.Body.Record == nil || r.Counter == thread.CounterUndef {
		return handler(ctx, req) // go-threads answers what it answers (old peers send no counter)
	}
	q.mu.Lock()
	attached := q.net != nil
	q.mu.Unlock()
	if !attached {
		return handler(ctx, req)
	}
	tid, lid := r.Body.ThreadID.ID, r.Body.LogID.ID
	// The checks go-threads' PushRecord makes before it touches the store; on any failure
	// it answers, as it would.
	logpk, err := q.store.PubKey(tid, lid)
	if err != nil || logpk == nil {
		return handler(ctx, req)
	}
	sk, err := q.store.ServiceKey(tid)
	if err != nil || sk == nil {
		return handler(ctx, req)
	}
	rec, err := cbor.RecordFromProto(r.Body.Record, sk)
	if err != nil {
		return handler(ctx, req)
	}
	if err := rec.Verify(logpk); err != nil {
		return handler(ctx, req)
	}
	head, err := currentHead(q.store, tid, lid)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if r.Counter <= head.Counter {
		return &pb.PushRecordReply{}, nil // already here
	}
	if !q.add(logKey{tid, lid}, pendingRecord{rec: rec, counter: r.Counter, size: r.Size(), at: time.Now()}) {
		return nil, status.Error(codes.ResourceExhausted, "too many pushed records waiting; this peer pulls them")
	}
	return &pb.PushRecordReply{}, nil
}

// add queues a record, or reports false when the queue is full; either way the log's
// worker runs, and after a refusal it pulls the thread.
func (q *pushQueue) add(k logKey, p pendingRecord) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ctx.Err() != nil {
		return false
	}
	pl := q.logs[k]
	if pl == nil {
		pl = &pendingLog{byPrev: map[cid.Cid]pendingRecord{}, wake: make(chan struct{}, 1)}
		q.logs[k] = pl
		q.wg.Add(1)
		go q.run(k, pl)
	}
	defer func() {
		select {
		case pl.wake <- struct{}{}:
		default:
		}
	}()
	prev := p.rec.PrevID()
	if _, dup := pl.byPrev[prev]; dup {
		return true // the first of two records after the same one waits; go-threads judges forks
	}
	if q.bytes+p.size > q.limits.maxBytes {
		pl.needsPull = true
		return false
	}
	pl.byPrev[prev] = p
	pl.bytes += p.size
	q.bytes += p.size
	return true
}

// run hands a log's queued records to go-threads as they join up with the log's head, and
// pulls the thread when a gap stays open. It returns when nothing is left for the log.
func (q *pushQueue) run(k logKey, pl *pendingLog) {
	defer q.wg.Done()
	var gapSince time.Time
	for {
		if q.ctx.Err() != nil {
			q.mu.Lock()
			q.release(k, pl)
			q.mu.Unlock()
			return
		}
		head, err := currentHead(q.store, k.thread, k.log)
		if err != nil {
			replLog.Errorf("push queue: head of log %s in thread %s: %v", k.log, k.thread, err)
		}
		q.mu.Lock()
		q.dropApplied(pl, head.Counter)
		run, counter := q.takeRun(pl, head.ID)
		if len(run) > 0 {
			gapSince = time.Time{}
			t := q.net
			q.mu.Unlock()
			ctx, cancel := context.WithTimeout(q.ctx, q.limits.callTimeout)
			err := t.putRecords(ctx, k.thread, k.log, run, counter)
			cancel()
			if err != nil && q.ctx.Err() == nil {
				replLog.Warnf("push queue: applying %d records of log %s in thread %s: %v; pulling them", len(run), k.log, k.thread, err)
				q.mu.Lock()
				pl.needsPull = true
				q.mu.Unlock()
			}
			continue
		}
		if len(pl.byPrev) == 0 && !pl.needsPull {
			q.release(k, pl)
			q.mu.Unlock()
			return
		}
		if gapSince.IsZero() {
			gapSince = time.Now()
		}
		if pl.needsPull || time.Since(gapSince) >= q.limits.gapWait {
			pl.needsPull = false
			t := q.net
			q.mu.Unlock()
			started := time.Now()
			ctx, cancel := context.WithTimeout(q.ctx, q.limits.callTimeout)
			err := t.pull(ctx, k.thread)
			cancel()
			if err != nil && q.ctx.Err() == nil {
				replLog.Warnf("push queue: pulling thread %s to fill a gap in log %s: %v", k.thread, k.log, err)
			}
			// What was queued before the pull started and still does not join up was not on
			// any peer the pull reached: it is dropped, and comes again with a later pull if
			// it ever can.
			q.mu.Lock()
			if head, err := currentHead(q.store, k.thread, k.log); err == nil {
				q.dropApplied(pl, head.Counter)
				if _, joins := pl.byPrev[head.ID]; !joins {
					q.dropBefore(pl, started)
				}
			}
			q.mu.Unlock()
			gapSince = time.Time{}
			continue
		}
		wake := pl.wake
		wait := q.limits.gapWait - time.Since(gapSince)
		q.mu.Unlock()
		select {
		case <-wake:
		case <-time.After(wait):
		case <-q.ctx.Done():
		}
	}
}

// release removes a log's entry; q.mu is held.
func (q *pushQueue) release(k logKey, pl *pendingLog) {
	q.bytes -= pl.bytes
	pl.bytes = 0
	pl.byPrev = nil
	delete(q.logs, k)
}

// takeRun removes and returns the queued records that follow head, in order, with the
// counter of the last; q.mu is held.
func (q *pushQueue) takeRun(pl *pendingLog, head cid.Cid) ([]core.Record, int64) {
	var (
		run     []core.Record
		counter int64
	)
	for len(run) < q.limits.maxRun {
		p, ok := pl.byPrev[head]
		if !ok {
			break
		}
		delete(pl.byPrev, head)
		pl.bytes -= p.size
		q.bytes -= p.size
		run = append(run, p.rec)
		counter = p.counter
		head = p.rec.Cid()
	}
	return run, counter
}

// dropApplied removes the records the log's head has passed; q.mu is held.
func (q *pushQueue) dropApplied(pl *pendingLog, headCounter int64) {
	for prev, p := range pl.byPrev {
		if p.counter <= headCounter {
			q.drop(pl, prev, p)
		}
	}
}

// dropBefore removes the records queued before t; q.mu is held.
func (q *pushQueue) dropBefore(pl *pendingLog, t time.Time) {
	for prev, p := range pl.byPrev {
		if p.at.Before(t) {
			q.drop(pl, prev, p)
		}
	}
}

func (q *pushQueue) drop(pl *pendingLog, prev cid.Cid, p pendingRecord) {
	delete(pl.byPrev, prev)
	pl.bytes -= p.size
	q.bytes -= p.size
}

// currentHead is the head of a log as go-threads keeps it (HeadUndef when it has none).
func currentHead(store logstore.Logstore, id thread.ID, lid peer.ID) (thread.Head, error) {
	heads, err := store.Heads(id, lid)
	if err != nil {
		if errors.Is(err, logstore.ErrLogNotFound) || errors.Is(err, logstore.ErrThreadNotFound) {
			return thread.HeadUndef, nil
		}
		return thread.HeadUndef, err
	}
	if len(heads) == 0 {
		return thread.HeadUndef, nil
	}
	return heads[0], nil
}
