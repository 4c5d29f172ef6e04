package hubauth

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Quotas bound what one identity holding a user key can make the server keep. Account
// keys (operators), and every caller of a server without key checks (--auth none), are
// not limited. A zero field takes its default; a negative one means no limit.
//
// Each database costs the daemon memory for as long as it runs (go-threads loads every
// database at start and keeps it: bench/dbmemory.sh measures how much), and each
// collection costs a JavaScript runtime and a compiled schema, so these bound what one
// identity can make every later start of the server carry.
type Quotas struct {
	// DBsPerIdentity bounds the threads (databases and net API threads) one identity owns.
	DBsPerIdentity int
	// DBsPerKey bounds the threads made through one user key, by all its identities: a
	// key holder can make identities at will, so this is what bounds one key's cost.
	DBsPerKey int
	// CollectionsPerDB bounds the collections of one database.
	CollectionsPerDB int
}

// Defaults of Quotas.
const (
	DefaultDBsPerIdentity   = 100
	DefaultDBsPerKey        = 1000
	DefaultCollectionsPerDB = 100
)

// MaxDBsPerIdentity is the limit in force: DBsPerIdentity or its default, or -1 for none.
func (q Quotas) MaxDBsPerIdentity() int { return effective(q.DBsPerIdentity, DefaultDBsPerIdentity) }

// MaxDBsPerKey is the limit in force: DBsPerKey or its default, or -1 for none.
func (q Quotas) MaxDBsPerKey() int { return effective(q.DBsPerKey, DefaultDBsPerKey) }

// MaxCollectionsPerDB is the limit in force: CollectionsPerDB or its default, or -1 for none.
func (q Quotas) MaxCollectionsPerDB() int {
	return effective(q.CollectionsPerDB, DefaultCollectionsPerDB)
}

func effective(n, def int) int {
	switch {
	case n < 0:
		return -1
	case n == 0:
		return def
	}
	return n
}

// DBLimitMessage is the refusal of a create by identity, which owns owned threads, on a
// server that allows limit; the call is answered ResourceExhausted, as the Hub answered
// a quota.
func DBLimitMessage(identity string, owned, limit int) string {
	return fmt.Sprintf("database limit reached: identity %s owns %s, %s (the operator's --max-dbs-per-identity); delete %s first",
		identity, dbsAndThreads(owned), most(owned, limit), some(owned, limit))
}

// KeyDBLimitMessage is the refusal of a create through key, whose identities own owned
// threads, on a server that allows limit per key (ResourceExhausted).
func KeyDBLimitMessage(key string, owned, limit int) string {
	return fmt.Sprintf("database limit reached: the identities of API key %s own %s, %s per key (the operator's --max-dbs-per-key); delete %s first",
		key, dbsAndThreads(owned), most(owned, limit), some(owned, limit))
}

// CollectionLimitMessage is the refusal of a call that would give a database holding has
// collections adding more, on a server that allows limit (ResourceExhausted).
func CollectionLimitMessage(has, adding, limit int) string {
	if has == 0 {
		return fmt.Sprintf("collection limit reached: the call creates a database with %s, and this server allows %d per database (the operator's --max-collections-per-db); create fewer", collections(adding), limit)
	}
	return fmt.Sprintf("collection limit reached: the database has %s, %s (the operator's --max-collections-per-db); delete %s first",
		collections(has), most(has, limit), some(has, limit))
}

// dbsAndThreads counts what an identity owns in words: "1 database or thread", "2 databases and threads".
func dbsAndThreads(n int) string {
	if n == 1 {
		return "1 database or thread"
	}
	return fmt.Sprintf("%d databases and threads", n)
}

func collections(n int) string {
	if n == 1 {
		return "1 collection"
	}
	return fmt.Sprintf("%d collections", n)
}

func most(n, limit int) string {
	if n > limit {
		return fmt.Sprintf("more than the %d this server allows", limit)
	}
	return "the most this server allows"
}

func some(n, limit int) string {
	if n > limit {
		return fmt.Sprint(n - limit + 1)
	}
	return "one"
}

// record writes rec, the owner record of a thread new to rec.Identity, unless another of
// that identity's threads has its name (checkName) or, when limited, that identity
// already owns as many threads as q allows. The checks and the write happen under the
// identity's lock, so concurrent creates by one identity (each under the lock of its own
// thread ID) cannot together pass the limit or share a name: every record written is
// seen by the next create. A record removed because its call failed may make a
// concurrent create be refused that would have fitted; that errs on the side of the limit.
//
// The same holds for the threads made through one API key (rec.Key), by any identity.
func (g *Guard) record(ctx context.Context, rec Owner, limited bool) error {
	perKey, perIdentity := g.Quotas.MaxDBsPerKey(), g.Quotas.MaxDBsPerIdentity()
	if rec.Key == "" || !limited {
		perKey = -1
	}
	if !limited {
		perIdentity = -1
	}
	unlock := lockStripes("key:"+rec.Key, identityStripe(rec.Identity))
	defer unlock()
	if err := g.checkName(ctx, rec.Identity, rec.Name, rec.ThreadID); err != nil {
		return err
	}
	if perKey >= 0 {
		if n := countRecords(g.Owners, func(o Owner) bool { return o.Key == rec.Key }); n >= perKey {
			return status.Error(codes.ResourceExhausted, KeyDBLimitMessage(rec.Key, n, perKey))
		}
	}
	if perIdentity >= 0 {
		if n := countRecords(g.Owners, func(o Owner) bool { return o.Identity == rec.Identity }); n >= perIdentity {
			return status.Error(codes.ResourceExhausted, DBLimitMessage(rec.Identity, n, perIdentity))
		}
	}
	return g.Owners.Put(rec)
}

// countRecords is the number of records that match.
func countRecords(o *Owners, match func(Owner) bool) int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	n := 0
	for _, rec := range o.records {
		if match(rec) {
			n++
		}
	}
	return n
}

// quotaStripes serialise the quota checks and record writes of one key's and one
// identity's creates, without a lock per key or identity ever seen. Each is held only for
// a count and one record write, so sharing them between the servers of one process
// (tests) costs nothing but a little waiting.
var quotaStripes [64]sync.Mutex

// lockStripes locks the stripes of names, in the stripes' order and each once (two names
// may share one), and returns the unlock.
func lockStripes(names ...string) func() {
	var held []int
	for _, name := range names {
		h := fnv.New32a()
		h.Write([]byte(name))
		i := int(h.Sum32() % uint32(len(quotaStripes)))
		if !slices.Contains(held, i) {
			held = append(held, i)
		}
	}
	slices.Sort(held)
	for _, i := range held {
		quotaStripes[i].Lock()
	}
	return func() {
		for _, i := range held {
			quotaStripes[i].Unlock()
		}
	}
}
