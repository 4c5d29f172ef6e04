package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/ipfs/go-datastore/query"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"

	hq "github.com/hubctl/hubctl/pkg/query"
)

// serveFind opens a node in dir and serves it as hubctl's servers do (Serve).
func serveFind(t *testing.T) (*Node, *client.Client) { return serveFindB(t) }

func serveFindB(t testing.TB) (*Node, *client.Client) {
	return serveFindWith(t, Options{NoNetPulling: true})
}

func serveFindWith(t testing.TB, opts Options) (*Node, *client.Client) {
	t.Helper()
	sn := serveNodeIn(t, filepath.Join(t.TempDir(), "node"), opts)
	return sn.Node, sn.c
}

const itemSchema = `{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"},"n":{"type":"number"}}}`

func itemSchemaB(t testing.TB) *jsonschema.Schema {
	t.Helper()
	s := &jsonschema.Schema{}
	if err := json.Unmarshal([]byte(itemSchema), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func itemCollection(t *testing.T, c *client.Client, id thread.ID, indexes ...string) {
	t.Helper()
	cfg := db.CollectionConfig{Name: "items", Schema: itemSchemaB(t)}
	for _, p := range indexes {
		cfg.Indexes = append(cfg.Indexes, db.Index{Path: p})
	}
	if err := c.NewCollection(context.Background(), id, cfg); err != nil {
		t.Fatal(err)
	}
}

// itemsDB makes a database on c with collection items indexed on indexes, holding count
// instances made by doc.
func itemsDB(t *testing.T, c *client.Client, count int, doc func(i int) map[string]any, indexes ...string) thread.ID {
	t.Helper()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	itemCollection(t, c, id, indexes...)
	var docs client.Instances
	for i := 0; i < count; i++ {
		docs = append(docs, doc(i))
	}
	if _, err := c.Create(context.Background(), id, "items", docs); err != nil {
		t.Fatal(err)
	}
	return id
}

// hostileNames are values ds.NewKey cleans as paths into other values' keys, or would
// climb out of the index with, if anything built keys from them carelessly.
var hostileNames = []string{"a/../b", "b", "../../../../x", "x", "", "/lead", "trail/", "x//y", ".", "..", "lead"}

// indexEntries reads every index entry of a database, as stored.
func indexEntries(t *testing.T, n *Node, id thread.ID) map[string]string {
	t.Helper()
	res, err := n.store.Query(query.Query{Prefix: managerKey.String() + "/" + id.String() + "/_index"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := res.Rest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range all {
		out[e.Key] = string(e.Value)
	}
	return out
}

func findIDs(t *testing.T, n *Node, id thread.ID, q *db.Query) ([]string, FindStats) {
	t.Helper()
	var ids []string
	stats, err := n.Find(context.Background(), id, "items", q, "", func(doc []byte) error {
		var v struct {
			ID string `json:"_id"`
		}
		_ = json.Unmarshal(doc, &v)
		ids = append(ids, v.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, stats
}

// The entries hubctl builds are go-threads' own, list for list, for values that clean
// into other values' keys too; a query on an indexed field reads only what the index
// lists, and answers exactly.
func TestRebuiltIndexIsGoThreadsOwn(t *testing.T) {
	n, c := serveFind(t)
	ctx := context.Background()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Indexed from the start: go-threads keeps these entries complete itself.
	itemCollection(t, c, id, "name", "n")
	var docs client.Instances
	for i := 0; i < 200; i++ {
		docs = append(docs, map[string]any{"_id": fmt.Sprintf("i%03d", i), "name": fmt.Sprintf("name%02d", i%40), "n": float64(i % 7)})
	}
	for i, name := range hostileNames {
		docs = append(docs, map[string]any{"_id": fmt.Sprintf("h%02d", i), "name": name, "n": -float64(i) - 0.5})
	}
	if _, err := c.Create(ctx, id, "items", docs); err != nil {
		t.Fatal(err)
	}
	theirs := indexEntries(t, n, id)
	if len(theirs) < 40 {
		t.Fatalf("go-threads wrote %d index entries", len(theirs))
	}
	if err := n.ForgetIndexes(id, "items"); err != nil {
		t.Fatal(err)
	}
	cl, err := n.collection(ctx, id, "items", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"name", "n"} {
		if !n.indexReady(ctx, cl, id, "items", p, true) {
			t.Fatalf("index %s not built", p)
		}
	}
	ours := indexEntries(t, n, id)
	root := managerKey.String() + "/" + id.String() + "/_index/db/collection/items/"
	// gob numbers the types a process encodes as it meets them, so the bytes of two
	// processes' entries may differ in that number: the lists are compared, as
	// go-threads' decoder reads them.
	list := func(raw string) string {
		var l [][]byte
		if err := db.DefaultDecode([]byte(raw), &l); err != nil {
			t.Fatalf("go-threads cannot decode %q: %v", raw, err)
		}
		return string(bytes.Join(l, []byte(" ")))
	}
	for k, v := range theirs {
		if got, ok := ours[k]; !ok || list(got) != list(v) {
			t.Errorf("entry %s: rebuilt %q, go-threads' %q", k, list(got), list(v))
		}
	}
	for k := range ours {
		if _, ok := theirs[k]; !ok {
			t.Errorf("rebuilt an entry go-threads does not have: %s", k)
		}
		if !strings.HasPrefix(k, root) {
			t.Errorf("an entry outside the collection's index: %s", k)
		}
	}

	for i, name := range hostileNames {
		s := name
		ids, stats := findIDs(t, n, id, &db.Query{Ands: []*db.Criterion{{FieldPath: "name", Operation: db.Eq, Value: db.Value{String: &s}}}})
		if want := fmt.Sprintf("h%02d", i); strings.Join(ids, ",") != want || stats.Index != "name" {
			t.Errorf("name == %q: %v (index %q), want %s through the index", name, ids, stats.Index, want)
		}
	}
	three := 3.0
	ids, stats := findIDs(t, n, id, &db.Query{Ands: []*db.Criterion{{FieldPath: "n", Operation: db.Eq, Value: db.Value{Float: &three}}}})
	if len(ids) != 29 || stats.Index != "n" || stats.Read != 29 {
		t.Errorf("n == 3: %d instances, index %q, %d read; want 29 read through the index", len(ids), stats.Index, stats.Read)
	}
	five := 5.0
	ids, stats = findIDs(t, n, id, &db.Query{Ands: []*db.Criterion{{FieldPath: "n", Operation: db.Ge, Value: db.Value{Float: &five}}}})
	if len(ids) != 56 || stats.Index != "n" || stats.Read != 56 {
		t.Errorf("n >= 5: %d instances, index %q, %d read; want 56 read through the index", len(ids), stats.Index, stats.Read)
	}
	zero := 0.0
	ids, stats = findIDs(t, n, id, &db.Query{Ands: []*db.Criterion{{FieldPath: "n", Operation: db.Lt, Value: db.Value{Float: &zero}}}, Sort: db.Sort{FieldPath: "n", Desc: true}, Limit: 3})
	if strings.Join(ids, ",") != "h00,h01,h02" || stats.Index != "n" {
		t.Errorf("n < 0, sorted desc, 3: %v (index %q)", ids, stats.Index)
	}
	// A range on strings scans: cleaned keys do not keep the values' order.
	b := "b"
	ids, stats = findIDs(t, n, id, &db.Query{Ands: []*db.Criterion{{FieldPath: "name", Operation: db.Lt, Value: db.Value{String: &b}}}})
	sort.Strings(ids)
	if strings.Join(ids, ",") != "h00,h02,h04,h05,h08,h09" || stats.Index != "" {
		t.Errorf("name < b: %v (index %q), want a scan", ids, stats.Index)
	}
}

// go-threads stops keeping an index it drops and does not build one it adds: an index
// dropped, written around, then added again is built again before it answers.
func TestIndexDroppedWrittenAroundAndAddedAgain(t *testing.T) {
	n, c := serveFind(t)
	ctx := context.Background()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id); err != nil {
		t.Fatal(err)
	}
	itemCollection(t, c, id, "name")
	var docs client.Instances
	for i := 0; i < 20; i++ {
		docs = append(docs, map[string]any{"_id": fmt.Sprintf("i%02d", i), "name": fmt.Sprintf("old%02d", i), "n": float64(i)})
	}
	if _, err := c.Create(ctx, id, "items", docs); err != nil {
		t.Fatal(err)
	}
	eq := func(v string) *db.Query {
		return &db.Query{Ands: []*db.Criterion{{FieldPath: "name", Operation: db.Eq, Value: db.Value{String: &v}}}}
	}
	if ids, stats := findIDs(t, n, id, eq("old05")); strings.Join(ids, ",") != "i05" || stats.Index != "name" {
		t.Fatalf("before: %v %q", ids, stats.Index)
	}
	s := &jsonschema.Schema{}
	_ = json.Unmarshal([]byte(itemSchema), s)
	if err := c.UpdateCollection(ctx, id, db.CollectionConfig{Name: "items", Schema: s}); err != nil {
		t.Fatal(err)
	}
	// Unindexed writes: a rename, a new instance, a removal.
	if err := c.Save(ctx, id, "items", client.Instances{map[string]any{"_id": "i05", "name": "new05", "n": 5.0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, id, "items", client.Instances{map[string]any{"_id": "i99", "name": "old07", "n": 99.0}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, id, "items", []string{"i07"}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateCollection(ctx, id, db.CollectionConfig{Name: "items", Schema: s, Indexes: []db.Index{{Path: "name"}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{{"new05", "i05"}, {"old05", ""}, {"old07", "i99"}, {"old06", "i06"}} {
		ids, stats := findIDs(t, n, id, eq(tc.name))
		if strings.Join(ids, ",") != tc.want || stats.Index != "name" {
			t.Errorf("name == %s: %v (index %q), want %q through the index", tc.name, ids, stats.Index, tc.want)
		}
	}
}

// A range that selects more than maxRangeCandidates reads the collection in order
// instead of instance by instance; a narrow one goes through the index.
func TestWideRangeScansNarrowRangeUsesTheIndex(t *testing.T) {
	defer func(m int) { maxRangeCandidates = m }(maxRangeCandidates)
	maxRangeCandidates = 50
	n, c := serveFind(t)
	id := itemsDB(t, c, 100, func(i int) map[string]any {
		return map[string]any{"_id": fmt.Sprintf("i%03d", i), "name": "x", "n": float64(i)}
	}, "n")
	for _, tc := range []struct {
		from  float64
		want  int
		index string
	}{{0, 100, ""}, {90, 10, "n"}} {
		from := tc.from
		ids, stats := findIDs(t, n, id, &db.Query{Ands: []*db.Criterion{{FieldPath: "n", Operation: db.Ge, Value: db.Value{Float: &from}}}})
		if len(ids) != tc.want || stats.Index != tc.index {
			t.Errorf("n >= %v: %d instances, index %q; want %d, index %q", from, len(ids), stats.Index, tc.want, tc.index)
		}
	}
}

// numberEntries reads a database's numeric index entries (find_numbers.go).
func numberEntries(t *testing.T, n *Node, id thread.ID) []string {
	t.Helper()
	res, err := n.store.Query(query.Query{Prefix: managerKey.String() + "/" + id.String() + "/hubctl/nidx", KeysOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	all, err := res.Rest()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range all {
		keys = append(keys, e.Key)
	}
	sort.Strings(keys)
	return keys
}

// Every write keeps the numeric index as a rebuild makes it: creates, saves that change,
// or remove the number, and deletes; and ranges through it answer
// what a scan does, at and around negative numbers, zero and the bounds.
func TestNumericIndexFollowsEveryWrite(t *testing.T) {
	n, c := serveFind(t)
	ctx := context.Background()
	id := itemsDB(t, c, 40, func(i int) map[string]any {
		return map[string]any{"_id": fmt.Sprintf("i%02d", i), "name": "x", "n": float64(i-20) / 2}
	}, "n")
	ge := func(f float64, op db.Operation) *db.Query {
		return &db.Query{Ands: []*db.Criterion{{FieldPath: "n", Operation: op, Value: db.Value{Float: &f}}}}
	}
	if _, stats := findIDs(t, n, id, ge(0, db.Ge)); stats.Index != "n" {
		t.Fatalf("not through the index: %+v", stats)
	}
	// Writes once the index is built and marked.
	if err := c.Save(ctx, id, "items", client.Instances{
		map[string]any{"_id": "i00", "name": "x", "n": 100.0},
		map[string]any{"_id": "i01", "name": "x"},
		map[string]any{"_id": "i02", "name": "x", "n": 7.0},
		map[string]any{"_id": "i03", "name": "x", "n": -0.0},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, id, "items", []string{"i30", "i31"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, id, "items", client.Instances{map[string]any{"_id": "z", "name": "x", "n": 5.0}}); err != nil {
		t.Fatal(err)
	}
	kept := numberEntries(t, n, id)
	if err := n.ForgetIndexes(id, "items"); err != nil {
		t.Fatal(err)
	}
	cl, err := n.collection(ctx, id, "items", "")
	if err != nil {
		t.Fatal(err)
	}
	if !n.indexReady(ctx, cl, id, "items", "n", true) {
		t.Fatal("not rebuilt")
	}
	if rebuilt := numberEntries(t, n, id); strings.Join(kept, "\n") != strings.Join(rebuilt, "\n") {
		t.Fatalf("the writes left\n%s\na rebuild makes\n%s", strings.Join(kept, "\n"), strings.Join(rebuilt, "\n"))
	}
	for _, tc := range []struct {
		f  float64
		op db.Operation
	}{{0, db.Ge}, {0, db.Gt}, {-0.5, db.Le}, {-0.5, db.Lt}, {5, db.Ge}, {5, db.Gt}, {-10, db.Lt}, {100, db.Ge}, {101, db.Gt}, {-100, db.Ge}} {
		got, stats := findIDs(t, n, id, ge(tc.f, tc.op))
		var want []string
		var all []string
		for _, doc := range findAllDocs(t, n, id) {
			v, ok := hq.Instance(doc).Field("n")
			f, isNum := v.(float64)
			did, _ := hq.Instance(doc).Field("_id")
			all = append(all, did.(string))
			if ok && isNum && hq.MatchValue(&db.Criterion{Operation: tc.op, Value: db.Value{Float: &tc.f}}, f) {
				want = append(want, did.(string))
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || stats.Index != "n" {
			t.Errorf("n %s %v: %v (index %q), want %v", hq.OperationNames[tc.op], tc.f, got, stats.Index, want)
		}
	}
}

func findAllDocs(t *testing.T, n *Node, id thread.ID) [][]byte {
	t.Helper()
	var out [][]byte
	if _, err := n.Find(context.Background(), id, "items", &db.Query{}, "", func(doc []byte) error {
		out = append(out, doc)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOrderedHexKeepsNumericOrder(t *testing.T) {
	vals := []float64{math.Inf(-1), -1e300, -2.5, -1, -0.5, -1e-300, 0, 1e-300, 0.5, 1, 2.5, 1e300, math.Inf(1)}
	for i := range vals {
		if f, ok := fromOrderedHex(orderedHex(vals[i])); !ok || f != vals[i] {
			t.Errorf("%v reads back as %v", vals[i], f)
		}
		if i > 0 && orderedHex(vals[i-1]) >= orderedHex(vals[i]) {
			t.Errorf("%v does not sort before %v", vals[i-1], vals[i])
		}
	}
	if orderedHex(math.Copysign(0, -1)) != orderedHex(0) {
		t.Error("-0 and 0 are two keys")
	}
}

// Records from a peer keep the numeric index too: they are reduced by the same go-threads
// code as local writes.
func TestNumericIndexFollowsAPeersRecords(t *testing.T) {
	a, ca := serveFindWith(t, Options{NoNetPulling: true, IncludePrivateAddrs: true})
	b, cb := serveFindWith(t, Options{NoNetPulling: true, IncludePrivateAddrs: true})
	ctx := context.Background()
	id := itemsDB(t, ca, 10, func(i int) map[string]any {
		return map[string]any{"_id": fmt.Sprintf("i%02d", i), "name": "x", "n": float64(i)}
	}, "n")
	info, err := ca.GetDBInfo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	addr := ma.StringCast(a.HostAddrs()[0] + "/thread/" + id.String())
	cfg := db.CollectionConfig{Name: "items", Schema: itemSchemaB(t), Indexes: []db.Index{{Path: "n"}}}
	if err := cb.NewDBFromAddr(ctx, addr, info.Key, db.WithNewManagedCollections(cfg), db.WithNewManagedBackfillBlock(true)); err != nil {
		t.Fatal(err)
	}
	ge := func(f float64) *db.Query {
		return &db.Query{Ands: []*db.Criterion{{FieldPath: "n", Operation: db.Ge, Value: db.Value{Float: &f}}}}
	}
	if ids, stats := findIDs(t, b, id, ge(0)); len(ids) != 10 || stats.Index != "n" {
		t.Fatalf("on the joined peer: %v (index %q)", ids, stats.Index)
	}
	// Written on a after b built and marked its index: b gets them as records.
	if _, err := ca.Create(ctx, id, "items", client.Instances{map[string]any{"_id": "j", "name": "x", "n": 50.0}}); err != nil {
		t.Fatal(err)
	}
	if err := ca.Save(ctx, id, "items", client.Instances{map[string]any{"_id": "i00", "name": "x", "n": -5.0}}); err != nil {
		t.Fatal(err)
	}
	// Wait for both records (bounded in count: b pulls from a when asked).
	for i := 0; ; i++ {
		if err := b.net.PullThread(ctx, id); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			N float64 `json:"n"`
		}
		errJ := cb.FindByID(ctx, id, "items", "j", &doc)
		errI := cb.FindByID(ctx, id, "items", "i00", &doc)
		if errJ == nil && errI == nil && doc.N == -5 {
			break
		}
		if i == 200 {
			t.Fatalf("the records did not reach b: %v %v", errJ, errI)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ids, stats := findIDs(t, b, id, ge(40)); strings.Join(ids, ",") != "j" || stats.Index != "n" {
		t.Errorf("n >= 40 on b: %v (index %q), want j", ids, stats.Index)
	}
	lt := 0.0
	if ids, _ := findIDs(t, b, id, &db.Query{Ands: []*db.Criterion{{FieldPath: "n", Operation: db.Lt, Value: db.Value{Float: &lt}}}}); strings.Join(ids, ",") != "i00" {
		t.Errorf("n < 0 on b: %v, want i00", ids)
	}
}
