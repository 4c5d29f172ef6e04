package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	dag "github.com/ipfs/go-merkledag"
	"github.com/ipfs/go-unixfs"
	ipfspath "github.com/ipfs/interface-go-ipfs-core/path"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/db"
	bucketsclient "github.com/textileio/textile/v2/api/bucketsd/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/buckets"
)

// storedBlocks is every block of the daemon's blockstore (records and buckets alike).
func storedBlocks(t *testing.T, d *Daemon) map[cid.Cid][]byte {
	t.Helper()
	bs := d.node.DAG().BlockStore()
	ch, err := bs.AllKeysChan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[cid.Cid][]byte{}
	for c := range ch {
		b, err := bs.Get(c)
		if err != nil {
			t.Fatal(err)
		}
		out[c] = b.RawData()
	}
	return out
}

// A private bucket takes every write of a public one through textile's client and reads
// back plaintext, while the blockstore holds only ciphertext: no block holds a file's
// content or a path's name, and /ipfs/ reads of its blocks give ciphertext.
func TestPrivateBucketsRoundTripAsCiphertext(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	ctx := e.ctx
	res, err := e.bc.Create(bounded(t, ctx), bucketsclient.WithName("vault"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	key := res.Root.Key
	if res.Root.LinkKey == "" {
		t.Fatal("a private bucket's root has no link key for its owner")
	}
	marker := func(name string) []byte { return []byte("PLAINTEXT-MARKER-" + name + "-") }
	small := append(marker("small"), []byte(" a small private file")...)
	big := bytes.Repeat(marker("big"), 200_000) // 4.6 MB: several chunks
	e.push(t, key, "dir-secret-name/small.txt", small)
	fileAt, _ := e.push(t, key, "big.bin", big)

	q, err := e.bc.PushPaths(bounded(t, ctx), key)
	if err != nil {
		t.Fatal(err)
	}
	batch := map[string][]byte{}
	for i := 0; i < 3; i++ {
		p := fmt.Sprintf("many/file-name-secret-%d.txt", i)
		batch[p] = append(marker(fmt.Sprint("many", i)), byte(i))
		if err := q.AddReader(p, bytes.NewReader(batch[p]), int64(len(batch[p]))); err != nil {
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

	for p, want := range map[string][]byte{"dir-secret-name/small.txt": small, "big.bin": big} {
		if got := e.pull(t, key, p); !bytes.Equal(got, want) {
			t.Fatalf("%s: pulled %d bytes, want %d", p, len(got), len(want))
		}
	}
	for p, want := range batch {
		if got := e.pull(t, key, p); !bytes.Equal(got, want) {
			t.Fatalf("%s: pulled %q", p, got)
		}
	}
	lp, err := e.bc.ListPath(bounded(t, ctx), key, "")
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Join(itemNames(lp.Item), ",")
	if names != ".textileseed,big.bin,dir-secret-name,many" {
		t.Fatalf("root lists %s", names)
	}
	for _, it := range lp.Item.Items {
		if it.IsDir != (it.Name != "big.bin" && it.Name != buckets.SeedName) {
			t.Fatalf("%s: is_dir %v", it.Name, it.IsDir)
		}
		if it.Name == "many" && it.ItemsCount != 3 {
			t.Fatalf("many: %d items", it.ItemsCount)
		}
	}

	// Move, remove, set a public tree into it, and bootstrap another from a CID.
	if err := e.bc.MovePath(bounded(t, ctx), key, "dir-secret-name/small.txt", "moved.txt"); err != nil {
		t.Fatal(err)
	}
	if got := e.pull(t, key, "moved.txt"); !bytes.Equal(got, small) {
		t.Fatalf("moved.txt: %q", got)
	}
	if _, err := e.bc.RemovePath(bounded(t, ctx), key, "many/file-name-secret-0.txt"); err != nil {
		t.Fatal(err)
	}
	if err := e.bc.PullPath(bounded(t, ctx), key, "many/file-name-secret-0.txt", &bytes.Buffer{}); status.Code(err) != codes.NotFound {
		t.Fatalf("a removed file: %v", err)
	}
	pub := e.create(t, "public").Root.Key
	plainSet := append(marker("setpath"), []byte("from a public bucket")...)
	e.push(t, pub, "tree/set.txt", plainSet)
	pubTree, err := e.bc.ListPath(bounded(t, ctx), pub, "tree")
	if err != nil {
		t.Fatal(err)
	}
	treeCid, _ := cid.Decode(pubTree.Item.Cid)
	if _, err := e.bc.SetPath(bounded(t, ctx), key, "copied", treeCid); err != nil {
		t.Fatal(err)
	}
	if got := e.pull(t, key, "copied/set.txt"); !bytes.Equal(got, plainSet) {
		t.Fatalf("copied/set.txt: %q", got)
	}
	boot, err := e.bc.Create(bounded(t, ctx), bucketsclient.WithName("booted"), bucketsclient.WithPrivate(true), bucketsclient.WithCid(treeCid))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.pull(t, boot.Root.Key, "set.txt"); !bytes.Equal(got, plainSet) {
		t.Fatalf("bootstrapped set.txt: %q", got)
	}
	links, err := e.bc.Links(bounded(t, ctx), key, "moved.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(links.Url, "?token=") {
		t.Fatalf("a private bucket's link carries no token: %s", links.Url)
	}

	// The stored blocks: no marker, no name, but for the public bucket's own file.
	secrets := [][]byte{[]byte("PLAINTEXT-MARKER-small"), []byte("PLAINTEXT-MARKER-big"), []byte("PLAINTEXT-MARKER-many"), []byte("dir-secret-name"), []byte("file-name-secret"), []byte("moved.txt")}
	for c, raw := range storedBlocks(t, e.d) {
		for _, secret := range secrets {
			if bytes.Contains(raw, secret) {
				t.Fatalf("block %s holds %q in plain", c, secret)
			}
		}
	}
	// /ipfs/ reads give what is stored: ciphertext.
	var cipher bytes.Buffer
	if err := e.bc.PullIpfsPath(bounded(t, ctx), ipfspath.IpfsPath(fileAt.Cid()), &cipher); err != nil {
		t.Fatal(err)
	}
	if cipher.Len() < len(big) || bytes.Contains(cipher.Bytes(), marker("big")) {
		t.Fatalf("the file's /ipfs/ path gives %d bytes, with plaintext: %v", cipher.Len(), bytes.Contains(cipher.Bytes(), marker("big")))
	}
}

// A private bucket's root, read through go-threads by its owner, keeps its keys; and the
// instance's keys never appear in an error.
func TestPrivateBucketInstance(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	res, err := e.bc.Create(bounded(t, e.ctx), bucketsclient.WithName("vault"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	root, err := e.bc.Root(bounded(t, e.ctx), res.Root.Key)
	if err != nil {
		t.Fatal(err)
	}
	md := root.Root.Metadata
	if md == nil || md.Key == "" || len(md.Roles) != 1 || md.Roles[e.s.identity] != 3 {
		t.Fatalf("a private bucket's root metadata: %+v (want its file key and only the owner as admin)", md)
	}
	b := buckets.Bucket{LinkKey: root.Root.LinkKey}
	if _, err := b.LinkKeyBytes(); err != nil {
		t.Fatal(err)
	}
	err = e.bc.PullPath(bounded(t, e.ctx), res.Root.Key, "missing", &bytes.Buffer{})
	if status.Code(err) != codes.NotFound || strings.Contains(err.Error(), root.Root.LinkKey) || strings.Contains(err.Error(), md.Key) {
		t.Fatalf("a missing path: %v", err)
	}
}

// A tree linked into a bucket by CID (SetPath, Create from a CID) must be here whole:
// a directory node pushed as a file's bytes and named by its dag-pb CID, linking a
// block this server does not have, would otherwise make bucket reads fetch (and keep)
// whatever it names from peers.
func TestBucketsLinkOnlyTreesThatAreHereWhole(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "site").Root.Key
	absent, err := cid.Decode("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
	if err != nil {
		t.Fatal(err)
	}
	d := unixfs.EmptyDirNode()
	d.SetCidBuilder(dag.V1CidPrefix())
	if err := d.AddRawLink("elsewhere", &ipld.Link{Cid: absent, Size: 10}); err != nil {
		t.Fatal(err)
	}
	file, _ := e.push(t, key, "crafted.bin", d.RawData())
	crafted := cid.NewCidV1(cid.DagProtobuf, file.Cid().Hash())
	for what, err := range map[string]error{
		"SetPath":        errOf(e.bc.SetPath(bounded(t, e.ctx), key, "dir", crafted)),
		"SetPath root":   errOf(e.bc.SetPath(bounded(t, e.ctx), key, "", crafted)),
		"Create from it": errOf(e.bc.Create(bounded(t, e.ctx), bucketsclient.WithName("boot"), bucketsclient.WithCid(crafted))),
	} {
		if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), absent.String()+", which is not on this server") {
			t.Errorf("%s: %v, want NotFound naming %s", what, err, absent)
		}
	}
	// A tree that is here whole links as before.
	pushed, _ := e.push(t, key, "real/f.txt", []byte("here"))
	_ = pushed
	lp, err := e.bc.ListPath(bounded(t, e.ctx), key, "real")
	if err != nil {
		t.Fatal(err)
	}
	real, _ := cid.Decode(lp.Item.Cid)
	if _, err := e.bc.SetPath(bounded(t, e.ctx), key, "copy", real); err != nil {
		t.Fatal(err)
	}
}

// A private bucket whose instance names a link key that does not open its tree (its
// owner wrote it through the threads API, or a peer did) is refused in one line that
// names no key, not answered Internal, and the server goes on.
func TestPrivateBucketWithAWrongLinkKey(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	res, err := e.bc.Create(bounded(t, e.ctx), bucketsclient.WithName("vault"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	key := res.Root.Key
	e.push(t, key, "a.txt", []byte("a"))
	other, err := buckets.NewEncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{buckets.EncodeKey(other), buckets.EncodeKey(other[:10])} {
		var inst map[string]any
		if err := e.s.c.FindByID(bounded(t, e.ctx), e.db, buckets.CollectionName, key, &inst, db.WithTxnToken(e.s.tok)); err != nil {
			t.Fatal(err)
		}
		inst["key"] = bad
		delete(inst, "_mod")
		if err := e.s.c.Save(bounded(t, e.ctx), e.db, buckets.CollectionName, client.Instances{inst}, db.WithTxnToken(e.s.tok)); err != nil {
			t.Fatal(err)
		}
		_, err := e.bc.ListPath(bounded(t, e.ctx), key, "")
		if status.Code(err) != codes.FailedPrecondition || strings.Contains(err.Error(), bad) {
			t.Fatalf("ListPath with a wrong link key: %v, want FailedPrecondition naming no key", err)
		}
		if err := e.pushErr(t, key, "b.txt"); status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("a push with a wrong link key: %v", err)
		}
	}
	if _, err := e.bc.List(bounded(t, e.ctx)); err != nil {
		t.Fatalf("the server after a bad bucket: %v", err)
	}
}

func (e *bucketEnv) pushErr(t *testing.T, key, pth string) error {
	_, _, err := e.bc.PushPath(bounded(t, e.ctx), key, pth, bytes.NewReader([]byte("x")))
	return err
}
