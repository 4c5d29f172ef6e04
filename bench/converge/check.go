package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alecthomas/jsonschema"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/api/client"
	coredb "github.com/textileio/go-threads/core/db"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	netpb "github.com/textileio/go-threads/net/api/pb"
)

var docs = db.CollectionConfig{Name: "docs", Schema: jsonschema.Reflect(&doc{})}

type doc struct {
	ID   string `json:"_id"`
	Name string `json:"name"`
	N    int    `json:"n"`
}

// acked holds the IDs of every instance A acknowledged (its Create call returned them).
type acked struct {
	n   atomic.Int64
	mu  sync.Mutex
	ids []string
}

func (a *acked) add(ids []string) {
	a.mu.Lock()
	a.ids = append(a.ids, ids...)
	a.mu.Unlock()
	a.n.Add(int64(len(ids)))
}

func (a *acked) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.ids...)
}

// writeTimeout bounds one Create call.
const writeTimeout = time.Minute

// write creates instances from..from+n-1 on c, one Create call each, with writers
// concurrent callers, and records the IDs A acknowledged in ack. It returns when the first
// call started and the last one returned.
func write(ctx context.Context, c *client.Client, id thread.ID, from, n, writers int, ack *acked) (first, last time.Time, err error) {
	var (
		next = int64(from) - 1
		end  = int64(from + n)
		wg   sync.WaitGroup
		errs = make(chan error, writers)
	)
	first = time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= end {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, writeTimeout)
				ids, err := c.Create(cctx, id, docs.Name, client.Instances{&doc{Name: fmt.Sprintf("instance %d", i), N: int(i)}})
				cancel()
				if err != nil {
					errs <- fmt.Errorf("Create %d on A: %w", i, err)
					return
				}
				ack.add(ids)
			}
		}()
	}
	wg.Wait()
	last = time.Now()
	close(errs)
	return first, last, <-errs
}

// loopbackAddr picks the 127.0.0.1 address among a DB's addresses.
func loopbackAddr(node string, addrs []ma.Multiaddr) (ma.Multiaddr, error) {
	for _, a := range addrs {
		if ip, err := a.ValueForProtocol(ma.P_IP4); err == nil && ip == "127.0.0.1" {
			return a, nil
		}
	}
	return nil, fmt.Errorf("%s's DB has no 127.0.0.1 address (addresses: %v): was it started with --include-private-addrs?", node, addrs)
}

// counters reads the head counter (records held) of every log of the thread.
func counters(ctx context.Context, p *peerConn, id thread.ID) (map[string]int64, error) {
	reply, err := p.net.GetThread(ctx, &netpb.GetThreadRequest{ThreadID: id.Bytes()})
	if err != nil {
		return nil, fmt.Errorf("%s's log heads: %w", p.name, err)
	}
	out := make(map[string]int64, len(reply.Logs))
	for _, lg := range reply.Logs {
		c, _ := binary.Varint(lg.Counter)
		out[string(lg.ID)] = c
	}
	return out, nil
}

func total(cs map[string]int64) (t int64) {
	for _, c := range cs {
		t += c
	}
	return t
}

// behind is how many of target's records a node holding have lacks.
func behind(target, have map[string]int64) (missing int64) {
	for lg, c := range target {
		if h := have[lg]; h < c {
			missing += c - h
		}
	}
	return missing
}

// converge reads p's heads every o.poll until p holds every record of target, and returns
// when it saw that; sample, if not nil, sees every reading. It gives up after timeout.
func converge(ctx context.Context, o options, p *peerConn, id thread.ID, target map[string]int64, start time.Time, phase string, timeout time.Duration, sample func(map[string]int64)) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	want := total(target)
	held := int64(-1)
	for {
		have, err := counters(ctx, p, id)
		now := time.Now()
		if err != nil && ctx.Err() == nil {
			return now, err
		}
		if err == nil {
			if sample != nil {
				sample(have)
			}
			if h := want - behind(target, have); h != held {
				held = h
				if o.verbose {
					fmt.Fprintf(os.Stderr, "  %s %8.3fs: %s holds %d/%d records\n", phase, now.Sub(start).Seconds(), p.name, h, want)
				}
			}
			if held == want {
				return now, nil
			}
		}
		select {
		case <-ctx.Done():
			return now, &notConverged{phase: phase, msg: fmt.Sprintf("%s did not converge within %s: it holds %d of %d records (-debug shows the daemons' logs)", p.name, timeout, max(held, 0), want)}
		case <-time.After(o.poll):
		}
	}
}

// notConverged is a case whose follower did not converge in time: it is reported as
// such, and the other cases still run.
type notConverged struct{ phase, msg string }

func (e *notConverged) Error() string { return e.phase + ": " + e.msg }

// findPage is how many instances one Find asks for.
const findPage = 5000

// settle bounds how long a follower whose heads reached the target may take to show the
// last records in its collection: go-threads moves a log's head before the DB applies
// the record.
const settle = 10 * time.Second

// missing counts the acknowledged IDs p's collection lacks, reading it a page at a time
// (Seek is inclusive: each page starts with the previous one's last instance). A node
// that lacks some is read again until it holds them all or settle has passed.
func missing(ctx context.Context, p *peerConn, id thread.ID, ack []string) (int, []string, error) {
	deadline := time.Now().Add(settle)
	for {
		held := make(map[string]struct{}, len(ack))
		seek := ""
		for {
			res, err := p.db.Find(ctx, id, docs.Name, &db.Query{Seek: coredb.InstanceID(seek), Limit: findPage}, &doc{})
			if err != nil {
				return 0, nil, fmt.Errorf("Find on %s: %w", p.name, err)
			}
			page := res.([]*doc)
			fresh := 0
			for _, d := range page {
				if _, ok := held[d.ID]; !ok {
					held[d.ID] = struct{}{}
					fresh++
				}
			}
			if len(page) < findPage || fresh == 0 {
				break
			}
			seek = page[len(page)-1].ID
		}
		var lost []string
		for _, a := range ack {
			if _, ok := held[a]; !ok {
				lost = append(lost, a)
			}
		}
		if len(lost) == 0 || time.Now().After(deadline) {
			return len(lost), lost, nil
		}
		select {
		case <-ctx.Done():
			return len(lost), lost, nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}
