package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
)

// Event is one change to a database, as Listen reports it.
type Event struct {
	Collection string `json:"collection"`
	InstanceID string `json:"instanceId"`
	Action     string `json:"action"` // create, save or delete
	// Instance is the instance after a create or save.
	Instance json.RawMessage `json:"instance,omitempty"`
}

// ListenFilter narrows the events: empty fields match everything.
type ListenFilter struct {
	Collection string
	Action     string // "", create, save or delete
}

// Actions are the event actions a filter may name.
var Actions = []string{"create", "save", "delete"}

var filterActions = map[string]pb.ListenRequest_Filter_Action{
	"":       pb.ListenRequest_Filter_ALL,
	"create": pb.ListenRequest_Filter_CREATE,
	"save":   pb.ListenRequest_Filter_SAVE,
	"delete": pb.ListenRequest_Filter_DELETE,
}

var replyActions = map[pb.ListenReply_Action]string{
	pb.ListenReply_CREATE: "create",
	pb.ListenReply_SAVE:   "save",
	pb.ListenReply_DELETE: "delete",
}

// readyWait bounds how long Listen waits for a server that sends no headers before it
// has an event (plain go-threads) before calling ready anyway.
const readyWait = 2 * time.Second

// Listen streams db's changes to fn until ctx ends (then it returns nil), fn returns
// false, or the stream fails. ready is called once the server has accepted the request:
// hubctl's own servers say so at once; with others, after the first event or readyWait.
// The stream has no deadline: --timeout bounds only the connection.
func (c *Client) Listen(ctx context.Context, db thread.ID, f ListenFilter, ready func(), fn func(Event) bool) error {
	action, ok := filterActions[f.Action]
	if !ok {
		return argErrorf("invalid event type %q: use create, save or delete", f.Action)
	}
	req := &pb.ListenRequest{DbID: db.Bytes()}
	if f.Collection != "" || f.Action != "" {
		req.Filters = []*pb.ListenRequest_Filter{{CollectionName: f.Collection, Action: action}}
	}
	tc, err := c.Threads(ctx)
	if err != nil {
		return err
	}
	tok, err := c.userToken(ctx, false)
	if err != nil {
		return err
	}
	var accepted atomic.Bool
	onReady := func() {
		accepted.Store(true)
		if ready != nil {
			ready()
		}
	}
	err = c.listen(ctx, tc, tok, req, onReady, fn)
	// A refused token is fetched again once when it was not fetched for this call (it
	// may be stale), and each time a stream the server had accepted ends because its
	// token expired (--token-ttl): the stream goes on with a new token. Changes made
	// between the two streams are not reported.
	for err != nil && ctx.Err() == nil && tokenRejected(err) && (c.reused || accepted.Load() && expired(string(tok))) {
		accepted.Store(false)
		if tok, err = c.userToken(ctx, true); err != nil {
			return err
		}
		err = c.listen(ctx, tc, tok, req, onReady, fn)
	}
	if ctx.Err() != nil {
		return nil
	}
	err = classify(ctx, c.opts.Target, c.opts.Timeout, err)
	if err != nil && isNotFound(err) {
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("database %s does not exist", db)}
	}
	return err
}

func isNotFound(err error) bool {
	se, ok := err.(*ServerError)
	return ok && se.Class == ErrNotFound
}

func (c *Client) listen(ctx context.Context, tc pb.APIClient, tok thread.Token, req *pb.ListenRequest, ready func(), fn func(Event) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	actx, err := c.opts.Auth.Context(ctx)
	if err != nil {
		return err
	}
	stream, err := tc.Listen(withToken(actx, tok), req)
	if err != nil {
		return err
	}
	if ready == nil {
		ready = func() {}
	}
	ready = sync.OnceFunc(ready)
	go func() {
		t := time.NewTimer(readyWait)
		defer t.Stop()
		headers := make(chan struct{})
		go func() {
			if _, err := stream.Header(); err == nil {
				close(headers)
			}
		}()
		select {
		case <-headers:
			ready()
		case <-t.C:
			ready()
		case <-ctx.Done():
		}
	}()
	for {
		rep, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			// The server ended the stream without an error: it is going away (hubctl
			// daemon ends Listen streams when it stops).
			return &UnreachableError{Addr: c.opts.Target.String(), Reason: "the server closed the stream"}
		}
		if err != nil {
			return err
		}
		ready()
		ev := Event{Collection: rep.CollectionName, InstanceID: rep.InstanceID, Action: replyActions[rep.Action]}
		if len(rep.Instance) > 0 {
			ev.Instance = json.RawMessage(rep.Instance)
		}
		if !fn(ev) {
			return nil
		}
	}
}
