package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	cbornode "github.com/ipfs/go-ipld-cbor"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/peer"
	ma "github.com/multiformats/go-multiaddr"
	mh "github.com/multiformats/go-multihash"
	sym "github.com/textileio/crypto/symmetric"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/cbor"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	pb "github.com/textileio/go-threads/net/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// openTestNode opens a node in a directory of its own named name, closed when the test
// ends.
func openTestNode(t *testing.T, name string, opts Options) *Node {
	t.Helper()
	opts.Dir = filepath.Join(t.TempDir(), name)
	n, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// pushPair opens nodes a and b on loopback without periodic pulls; a creates a thread
// and writes records into its own log; b adds the thread on its network alone, so that a
// never learns b's log and pushes nothing to it: what b gets, the test hands its push
// queue, or b pulls.
func pushPair(t *testing.T, records int) (a, b *Node, id thread.ID, lid peer.ID, recs []core.Record) {
	t.Helper()
	opts := Options{NoNetPulling: true, IncludePrivateAddrs: true}
	return recordPair(t, records, opts, opts)
}

// recordPair is pushPair with nodes opened with aOpts and bOpts.
func recordPair(t *testing.T, records int, aOpts, bOpts Options) (a, b *Node, id thread.ID, lid peer.ID, recs []core.Record) {
	t.Helper()
	ctx := context.Background()
	a, b = openTestNode(t, "a", aOpts), openTestNode(t, "b", bOpts)
	id = thread.NewIDV1(thread.Raw, 32)
	key := thread.NewRandomKey()
	if _, err := a.net.CreateThread(ctx, id, core.WithThreadKey(key)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < records; i++ {
		body, err := cbornode.WrapObject(map[string]any{"n": i}, mh.SHA2_256, -1)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := a.net.CreateRecord(ctx, id, body)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec.Value())
		lid = rec.LogID()
	}
	addr := ma.StringCast(a.HostAddrs()[0] + "/thread/" + id.String())
	if _, err := b.net.AddThread(ctx, addr, core.WithThreadKey(key)); err != nil {
		t.Fatal(err)
	}
	return a, b, id, lid, recs
}

// pushRequest is the PushRecord call go-threads makes for record rec, the counter-th of
// log lid.
func pushRequest(t *testing.T, from *Node, id thread.ID, lid peer.ID, rec core.Record, counter int64) *pb.PushRecordRequest {
	t.Helper()
	pr, err := cbor.RecordToProto(context.Background(), from.net, rec)
	if err != nil {
		t.Fatal(err)
	}
	return &pb.PushRecordRequest{Body: &pb.PushRecordRequest_Body{
		ThreadID: &pb.ProtoThreadID{ID: id}, LogID: &pb.ProtoPeerID{ID: lid}, Record: pr}, Counter: counter}
}

var pushInfo = &grpc.UnaryServerInfo{FullMethod: "/net.pb.Service/PushRecord"}

// push hands n's push queue a PushRecord call; go-threads' own handler must not be
// needed for a record that verifies.
func push(t *testing.T, n *Node, req *pb.PushRecordRequest) error {
	t.Helper()
	_, err := n.net.pushes.intercept(context.Background(), req, pushInfo, func(context.Context, any) (any, error) {
		t.Errorf("go-threads' PushRecord handled the record with counter %d: the queue did not take it", req.Counter)
		return &pb.PushRecordReply{}, nil
	})
	return err
}

// waitHead waits until n's head of log lid reaches counter want, in a bounded number of
// reads, and fails with what n held.
func waitHead(t *testing.T, n *Node, id thread.ID, lid peer.ID, want int64) {
	t.Helper()
	var head thread.Head
	for i := 0; i < 1200; i++ {
		var err error
		if head, err = currentHead(n.net.store, id, lid); err != nil {
			t.Fatal(err)
		}
		if head.Counter == want {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("the log's head on the peer is at record %d after 30s, want %d", head.Counter, want)
}

// waitQueueEmpty waits until n's push queue holds nothing, in a bounded number of reads.
func waitQueueEmpty(t *testing.T, n *Node) {
	t.Helper()
	for i := 0; i < 1200; i++ {
		n.net.pushes.mu.Lock()
		logs, bytes := len(n.net.pushes.logs), n.net.pushes.bytes
		n.net.pushes.mu.Unlock()
		if logs == 0 && bytes == 0 {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("the push queue still holds records after 30s")
}

// Pushes that arrive out of order are applied in order from the queue alone: no pull
// (gapWait is an hour here, and periodic pulls are off), no fetch of the records between.
func TestPushesOutOfOrderApplyInOrder(t *testing.T) {
	a, b, id, lid, recs := pushPair(t, 5)
	b.net.pushes.limits.gapWait = time.Hour
	for _, i := range []int{4, 2, 3, 1, 0} {
		if err := push(t, b, pushRequest(t, a, id, lid, recs[i], int64(i+1))); err != nil {
			t.Fatalf("push of record %d: %v", i+1, err)
		}
	}
	waitHead(t, b, id, lid, 5)
	waitQueueEmpty(t, b)
	// A push of a record b already has is answered without queueing it.
	if err := push(t, b, pushRequest(t, a, id, lid, recs[2], 3)); err != nil {
		t.Fatal(err)
	}
	b.net.pushes.mu.Lock()
	defer b.net.pushes.mu.Unlock()
	if len(b.net.pushes.logs) != 0 {
		t.Error("a record b had was queued")
	}
}

// A push that never arrived leaves a gap; b pulls the thread as soon as the gap has been
// open for gapWait, not at a periodic pull (there are none here).
func TestLostPushIsPulledAtOnce(t *testing.T) {
	a, b, id, lid, recs := pushPair(t, 3)
	// Record 2 is lost on the way; 1 and 3 arrive.
	for _, i := range []int{0, 2} {
		if err := push(t, b, pushRequest(t, a, id, lid, recs[i], int64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	waitHead(t, b, id, lid, 3)
	waitQueueEmpty(t, b)
}

// A record that verifies but follows no record the log has (a writer's fork, or a
// hostile member's) waits for one pull, and is then dropped: the queue ends empty and the
// log keeps its head. A record whose signature is not the log's, and one for a thread b
// does not have, are go-threads' to refuse, as before.
func TestPushQueueDropsWhatNeverJoinsUp(t *testing.T) {
	a, b, id, lid, recs := pushPair(t, 2)
	ctx := context.Background()
	if err := push(t, b, pushRequest(t, a, id, lid, recs[0], 1)); err != nil {
		t.Fatal(err)
	}
	waitHead(t, b, id, lid, 1)

	sk, err := a.net.store.PrivKey(id, lid)
	if err != nil || sk == nil {
		t.Fatalf("log key: %v", err)
	}
	srv, err := a.net.store.ServiceKey(id)
	if err != nil {
		t.Fatal(err)
	}
	event, err := recs[1].GetBlock(ctx, a.net)
	if err != nil {
		t.Fatal(err)
	}
	nowhere, _ := cid.Decode("bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yje")
	forged, err := cbor.CreateRecord(ctx, a.net, cbor.CreateRecordConfig{
		Block: event, Prev: nowhere, Key: sk, PubKey: thread.NewLibp2pPubKey(a.net.key.GetPublic()), ServiceKey: srv})
	if err != nil {
		t.Fatal(err)
	}
	if err := push(t, b, pushRequest(t, a, id, lid, forged, 1000)); err != nil {
		t.Fatal(err)
	}
	waitQueueEmpty(t, b)
	if head, _ := currentHead(b.net.store, id, lid); head.Counter != 2 || !head.ID.Equals(recs[1].Cid()) {
		t.Errorf("after the forged record the head is %d %s, want record 2 (pulled while filling the gap)", head.Counter, head.ID)
	}

	// Signed by another key: go-threads' handler answers, and refuses it.
	other, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	badSig, err := cbor.CreateRecord(ctx, a.net, cbor.CreateRecordConfig{
		Block: event, Prev: recs[1].Cid(), Key: other, PubKey: thread.NewLibp2pPubKey(a.net.key.GetPublic()), ServiceKey: srv})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	_, err = b.net.pushes.intercept(ctx, pushRequest(t, a, id, lid, badSig, 3), pushInfo, func(ctx context.Context, req any) (any, error) {
		called = true
		return nil, status.Error(codes.Unauthenticated, "refused")
	})
	if !called || status.Code(err) != codes.Unauthenticated {
		t.Errorf("a record signed by another key: handler called %v, %v; want go-threads' refusal", called, err)
	}
	// Sealed with another service key (a peer that is not in the thread): go-threads
	// answers.
	stranger, err := cbor.CreateRecord(ctx, a.net, cbor.CreateRecordConfig{
		Block: event, Prev: recs[1].Cid(), Key: sk, PubKey: thread.NewLibp2pPubKey(a.net.key.GetPublic()), ServiceKey: sym.New()})
	if err != nil {
		t.Fatal(err)
	}
	called = false
	_, _ = b.net.pushes.intercept(ctx, pushRequest(t, a, id, lid, stranger, 3), pushInfo, func(ctx context.Context, req any) (any, error) {
		called = true
		return nil, status.Error(codes.Internal, "cannot decrypt")
	})
	if !called {
		t.Error("a push sealed with another service key was queued")
	}
	// For a thread b does not have: go-threads answers.
	unknown := pushRequest(t, a, id, lid, recs[1], 2)
	unknown.Body.ThreadID = &pb.ProtoThreadID{ID: thread.NewIDV1(thread.Raw, 32)}
	called = false
	_, _ = b.net.pushes.intercept(ctx, unknown, pushInfo, func(ctx context.Context, req any) (any, error) {
		called = true
		return nil, status.Error(codes.NotFound, "log not found")
	})
	if !called {
		t.Error("a push for a thread b does not have was queued")
	}
	waitQueueEmpty(t, b)
}

// A full queue refuses a push (ResourceExhausted, which the pusher only logs) and pulls
// the thread itself once it has room: through the whole stack, with databases, sixteen
// writers and no periodic pull, b ends with every instance a acknowledged.
func TestRefusedPushesArePulledAtOnce(t *testing.T) {
	a, ca := serveFindWith(t, Options{NoNetPulling: true, IncludePrivateAddrs: true})
	b, cb := serveFindWith(t, Options{NoNetPulling: true, IncludePrivateAddrs: true})
	b.net.pushes.limits.maxBytes = 1 // every push is refused
	id := itemsDB(t, ca, 0, nil)
	joinItems(t, a, ca, cb, id, db.CollectionConfig{Name: "items", Schema: itemSchemaB(t)})
	waitKnowsLogOf(t, a, b, id)
	const n = 200
	writeConcurrently(t, ca, id, 0, n, 16)
	waitInstances(t, cb, id, n)
}

// waitKnowsLogOf waits until a knows b's own log of thread id (b's join announces it).
func waitKnowsLogOf(t *testing.T, a, b *Node, id thread.ID) {
	t.Helper()
	own := ownLog(t, b, id)
	for i := 0; i < 1200; i++ {
		if _, ok := logByID(t, a, id, own.ID); ok {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("a never learned b's log after b joined")
}

// waitInstances waits until c's collection items holds every instance writeConcurrently
// wrote, from 0 to n-1, checked by ID, in a bounded number of reads.
func waitInstances(t *testing.T, c *client.Client, id thread.ID, n int) {
	t.Helper()
	var missing []string
	for i := 0; i < 1200; i++ {
		res, err := c.Find(context.Background(), id, "items", &db.Query{}, &struct {
			ID string `json:"_id"`
		}{})
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, d := range res.([]*struct {
			ID string `json:"_id"`
		}) {
			have[d.ID] = true
		}
		missing = missing[:0]
		for j := 0; j < n; j++ {
			if want := fmt.Sprintf("i%07d", j); !have[want] {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("after 30s the peer lacks %d of %d instances (first: %s)", len(missing), n, missing[0])
}
