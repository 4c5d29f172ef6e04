package node

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
)

// writeConcurrently creates instances from..from+n-1 in collection items, one Create call
// (one record) each, with writers concurrent callers, as bench/converge does.
func writeConcurrently(tb testing.TB, c *client.Client, id thread.ID, from, n, writers int) {
	tb.Helper()
	var (
		next = int64(from) - 1
		end  = int64(from + n)
		wg   sync.WaitGroup
		errs = make(chan error, writers)
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= end {
					return
				}
				doc := map[string]any{"_id": fmt.Sprintf("i%07d", i), "name": "x", "n": float64(i)}
				// Bounded, so that a stalled node fails the test instead of hanging it.
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := c.Create(ctx, id, "items", client.Instances{doc})
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkCatchUp is a join of a database of 2,000 (or 10,000) records, each written by
// one Create: the joining node's blocking backfill, from the join call until it returns.
func BenchmarkCatchUp(b *testing.B) {
	for _, records := range []int{2000, 10000} {
		b.Run(fmt.Sprint(records), func(b *testing.B) { benchmarkCatchUp(b, records) })
	}
}

func benchmarkCatchUp(b *testing.B, records int) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a, ca := serveFindWith(b, Options{NoNetPulling: true, IncludePrivateAddrs: true})
		_, cb := serveFindWith(b, Options{NoNetPulling: true, IncludePrivateAddrs: true})
		ctx := context.Background()
		id := thread.NewIDV1(thread.Raw, 32)
		if err := ca.NewDB(ctx, id); err != nil {
			b.Fatal(err)
		}
		cfg := db.CollectionConfig{Name: "items", Schema: itemSchemaB(b)}
		if err := ca.NewCollection(ctx, id, cfg); err != nil {
			b.Fatal(err)
		}
		writeConcurrently(b, ca, id, 0, records, 16)
		info, err := ca.GetDBInfo(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		addr := ma.StringCast(a.HostAddrs()[0] + "/thread/" + id.String())
		b.StartTimer()
		if err := cb.NewDBFromAddr(ctx, addr, info.Key, db.WithNewManagedCollections(cfg), db.WithNewManagedBackfillBlock(true)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(records)/b.Elapsed().Seconds()*float64(i+1), "records/s")
	}
}
