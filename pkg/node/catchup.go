package node

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	cbornode "github.com/ipfs/go-ipld-cbor"
	format "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/peer"
	mh "github.com/multiformats/go-multihash"
	sym "github.com/textileio/crypto/symmetric"
	"github.com/textileio/go-threads/cbor"
	"github.com/textileio/go-threads/core/logstore"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	tnet "github.com/textileio/go-threads/net"
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
	// catchUpMaxRecords and catchUpMaxBytes bound the records one pull holds, fetched and
	// not yet applied; catchUpMaxPages bounds its pages. The next pull goes on from there.
	catchUpMaxRecords = 20000
	catchUpMaxBytes   = 32 << 20
	catchUpMaxPages   = 500
	// maxLogWalk bounds how far back a node walks a log to answer a pull oldest first
	// (each step reads and decrypts a record), and the CIDs it keeps of one log; an
	// asker further behind gets go-threads' answer.
	maxLogWalk = 50_000
)

// catchUp holds what the pull interceptors need: the node's blocks once the network is
// up, and the logs' keys; and where a page goes once the node's databases are up (until
// then pulls are answered oldest first, and paged for go-threads to apply whole).
type catchUp struct {
	dag       atomic.Value // format.DAGService
	apply     atomic.Value // pushTarget
	store     logstore.Logstore
	pullLimit uint // go-threads' NetPullingLimit
	walks     logWalks
}

func (c *catchUp) setDAG(d format.DAGService) { c.dag.Store(d) }

func (c *catchUp) attach(t pushTarget) { c.apply.Store(t) }

// serve is a gRPC unary server interceptor for go-threads' peer service: it answers a
// GetRecords call with the oldest records of each log after the asker's head, as many as
// go-threads would have sent. go-threads still makes the call's checks and says which
// logs have records after the asker's heads: it is asked for one record a log. When the
// asker's head is not in a log (or too far back), go-threads answers the call whole.
func (c *catchUp) serve(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	r, ok := req.(*pb.GetRecordsRequest)
	dag, _ := c.dag.Load().(format.DAGService)
	if info.FullMethod != getRecordsMethod || !ok || dag == nil || r.Body == nil || r.Body.ServiceKey == nil || r.Body.ServiceKey.Key == nil || r.Body.ThreadID == nil {
		return handler(ctx, req)
	}
	probe, asked := withLimits(r, func(int32) int32 { return 1 })
	reply, err := handler(ctx, probe)
	if err != nil {
		return reply, err
	}
	out, ok := reply.(*pb.GetRecordsReply)
	if !ok || len(out.Logs) == 0 {
		return reply, nil
	}
	tid := r.Body.ThreadID.ID
	tinfo, err := c.store.GetThread(tid)
	if err != nil || len(tinfo.Logs) == 0 {
		return handler(ctx, req)
	}
	heads := map[peer.ID]thread.Head{}
	for _, lg := range tinfo.Logs {
		heads[lg.ID] = lg.Head
	}
	perLog := int(c.pullLimit) / len(tinfo.Logs)
	logs := out.Logs[:0]
	for _, e := range out.Logs {
		if e == nil || e.LogID == nil {
			continue
		}
		// go-threads' limit: the asker's for a log it names, at most the node's share
		limit, offset, counter := perLog, cid.Undef, thread.CounterUndef
		if ask := asked[string(e.LogID.ID)]; ask != nil {
			limit = min(int(ask.Limit), perLog)
			if ask.Offset != nil {
				offset = ask.Offset.Cid
			}
			counter = ask.Counter
		}
		if limit <= 0 {
			continue
		}
		recs, err := c.oldestAfter(ctx, dag, r.Body.ServiceKey.Key, tid, e.LogID.ID, heads[e.LogID.ID], offset, counter, limit)
		if err != nil {
			replLog.Debugf("answering a pull of log %s oldest first: %v", e.LogID.ID, err)
			return handler(ctx, req)
		}
		if len(recs) == 0 {
			continue
		}
		e.Records = recs
		logs = append(logs, e)
	}
	out.Logs = logs
	return out, nil
}

// withLimits is GetRecords request r with each log's limit changed by limit, and r's log
// entries by log ID.
func withLimits(r *pb.GetRecordsRequest, limit func(int32) int32) (*pb.GetRecordsRequest, map[string]*pb.GetRecordsRequest_Body_LogEntry) {
	out := &pb.GetRecordsRequest{Body: &pb.GetRecordsRequest_Body{ThreadID: r.Body.ThreadID, ServiceKey: r.Body.ServiceKey}}
	asked := map[string]*pb.GetRecordsRequest_Body_LogEntry{}
	for _, l := range r.Body.Logs {
		if l == nil || l.LogID == nil {
			continue
		}
		asked[string(l.LogID.ID)] = l
		cp := *l
		cp.Limit = limit(cp.Limit)
		out.Body.Logs = append(out.Body.Logs, &cp)
	}
	return out, asked
}

// oldestAfter returns the limit oldest records of log lid, whose head is head, after the
// asker's head offset, its counter-th record.
func (c *catchUp) oldestAfter(ctx context.Context, dag format.DAGService, sk *sym.Key, tid thread.ID, lid peer.ID, head thread.Head, offset cid.Cid, counter int64, limit int) ([]*pb.Log_Record, error) {
	if !head.ID.Defined() || counter >= head.Counter {
		return nil, nil
	}
	if counter < 0 || (counter == 0) != !offset.Defined() {
		return nil, errOffsetNotInLog
	}
	// cids[i] is the record with counter head.Counter-i: the asker's head is at j.
	j := int(head.Counter - counter)
	cids, err := c.walks.walk(ctx, dag, sk, logKey{tid, lid}, head, j)
	if err != nil {
		return nil, err
	}
	if j > len(cids) || (j < len(cids) && !cids[j].Equals(offset)) || (j == len(cids) && counter != 0) {
		return nil, errOffsetNotInLog
	}
	var out []*pb.Log_Record
	for i := j - 1; i >= 0 && len(out) < limit; i-- {
		rec, err := cbor.GetRecord(ctx, dag, cids[i], sk)
		if err != nil {
			return nil, err
		}
		pr, err := cbor.RecordToProto(ctx, dag, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

// logWalks keeps, for a few logs, the CIDs of their newest records, newest first, as
// walked back from their head: each page of a peer catching up would walk them again.
type logWalks struct {
	mu    sync.Mutex
	byLog map[logKey]*logWalk
}

type logWalk struct {
	head thread.Head
	cids []cid.Cid // cids[i] has counter head.Counter-i
	used time.Time
}

// maxCachedWalks bounds the logs whose walks are kept (each at most maxLogWalk CIDs).
const maxCachedWalks = 8

// walk returns the CIDs of the log's records from head back, newest first: at least
// need+1 of them (fewer if the log has fewer), at most maxLogWalk. It walks only the
// records it has not walked before.
func (w *logWalks) walk(ctx context.Context, dag format.DAGService, sk *sym.Key, k logKey, head thread.Head, need int) ([]cid.Cid, error) {
	w.mu.Lock()
	defer w.mu.Unlock() // one walk at a time: pages of one catch-up come one after another
	if w.byLog == nil {
		w.byLog = map[logKey]*logWalk{}
	}
	if need >= maxLogWalk {
		return nil, errOffsetNotInLog
	}
	kept := w.byLog[k]
	if kept == nil || !kept.head.ID.Equals(head.ID) {
		// The records newer than what was kept, down to it (or to need+1).
		var cids []cid.Cid
		cursor, joined := head.ID, false
		for cursor.Defined() && len(cids) <= need {
			if kept != nil && cursor.Equals(kept.head.ID) && head.Counter-int64(len(cids)) == kept.head.Counter {
				cids = append(cids, kept.cids[:min(len(kept.cids), maxLogWalk-len(cids))]...)
				joined = true
				break
			}
			rec, err := cbor.GetRecord(ctx, dag, cursor, sk)
			if err != nil {
				return nil, err
			}
			cids = append(cids, cursor)
			cursor = rec.PrevID()
		}
		if kept == nil || !joined {
			w.evict(k)
		}
		kept = &logWalk{head: head, cids: cids}
		w.byLog[k] = kept
	}
	kept.used = time.Now()
	// Further back, from the oldest kept.
	for len(kept.cids) <= need && int64(len(kept.cids)) < head.Counter {
		rec, err := cbor.GetRecord(ctx, dag, kept.cids[len(kept.cids)-1], sk)
		if err != nil {
			return nil, err
		}
		if !rec.PrevID().Defined() {
			break
		}
		kept.cids = append(kept.cids, rec.PrevID())
	}
	return kept.cids, nil
}

// evict makes room for k's walk; w.mu is held.
func (w *logWalks) evict(k logKey) {
	if _, ok := w.byLog[k]; ok || len(w.byLog) < maxCachedWalks {
		return
	}
	var (
		oldest logKey
		at     time.Time
	)
	for lk, lw := range w.byLog {
		if at.IsZero() || lw.used.Before(at) {
			oldest, at = lk, lw.used
		}
	}
	delete(w.byLog, oldest)
}

type catchUpError string

func (e catchUpError) Error() string { return string(e) }

const errOffsetNotInLog = catchUpError("the asker's head is not among the log's newest records")

func sameCid(a, b cid.Cid) bool {
	if !a.Defined() || !b.Defined() {
		return a.Defined() == b.Defined()
	}
	return a.Equals(b)
}

// catchUpPage is the size of the pages a pull asks for: the records of one page are
// applied while the next is fetched, and a hubctl peer answers each oldest first.
const catchUpPage = 2000

// page is a gRPC unary client interceptor for go-threads' peer service. It asks for
// pages of at most catchUpPage records per log; when a log's answer starts right after
// its head here and ends before the peer's head, it applies that page while it asks for
// the next, from the last record it got, until it has the peer's head or the bounds, and
// hands go-threads the last page. An answer that does not start right after the head (a
// go-threads peer's newest window) is asked again with go-threads' own limit, and is
// go-threads' to fill.
func (c *catchUp) page(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	r, ok := req.(*pb.GetRecordsRequest)
	out, ok2 := reply.(*pb.GetRecordsReply)
	if method != getRecordsMethod || !ok || !ok2 || r.Body == nil || r.Body.ServiceKey == nil || r.Body.ServiceKey.Key == nil || r.Body.ThreadID == nil {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	small, asked := withLimits(r, func(limit int32) int32 {
		if limit <= 0 || limit > catchUpPage {
			return catchUpPage
		}
		return limit
	})
	if err := invoker(ctx, method, small, reply, cc, opts...); err != nil {
		return err
	}
	// The pages after the first have deadlines of their own: the caller's is for one call.
	pctx, stop := withoutDeadline(ctx)
	defer stop()
	sk := r.Body.ServiceKey.Key
	t := &catchUpTotals{}
	for _, e := range out.Logs {
		t.add(e.Records)
	}
	for i, e := range out.Logs {
		if e == nil || e.LogID == nil || e.Log == nil || len(e.Records) == 0 {
			continue
		}
		ask := asked[string(e.LogID.ID)]
		offset, have := cid.Undef, thread.CounterUndef
		if ask != nil {
			if ask.Offset != nil {
				offset = ask.Offset.Cid
			}
			have = ask.Counter
		}
		first, err := cbor.RecordFromProto(e.Records[0], sk)
		if err != nil {
			continue
		}
		if !sameCid(first.PrevID(), offset) {
			if ask != nil && (ask.Limit <= 0 || ask.Limit > catchUpPage) {
				// go-threads' own request, for go-threads to fill the gap
				if whole, err := c.nextPage(pctx, cc, invoker, method, r, e.LogID, offset, have, ask.Limit, opts); err == nil && whole != nil {
					out.Logs[i] = whole
				}
			}
			continue
		}
		c.follow(pctx, cc, invoker, method, r, e, have, t, opts)
	}
	return nil
}

// catchUpTotals counts what one pull holds, for its bounds.
type catchUpTotals struct{ records, bytes int }

func (t *catchUpTotals) add(recs []*pb.Log_Record) {
	t.records += len(recs)
	for _, rec := range recs {
		t.bytes += rec.Size()
	}
}

func (t *catchUpTotals) remove(recs []*pb.Log_Record) {
	t.records -= len(recs)
	for _, rec := range recs {
		t.bytes -= rec.Size()
	}
}

func (t *catchUpTotals) full() bool {
	return t.records >= catchUpMaxRecords || t.bytes >= catchUpMaxBytes
}

// follow pages through one log whose answer e starts right after this node's head (the
// have-th record), applying each page as the next is fetched, and leaves the last page
// in e for go-threads.
func (c *catchUp) follow(ctx context.Context, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, method string, r *pb.GetRecordsRequest, e *pb.GetRecordsReply_LogEntry, have int64, t *catchUpTotals, opts []grpc.CallOption) {
	tid, lid, sk := r.Body.ThreadID.ID, e.LogID.ID, r.Body.ServiceKey.Key
	apply, _ := c.apply.Load().(pushTarget)
	var pk crypto.PubKey
	if apply != nil && c.store != nil {
		pk, _ = c.store.PubKey(tid, lid)
	}
	page := e.Records
	got := have + int64(len(page))
	for pages := 0; pages < catchUpMaxPages && !t.full() && e.Log.Counter > got; pages++ {
		last, err := recordCid(page[len(page)-1])
		if err != nil {
			break
		}
		var applied chan error
		if apply != nil && pk != nil {
			applied = make(chan error, 1)
			go func(recs []*pb.Log_Record, counter int64) {
				applied <- applyPage(ctx, apply, tid, lid, pk, sk, recs, counter)
			}(page, got)
		}
		more, err := c.nextPage(ctx, cc, invoker, method, r, e.LogID, last, got, catchUpPage, opts)
		joins := err == nil && more != nil && len(more.Records) > 0
		if joins {
			next, err := cbor.RecordFromProto(more.Records[0], sk)
			joins = err == nil && sameCid(next.PrevID(), last)
		}
		if applied != nil {
			if err := <-applied; err != nil {
				replLog.Debugf("applying a page of log %s in thread %s: %v; go-threads takes it", lid, tid, err)
				if joins {
					page = append(page, more.Records...)
					e.Log = logOr(more.Log, e.Log)
				}
				break
			}
		}
		if !joins {
			break // what is in page was applied here, or is go-threads' to apply
		}
		if applied != nil {
			t.remove(page) // applied: no longer held
			page = more.Records
		} else {
			page = append(page, more.Records...)
		}
		got += int64(len(more.Records))
		e.Log = logOr(more.Log, e.Log)
		t.add(more.Records)
	}
	e.Records = page
}

// applyPage verifies a page of records with the log's key and applies it.
func applyPage(ctx context.Context, apply pushTarget, tid thread.ID, lid peer.ID, pk crypto.PubKey, sk *sym.Key, page []*pb.Log_Record, counter int64) error {
	recs := make([]core.Record, 0, len(page))
	for _, p := range page {
		rec, err := cbor.RecordFromProto(p, sk)
		if err != nil {
			return err
		}
		if err := rec.Verify(pk); err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	ctx, cancel := context.WithTimeout(ctx, applyPageTimeout)
	defer cancel()
	return apply.putRecords(ctx, tid, lid, recs, counter)
}

// applyPageTimeout bounds the applying of one page.
const applyPageTimeout = time.Minute

func logOr(l, or *pb.Log) *pb.Log {
	if l != nil {
		return l
	}
	return or
}

// withoutDeadline is ctx without its deadline, still canceled when ctx is.
func withoutDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			cancel()
		}
	})
	return dctx, func() {
		stop()
		cancel()
	}
}

// nextPage asks the peer for one log's records after last.
func (c *catchUp) nextPage(ctx context.Context, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, method string, r *pb.GetRecordsRequest, lid *pb.ProtoPeerID, last cid.Cid, counter int64, limit int32, opts []grpc.CallOption) (*pb.GetRecordsReply_LogEntry, error) {
	req := &pb.GetRecordsRequest{Body: &pb.GetRecordsRequest_Body{
		ThreadID:   r.Body.ThreadID,
		ServiceKey: r.Body.ServiceKey,
		Logs:       []*pb.GetRecordsRequest_Body_LogEntry{{LogID: lid, Offset: &pb.ProtoCid{Cid: last}, Limit: limit, Counter: counter}},
	}}
	reply := &pb.GetRecordsReply{}
	ctx, cancel := context.WithTimeout(ctx, tnet.PullTimeout)
	defer cancel()
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
