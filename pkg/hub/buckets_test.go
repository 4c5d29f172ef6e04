package hub

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/textileio/go-threads/core/thread"
	bucketsclient "github.com/textileio/textile/v2/api/bucketsd/client"
	bpb "github.com/textileio/textile/v2/api/bucketsd/pb"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// bucketUser is a daemon user with hubctl's client and textile's official buckets client.
type bucketUser struct {
	*mailUser
	bc *bucketsclient.Client
}

func newBucketUser(t *testing.T) *bucketUser {
	t.Helper()
	tgt, k, _ := keysDaemon(t, 0)
	u := newMailUser(t, tgt, k, "alice")
	bc, err := bucketsclient.NewClient(tgt.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(common.Credentials{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bc.Close() })
	return &bucketUser{mailUser: u, bc: bc}
}

// official is textile's client's context for db: the same user's token, the thread header.
func (u *bucketUser) official(t *testing.T, db thread.ID) context.Context {
	return common.NewThreadIDContext(u.ctx(t), db)
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func files(m map[string][]byte) []PushFile {
	var out []PushFile
	for p, data := range m {
		data := data
		out = append(out, PushFile{Path: p, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// The client machinery end to end against a daemon: the default database made once and
// found again, a bucket created and found by name and key, a multi-chunk file pushed and
// pulled byte for byte, many files through PushPaths, a walk, move, remove; and textile's
// own client sees the same bucket and bytes.
func TestBucketsRoundTrip(t *testing.T) {
	u := newBucketUser(t)
	ctx := testCtx(t)
	if _, err := u.c.BucketsDB(ctx, "", false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no buckets database yet: want ErrNotFound, got %v", err)
	}
	db, err := u.c.BucketsDB(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	again, err := u.c.BucketsDB(ctx, "", true)
	if err != nil || again != db {
		t.Fatalf("second BucketsDB: %v, %v (want %v)", again, err, db)
	}
	bs := u.c.Buckets(db)
	b, err := bs.Create(ctx, "site", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if b.Key == "" || b.Root == "" || b.DB != db.String() || b.Links == nil {
		t.Fatalf("created bucket: %+v", b)
	}
	for _, ref := range []string{"site", b.Key} {
		got, err := bs.Resolve(ctx, ref)
		if err != nil || got.Key != b.Key {
			t.Fatalf("Resolve(%q) = %+v, %v", ref, got, err)
		}
	}

	big := randomBytes(t, 2*BucketChunk+17) // several chunks, several blocks
	var sent int64
	res, err := bs.PushPath(ctx, b.Key, "dir/big.bin", bytes.NewReader(big), PushOptions{Progress: func(n int64) { sent = n }})
	if err != nil {
		t.Fatal(err)
	}
	if sent != int64(len(big)) || res.CID == "" || res.Root == "" || res.Root == b.Root {
		t.Fatalf("push result %+v after %d bytes", res, sent)
	}
	var pulled bytes.Buffer
	if n, err := bs.PullPath(ctx, b.Key, "dir/big.bin", &pulled, nil); err != nil || n != int64(len(big)) || !bytes.Equal(pulled.Bytes(), big) {
		t.Fatalf("pull: %d bytes, %v; equal %v", n, err, bytes.Equal(pulled.Bytes(), big))
	}
	var official bytes.Buffer
	if err := u.bc.PullPath(u.official(t, db), b.Key, "dir/big.bin", &official); err != nil || !bytes.Equal(official.Bytes(), big) {
		t.Fatalf("textile's client pulls %d bytes, %v", official.Len(), err)
	}

	tree := map[string][]byte{"a.txt": []byte("a"), "sub/b.txt": []byte("bb"), "sub/deeper/c.txt": randomBytes(t, 70000)}
	var got []string
	root, err := bs.PushPaths(ctx, b.Key, files(tree), PushOptions{}, func(r PushResult) { got = append(got, r.Path) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tree) {
		t.Fatalf("PushPaths reported %v", got)
	}
	cur, err := bs.Root(ctx, b.Key)
	if err != nil || cur.Root != root {
		t.Fatalf("root after PushPaths: %+v, %v; want %s", cur, err, root)
	}
	rep, err := u.bc.Root(u.official(t, db), b.Key)
	if err != nil || rep.Root.Path != "/ipfs/"+root {
		t.Fatalf("textile's client sees root %v, %v; want %s", rep, err, root)
	}
	var walked []string
	walkedRoot, err := bs.Walk(ctx, b.Key, "", func(it BucketItem) error { walked = append(walked, it.Path); return nil })
	if err != nil || walkedRoot != root {
		t.Fatalf("walk: root %s, %v; want %s", walkedRoot, err, root)
	}
	var at bytes.Buffer
	if _, err := bs.PullAt(ctx, walkedRoot, "sub/deeper/c.txt", &at, nil); err != nil || !bytes.Equal(at.Bytes(), tree["sub/deeper/c.txt"]) {
		t.Fatalf("PullAt the walked root: %d bytes, %v", at.Len(), err)
	}
	sort.Strings(walked)
	if want := "a.txt dir/big.bin sub/b.txt sub/deeper/c.txt"; strings.Join(walked, " ") != want {
		t.Fatalf("walk: %v, want %s", walked, want)
	}

	if err := bs.MovePath(ctx, b.Key, "a.txt", "moved.txt"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := bs.ListPath(ctx, b.Key, "a.txt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("moved path: want ErrNotFound, got %v", err)
	}
	if _, err := bs.RemovePath(ctx, b.Key, "sub", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := bs.ListPath(ctx, b.Key, "sub/b.txt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed path: want ErrNotFound, got %v", err)
	}
	if err := bs.Remove(ctx, b.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.Resolve(ctx, "site"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed bucket: want ErrNotFound, got %v", err)
	}
}

// failingReader gives n bytes, then fails: a pipe whose writer died, a file that went away.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("input cut off")
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

// A push whose input fails part way is cancelled, not closed: the server must not commit
// what it received as if it were the whole file. Likewise a PushPaths whose second file
// cannot be read leaves the first unwritten.
func TestBucketsPushCutOff(t *testing.T) {
	u := newBucketUser(t)
	ctx := testCtx(t)
	db, err := u.c.BucketsDB(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	bs := u.c.Buckets(db)
	b, err := bs.Create(ctx, "vault", "", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bs.PushPath(ctx, b.Key, "cut.bin", &failingReader{n: 5 * BucketChunk}, PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "input cut off") {
		t.Fatalf("push of a failing input: %v", err)
	}
	cur, err := bs.Root(ctx, b.Key)
	if err != nil || cur.Root != b.Root {
		t.Fatalf("root after a cut-off push: %+v, %v; want %s", cur, err, b.Root)
	}
	batch := []PushFile{
		{Path: "one.txt", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("one")), nil }},
		{Path: "two.txt", Open: func() (io.ReadCloser, error) { return io.NopCloser(&failingReader{n: 100}), nil }},
	}
	if _, err := bs.PushPaths(ctx, b.Key, batch, PushOptions{}, nil); err == nil || !strings.Contains(err.Error(), "two.txt") {
		t.Fatalf("PushPaths with a failing file: %v", err)
	}
	cur, err = bs.Root(ctx, b.Key)
	if err != nil || cur.Root != b.Root {
		t.Fatalf("root after a cut-off PushPaths: %+v, %v; want %s", cur, err, b.Root)
	}
	if _, _, _, err := bs.ListPath(ctx, b.Key, "one.txt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("one.txt of the cut-off stream: want ErrNotFound, got %v", err)
	}
}

// A write naming a root the bucket no longer has is refused as stale, in words that say
// what to do; missing buckets and paths are ErrNotFound.
func TestBucketsRefusals(t *testing.T) {
	u := newBucketUser(t)
	ctx := testCtx(t)
	db, err := u.c.BucketsDB(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	bs := u.c.Buckets(db)
	b, err := bs.Create(ctx, "site", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bs.PushPath(ctx, b.Key, "a.txt", strings.NewReader("a"), PushOptions{Root: b.Root}); err != nil {
		t.Fatal(err)
	}
	_, err = bs.PushPath(ctx, b.Key, "b.txt", strings.NewReader("b"), PushOptions{Root: b.Root})
	if !IsStaleRoot(err) || !strings.Contains(err.Error(), "hubctl bucket show") {
		t.Fatalf("push on a stale root: %v", err)
	}
	_, err = bs.PushPaths(ctx, b.Key, files(map[string][]byte{"c.txt": []byte("c")}), PushOptions{Root: b.Root}, nil)
	if !IsStaleRoot(err) {
		t.Fatalf("PushPaths on a stale root: %v", err)
	}
	if _, err := bs.RemovePath(ctx, b.Key, "a.txt", b.Root); !IsStaleRoot(err) {
		t.Fatalf("RemovePath on a stale root: %v", err)
	}
	if _, err := bs.Resolve(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing bucket: %v", err)
	}
	if _, err := bs.PullPath(ctx, b.Key, "missing.txt", io.Discard, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing path: %v", err)
	}
	if _, err := u.c.Buckets(thread.NewIDV1(thread.Raw, 32)).List(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a database that does not exist: %v", err)
	}
}

// endless is an input that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

// A stream to a server that never answers (it accepts the connection and reads nothing)
// is cancelled once nothing has moved for --timeout, rather than waiting forever: a push
// of a large file has no deadline, only this bound.
func TestBucketsStreamStalls(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
		}
	}()
	tgt, err := ParseTarget(lis.Addr().String(), false, "", false)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, Options{Target: tgt, Token: "tok", Timeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bs := c.Buckets(thread.NewIDV1(thread.Raw, 32))
	_, err = bs.PushPath(ctx, "key", "big.bin", endless{}, PushOptions{})
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "no progress within 300ms (--timeout)") {
		t.Fatalf("push to a server that never answers: %v", err)
	}
	if _, err := bs.PullPath(ctx, "key", "big.bin", io.Discard, nil); !errors.As(err, &ue) {
		t.Fatalf("pull from a server that never answers: %v", err)
	}
}

// A walk of a tree with more directories than walkAhead, nested, with files beside them
// at every level, lists every file once, depth first in link (name) order, as one
// listing at a time did; and under a subdirectory, only what is under it.
func TestBucketsWalkOrder(t *testing.T) {
	u := newBucketUser(t)
	ctx := testCtx(t)
	db, err := u.c.BucketsDB(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	bs := u.c.Buckets(db)
	b, err := bs.Create(ctx, "tree", "", false)
	if err != nil {
		t.Fatal(err)
	}
	tree := map[string][]byte{"top.txt": []byte("t"), "z.txt": []byte("z")}
	for i := range 2*walkAhead + 3 {
		d := fmt.Sprintf("d%02d", i)
		tree[d+"/f.txt"] = []byte(d)
		tree[d+".txt"] = []byte(d) // sorts between d%02d and the next: order shows
		if i%3 == 0 {
			for j := range walkAhead + 1 {
				tree[fmt.Sprintf("%s/sub%02d/g.txt", d, j)] = []byte{byte(j)}
			}
		}
	}
	if _, err := bs.PushPaths(ctx, b.Key, files(tree), PushOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	want := make([]string, 0, len(tree))
	for p := range tree {
		want = append(want, p)
	}
	sort.Slice(want, func(i, j int) bool { // depth first, names in order at each level
		a, b := strings.Split(want[i], "/"), strings.Split(want[j], "/")
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	var walked []string
	if _, err := bs.Walk(ctx, b.Key, "", func(it BucketItem) error { walked = append(walked, it.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(walked, " ") != strings.Join(want, " ") {
		t.Fatalf("walk:\n%v\nwant\n%v", walked, want)
	}
	walked = nil
	if _, err := bs.Walk(ctx, b.Key, "d03", func(it BucketItem) error { walked = append(walked, it.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	var under []string
	for _, p := range want {
		if strings.HasPrefix(p, "d03/") {
			under = append(under, p)
		}
	}
	if strings.Join(walked, " ") != strings.Join(under, " ") {
		t.Fatalf("walk of d03: %v, want %v", walked, under)
	}
	// WalkAt, from the root a List gave, reads the same: the whole tree, a directory, a
	// file; a missing path is ErrNotFound.
	bk, err := bs.Resolve(ctx, "tree")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pth  string
		want []string
	}{{"", want}, {"d03", under}, {"d01/f.txt", []string{"d01/f.txt"}}} {
		walked = nil
		if err := bs.WalkAt(ctx, bk.Root, c.pth, func(it BucketItem) error { walked = append(walked, it.Path); return nil }); err != nil {
			t.Fatalf("WalkAt %q: %v", c.pth, err)
		}
		if strings.Join(walked, " ") != strings.Join(c.want, " ") {
			t.Fatalf("WalkAt %q: %v, want %v", c.pth, walked, c.want)
		}
	}
	if err := bs.WalkAt(ctx, bk.Root, "nope/x", func(BucketItem) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("WalkAt of a missing path: want ErrNotFound, got %v", err)
	}
	// fn's error ends the walk with it, the listings ahead of it stopped.
	stop := errors.New("enough")
	n := 0
	if _, err := bs.Walk(ctx, b.Key, "", func(BucketItem) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	}); !errors.Is(err, stop) || n != 3 {
		t.Fatalf("walk stopped by fn: %v after %d files", err, n)
	}
}

// A listing the server cut short (its answer is bounded; items_count counts every entry)
// is refused, never taken for the whole directory: sync --delete would remove the rest.
func TestBucketsListingCutShortIsRefused(t *testing.T) {
	dir := &bpb.PathItem{Name: "big", IsDir: true, ItemsCount: 3, Items: []*bpb.PathItem{{Name: "a"}, {Name: "b"}}}
	err := wholeListing(dir, "big")
	if err == nil || !strings.Contains(err.Error(), "directory /big holds 3 entries, more than the server lists in one answer (2)") {
		t.Fatalf("a listing cut short: %v", err)
	}
	dir.Items = append(dir.Items, &bpb.PathItem{Name: "c"})
	if err := wholeListing(dir, "big"); err != nil {
		t.Fatalf("a whole listing: %v", err)
	}
	if err := wholeListing(&bpb.PathItem{Name: "f", Size: 9}, "f"); err != nil {
		t.Fatalf("a file: %v", err)
	}
}
