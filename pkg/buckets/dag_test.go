package buckets

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	ipfslite "github.com/hsanjuan/ipfs-lite"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	ipld "github.com/ipfs/go-ipld-format"
	dag "github.com/ipfs/go-merkledag"
	"github.com/ipfs/go-merkledag/dagutils"
)

// newPeer is an offline ipfs-lite peer over an in-memory datastore: a Get of a block it
// does not have fails at once.
func newPeer(t *testing.T) *ipfslite.Peer {
	t.Helper()
	p, err := ipfslite.New(t.Context(), dssync.MutexWrap(ds.NewMapDatastore()), nil, nil, &ipfslite.Config{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func content(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// addFile adds b with AddFile and checks it reads back.
func addFile(t *testing.T, p *ipfslite.Peer, b []byte) ipld.Node {
	t.Helper()
	n, err := AddFile(t.Context(), p, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFileCIDs: AddFile, FileCID and ipfs-lite's AddFile with FileParams give the same
// CIDs (the Hub's, for the empty file), and AddFile stores what reads back.
func TestFileCIDs(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	for _, size := range []int{0, 1, 262144, 262145, 3<<20 + 7} {
		b := content(size, int64(size))
		lite, err := p.AddFile(ctx, bytes.NewReader(b), FileParams())
		if err != nil {
			t.Fatal(err)
		}
		ours := addFile(t, p, b)
		hashed, err := FileCID(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if !ours.Cid().Equals(lite.Cid()) || !hashed.Equals(lite.Cid()) {
			t.Errorf("%d bytes: AddFile %s, FileCID %s, ipfs-lite %s", size, ours.Cid(), hashed, lite.Cid())
		}
		if size == 0 && lite.Cid().String() != "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku" {
			t.Errorf("empty file %s: not the Hub's CID", lite.Cid())
		}
		if size <= 262144 && lite.Cid().Prefix().Codec != cid.Raw || size > 262144 && lite.Cid().Prefix().Codec != cid.DagProtobuf {
			t.Errorf("%d bytes: codec %x", size, lite.Cid().Prefix().Codec)
		}
		r, err := p.GetFile(ctx, ours.Cid())
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%d bytes: read back %d bytes, %v", size, len(got), err)
		}
	}
	// FileParams is a new value each time: ipfs-lite writes into the one it gets.
	if FileParams() == FileParams() {
		t.Error("FileParams shares one value")
	}
}

// meteredReader yields n pseudo-random bytes and records the largest live heap seen,
// collecting garbage every few reads so that what it measures is what is kept.
type meteredReader struct {
	left, reads int
	src         *rand.Rand
	base, peak  uint64
}

func (m *meteredReader) Read(b []byte) (int, error) {
	if m.left == 0 {
		return 0, io.EOF
	}
	if m.reads++; m.reads%8 == 0 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > m.peak {
			m.peak = ms.HeapAlloc
		}
	}
	n := min(len(b), m.left)
	m.src.Read(b[:n])
	m.left -= n
	return n, nil
}

// TestFileCIDMemoryBounded hashes 96 MiB and checks the live heap stays under 16 MiB
// more than before: nothing holds the file.
func TestFileCIDMemoryBounded(t *testing.T) {
	const size = 96 << 20
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &meteredReader{left: size, src: rand.New(rand.NewSource(1)), base: ms.HeapAlloc}
	c, err := FileCID(m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix().Codec != cid.DagProtobuf || m.left != 0 {
		t.Fatalf("CID %s, %d bytes left", c, m.left)
	}
	if grew := int64(m.peak) - int64(m.base); grew > 16<<20 {
		t.Fatalf("hashing %d MiB kept %d MiB live", size>>20, grew>>20)
	}
}

func TestNewRoot(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	root, err := NewRoot(ctx, p, make([]byte, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	// The Hub's pristine root for a zeroed seed (digest 2.2, measured).
	if root.Cid().String() != "bafybeig6bywo73qo7gdfpzcmzsthxdaxwq4kv7ry25iyqgt2gkwoc4plni" {
		t.Errorf("root %s", root.Cid())
	}
	if l := root.Links(); len(l) != 1 || l[0].Name != SeedName || l[0].Cid.String() != "bafkreidgnb5k36dcxv3wzd6brohj7drabclrjblo4iz3hebkleoq2xzjeu" {
		t.Errorf("links %v", l)
	}
	if ok, _ := p.HasBlock(root.Links()[0].Cid); !ok {
		t.Error("seed not stored")
	}
	if _, err := p.Get(ctx, root.Cid()); err != nil {
		t.Errorf("root not stored: %v", err)
	}
	if _, err := NewRoot(ctx, p, make([]byte, 31)); err == nil {
		t.Error("a 31-byte seed accepted")
	}
	s1, _ := NewSeed()
	s2, _ := NewSeed()
	if len(s1) != SeedSize || bytes.Equal(s1, s2) {
		t.Error("NewSeed")
	}
}

// tree stores a small bucket: f (1 byte), big (2 chunks: a dag-pb file), d/g, d/e/h.
func tree(t *testing.T, p *ipfslite.Peer) (*Editor, map[string]ipld.Node) {
	t.Helper()
	ctx := t.Context()
	root, err := NewRoot(ctx, p, make([]byte, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEditor(ctx, p, root.Cid())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]ipld.Node{
		"f":     addFile(t, p, []byte("f")),
		"big":   addFile(t, p, content(262145, 2)),
		"d/g":   addFile(t, p, []byte("g")),
		"d/e/h": addFile(t, p, []byte("h")),
	}
	for _, path := range []string{"f", "big", "d/g", "d/e/h"} {
		if err := e.Put(ctx, path, files[path]); err != nil {
			t.Fatalf("Put %s: %v", path, err)
		}
	}
	return e, files
}

// listing is every path under the committed root c, read from the DAG service alone
// (so a directory that Commit did not store fails it), with each file's CID; every
// directory must be CIDv1.
func listing(t *testing.T, ng ipld.NodeGetter, c cid.Cid) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(prefix string, c cid.Cid)
	walk = func(prefix string, c cid.Cid) {
		n, err := ng.Get(t.Context(), c)
		if err != nil {
			t.Fatalf("%q (%s): %v", prefix, c, err)
		}
		if !isDir(n) {
			out[prefix] = c.String()
			return
		}
		if c.Version() != 1 {
			t.Errorf("directory %q is CIDv0", prefix)
		}
		if prefix != "" {
			out[prefix] = "dir"
		}
		for _, l := range n.Links() {
			walk(joinPath(prefix, l.Name), l.Cid)
		}
	}
	walk("", c)
	return out
}

func commit(t *testing.T, e *Editor) cid.Cid {
	t.Helper()
	c, err := e.Commit(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEditorPutGetCommit(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	before, _ := e.Root()
	c := commit(t, e)
	if !c.Equals(before) {
		t.Errorf("Root %s before Commit, Commit %s", before, c)
	}
	got := listing(t, p, c)
	want := map[string]string{
		SeedName: "bafkreidgnb5k36dcxv3wzd6brohj7drabclrjblo4iz3hebkleoq2xzjeu",
		"f":      files["f"].Cid().String(), "big": files["big"].Cid().String(),
		"d": "dir", "d/g": files["d/g"].Cid().String(), "d/e": "dir", "d/e/h": files["d/e/h"].Cid().String(),
	}
	if len(got) != len(want) {
		t.Fatalf("tree %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	// Get sees the tree before and after Commit, and from a new Editor.
	e2, err := NewEditor(ctx, p, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, ed := range []*Editor{e, e2} {
		n, err := ed.Get(ctx, "/d/e/h")
		if err != nil || !n.Cid().Equals(files["d/e/h"].Cid()) {
			t.Errorf("Get d/e/h: %v %v", n, err)
		}
		if n, err := ed.Get(ctx, ""); err != nil || !n.Cid().Equals(c) {
			t.Errorf("Get root: %v", err)
		}
	}
	// Replacing: a file over a file, a file over a directory (the Hub's PushPath).
	if err := e2.Put(ctx, "f", files["d/g"]); err != nil {
		t.Fatal(err)
	}
	if err := e2.Put(ctx, "d/e", files["f"]); err != nil {
		t.Fatal(err)
	}
	got = listing(t, p, commit(t, e2))
	if got["f"] != files["d/g"].Cid().String() || got["d/e"] != files["f"].Cid().String() || got["d/e/h"] != "" {
		t.Errorf("after replacing: %v", got)
	}
	// A directory edited twice in one Editor, committed once.
	e3, _ := NewEditor(ctx, p, c)
	for i := range 20 {
		if err := e3.Put(ctx, "many/x/"+string(rune('a'+i)), files["f"]); err != nil {
			t.Fatal(err)
		}
		if _, err := e3.Root(); err != nil {
			t.Fatal(err)
		}
	}
	if got := listing(t, p, commit(t, e3)); len(got) != 7+2+20 {
		t.Errorf("%d paths: %v", len(got), got)
	}
}

// TestEditorRefusesPathsThroughFiles is the Put an attacker tries: under a one-block
// file (go-merkledag's editor fails on the raw node) and under a multi-block file, whose
// dag-pb node go-merkledag's editor silently gives a named link, corrupting the file.
func TestEditorRefusesPathsThroughFiles(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	before, _ := e.Root()
	for _, path := range []string{"f/x", "big/x", "big/x/y", "d/g/x"} {
		err := e.Put(ctx, path, files["f"])
		if !errors.Is(err, ErrNotDirectory) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Put %s: %v, want one line with ErrNotDirectory", path, err)
		}
		if err := e.Remove(ctx, path); !errors.Is(err, ErrNotDirectory) {
			t.Errorf("Remove %s: %v, want ErrNotDirectory", path, err)
		}
		var nf *NotFoundError
		if _, err := e.Get(ctx, path); !errors.As(err, &nf) {
			t.Errorf("Get %s: %v, want NotFoundError", path, err)
		}
	}
	if after, _ := e.Root(); !after.Equals(before) {
		t.Fatalf("refused Puts changed the root: %s, was %s", after, before)
	}
	got := listing(t, p, commit(t, e))
	if got["big"] != files["big"].Cid().String() {
		t.Errorf("big is now %s", got["big"])
	}
}

// TestDagutilsCorruptsFiles documents why the Editor does not use go-merkledag's editor
// (dagutils): it adds a named link to a multi-block file's node, and it loses a
// directory equal to one it edits.
func TestDagutilsCorruptsFiles(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	c := commit(t, e)
	root, _ := p.Get(ctx, c)
	de := dagutils.NewDagEditor(root.(*dag.ProtoNode), p)
	err := de.InsertNodeAtPath(ctx, "big/x", files["f"], func() *dag.ProtoNode { return newDir() })
	if err != nil {
		t.Skipf("go-merkledag now refuses it: %v", err)
	}
	n, _ := de.Finalize(ctx, p)
	l, _ := n.GetNodeLink("big")
	if l.Cid.Equals(files["big"].Cid()) {
		t.Fatal("go-merkledag left the file alone")
	}

	// Two equal directories (x and y hold the same file): editing x drops the block
	// they share from go-merkledag's editor, and Finalize never stores y.
	p2 := newPeer(t)
	f := addFile(t, p2, []byte("same"))
	de = dagutils.NewDagEditor(newDir(), p2)
	for _, path := range []string{"x/f", "y/f", "x/g"} {
		if err := de.InsertNodeAtPath(ctx, path, f, func() *dag.ProtoNode { return newDir() }); err != nil {
			t.Fatal(err)
		}
	}
	n, err = de.Finalize(ctx, p2)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := n.GetNodeLink("y")
	if _, err := p2.Get(ctx, y.Cid); !errors.Is(err, ipld.ErrNotFound) {
		t.Skipf("go-merkledag now stores y: %v", err)
	}
	// The Editor stores both.
	root, _ = NewRoot(ctx, p2, make([]byte, SeedSize))
	e, _ = NewEditor(ctx, p2, root.Cid())
	for _, path := range []string{"x/f", "y/f", "x/g"} {
		if err := e.Put(ctx, path, f); err != nil {
			t.Fatal(err)
		}
	}
	if got := listing(t, p2, commit(t, e)); got["y/f"] != f.Cid().String() || got["x/g"] != f.Cid().String() {
		t.Errorf("tree %v", got)
	}
}

func TestEditorRemove(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, _ := tree(t, p)
	for _, path := range []string{"d/e/h", "f"} {
		if err := e.Remove(ctx, path); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := e.Root()
	for _, path := range []string{"nope", "d/nope", "d/e/h", "x/y"} {
		err := e.Remove(ctx, path)
		var nf *NotFoundError
		if !errors.As(err, &nf) || !strings.HasPrefix(err.Error(), "no link named ") {
			t.Errorf("Remove %s: %v, want the Hub's no link named", path, err)
		}
	}
	for _, path := range []string{"", "/", SeedName, "d/..", "../d"} {
		if err := e.Remove(ctx, path); err == nil {
			t.Errorf("Remove %q accepted", path)
		}
	}
	if after, _ := e.Root(); !after.Equals(before) {
		t.Fatal("refused Removes changed the root")
	}
	got := listing(t, p, commit(t, e))
	if _, ok := got["d/e"]; !ok || got["f"] != "" || got["d/e/h"] != "" {
		t.Errorf("after Remove: %v (empty parents are kept)", got)
	}
}

func TestEditorRefusesBadPaths(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	for _, path := range []string{"..", "../x", "d/../f", "a//b", "./a", "a/./b", "a\x00b", SeedName, "d/" + SeedName} {
		var pe *PathError
		if err := e.Put(ctx, path, files["f"]); !errors.As(err, &pe) {
			t.Errorf("Put %q: %v, want a PathError", path, err)
		}
		if err := e.Move(ctx, "f", path); !errors.As(err, &pe) {
			t.Errorf("Move to %q: %v, want a PathError", path, err)
		}
		if _, err := e.Get(ctx, path); !errors.As(err, &pe) {
			t.Errorf("Get %q: %v, want a PathError", path, err)
		}
	}
	if err := e.Put(ctx, "", files["f"]); !errors.Is(err, ErrRoot) {
		t.Errorf("Put at the root: %v", err)
	}
}

func TestEditorMove(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	start := commit(t, e)
	f, g, h := files["f"].Cid().String(), files["d/g"].Cid().String(), files["d/e/h"].Cid().String()
	for _, tc := range []struct {
		from, to string
		has      map[string]string // path: cid, "dir", or "" for absent
	}{
		{"f", "f2", map[string]string{"f": "", "f2": f}},                       // rename
		{"f", "d", map[string]string{"f": "", "d/f": f}},                       // into a directory
		{"f", "d/g", map[string]string{"f": "", "d/g": f}},                     // onto a file
		{"d/e/h", "d", map[string]string{"d/h": h, "d/e": "dir", "d/e/h": ""}}, // up (Hub: a/b/c -> a/c)
		{"d/e/h", "", map[string]string{"h": h, "d/e/h": ""}},                  // to the root
		{"d/e", "n/m", map[string]string{"n/m/h": h, "d/e": "", "d/g": g}},     // a directory, new parents
		{"d", "x", map[string]string{"x/g": g, "x/e/h": h, "d": ""}},           // a directory rename
		{"d/e", "d/e", map[string]string{"d/e/h": h}},                          // onto itself
		{"d/e", "d", map[string]string{"d/e/h": h}},                            // into its own parent: itself
		{"d/e", "big", nil}, // a directory onto a file
		{"d", "d/e", nil},   // into a descendant
		{"d", "d/new", nil}, // to a name under itself
		{"", "x", nil},      // the root
		{"nope", "x", nil},  // missing
		{"f/x", "y", nil},
		{"f", "big/x", nil},   // to a path through a file
		{"d", "big/x/y", nil}, // a directory, through a file   // through a file
	} {
		e, err := NewEditor(ctx, p, start)
		if err != nil {
			t.Fatal(err)
		}
		err = e.Move(ctx, tc.from, tc.to)
		if tc.has == nil {
			if err == nil {
				t.Errorf("Move %q %q accepted", tc.from, tc.to)
			} else if r, _ := e.Root(); !r.Equals(start) {
				t.Errorf("Move %q %q: refused (%v) but changed the root", tc.from, tc.to, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Move %q %q: %v", tc.from, tc.to, err)
			continue
		}
		got := listing(t, p, commit(t, e))
		for path, want := range tc.has {
			if got[path] != want {
				t.Errorf("Move %q %q: %q is %q, want %q", tc.from, tc.to, path, got[path], want)
			}
		}
	}
	// The refusals name what is wrong.
	e, _ = NewEditor(ctx, p, start)
	if err := e.Move(ctx, "d/e", "big"); !errors.Is(err, ErrNotDirectory) {
		t.Errorf("dir onto file: %v", err)
	}
	if err := e.Move(ctx, "d", "d/e"); !errors.Is(err, ErrIntoItself) {
		t.Errorf("into itself: %v", err)
	}
	// "d/d" to the root lands on "d", its own parent: refused, nothing changed.
	if err := e.Put(ctx, "d/d/x", files["f"]); err != nil {
		t.Fatal(err)
	}
	before, _ := e.Root()
	for _, to := range []string{"", "/"} {
		if err := e.Move(ctx, "d/d", to); !errors.Is(err, ErrIntoItself) {
			t.Errorf("onto its parent: %v", err)
		}
	}
	if err := e.Move(ctx, "d/e/h", "d"); err != nil { // a file up into its grandparent is fine
		t.Errorf("d/e/h to d: %v", err)
	}
	if err := e.Move(ctx, "d/h", "d/e"); err != nil {
		t.Errorf("back: %v", err)
	}
	if after, _ := e.Root(); !after.Equals(before) {
		t.Error("refused moves changed the root")
	}
	if err := e.Move(ctx, "", "x"); !errors.Is(err, ErrRoot) {
		t.Errorf("root: %v", err)
	}
	if err := e.Move(ctx, "nope", "x"); err == nil || !strings.Contains(err.Error(), "no link named") {
		t.Errorf("missing: %v", err)
	}
}

// TestEditorMoveEditedDirectory moves a directory edited and not yet committed: Commit
// must store what it holds at its new place.
func TestEditorMoveEditedDirectory(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	if err := e.Put(ctx, "new/deep/file", files["f"]); err != nil {
		t.Fatal(err)
	}
	if err := e.Move(ctx, "new", "d/moved"); err != nil {
		t.Fatal(err)
	}
	if err := e.Put(ctx, "d/moved/deep/file2", files["d/g"]); err != nil {
		t.Fatal(err)
	}
	got := listing(t, p, commit(t, e))
	if got["d/moved/deep/file"] != files["f"].Cid().String() || got["d/moved/deep/file2"] != files["d/g"].Cid().String() || got["new"] != "" {
		t.Errorf("tree %v", got)
	}
}

func TestNewRootFrom(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	old := commit(t, e)
	seed := bytes.Repeat([]byte{7}, SeedSize)
	r, err := NewRootFrom(ctx, p, old, seed)
	if err != nil {
		t.Fatal(err)
	}
	got := listing(t, p, r.Cid())
	if got[SeedName] != SeedNode(seed).Cid().String() || got["d/e/h"] != files["d/e/h"].Cid().String() || len(got) != 7 {
		t.Errorf("bootstrapped tree %v", got)
	}
	n := 0
	for _, l := range r.Links() {
		if l.Name == SeedName {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d seeds", n)
	}
	// A CIDv0 directory gives a CIDv1 root.
	v0 := newDir()
	v0.SetCidBuilder(dag.V0CidPrefix())
	_ = v0.AddNodeLink("f", files["f"])
	if err := p.Add(ctx, v0); err != nil {
		t.Fatal(err)
	}
	if r, err := NewRootFrom(ctx, p, v0.Cid(), seed); err != nil || r.Cid().Version() != 1 {
		t.Errorf("from v0: %v, %v", r, err)
	}
	// Files, a raw block and a multi-block one, are not directories.
	for _, name := range []string{"f", "big"} {
		if _, err := NewRootFrom(ctx, p, files[name].Cid(), seed); !errors.Is(err, ErrBootstrapNotDir) {
			t.Errorf("bootstrap from file %s: %v", name, err)
		}
	}
	// A CID the peer does not have fails at once (offline).
	missing, _ := FileCID(strings.NewReader("not stored"))
	if _, err := NewRootFrom(ctx, p, missing, seed); err == nil {
		t.Error("a missing CID accepted")
	}
	if _, err := NewRootFrom(context.Background(), p, old, seed[:5]); err == nil {
		t.Error("a short seed accepted")
	}
}

func TestNewItem(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	c := commit(t, e)
	root, _ := p.Get(ctx, c)
	it, err := NewItem(ctx, p, root, "/ipfs/"+c.String(), true)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := root.Stat()
	if !it.IsDir || it.ItemsCount != 4 || len(it.Items) != 4 || it.Cid != c.String() || it.Name != c.String() || it.Size != int64(st.CumulativeSize) {
		t.Fatalf("root item %+v", it)
	}
	byName := map[string]Item{}
	for _, c := range it.Items {
		byName[c.Name] = c
	}
	if d := byName["d"]; !d.IsDir || d.ItemsCount != 2 || d.Items != nil || d.Path != "/ipfs/"+c.String()+"/d" {
		t.Errorf("d %+v", d)
	}
	if b := byName["big"]; b.IsDir || b.Size <= 262145 || b.Cid != files["big"].Cid().String() {
		t.Errorf("big %+v", b)
	}
	if f := byName["f"]; f.IsDir || f.Size != 1 || f.ItemsCount != 0 {
		t.Errorf("f %+v", f)
	}
	if _, ok := byName[SeedName]; !ok {
		t.Error("the seed is an ordinary item of the root, as on the Hub")
	}
}

// TestEditorGetThenCommit reads an edited directory (which brings its links up to date)
// before the root is computed: the root must still link the directory's new node.
func TestEditorGetThenCommit(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	commit(t, e)
	if err := e.Put(ctx, "d/e/x", files["f"]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(ctx, "d/e"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if err := e.Remove(ctx, "d/nope"); err == nil { // the error path reads d too
		t.Fatal("removed a missing path")
	}
	root, _ := e.Root()
	c := commit(t, e)
	if !c.Equals(root) {
		t.Errorf("Root %s, Commit %s", root, c)
	}
	if got := listing(t, p, c); got["d/e/x"] != files["f"].Cid().String() || got["d/e/h"] == "" {
		t.Errorf("tree %v", got)
	}
}

// TestEditorErrorsWrap: a block missing from the DAG service stays ipld.ErrNotFound
// through the Editor's messages, so the service can answer it as such.
func TestEditorErrorsWrap(t *testing.T) {
	ctx := t.Context()
	p := newPeer(t)
	e, files := tree(t, p)
	missing := newDir()
	_ = missing.AddNodeLink("x", files["f"]) // never stored
	if err := e.Put(ctx, "gone", missing); err != nil {
		t.Fatal(err)
	}
	c := commit(t, e)
	e, _ = NewEditor(ctx, p, c)
	for _, err := range []error{
		e.Put(ctx, "gone/y", files["f"]),
		e.Remove(ctx, "gone/x"),
		func() error { _, err := e.Get(ctx, "gone/x"); return err }(),
		func() error { _, err := NewEditor(ctx, p, missing.Cid()); return err }(),
		func() error { _, err := NewRootFrom(ctx, p, missing.Cid(), make([]byte, SeedSize)); return err }(),
	} {
		if !errors.Is(err, ipld.ErrNotFound) {
			t.Errorf("%v: not ipld.ErrNotFound", err)
		}
	}
	if !IsDir(missing) || IsDir(files["big"]) || IsDir(files["f"]) {
		t.Error("IsDir")
	}
}

// TestAddFileReaderFails: a push cut off mid-file fails the add with the reader's error.
func TestAddFileReaderFails(t *testing.T) {
	cut := errors.New("cut off")
	r := io.MultiReader(bytes.NewReader(content(300<<10, 3)), iotestErr{cut})
	if _, err := AddFile(t.Context(), newPeer(t), r); !errors.Is(err, cut) {
		t.Fatalf("AddFile: %v", err)
	}
	if _, err := FileCID(io.MultiReader(strings.NewReader("x"), iotestErr{cut})); !errors.Is(err, cut) {
		t.Fatalf("FileCID: %v", err)
	}
}

type iotestErr struct{ err error }

func (r iotestErr) Read([]byte) (int, error) { return 0, r.err }
