package node

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
	mh "github.com/multiformats/go-multihash"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
)

// joinItems makes b join a's database id with collection cfg, pulling before it returns.
func joinItems(t *testing.T, a *Node, ca, cb *client.Client, id thread.ID, cfg db.CollectionConfig) {
	t.Helper()
	ctx := context.Background()
	info, err := ca.GetDBInfo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	addr := ma.StringCast(a.HostAddrs()[0] + "/thread/" + id.String())
	if err := cb.NewDBFromAddr(ctx, addr, info.Key, db.WithNewManagedCollections(cfg), db.WithNewManagedBackfillBlock(true)); err != nil {
		t.Fatal(err)
	}
}

// allItems is every instance of collection items on c, as JSON, by ID.
func allItems(t *testing.T, c *client.Client, id thread.ID) map[string]string {
	t.Helper()
	res, err := c.Find(context.Background(), id, "items", &db.Query{}, &map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range res.([]*map[string]any) {
		b, _ := json.Marshal(*m)
		out[fmt.Sprint((*m)["_id"])] = string(b)
	}
	return out
}

func ids(m map[string]string) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Records a peer applies many at a time (go-threads patch: putBatches, db.HandleNetRecords)
// end as one at a time would leave them: saves of one instance in the order written,
// deletes and creates again, among creates of others. One record per write here.
func TestBatchedRecordsKeepLogOrder(t *testing.T) {
	a, ca := serveFindWith(t, Options{NoNetPulling: true, IncludePrivateAddrs: true})
	_, cb := serveFindWith(t, Options{NoNetPulling: true, IncludePrivateAddrs: true})
	ctx := context.Background()
	id := itemsDB(t, ca, 0, nil)
	item := func(id, name string, n int) client.Instances {
		return client.Instances{map[string]any{"_id": id, "name": name, "n": float64(n)}}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := ca.Create(ctx, id, "items", item("x", "first", 0))
	must(err)
	_, err = ca.Create(ctx, id, "items", item("z", "z", 0))
	must(err)
	for i := 1; i <= 30; i++ {
		must(ca.Save(ctx, id, "items", item("x", fmt.Sprintf("save %d", i), i)))
		_, err = ca.Create(ctx, id, "items", item(fmt.Sprintf("y%02d", i), "y", i))
		must(err)
		if i == 10 {
			must(ca.Delete(ctx, id, "items", []string{"z"}))
		}
		if i == 20 {
			_, err = ca.Create(ctx, id, "items", item("z", "again", 20))
			must(err)
		}
	}
	must(ca.Delete(ctx, id, "items", []string{"y05"}))
	want := allItems(t, ca, id)
	if len(want) != 31 || !strings.Contains(want["x"], "save 30") || !strings.Contains(want["z"], "again") {
		t.Fatalf("on a: %v", want)
	}
	joinItems(t, a, ca, cb, id, db.CollectionConfig{Name: "items", Schema: itemSchemaB(t)})
	got := allItems(t, cb, id)
	if ids(got) != ids(want) {
		t.Fatalf("the peer holds %s, want %s", ids(got), ids(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("instance %s on the peer: %s, want %s", k, got[k], v)
		}
	}
}

// A record the peer's database cannot apply (here a second instance with a name the
// peer's collection keeps unique, which a's does not) is skipped, and the records after
// it are applied in the same pull. go-threads stopped the pull at it: the later records
// waited for the next periodic pull (none here), and the join's pull failed.
func TestPeerRecordsApplyPastOneThatFails(t *testing.T) {
	a, ca := serveFindWith(t, Options{NoNetPulling: true, IncludePrivateAddrs: true})
	_, cb := serveFindWith(t, Options{NoNetPulling: true, IncludePrivateAddrs: true})
	ctx := context.Background()
	id := itemsDB(t, ca, 0, nil)
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("name %d", i)
		if i == 10 {
			name = "name 5"
		}
		if _, err := ca.Create(ctx, id, "items", client.Instances{map[string]any{"_id": fmt.Sprintf("i%02d", i), "name": name}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := db.CollectionConfig{Name: "items", Schema: itemSchemaB(t), Indexes: []db.Index{{Path: "name", Unique: true}}}
	joinItems(t, a, ca, cb, id, cfg)
	got := allItems(t, cb, id)
	var want []string
	for i := 0; i < 20; i++ {
		if i != 10 {
			want = append(want, fmt.Sprintf("i%02d", i))
		}
	}
	if ids(got) != strings.Join(want, ",") {
		t.Errorf("the peer holds %s, want every instance but i10", ids(got))
	}
}

// A record's own block is stored before the log's head moves to it (go-threads patch:
// loadRecords stores a chain's blocks, the records' own too, in one write): go-threads
// keeps heads in the blockstore ("an important invariant" there), and added a record's
// block only after moving the head and handling it, one write per record.
func TestRecordBlocksAreStoredBeforeTheHeadMoves(t *testing.T) {
	_, b, id, lid, recs := pullPair(t)
	counters := map[string]int64{}
	for i, r := range recs {
		counters[string(r.Cid().Hash())] = int64(i + 1)
	}
	var (
		mu    sync.Mutex
		first = map[string]int64{} // the head's counter when each record's block was first stored
	)
	b.net.tracker.SetRecordHook(func(h mh.Multihash) {
		if _, ok := counters[string(h)]; !ok {
			return
		}
		head, err := currentHead(b.net.store, id, lid)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, seen := first[string(h)]; !seen {
			first[string(h)] = head.Counter
		}
	})
	defer b.net.tracker.SetRecordHook(nil)
	if err := b.net.PullThread(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(first) != len(recs) {
		t.Fatalf("%d of %d records' blocks were stored", len(first), len(recs))
	}
	for h, at := range first {
		if at >= counters[h] {
			t.Errorf("record %d's block was stored when the head was at record %d", counters[h], at)
		}
	}
}
