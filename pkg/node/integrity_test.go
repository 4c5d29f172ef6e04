package node

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	pb "github.com/textileio/go-threads/api/pb"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
)

const personSchema = `{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"}}}`

var twoCollections = []*pb.CollectionConfig{
	{Name: "people", Schema: []byte(personSchema)},
	{Name: "other", Schema: []byte(personSchema)},
}

// withJS adds a collection whose instances go-threads hands to JavaScript.
var withJS = append(append([]*pb.CollectionConfig{}, twoCollections...),
	&pb.CollectionConfig{Name: "guarded", Schema: []byte(personSchema), WriteValidator: "return true", ReadFilter: "return instance"})

// warnings collects a node's Warnf reports.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) warnf(format string, args ...any) {
	w.mu.Lock()
	w.msgs = append(w.msgs, fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// closeOnce closes n once: the test closes a node to open its store again, and the
// cleanup closes whatever is still open (a second Close of a go-threads network hangs).
type closeOnce struct {
	*Node
	once sync.Once
	err  error
}

func (n *closeOnce) Close() error {
	n.once.Do(func() { n.err = n.Node.Close() })
	return n.err
}

func openAt(t *testing.T, ctx context.Context, dir string, w *warnings) *closeOnce {
	t.Helper()
	opts := Options{Dir: dir, NoNetPulling: true, IncludePrivateAddrs: true}
	if w != nil {
		opts.Warnf = w.warnf
	}
	node, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	n := &closeOnce{Node: node}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func createDB(t *testing.T, ctx context.Context, n *closeOnce, name string, cols ...*pb.CollectionConfig) (thread.ID, thread.Key) {
	t.Helper()
	if cols == nil {
		cols = twoCollections
	}
	id, key := thread.NewIDV1(thread.Raw, 32), thread.NewRandomKey()
	if _, err := n.threads.NewDB(ctx, &pb.NewDBRequest{DbID: id.Bytes(), Name: name, Collections: cols, Key: key.Bytes()}); err != nil {
		t.Fatal(err)
	}
	return id, key
}

// put writes one instance with the node's own API, as a server without hubctl's checks
// (go-threads as it is) would take it.
func put(t *testing.T, ctx context.Context, n *closeOnce, id thread.ID, collection, doc string) {
	t.Helper()
	if _, err := n.threads.Save(ctx, &pb.SaveRequest{DbID: id.Bytes(), CollectionName: collection, Instances: [][]byte{[]byte(doc)}}); err != nil {
		t.Fatalf("save %s in %s: %v", doc, collection, err)
	}
}

func has(t *testing.T, ctx context.Context, n *closeOnce, id thread.ID, collection, iid string) bool {
	t.Helper()
	res, err := n.threads.Has(ctx, &pb.HasRequest{DbID: id.Bytes(), CollectionName: collection, InstanceIDs: []string{iid}})
	if err != nil {
		t.Fatalf("has %s/%s: %v", collection, iid, err)
	}
	return res.Exists
}

// TestPeerRecordsCannotLeaveTheirCollection: a peer that joined through an invite writes
// instances with IDs that climb out of their collection (its own server does not check
// them, like go-threads as it is). The owner's node applies none of those records,
// reports each once with its thread and log, applies the good records before and after
// them, and still opens afterwards.
func TestPeerRecordsCannotLeaveTheirCollection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := t.TempDir()
	var w warnings
	owner := openAt(t, ctx, filepath.Join(base, "owner"), &w)
	peer := openAt(t, ctx, filepath.Join(base, "peer"), nil)

	id, key := createDB(t, ctx, owner, "t", withJS...)
	addr := ma.StringCast(owner.HostAddrs()[0] + "/thread/" + id.String())
	if _, err := peer.threads.NewDBFromAddr(ctx, &pb.NewDBFromAddrRequest{Addr: addr.Bytes(), Key: key.Bytes(), Collections: withJS, Block: true}); err != nil {
		t.Fatal(err)
	}
	// As `db join` does: the owner learns of the peer's log now, and the peer pushes to it.
	if _, err := peer.net.AddReplicator(ctx, id, ma.StringCast(owner.HostAddrs()[0])); err != nil {
		t.Fatal(err)
	}
	records, err := owner.net.Subscribe(ctx, core.WithSubFilter(id))
	if err != nil {
		t.Fatal(err)
	}

	writes := []struct{ collection, doc string }{
		{"people", `{"_id":"good1","name":"a"}`},
		{"people", `{"_id":"../other/victim1","name":"x"}`},
		{"people", `{"_id":"../../schema/people","name":"pwn"}`},
		// go-threads pastes these into JavaScript source between single quotes.
		{"guarded", `{"_id":"j1","name":"'+(function(){for(;;){}})()+'"}`},
		{"guarded", `{"_id":"j2'","name":"x"}`},
		{"guarded", `{"_id":"j3","name":"plain"}`},
		{"people", `{"_id":"good2","name":"O'Brien"}`}, // no JavaScript here: quotes are fine
	}
	for _, w := range writes {
		put(t, ctx, peer, id, w.collection, w.doc)
	}
	peerLog := ownLog(t, peer.Node, id).ID
	for got := 0; got < len(writes); {
		select {
		case rec := <-records:
			if rec.LogID() == peerLog {
				got++
			}
		case <-ctx.Done():
			t.Fatalf("the owner received %d of the peer's %d records", got, len(writes))
		}
	}

	for _, iid := range []string{"good1", "good2"} {
		if !has(t, ctx, owner, id, "people", iid) {
			t.Errorf("the owner lacks the good record %s", iid)
		}
	}
	if has(t, ctx, owner, id, "other", "victim1") {
		t.Error("a peer's record wrote into another collection")
	}
	if !has(t, ctx, owner, id, "guarded", "j3") {
		t.Error("the owner lacks the good record j3")
	}
	for _, iid := range []string{"j1", "j2'"} {
		if has(t, ctx, owner, id, "guarded", iid) {
			t.Errorf("the owner applied %s, which its validator would run as code", iid)
		}
	}
	msgs := w.all()
	if len(msgs) != 4 {
		t.Fatalf("warnings %q, want one per bad record", msgs)
	}
	for _, m := range msgs {
		if !strings.Contains(m, id.String()) || !strings.Contains(m, peerLog.String()) || !strings.Contains(m, "not applied") {
			t.Errorf("warning %q does not name the thread and the log", m)
		}
	}

	// The schema the peer aimed at is intact: the owner opens again and takes writes.
	dir := owner.Dir()
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	again := openAt(t, ctx, dir, nil)
	if b := again.BrokenDBs(); len(b) != 0 {
		t.Fatalf("broken databases after the attack: %v", b)
	}
	put(t, ctx, again, id, "people", `{"_id":"good3","name":"c"}`)
}

// damage writes, on n's own unchecked API, the instance IDs that main at 654c7ed took:
// the first overwrites a collection's schema, so the database no longer loads.
func damage(t *testing.T, ctx context.Context, n *closeOnce, id thread.ID) {
	t.Helper()
	put(t, ctx, n, id, "people", `{"_id":"kept","name":"k"}`)
	put(t, ctx, n, id, "other", `{"_id":"o1","name":"o"}`)
	put(t, ctx, n, id, "people", `{"_id":"../../schema/people","name":"pwn"}`)
}

// TestDamagedStoreOpens: a store damaged by the old bug opens; the broken database is
// named with its collection and reported, the other databases work, and the broken one
// can be repaired (its other collections and instances kept) or dropped.
func TestDamagedStoreOpens(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "node")
	n := openAt(t, ctx, dir, nil)
	good, _ := createDB(t, ctx, n, "good")
	put(t, ctx, n, good, "people", `{"_id":"g","name":"g"}`)
	repairable, _ := createDB(t, ctx, n, "repairable")
	damage(t, ctx, n, repairable)
	droppable, _ := createDB(t, ctx, n, "droppable")
	damage(t, ctx, n, droppable)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	var w warnings
	n = openAt(t, ctx, dir, &w)
	broken := n.BrokenDBs()
	if len(broken) != 2 {
		t.Fatalf("broken %v, want the two damaged databases", broken)
	}
	for _, b := range broken {
		if b.Collection != "people" || (b.ID != repairable && b.ID != droppable) || !strings.Contains(b.String(), b.Name) {
			t.Errorf("broken %v: want the damaged database named, with collection people", b)
		}
	}
	if msgs := w.all(); len(msgs) != 2 || !strings.Contains(msgs[0], "hubctl db repair") {
		t.Errorf("warnings %q: want one per broken database, naming the fix", msgs)
	}
	if !has(t, ctx, n, good, "people", "g") {
		t.Error("the good database lost its instance")
	}
	dbs, err := n.ListDBs(ctx)
	if err != nil || len(dbs) != 1 || dbs[0].ID != good {
		t.Errorf("ListDBs = %v, %v; want only the good database loaded", dbs, err)
	}

	removed, err := n.RepairDB(ctx, repairable)
	if err != nil || len(removed) != 1 || removed[0] != "people" {
		t.Fatalf("RepairDB = %v, %v; want [people]", removed, err)
	}
	if !has(t, ctx, n, repairable, "other", "o1") {
		t.Error("the repaired database lost collection other's instance")
	}
	// Creating the collection again brings its instances back.
	if _, err := n.threads.NewCollection(ctx, &pb.NewCollectionRequest{DbID: repairable.Bytes(), Config: twoCollections[0]}); err != nil {
		t.Fatal(err)
	}
	if !has(t, ctx, n, repairable, "people", "kept") {
		t.Error("the recreated collection does not hold its instance")
	}
	if _, err := n.RepairDB(ctx, repairable); err != ErrNotBroken {
		t.Errorf("a second repair: %v, want ErrNotBroken", err)
	}

	if err := n.DropBrokenDB(ctx, droppable); err != nil {
		t.Fatal(err)
	}
	if ok, _ := n.HasThread(ctx, droppable); ok {
		t.Error("the dropped database's thread is still there")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = openAt(t, ctx, dir, nil)
	if b := n.BrokenDBs(); len(b) != 0 {
		t.Errorf("after repair and drop, broken: %v", b)
	}
	dbs, err = n.ListDBs(ctx)
	if err != nil || len(dbs) != 2 {
		t.Errorf("after repair and drop, ListDBs = %v, %v; want good and repairable", dbs, err)
	}
}

// TestOpenFailsCleanly: a failing Open returns its error (it once panicked on a nil node
// in its cleanup) and leaves the directory free for the next.
func TestOpenFailsCleanly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Open(ctx, Options{Dir: dir, HostAddr: "garbage"}); err == nil || !strings.Contains(err.Error(), "garbage") {
		t.Fatalf("Open with a bad host address: %v", err)
	}
	openAt(t, ctx, dir, nil)
}
