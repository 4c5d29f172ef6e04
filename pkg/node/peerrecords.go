package node

import (
	"context"
	"errors"
	"fmt"
	"sync"

	format "github.com/ipfs/go-ipld-format"
	threadcbor "github.com/textileio/go-threads/cbor"
	"github.com/textileio/go-threads/core/app"
	core "github.com/textileio/go-threads/core/db"
	"github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"github.com/textileio/go-threads/jsonpatcher"

	"github.com/hubctl/hubctl/pkg/instanceid"
	"github.com/hubctl/hubctl/pkg/jssafe"
)

// guardedNet is the network the db manager sees. It puts a guard between each database
// and the records peers send it: go-threads applies a peer's instance IDs as datastore
// keys as they come, so one record from a peer that joined through an invite could write
// past a collection's key space and break the owner's store (the instanceid rule).
type guardedNet struct {
	app.Net
	warnf func(format string, args ...any)
	// reloading are repaired databases being loaded again (broken.go): the manager makes
	// their thread as it would a new database's, and here finds it already there.
	reloading sync.Map // thread.ID -> struct{}
	pulls     pullSet
	// unannounced are threads added here whose peers have not been told of our log yet
	// (announce).
	unannounced sync.Map // thread.ID -> struct{}
}

func (g *guardedNet) reload(id thread.ID, on bool) {
	if on {
		g.reloading.Store(id, struct{}{})
	} else {
		g.reloading.Delete(id)
	}
}

func (g *guardedNet) CreateThread(ctx context.Context, id thread.ID, opts ...net.NewThreadOption) (thread.Info, error) {
	if _, ok := g.reloading.Load(id); ok {
		return g.Net.GetThread(ctx, id)
	}
	return g.Net.CreateThread(ctx, id, opts...)
}

// ConnectApp connects a database to its thread through recordGuard.
func (g *guardedNet) ConnectApp(a app.App, id thread.ID) (*app.Connector, error) {
	return g.Net.ConnectApp(&recordGuard{App: a, net: g.Net, thread: id, warnf: g.warnf}, id)
}

// recordGuard checks every record's events before the database applies them.
//
// A record that breaks the rule is not applied, but it is not refused either: go-threads
// stops a log at a refused record for ever, so the writer's later, good records would
// never apply. ValidateNetRecordBody lets it into the log without running the database's
// own validation on it (which would read the datastore at the hostile key), and
// HandleNetRecord then skips it. Local writes never get here with such IDs: the server
// refuses them first (pkg/server), and local commits do not go through HandleNetRecord.
type recordGuard struct {
	app.App
	net    app.Net
	thread thread.ID
	warnf  func(format string, args ...any)
}

// codec is go-threads' default event codec, the one every database uses.
var codec = jsonpatcher.New()

func (r *recordGuard) ValidateNetRecordBody(ctx context.Context, body format.Node, identity thread.PubKey) error {
	if err := r.checkEvents(body.RawData()); err != nil {
		return nil // refused in HandleNetRecord, without stalling the log
	}
	return r.App.ValidateNetRecordBody(ctx, body, identity)
}

func (r *recordGuard) HandleNetRecord(ctx context.Context, rec net.ThreadRecord, key thread.Key) error {
	if ok, err := r.admit(ctx, rec, key); !ok || err != nil {
		return err
	}
	return r.App.HandleNetRecord(ctx, rec, key)
}

// BatchesNetRecords lets go-threads hand the database several records at once when the
// database takes them so (go-threads patch: app.BatchApp).
func (r *recordGuard) BatchesNetRecords() bool {
	b, ok := r.App.(app.BatchApp)
	return ok && b.BatchesNetRecords()
}

// HandleNetRecords is HandleNetRecord for records of one log in order: the records
// between two the guard refuses reach the database together.
func (r *recordGuard) HandleNetRecords(ctx context.Context, recs []net.ThreadRecord, key thread.Key) (int, error) {
	b, ok := r.App.(app.BatchApp)
	if !ok {
		return 0, errors.New("the database does not take records in batches")
	}
	handled := 0
	for len(recs) > 0 {
		admitted := 0
		refused := false
		for admitted < len(recs) {
			ok, err := r.admit(ctx, recs[admitted], key)
			if err != nil {
				if admitted == 0 {
					return handled, err
				}
				break // the records before it first; it fails again on its own
			}
			if !ok {
				refused = true
				break
			}
			admitted++
		}
		if admitted > 0 {
			n, err := b.HandleNetRecords(ctx, recs[:admitted], key)
			handled += n
			if err != nil {
				return handled, err
			}
		}
		if refused {
			handled++ // skipped, as HandleNetRecord skips it
			admitted++
		}
		recs = recs[admitted:]
	}
	return handled, nil
}

// admit reports whether a record may reach the database: a record that breaks the rule is
// skipped, with a warning.
func (r *recordGuard) admit(ctx context.Context, rec net.ThreadRecord, key thread.Key) (bool, error) {
	event, err := threadcbor.EventFromRecord(ctx, r.net, rec.Value())
	if err != nil {
		return false, fmt.Errorf("read record %s: %w", rec.Value().Cid(), err)
	}
	body, err := event.GetBody(ctx, r.net, key.Read())
	if err != nil {
		return false, fmt.Errorf("read the body of record %s: %w", rec.Value().Cid(), err)
	}
	if err := r.checkEvents(body.RawData()); err != nil {
		if r.warnf != nil {
			r.warnf("thread %s, log %s: record %s not applied: %v", r.thread, rec.LogID(), rec.Value().Cid(), err)
		}
		return false, nil
	}
	return true, nil
}

// errBadEvent is wrapped by checkEvents' refusals.
var errBadEvent = errors.New("invalid event")

// checkEvents applies the instanceid rule to every event of a record body, and the same
// rule to collection names (go-threads' own rule for them is stricter; this only keeps a
// name that never passed it from reaching a key). In a collection with a write validator
// or a read filter it also applies jssafe's rule to the instance: go-threads pastes the
// stored instance into JavaScript source, so a peer's quote would run as code on every
// later read or write of it, as a local write's would (pkg/server refuses those).
func (r *recordGuard) checkEvents(body []byte) error {
	events, err := codec.EventsFromBytes(body)
	if err != nil {
		return nil // not ours to judge: the database refuses what it cannot decode
	}
	for _, e := range events {
		if err := checkEvent(e); err != nil {
			return err
		}
		if r.runsJS(e.Collection()) {
			if err := checkForJS(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkEvent(e core.Event) error {
	if err := instanceid.Check(e.Collection()); err != nil {
		return fmt.Errorf("%w: collection name: %v", errBadEvent, err)
	}
	if err := instanceid.Check(e.InstanceID().String()); err != nil {
		return fmt.Errorf("%w in collection %s: %v", errBadEvent, e.Collection(), err)
	}
	return nil
}

// collections is the part of a go-threads database the guard asks about a collection.
type collections interface {
	GetCollection(name string, opts ...db.Option) *db.Collection
}

// runsJS reports whether the record's database hands the collection's instances to
// JavaScript (a write validator or a read filter).
func (r *recordGuard) runsJS(collection string) bool {
	d, ok := r.App.(collections)
	if !ok {
		return false
	}
	c := d.GetCollection(collection)
	return c != nil && (len(c.GetWriteValidator()) > 0 || len(c.GetReadFilter()) > 0)
}

// checkForJS applies jssafe's rule to an event as go-threads hands it to a write
// validator: its JSON, which holds the instance ID and the instance (for a create or a
// save).
func checkForJS(e core.Event) error {
	data, err := e.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %v", errBadEvent, err)
	}
	if err := jssafe.Check(data); err != nil {
		return fmt.Errorf("%w in collection %s, instance %q: %v", errBadEvent, e.Collection(), e.InstanceID(), err)
	}
	return nil
}
