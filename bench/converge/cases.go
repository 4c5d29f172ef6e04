package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	netpb "github.com/textileio/go-threads/net/api/pb"

	"github.com/hubctl/hubctl/bench/internal/stats"
)

// few is how many records A and B converge on before the stopped case stops B.
const few = 10

// result is one case of one round on one build.
type result struct {
	build, cas string
	n, round   int
	write      time.Duration // A's writes of the case's n records, first call to last return
	join, pull time.Duration // the follower's NewDBFromAddr and PullThread calls
	took       time.Duration // catchup: join to convergence; live: A's first write to convergence; stopped: B's process start to convergence; third: C's join to convergence
	fromState  time.Duration // stopped: B's state file to convergence
	lag        time.Duration // live, burst: A's last write to convergence
	pushed     int64         // live, burst: the case's records B held when A's last write returned
	maxBehind  int64         // burst: most acknowledged records B lacked at one reading
	aKnewB     bool          // live, burst: A knew B's log when the writes started
	converged  bool
	acked      int                 // IDs A acknowledged, which the nodes were checked for
	lost       map[string]int      // acknowledged IDs each checked node lacks
	lostIDs    map[string][]string // a few of them
	done       bool                // converged and checked
	err        error
}

// bench is one case's daemons on one build, on fresh data directories under dir.
type bench struct {
	o       options
	b       build
	dir     string
	daemons []*daemon
	conns   []*peerConn
}

func (e *bench) start(name string) (*daemon, *peerConn, error) {
	d, err := startDaemon(e.o, e.b.bin, name, filepath.Join(e.dir, name), anyPort)
	if err != nil {
		return nil, nil, err
	}
	return e.add(d)
}

func (e *bench) restart(d *daemon) (*daemon, *peerConn, error) {
	d, err := d.restart(e.o, e.b.bin)
	if err != nil {
		return nil, nil, err
	}
	return e.add(d)
}

func (e *bench) add(d *daemon) (*daemon, *peerConn, error) {
	e.daemons = append(e.daemons, d)
	p, err := dial(d)
	if err != nil {
		return nil, nil, err
	}
	e.conns = append(e.conns, p)
	return d, p, nil
}

// close closes every connection and stops every daemon still running, last started first.
func (e *bench) close() (err error) {
	for _, p := range e.conns {
		p.close()
	}
	for i := len(e.daemons) - 1; i >= 0; i-- {
		err = errors.Join(err, e.daemons[i].stop())
	}
	return err
}

// newDB creates the DB and its collection on p.
func newDB(ctx context.Context, p *peerConn) (thread.ID, error) {
	id := thread.NewIDV1(thread.Raw, 32)
	if err := p.db.NewDB(ctx, id); err != nil {
		return id, fmt.Errorf("NewDB on %s: %w", p.name, err)
	}
	if err := p.db.NewCollection(ctx, id, docs); err != nil {
		return id, fmt.Errorf("NewCollection on %s: %w", p.name, err)
	}
	return id, nil
}

// joinDB joins f to the DB from's loopback address, as `hubctl db join` does:
// NewDBFromAddr with the thread key and the collection config, then (-join pull) one
// PullThread in the background; NewDBFromAddr starts a pull of its own too, in the
// background or (-join block) before it returns. With -replicator, f then adds from as a
// replicator. wait returns the PullThread call's duration and error.
func (e *bench) joinDB(ctx context.Context, f, from *peerConn, id thread.ID) (start time.Time, join time.Duration, wait func() (time.Duration, error), err error) {
	info, err := from.db.GetDBInfo(ctx, id)
	if err != nil {
		return start, 0, nil, fmt.Errorf("GetDBInfo on %s: %w", from.name, err)
	}
	addr, err := loopbackAddr(from.name, info.Addrs)
	if err != nil {
		return start, 0, nil, err
	}
	start = time.Now()
	if err := f.db.NewDBFromAddr(ctx, addr, info.Key, db.WithNewManagedCollections(docs),
		db.WithNewManagedBackfillBlock(e.o.join == "block")); err != nil {
		return start, 0, nil, fmt.Errorf("NewDBFromAddr on %s: %w", f.name, err)
	}
	join = time.Since(start)
	if e.o.replicator {
		// The peer learns of f's log, and so pushes new records to f, only at f's first
		// edge exchange with it (10-30 s after the join with the default pull interval).
		// AddReplicator on f sends f's logs to it now.
		peerAddr, _ := ma.SplitLast(addr) // less /thread/ID
		t := time.Now()
		if _, err := f.net.AddReplicator(ctx, &netpb.AddReplicatorRequest{ThreadID: id.Bytes(), Addr: peerAddr.Bytes()}); err != nil {
			return start, join, nil, fmt.Errorf("AddReplicator on %s: %w", f.name, err)
		}
		if e.o.verbose {
			fmt.Fprintf(os.Stderr, "  AddReplicator on %s took %s\n", f.name, stats.Ms(time.Since(t)))
		}
	}
	if e.o.join != "pull" {
		return start, join, func() (time.Duration, error) { return 0, nil }, nil
	}
	type pulled struct {
		d   time.Duration
		err error
	}
	ch := make(chan pulled, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, e.o.timeout)
		defer cancel()
		t := time.Now()
		_, err := f.net.PullThread(ctx, &netpb.PullThreadRequest{ThreadID: id.Bytes()})
		ch <- pulled{time.Since(t), err}
	}()
	return start, join, func() (time.Duration, error) {
		p := <-ch
		if p.err != nil {
			fmt.Fprintf(os.Stderr, "  PullThread on %s failed after %s: %v\n", f.name, stats.Ms(p.d), p.err)
		}
		return p.d, p.err
	}, nil
}

// checkLost counts, on each node, the acknowledged IDs it lacks.
func checkLost(ctx context.Context, r *result, id thread.ID, ack *acked, nodes ...*peerConn) error {
	ids := ack.list()
	r.acked = len(ids)
	if r.lost == nil {
		r.lost, r.lostIDs = map[string]int{}, map[string][]string{}
	}
	for _, p := range nodes {
		n, lost, err := missing(ctx, p, id, ids)
		if err != nil {
			return err
		}
		r.lost[p.name] = n
		r.lostIDs[p.name] = lost[:min(len(lost), 5)]
	}
	return nil
}

// knows tells whether a holds every log of the thread that b has.
func knows(ctx context.Context, a, b *peerConn, id thread.ID) (bool, error) {
	aLogs, err := counters(ctx, a, id)
	if err != nil {
		return false, err
	}
	bLogs, err := counters(ctx, b, id)
	if err != nil {
		return false, err
	}
	for lg := range bLogs {
		if _, ok := aLogs[lg]; !ok {
			return false, nil
		}
	}
	return true, nil
}

// catchupLive: A holds n records, B joins and catches up (result "catchup"); then n more
// are written on A while B follows (result "live"). rs holds either or both.
func catchupLive(ctx context.Context, e *bench, rs []*result) error {
	n := rs[0].n
	// A case not asked for still runs as far as the other needs, into a result nobody reads.
	pick := func(c string) *result {
		for _, r := range rs {
			if r.cas == c {
				return r
			}
		}
		return &result{cas: c, n: n}
	}
	cu, lv, wantLive := pick("catchup"), pick("live"), slices.ContainsFunc(rs, func(r *result) bool { return r.cas == "live" })
	_, pa, err := e.start("A")
	if err != nil {
		return err
	}
	_, pb, err := e.start("B")
	if err != nil {
		return err
	}
	id, err := newDB(ctx, pa)
	if err != nil {
		return err
	}
	ack := &acked{}
	first, last, err := write(ctx, pa.db, id, 0, n, e.o.writers, ack)
	cu.write = last.Sub(first)
	if err != nil {
		return err
	}
	target, err := counters(ctx, pa, id)
	if err != nil {
		return err
	}
	start, join, wait, err := e.joinDB(ctx, pb, pa, id)
	cu.join = join
	if err != nil {
		return err
	}
	done, err := converge(ctx, e.o, pb, id, target, start, "catch-up", e.o.timeout, nil)
	cu.pull, _ = wait()
	if err != nil {
		return err
	}
	cu.took, cu.converged = done.Sub(start), true
	if err := checkLost(ctx, cu, id, ack, pa, pb); err != nil {
		return err
	}
	cu.done = true
	if !wantLive {
		return nil
	}

	// Live: B is joined; A pushes every new record to the peers of the thread's logs it
	// knows, so to B once it knows B's log.
	if lv.aKnewB, err = knows(ctx, pa, pb, id); err != nil {
		return err
	}
	first, last, err = write(ctx, pa.db, id, n, n, e.o.writers, ack)
	lv.write = last.Sub(first)
	if err != nil {
		return err
	}
	held, err := counters(ctx, pb, id)
	if err != nil {
		return err
	}
	before := total(target)
	if target, err = counters(ctx, pa, id); err != nil {
		return err
	}
	lv.pushed = total(target) - before - behind(target, held)
	done, err = converge(ctx, e.o, pb, id, target, first, "live", e.o.timeout, nil)
	if err != nil {
		return err
	}
	lv.took, lv.lag, lv.converged = done.Sub(first), max(done.Sub(last), 0), true
	if err := checkLost(ctx, lv, id, ack, pa, pb); err != nil {
		return err
	}
	lv.done = true
	return nil
}

// pair is daemons A and B with a DB made on A, which B joined and caught up on.
type pair struct {
	a, b   *daemon
	pa, pb *peerConn
	id     thread.ID
	ack    *acked
}

// joinedPair starts A and B, writes n instances on A with writers writers (r.write is
// how long that took), and has B join the DB and converge with A (r.join and r.pull are
// B's join and pull); phase names the wait.
func (e *bench) joinedPair(ctx context.Context, r *result, n, writers int, phase string) (*pair, error) {
	a, pa, err := e.start("A")
	if err != nil {
		return nil, err
	}
	b, pb, err := e.start("B")
	if err != nil {
		return nil, err
	}
	id, err := newDB(ctx, pa)
	if err != nil {
		return nil, err
	}
	p := &pair{a: a, b: b, pa: pa, pb: pb, id: id, ack: &acked{}}
	first, last, err := write(ctx, pa.db, id, 0, n, writers, p.ack)
	r.write = last.Sub(first)
	if err != nil {
		return nil, err
	}
	target, err := counters(ctx, pa, id)
	if err != nil {
		return nil, err
	}
	start, join, wait, err := e.joinDB(ctx, pb, pa, id)
	r.join = join
	if err != nil {
		return nil, err
	}
	_, err = converge(ctx, e.o, pb, id, target, start, phase, e.o.timeout, nil)
	r.pull, _ = wait()
	if err != nil {
		return nil, err
	}
	return p, nil
}

// burst: B joins A's DB while it holds 1 record and converges; then r.n instances are
// written on A by -writers writers, and B's lag after A's last write (bounded by
// -burst-timeout) and the most records it was behind are measured.
func burst(ctx context.Context, e *bench, rs []*result) error {
	r := rs[0]
	p, err := e.joinedPair(ctx, r, 1, 1, "burst join")
	if err != nil {
		return err
	}
	pa, pb, id, ack := p.pa, p.pb, p.id, p.ack
	target, err := counters(ctx, pa, id)
	if err != nil {
		return err
	}
	if r.aKnewB, err = knows(ctx, pa, pb, id); err != nil {
		return err
	}

	// While A writes, B's heads are read every -poll: B is behind by what A acknowledged
	// (the first record included) less what B holds of A's logs.
	base := total(target)
	var maxBehind atomic.Int64
	note := func(b int64) {
		for m := maxBehind.Load(); b > m && !maxBehind.CompareAndSwap(m, b); m = maxBehind.Load() {
		}
	}
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(e.o.poll):
			}
			have, err := counters(ctx, pb, id)
			if err != nil {
				continue
			}
			var held int64
			for lg := range target {
				held += have[lg]
			}
			note(ack.n.Load() - held)
		}
	}()
	first, last, err := write(ctx, pa.db, id, 1, r.n, e.o.writers, ack)
	close(stop)
	<-sampled
	r.write = last.Sub(first)
	if err != nil {
		return err
	}
	held, err := counters(ctx, pb, id)
	if err != nil {
		return err
	}
	if target, err = counters(ctx, pa, id); err != nil {
		return err
	}
	r.pushed = total(target) - base - behind(target, held)
	done, err := converge(ctx, e.o, pb, id, target, last, "burst", e.o.burstTimeout,
		func(have map[string]int64) { note(behind(target, have)) })
	r.maxBehind = maxBehind.Load()
	if err != nil {
		return err
	}
	r.took, r.lag, r.converged = done.Sub(first), max(done.Sub(last), 0), true
	if err := checkLost(ctx, r, id, ack, pa, pb); err != nil {
		return err
	}
	r.done = true
	return nil
}

// stopped: A and B converge on a few records; B is stopped (SIGINT, its exit awaited);
// r.n are written on A; B starts again on the same data directory, with the same flags
// and libp2p port, and its time to converge is measured from its process start and from
// its state file.
func stopped(ctx context.Context, e *bench, rs []*result) error {
	r := rs[0]
	p, err := e.joinedPair(ctx, r, few, e.o.writers, "stopped join")
	if err != nil {
		return err
	}
	pa, b, pb, id, ack := p.pa, p.b, p.pb, p.id, p.ack
	pb.close()
	if err := b.stop(); err != nil {
		return err
	}
	first, last, err := write(ctx, pa.db, id, few, r.n, e.o.writers, ack)
	r.write = last.Sub(first)
	if err != nil {
		return err
	}
	target, err := counters(ctx, pa, id)
	if err != nil {
		return err
	}
	b, pb, err = e.restart(b)
	if err != nil {
		return err
	}
	if e.o.verbose {
		fmt.Fprintf(os.Stderr, "  B restarted on %s, its state file %s after its start\n", b.hostAddr, stats.Ms(b.ready.Sub(b.started)))
	}
	done, err := converge(ctx, e.o, pb, id, target, b.started, "stopped", e.o.timeout, nil)
	if err != nil {
		return err
	}
	r.took, r.fromState, r.converged = done.Sub(b.started), done.Sub(b.ready), true
	if err := checkLost(ctx, r, id, ack, pa, pb); err != nil {
		return err
	}
	r.done = true
	return nil
}

// third: A holds r.n records and B catches up; A is stopped; a fresh daemon C joins the
// DB from B's loopback address, and its time to reach B's heads is measured.
func third(ctx context.Context, e *bench, rs []*result) error {
	r := rs[0]
	p, err := e.joinedPair(ctx, r, r.n, e.o.writers, "third: B's catch-up")
	if err != nil {
		return err
	}
	a, pa, pb, id, ack := p.a, p.pa, p.pb, p.id, p.ack
	// A's part of the loss count, while it runs.
	if err := checkLost(ctx, r, id, ack, pa); err != nil {
		return err
	}
	pa.close()
	if err := a.stop(); err != nil {
		return err
	}
	target, err := counters(ctx, pb, id)
	if err != nil {
		return err
	}
	_, pc, err := e.start("C")
	if err != nil {
		return err
	}
	start, join, wait, err := e.joinDB(ctx, pc, pb, id)
	r.join = join
	if err != nil {
		return err
	}
	done, err := converge(ctx, e.o, pc, id, target, start, "third", e.o.timeout, nil)
	r.pull, _ = wait()
	if err != nil {
		return err
	}
	r.took, r.converged = done.Sub(start), true
	if err := checkLost(ctx, r, id, ack, pb, pc); err != nil {
		return err
	}
	r.done = true
	return nil
}
