package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MethodExportInstances is hubctl's servers' call that streams every instance of a
// collection around its read filter, for the database's owner and operators (pkg/server).
const MethodExportInstances = "/hubctl.v1.Store/ExportInstances"

// Export reads a database's instances for a backup: from hubctl's servers, every
// instance, around the collections' read filters; from a server without hubctl's
// call (plain go-threads), through Find, so a read filter may hide some: those
// collections are in Filtered, and the caller decides whether that will do.
type Export struct {
	c  *Client
	db thread.ID
	// Collections are the database's collections, sorted by name.
	Collections []Collection
	// Filtered names the collections with a read filter when the server cannot read
	// around it: instances their filters hide from this caller are not exported.
	// Empty when the export is complete.
	Filtered []string

	unfiltered bool
	// first is the stream OpenExport opened to learn whether the server reads around
	// read filters: Collections[0]'s, with its first page.
	first *exportStream
}

// OpenExport lists db's collections and finds out how their instances can be read. Close
// the Export when done.
func (c *Client) OpenExport(ctx context.Context, db thread.ID) (*Export, error) {
	cols, err := c.ListCollections(ctx, db)
	if err != nil {
		return nil, err
	}
	e := &Export{c: c, db: db, Collections: cols, unfiltered: true}
	if len(cols) == 0 {
		return e, nil
	}
	s, err := c.openExportStream(ctx, db, cols[0].Name)
	switch {
	case err == nil:
		e.first = s
	case unsupported(err):
		e.unfiltered = false
		for _, col := range cols {
			if col.ReadFilter != "" {
				e.Filtered = append(e.Filtered, col.Name)
			}
		}
	default:
		return nil, c.exportErr(ctx, err, db, cols[0].Name)
	}
	return e, nil
}

// Unfiltered reports whether the server reads instances around read filters.
func (e *Export) Unfiltered() bool { return e.unfiltered }

// Each calls fn with every instance of collection, in _id order, one page in memory at
// a time; through the read filter when the collection is in Filtered.
func (e *Export) Each(ctx context.Context, collection string, fn func(doc []byte) error) error {
	if !e.unfiltered {
		return e.c.EachInstance(ctx, e.db, collection, nil, fn)
	}
	s := e.first
	e.first = nil
	if s != nil && s.collection != collection {
		s.close()
		s = nil
	}
	if s == nil {
		var err error
		if s, err = e.c.openExportStream(ctx, e.db, collection); err != nil {
			return e.c.exportErr(ctx, err, e.db, collection)
		}
	}
	return e.c.eachPage(ctx, s, e.db, collection, fn)
}

// Count counts the instances of collection as Each reads them.
func (e *Export) Count(ctx context.Context, collection string) (int, error) {
	n := 0
	err := e.Each(ctx, collection, func([]byte) error { n++; return nil })
	return n, err
}

// Close ends a stream OpenExport opened and Each did not read.
func (e *Export) Close() {
	if e.first != nil {
		e.first.close()
		e.first = nil
	}
}

// unsupported reports whether the server lacks MethodExportInstances: plain go-threads
// (Unimplemented), or a hubctl server from before it, whose Guard leaves methods it does
// not know to operators.
func unsupported(err error) bool {
	st, ok := status.FromError(err)
	return ok && (st.Code() == codes.Unimplemented || st.Code() == codes.PermissionDenied && st.Message() == msgNotAccessible)
}

// errIdle ends a stream that sent nothing for the client's timeout.
var errIdle = errors.New("no answer within the timeout")

// exportStream is one MethodExportInstances call: its last page not yet read, and how
// it ended (io.EOF when complete).
type exportStream struct {
	collection string
	stream     grpc.ClientStream
	ctx        context.Context
	cancel     context.CancelCauseFunc
	timeout    time.Duration
	idle       *time.Timer
	page       [][]byte
	err        error
}

// openExportStream starts the call and reads its first page.
func (c *Client) openExportStream(ctx context.Context, db thread.ID, collection string) (*exportStream, error) {
	return c.openPageStream(ctx, MethodExportInstances, &pb.FindRequest{DbID: db.Bytes(), CollectionName: collection}, collection)
}

// openPageStream starts a call of hubctl's that answers req (a FindRequest) with a
// stream of FindReply pages, and reads its first page. A token that came from the cache
// or an earlier call and is refused is fetched again once, as for any call.
func (c *Client) openPageStream(ctx context.Context, method string, req *pb.FindRequest, collection string) (*exportStream, error) {
	conn, err := c.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := c.userToken(ctx, false)
	if err != nil {
		return nil, err
	}
	s, err := startPageStream(ctx, conn, c.opts, tok, method, req, collection)
	if err != nil && c.reused && tokenRejected(err) {
		if tok, err = c.userToken(ctx, true); err != nil {
			return nil, err
		}
		s, err = startPageStream(ctx, conn, c.opts, tok, method, req, collection)
	}
	return s, err
}

// startPageStream opens the stream. --timeout bounds each wait for the server (the call,
// then every page), not the whole stream, which takes as long as the answer needs.
func startPageStream(ctx context.Context, conn *grpc.ClientConn, opts Options, tok thread.Token, method string, req *pb.FindRequest, collection string) (*exportStream, error) {
	sctx, cancel := context.WithCancelCause(ctx)
	s := &exportStream{collection: collection, ctx: sctx, cancel: cancel, timeout: opts.Timeout}
	s.idle = time.AfterFunc(s.timeout, func() { cancel(errIdle) })
	actx, err := opts.Auth.Context(sctx)
	if err != nil {
		s.close()
		return nil, err
	}
	s.stream, err = conn.NewStream(withToken(actx, tok), &grpc.StreamDesc{ServerStreams: true}, method)
	if err == nil {
		err = s.stream.SendMsg(req)
	}
	if err == nil {
		err = s.stream.CloseSend()
	}
	if err == nil {
		s.recv()
		if !errors.Is(s.err, io.EOF) {
			err = s.err
		}
	}
	if err != nil {
		err = s.cause(err)
		s.close()
		return nil, err
	}
	return s, nil
}

// recv reads the next page into s.page, or how the stream ended into s.err.
func (s *exportStream) recv() {
	s.idle.Reset(s.timeout)
	rep := &pb.FindReply{}
	err := s.stream.RecvMsg(rep)
	s.idle.Stop()
	if err != nil {
		s.err = s.cause(err)
		return
	}
	s.page = rep.Instances
}

// cause is errIdle when the idle timer ended the stream, else err.
func (s *exportStream) cause(err error) error {
	if errors.Is(context.Cause(s.ctx), errIdle) {
		return errIdle
	}
	return err
}

func (s *exportStream) close() {
	s.idle.Stop()
	s.cancel(nil)
}

// exportErr says what failed, in the words of any call on the collection.
func (c *Client) exportErr(ctx context.Context, err error, db thread.ID, collection string) error {
	if errors.Is(err, errIdle) {
		return &UnreachableError{Addr: c.opts.Target.String(), Reason: fmt.Sprintf("no answer within %s (--timeout)", c.opts.Timeout)}
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.ResourceExhausted && strings.Contains(st.Message(), "message larger than max") {
		return &ServerError{Msg: fmt.Sprintf("collection %s holds an instance larger than the server's message size limit allows it to send (%s)", collection, st.Message()),
			Hint: "raise the daemon's --max-message-size"}
	}
	return instanceErr(classify(ctx, c.opts.Target, c.opts.Timeout, err), db, collection, "")
}
