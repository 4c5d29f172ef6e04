package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Convergence of a database between nodes, as between `hubctl daemon`s (issue 20), at
// sizes small enough for every run: each test counts the instances of every ID a writer
// acknowledged on the writer and on each follower, and waits on what a node holds, never
// on a time budget (each wait is bounded, so a broken build fails instead of hanging).

const (
	convergePoll  = 50 * time.Millisecond
	convergePolls = 1200 // a minute of polls
)

// servedNode is a node opened in a directory of its own choosing and served with the
// go-threads API, as a daemon serves it; stop closes it, and may be called again (the test's
// cleanup calls it too).
type servedNode struct {
	*Node
	c    *client.Client
	stop func()
}

// serveNodeIn opens a node in dir (which may hold one closed before) and serves it on
// 127.0.0.1:0.
func serveNodeIn(t testing.TB, dir string, opts Options) *servedNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts.Dir = dir
	n, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = n.Close()
		t.Fatal(err)
	}
	s := grpc.NewServer()
	n.Serve(s, ServeOptions{MaxFindReply: 16 << 20})
	go func() { _ = s.Serve(lis) }()
	c, err := client.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.Stop()
		_ = n.Close()
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = c.Close()
			s.GracefulStop()
			if err := n.Close(); err != nil {
				t.Errorf("close %s: %v", dir, err)
			}
		})
	}
	t.Cleanup(stop)
	return &servedNode{Node: n, c: c, stop: stop}
}

// convergeOptions are a daemon's, on loopback, pulling every 200ms so that a node that was
// away catches up soon; the tests only ever wait for what it holds. The nodes' warnings
// (records refused, databases not loaded) go to the test's log until its cleanups end.
func convergeOptions(t *testing.T, name string) Options {
	var (
		mu   sync.Mutex
		done bool
	)
	t.Cleanup(func() { // registered before the node's own: runs after it closed
		mu.Lock()
		defer mu.Unlock()
		done = true
	})
	warnf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf(name+": "+format, args...)
		}
	}
	return Options{IncludePrivateAddrs: true, PullInterval: 200 * time.Millisecond, Warnf: warnf}
}

// itemIDs are the IDs writeConcurrently gives instances from..from+n-1.
func itemIDs(from, n int) []string {
	ids := make([]string, 0, n)
	for i := from; i < from+n; i++ {
		ids = append(ids, fmt.Sprintf("i%07d", i))
	}
	return ids
}

// newItemsDB makes a database with collection items on s and returns its ID and the
// collection's config (for the followers' joins).
func newItemsDB(t *testing.T, s *servedNode) (thread.ID, db.CollectionConfig) {
	t.Helper()
	ctx := context.Background()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := s.c.NewDB(ctx, id); err != nil {
		t.Fatal(err)
	}
	cfg := db.CollectionConfig{Name: "items", Schema: itemSchemaB(t)}
	if err := s.c.NewCollection(ctx, id, cfg); err != nil {
		t.Fatal(err)
	}
	return id, cfg
}

// joinFrom makes follower join database id from the host address of from (whose client gives
// the key), with a blocking backfill.
func joinFrom(t *testing.T, follower, from *servedNode, id thread.ID, cfg db.CollectionConfig) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := from.c.GetDBInfo(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	addr := ma.StringCast(from.HostAddrs()[0] + "/thread/" + id.String())
	if err := follower.c.NewDBFromAddr(ctx, addr, info.Key, db.WithNewManagedCollections(cfg), db.WithNewManagedBackfillBlock(true)); err != nil {
		t.Fatalf("join from %s: %v", addr, err)
	}
}

// holding is what a node's items hold against what a writer acknowledged, counted per ID.
type holding struct {
	held       int      // instances returned, duplicates included
	missing    []string // acknowledged, not held
	duplicated []string // held more than once
	unexpected []string // held, never acknowledged
}

func (h holding) complete() bool {
	return len(h.missing) == 0 && len(h.duplicated) == 0 && len(h.unexpected) == 0
}

func (h holding) String() string {
	few := func(ids []string) string {
		if len(ids) > 8 {
			return strings.Join(ids[:8], " ") + fmt.Sprintf(" … (%d)", len(ids))
		}
		return strings.Join(ids, " ")
	}
	return fmt.Sprintf("%d instances; missing %d [%s]; duplicated %d [%s]; unexpected %d [%s]",
		h.held, len(h.missing), few(h.missing), len(h.duplicated), few(h.duplicated),
		len(h.unexpected), few(h.unexpected))
}

// holds counts the instances of items on n by ID, as n's own Find answers a query for all.
func holds(n *Node, id thread.ID, want []string) (holding, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	count := map[string]int{}
	var h holding
	_, err := n.Find(ctx, id, "items", &db.Query{}, "", func(doc []byte) error {
		var v struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(doc, &v); err != nil {
			return err
		}
		count[v.ID]++
		h.held++
		return nil
	})
	if err != nil {
		return h, err
	}
	wanted := make(map[string]bool, len(want))
	for _, w := range want {
		wanted[w] = true
		if count[w] == 0 {
			h.missing = append(h.missing, w)
		}
	}
	for k, c := range count {
		if c > 1 {
			h.duplicated = append(h.duplicated, k)
		}
		if !wanted[k] {
			h.unexpected = append(h.unexpected, k)
		}
	}
	sort.Strings(h.duplicated)
	sort.Strings(h.unexpected)
	return h, nil
}

// waitHolds waits until n holds every ID of want exactly once and nothing else, polling a
// minute at most, and logs how long that took.
func waitHolds(t *testing.T, name string, n *Node, id thread.ID, want []string) {
	t.Helper()
	start := time.Now()
	var (
		h     holding
		err   error
		first = -1 // what n held at the first poll, to log when that first grew
	)
	for i := 0; i < convergePolls; i++ {
		h, err = holds(n, id, want)
		if err == nil && h.complete() {
			t.Logf("%s holds all %d IDs after %v", name, len(want), time.Since(start).Round(time.Millisecond))
			return
		}
		if err == nil && first < 0 {
			first = h.held
		} else if err == nil && first >= 0 && h.held > first {
			t.Logf("%s held %d, then %d after %v", name, first, h.held, time.Since(start).Round(time.Millisecond))
			first = len(want) + 1 // logged once
		}
		time.Sleep(convergePoll)
	}
	dump := dumpGoroutines(t)
	if err != nil {
		t.Fatalf("%s after %d polls: find: %v (last count: %v; goroutines in %s)", name, convergePolls, err, h, dump)
	}
	t.Fatalf("%s after %d polls holds %v; want all %d acknowledged IDs once (goroutines in %s)", name, convergePolls, h, len(want), dump)
}

// steps logs how long each step of a test took, for the report of a run: no assertion
// depends on it.
func steps(t *testing.T) func(done string) {
	last := time.Now()
	return func(done string) {
		t.Logf("%s: %v", done, time.Since(last).Round(time.Millisecond))
		last = time.Now()
	}
}

// dumpGoroutines writes every goroutine's stack to a file that outlives the test, for a
// wait that failed: where the records stopped.
func dumpGoroutines(t *testing.T) string {
	f, err := os.CreateTemp("", "converge-"+strings.ReplaceAll(t.Name(), "/", "-")+"-*.txt")
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if err := pprof.Lookup("goroutine").WriteTo(f, 2); err != nil {
		return err.Error()
	}
	return f.Name()
}

// A peer stopped while 500 records were written catches up once it is back, from the
// writer's records alone: nothing writes to it and nothing is pushed to it after its restart.
func TestStoppedPeerConverges(t *testing.T) {
	a := serveNodeIn(t, filepath.Join(t.TempDir(), "a"), convergeOptions(t, "a"))
	bDir := filepath.Join(t.TempDir(), "b")
	b := serveNodeIn(t, bDir, convergeOptions(t, "b"))
	step := steps(t)
	id, cfg := newItemsDB(t, a)
	writeConcurrently(t, a.c, id, 0, 50, 16)
	joinFrom(t, b, a, id, cfg)
	waitHolds(t, "B before its stop", b.Node, id, itemIDs(0, 50))
	step("50 written on A, B joined")

	b.stop()
	step("B stopped")
	writeConcurrently(t, a.c, id, 50, 500, 16)
	step("500 more written on A")
	want := itemIDs(0, 550)
	waitHolds(t, "A", a.Node, id, want)

	b = serveNodeIn(t, bDir, convergeOptions(t, "b"))
	step("B reopened")
	if ok, err := b.HasDB(context.Background(), id); err != nil || !ok {
		t.Fatalf("B reopened without the database (%v, %v)", ok, err)
	}
	waitHolds(t, "B after its restart", b.Node, id, want)
}

// With the writer A down, a third node C that joins from B gets everything B has, A's
// records included.
func TestThirdNodeJoinsFromPeerWhileWriterIsDown(t *testing.T) {
	a := serveNodeIn(t, filepath.Join(t.TempDir(), "a"), convergeOptions(t, "a"))
	b := serveNodeIn(t, filepath.Join(t.TempDir(), "b"), convergeOptions(t, "b"))
	c := serveNodeIn(t, filepath.Join(t.TempDir(), "c"), convergeOptions(t, "c"))
	step := steps(t)
	id, cfg := newItemsDB(t, a)
	writeConcurrently(t, a.c, id, 0, 500, 16)
	step("500 written on A")
	want := itemIDs(0, 500)
	waitHolds(t, "A", a.Node, id, want)
	joinFrom(t, b, a, id, cfg)
	step("B joined from A")
	waitHolds(t, "B", b.Node, id, want)

	a.stop()
	step("A stopped")
	joinFrom(t, c, b, id, cfg)
	step("C joined from B")
	if h, err := holds(c.Node, id, want); err != nil || !h.complete() {
		t.Logf("C when its blocking join returned: %v (%v)", h, err)
	}
	waitHolds(t, "C", c.Node, id, want)
}

// A burst of 2,000 records, by 16 concurrent writers on A, all reach B, which joined
// before it.
func TestBurstConvergesOnPeer(t *testing.T) {
	a := serveNodeIn(t, filepath.Join(t.TempDir(), "a"), convergeOptions(t, "a"))
	b := serveNodeIn(t, filepath.Join(t.TempDir(), "b"), convergeOptions(t, "b"))
	step := steps(t)
	id, cfg := newItemsDB(t, a)
	joinFrom(t, b, a, id, cfg)
	step("B joined")

	writeConcurrently(t, a.c, id, 0, 2000, 16)
	step("2,000 written on A")
	want := itemIDs(0, 2000)
	waitHolds(t, "A", a.Node, id, want)
	waitHolds(t, "B", b.Node, id, want)
}
