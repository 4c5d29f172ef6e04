package server

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	dag "github.com/ipfs/go-merkledag"
	ipfspath "github.com/ipfs/interface-go-ipfs-core/path"
	core "github.com/textileio/go-threads/core/net"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The blockstore buckets read also holds every thread's records (encrypted), keyed by
// multihash alone: a CID naming a record's hash reads its bytes whatever codec it says.
// No buckets call may hand them out: not ListIpfsPath or PullIpfsPath of the record's
// CID relabelled, not a bucket that links it (SetPath, Create from it), nor a directory a
// user crafts as a file's bytes (a raw leaf whose bytes are a dag-pb node linking the
// record) and then names with the dag-pb codec.
func TestBucketsServeNoThreadRecords(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "site").Root.Key
	e.push(t, key, "a.txt", []byte("a"))
	info, err := e.s.nc.GetThread(e.s.ctx, e.db, core.WithThreadToken(e.s.tok))
	if err != nil {
		t.Fatal(err)
	}
	var heads []cid.Cid
	for _, lg := range info.Logs {
		if lg.Head.ID.Defined() {
			heads = append(heads, lg.Head.ID)
		}
	}
	if len(heads) == 0 {
		t.Fatal("the bucket database has no head record")
	}
	refused := func(what string, err error) {
		t.Helper()
		if c := status.Code(err); c != codes.NotFound && c != codes.InvalidArgument {
			t.Fatalf("%s: %v, want it refused (NotFound or InvalidArgument)", what, err)
		}
	}
	for _, h := range heads {
		for _, c := range []cid.Cid{h, cid.NewCidV1(cid.Raw, h.Hash()), cid.NewCidV1(cid.DagProtobuf, h.Hash())} {
			var buf bytes.Buffer
			refused(fmt.Sprintf("PullIpfsPath of record %s", c), e.bc.PullIpfsPath(bounded(t, e.ctx), mustResolved(t, "/ipfs/"+c.String()), &buf))
			_, err := e.bc.ListIpfsPath(bounded(t, e.ctx), mustResolved(t, "/ipfs/"+c.String()))
			refused(fmt.Sprintf("ListIpfsPath of record %s", c), err)
			_, err = e.bc.SetPath(bounded(t, e.ctx), key, "linked", c)
			refused(fmt.Sprintf("SetPath of record %s", c), err)
		}
		// A directory node linking the record, pushed as a file's bytes, then named as
		// dag-pb by the hash of that file.
		dir := dag.NodeWithData([]byte{0x08, 0x01}) // UnixFS Directory
		if err := dir.AddRawLink("leak", &ipld.Link{Cid: cid.NewCidV1(cid.Raw, h.Hash())}); err != nil {
			t.Fatal(err)
		}
		raw := dir.RawData()
		file, _ := e.push(t, key, "crafted.bin", raw)
		crafted := cid.NewCidV1(cid.DagProtobuf, file.Cid().Hash())
		var buf bytes.Buffer
		err := e.bc.PullIpfsPath(bounded(t, e.ctx), mustResolved(t, "/ipfs/"+crafted.String()+"/leak"), &buf)
		if err == nil || bytes.Contains(buf.Bytes(), mustRaw(t, e, h)) {
			t.Fatalf("PullIpfsPath through a crafted directory read the record (%d bytes): %v", buf.Len(), err)
		}
		if _, err := e.bc.SetPath(bounded(t, e.ctx), key, "crafted-dir", crafted); err == nil {
			buf.Reset()
			err := e.bc.PullPath(bounded(t, e.ctx), key, "crafted-dir/leak", &buf)
			if err == nil || bytes.Contains(buf.Bytes(), mustRaw(t, e, h)) {
				t.Fatalf("PullPath through a crafted directory read the record (%d bytes): %v", buf.Len(), err)
			}
		}
	}
}

func mustResolved(t *testing.T, p string) ipfspath.Path {
	t.Helper()
	pth := ipfspath.New(p)
	if err := pth.IsValid(); err != nil {
		t.Fatal(err)
	}
	return pth
}

// mustRaw is the stored bytes of the block of c's hash.
func mustRaw(t *testing.T, e *bucketEnv, c cid.Cid) []byte {
	t.Helper()
	n, err := e.d.node.LocalDAG().Get(t.Context(), cid.NewCidV1(cid.Raw, c.Hash()))
	if err != nil {
		t.Fatal(err)
	}
	return n.RawData()
}
