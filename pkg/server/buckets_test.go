package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	ipfspath "github.com/ipfs/interface-go-ipfs-core/path"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	bucketsclient "github.com/textileio/textile/v2/api/bucketsd/client"
	bucketspb "github.com/textileio/textile/v2/api/bucketsd/pb"
	"github.com/textileio/textile/v2/api/common"
	tbuckets "github.com/textileio/textile/v2/buckets"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/hubauth"
)

// bucketEnv is a daemon with key checks, one user of it with a database, and textile's
// buckets client; ctx carries the key, the token and the database (x-textile-thread).
type bucketEnv struct {
	d   *Daemon
	reg *hubauth.Registry
	s   session
	db  thread.ID
	ctx context.Context
	bc  *bucketsclient.Client
}

const testGatewayURL = "http://gateway.test:8006"

func newBucketEnv(t *testing.T, limits Limits) *bucketEnv {
	t.Helper()
	dir := t.TempDir()
	reg := hubauth.OpenRegistry(dir)
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	opts := loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthKeys, Keys: kr, GatewayURL: testGatewayURL, Limits: limits})
	d := serveDaemon(t, opts)
	e := &bucketEnv{d: d, reg: reg, bc: bucketsClient(t, d)}
	e.s = newSession(t, d, newKey(t, reg, hubauth.UserKey))
	e.db, e.ctx = bucketDB(t, e.s)
	return e
}

// bucketDB makes a database of s's identity, as textile's client_test.go does, and
// returns it with s's context naming it.
func bucketDB(t *testing.T, s session) (thread.ID, context.Context) {
	t.Helper()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := s.c.NewDB(common.NewThreadNameContext(s.ctx, "buckets-"+id.String()[len(id.String())-6:]), id); err != nil {
		t.Fatal(err)
	}
	return id, common.NewThreadIDContext(s.ctx, id)
}

func bucketsClient(t *testing.T, d *Daemon) *bucketsclient.Client {
	t.Helper()
	c, err := bucketsclient.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// bounded is a context for one step of a test: a broken build fails instead of hanging.
func bounded(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *bucketEnv) create(t *testing.T, name string) *bucketspb.CreateResponse {
	t.Helper()
	res, err := e.bc.Create(bounded(t, e.ctx), bucketsclient.WithName(name))
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return res
}

func (e *bucketEnv) push(t *testing.T, key, pth string, data []byte) (ipfspath.Resolved, ipfspath.Resolved) {
	t.Helper()
	file, root, err := e.bc.PushPath(bounded(t, e.ctx), key, pth, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("push %s: %v", pth, err)
	}
	return file, root
}

func (e *bucketEnv) pull(t *testing.T, key, pth string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := e.bc.PullPath(bounded(t, e.ctx), key, pth, &buf); err != nil {
		t.Fatalf("pull %s: %v", pth, err)
	}
	return buf.Bytes()
}

func (e *bucketEnv) rootPath(t *testing.T, key string) string {
	t.Helper()
	res, err := e.bc.Root(bounded(t, e.ctx), key)
	if err != nil {
		t.Fatalf("root: %v", err)
	}
	return res.Root.Path
}

func itemNames(it *bucketspb.PathItem) []string {
	var names []string
	for _, c := range it.Items {
		names = append(names, c.Name)
	}
	return names
}

// textile's Go client drives every bucket method against the daemon as its own
// client_test.go drives the Hub (public buckets): create, root, links, list, push (one
// file, many, over a file and a directory), list paths of the bucket and of IPFS, pull,
// set, move, remove a path, remove.
func TestBucketsHubClient(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	ctx := e.ctx

	empty, err := e.bc.List(bounded(t, ctx))
	if err != nil || len(empty.Roots) != 0 {
		t.Fatalf("list before any bucket: %v %v", empty, err)
	}
	created := e.create(t, "mybuck")
	r := created.Root
	if r.Key == "" || r.Owner != e.s.identity || r.Name != "mybuck" || r.Version != 1 || !strings.HasPrefix(r.Path, "/ipfs/bafybei") ||
		r.Metadata == nil || r.CreatedAt == 0 || r.UpdatedAt == 0 || r.Thread != e.db.String() || len(created.Seed) != buckets.SeedSize || created.SeedCid == "" {
		t.Fatalf("create: %+v", created)
	}
	if err := buckets.CheckKey(r.Key); err != nil {
		t.Fatal(err)
	}
	if created.Links.Url != testGatewayURL+"/thread/"+e.db.String()+"/buckets/"+r.Key || created.Links.Ipns != testGatewayURL+"/ipns/"+r.Key || created.Links.Www != "" {
		t.Fatalf("create links: %+v", created.Links)
	}
	key := r.Key

	list, err := e.bc.List(bounded(t, ctx))
	if err != nil || len(list.Roots) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if l := list.Roots[0]; l.Key != key || l.Path != r.Path || l.CreatedAt != r.CreatedAt || l.UpdatedAt != r.UpdatedAt {
		t.Fatalf("list: %+v, created %+v", l, r)
	}
	root, err := e.bc.Root(bounded(t, ctx), key)
	if err != nil || root.Root.Key != key || root.Root.Path != r.Path {
		t.Fatalf("root: %v %v", root, err)
	}

	// An empty bucket lists its seed.
	lp, err := e.bc.ListPath(bounded(t, ctx), key, "")
	if err != nil {
		t.Fatal(err)
	}
	if !lp.Item.IsDir || lp.Item.Name != "mybuck" || len(lp.Item.Items) != 1 || lp.Item.Items[0].Name != buckets.SeedName || lp.Root.Path != r.Path {
		t.Fatalf("list path of an empty bucket: %+v", lp)
	}

	// PushPath: a file of several blocks, a nested one, and progress.
	big := randomBytes(t, 600<<10)
	progress := make(chan int64)
	var last int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range progress {
			last = p
		}
	}()
	file, root1, err := e.bc.PushPath(bounded(t, ctx), key, "dir1/big.bin", bytes.NewReader(big), bucketsclient.WithProgress(progress))
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if last < 256<<10 {
		t.Errorf("progress reached %d bytes of %d", last, len(big))
	}
	want, err := buckets.FileCID(bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	if file.Cid() != want {
		t.Fatalf("pushed file cid %s, want %s (buckets.FileCID)", file.Cid(), want)
	}
	if got := e.rootPath(t, key); got != root1.String() {
		t.Fatalf("root after push %s, answered %s", got, root1)
	}
	note := []byte("a note\n")
	e.push(t, key, "one/two/note.txt", note)
	if got := e.pull(t, key, "dir1/big.bin"); !bytes.Equal(got, big) {
		t.Fatalf("pulled %d bytes, pushed %d", len(got), len(big))
	}
	if got := e.pull(t, key, "/one/two/note.txt"); !bytes.Equal(got, note) {
		t.Fatalf("pulled %q", got)
	}

	lp, err = e.bc.ListPath(bounded(t, ctx), key, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(itemNames(lp.Item), ","); got != ".textileseed,dir1,one" || lp.Item.ItemsCount != 3 {
		t.Fatalf("root items %s (%d)", got, lp.Item.ItemsCount)
	}
	lp, err = e.bc.ListPath(bounded(t, ctx), key, "dir1")
	if err != nil {
		t.Fatal(err)
	}
	if !lp.Item.IsDir || lp.Item.Name != "dir1" || len(lp.Item.Items) != 1 || lp.Item.Items[0].Size < int64(len(big)) ||
		lp.Item.Items[0].Cid != want.String() || lp.Item.Path != lp.Root.Path+"/dir1" || lp.Item.Metadata == nil {
		t.Fatalf("dir1: %+v", lp.Item)
	}
	lp, err = e.bc.ListPath(bounded(t, ctx), key, "dir1/big.bin")
	if err != nil || lp.Item.IsDir || lp.Item.Cid != want.String() {
		t.Fatalf("a file's item: %+v %v", lp, err)
	}

	// ListIpfsPath and PullIpfsPath read the node's blocks by CID.
	rootCid := strings.TrimPrefix(lp.Root.Path, "/ipfs/")
	ip, err := e.bc.ListIpfsPath(bounded(t, ctx), ipfspath.New("/ipfs/"+rootCid+"/one"))
	if err != nil || !ip.Item.IsDir || len(ip.Item.Items) != 1 || ip.Item.Items[0].Name != "two" {
		t.Fatalf("list ipfs path: %+v %v", ip, err)
	}
	var pulled bytes.Buffer
	if err := e.bc.PullIpfsPath(bounded(t, ctx), ipfspath.New("/ipfs/"+rootCid+"/one/two/note.txt"), &pulled); err != nil || !bytes.Equal(pulled.Bytes(), note) {
		t.Fatalf("pull ipfs path: %q %v", pulled.Bytes(), err)
	}

	// Overwrites: a file over a file, a file over a directory.
	e.push(t, key, "one/two/note.txt", []byte("new"))
	if got := e.pull(t, key, "one/two/note.txt"); string(got) != "new" {
		t.Fatalf("overwritten file reads %q", got)
	}
	e.push(t, key, "one/two", []byte("now a file"))
	if got := e.pull(t, key, "one/two"); string(got) != "now a file" {
		t.Fatalf("a file over a directory reads %q", got)
	}

	// PushPaths: every file answered, the last answer's root is the saved one.
	q, err := e.bc.PushPaths(bounded(t, ctx), key)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for i := 0; i < 5; i++ {
		p := fmt.Sprintf("many/f%d.txt", i)
		files[p] = randomBytes(t, 1000*(i+1))
		if err := q.AddReader(p, bytes.NewReader(files[p]), int64(len(files[p]))); err != nil {
			t.Fatal(err)
		}
	}
	var results []bucketsclient.PushPathsResult
	for q.Next() {
		if q.Err() != nil {
			t.Fatal(q.Err())
		}
		results = append(results, q.Current)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if len(results) != len(files) {
		t.Fatalf("%d results for %d files", len(results), len(files))
	}
	for _, res := range results {
		want, _ := buckets.FileCID(bytes.NewReader(files[res.Path]))
		if res.Cid != want || res.Size != int64(len(files[res.Path])) {
			t.Errorf("result %s: %s %d, want %s %d", res.Path, res.Cid, res.Size, want, len(files[res.Path]))
		}
	}
	if got := e.rootPath(t, key); got != results[len(results)-1].Root.String() {
		t.Fatalf("saved root %s, last answer's %s", got, results[len(results)-1].Root)
	}
	for p, data := range files {
		if got := e.pull(t, key, p); !bytes.Equal(got, data) {
			t.Fatalf("%s reads %d bytes, pushed %d", p, len(got), len(data))
		}
	}

	// SetPath: a CID the node holds, at a path twice (replaced), then at the root.
	dir1, err := e.bc.ListPath(bounded(t, ctx), key, "many")
	if err != nil {
		t.Fatal(err)
	}
	dirCid := mustCid(t, dir1.Item.Cid)
	for i := 0; i < 2; i++ {
		if _, err := e.bc.SetPath(bounded(t, ctx), key, "nested", dirCid); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.pull(t, key, "nested/f0.txt"); !bytes.Equal(got, files["many/f0.txt"]) {
		t.Fatal("set path: nested/f0.txt differs")
	}
	lp, _ = e.bc.ListPath(bounded(t, ctx), key, "nested")
	if lp.Item.ItemsCount != 5 {
		t.Fatalf("set twice: %d items", lp.Item.ItemsCount)
	}

	// MovePath: a rename, into a directory, a file to the root.
	if err := e.bc.MovePath(bounded(t, ctx), key, "nested/f0.txt", "nested/g0.txt"); err != nil {
		t.Fatal(err)
	}
	if err := e.bc.MovePath(bounded(t, ctx), key, "nested/g0.txt", "dir1"); err != nil {
		t.Fatal(err)
	}
	if got := e.pull(t, key, "dir1/g0.txt"); !bytes.Equal(got, files["many/f0.txt"]) {
		t.Fatal("moved file differs")
	}
	if err := e.bc.MovePath(bounded(t, ctx), key, "dir1/g0.txt", ""); err != nil {
		t.Fatal(err)
	}
	if got := e.pull(t, key, "g0.txt"); !bytes.Equal(got, files["many/f0.txt"]) {
		t.Fatal("file moved to the root differs")
	}
	err = e.bc.MovePath(bounded(t, ctx), key, "nope", "x")
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "no link named") {
		t.Fatalf("move of a missing path: %v", err)
	}
	err = e.bc.MovePath(bounded(t, ctx), key, "", "x")
	wantCode(t, "move the root", err, codes.InvalidArgument, "source is root directory: move a path of the bucket")

	// RemovePath keeps the parent directory.
	before := e.rootPath(t, key)
	beforeRoot, _ := tutilResolved(t, before)
	newRoot, err := e.bc.RemovePath(bounded(t, ctx), key, "nested/f1.txt", bucketsclient.WithFastForwardOnly(beforeRoot))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.rootPath(t, key); got != newRoot.String() {
		t.Fatalf("root after remove path %s, answered %s", got, newRoot)
	}
	lp, _ = e.bc.ListPath(bounded(t, ctx), key, "nested")
	if lp.Item.ItemsCount != 3 { // f0 moved out, f1 removed
		t.Fatalf("after remove path: %d items", lp.Item.ItemsCount)
	}
	if _, err := e.bc.RemovePath(bounded(t, ctx), key, "nested/f1.txt"); status.Code(err) != codes.NotFound {
		t.Fatalf("remove of a missing path: %v", err)
	}

	// Links of a path, of a missing path.
	links, err := e.bc.Links(bounded(t, ctx), key, "dir1")
	if err != nil || links.Url != testGatewayURL+"/thread/"+e.db.String()+"/buckets/"+key+"/dir1" {
		t.Fatalf("links of a path: %v %v", links, err)
	}
	if _, err := e.bc.Links(bounded(t, ctx), key, "nope"); status.Code(err) != codes.NotFound {
		t.Fatalf("links of a missing path: %v", err)
	}

	// Create with a CID: the directory's contents and a new seed.
	boot := e.create(t, "booted")
	if _, err := e.bc.SetPath(bounded(t, ctx), boot.Root.Key, "", dirCid); err != nil {
		t.Fatal(err)
	}
	res, err := e.bc.Create(bounded(t, ctx), bucketsclient.WithName("fromcid"), bucketsclient.WithCid(dirCid))
	if err != nil {
		t.Fatal(err)
	}
	lp, err = e.bc.ListPath(bounded(t, ctx), res.Root.Key, "")
	if err != nil || lp.Item.ItemsCount != 6 || !bytes.Equal(e.pull(t, res.Root.Key, "f4.txt"), files["many/f4.txt"]) {
		t.Fatalf("create with a cid: %v %v", lp, err)
	}
	lp, _ = e.bc.ListPath(bounded(t, ctx), boot.Root.Key, "")
	if lp.Item.ItemsCount != 6 {
		t.Fatalf("set path at the root: %d items", lp.Item.ItemsCount)
	}

	// Roles through textile's client (their use: buckets_roles_test.go); archives are
	// refused, naming what is missing.
	if err := e.bc.PushPathAccessRoles(bounded(t, ctx), key, "", map[string]tbuckets.Role{"*": tbuckets.Reader}); err != nil {
		t.Fatal(err)
	}
	if roles, err := e.bc.PullPathAccessRoles(bounded(t, ctx), key, ""); err != nil || roles["*"] != tbuckets.Reader || roles[e.s.identity] != tbuckets.Admin {
		t.Fatalf("the root's roles: %v %v", roles, err)
	}
	_, err = e.bc.Archives(bounded(t, ctx), key)
	wantCode(t, "archives", err, codes.Unimplemented, "hubctl daemon does not serve /api.bucketsd.pb.APIService/Archives: hubctl has no Filecoin archiving")

	// Remove: the bucket is gone.
	if err := e.bc.Remove(bounded(t, ctx), key); err != nil {
		t.Fatal(err)
	}
	if _, err := e.bc.ListPath(bounded(t, ctx), key, ""); status.Code(err) != codes.NotFound {
		t.Fatalf("list path of a removed bucket: %v", err)
	}
	list, _ = e.bc.List(bounded(t, ctx))
	if len(list.Roots) != 2 {
		t.Fatalf("%d buckets after remove, want 2 (booted, fromcid)", len(list.Roots))
	}
}

func mustCid(t *testing.T, s string) cid.Cid {
	t.Helper()
	c, err := cid.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tutilResolved(t *testing.T, p string) (ipfspath.Resolved, error) {
	t.Helper()
	c := mustCid(t, strings.TrimPrefix(p, "/ipfs/"))
	return ipfspath.IpfsPath(c), nil
}

// Two writes from one root: one of them is refused as non-fast-forward (PushPath,
// PushPaths, RemovePath), however they interleave, since writes to a bucket take turns.
func TestBucketsFastForward(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "ff").Root.Key
	_, root := e.push(t, key, "a.txt", []byte("a"))

	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func(i int) {
			_, _, err := e.bc.PushPath(bounded(t, e.ctx), key, fmt.Sprintf("b%d.txt", i), bytes.NewReader([]byte("b")), bucketsclient.WithFastForwardOnly(root))
			errs <- err
		}(i)
	}
	refused := 0
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			wantCode(t, "second push", err, codes.FailedPrecondition, "update is non-fast-forward")
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d of two pushes from one root refused, want 1", refused)
	}

	// PushPaths and RemovePath with the stale root.
	err := e.pushPathsErr(t, e.ctx, key, root.String(), "c.txt")
	wantCode(t, "push paths from a stale root", err, codes.FailedPrecondition, "update is non-fast-forward")
	_, err = e.bc.RemovePath(bounded(t, e.ctx), key, "a.txt", bucketsclient.WithFastForwardOnly(root))
	wantCode(t, "remove path from a stale root", err, codes.FailedPrecondition, "update is non-fast-forward")
}

// blockingReader gives data, then blocks until its context ends.
type blockingReader struct {
	data []byte
	ctx  context.Context
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		<-r.ctx.Done()
		return 0, r.ctx.Err()
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// A push cut off mid-stream (its context cancelled while it sends) leaves the bucket as
// it was: the same root, no partial file; the next write from that root is accepted.
func TestBucketsPushCutOffLeavesBucket(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "cut").Root.Key
	_, root := e.push(t, key, "kept.txt", []byte("kept"))

	// PushPath: cancelled once the server has read part of the file.
	ctx, cancel := context.WithCancel(bounded(t, e.ctx))
	progress := make(chan int64)
	pushed := make(chan error, 1)
	go func() {
		_, _, err := e.bc.PushPath(ctx, key, "partial.bin", &blockingReader{data: randomBytes(t, 1<<20), ctx: ctx}, bucketsclient.WithProgress(progress), bucketsclient.WithFastForwardOnly(root))
		pushed <- err
	}()
	wait := time.NewTimer(time.Minute)
	defer wait.Stop()
	select {
	case <-progress: // the server has read 256 KiB
	case <-wait.C:
		t.Fatal("no progress from the push")
	}
	cancel()
	go func() {
		for range progress {
		}
	}()
	if err := <-pushed; status.Code(err) != codes.Canceled {
		t.Fatalf("cut-off push: %v", err)
	}
	e.afterCutOff(t, key, root, "partial.bin")

	// PushPaths: one file complete, one cut off; nothing of either is saved.
	ctx, cancel = context.WithCancel(bounded(t, e.ctx))
	defer cancel()
	conn := mustDial(t, e.d.State().API)
	stream, err := bucketspb.NewAPIServiceClient(conn).PushPaths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	send := func(m *bucketspb.PushPathsRequest) {
		t.Helper()
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	send(&bucketspb.PushPathsRequest{Payload: &bucketspb.PushPathsRequest_Header_{Header: &bucketspb.PushPathsRequest_Header{Key: key, Root: root.String()}}})
	send(pushChunk("whole.txt", []byte("whole")))
	send(pushChunk("whole.txt", nil))
	if _, err := stream.Recv(); err != nil { // whole.txt answered
		t.Fatal(err)
	}
	send(pushChunk("partial2.bin", randomBytes(t, 32<<10)))
	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("cut-off push paths: %v", err)
	}
	e.afterCutOff(t, key, root, "whole.txt")
	e.afterCutOff(t, key, root, "partial2.bin")
}

// afterCutOff checks that a cut-off push changed nothing: the root is root and the path
// is missing, once the cut-off push has let go of the bucket (a push from root waits
// for it, and is accepted only if the bucket is still at root).
func (e *bucketEnv) afterCutOff(t *testing.T, key string, root ipfspath.Resolved, pth string) {
	t.Helper()
	if got := e.rootPath(t, key); got != root.String() {
		t.Fatalf("after a cut-off push of %s the root is %s, was %s", pth, got, root)
	}
	if _, err := e.bc.ListPath(bounded(t, e.ctx), key, pth); status.Code(err) != codes.NotFound {
		t.Fatalf("%s after a cut-off push: %v", pth, err)
	}
	// Remove a path that is not there from root: refused as missing, not as stale.
	_, err := e.bc.RemovePath(bounded(t, e.ctx), key, "never-there", bucketsclient.WithFastForwardOnly(root))
	if status.Code(err) != codes.NotFound {
		t.Fatalf("a write from the root before the cut-off push of %s: %v (the push was saved)", pth, err)
	}
}

func pushChunk(pth string, data []byte) *bucketspb.PushPathsRequest {
	return &bucketspb.PushPathsRequest{Payload: &bucketspb.PushPathsRequest_Chunk_{Chunk: &bucketspb.PushPathsRequest_Chunk{Path: pth, Data: data}}}
}

// What the JS client sends, which the Go client cannot: a PushPaths header without
// paths, the chunks of several files interleaved, each file ended by a chunk without
// data; each file is answered, and the bucket holds every file byte for byte.
func TestBucketsPushPathsInterleaved(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "js").Root.Key
	stream, err := bucketspb.NewAPIServiceClient(mustDial(t, e.d.State().API)).PushPaths(bounded(t, e.ctx))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&bucketspb.PushPathsRequest{Payload: &bucketspb.PushPathsRequest_Header_{Header: &bucketspb.PushPathsRequest_Header{Key: key}}}); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var names []string
	for i := 0; i < 4; i++ {
		p := fmt.Sprintf("js/file%d.bin", i)
		files[p] = randomBytes(t, 100<<10+i)
		names = append(names, p)
	}
	for off := 0; off < 101<<10; off += 32 << 10 {
		for _, p := range names {
			data := files[p]
			if off < len(data) {
				end := min(off+32<<10, len(data))
				if err := stream.Send(pushChunk(p, data[off:end])); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, p := range names {
		if err := stream.Send(pushChunk(p, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	answered := map[string]bool{}
	var last *bucketspb.PushPathsResponse
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		answered[res.Path] = true
		last = res
	}
	if len(answered) != len(files) {
		t.Fatalf("answered %v", answered)
	}
	// The last answer's root is what is stored, times included (go-threads keeps
	// numbers as floats).
	saved, err := e.bc.Root(bounded(t, e.ctx), key)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Root.Path != last.Root.Path || saved.Root.UpdatedAt != last.Root.UpdatedAt || saved.Root.CreatedAt != last.Root.CreatedAt || saved.Root.Metadata.UpdatedAt != last.Root.Metadata.UpdatedAt {
		t.Fatalf("saved root %s (updated %d), last answer's %s (updated %d)", saved.Root.Path, saved.Root.UpdatedAt, last.Root.Path, last.Root.UpdatedAt)
	}
	for p, data := range files {
		if got := e.pull(t, key, p); sha256.Sum256(got) != sha256.Sum256(data) {
			t.Fatalf("%s differs", p)
		}
	}
}

// A PushPaths stream may have MaxOpenPushFiles files open at once: one more is refused,
// and nothing of the stream is saved.
func TestBucketsPushPathsOpenFilesBounded(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "open").Root.Key
	before := e.rootPath(t, key)
	stream, err := bucketspb.NewAPIServiceClient(mustDial(t, e.d.State().API)).PushPaths(bounded(t, e.ctx))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&bucketspb.PushPathsRequest{Payload: &bucketspb.PushPathsRequest_Header_{Header: &bucketspb.PushPathsRequest_Header{Key: key}}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= MaxOpenPushFiles; i++ {
		if err := stream.Send(pushChunk(fmt.Sprintf("f%d", i), []byte("x"))); err != nil {
			break // the server has ended the stream
		}
	}
	_, err = stream.Recv()
	wantCode(t, "one file too many", err, codes.InvalidArgument, fmt.Sprintf("more than %d files open at once in one PushPaths stream: end a file (its chunk without data) before starting another", MaxOpenPushFiles))
	if got := e.rootPath(t, key); got != before {
		t.Fatalf("root %s after a refused push, was %s", got, before)
	}
}

// Hostile input: paths with "..", ".", empty segments and the seed, a malformed or
// missing key, a missing path, a missing bucket; a bucket of another identity (every
// method answers as for a database not theirs), no database, no token, no key.
func TestBucketsHostileInput(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "mine").Root.Key
	e.push(t, key, "a/b.txt", []byte("b"))
	ctx := e.ctx

	for _, bad := range []string{"../x", "a/../../x", "a/./b.txt", "a//b.txt", buckets.SeedName, "a/" + buckets.SeedName, "a\x00b"} {
		if _, _, err := e.bc.PushPath(bounded(t, ctx), key, bad, bytes.NewReader([]byte("x"))); status.Code(err) != codes.InvalidArgument {
			t.Errorf("push %q: %v", bad, err)
		}
		if _, err := e.bc.ListPath(bounded(t, ctx), key, bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("list %q: %v", bad, err)
		}
		if err := e.bc.PullPath(bounded(t, ctx), key, bad, io.Discard); status.Code(err) != codes.InvalidArgument {
			t.Errorf("pull %q: %v", bad, err)
		}
		if err := e.bc.MovePath(bounded(t, ctx), key, "a/b.txt", bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("move to %q: %v", bad, err)
		}
		if _, err := e.bc.RemovePath(bounded(t, ctx), key, bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("remove %q: %v", bad, err)
		}
		if err := e.pushPathsErr(t, ctx, key, "", bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("push paths %q: %v", bad, err)
		}
	}
	// What go-threads cannot hand to the collection's JavaScript validator is refused
	// up front, in one line naming the character (not at the save, in the collection's
	// words).
	for _, bad := range []string{"it's.txt", `a"b`, `a\b`, "a\nb", "a\u2028b"} {
		_, _, err := e.bc.PushPath(bounded(t, ctx), key, bad, bytes.NewReader([]byte("x")))
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "not allowed in a path") {
			t.Errorf("push %q: %v", bad, err)
		}
		if err := e.pushPathsErr(t, ctx, key, "", bad); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "not allowed in a path") {
			t.Errorf("push paths %q: %v", bad, err)
		}
	}
	if _, err := e.bc.Create(bounded(t, ctx), bucketsclient.WithName("it's")); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "is not allowed in a bucket name") {
		t.Errorf("create a bucket named it's: %v", err)
	}
	if got := e.pull(t, key, "a/b.txt"); string(got) != "b" {
		t.Fatalf("a/b.txt reads %q after the refusals", got)
	}
	// The seed is listed, never served as a path.
	if err := e.bc.PullPath(bounded(t, ctx), key, buckets.SeedName, io.Discard); status.Code(err) != codes.InvalidArgument {
		t.Errorf("pull the seed: %v", err)
	}

	missingKey, _ := buckets.NewKey()
	for what, err := range map[string]error{
		"root":      errOf(e.bc.Root(bounded(t, ctx), missingKey)),
		"list path": errOf(e.bc.ListPath(bounded(t, ctx), missingKey, "")),
		"push":      errOf2(e.bc.PushPath(bounded(t, ctx), missingKey, "x", bytes.NewReader([]byte("x")))),
		"pull":      e.bc.PullPath(bounded(t, ctx), missingKey, "x", io.Discard),
		"remove":    e.bc.Remove(bounded(t, ctx), missingKey),
	} {
		if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "bucket "+missingKey+" not found") {
			t.Errorf("%s of a missing bucket: %v", what, err)
		}
	}
	if _, err := e.bc.Root(bounded(t, ctx), "not-a-key"); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a malformed key: %v", err)
	}
	if _, err := e.bc.Root(bounded(t, ctx), ""); status.Code(err) != codes.InvalidArgument {
		t.Errorf("no key: %v", err)
	}
	if err := e.bc.PullPath(bounded(t, ctx), key, "a/nope", io.Discard); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), `no link named "nope"`) {
		t.Errorf("pull of a missing path: %v", err)
	}
	if err := e.bc.PullPath(bounded(t, ctx), key, "a/b.txt/c", io.Discard); status.Code(err) != codes.NotFound {
		t.Errorf("pull of a path under a file: %v", err)
	}
	if _, _, err := e.bc.PushPath(bounded(t, ctx), key, "a/b.txt/c", bytes.NewReader([]byte("x"))); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("push under a file: %v", err)
	}
	if err := e.bc.PullPath(bounded(t, ctx), key, "a", io.Discard); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "node is a directory") {
		t.Errorf("pull of a directory: %v", err)
	}
	if err := e.bc.MovePath(bounded(t, ctx), key, "a", "a/b.txt"); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("move a directory onto a file: %v", err)
	}
	e.push(t, key, "a/sub/c.txt", []byte("c"))
	if err := e.bc.MovePath(bounded(t, ctx), key, "a", "a/sub/d"); status.Code(err) != codes.InvalidArgument {
		t.Errorf("move a directory into itself: %v", err)
	}
	// A CID this node does not hold is not fetched.
	absent, err := buckets.FileCID(bytes.NewReader(randomBytes(t, 100)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.bc.ListIpfsPath(bounded(t, ctx), ipfspath.IpfsPath(absent)); status.Code(err) != codes.NotFound {
		t.Errorf("list an absent cid: %v", err)
	}
	if _, err := e.bc.SetPath(bounded(t, ctx), key, "x", absent); status.Code(err) != codes.NotFound {
		t.Errorf("set an absent cid: %v", err)
	}
	if _, err := e.bc.Create(bounded(t, ctx), bucketsclient.WithName("x"), bucketsclient.WithCid(absent)); status.Code(err) != codes.NotFound {
		t.Errorf("create from an absent cid: %v", err)
	}
	file, _ := e.push(t, key, "f.txt", []byte("a file"))
	if _, err := e.bc.Create(bounded(t, ctx), bucketsclient.WithName("x"), bucketsclient.WithCid(file.Cid())); status.Code(err) != codes.InvalidArgument {
		t.Errorf("create from a file's cid: %v", err)
	}

	// Another identity, with its own database, names Alice's: on a bucket that gives it
	// no role (a private one), every method answers as for a database that is not
	// theirs. (A public bucket is everyone's to read: buckets_roles_test.go.)
	bob := newSession(t, e.d, newKey(t, e.reg, hubauth.UserKey))
	bobDB, bobCtx := bucketDB(t, bob)
	_ = bobDB
	onAlice := common.NewThreadIDContext(bob.ctx, e.db)
	hidden, err := e.bc.Create(bounded(t, ctx), bucketsclient.WithName("hidden"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	e.push(t, hidden.Root.Key, "a/b.txt", []byte("b"))
	e.everyMethod(t, onAlice, hidden.Root.Key, codes.NotFound, "db not found")
	// Bob's own database does not have Alice's bucket.
	if _, err := e.bc.Root(bounded(t, bobCtx), key); status.Code(err) != codes.NotFound || strings.Contains(err.Error(), "db not found") {
		t.Errorf("alice's key in bob's database: %v", err)
	}
	// No database, no token, no key.
	e.everyMethod(t, bob.ctx, key, codes.InvalidArgument, "db required")
	noToken := common.NewThreadIDContext(hubContext(t, newKey(t, e.reg, hubauth.UserKey)), e.db)
	e.everyMethod(t, noToken, key, codes.Unauthenticated, "Token required")
	noKey := common.NewThreadIDContext(thread.NewTokenContext(context.Background(), e.s.tok), e.db)
	e.everyMethod(t, noKey, key, codes.Unauthenticated, "")
	if got := e.pull(t, key, "a/b.txt"); string(got) != "b" {
		t.Fatalf("a/b.txt reads %q after the refusals", got)
	}
}

// pushPathsErr pushes one small file at pth with PushPaths (header root: root) and
// returns how the stream ended. (textile's client races with itself when the server
// ends a stream early: its Close and its sending goroutine use the stream at once.)
func (e *bucketEnv) pushPathsErr(t *testing.T, ctx context.Context, key, root, pth string) error {
	t.Helper()
	stream, err := bucketspb.NewAPIServiceClient(mustDial(t, e.d.State().API)).PushPaths(bounded(t, ctx))
	if err != nil {
		return err
	}
	for _, m := range []*bucketspb.PushPathsRequest{
		{Payload: &bucketspb.PushPathsRequest_Header_{Header: &bucketspb.PushPathsRequest_Header{Key: key, Root: root}}},
		pushChunk(pth, []byte("x")), pushChunk(pth, nil),
	} {
		if stream.Send(m) != nil {
			break // ended by the server: Recv says how
		}
	}
	_ = stream.CloseSend()
	for {
		if _, err := stream.Recv(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// pushPathErr pushes one small file with PushPath and returns how the stream ended.
// (textile's client returns io.EOF, not the status, when the server refuses the stream
// before its header is sent: it never reads the stream's end.)
func (e *bucketEnv) pushPathErr(t *testing.T, ctx context.Context, key, pth string) error {
	t.Helper()
	stream, err := bucketspb.NewAPIServiceClient(mustDial(t, e.d.State().API)).PushPath(bounded(t, ctx))
	if err != nil {
		return err
	}
	for _, m := range []*bucketspb.PushPathRequest{
		{Payload: &bucketspb.PushPathRequest_Header_{Header: &bucketspb.PushPathRequest_Header{Key: key, Path: pth}}},
		{Payload: &bucketspb.PushPathRequest_Chunk{Chunk: []byte("x")}},
	} {
		if stream.Send(m) != nil {
			break // ended by the server: Recv says how
		}
	}
	_ = stream.CloseSend()
	for {
		if _, err := stream.Recv(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

func errOf2[T, U any](_ T, _ U, err error) error { return err }

// everyMethod calls every bucket method on key with ctx and wants each refused with
// code (and msg, unless empty).
func (e *bucketEnv) everyMethod(t *testing.T, ctx context.Context, key string, code codes.Code, msg string) {
	t.Helper()
	root, _ := tutilResolved(t, e.rootPath(t, key))
	ctx = bounded(t, ctx)
	pushPathsErr := e.pushPathsErr(t, ctx, key, "", "x")
	for what, err := range map[string]error{
		"List":         errOf(e.bc.List(ctx)),
		"Create":       errOf(e.bc.Create(ctx, bucketsclient.WithName("x"))),
		"Root":         errOf(e.bc.Root(ctx, key)),
		"Links":        errOf(e.bc.Links(ctx, key, "")),
		"ListPath":     errOf(e.bc.ListPath(ctx, key, "")),
		"PushPath":     e.pushPathErr(t, ctx, key, "x"),
		"PushPaths":    pushPathsErr,
		"PullPath":     e.bc.PullPath(ctx, key, "a/b.txt", io.Discard),
		"SetPath":      errOf(e.bc.SetPath(ctx, key, "x", root.Cid())),
		"MovePath":     e.bc.MovePath(ctx, key, "a/b.txt", "c.txt"),
		"Remove":       e.bc.Remove(ctx, key),
		"RemovePath":   errOf(e.bc.RemovePath(ctx, key, "a/b.txt")),
		"PullRoles":    errOf(e.bc.PullPathAccessRoles(ctx, key, "")),
		"PushRoles":    e.bc.PushPathAccessRoles(ctx, key, "", map[string]tbuckets.Role{}),
		"ArchiveWatch": e.bc.ArchiveWatch(ctx, key, make(chan string, 1)),
	} {
		if what == "ArchiveWatch" && code != codes.Unauthenticated {
			// Archive methods answer Unimplemented to anyone with a token.
			if status.Code(err) != codes.Unimplemented {
				t.Errorf("%s: %v, want Unimplemented", what, err)
			}
			continue
		}
		st := status.Convert(err)
		if err == nil || st.Code() != code || (msg != "" && st.Message() != msg) {
			t.Errorf("%s: %v %q, want %v %q", what, st.Code(), st.Message(), code, msg)
		}
	}
}

// A ListPath answer stays under the message limit: a directory with more items than fit
// lists the first ones, and counts them all.
func TestBucketsListPathBounded(t *testing.T) {
	e := newBucketEnv(t, Limits{MaxMessageSize: 64 << 10})
	key := e.create(t, "wide").Root.Key
	q, err := e.bc.PushPaths(bounded(t, e.ctx), key)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := 0; i < n; i++ {
		if err := q.AddReader(fmt.Sprintf("wide/a-rather-long-file-name-to-fill-the-answer-%04d.txt", i), bytes.NewReader([]byte{byte(i)}), 1); err != nil {
			t.Fatal(err)
		}
	}
	for q.Next() {
		if q.Err() != nil {
			t.Fatal(q.Err())
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	lp, err := e.bc.ListPath(bounded(t, e.ctx), key, "wide")
	if err != nil {
		t.Fatal(err)
	}
	if lp.Item.ItemsCount != n || len(lp.Item.Items) == 0 || len(lp.Item.Items) >= n {
		t.Fatalf("a directory of %d: %d items listed, %d counted", n, len(lp.Item.Items), lp.Item.ItemsCount)
	}

	// The bucket keeps metadata for every path: once that outgrows an answer, Root,
	// List and ListPath answer the bucket without it, and still answer.
	q, err = e.bc.PushPaths(bounded(t, e.ctx), key)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2*n; i++ {
		if err := q.AddReader(fmt.Sprintf("more/another-rather-long-file-name-to-fill-the-metadata-%04d.txt", i), bytes.NewReader([]byte{byte(i)}), 1); err != nil {
			t.Fatal(err)
		}
	}
	for q.Next() {
		if q.Err() != nil {
			t.Fatal(q.Err())
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	root, err := e.bc.Root(bounded(t, e.ctx), key)
	if err != nil {
		t.Fatalf("root of a bucket whose metadata outgrows an answer: %v", err)
	}
	if root.Root.Metadata == nil || len(root.Root.PathMetadata) != 0 {
		t.Fatalf("root: metadata %v, %d path entries", root.Root.Metadata, len(root.Root.PathMetadata))
	}
	if list, err := e.bc.List(bounded(t, e.ctx)); err != nil || len(list.Roots) != 1 || list.Roots[0].Path != root.Root.Path {
		t.Fatalf("list: %v %v", list, err)
	}
	if lp, err := e.bc.ListPath(bounded(t, e.ctx), key, ""); err != nil || lp.Item.ItemsCount != 3 || lp.Root.Path != root.Root.Path {
		t.Fatalf("list path: %v %v", lp, err)
	}
}

// The buckets collection comes with the first bucket, within the collection quota (as
// the mailbox's collections do); a database that already has a foreign collection named
// buckets is refused with a message that says so.
func TestBucketsCollectionQuotaAndForeignCollection(t *testing.T) {
	dir := t.TempDir()
	reg := hubauth.OpenRegistry(dir)
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	d := serveDaemon(t, loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthKeys, Keys: kr, Quotas: hubauth.Quotas{CollectionsPerDB: 1}}))
	bc := bucketsClient(t, d)
	s := newSession(t, d, newKey(t, reg, hubauth.UserKey))
	id, ctx := bucketDB(t, s)
	if err := s.c.NewCollection(bounded(t, ctx), id, db.CollectionConfig{Name: "notes", Schema: mustSchema(t, goodSchema)}, db.WithManagedToken(s.tok)); err != nil {
		t.Fatal(err)
	}
	_, err = bc.Create(bounded(t, ctx), bucketsclient.WithName("over"))
	wantCode(t, "create over the collection quota", err, codes.ResourceExhausted, hubauth.CollectionLimitMessage(1, 1, 1))

	// A collection named buckets that is not the Hub's.
	id2, ctx2 := bucketDB(t, s)
	if err := s.c.NewCollection(bounded(t, ctx2), id2, db.CollectionConfig{Name: buckets.CollectionName, Schema: mustSchema(t, `{"type":"object","required":["_id","x"],"properties":{"_id":{"type":"string"},"x":{"type":"string"}}}`)}, db.WithManagedToken(s.tok)); err != nil {
		t.Fatal(err)
	}
	_, err = bc.Create(bounded(t, ctx2), bucketsclient.WithName("foreign"))
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "not the Hub's buckets collection") {
		t.Fatalf("create in a foreign buckets collection: %v", err)
	}
}

// Without key checks (--auth none, the embedded node) a database made without a token
// holds buckets too: nobody owns them (owner ""), and the database header is still
// required.
func TestBucketsWithoutAuth(t *testing.T) {
	d, _ := startDaemonOn(t, t.TempDir(), hubauth.AuthNone)
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(bounded(t, context.Background()), id); err != nil {
		t.Fatal(err)
	}
	bc := bucketsClient(t, d)
	ctx := common.NewThreadIDContext(context.Background(), id)
	res, err := bc.Create(bounded(t, ctx), bucketsclient.WithName("open"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Root.Owner != "" {
		t.Fatalf("owner %q, want none", res.Root.Owner)
	}
	if _, _, err := bc.PushPath(bounded(t, ctx), res.Root.Key, "a/b.txt", bytes.NewReader([]byte("b"))); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bc.PullPath(bounded(t, ctx), res.Root.Key, "a/b.txt", &buf); err != nil || buf.String() != "b" {
		t.Fatalf("pull: %q %v", buf.String(), err)
	}
	_, err = bc.List(bounded(t, context.Background()))
	wantCode(t, "no database", err, codes.InvalidArgument, "db required")
}

// An operator (an account key) reaches every database's buckets, but the collection's
// write validator still lets only a bucket's owner change it: without the owner's token
// a write is refused, naming the fix, and changes nothing.
func TestBucketsOperatorWithoutTokenCannotWrite(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "owned").Root.Key
	e.push(t, key, "a.txt", []byte("a"))
	before := e.rootPath(t, key)
	op := common.NewThreadIDContext(hubContext(t, newKey(t, e.reg, hubauth.AccountKey)), e.db)
	var buf bytes.Buffer
	if err := e.bc.PullPath(bounded(t, op), key, "a.txt", &buf); err != nil || buf.String() != "a" {
		t.Fatalf("an operator's read: %q %v", buf.String(), err)
	}
	err := e.bc.Remove(bounded(t, op), key)
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "call with the owner's token") {
		t.Fatalf("an operator's remove without the owner's token: %v", err)
	}
	err = e.pushPathErr(t, op, key, "b.txt")
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("an operator's push without the owner's token: %v", err)
	}
	if got := e.rootPath(t, key); got != before {
		t.Fatalf("root %s after refused writes, was %s", got, before)
	}
}

// patternReader gives n bytes of a pattern, never holding more than one read's worth.
type patternReader struct{ n, off int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n-r.off)
	for i := range p[:k] {
		p[i] = byte((r.off + int64(i)) * 2654435761 >> 13)
	}
	r.off += k
	return int(k), nil
}

// A push streams: the server never holds the file. While 64 MiB go through PushPath,
// what the process keeps live (after a collection, sampled as the server reports its
// progress) grows by far less than the file: holding it, even once, is 64 MiB. The bound
// is half the file because the process also holds the node's badger stores, whose
// memtable swaps alone add up to about 20 MiB at a sample (7 to 19 MiB seen in runs).
func TestBucketsPushStreams(t *testing.T) {
	// The live heap is the process's: measured beside the goroutines other tests leave
	// winding down, it grew by 35 to 65 MiB in runs of the whole package (and under 10 MiB
	// alone). The test runs in a process of its own.
	if os.Getenv("HUBCTL_TEST_ALONE") != t.Name() {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
		cmd.Env = append(os.Environ(), "HUBCTL_TEST_ALONE="+t.Name())
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
			t.Fatalf("%s in a process of its own: %v\n%s", t.Name(), err, out)
		}
		if i := bytes.Index(out, []byte("live heap grew")); i >= 0 {
			t.Log(string(out[i:][:bytes.IndexByte(out[i:], '\n')]))
		}
		return
	}
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "big").Root.Key
	live := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	const size = 64 << 20
	before := live()
	var peak int64
	progress := make(chan int64)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		next := int64(4 << 20)
		for p := range progress {
			if p >= next {
				next += 4 << 20
				peak = max(peak, live()-before)
			}
		}
	}()
	file, _, err := e.bc.PushPath(bounded(t, e.ctx), key, "big.bin", &patternReader{n: size}, bucketsclient.WithProgress(progress))
	if err != nil {
		t.Fatal(err)
	}
	<-sampled
	want, err := buckets.FileCID(&patternReader{n: size})
	if err != nil {
		t.Fatal(err)
	}
	if file.Cid() != want {
		t.Fatalf("cid %s, want %s", file.Cid(), want)
	}
	t.Logf("live heap grew by at most %d MiB during a push of %d MiB", peak>>20, size>>20)
	if peak > size/2 {
		t.Fatalf("live heap grew by %d MiB during a push of %d MiB: the file is held, not streamed", peak>>20, size>>20)
	}
}

// Reads of buckets skip the Hub's read filter only where it would change nothing
// (buckets.ReadFilterKeeps), and only while the collection's filter is the Hub's: once
// the database's owner gives the collection another (here one that hides every bucket,
// through the threads API's UpdateCollection), Root, List and ListPath answer what that
// filter lets through, as go-threads' own reads do.
func TestBucketsReadThroughTheCollectionsOwnFilter(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "seen").Root.Key
	e.push(t, key, "a.txt", []byte("a"))
	if _, err := e.bc.Root(bounded(t, e.ctx), key); err != nil {
		t.Fatalf("root before the filter changed: %v", err)
	}
	cfg := buckets.CollectionConfig()
	cfg.ReadFilter = "return null"
	if err := e.s.c.UpdateCollection(bounded(t, e.ctx), e.db, cfg, db.WithManagedToken(e.s.tok)); err != nil {
		t.Fatal(err)
	}
	_, err := e.bc.Root(bounded(t, e.ctx), key)
	hidden := status.Convert(bucketNotFound(key)).Message()
	wantCode(t, "root through a filter that hides it", err, codes.NotFound, hidden)
	_, err = e.bc.ListPath(bounded(t, e.ctx), key, "a.txt")
	wantCode(t, "list path through a filter that hides it", err, codes.NotFound, hidden)
	list, err := e.bc.List(bounded(t, e.ctx))
	if err != nil || len(list.Roots) != 0 {
		t.Fatalf("list through a filter that hides every bucket: %v %v", list, err)
	}
}

// A directory's listing describes a raw child (a small file's one block) from its link,
// without reading the block (linkItem): every item must still be what reading the node
// gives (buckets.NewItem), for raw files, a file of many chunks and a directory.
func TestBucketsListingFromLinksMatchesTheNodes(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "sizes").Root.Key
	e.push(t, key, "d/small.txt", []byte("small"))
	e.push(t, key, "d/empty.txt", nil)
	e.push(t, key, "d/big.bin", randomBytes(t, 3<<20))
	e.push(t, key, "d/sub/x.txt", []byte("x"))
	res, err := e.bc.ListPath(bounded(t, e.ctx), key, "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Item.Items) != 4 {
		t.Fatalf("%d items, want 4", len(res.Item.Items))
	}
	raw := 0
	for _, got := range res.Item.Items {
		c, err := cid.Decode(got.Cid)
		if err != nil {
			t.Fatal(err)
		}
		if c.Type() == cid.Raw {
			raw++
		}
		n, err := e.d.node.LocalDAG().Get(bounded(t, e.ctx), c)
		if err != nil {
			t.Fatal(err)
		}
		want, err := buckets.NewItem(bounded(t, e.ctx), e.d.node.LocalDAG(), n, got.Path, false)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != want.Name || got.Size != want.Size || got.IsDir != want.IsDir || int(got.ItemsCount) != want.ItemsCount || got.Cid != want.Cid {
			t.Errorf("%s: listed {%s %d dir=%v items=%d}, the node is {%s %d dir=%v items=%d}", got.Path, got.Name, got.Size, got.IsDir, got.ItemsCount, want.Name, want.Size, want.IsDir, want.ItemsCount)
		}
	}
	if raw != 2 {
		t.Fatalf("%d raw items, want 2 (small.txt, empty.txt): the test no longer covers linkItem's short cut", raw)
	}
}
