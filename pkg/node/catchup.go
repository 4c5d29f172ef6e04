package node

import (
	"context"
	"sync/atomic"

	"github.com/ipfs/go-cid"
	cbornode "github.com/ipfs/go-ipld-cbor"
	format "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
	sym "github.com/textileio/crypto/symmetric"
	"github.com/textileio/go-threads/cbor"
	"github.com/textileio/go-threads/core/thread"
	pb "github.com/textileio/go-threads/net/pb"
	"google.golang.org/grpc"
)

// Catching up: a pull answered oldest first, and a pull that asks again until it has
// everything.
//
// go-threads v1.1.5 answers a pull (GetRecords) with the newest records of each log, up to
// a limit (5,000 per log here). A peer further behind than that gets records it cannot
// apply yet, and fetches the ones in between one at a time over bitswap: a joined or
// restarted peer crawled back at a few hundred records a second. Here a node answers a
// pull with the oldest records after the asker's head instead, which the asker can apply
// at once, and a node that pulls asks again, from the last record it got, until it has
// the peer's head or the bounds below. Against a go-threads peer (newest first) nothing
// changes.

const (
	getRecordsMethod = "/net.pb.Service/GetRecords"
	// catchUpMaxRecords and catchUpMaxBytes bound what one pull gathers before go-threads
	// applies it; the next pull goes on from there.
	catchUpMaxRecords = 20000
	catchUpMaxBytes   = 32 << 20
	// maxLogWalk bounds how far back a node walks a log to answer a pull oldest first
	// (each step reads and decrypts a record: 50,000 are about a second); an asker
	// further behind gets go-threads' answer.
	maxLogWalk = 50_000
)

// catchUp holds what the pull interceptors need: the node's blocks, once the network is
// up (until then pulls are answered and made as go-threads makes them).
type catchUp struct {
	dag atomic.Value // format.DAGService
}

func (c *catchUp) setDAG(d format.DAGService) { c.dag.Store(d) }

// serve is a gRPC unary server interceptor for go-threads' peer service: a GetRecords
// answer whose records for a log do not start right after the asker's head is replaced
// by the oldest records after it, as many as go-threads would have sent.
func (c *catchUp) serve(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	reply, err := handler(ctx, req)
	if err != nil || info.FullMethod != getRecordsMethod {
		return reply, err
	}
	r, ok := req.(*pb.GetRecordsRequest)
	out, ok2 := reply.(*pb.GetRecordsReply)
	if !ok || !ok2 || r.Body == nil || r.Body.ServiceKey == nil || r.Body.ServiceKey.Key == nil || r.Body.ThreadID == nil {
		return reply, err
	}
	dag, _ := c.dag.Load().(format.DAGService)
	if dag == nil {
		return reply, err
	}
	sk := r.Body.ServiceKey.Key
	asked := map[string]*pb.GetRecordsRequest_Body_LogEntry{}
	for _, l := range r.Body.Logs {
		if l != nil && l.LogID != nil {
			asked[string(l.LogID.ID)] = l
		}
	}
	for _, e := range out.Logs {
		if e == nil || e.LogID == nil || len(e.Records) == 0 {
			continue
		}
		offset, walk := cid.Undef, maxLogWalk
		if ask := asked[string(e.LogID.ID)]; ask != nil {
			if ask.Offset != nil {
				offset = ask.Offset.Cid
			}
			// The asker's counter says how far back its head is: no further is walked.
			if e.Log != nil && ask.Counter > 0 {
				if d := e.Log.Counter - ask.Counter - int64(len(e.Records)); d >= 0 && d < int64(walk) {
					walk = int(d)
				}
			}
		}
		first, err := cbor.RecordFromProto(e.Records[0], sk)
		if err != nil || sameCid(first.PrevID(), offset) {
			continue
		}
		if recs, err := oldestAfter(ctx, dag, first.PrevID(), offset, walk, e.Records, sk); err == nil {
			e.Records = recs
		} else {
			replLog.Debugf("answering a pull of log %s oldest first: %v", e.LogID.ID, err)
		}
	}
	return out, nil
}

// oldestAfter walks a log back from cursor, the record before the newest window, to
// offset, at most walk records, and returns the len(window) oldest records after offset.
func oldestAfter(ctx context.Context, dag format.DAGService, cursor, offset cid.Cid, walk int, window []*pb.Log_Record, sk *sym.Key) ([]*pb.Log_Record, error) {
	var older []cid.Cid // newest first
	for cursor.Defined() && !cursor.Equals(offset) {
		if len(older) == walk {
			return nil, errWalkTooLong
		}
		rec, err := cbor.GetRecord(ctx, dag, cursor, sk)
		if err != nil {
			return nil, err
		}
		older = append(older, cursor)
		cursor = rec.PrevID()
	}
	if !sameCid(cursor, offset) {
		return nil, errOffsetNotInLog
	}
	limit := len(window)
	var out []*pb.Log_Record
	for i := len(older) - 1; i >= 0 && len(out) < limit; i-- {
		rec, err := cbor.GetRecord(ctx, dag, older[i], sk)
		if err != nil {
			return nil, err
		}
		pr, err := cbor.RecordToProto(ctx, dag, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return append(out, window[:limit-len(out)]...), nil
}

type catchUpError string

func (e catchUpError) Error() string { return string(e) }

const (
	errWalkTooLong    = catchUpError("the log is too far behind to walk")
	errOffsetNotInLog = catchUpError("the asker's head is not in this log")
)

func sameCid(a, b cid.Cid) bool {
	if !a.Defined() || !b.Defined() {
		return a.Defined() == b.Defined()
	}
	return a.Equals(b)
}

// page is a gRPC unary client interceptor for go-threads' peer service: when a GetRecords
// answer starts right after the log's head asked from and ends before the peer's head, it
// asks again from the last record it got, and hands go-threads every page as one answer.
func (c *catchUp) page(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if err := invoker(ctx, method, req, reply, cc, opts...); err != nil || method != getRecordsMethod {
		return err
	}
	r, ok := req.(*pb.GetRecordsRequest)
	out, ok2 := reply.(*pb.GetRecordsReply)
	if !ok || !ok2 || r.Body == nil || r.Body.ServiceKey == nil || r.Body.ServiceKey.Key == nil {
		return nil
	}
	sk := r.Body.ServiceKey.Key
	asked := map[string]*pb.GetRecordsRequest_Body_LogEntry{}
	for _, l := range r.Body.Logs {
		if l != nil && l.LogID != nil {
			asked[string(l.LogID.ID)] = l
		}
	}
	records, bytes := 0, 0
	for _, e := range out.Logs {
		records += len(e.Records)
		for _, rec := range e.Records {
			bytes += rec.Size()
		}
	}
	for _, e := range out.Logs {
		if e == nil || e.LogID == nil || e.Log == nil || len(e.Records) == 0 {
			continue
		}
		ask := asked[string(e.LogID.ID)]
		offset, have, limit := cid.Undef, thread.CounterUndef, int32(0)
		if ask != nil {
			if ask.Offset != nil {
				offset = ask.Offset.Cid
			}
			have, limit = ask.Counter, ask.Limit
		}
		first, err := cbor.RecordFromProto(e.Records[0], sk)
		if err != nil || !sameCid(first.PrevID(), offset) {
			continue // a go-threads peer's newest window: go-threads fills the gap
		}
		for records < catchUpMaxRecords && bytes < catchUpMaxBytes {
			got := have + int64(len(e.Records))
			if e.Log.Counter <= got {
				break
			}
			last, err := recordCid(e.Records[len(e.Records)-1])
			if err != nil {
				break
			}
			more, err := c.nextPage(ctx, cc, invoker, method, r, e.LogID, last, got, limit, opts)
			if err != nil || more == nil || len(more.Records) == 0 {
				break
			}
			next, err := cbor.RecordFromProto(more.Records[0], sk)
			if err != nil || !sameCid(next.PrevID(), last) {
				break
			}
			e.Records = append(e.Records, more.Records...)
			if more.Log != nil {
				e.Log = more.Log
			}
			records += len(more.Records)
			for _, rec := range more.Records {
				bytes += rec.Size()
			}
		}
	}
	return nil
}

// nextPage asks the peer for one log's records after last.
func (c *catchUp) nextPage(ctx context.Context, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, method string, r *pb.GetRecordsRequest, lid *pb.ProtoPeerID, last cid.Cid, counter int64, limit int32, opts []grpc.CallOption) (*pb.GetRecordsReply_LogEntry, error) {
	req := &pb.GetRecordsRequest{Body: &pb.GetRecordsRequest_Body{
		ThreadID:   r.Body.ThreadID,
		ServiceKey: r.Body.ServiceKey,
		Logs:       []*pb.GetRecordsRequest_Body_LogEntry{{LogID: lid, Offset: &pb.ProtoCid{Cid: last}, Limit: limit, Counter: counter}},
	}}
	reply := &pb.GetRecordsReply{}
	if err := invoker(ctx, method, req, reply, cc, opts...); err != nil {
		return nil, err
	}
	for _, e := range reply.Logs {
		if e != nil && e.LogID != nil && e.LogID.ID == lid.ID {
			return e, nil
		}
	}
	return nil, nil
}

// recordCid is the CID of a record as sent.
func recordCid(rec *pb.Log_Record) (cid.Cid, error) {
	n, err := cbornode.Decode(rec.RecordNode, mh.SHA2_256, -1)
	if err != nil {
		return cid.Undef, err
	}
	return n.Cid(), nil
}
