package node

import (
	"context"
	"testing"

	"github.com/ipfs/go-cid"
	cbornode "github.com/ipfs/go-ipld-cbor"
	"github.com/libp2p/go-libp2p-core/peer"
	mh "github.com/multiformats/go-multihash"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	pb "github.com/textileio/go-threads/net/pb"
	"google.golang.org/grpc"
)

// pullPair is pushPair with a pull limit of 20 records: a holds 100 records in its log.
func pullPair(t *testing.T) (a, b *Node, id thread.ID, lid peer.ID, recs []core.Record) {
	t.Helper()
	return pullPairOf(t, false, false)
}

// pullPairOf is pullPair, where a or b may replicate as go-threads does.
func pullPairOf(t *testing.T, aGoThreads, bGoThreads bool) (a, b *Node, id thread.ID, lid peer.ID, recs []core.Record) {
	t.Helper()
	opts := func(goThreads bool) Options {
		return Options{NoNetPulling: true, IncludePrivateAddrs: true, pullLimit: 20, goThreadsPeer: goThreads}
	}
	return recordPair(t, 100, opts(aGoThreads), opts(bGoThreads))
}

// getRecords asks a, from b, for log lid's records after the counter-th, offset.
func getRecords(t *testing.T, a, b *Node, id thread.ID, lid peer.ID, offset cid.Cid, counter int64, opts ...grpc.DialOption) []cid.Cid {
	t.Helper()
	ctx := context.Background()
	conn, err := b.net.dialPeer(ctx, a.net.host.ID(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sk, err := b.net.store.ServiceKey(id)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := pb.NewServiceClient(conn).GetRecords(ctx, &pb.GetRecordsRequest{Body: &pb.GetRecordsRequest_Body{
		ThreadID:   &pb.ProtoThreadID{ID: id},
		ServiceKey: &pb.ProtoKey{Key: sk},
		Logs:       []*pb.GetRecordsRequest_Body_LogEntry{{LogID: &pb.ProtoPeerID{ID: lid}, Offset: &pb.ProtoCid{Cid: offset}, Limit: 1000, Counter: counter}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var out []cid.Cid
	for _, e := range reply.Logs {
		if e.LogID.ID != lid {
			continue
		}
		for _, r := range e.Records {
			c, err := recordCid(r)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
	}
	return out
}

// wantRecords checks that got is recs[from:to], in order.
func wantRecords(t *testing.T, what string, got []cid.Cid, recs []core.Record, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Errorf("%s: %d records, want records %d to %d", what, len(got), from+1, to)
		return
	}
	for i, c := range got {
		if !c.Equals(recs[from+i].Cid()) {
			t.Errorf("%s: record %d is not record %d of the log", what, i+1, from+i+1)
			return
		}
	}
}

// A pull is answered with the oldest records after the asker's head, which it can apply
// at once, not with the newest (go-threads), which leave it a gap to fetch record by
// record. An asker whose head is not in the log gets go-threads' answer.
func TestPullIsAnsweredOldestFirst(t *testing.T) {
	a, b, id, lid, recs := pullPair(t)
	wantRecords(t, "after record 10", getRecords(t, a, b, id, lid, recs[9].Cid(), 10), recs, 10, 30)
	wantRecords(t, "from the start", getRecords(t, a, b, id, lid, cid.Undef, 0), recs, 0, 20)
	wantRecords(t, "near the head", getRecords(t, a, b, id, lid, recs[85].Cid(), 86), recs, 86, 100)
	nowhere, _ := cid.Decode("bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yje")
	wantRecords(t, "after a record not in the log", getRecords(t, a, b, id, lid, nowhere, 5), recs, 80, 100)
	wantRecords(t, "after a record the asker miscounts", getRecords(t, a, b, id, lid, recs[9].Cid(), 12), recs, 80, 100)
	wantRecords(t, "a head named without a counter", getRecords(t, a, b, id, lid, recs[9].Cid(), 0), recs, 80, 100)
	wantRecords(t, "ahead of the log", getRecords(t, a, b, id, lid, nowhere, 500), recs, 0, 0)
	// The log grows: the walk kept from the answers above goes on from the new head.
	body, err := cbornode.WrapObject(map[string]any{"n": 100}, mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := a.net.CreateRecord(context.Background(), id, body)
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, rec.Value())
	wantRecords(t, "after record 10, one record later", getRecords(t, a, b, id, lid, recs[9].Cid(), 10), recs, 10, 30)
	wantRecords(t, "near the new head", getRecords(t, a, b, id, lid, recs[94].Cid(), 95), recs, 95, 101)
}

// A node that pulls asks again from the last record it got until it has the peer's head:
// one pull of five pages of 20, the first four applied as the next is fetched, the last
// handed back for go-threads to apply.
func TestPullAsksAgainUntilCaughtUp(t *testing.T) {
	a, b, id, lid, recs := pullPair(t)
	paged := grpc.WithChainUnaryInterceptor(b.net.catchUp.page)
	wantRecords(t, "what one pull from the start leaves go-threads", getRecords(t, a, b, id, lid, cid.Undef, 0, paged), recs, 80, 100)
	if head, _ := currentHead(b.net.store, id, lid); head.Counter != 80 || !head.ID.Equals(recs[79].Cid()) {
		t.Errorf("after one paged call b's head is at record %d, want 80", head.Counter)
	}
	// And through go-threads: b's head reaches a's with one PullThread.
	if err := b.net.PullThread(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if head, _ := currentHead(b.net.store, id, lid); head.Counter != 100 {
		t.Errorf("after one pull b's head is at record %d, want 100", head.Counter)
	}
}

// From a fresh node, one PullThread brings all 100 records.
func TestOnePullCatchesUp(t *testing.T) {
	_, b, id, lid, _ := pullPair(t)
	if err := b.net.PullThread(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if head, _ := currentHead(b.net.store, id, lid); head.Counter != 100 {
		t.Errorf("after one pull b's head is at record %d, want 100", head.Counter)
	}
}

// A hubctl node pulls from a go-threads peer as go-threads does: the peer answers with
// its newest records, and go-threads fetches the ones in between.
func TestPullFromAGoThreadsPeer(t *testing.T) {
	_, b, id, lid, _ := pullPairOf(t, true, false)
	if err := b.net.PullThread(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if head, _ := currentHead(b.net.store, id, lid); head.Counter != 100 {
		t.Errorf("after one pull from a go-threads peer b's head is at record %d, want 100", head.Counter)
	}
}

// A go-threads peer pulling from a hubctl node gets the oldest records after its head,
// as many as it asks for, and has every record after as many pulls.
func TestGoThreadsPeerPullsFromHubctl(t *testing.T) {
	_, b, id, lid, _ := pullPairOf(t, false, true)
	var head thread.Head
	for pulls := 1; pulls <= 5; pulls++ {
		if err := b.net.PullThread(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		head, _ = currentHead(b.net.store, id, lid)
		if head.Counter != int64(20*pulls) {
			t.Fatalf("after pull %d the go-threads peer's head is at record %d, want %d", pulls, head.Counter, 20*pulls)
		}
	}
}
