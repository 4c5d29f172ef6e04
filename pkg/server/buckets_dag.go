package server

// The buckets API's reads and edits of UnixFS trees (pkg/buckets' Editor and Items over
// the node's LocalDAG, and a bucket's own tree also from peers: buckets_fetch.go), and
// their answers.

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	dag "github.com/ipfs/go-merkledag"
	"github.com/ipfs/go-unixfs"
	ufsio "github.com/ipfs/go-unixfs/io"
	bucketspb "github.com/textileio/textile/v2/api/bucketsd/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/gateway"
)

// editErr is the answer to a refused or failed edit or read of a bucket's tree.
func editErr(err error) error {
	var pe *buckets.PathError
	var nf *buckets.NotFoundError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.As(err, &nf):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, buckets.ErrNotDirectory):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, buckets.ErrIntoItself), errors.Is(err, buckets.ErrRoot):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	case errors.As(err, new(*fetchError)):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, ipld.ErrNotFound), strings.Contains(err.Error(), ipld.ErrNotFound.Error()):
		return status.Errorf(codes.FailedPrecondition, "%v: a block of the bucket is not on this server", err)
	case errors.Is(err, buckets.ErrDecrypt):
		// A private bucket's instance whose link key does not open its tree: written
		// through the threads API, or by a peer. The error names blocks, never keys.
		return status.Errorf(codes.FailedPrecondition, "%v: the bucket's instance was not written by a buckets server; remove the bucket", err)
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Internal, err.Error())
}

// editor starts an edit of b's tree.
func (s *bucketsService) editor(ctx context.Context, b *buckets.Bucket) (*buckets.Editor, error) {
	root, err := b.Root()
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "%v: the instance was written through the threads API; remove the bucket", err)
	}
	key, err := b.LinkKeyBytes()
	if err != nil {
		return nil, unreadableBucket(b)
	}
	ed, err := buckets.NewPrivateEditor(ctx, s.treeDAG(), root, key)
	if err != nil {
		return nil, editErr(err)
	}
	return ed, nil
}

// resolve finds the node at pth (cleaned; "" the root) of b's tree, in plain form (a
// private bucket's directories decrypted; its files as stored).
func (s *bucketsService) resolve(ctx context.Context, b *buckets.Bucket, pth string) (ipld.Node, error) {
	ed, err := s.editor(ctx, b)
	if err != nil {
		return nil, err
	}
	n, err := ed.Get(ctx, pth)
	if err != nil {
		return nil, editErr(err)
	}
	return n, nil
}

// localNode reads the node of a CID a client named, from this node's blocks only.
func (s *bucketsService) localNode(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	n, err := s.dag.Get(ctx, c)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, ipld.ErrNotFound), strings.Contains(err.Error(), ipld.ErrNotFound.Error()):
		return nil, status.Errorf(codes.NotFound, "%s is not on this server: only blocks it holds can be read or linked; push the content instead", c)
	case strings.Contains(err.Error(), "decode"):
		// A block whose bytes are not what its CID's codec says (a file's bytes named
		// dag-pb, say): not a UnixFS node.
		return nil, status.Errorf(codes.InvalidArgument, "%s is not a UnixFS file or directory", c)
	}
	return nil, editErr(err)
}

// localTree checks that every block of the tree under c (a CID a client named, to link
// into a bucket: SetPath, Create from a CID) is on this node: a bucket's own tree is read
// from peers when a block is missing (buckets_fetch.go), so a tree linking what is not
// here, say a directory node a client pushed as a file's bytes and named by its dag-pb
// CID, would make the node fetch and keep whatever it links. Each block is read once.
func (s *bucketsService) localTree(ctx context.Context, c cid.Cid) error {
	seen := map[cid.Cid]bool{}
	todo := []cid.Cid{c}
	for len(todo) > 0 {
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		next := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[next] {
			continue
		}
		seen[next] = true
		if next != c && next.Type() == cid.Raw {
			// A raw block links nothing: it need only be here (not read: a file's chunks).
			if has, err := s.node.DAG().BlockStore().Has(next); err == nil && has {
				continue
			}
		}
		n, err := s.localNode(ctx, next)
		if err != nil {
			if next != c && status.Code(err) == codes.NotFound {
				return status.Errorf(codes.NotFound, "%s links %s, which is not on this server: only trees whose every block this server holds can be linked into a bucket; push the content instead", c, next)
			}
			return err
		}
		for _, l := range n.Links() {
			todo = append(todo, l.Cid)
		}
	}
	return nil
}

// resolveIPFS finds the node of an IPFS path (/ipfs/<cid>[/<path>] or <cid>[/<path>])
// among this node's blocks. The path after the CID follows the rules of bucket paths.
func (s *bucketsService) resolveIPFS(ctx context.Context, p string) (ipld.Node, error) {
	rest := strings.TrimPrefix(p, "/ipfs/")
	head, tail, _ := strings.Cut(rest, "/")
	c, err := cid.Decode(head)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invalid IPFS path %q: %v: give /ipfs/<cid>[/<path>]", p, err)
	}
	tail, err = cleanPath(tail)
	if err != nil {
		return nil, err
	}
	n, err := s.localNode(ctx, c)
	if err != nil || tail == "" {
		return n, err
	}
	if !isUnixfsDir(n) {
		return nil, status.Errorf(codes.NotFound, "no link named %q under %s", strings.SplitN(tail, "/", 2)[0], c)
	}
	ed, err := buckets.NewEditor(ctx, s.dag, c)
	if err != nil {
		return nil, editErr(err)
	}
	n, err = ed.Get(ctx, tail)
	if err != nil {
		return nil, editErr(err)
	}
	return n, nil
}

// isUnixfsDir says whether n is a UnixFS directory.
func isUnixfsDir(n ipld.Node) bool {
	pn, ok := n.(*dag.ProtoNode)
	if !ok {
		return false
	}
	fs, err := unixfs.FSNodeFromBytes(pn.Data())
	return err == nil && fs.IsDir()
}

// fileReader reads the file n (named name in errors), decrypted with key when it is a
// private bucket's (nil: as stored).
func (s *bucketsService) fileReader(ctx context.Context, n ipld.Node, name string, key []byte) (io.ReadCloser, error) {
	if isUnixfsDir(n) {
		return nil, status.Errorf(codes.InvalidArgument, "node is a directory: %s is a directory; pull a file, or list it (ListPath)", strings.TrimPrefix(name, "/"))
	}
	var ds ipld.DAGService = s.dag
	if pullsBucketPath(ctx) {
		ds = s.treeDAG()
	}
	r, err := ufsio.NewDagReader(ctx, n, ds)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%s is not a file: %v", name, err)
	}
	if key == nil {
		return r, nil
	}
	plain, err := buckets.DecryptAhead(r, key)
	if err != nil {
		r.Close()
		return nil, status.Errorf(codes.FailedPrecondition, "%s does not decrypt with its bucket's key: it was not written by a buckets server", strings.TrimPrefix(name, "/"))
	}
	return readClosers{plain, r}, nil
}

// readClosers reads the first and closes both.
type readClosers struct {
	io.ReadCloser
	under io.Closer
}

func (r readClosers) Close() error {
	err := r.ReadCloser.Close()
	if cerr := r.under.Close(); err == nil {
		err = cerr
	}
	return err
}

// listItem describes n (at full, the whole IPFS path) as the Hub's ListPath did, with
// the metadata of b (nil: none) and one level of items for a directory. The answer (with
// besides bytes of the rest of it) stays within s.maxReply bytes: a directory with more items than fit lists the first ones
// (link order), and its items_count is still every item it holds, so a client can tell.
func (s *bucketsService) listItem(ctx context.Context, n ipld.Node, full string, b, view *buckets.Bucket, besides int) (*bucketspb.PathItem, error) {
	var ds ipld.DAGService = s.dag
	var key []byte
	if b != nil {
		ds = s.treeDAG() // the bucket's own tree
		var err error
		if key, err = b.LinkKeyBytes(); err != nil {
			return nil, unreadableBucket(b)
		}
	}
	top, err := buckets.NewItem(ctx, ds, n, full, false)
	if err != nil {
		return nil, editErr(err)
	}
	out := pbItem(top, view)
	if !top.IsDir {
		return out, nil
	}
	budget := s.maxReply
	if budget <= 0 {
		budget = maxListReply
	}
	budget -= besides // the rest of the answer
	size := proto.Size(out)
	for _, l := range n.Links() {
		if l.Name == "" {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		it, err := s.linkItem(ctx, ds, l, full+"/"+l.Name, key)
		if err != nil {
			return nil, editErr(err)
		}
		pi := pbItem(it, view)
		// A repeated field costs its size and a few bytes of tag and length.
		k := proto.Size(pi) + 8
		if size+k > budget {
			break
		}
		size += k
		out.Items = append(out.Items, pi)
	}
	return out, nil
}

// linkItem describes the child l of a directory, at pth, as buckets.NewItem does. A raw
// block (a file's only chunk: every small file of a bucket) is described by its link
// alone, without reading it: its CID and name are the link's, it is no directory, and
// its size (the block's length, what NewItem's Stat gives) is the link's Tsize, which
// every UnixFS builder sets to that length. A listing of a directory of 100 small files
// is then one block read instead of 101 (a sync of 10,000 files spent most of its
// listing in the store's reads of the files' blocks).
// In a private bucket (key, its link key), a directory is described decrypted.
func (s *bucketsService) linkItem(ctx context.Context, ds ipld.DAGService, l *ipld.Link, pth string, key []byte) (buckets.Item, error) {
	if l.Cid.Type() == cid.Raw {
		return buckets.Item{Cid: l.Cid.String(), Name: l.Name, Path: pth, Size: int64(l.Size)}, nil
	}
	c, err := l.GetNode(ctx, ds)
	if err != nil {
		return buckets.Item{}, err
	}
	if c, _, err = buckets.OpenNode(c, key); err != nil {
		return buckets.Item{}, err
	}
	it, err := buckets.NewItem(ctx, ds, c, pth, false)
	if err == nil && key != nil && it.IsDir {
		it.Size = int64(l.Size) // what it holds (buckets.NewItem counts the plain node's links)
	}
	return it, err
}

// pbItem is an item as the Hub answered it, with the metadata b keeps for its path (the
// nearest entry above it).
func pbItem(it buckets.Item, b *buckets.Bucket) *bucketspb.PathItem {
	out := &bucketspb.PathItem{
		Cid:        it.Cid,
		Name:       it.Name,
		Path:       it.Path,
		Size:       it.Size,
		IsDir:      it.IsDir,
		ItemsCount: int32(it.ItemsCount),
	}
	if b != nil {
		rel := strings.TrimPrefix(strings.TrimPrefix(it.Path, b.Path), "/")
		if md, _, ok := b.MetadataForPath(rel, false); ok {
			out.Metadata = pbMetadata(md)
		}
	}
	for _, c := range it.Items {
		out.Items = append(out.Items, pbItem(c, b))
	}
	return out
}

// newRoot stores the root of a new bucket: an empty directory, or boot's directory
// (one of this node's blocks), with a new seed; sealed with keys for a private bucket
// (nil: public). seedData is the stored seed's bytes, what the Hub answered as the seed.
func (s *bucketsService) newRoot(ctx context.Context, boot cid.Cid, keys *buckets.Keys) (root cid.Cid, seedData []byte, seedCid cid.Cid, err error) {
	seed, err := buckets.NewSeed()
	if err != nil {
		return cid.Undef, nil, cid.Undef, status.Error(codes.Internal, err.Error())
	}
	if boot.Defined() {
		if err := s.localTree(ctx, boot); err != nil {
			return cid.Undef, nil, cid.Undef, err
		}
	}
	var n, seedNode ipld.Node
	switch {
	case keys != nil && boot.Defined():
		n, seedNode, err = buckets.SealedRootFrom(ctx, s.dag, s.dag, boot, seed, *keys)
	case keys != nil:
		n, seedNode, err = buckets.SealedRoot(ctx, s.dag, seed, *keys)
	case boot.Defined():
		n, err = buckets.NewRootFrom(ctx, s.dag, boot, seed)
		seedNode = buckets.SeedNode(seed)
	default:
		n, err = buckets.NewRoot(ctx, s.dag, seed)
		seedNode = buckets.SeedNode(seed)
	}
	if errors.Is(err, buckets.ErrBootstrapNotDir) {
		return cid.Undef, nil, cid.Undef, status.Errorf(codes.InvalidArgument, "invalid bootstrap cid: %v: a bucket's root is a directory; give a directory's CID", err)
	}
	if err != nil {
		return cid.Undef, nil, cid.Undef, editErr(err)
	}
	return n.Cid(), seedNode.RawData(), seedNode.Cid(), nil
}

// bucketDAG is the DAG buckets read and edit: the node's blockstore without the network
// (node.LocalDAG), read as the gateway serves it (gateway.FilesOnly: UnixFS blocks only).
// The blockstore also holds every thread's records, keyed by multihash alone, so a CID a
// caller names with another codec (ListIpfsPath, PullIpfsPath, SetPath, Create from a
// CID), or a link in a directory a caller crafted as a file's bytes, would otherwise read
// a record's bytes as a file's. Writes go to the blockstore as they are.
type bucketDAG struct {
	ipld.DAGService // reads
	w               ipld.DAGService
}

func newBucketDAG(local ipld.DAGService) bucketDAG {
	return bucketDAG{DAGService: gateway.FilesOnly(local), w: local}
}

func (d bucketDAG) Add(ctx context.Context, n ipld.Node) error        { return d.w.Add(ctx, n) }
func (d bucketDAG) AddMany(ctx context.Context, ns []ipld.Node) error { return d.w.AddMany(ctx, ns) }
func (d bucketDAG) Remove(ctx context.Context, c cid.Cid) error       { return d.w.Remove(ctx, c) }
func (d bucketDAG) RemoveMany(ctx context.Context, cs []cid.Cid) error {
	return d.w.RemoveMany(ctx, cs)
}
