package buckets

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	ipfslite "github.com/hsanjuan/ipfs-lite"
	"github.com/ipfs/go-cid"
	chunker "github.com/ipfs/go-ipfs-chunker"
	ipld "github.com/ipfs/go-ipld-format"
	dag "github.com/ipfs/go-merkledag"
	"github.com/ipfs/go-unixfs"
	"github.com/ipfs/go-unixfs/importer/balanced"
	"github.com/ipfs/go-unixfs/importer/helpers"
	"github.com/multiformats/go-multihash"
)

// FileParams are the one set of parameters every bucket file is added with, as the Hub
// and its CLI added them: CIDv1, sha2-256, raw leaves, 256 KiB chunks, balanced layout
// (ipfs-lite's defaults but for RawLeaves, which it defaults to false and which changes
// every CID). A new value each call: ipfs-lite's AddFile writes into the one it is given.
func FileParams() *ipfslite.AddParams {
	return &ipfslite.AddParams{Layout: "balanced", Chunker: "", RawLeaves: true, HashFun: "sha2-256"}
}

// AddFile adds the content of r to ds as a UnixFS file built as ipfs-lite's AddFile
// builds it with FileParams (the same CIDs), into any DAG service: LocalDAG, a batch, or
// the discarding one FileCID uses. Blocks are written in batches. To stop it, make r
// fail (ctx is only used for writing).
func AddFile(ctx context.Context, ds ipld.DAGService, r io.Reader) (ipld.Node, error) {
	b := ipld.NewBufferedDAG(ctx, ds)
	n, err := layout(b, r)
	if err != nil {
		return nil, err
	}
	if err := b.Commit(); err != nil {
		return nil, err
	}
	return n, nil
}

func layout(ds ipld.DAGService, r io.Reader) (ipld.Node, error) {
	prefix, err := dag.PrefixForCidVersion(1)
	if err != nil {
		return nil, err
	}
	prefix.MhType = multihash.SHA2_256
	prefix.MhLength = -1
	params := helpers.DagBuilderParams{
		Dagserv:    ds,
		RawLeaves:  true,
		Maxlinks:   helpers.DefaultLinksPerBlock,
		CidBuilder: &prefix,
	}
	db, err := params.New(chunker.DefaultSplitter(r))
	if err != nil {
		return nil, err
	}
	return balanced.Layout(db)
}

// SeedSize is the size of a bucket's seed.
const SeedSize = 32

// NewSeed returns a new random seed.
func NewSeed() ([]byte, error) {
	seed := make([]byte, SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("making a bucket seed: %v", err)
	}
	return seed, nil
}

// SeedNode is the block a seed is stored as: raw, CIDv1 (bafkrei…).
func SeedNode(seed []byte) ipld.Node {
	return dag.NewRawNode(seed)
}

// newDir is an empty UnixFS directory with CIDv1: every directory hubctl makes.
func newDir() *dag.ProtoNode {
	d := unixfs.EmptyDirNode()
	d.SetCidBuilder(dag.V1CidPrefix())
	return d
}

// NewRoot stores and returns the root of a new empty bucket: a CIDv1 directory holding
// only the seed (SeedSize bytes) as SeedName.
func NewRoot(ctx context.Context, ds ipld.DAGService, seed []byte) (ipld.Node, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("a bucket seed has %d bytes, not %d", SeedSize, len(seed))
	}
	s := SeedNode(seed)
	d := newDir()
	if err := d.AddNodeLink(SeedName, s); err != nil {
		return nil, err
	}
	if err := ds.AddMany(ctx, []ipld.Node{s, d}); err != nil {
		return nil, fmt.Errorf("storing the bucket root: %w", err)
	}
	return d, nil
}

// ErrBootstrapNotDir is NewRootFrom's refusal of a CID that is not a UnixFS directory.
var ErrBootstrapNotDir = errors.New("not a UnixFS directory")

// NewRootFrom stores and returns the root of a bucket bootstrapped from the directory c:
// its links, with its seed (if any) replaced by seed, as CIDv1. c must be a plain UnixFS
// directory (not a file, not a sharded directory); its node is read from ds, which
// should not reach the network for a CID a client named (the node's LocalDAG).
func NewRootFrom(ctx context.Context, ds ipld.DAGService, c cid.Cid, seed []byte) (ipld.Node, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("a bucket seed has %d bytes, not %d", SeedSize, len(seed))
	}
	n, err := ds.Get(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("bootstrap cid %s: %w", c, err)
	}
	if !isDir(n) {
		return nil, fmt.Errorf("bootstrap cid %s: %w", c, ErrBootstrapNotDir)
	}
	d := n.(*dag.ProtoNode).Copy().(*dag.ProtoNode)
	d.SetCidBuilder(dag.V1CidPrefix())
	_ = d.RemoveNodeLink(SeedName) // every link of that name; none is fine
	s := SeedNode(seed)
	if err := d.AddNodeLink(SeedName, s); err != nil {
		return nil, err
	}
	if err := ds.AddMany(ctx, []ipld.Node{s, d}); err != nil {
		return nil, fmt.Errorf("storing the bucket root: %w", err)
	}
	return d, nil
}

// IsDir says whether n is a plain UnixFS directory, the only node an Editor descends
// into or adds links to (a file's dag-pb node has links too; a sharded directory's
// links are not names).
func IsDir(n ipld.Node) bool { return isDir(n) }

func isDir(n ipld.Node) bool {
	pn, ok := n.(*dag.ProtoNode)
	if !ok {
		return false
	}
	fs, err := unixfs.FSNodeFromBytes(pn.Data())
	return err == nil && fs.Type() == unixfs.TDirectory
}

// NotFoundError is a missing path, in the words of go-path's resolver, which the Hub
// answered with and its clients look for ("no link named").
type NotFoundError struct {
	Name  string  // the missing segment
	Under cid.Cid // the node it is missing from
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no link named %q under %s", e.Name, e.Under)
}

// The refusals of an Editor, wrapped in one-line errors naming the paths (errors.Is).
var (
	ErrNotDirectory = errors.New("not a directory")
	ErrIntoItself   = errors.New("a path cannot move into itself, nor onto a directory that holds it")
	ErrRoot         = errors.New("the bucket's root")
)

// Editor edits a bucket's directory tree in memory and stores the directories it
// changed on Commit. It holds only the directories it edits (a file is a link, never
// loaded), so one Editor can take a whole push of many files; it never descends into or
// adds a link to a file, and every directory it writes is CIDv1. Paths are
// bucket-relative and checked with CleanPath. An Editor is not safe for concurrent use.
type Editor struct {
	ds   ipld.DAGService
	root *edDir
	// key is a private bucket's link key (nil: public): directories are read through
	// OpenNode and stored sealed (private.go).
	key []byte
}

// edDir is a directory being edited: its node has a link for every child in sub, stale
// until flush brings it up to date.
type edDir struct {
	node *dag.ProtoNode
	sub  map[string]*edDir
	// changed: this directory changed since its parent last linked it. Only the parent
	// clears it, so that flushing a directory on its own (a Get) leaves its parent to
	// link the new node.
	changed bool
	// sealed is the stored form of node in a private bucket, made by flush from the
	// plain node whose CID is sealedFrom: sealing is randomised, so it is made once for
	// each state of the directory (Root and Commit then agree).
	sealed     ipld.Node
	sealedFrom cid.Cid
}

func editable(n ipld.Node) *edDir {
	d := n.(*dag.ProtoNode).Copy().(*dag.ProtoNode)
	d.SetCidBuilder(dag.V1CidPrefix())
	return &edDir{node: d}
}

// NewEditor starts editing the tree whose root is root, reading nodes from ds and
// writing to it on Commit.
func NewEditor(ctx context.Context, ds ipld.DAGService, root cid.Cid) (*Editor, error) {
	return NewPrivateEditor(ctx, ds, root, nil)
}

// NewPrivateEditor is NewEditor for the tree of a private bucket whose link key is
// linkKey (nil: a public bucket): directories are decrypted as they are read and
// sealed as they are stored. Get answers plain directories; files are as stored.
func NewPrivateEditor(ctx context.Context, ds ipld.DAGService, root cid.Cid, linkKey []byte) (*Editor, error) {
	e := &Editor{ds: ds, key: linkKey}
	stored, err := ds.Get(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("bucket root %s: %w", root, err)
	}
	n, err := e.open(stored)
	if err != nil {
		return nil, fmt.Errorf("bucket root %s: %w", root, err)
	}
	if !isDir(n) {
		return nil, fmt.Errorf("bucket root %s: %w", root, ErrNotDirectory)
	}
	e.root = &edDir{node: n.(*dag.ProtoNode).Copy().(*dag.ProtoNode)}
	if linkKey != nil {
		e.root.sealed, e.root.sealedFrom = stored, e.root.node.Cid()
	}
	return e, nil
}

// open is the plain form of a stored node: itself in a public bucket.
func (e *Editor) open(n ipld.Node) (ipld.Node, error) {
	if e.key == nil {
		return n, nil
	}
	plain, _, err := OpenNode(n, e.key)
	return plain, err
}

// flush brings d's links up to date and returns its stored form (its node, or in a
// private bucket the node sealed with key).
func (d *edDir) flush(key []byte) (ipld.Node, error) {
	for name, c := range d.sub {
		if !c.changed {
			continue
		}
		n, err := c.flush(key)
		if err != nil {
			return nil, err
		}
		_ = d.node.RemoveNodeLink(name)
		if err := d.node.AddNodeLink(name, n); err != nil {
			return nil, err
		}
		c.changed = false
	}
	if key == nil {
		return d.node, nil
	}
	if d.sealed == nil || d.sealedFrom != d.node.Cid() {
		s, err := sealDir(d.node, key)
		if err != nil {
			return nil, err
		}
		d.sealed, d.sealedFrom = s, d.node.Cid()
	}
	return d.sealed, nil
}

// markChanged marks every directory of a chain from the root.
func markChanged(chain []*edDir) {
	for _, d := range chain {
		d.changed = true
	}
}

// attach is a pending attachment of a directory loaded or created during a walk.
type attach struct {
	parent  *edDir
	name    string
	child   *edDir
	created bool // no link of that name yet
}

// walk returns the chain of directories from the root to the directory named by segs
// (the root for none), loading what is not being edited yet; create makes missing
// directories. The chain is attached to the tree only by commit(), so a walk that fails
// leaves the tree as it was.
func (e *Editor) walk(ctx context.Context, segs []string, create bool, what string) (chain []*edDir, commit func(), err error) {
	var pending []attach
	d := e.root
	chain = []*edDir{d}
	for i, seg := range segs {
		next, ok := d.sub[seg]
		if !ok {
			l, err := d.node.GetNodeLink(seg)
			switch {
			case err == dag.ErrLinkNotFound && create:
				next = &edDir{node: newDir(), changed: true}
			case err == dag.ErrLinkNotFound:
				n, ferr := d.flush(e.key)
				if ferr != nil {
					return nil, nil, ferr
				}
				return nil, nil, &NotFoundError{Name: seg, Under: n.Cid()}
			case err != nil:
				return nil, nil, err
			default:
				stored, err := e.ds.Get(ctx, l.Cid)
				if err == nil {
					var n ipld.Node
					if n, err = e.open(stored); err == nil {
						if !isDir(n) {
							return nil, nil, fmt.Errorf("%s %q: %q is %w", what, strings.Join(segs, "/"), strings.Join(segs[:i+1], "/"), ErrNotDirectory)
						}
						next = editable(n)
						if e.key != nil {
							next.sealed, next.sealedFrom = stored, next.node.Cid()
						}
					}
				}
				if err != nil {
					return nil, nil, fmt.Errorf("%s %q: reading %q: %w", what, strings.Join(segs, "/"), strings.Join(segs[:i+1], "/"), err)
				}
			}
			pending = append(pending, attach{d, seg, next, err == dag.ErrLinkNotFound})
		}
		chain = append(chain, next)
		d = next
	}
	return chain, func() {
		for _, a := range pending {
			if a.parent.sub == nil {
				a.parent.sub = map[string]*edDir{}
			}
			a.parent.sub[a.name] = a.child
			if a.created {
				// Every directory in sub has a link in its parent, up to date or not.
				_ = a.parent.node.AddNodeLink(a.name, a.child.node)
			}
		}
	}, nil
}

func split(what, p string) (clean string, segs []string, err error) {
	clean, err = CleanPath(p)
	if err != nil {
		return "", nil, err
	}
	if clean == "" {
		return "", nil, nil
	}
	return clean, strings.Split(clean, "/"), nil
}

// Put links n at p, replacing what is there (a file or a directory), and creates the
// missing directories on the way. It refuses a path through a file (ErrNotDirectory)
// and the root (ErrRoot). n must be stored in the Editor's DAG service.
func (e *Editor) Put(ctx context.Context, p string, n ipld.Node) error {
	return e.put(ctx, "write", p, n, nil)
}

func (e *Editor) put(ctx context.Context, what, p string, n ipld.Node, sub *edDir) error {
	clean, segs, err := split(what, p)
	if err != nil {
		return err
	}
	if clean == "" {
		return fmt.Errorf("cannot %s %q: it is %w", what, p, ErrRoot)
	}
	chain, commit, err := e.walk(ctx, segs[:len(segs)-1], true, "cannot "+what)
	if err != nil {
		return err
	}
	if sub != nil {
		if n, err = sub.flush(e.key); err != nil {
			return err
		}
	}
	parent, name := chain[len(chain)-1], segs[len(segs)-1]
	_ = parent.node.RemoveNodeLink(name)
	if err := parent.node.AddNodeLink(name, n); err != nil {
		return err
	}
	commit()
	if sub != nil {
		if parent.sub == nil {
			parent.sub = map[string]*edDir{}
		}
		parent.sub[name] = sub
	} else {
		delete(parent.sub, name)
	}
	markChanged(chain)
	return nil
}

// Remove removes p (a file, or a directory and all it holds). A missing path is a
// *NotFoundError; the root is refused (ErrRoot). Empty parent directories are kept.
func (e *Editor) Remove(ctx context.Context, p string) error {
	clean, segs, err := split("remove", p)
	if err != nil {
		return err
	}
	if clean == "" {
		return fmt.Errorf("cannot remove %q: it is %w", p, ErrRoot)
	}
	chain, commit, err := e.walk(ctx, segs[:len(segs)-1], false, "cannot remove")
	if err != nil {
		return err
	}
	parent, name := chain[len(chain)-1], segs[len(segs)-1]
	if parent.node.RemoveNodeLink(name) != nil {
		n, err := parent.flush(e.key)
		if err != nil {
			return err
		}
		return &NotFoundError{Name: name, Under: n.Cid()}
	}
	commit()
	delete(parent.sub, name)
	markChanged(chain)
	return nil
}

// resolve returns what p names: the directory being edited, or the stored node and its
// plain form (the same node in a public bucket).
func (e *Editor) resolve(ctx context.Context, p string) (d *edDir, stored, plain ipld.Node, err error) {
	clean, segs, err := split("read", p)
	if err != nil {
		return nil, nil, nil, err
	}
	if clean == "" {
		return e.root, nil, nil, nil
	}
	d = e.root
	for i, seg := range segs {
		if next, ok := d.sub[seg]; ok {
			d = next
			continue
		}
		l, err := d.node.GetNodeLink(seg)
		if err != nil {
			n, ferr := d.flush(e.key)
			if ferr != nil {
				return nil, nil, nil, ferr
			}
			return nil, nil, nil, &NotFoundError{Name: seg, Under: n.Cid()}
		}
		if stored, plain, err = e.get(ctx, l.Cid); err != nil {
			return nil, nil, nil, fmt.Errorf("reading %q: %w", strings.Join(segs[:i+1], "/"), err)
		}
		// The rest is stored as it is: resolve it as go-path does, never into a file.
		for _, rest := range segs[i+1:] {
			if !isDir(plain) {
				return nil, nil, nil, &NotFoundError{Name: rest, Under: stored.Cid()}
			}
			l, err := plain.(*dag.ProtoNode).GetNodeLink(rest)
			if err != nil {
				return nil, nil, nil, &NotFoundError{Name: rest, Under: stored.Cid()}
			}
			if stored, plain, err = e.get(ctx, l.Cid); err != nil {
				return nil, nil, nil, fmt.Errorf("reading %q: %w", clean, err)
			}
		}
		return nil, stored, plain, nil
	}
	return d, nil, nil, nil
}

// get reads a stored node and opens it.
func (e *Editor) get(ctx context.Context, c cid.Cid) (stored, plain ipld.Node, err error) {
	if stored, err = e.ds.Get(ctx, c); err != nil {
		return nil, nil, err
	}
	if plain, err = e.open(stored); err != nil {
		return nil, nil, err
	}
	return stored, plain, nil
}

// Get returns the node at p ("" is the root) as the tree stands in the Editor, in plain
// form (a private bucket's directories decrypted). A missing path is a *NotFoundError.
// Directories edited since the last Commit, and what they hold, are stored only by
// Commit: link the result elsewhere with Move, not Put.
func (e *Editor) Get(ctx context.Context, p string) (ipld.Node, error) {
	d, _, plain, err := e.resolve(ctx, p)
	if err != nil {
		return nil, err
	}
	if d != nil {
		if _, err := d.flush(e.key); err != nil {
			return nil, err
		}
		return d.node.Copy(), nil
	}
	return plain, nil
}

// Move moves from to to as mv does: into to when to is a directory (as to/<base of
// from>), else to the name to, replacing a file there and creating missing parents. It
// refuses moving the root (ErrRoot), a directory into itself or anything under it, or
// a path onto a directory that holds it (ErrIntoItself: "d/x" to "" when the root has
// "d" would replace d, x's own parent), and a directory onto a file (ErrNotDirectory).
// A directory the move lands on (after going into to) is replaced, as the Hub did.
// Moving onto itself changes nothing. A refused move changes nothing.
func (e *Editor) Move(ctx context.Context, from, to string) error {
	src, err := CleanPath(from)
	if err != nil {
		return err
	}
	dst, err := CleanPath(to)
	if err != nil {
		return err
	}
	if src == "" {
		return fmt.Errorf("cannot move %q: it is %w", from, ErrRoot)
	}
	if src == dst {
		return nil
	}
	sd, sn, splain, err := e.resolve(ctx, src)
	if err != nil {
		return err
	}
	srcIsDir := sd != nil || isDir(splain)
	switch td, _, tplain, err := e.resolve(ctx, dst); {
	case err == nil && (td != nil || isDir(tplain)):
		dst = joinPath(dst, src[strings.LastIndexByte(src, '/')+1:])
	case err == nil && srcIsDir:
		return fmt.Errorf("cannot move %q to %q: %q is %w", from, to, dst, ErrNotDirectory)
	case err == nil:
		// a file onto a file: replaced
	case errors.As(err, new(*NotFoundError)):
		// a new name
	default:
		return err
	}
	if dst == src {
		return nil
	}
	if strings.HasPrefix(dst, src+"/") || strings.HasPrefix(src, dst+"/") {
		return fmt.Errorf("cannot move %q to %q: %w", from, dst, ErrIntoItself)
	}
	if sd != nil {
		err = e.put(ctx, "move to", dst, nil, sd)
	} else {
		err = e.put(ctx, "move to", dst, sn, nil)
	}
	if err != nil {
		return err
	}
	return e.Remove(ctx, src)
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// Root returns the CID of the root as the tree stands, without storing anything.
func (e *Editor) Root() (cid.Cid, error) {
	n, err := e.root.flush(e.key)
	if err != nil {
		return cid.Undef, err
	}
	return n.Cid(), nil
}

// Commit stores every directory changed since the last Commit and returns the new
// root's CID. The Editor then goes on from that root, holding nothing else.
func (e *Editor) Commit(ctx context.Context) (cid.Cid, error) {
	root, err := e.root.flush(e.key)
	if err != nil {
		return cid.Undef, err
	}
	var nodes []ipld.Node
	var collect func(d *edDir)
	collect = func(d *edDir) {
		if e.key == nil {
			nodes = append(nodes, d.node)
		} else if d.sealed != nil {
			nodes = append(nodes, d.sealed) // one not flushed is stored as it was read
		}
		for _, c := range d.sub {
			collect(c)
		}
	}
	collect(e.root)
	if err := e.ds.AddMany(ctx, nodes); err != nil {
		return cid.Undef, fmt.Errorf("storing the bucket's directories: %w", err)
	}
	e.root = &edDir{node: e.root.node, sealed: e.root.sealed, sealedFrom: e.root.sealedFrom}
	return root.Cid(), nil
}
