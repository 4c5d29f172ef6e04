package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"github.com/textileio/go-threads/api/client"
	bucketsclient "github.com/textileio/textile/v2/api/bucketsd/client"
	bucketspb "github.com/textileio/textile/v2/api/bucketsd/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/hubctl/hubctl/pkg/blockgc"
	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/hubauth"
)

// gcEnv is a bucketEnv on a daemon whose collector keeps no grace period (a block not
// reachable and not held is collected at once) and which the test can restart; the
// daemon's storage limit per identity is limit (0: none).
type gcEnv struct {
	*bucketEnv
	dir   string
	opts  DaemonOptions
	limit int64
}

func newGCEnv(t *testing.T, limit int64) *gcEnv {
	t.Helper()
	dir := t.TempDir()
	reg := hubauth.OpenRegistry(dir)
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	opts := loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthKeys, Keys: kr})
	d := startStoppable(t, opts, limit)
	e := &bucketEnv{d: d, reg: reg, bc: bucketsClient(t, d)}
	e.s = newSession(t, d, newKey(t, reg, hubauth.UserKey))
	e.db, e.ctx = bucketDB(t, e.s)
	return &gcEnv{bucketEnv: e, dir: dir, opts: opts, limit: limit}
}

// startStoppable starts a daemon that the test may stop itself (stop), or that is
// stopped when the test ends.
func startStoppable(t *testing.T, opts DaemonOptions, limit int64) *Daemon {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := StartDaemon(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, d) })
	d.node.BlockTracker().SetGrace(0)
	storageFor(d.node).limit = limit
	return d
}

var (
	stoppedMu sync.Mutex
	stopped   = map[*Daemon]bool{}
)

func stop(t *testing.T, d *Daemon) {
	t.Helper()
	stoppedMu.Lock()
	done := stopped[d]
	stopped[d] = true
	stoppedMu.Unlock()
	if done {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// restart stops the daemon and starts another on its data directory, with new clients.
func (e *gcEnv) restart(t *testing.T) {
	t.Helper()
	stop(t, e.d)
	e.d = startStoppable(t, e.opts, e.limit)
	e.bc = bucketsClient(t, e.d)
}

func (e *gcEnv) collect(t *testing.T) blockgc.Report {
	t.Helper()
	rep, err := e.d.node.CollectGarbage(bounded(t, context.Background()), blockgc.Hooks{})
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	return rep
}

func (e *gcEnv) has(t *testing.T, c string) bool {
	t.Helper()
	ok, err := e.d.node.DAG().BlockStore().Has(mustCid(t, c))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// A collection frees the blocks of a removed bucket and of an overwritten file, keeps
// every current root's and every thread record (a restarted daemon reads every bucket
// and the database), and a second run finds nothing more.
func TestGCFreesGarbageAndKeepsWhatIsNeeded(t *testing.T) {
	e := newGCEnv(t, 0)
	gone := e.create(t, "gone").Root.Key
	goneFile, _ := e.push(t, gone, "a.bin", randomBytes(t, 700<<10))
	kept := e.create(t, "kept").Root.Key
	old, _ := e.push(t, kept, "f.bin", randomBytes(t, 700<<10))
	current := randomBytes(t, 700<<10)
	file, _ := e.push(t, kept, "f.bin", current)
	small := randomBytes(t, 10)
	e.push(t, kept, "dir/small.txt", small)
	if err := e.bc.Remove(bounded(t, e.ctx), gone); err != nil {
		t.Fatal(err)
	}

	rep := e.collect(t)
	if rep.ThreadBlocksKept || rep.IncompleteLogs != 0 {
		t.Fatalf("thread walk incomplete: %+v", rep)
	}
	if rep.Reclaimed == 0 || rep.ReclaimedBytes < 2*700<<10 {
		t.Fatalf("reclaimed %d blocks, %d bytes; want the two files' 1400 KiB at least: %+v", rep.Reclaimed, rep.ReclaimedBytes, rep)
	}
	for _, c := range []string{goneFile.Cid().String(), old.Cid().String()} {
		if e.has(t, c) {
			t.Fatalf("garbage block %s kept", c)
		}
	}
	if !e.has(t, file.Cid().String()) {
		t.Fatal("current file's block collected")
	}
	if rep.Scanned != rep.Kept+rep.Reclaimed {
		t.Fatalf("scanned %d != kept %d + reclaimed %d", rep.Scanned, rep.Kept, rep.Reclaimed)
	}
	if again := e.collect(t); again.Reclaimed != 0 {
		t.Fatalf("a second run reclaimed %d blocks: the first left garbage or the second took live blocks", again.Reclaimed)
	}

	e.restart(t)
	if got := e.pull(t, kept, "f.bin"); !bytes.Equal(got, current) {
		t.Fatal("f.bin differs after collection and restart")
	}
	if got := e.pull(t, kept, "dir/small.txt"); !bytes.Equal(got, small) {
		t.Fatal("dir/small.txt differs after collection and restart")
	}
	list, err := e.bc.List(bounded(t, e.ctx))
	if err != nil || len(list.Roots) != 1 || list.Roots[0].Key != kept {
		t.Fatalf("list after restart: %v %v", list, err)
	}
	// Every record of the database's logs is still there: the restarted node loaded the
	// database (List above) and its logs walk to their start.
	if rep := e.collect(t); rep.ThreadBlocksKept || rep.Reclaimed != 0 || rep.Records == 0 {
		t.Fatalf("after restart: %+v", rep)
	}
}

// A private bucket's tree is walked through its link key (its directories keep their
// links in their ciphertext): a collection keeps every block of its current files,
// frees its overwritten file, and after a restart every file reads back.
func TestGCKeepsPrivateBuckets(t *testing.T) {
	e := newGCEnv(t, 0)
	res, err := e.bc.Create(bounded(t, e.ctx), bucketsclient.WithName("secret"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	key := res.Root.Key
	old, _ := e.push(t, key, "deep/er/f.bin", randomBytes(t, 700<<10))
	current := randomBytes(t, 700<<10)
	e.push(t, key, "deep/er/f.bin", current)
	other := randomBytes(t, 300<<10)
	e.push(t, key, "other/g.bin", other)

	rep := e.collect(t)
	if rep.Undecodable != 0 || rep.ThreadBlocksKept {
		t.Fatalf("the private tree was not walked whole: %+v", rep)
	}
	if e.has(t, old.Cid().String()) {
		t.Fatal("the overwritten private file was kept")
	}
	e.restart(t)
	if got := e.pull(t, key, "deep/er/f.bin"); !bytes.Equal(got, current) {
		t.Fatal("deep/er/f.bin differs after collection and restart")
	}
	if got := e.pull(t, key, "other/g.bin"); !bytes.Equal(got, other) {
		t.Fatal("other/g.bin differs after collection and restart")
	}
}

// A push in flight keeps its blocks through a collection: the first file of a PushPaths
// stream has been stored (the server answered it) when a collection runs, and the
// stream saves the bucket after it; the file then reads back. Without the write's hold
// the collection deletes the file's blocks (the grace period is off here).
func TestGCKeepsPushInFlight(t *testing.T) {
	e := newGCEnv(t, 0)
	key := e.create(t, "inflight").Root.Key
	stream, err := bucketspb.NewAPIServiceClient(mustDial(t, e.d.State().API)).PushPaths(bounded(t, e.ctx))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&bucketspb.PushPathsRequest{Payload: &bucketspb.PushPathsRequest_Header_{Header: &bucketspb.PushPathsRequest_Header{Key: key}}}); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 2<<20)
	for off := 0; off < len(data); off += 256 << 10 {
		if err := stream.Send(pushChunk("big.bin", data[off:off+256<<10])); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Send(pushChunk("big.bin", nil)); err != nil {
		t.Fatal(err)
	}
	// The server answers a file once its blocks are stored, before the stream saves.
	res, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if rep := e.collect(t); rep.Reclaimed != 0 {
		t.Fatalf("the collection reclaimed %d blocks while a push was in flight: %+v", rep.Reclaimed, rep)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if !e.has(t, res.Cid) {
		t.Fatalf("the pushed file's root %s was collected while its push was in flight", res.Cid)
	}
	if got := e.pull(t, key, "big.bin"); !bytes.Equal(got, data) {
		t.Fatal("big.bin differs")
	}
	// Once saved, the file is reachable: a later run keeps it without any hold.
	e.collect(t)
	if got := e.pull(t, key, "big.bin"); !bytes.Equal(got, data) {
		t.Fatal("big.bin differs after a second collection")
	}
}

// Instances written through the threads API with hostile paths (a CID this node does
// not hold, no CID at all, a thread record's CID, a file's block named as a directory)
// neither fail the collection nor make it fetch, are counted, and the thread's records
// survive.
func TestGCHostileInstances(t *testing.T) {
	e := newGCEnv(t, 0)
	key := e.create(t, "real").Root.Key
	x, _ := e.push(t, key, "x.txt", []byte("x"))
	// The file's block named as a directory: any block can be named with any codec.
	misnamed := cid.NewCidV1(cid.DagProtobuf, x.Cid().Hash())
	info, err := e.s.nc.GetThread(bounded(t, e.s.ctx), e.db)
	if err != nil {
		t.Fatal(err)
	}
	var record cid.Cid
	for _, lg := range info.Logs {
		if lg.Head.ID.Defined() {
			record = lg.Head.ID
		}
	}
	absent, err := cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: mh.SHA2_256, MhLength: -1}.Sum([]byte("not on this node"))
	if err != nil {
		t.Fatal(err)
	}
	var docs client.Instances
	for i, p := range []string{"/ipfs/" + absent.String(), "not a cid", "/ipfs/" + record.String(), "/ipfs/bafy-broken", "/ipfs/" + misnamed.String()} {
		b := buckets.New("hostile"+string(rune('a'+i)), e.s.identity, "h", absent, time.Now())
		b.Path = p
		docs = append(docs, b)
	}
	if _, err := e.s.c.Create(bounded(t, e.s.ctx), e.db, "buckets", docs); err != nil {
		t.Fatalf("write hostile instances: %v", err)
	}
	rep := e.collect(t)
	// The log's records: the bucket's creation, the push's save, the hostile instances.
	if rep.Records != 3 {
		t.Fatalf("walked %d records of the log, want 3 (an instance naming a record cut the walk short?): %+v", rep.Records, rep)
	}
	if rep.BadBuckets < 2 || rep.Missing < 1 || rep.Undecodable < 1 {
		t.Fatalf("hostile instances not counted: %+v", rep)
	}
	if rep.ThreadBlocksKept {
		t.Fatalf("thread walk incomplete: %+v", rep)
	}
	if !e.has(t, record.String()) {
		t.Fatal("the thread's head record was collected")
	}
	if e.has(t, absent.String()) {
		t.Fatal("the collection fetched a block a hostile instance named")
	}
	e.restart(t)
	if got := e.pull(t, key, "x.txt"); string(got) != "x" {
		t.Fatalf("x.txt after restart: %q", got)
	}
	if rep := e.collect(t); rep.ThreadBlocksKept || rep.Records != 3 {
		t.Fatalf("after restart the thread walk is incomplete: %+v", rep)
	}
}

// The collection RPC is an operator's: refused with a user key, and without a key; an
// account key runs it.
func TestGCRPCOperatorOnly(t *testing.T) {
	e := newGCEnv(t, 0)
	conn := mustDial(t, e.d.State().API)
	reply := &wrapperspb.BytesValue{}
	err := conn.Invoke(bounded(t, e.s.ctx), MethodCollectGarbage, &emptypb.Empty{}, reply)
	wantCode(t, "a user key", err, codes.PermissionDenied, "")
	err = conn.Invoke(bounded(t, context.Background()), MethodCollectGarbage, &emptypb.Empty{}, reply)
	if code := status.Code(err); code != codes.Unauthenticated && code != codes.PermissionDenied {
		t.Fatalf("no key: %v", err)
	}
	admin := hubContext(t, newKey(t, e.reg, hubauth.AccountKey))
	if err := conn.Invoke(bounded(t, admin), MethodCollectGarbage, &emptypb.Empty{}, reply); err != nil {
		t.Fatalf("an account key: %v", err)
	}
	var rep blockgc.Report
	if err := json.Unmarshal(reply.Value, &rep); err != nil || rep.Logs == 0 {
		t.Fatalf("report %s: %v", reply.Value, err)
	}
}
