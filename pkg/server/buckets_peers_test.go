package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/textileio/go-threads/api/client"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	netclient "github.com/textileio/go-threads/net/api/client"
	bucketsclient "github.com/textileio/textile/v2/api/bucketsd/client"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/blockgc"
	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// peerSide is one of two daemons sharing a bucket database: the same identity calls
// both (its token from each), with a key of each daemon's own.
type peerSide struct {
	d     *Daemon
	s     session
	ident thread.Identity
	ctx   context.Context // s.ctx naming the database
	bc    *bucketsclient.Client
}

// bucketPeers starts daemons A and B on 127.0.0.1, makes a database of one identity on
// A with a bucket, and joins it on B as that identity (go-threads' NewDBFromAddr, what
// hubctl db join does); it returns once B lists the bucket. Fetches from peers are
// bounded by blockTimeout for the test's daemons.
func bucketPeers(t *testing.T, blockTimeout time.Duration) (a, b *peerSide, dbID thread.ID, key string) {
	t.Helper()
	// Set before the daemons start (their goroutines read it), restored after they stop
	// (cleanups run last registered first).
	oldBlock := fetchBlockTimeout
	fetchBlockTimeout = blockTimeout
	t.Cleanup(func() { fetchBlockTimeout = oldBlock })

	ident := newIdentity(t)
	side := func() *peerSide {
		dir := t.TempDir()
		reg := hubauth.OpenRegistry(dir)
		kr, err := reg.Watch(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		opts := loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthKeys, Keys: kr, GatewayAddr: "127.0.0.1:0", IncludePrivateAddrs: true})
		d := serveDaemon(t, opts)
		return &peerSide{d: d, s: sessionAs(t, d, newKey(t, reg, hubauth.UserKey), ident), ident: ident, bc: bucketsClient(t, d)}
	}
	a, b = side(), side()
	dbID, a.ctx = bucketDB(t, a.s)
	res, err := a.bc.Create(bounded(t, a.ctx), bucketsclient.WithName("shared"))
	if err != nil {
		t.Fatal(err)
	}
	key = res.Root.Key

	ctx := bounded(t, a.s.ctx)
	info, err := a.s.c.GetDBInfo(ctx, dbID, db.WithManagedToken(a.s.tok))
	if err != nil {
		t.Fatal(err)
	}
	err = b.s.c.NewDBFromAddr(bounded(t, b.s.ctx), selfAddr(t, a.d.State(), dbID), info.Key,
		db.WithNewManagedToken(b.s.tok), db.WithNewManagedCollections(buckets.CollectionConfig()))
	if err != nil {
		t.Fatalf("join on B: %v", err)
	}
	b.ctx = common.NewThreadIDContext(b.s.ctx, dbID)
	b.waitRoot(t, key, res.Root.Path)
	return a, b, dbID, key
}

// sessionAs is newSession for a given identity: its token from d, with key.
func sessionAs(t *testing.T, d *Daemon, key hubauth.Key, ident thread.Identity) session {
	t.Helper()
	s := newSession(t, d, key)
	tok, err := s.c.GetToken(hubContext(t, key), ident)
	if err != nil {
		t.Fatal(err)
	}
	s.tok, s.identity = tok, ident.GetPublic().String()
	s.ctx = thread.NewTokenContext(hubContext(t, key), tok)
	return s
}

// waitRoot waits (bounded) until the side's bucket key has the root path want, pulling
// the database's records from its peers as hubctl db pull does: a peer that has not
// written to the database yet is not among those its records are pushed to.
func (p *peerSide) waitRoot(t *testing.T, key, want string) {
	t.Helper()
	var last string
	for i := 0; i < 100; i++ {
		res, err := p.bc.Root(bounded(t, p.ctx), key)
		if err == nil && res.Root.Path == want {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = res.Root.Path
		}
		id, ok := common.ThreadIDFromContext(p.ctx)
		if !ok {
			t.Fatal("the side's context names no database")
		}
		if err := p.s.nc.PullThread(bounded(t, p.s.ctx), id, core.WithThreadToken(p.s.tok)); err != nil {
			t.Logf("pull: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("bucket %s never reached root %s here (last: %s)", key, want, last)
}

func (p *peerSide) push(t *testing.T, key, pth string, data []byte) string {
	t.Helper()
	_, root, err := p.bc.PushPath(bounded(t, p.ctx), key, pth, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("push %s: %v", pth, err)
	}
	return root.String()
}

func (p *peerSide) pull(t *testing.T, key, pth string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := p.bc.PullPath(bounded(t, p.ctx), key, pth, &buf); err != nil {
		t.Fatalf("pull %s: %v", pth, err)
	}
	return buf.Bytes()
}

// gatewayGet is the gateway's answer for path, and its body.
func (p *peerSide) gatewayGet(t *testing.T, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(bounded(t, context.Background()), http.MethodGet, "http://"+p.d.State().Gateway+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body
}

// hasBlock says whether the side's blockstore holds c, without the network.
func (p *peerSide) hasBlock(t *testing.T, c cid.Cid) bool {
	t.Helper()
	_, err := p.d.node.LocalDAG().Get(bounded(t, context.Background()), c)
	if err != nil && !errors.Is(err, ipld.ErrNotFound) && !strings.Contains(err.Error(), ipld.ErrNotFound.Error()) {
		t.Fatal(err)
	}
	return err == nil
}

// A file pushed on A reads on B (PullPath, ListPath, the gateway), fetched over bitswap,
// and a file B pushes into a directory of A's that B never read reaches A, which reads
// it from B; each side still reads the other's.
func TestBucketsAcrossPeers(t *testing.T) {
	a, b, dbID, key := bucketPeers(t, 30*time.Second)
	big := randomBytes(t, 1<<20+12345) // several blocks
	small := []byte("written on A\n")
	a.push(t, key, "big.bin", big)
	a.push(t, key, "unread/dir/a.txt", []byte("never read on B\n"))
	rootA := a.push(t, key, "deep/dir/small.txt", small)
	unread, err := a.bc.ListPath(bounded(t, a.ctx), key, "unread/dir")
	if err != nil {
		t.Fatal(err)
	}
	b.waitRoot(t, key, rootA)

	if got := b.pull(t, key, "big.bin"); !bytes.Equal(got, big) {
		t.Fatalf("B pulled %d bytes of A's file, want %d equal", len(got), len(big))
	}
	list, err := b.bc.ListPath(bounded(t, b.ctx), key, "")
	if err != nil {
		t.Fatalf("B lists the bucket: %v", err)
	}
	if names := strings.Join(itemNames(list.Item), ","); !strings.Contains(names, "big.bin") || !strings.Contains(names, "deep") {
		t.Fatalf("B lists %s, want big.bin and deep", names)
	}
	code, body := b.gatewayGet(t, "/thread/"+dbID.String()+"/buckets/"+key+"/deep/dir/small.txt")
	if code != http.StatusOK || !bytes.Equal(body, small) {
		t.Fatalf("B's gateway: %d %q, want 200 %q", code, body, small)
	}

	// B writes into unread/dir, which it never read: its editor fetches the directory
	// from A. Then A reads what B wrote, from B.
	if b.hasBlock(t, mustCid(t, unread.Item.Cid)) {
		t.Fatal("B holds unread/dir before its push: the test proves nothing")
	}
	fromB := []byte("written on B\n")
	b.push(t, key, "unread/dir/fromB.txt", fromB)
	rootB := b.push(t, key, "fresh/fromB2.txt", randomBytes(t, 300<<10))
	a.waitRoot(t, key, rootB)
	if got := a.pull(t, key, "unread/dir/fromB.txt"); !bytes.Equal(got, fromB) {
		t.Fatalf("A pulled %q of B's file, want %q", got, fromB)
	}
	if got := b.pull(t, key, "unread/dir/a.txt"); string(got) != "never read on B\n" {
		t.Fatalf("B pulled %q of A's file beside its own", got)
	}
	code, body = a.gatewayGet(t, "/ipns/"+key+"/unread/dir/fromB.txt")
	if code != http.StatusOK || !bytes.Equal(body, fromB) {
		t.Fatalf("A's gateway: %d %q, want 200 %q", code, body, fromB)
	}
	if got := a.pull(t, key, "deep/dir/small.txt"); !bytes.Equal(got, small) {
		t.Fatalf("A pulled %q of its own file after B's write, want %q", got, small)
	}
	if got := b.pull(t, key, "fresh/fromB2.txt"); len(got) != 300<<10 {
		t.Fatalf("B pulled %d bytes of its own file", len(got))
	}
}

// A private bucket reads across peers as a public one does: what A pushed B pulls in
// plain (its link key and file keys came with the instance), and what B pushes A pulls.
func TestBucketsPrivateAcrossPeers(t *testing.T) {
	a, b, _, _ := bucketPeers(t, 30*time.Second)
	res, err := a.bc.Create(bounded(t, a.ctx), bucketsclient.WithName("secret"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	key := res.Root.Key
	onA := randomBytes(t, 700<<10)
	rootA := a.push(t, key, "dir/a.bin", onA)
	b.waitRoot(t, key, rootA)
	if got := b.pull(t, key, "dir/a.bin"); !bytes.Equal(got, onA) {
		t.Fatalf("B pulled %d bytes of A's private file, want %d equal", len(got), len(onA))
	}
	fromB := []byte("private, from B\n")
	rootB := b.push(t, key, "dir/b.txt", fromB)
	a.waitRoot(t, key, rootB)
	if got := a.pull(t, key, "dir/b.txt"); !bytes.Equal(got, fromB) {
		t.Fatalf("A pulled %q of B's private file, want %q", got, fromB)
	}
}

// Reads of CIDs a caller names stay local on a node joined to the bucket's database, even
// when its peer, connected, holds them: ListIpfsPath, PullIpfsPath, the gateway's /ipfs/
// and SetPath's source answer NotFound (404), and none of the blocks is stored here
// afterwards (each names a file of its own, so that each would fail on its own). The
// bucket's own path to the same file then reads (it may fetch).
func TestBucketsPeersCallerNamedCIDsStayLocal(t *testing.T) {
	a, b, _, key := bucketPeers(t, 30*time.Second)
	var files []cid.Cid
	var root string
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("a%d.txt", i)
		if _, _, err := a.bc.PushPath(bounded(t, a.ctx), key, name, strings.NewReader("only on A until B reads the bucket: "+name)); err != nil {
			t.Fatal(err)
		}
		list, err := a.bc.ListPath(bounded(t, a.ctx), key, name)
		if err != nil {
			t.Fatal(err)
		}
		files, root = append(files, mustCid(t, list.Item.Cid)), list.Root.Path
	}
	b.waitRoot(t, key, root)
	for _, c := range files {
		if b.hasBlock(t, c) {
			t.Fatal("B holds A's file before reading anything: the test proves nothing")
		}
	}

	_, err := b.bc.ListIpfsPath(bounded(t, b.ctx), mustResolved(t, "/ipfs/"+files[0].String()))
	if st := status.Convert(err); st.Code() != codes.NotFound {
		t.Errorf("ListIpfsPath on B of A's CID: %v, want NotFound", err)
	}
	err = b.bc.PullIpfsPath(bounded(t, b.ctx), mustResolved(t, "/ipfs/"+files[1].String()), io.Discard)
	if st := status.Convert(err); st.Code() != codes.NotFound {
		t.Errorf("PullIpfsPath on B of A's CID: %v, want NotFound", err)
	}
	if code, _ := b.gatewayGet(t, "/ipfs/"+files[2].String()); code != http.StatusNotFound {
		t.Errorf("B's gateway /ipfs/ of A's CID: %d, want 404", code)
	}
	_, err = b.bc.SetPath(bounded(t, b.ctx), key, "copy.txt", files[3])
	if st := status.Convert(err); st.Code() != codes.NotFound {
		t.Errorf("SetPath on B from A's CID: %v, want NotFound", err)
	}
	for i, c := range files {
		if b.hasBlock(t, c) {
			t.Errorf("B stored the block a caller named (a%d.txt)", i)
		}
	}

	// The bucket's own path reads, from A, and B keeps what it fetched.
	if got := string(b.pull(t, key, "a0.txt")); got != "only on A until B reads the bucket: a0.txt" {
		t.Fatalf("B pulled %q through the bucket", got)
	}
	if !b.hasBlock(t, files[0]) {
		t.Fatal("B did not keep the block its bucket read fetched")
	}
}

// A peer's record can name any CID as a bucket's path: a bucket whose path names a block
// nobody has answers on the joined node Unavailable, in one line, within the fetch's
// bounds (ListPath, PullPath, a push into it; the gateway 404), and the node serves on.
func TestBucketsPeersRecordNamingAMissingCID(t *testing.T) {
	a, b, dbID, key := bucketPeers(t, time.Second)
	// A writes, as the bucket's owner through the threads API, an instance whose path is
	// a directory's CID that no node holds.
	missing := mustCid(t, "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")
	var inst map[string]any
	if err := a.s.c.FindByID(bounded(t, a.s.ctx), dbID, buckets.CollectionName, key, &inst, db.WithTxnToken(a.s.tok)); err != nil {
		t.Fatal(err)
	}
	inst["path"] = "/ipfs/" + missing.String()
	delete(inst, "_mod") // go-threads' own, added on reads; the schema refuses it
	if err := a.s.c.Save(bounded(t, a.s.ctx), dbID, buckets.CollectionName, client.Instances{inst}, db.WithTxnToken(a.s.tok)); err != nil {
		t.Fatalf("save of the hostile instance: %v", err)
	}
	b.waitRoot(t, key, "/ipfs/"+missing.String())

	unavailable := func(what string, err error) {
		t.Helper()
		st := status.Convert(err)
		if st.Code() != codes.Unavailable || strings.Contains(st.Message(), "\n") || !strings.Contains(st.Message(), missing.String()) {
			t.Errorf("%s of a bucket at a missing CID: %v, want Unavailable in one line naming the CID", what, err)
		}
	}
	_, err := b.bc.ListPath(bounded(t, b.ctx), key, "")
	unavailable("ListPath", err)
	unavailable("PullPath", b.bc.PullPath(bounded(t, b.ctx), key, "x.txt", io.Discard))
	_, _, err = b.bc.PushPath(bounded(t, b.ctx), key, "x.txt", strings.NewReader("x"))
	unavailable("PushPath", err)
	if code, _ := b.gatewayGet(t, "/thread/"+dbID.String()+"/buckets/"+key+"/"); code != http.StatusNotFound {
		t.Errorf("B's gateway of the bucket: %d, want 404", code)
	}
	// B serves on: its other calls answer.
	if _, err := b.bc.List(bounded(t, b.ctx)); err != nil {
		t.Fatalf("B's List after the missing block: %v", err)
	}
	if b.hasBlock(t, missing) {
		t.Fatal("B holds a block nobody has")
	}

	// The call's bound holds when each block's would not: a DAG whose call may wait one
	// second in all answers the same error for the block, then at once for the next.
	d := newFetchDAG(b.d.node)
	d.blockTimeout, d.callTimeout = time.Hour, time.Second
	for i, c := range []cid.Cid{missing, mustCid(t, "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")} {
		_, err := d.Get(bounded(t, context.Background()), c)
		var fe *fetchError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "a call may wait for peers") {
			t.Fatalf("fetch %d past the call's bound: %v, want the call's fetchError", i, err)
		}
	}
}

// A pull whose file's chunk no peer sends ends in one line (NotFound or Unavailable)
// within the fetch's bounds, not in a hang: B has the file's node (a listing read it),
// and one of its chunks is gone from A, the only node that had it.
func TestBucketsPeersMissingChunkEndsThePull(t *testing.T) {
	a, b, _, key := bucketPeers(t, time.Second)
	rootA := a.push(t, key, "big.bin", randomBytes(t, 1<<20))
	b.waitRoot(t, key, rootA)
	list, err := b.bc.ListPath(bounded(t, b.ctx), key, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	file, err := b.d.node.LocalDAG().Get(bounded(t, context.Background()), mustCid(t, list.Item.Cid))
	if err != nil || len(file.Links()) < 3 {
		t.Fatalf("B's copy of the file's node: %v, %d links; want it with 4 chunks", err, len(file.Links()))
	}
	chunk := file.Links()[2].Cid
	if b.hasBlock(t, chunk) {
		t.Fatal("B holds the chunk before the pull: the test proves nothing")
	}
	if err := a.d.node.DAG().BlockStore().DeleteBlock(chunk); err != nil {
		t.Fatal(err)
	}
	err = b.bc.PullPath(bounded(t, b.ctx), key, "big.bin", io.Discard)
	st := status.Convert(err)
	if (st.Code() != codes.NotFound && st.Code() != codes.Unavailable) || strings.Contains(st.Message(), "\n") {
		t.Fatalf("pull of a file with a chunk nobody has: %v, want NotFound or Unavailable in one line", err)
	}
	if _, err := b.bc.ListPath(bounded(t, b.ctx), key, ""); err != nil {
		t.Fatalf("B's ListPath after the failed pull: %v", err)
	}
}

// GC on one peer does not lose what the bucket still holds there: B writes to the bucket
// without reading A's files, so its new root (on B only) links blocks that only A holds;
// A's collection, with that root not here, keeps them, and A and B read them after it.
// B's collection then keeps B's file, and A reads it. Blocks are kept for no grace
// period (SetGrace), so that only reachability keeps them.
func TestBucketsPeersGCKeepsWhatThePeerServes(t *testing.T) {
	a, b, _, key := bucketPeers(t, 30*time.Second)
	a.d.node.BlockTracker().SetGrace(0)
	b.d.node.BlockTracker().SetGrace(0)
	onA := randomBytes(t, 600<<10) // 3 blocks and their node
	a.push(t, key, "docs/a.bin", onA)
	small := []byte("A's, never read on B\n")
	rootA := a.push(t, key, "keep/a.txt", small)
	b.waitRoot(t, key, rootA)

	fromB := []byte("B's\n")
	rootB := b.push(t, key, "b.txt", fromB)
	a.waitRoot(t, key, rootB)
	if a.hasBlock(t, mustCid(t, strings.TrimPrefix(rootB, "/ipfs/"))) {
		t.Fatal("A holds B's root before reading it: the test proves nothing")
	}

	gc := func(p *peerSide, who string) {
		t.Helper()
		rep, err := p.d.node.CollectGarbage(bounded(t, context.Background()), blockgc.Hooks{})
		if err != nil {
			t.Fatalf("GC on %s: %v", who, err)
		}
		t.Logf("GC on %s: %+v", who, rep)
	}
	gc(a, "A")
	if got := a.pull(t, key, "keep/a.txt"); !bytes.Equal(got, small) {
		t.Fatalf("A pulled %q after its GC, want %q", got, small)
	}
	if got := b.pull(t, key, "docs/a.bin"); !bytes.Equal(got, onA) {
		t.Fatalf("B pulled %d bytes of A's file after A's GC, want %d equal", len(got), len(onA))
	}
	if got := a.pull(t, key, "docs/a.bin"); !bytes.Equal(got, onA) {
		t.Fatalf("A pulled %d bytes of its file after its GC, want %d equal", len(got), len(onA))
	}

	gc(b, "B")
	if got := a.pull(t, key, "b.txt"); !bytes.Equal(got, fromB) {
		t.Fatalf("A pulled %q of B's file after B's GC, want %q", got, fromB)
	}
	if got := b.pull(t, key, "b.txt"); !bytes.Equal(got, fromB) {
		t.Fatalf("B pulled %q of its file after its GC, want %q", got, fromB)
	}
}

// An embedded node (hubctl without a daemon: it does not pull) that joined a bucket
// database, opened again, is connected to no peer: its first fetch for the database dials
// the database's peers, and its read of A's file succeeds.
func TestBucketsPeersEmbeddedDialsTheDatabasesPeers(t *testing.T) {
	a, _, dbID, key := bucketPeers(t, 20*time.Second)
	onA := []byte("on A only\n")
	rootA := a.push(t, key, "a.txt", onA)
	info, err := a.s.c.GetDBInfo(bounded(t, a.s.ctx), dbID, db.WithManagedToken(a.s.tok))
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "node")
	open := func() *embeddedSide {
		e, err := OpenEmbedded(bounded(t, context.Background()), node.Options{Dir: dir, NoNetPulling: true, IncludePrivateAddrs: true})
		if err != nil {
			t.Fatal(err)
		}
		return embeddedAs(t, e, a.ident, dbID)
	}
	b := open()
	if err := b.tc.NewDBFromAddr(bounded(t, b.ctx), selfAddr(t, a.d.State(), dbID), info.Key,
		db.WithNewManagedToken(b.tok), db.WithNewManagedCollections(buckets.CollectionConfig())); err != nil {
		t.Fatalf("join on the embedded node: %v", err)
	}
	b.side.waitRoot(t, key, rootA)
	b.close(t)

	b = open()
	defer b.close(t)
	if got := b.side.pull(t, key, "a.txt"); !bytes.Equal(got, onA) {
		t.Fatalf("the embedded node pulled %q, want %q", got, onA)
	}
}

// embeddedSide is a peerSide on an embedded node, with go-threads' client on it.
type embeddedSide struct {
	side *peerSide
	e    *Embedded
	tc   *client.Client
	tok  thread.Token
	ctx  context.Context // the token's
}

// embeddedAs connects textile's clients to e in memory, as ident, naming the database dbID.
func embeddedAs(t *testing.T, e *Embedded, ident thread.Identity, dbID thread.ID) *embeddedSide {
	t.Helper()
	dial := append(hubDial(), grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return e.DialContext(ctx) }))
	tc, err := client.NewClient("passthrough:///embedded", dial...)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := netclient.NewClient("passthrough:///embedded", dial...)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bucketsclient.NewClient("passthrough:///embedded", dial...)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tc.GetToken(bounded(t, context.Background()), ident)
	if err != nil {
		t.Fatal(err)
	}
	ctx := thread.NewTokenContext(context.Background(), tok)
	return &embeddedSide{
		side: &peerSide{s: session{c: tc, nc: nc, ctx: ctx, tok: tok}, ctx: common.NewThreadIDContext(ctx, dbID), bc: bc},
		e:    e, tc: tc, tok: tok, ctx: ctx,
	}
}

func (b *embeddedSide) close(t *testing.T) {
	t.Helper()
	_ = b.side.bc.Close()
	_ = b.side.s.nc.Close()
	_ = b.tc.Close()
	if err := b.e.Close(); err != nil {
		t.Fatal(err)
	}
}
