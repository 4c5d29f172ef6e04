package node

import (
	"context"
	"fmt"
	"os"
	"testing"

	ds "github.com/ipfs/go-datastore"
	badger "github.com/textileio/go-ds-badger"

	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
)

// BenchmarkFind times Node.Find on 100,000 instances of about 200 bytes indexed on n:
// a range of 10 through the index, an equality through it, and a criterion on an
// unindexed field (a scan). go test -run X -bench BenchmarkFind ./pkg/node/
func BenchmarkFind(b *testing.B) {
	const total = 100000
	n, c, id := indexedItems(b)
	ctx := context.Background()
	note := fmt.Sprintf("%0120d", 0)
	for start := 0; start < total; start += 1000 {
		var docs client.Instances
		for i := start; i < start+1000; i++ {
			docs = append(docs, map[string]any{"_id": fmt.Sprintf("i%06d", i), "name": fmt.Sprintf("n%06d", i), "n": float64(i), "city": fmt.Sprintf("c%04d", i%1000), "note": note})
		}
		if _, err := c.Create(ctx, id, "items", docs); err != nil {
			b.Fatal(err)
		}
	}
	if os.Getenv("FIND_BENCH_FLATTEN") != "" {
		// The store as a daemon's background compaction leaves it, not as just written.
		if err := n.store.(*badger.Datastore).DB.Flatten(2); err != nil {
			b.Fatal(err)
		}
	}
	from, eq, city := float64(total-10), fmt.Sprintf("n%06d", total-1), "c0007"
	for _, bc := range []struct {
		name string
		q    *db.Query
		want int
	}{
		{"range of 10 on an index", &db.Query{Ands: []*db.Criterion{{FieldPath: "n", Operation: db.Ge, Value: db.Value{Float: &from}}}}, 10},
		{"equality on an index", &db.Query{Ands: []*db.Criterion{{FieldPath: "name", Operation: db.Eq, Value: db.Value{String: &eq}}}}, 1},
		{"unindexed", &db.Query{Ands: []*db.Criterion{{FieldPath: "city", Operation: db.Eq, Value: db.Value{String: &city}}}}, total / 1000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				got := 0
				if _, err := n.Find(ctx, id, "items", bc.q, "", func([]byte) error { got++; return nil }); err != nil {
					b.Fatal(err)
				}
				if got != bc.want {
					b.Fatalf("%d instances, want %d", got, bc.want)
				}
			}
		})
	}
}

// BenchmarkCreateIndexed times creating instances in batches of 1,000 in a collection
// indexed on a number and a string, with the numeric-index hook (find_numbers.go) and
// without it, to show what keeping numbers in order costs a write.
func BenchmarkCreateIndexed(b *testing.B) {
	for _, hook := range []bool{true, false} {
		b.Run(fmt.Sprintf("hook=%v", hook), func(b *testing.B) {
			if !hook {
				defer func(h func(*db.Collection, ds.Key, []byte, []byte, ds.Txn) error) { db.IndexHook = h }(db.IndexHook)
				db.IndexHook = nil
			}
			_, c, id := indexedItems(b)
			ctx := context.Background()
			note := fmt.Sprintf("%0120d", 0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var docs client.Instances
				for j := 0; j < 1000; j++ {
					k := i*1000 + j
					docs = append(docs, map[string]any{"_id": fmt.Sprintf("i%07d", k), "name": fmt.Sprintf("n%07d", k), "n": float64(k), "note": note})
				}
				if _, err := c.Create(ctx, id, "items", docs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// indexedItems serves a node with a database holding an empty collection items indexed
// on n and name.
func indexedItems(b *testing.B) (*Node, *client.Client, thread.ID) {
	b.Helper()
	n, c := serveFindB(b)
	ctx := context.Background()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id); err != nil {
		b.Fatal(err)
	}
	if err := c.NewCollection(ctx, id, db.CollectionConfig{Name: "items", Schema: itemSchemaB(b), Indexes: []db.Index{{Path: "n"}, {Path: "name"}}}); err != nil {
		b.Fatal(err)
	}
	return n, c, id
}
