package buckets

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	ipfslite "github.com/hsanjuan/ipfs-lite"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	ufsio "github.com/ipfs/go-unixfs/io"
)

func newKeys(t *testing.T) Keys {
	t.Helper()
	l, err := NewEncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewEncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	return Keys{Link: l, File: f}
}

// addSealed adds plain encrypted with key, as a private bucket's push does.
func addSealed(t *testing.T, p *ipfslite.Peer, plain, key []byte) ipld.Node {
	t.Helper()
	enc, err := Encrypt(bytes.NewReader(plain), key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := AddFile(t.Context(), p, enc)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// readSealed reads the file n and decrypts it with key.
func readSealed(t *testing.T, p *ipfslite.Peer, n ipld.Node, key []byte) []byte {
	t.Helper()
	r, err := ufsio.NewDagReader(t.Context(), n, p)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decrypt(r, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// everyBlock is the raw data of every block in p's store.
func everyBlock(t *testing.T, p *ipfslite.Peer) map[cid.Cid][]byte {
	t.Helper()
	ch, err := p.BlockStore().AllKeysChan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[cid.Cid][]byte{}
	for c := range ch {
		b, err := p.BlockStore().Get(c)
		if err != nil {
			t.Fatal(err)
		}
		out[c] = b.RawData()
	}
	return out
}

func TestPrivateTreeRoundTripsAndStoresOnlyCiphertext(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	keys := newKeys(t)
	seed := content(SeedSize, 1)
	root, seedNode, err := SealedRoot(ctx, p, seed, keys)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(seedNode.RawData(), seed) {
		t.Fatal("the stored seed holds the plain seed")
	}
	ed, err := NewPrivateEditor(ctx, p, root.Cid(), keys.Link)
	if err != nil {
		t.Fatal(err)
	}
	secretSmall := []byte("the secret plan: small file content marker")
	secretBig := bytes.Repeat([]byte("BIG-SECRET-CHUNK-"), 80_000) // several chunks
	files := map[string][]byte{
		"plans/small.txt":         secretSmall,
		"plans/deep/er/big.bin":   secretBig,
		"top-level-secret-name.t": []byte("third secret"),
	}
	for pth, b := range files {
		if err := ed.Put(ctx, pth, addSealed(t, p, b, keys.File)); err != nil {
			t.Fatal(err)
		}
	}
	before, err := ed.Root()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ed.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c != before {
		t.Fatalf("Root said %s, Commit stored %s: a sealed directory was sealed twice", before, c)
	}

	// Read back through a new editor: names, structure and contents.
	ed2, err := NewPrivateEditor(ctx, p, c, keys.Link)
	if err != nil {
		t.Fatal(err)
	}
	for pth, want := range files {
		n, err := ed2.Get(ctx, pth)
		if err != nil {
			t.Fatalf("%s: %v", pth, err)
		}
		if got := readSealed(t, p, n, keys.File); !bytes.Equal(got, want) {
			t.Fatalf("%s: read %d bytes, want %d", pth, len(got), len(want))
		}
	}
	d, err := ed2.Get(ctx, "plans")
	if err != nil || !IsDir(d) {
		t.Fatalf("plans: %v, dir %v", err, d != nil && IsDir(d))
	}
	var nf *NotFoundError
	if _, err := ed2.Get(ctx, "plans/missing"); !errors.As(err, &nf) {
		t.Fatalf("missing path: %v, want a NotFoundError", err)
	}

	// Not one stored block holds a name or plaintext.
	for bc, raw := range everyBlock(t, p) {
		for _, secret := range [][]byte{secretSmall, []byte("BIG-SECRET-CHUNK-"), []byte("third secret"), []byte("plans"), []byte("small.txt"), []byte("top-level-secret-name"), []byte(SeedName)} {
			if bytes.Contains(raw, secret) {
				t.Fatalf("block %s holds %q in plain", bc, secret)
			}
		}
	}

	// The link to an encrypted directory carries what it holds.
	rootPlain, err := ed2.Get(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := rootPlain.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.CumulativeSize < len(secretBig) {
		t.Fatalf("root's size %d is less than the big file's %d: links to sealed directories lost their sizes", st.CumulativeSize, len(secretBig))
	}

	// A collector walks the tree through NodeLinks and finds every block.
	stored := everyBlock(t, p)
	reach := map[cid.Cid]bool{}
	var walk func(c cid.Cid)
	walk = func(c cid.Cid) {
		if reach[c] {
			return
		}
		reach[c] = true
		n, err := p.Get(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		links, err := NodeLinks(n, keys.Link)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			walk(l.Cid)
		}
	}
	walk(c)
	for _, name := range []string{"plans/small.txt", "plans/deep/er/big.bin", "top-level-secret-name.t"} {
		n, _ := ed2.Get(ctx, name)
		if !reach[n.Cid()] {
			t.Fatalf("%s not reached from the root through NodeLinks", name)
		}
	}
	if len(reach) > len(stored) {
		t.Fatalf("reached %d blocks of %d stored", len(reach), len(stored))
	}
}

func TestPrivateEditorWrongKeyAndPublicView(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	keys := newKeys(t)
	root, _, err := SealedRoot(ctx, p, content(SeedSize, 2), keys)
	if err != nil {
		t.Fatal(err)
	}
	other := newKeys(t)
	if _, err := NewPrivateEditor(ctx, p, root.Cid(), other.Link); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong link key: %v, want ErrDecrypt", err)
	}
	// Read as a public bucket, the sealed root is a file, not a directory: nothing leaks
	// through an editor that has no key.
	if _, err := NewEditor(ctx, p, root.Cid()); !errors.Is(err, ErrNotDirectory) {
		t.Fatalf("no key: %v, want ErrNotDirectory", err)
	}
}

func TestPrivateEditorMoveAndRemove(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	keys := newKeys(t)
	root, _, err := SealedRoot(ctx, p, content(SeedSize, 3), keys)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := NewPrivateEditor(ctx, p, root.Cid(), keys.Link)
	if err != nil {
		t.Fatal(err)
	}
	if err := ed.Put(ctx, "a/b/f.txt", addSealed(t, p, []byte("moved"), keys.File)); err != nil {
		t.Fatal(err)
	}
	c, err := ed.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ed, _ = NewPrivateEditor(ctx, p, c, keys.Link)
	if err := ed.Move(ctx, "a/b", "x"); err != nil {
		t.Fatal(err)
	}
	if err := ed.Put(ctx, "y/g.txt", addSealed(t, p, []byte("kept"), keys.File)); err != nil {
		t.Fatal(err)
	}
	if err := ed.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	c, err = ed.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ed, _ = NewPrivateEditor(ctx, p, c, keys.Link)
	n, err := ed.Get(ctx, "x/f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := readSealed(t, p, n, keys.File); string(got) != "moved" {
		t.Fatalf("x/f.txt = %q", got)
	}
	if _, err := ed.Get(ctx, "a"); err == nil {
		t.Fatal("a still there after Remove")
	}
	if n, err = ed.Get(ctx, "y/g.txt"); err != nil || string(readSealed(t, p, n, keys.File)) != "kept" {
		t.Fatalf("y/g.txt: %v", err)
	}
}

func TestSealTreeEncryptsAPlainTree(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	keys := newKeys(t)
	// A plain tree, as a public bucket or an IPFS add makes it.
	plain, _ := tree(t, p)
	pc := commit(t, plain)
	want := listing(t, p, pc)
	stored, dir, err := SealTree(ctx, p, p, pc, keys)
	if err != nil {
		t.Fatal(err)
	}
	if dir == nil {
		t.Fatal("a directory sealed as a file")
	}
	if _, err := NewEditor(ctx, p, stored.Cid()); !errors.Is(err, ErrNotDirectory) {
		t.Fatalf("the sealed tree reads as a plain directory: %v", err)
	}
	// Link it into a private root and read every file back.
	root, _, err := SealedRoot(ctx, p, content(SeedSize, 4), keys)
	if err != nil {
		t.Fatal(err)
	}
	ed, _ := NewPrivateEditor(ctx, p, root.Cid(), keys.Link)
	if err := ed.Put(ctx, "copy", stored); err != nil {
		t.Fatal(err)
	}
	c, err := ed.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ed, _ = NewPrivateEditor(ctx, p, c, keys.Link)
	pe, _ := NewEditor(ctx, p, pc)
	files := 0
	for pth := range want {
		if pth == SeedName {
			continue // SealTree leaves the seed to the bucket
		}
		pn, err := pe.Get(ctx, pth)
		if err != nil {
			t.Fatal(err)
		}
		if IsDir(pn) {
			continue
		}
		files++
		r, _ := ufsio.NewDagReader(ctx, pn, p)
		wantBytes, _ := io.ReadAll(r)
		sn, err := ed.Get(ctx, "copy/"+pth)
		if err != nil {
			t.Fatalf("copy/%s: %v", pth, err)
		}
		if got := readSealed(t, p, sn, keys.File); !bytes.Equal(got, wantBytes) {
			t.Fatalf("copy/%s differs", pth)
		}
	}
	if files == 0 {
		t.Fatal("the plain tree has no files: the test proves nothing")
	}
}

func TestNewPrivateInstance(t *testing.T) {
	keys := newKeys(t)
	c, _ := cid.Decode("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354")
	b := NewPrivate("k", "owner", "n", c, keys.Link, keys.File, time.Unix(1, 0))
	if !b.IsPrivate() {
		t.Fatal("not private")
	}
	if b.RoleOf("someone", "") != None || b.RoleOf("owner", "x") != Admin {
		t.Fatalf("roles of a new private bucket: %v", b.Metadata[""].Roles)
	}
	lk, err := b.LinkKeyBytes()
	if err != nil || !bytes.Equal(lk, keys.Link) {
		t.Fatalf("link key: %v", err)
	}
	fk, err := b.FileKey("a/b/c")
	if err != nil || !bytes.Equal(fk, keys.File) {
		t.Fatalf("file key of a path: %v", err)
	}
	// A path with a key of its own (a Hub bucket after a role change) uses it.
	other := newKeys(t).File
	b.Metadata["a"] = Metadata{Key: EncodeKey(other), Roles: map[string]Role{}}
	if fk, _ := b.FileKey("a/b/c"); !bytes.Equal(fk, other) {
		t.Fatal("a path's own key is not used below it")
	}
	var pub Bucket
	if k, err := pub.FileKey("x"); k != nil || err != nil {
		t.Fatal("a public bucket has a file key")
	}
}
