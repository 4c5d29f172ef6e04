package node

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	ds "github.com/ipfs/go-datastore"
	dskt "github.com/ipfs/go-datastore/keytransform"
	"github.com/ipfs/go-datastore/query"
	"github.com/textileio/go-threads/api"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/app"
	lstore "github.com/textileio/go-threads/core/logstore"
	"github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	kt "github.com/textileio/go-threads/db/keytransform"
)

// BrokenDB is a database of the store that failed to load. The node opens without it:
// one damaged database must not keep a server's other users from theirs.
type BrokenDB struct {
	ID   thread.ID
	Name string
	// Collection is the collection whose definition fails to load ("" when the failure
	// is not one collection's).
	Collection string
	// Err is go-threads' reason.
	Err string
}

func (b BrokenDB) String() string {
	what := fmt.Sprintf("database %s (%s)", b.Name, b.ID)
	if b.Collection != "" {
		what += fmt.Sprintf(", collection %s", b.Collection)
	}
	return what + ": " + b.Err
}

// ErrNotBroken is returned by RepairDB and DropBrokenDB for a database that loaded.
var ErrNotBroken = errors.New("the database is not broken")

// The go-threads v1.1.5 store layout, read by hand only to find and mend what its loader
// cannot load: each database lives under /manager/<thread ID>, its collection definitions
// under db/schema, db/validator, db/filter and db/index, each keyed by collection name.
var (
	managerKey     = ds.NewKey("/manager")
	definitionKeys = []string{"schema", "validator", "filter", "index"}
)

func dbKey(id thread.ID) ds.Key { return managerKey.ChildString(id.String()) }

// brokenDBs holds the databases that failed to load, hidden from go-threads' loader.
type brokenDBs struct {
	store kt.TxnDatastoreExtended // the whole store, unfiltered
	net   *guardedNet

	mu  sync.RWMutex
	dbs map[thread.ID]BrokenDB
}

func (b *brokenDBs) get(id thread.ID) (BrokenDB, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	d, ok := b.dbs[id]
	return d, ok
}

func (b *brokenDBs) hidden(id string) bool {
	tid, err := thread.Decode(id)
	if err != nil {
		return false
	}
	_, ok := b.get(tid)
	return ok
}

// openThreads starts the threads API service, which loads every database of the store.
// When that fails, it finds the databases that cannot load by loading each on its own,
// and starts the service without them: they are reported (BrokenDBs, Warnf) and can be
// repaired or dropped.
func (n *Node) openThreads(opts Options) (*api.Service, error) {
	gnet := &guardedNet{Net: n.net, warnf: opts.Warnf}
	n.net.pushes.attach(gnet)
	n.net.catchUp.attach(gnet)
	n.broken = &brokenDBs{store: n.store, net: gnet, dbs: map[thread.ID]BrokenDB{}}
	s, err := api.NewService(n.store, gnet, api.Config{Debug: opts.Debug})
	if err == nil {
		return s, nil
	}
	broken, ferr := findBroken(n.store)
	if ferr != nil || len(broken) == 0 {
		return nil, fmt.Errorf("start threads API: %w", errors.Join(err, ferr))
	}
	for _, b := range broken {
		n.broken.dbs[b.ID] = b
		if opts.Warnf != nil {
			opts.Warnf("%s; the other databases are served: run `hubctl db repair %s` to drop the broken definitions, or `hubctl db delete %s`", b, b.ID, b.ID)
		}
	}
	// go-threads lists the databases to load with one query of /manager: that listing
	// skips the broken ones, and nothing else reads under their keys.
	view := &filteredStore{TxnDatastoreExtended: n.store, keep: func(prefix, key string) bool {
		if prefix != managerKey.String() {
			return true
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(key, prefix+"/"), "/")
		return !n.broken.hidden(id)
	}}
	s, err = api.NewService(view, gnet, api.Config{Debug: opts.Debug})
	if err != nil {
		return nil, fmt.Errorf("start threads API without the %d broken databases: %w", len(broken), err)
	}
	return s, nil
}

// BrokenDBs lists the databases that failed to load, by ID.
func (n *Node) BrokenDBs() []BrokenDB {
	n.broken.mu.RLock()
	out := make([]BrokenDB, 0, len(n.broken.dbs))
	for _, b := range n.broken.dbs {
		out = append(out, b)
	}
	n.broken.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID.String() < out[j].ID.String() })
	return out
}

// HasBrokenDBs reports whether any database failed to load, cheaply: servers ask on
// every call.
func (n *Node) HasBrokenDBs() bool {
	n.broken.mu.RLock()
	defer n.broken.mu.RUnlock()
	return len(n.broken.dbs) > 0
}

// BrokenDB reports whether id is a database that failed to load.
func (n *Node) BrokenDB(id thread.ID) (BrokenDB, bool) { return n.broken.get(id) }

// RepairDB removes the definitions (schema, write validator, read filter, indexes) of a
// broken database's collections that fail to load, and loads it. Their instances stay:
// creating the collection again with its schema brings them back. It returns the
// collections whose definitions it removed.
func (n *Node) RepairDB(ctx context.Context, id thread.ID) ([]string, error) {
	b, ok := n.broken.get(id)
	if !ok {
		return nil, ErrNotBroken
	}
	failing, err := failingCollections(n.store, id)
	if err != nil {
		return nil, err
	}
	for _, c := range failing {
		for _, kind := range definitionKeys {
			if err := n.store.Delete(dbKey(id).ChildString("db").ChildString(kind).ChildString(c)); err != nil {
				return nil, fmt.Errorf("repair %s: %w", b, err)
			}
		}
	}
	if err := trialLoad(n.store, id, nil); err != nil {
		b.Err = err.Error()
		return failing, fmt.Errorf("%s: it still does not load after removing %d collection definitions; `hubctl db delete %s` drops it", b, len(failing), id)
	}
	n.broken.net.reload(id, true)
	defer n.broken.net.reload(id, false)
	n.broken.mu.Lock()
	delete(n.broken.dbs, id)
	n.broken.mu.Unlock()
	if _, err := n.threads.NewDB(ctx, &pb.NewDBRequest{DbID: id.Bytes()}); err != nil {
		n.broken.mu.Lock()
		n.broken.dbs[id] = b
		n.broken.mu.Unlock()
		return failing, fmt.Errorf("load repaired %s: %w", b, err)
	}
	return failing, nil
}

// DropBrokenDB deletes a database that failed to load: its records, its thread and its
// logs, as DeleteDB does for one that loaded.
func (n *Node) DropBrokenDB(ctx context.Context, id thread.ID) error {
	b, ok := n.broken.get(id)
	if !ok {
		return ErrNotBroken
	}
	if err := n.net.DeleteThread(ctx, id); err != nil && !errors.Is(err, lstore.ErrThreadNotFound) {
		return fmt.Errorf("drop %s: %w", b, err)
	}
	if err := deletePrefix(n.store, dbKey(id)); err != nil {
		return fmt.Errorf("drop %s: %w", b, err)
	}
	n.broken.mu.Lock()
	delete(n.broken.dbs, id)
	n.broken.mu.Unlock()
	return nil
}

func deletePrefix(store kt.TxnDatastoreExtended, prefix ds.Key) error {
	res, err := store.Query(query.Query{Prefix: prefix.String(), KeysOnly: true})
	if err != nil {
		return err
	}
	entries, err := res.Rest()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := store.Delete(ds.NewKey(e.Key)); err != nil {
			return err
		}
	}
	return nil
}

// findBroken loads each database of the store on its own, the way go-threads' manager
// does, and returns those that fail, naming the collection at fault where one is.
func findBroken(store kt.TxnDatastoreExtended) ([]BrokenDB, error) {
	ids, err := storedDBs(store)
	if err != nil {
		return nil, err
	}
	var out []BrokenDB
	for _, id := range ids {
		err := trialLoad(store, id, nil)
		if err == nil {
			continue
		}
		b := BrokenDB{ID: id, Name: storedName(store, id), Err: err.Error()}
		if failing, ferr := failingCollections(store, id); ferr == nil && len(failing) > 0 {
			b.Collection = strings.Join(failing, ", ")
		}
		out = append(out, b)
	}
	return out, nil
}

// storedDBs lists the IDs of the databases in the store.
func storedDBs(store kt.TxnDatastoreExtended) ([]thread.ID, error) {
	res, err := store.Query(query.Query{Prefix: managerKey.String(), KeysOnly: true})
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	defer res.Close()
	seen := map[thread.ID]bool{}
	var ids []thread.ID
	for r := range res.Next() {
		if r.Error != nil {
			return nil, fmt.Errorf("list databases: %w", r.Error)
		}
		parts := strings.Split(r.Key, "/")
		if len(parts) < 3 {
			continue
		}
		id, err := thread.Decode(parts[2])
		if err != nil || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}

func storedName(store kt.TxnDatastoreExtended, id thread.ID) string {
	name, err := store.Get(dbKey(id).ChildString("db").ChildString("name"))
	if err != nil || len(name) == 0 || len(name) > 100 {
		return "unnamed"
	}
	return string(name)
}

// failingCollections are the collections of database id whose definition fails to load
// on its own.
func failingCollections(store kt.TxnDatastoreExtended, id thread.ID) ([]string, error) {
	schemas := dbKey(id).ChildString("db").ChildString("schema")
	res, err := store.Query(query.Query{Prefix: schemas.String(), KeysOnly: true})
	if err != nil {
		return nil, err
	}
	entries, err := res.Rest()
	if err != nil {
		return nil, err
	}
	var failing []string
	for _, e := range entries {
		name := ds.RawKey(e.Key).Name()
		if err := trialLoad(store, id, func(key string) bool { return ds.RawKey(key).Name() == name }); err != nil {
			failing = append(failing, name)
		}
	}
	sort.Strings(failing)
	return failing, nil
}

// trialLoad loads database id with go-threads' own code on a network that does nothing,
// and closes it. keepSchema, when set, limits the collections loaded to the schema keys
// it keeps.
func trialLoad(store kt.TxnDatastoreExtended, id thread.ID, keepSchema func(key string) bool) error {
	var view kt.TxnDatastoreExtended = store
	if keepSchema != nil {
		schemas := dbKey(id).ChildString("db").ChildString("schema").String()
		view = &filteredStore{TxnDatastoreExtended: store, keep: func(prefix, key string) bool {
			return prefix != schemas || keepSchema(key)
		}}
	}
	s := kt.WrapTxnDatastore(view, dskt.PrefixTransform{Prefix: dbKey(id)})
	d, err := db.NewDB(context.Background(), s, trialNet{}, id)
	if err != nil {
		return err
	}
	return d.Close()
}

// trialNet is the network a trial load connects a database to: it answers the two calls
// loading makes and nothing else ever reaches it.
type trialNet struct{ app.Net }

func (trialNet) CreateThread(context.Context, thread.ID, ...net.NewThreadOption) (thread.Info, error) {
	return thread.Info{}, nil
}

func (trialNet) ConnectApp(app.App, thread.ID) (*app.Connector, error) { return &app.Connector{}, nil }

// filteredStore hides, from queries, the entries keep refuses; keep sees the query's
// prefix and the entry's key.
type filteredStore struct {
	kt.TxnDatastoreExtended
	keep func(prefix, key string) bool
}

func (s *filteredStore) Query(q query.Query) (query.Results, error) {
	res, err := s.TxnDatastoreExtended.Query(q)
	if err != nil {
		return nil, err
	}
	prefix := ds.NewKey(q.Prefix).String()
	return query.NaiveFilter(res, keepFilter(func(e query.Entry) bool { return s.keep(prefix, e.Key) })), nil
}

type keepFilter func(query.Entry) bool

func (f keepFilter) Filter(e query.Entry) bool { return f(e) }
