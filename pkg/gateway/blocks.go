package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	cid "github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	multihash "github.com/multiformats/go-multihash"
)

// errRefused is a block the gateway does not serve: to its readers, a block that is not
// there (it wraps ipld.ErrNotFound).
var errRefused = fmt.Errorf("block not served by the gateway: %w", ipld.ErrNotFound)

// localBlocks is the DAG the gateway reads: the node's local blockstore (never the
// network), narrowed to what UnixFS is made of.
//
// The blockstore also holds go-threads' records, events, headers and bodies, and it keys
// blocks by multihash alone: a CID naming a record's hash with the raw codec gets the
// record's bytes back as if they were a file. So the gateway serves only dag-pb and raw
// blocks, and never a raw block that is exactly one CBOR byte string: the shape of every
// block go-threads encrypts (cbor.EncodeBlock wraps the ciphertext so; go-threads v1.1.5
// cbor/coding.go), records and event bodies alike. The one other block go-threads writes,
// an event's node (a CBOR map of two CIDs), holds no secret. A user's file whose whole
// 256 KiB chunk is exactly one CBOR byte string is refused too: nothing but a file made
// for it is.
type localBlocks struct{ dag ipld.DAGService }

// FilesOnly is a read-only view of dag that gets only what the gateway serves: dag-pb
// and raw blocks, never one shaped as go-threads' encrypted blocks (see localBlocks).
// Whatever hands out blocks by a caller's CID from the node's blockstore (the buckets
// API's ListIpfsPath and PullIpfsPath, too) should read through it. A block it refuses
// is ipld.ErrNotFound to its callers (errors.Is), as one that is not there.
func FilesOnly(dag ipld.DAGService) ipld.DAGService { return localBlocks{dag: dag} }

func (b localBlocks) Get(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	if !servedCodec(c) {
		return nil, errRefused
	}
	nd, err := b.dag.Get(ctx, c)
	if err != nil {
		return nil, err
	}
	if threadShaped(c, nd.RawData()) {
		return nil, errRefused
	}
	return nd, nil
}

func (b localBlocks) GetMany(ctx context.Context, cids []cid.Cid) <-chan *ipld.NodeOption {
	return GetEach(ctx, b.Get, cids)
}

// GetEach is a GetMany made of Gets, one block at a time in order, that stops at the
// first error: for the DAGs whose Get is where their checks are (FilesOnly's codecs, a
// fetching DAG's bounds), so that no block comes around them.
func GetEach(ctx context.Context, get func(context.Context, cid.Cid) (ipld.Node, error), cids []cid.Cid) <-chan *ipld.NodeOption {
	out := make(chan *ipld.NodeOption, len(cids))
	go func() {
		defer close(out)
		for _, c := range cids {
			nd, err := get(ctx, c)
			select {
			case out <- &ipld.NodeOption{Node: nd, Err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// The gateway never writes.
var errReadOnly = errors.New("the gateway is read-only")

func (localBlocks) Add(context.Context, ipld.Node) error        { return errReadOnly }
func (localBlocks) AddMany(context.Context, []ipld.Node) error  { return errReadOnly }
func (localBlocks) Remove(context.Context, cid.Cid) error       { return errReadOnly }
func (localBlocks) RemoveMany(context.Context, []cid.Cid) error { return errReadOnly }

// servedCodec: UnixFS is dag-pb nodes and raw leaves, stored under a real hash. An
// identity "hash" holds its block in the CID itself (ipfs-lite's blockstore answers it
// without looking anything up): serving it would serve whatever a URL says, a page
// written into a link, as if the node held it.
func servedCodec(c cid.Cid) bool {
	t := c.Type()
	return (t == cid.DagProtobuf || t == cid.Raw) && c.Prefix().MhType != multihash.IDENTITY
}

// notServed is a block that is not here, or that the gateway does not serve: both are
// answered alike, as absent.
func notServed(err error) bool {
	return errors.Is(err, errRefused) || errors.Is(err, ipld.ErrNotFound)
}

// threadShaped is a raw block with the shape of go-threads' encrypted blocks.
func threadShaped(c cid.Cid, data []byte) bool {
	return c.Type() == cid.Raw && isCBORByteString(data)
}

// isCBORByteString reports whether data is exactly one definite-length CBOR byte string
// (major type 2; RFC 8949 3.1).
func isCBORByteString(data []byte) bool {
	if len(data) == 0 || data[0]>>5 != 2 {
		return false
	}
	info := data[0] & 0x1f
	if info < 24 {
		return uint64(len(data)-1) == uint64(info)
	}
	if info > 27 {
		return false // reserved, or indefinite length (31)
	}
	hl := 1 << (info - 24) // 1, 2, 4 or 8 bytes of length
	if len(data) < 1+hl {
		return false
	}
	var n [8]byte
	copy(n[8-hl:], data[1:1+hl])
	return uint64(len(data)-1-hl) == binary.BigEndian.Uint64(n[:])
}
