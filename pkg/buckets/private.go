package buckets

// Private buckets, encrypted as the Hub encrypted them (textile api/bucketsd: makeSeed,
// encryptNode, encryptDag, decryptNode), with github.com/textileio/dcrypto:
//
//   - the bucket's link key (the instance's "key", base64) encrypts every directory
//     node: the stored block is a UnixFS file node whose data is the ciphertext of the
//     plain directory's protobuf, so a stored directory shows no links and no names;
//   - a file key per path (metadata "key", base64; a path without one uses its nearest
//     ancestor's) encrypts each file's content, and the seed: the stored file is the
//     UnixFS file of the ciphertext (raw leaves, FileParams).
//
// A plain directory's links point at the stored (encrypted) children. Every block in
// the blockstore, on peers and under /ipfs/ is ciphertext; only a holder of the keys (the
// server, reading the instance) gets plaintext back.
//
// hubctl sets one thing the Hub did not: the size of a link to an encrypted directory
// is what the directory holds (its block and its links' sizes), not the length of its
// block alone, so that a private bucket's sizes, and the storage it is counted for, are
// its contents'.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	dag "github.com/ipfs/go-merkledag"
	"github.com/ipfs/go-unixfs"
	ufsio "github.com/ipfs/go-unixfs/io"
	"github.com/textileio/dcrypto"
)

// ErrDecrypt is the refusal of a block that the bucket's key does not open: a wrong
// key, or a block that is not what a private bucket stores.
var ErrDecrypt = errors.New("a block of the private bucket does not decrypt with its key")

// NewEncryptionKey returns a new key for a private bucket (link or file key).
func NewEncryptionKey() ([]byte, error) {
	k, err := dcrypto.NewKey()
	if err != nil {
		return nil, fmt.Errorf("making a bucket key: %w", err)
	}
	return k, nil
}

// EncodeKey is a key as instances keep it.
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// decodeKey reads a key as instances keep it; "" is no key.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("a bucket key is not base64: %w", err)
	}
	return k, nil
}

// NewPrivate returns the instance of a new private bucket whose root is root, with its
// link key and the root's file key: as New, but the root's metadata gives the owner
// Admin and nobody else a role (the Hub's NewDefaultMetadata with a key).
func NewPrivate(key, owner, name string, root cid.Cid, linkKey, fileKey []byte, now time.Time) *Bucket {
	b := New(key, owner, name, root, now)
	b.LinkKey = EncodeKey(linkKey)
	md := b.Metadata[""]
	delete(md.Roles, "*")
	md.Key = EncodeKey(fileKey)
	b.Metadata[""] = md
	return b
}

// LinkKeyBytes is the bucket's link key (nil for a public bucket).
func (b *Bucket) LinkKeyBytes() ([]byte, error) {
	k, err := decodeKey(b.LinkKey)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", b.Key, err)
	}
	return k, nil
}

// FileKey is the key the file at pth (cleaned, bucket-relative) is encrypted with: the
// key of its nearest metadata entry that has one (the Hub's GetFileEncryptionKeyForPath;
// a version 0 bucket used its link key). nil for a public bucket.
func (b *Bucket) FileKey(pth string) ([]byte, error) {
	if !b.IsPrivate() {
		return nil, nil
	}
	if b.Version == 0 {
		return b.LinkKeyBytes()
	}
	md, _, ok := b.MetadataForPath(pth, true)
	if !ok || md.Key == "" {
		return nil, fmt.Errorf("bucket %s: no file key for %q", b.Key, pth)
	}
	k, err := decodeKey(md.Key)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", b.Key, err)
	}
	return k, nil
}

// sizedNode is a stored node whose links report size: an encrypted directory, whose
// block has no links, linked with the size of what it holds.
type sizedNode struct {
	ipld.Node
	size uint64
}

func (n sizedNode) Size() (uint64, error) { return n.size, nil }

// sealDir is the stored form of the plain directory d under linkKey.
func sealDir(d *dag.ProtoNode, linkKey []byte) (ipld.Node, error) {
	cipher, err := encryptBytes(d.RawData(), linkKey)
	if err != nil {
		return nil, fmt.Errorf("encrypting a directory: %w", err)
	}
	en := dag.NodeWithData(unixfs.FilePBData(cipher, uint64(len(cipher))))
	en.SetCidBuilder(dag.V1CidPrefix())
	var size uint64
	for _, l := range d.Links() {
		size += l.Size
	}
	return sizedNode{Node: en, size: uint64(len(en.RawData())) + size}, nil
}

// OpenNode is the plain form of a stored node of a private bucket (the Hub's
// decryptNode): an encrypted directory decrypted with linkKey (dir true), anything else
// (a file: a raw block, or a file node of ciphertext chunks) as it is. With no key it is
// n itself.
func OpenNode(n ipld.Node, linkKey []byte) (plain ipld.Node, dir bool, err error) {
	if linkKey == nil {
		return n, isDir(n), nil
	}
	pn, ok := n.(*dag.ProtoNode)
	if !ok {
		return n, false, nil // raw: a file's only chunk
	}
	fs, err := unixfs.FSNodeFromBytes(pn.Data())
	if err != nil {
		return nil, false, fmt.Errorf("block %s: %w", n.Cid(), err)
	}
	if fs.Type() != unixfs.TFile || len(fs.Data()) == 0 {
		return n, false, nil // a file of several chunks: its links are the chunks
	}
	data, err := decryptBytes(fs.Data(), linkKey)
	if err != nil {
		return nil, false, fmt.Errorf("block %s: %w", n.Cid(), err)
	}
	d, err := dag.DecodeProtobuf(data)
	if err != nil || !isDir(d) {
		return nil, false, fmt.Errorf("block %s: %w: not a directory", n.Cid(), ErrDecrypt)
	}
	d.SetCidBuilder(dag.V1CidPrefix())
	return d, true, nil
}

// NodeLinks are the links of a stored node of a bucket: those of the plain directory
// for an encrypted one (linkKey given), the node's own otherwise. A collector walks a
// private bucket through them.
func NodeLinks(n ipld.Node, linkKey []byte) ([]*ipld.Link, error) {
	plain, _, err := OpenNode(n, linkKey)
	if err != nil {
		return nil, err
	}
	return plain.Links(), nil
}

// Keys are a private bucket's keys for writing: nil for a public bucket.
type Keys struct {
	Link []byte
	// File is the key of the files written (the path's, FileKey).
	File []byte
}

// SealedRoot stores the root of a new private bucket: a directory holding only the seed,
// encrypted with the file key, as SeedName; the directory sealed with the link key. It
// returns the stored root and the stored seed (its bytes are what the Hub answered as
// the seed).
func SealedRoot(ctx context.Context, ds ipld.DAGService, seed []byte, keys Keys) (root, seedNode ipld.Node, err error) {
	if len(seed) != SeedSize {
		return nil, nil, fmt.Errorf("a bucket seed has %d bytes, not %d", SeedSize, len(seed))
	}
	sealed, err := encryptBytes(seed, keys.File)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypting the seed: %w", err)
	}
	s := dag.NewRawNode(sealed)
	d := newDir()
	if err := d.AddNodeLink(SeedName, s); err != nil {
		return nil, nil, err
	}
	r, err := sealDir(d, keys.Link)
	if err != nil {
		return nil, nil, err
	}
	if err := ds.AddMany(ctx, []ipld.Node{s, r}); err != nil {
		return nil, nil, fmt.Errorf("storing the bucket root: %w", err)
	}
	return r, s, nil
}

// SealTree stores the encrypted copy of the plain UnixFS tree c (a file or a directory
// read from src, which should not reach the network for a CID a client named), as a
// private bucket holds it: every file's content under keys.File, every directory under
// keys.Link. It returns the stored top node, to be linked into a private bucket's tree,
// and the plain directory for a directory (nil for a file). A seed in the tree's top
// directory is left out: the caller puts the bucket's own.
func SealTree(ctx context.Context, src, dst ipld.DAGService, c cid.Cid, keys Keys) (stored ipld.Node, plainDir *dag.ProtoNode, err error) {
	n, err := src.Get(ctx, c)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", c, err)
	}
	if !isDir(n) {
		f, err := sealFile(ctx, src, dst, n, keys.File)
		return f, nil, err
	}
	d := newDir()
	for _, l := range n.Links() {
		if l.Name == SeedName {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		child, _, err := SealTree(ctx, src, dst, l.Cid, keys)
		if err != nil {
			return nil, nil, err
		}
		if err := d.AddNodeLink(l.Name, child); err != nil {
			return nil, nil, err
		}
	}
	s, err := sealDir(d, keys.Link)
	if err != nil {
		return nil, nil, err
	}
	if err := dst.Add(ctx, s); err != nil {
		return nil, nil, fmt.Errorf("storing a directory: %w", err)
	}
	return s, d, nil
}

// sealFile stores the file n encrypted with key, streaming: never whole in memory.
func sealFile(ctx context.Context, src, dst ipld.DAGService, n ipld.Node, key []byte) (ipld.Node, error) {
	r, err := ufsio.NewDagReader(ctx, n, src)
	if err != nil {
		return nil, fmt.Errorf("%s is not a UnixFS file or directory: %w", n.Cid(), err)
	}
	defer r.Close()
	enc, err := Encrypt(r, key)
	if err != nil {
		return nil, err
	}
	return AddFile(ctx, dst, enc)
}

// SealedRootFrom stores the root of a new private bucket bootstrapped from the plain
// directory boot (read from src, local only): its tree sealed (SealTree) with the seed,
// encrypted with the file key, as SeedName.
func SealedRootFrom(ctx context.Context, src, dst ipld.DAGService, boot cid.Cid, seed []byte, keys Keys) (root, seedNode ipld.Node, err error) {
	if len(seed) != SeedSize {
		return nil, nil, fmt.Errorf("a bucket seed has %d bytes, not %d", SeedSize, len(seed))
	}
	n, err := src.Get(ctx, boot)
	if err != nil {
		return nil, nil, fmt.Errorf("bootstrap cid %s: %w", boot, err)
	}
	if !isDir(n) {
		return nil, nil, fmt.Errorf("bootstrap cid %s: %w", boot, ErrBootstrapNotDir)
	}
	_, plain, err := SealTree(ctx, src, dst, boot, keys)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := encryptBytes(seed, keys.File)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypting the seed: %w", err)
	}
	s := dag.NewRawNode(sealed)
	if err := plain.AddNodeLink(SeedName, s); err != nil {
		return nil, nil, err
	}
	r, err := sealDir(plain, keys.Link)
	if err != nil {
		return nil, nil, err
	}
	if err := dst.AddMany(ctx, []ipld.Node{s, r}); err != nil {
		return nil, nil, fmt.Errorf("storing the bucket root: %w", err)
	}
	return r, s, nil
}
