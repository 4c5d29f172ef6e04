package hubauth

import (
	"fmt"
	"hash/fnv"
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
	// CollectionsPerDB bounds the collections of one database.
	CollectionsPerDB int
}

// Defaults of Quotas.
const (
	DefaultDBsPerIdentity   = 100
	DefaultCollectionsPerDB = 100
)

// MaxDBsPerIdentity is the limit in force: DBsPerIdentity or its default, or -1 for none.
func (q Quotas) MaxDBsPerIdentity() int { return effective(q.DBsPerIdentity, DefaultDBsPerIdentity) }

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
	return fmt.Sprintf("database limit reached: identity %s owns %d databases and threads, %s (the operator's --max-dbs-per-identity); delete %s first",
		identity, owned, most(owned, limit), some(owned, limit))
}

// CollectionLimitMessage is the refusal of a call that would give a database holding has
// collections adding more, on a server that allows limit (ResourceExhausted).
func CollectionLimitMessage(has, adding, limit int) string {
	if has == 0 {
		return fmt.Sprintf("collection limit reached: the call creates a database with %d collections, and this server allows %d per database (the operator's --max-collections-per-db); create fewer", adding, limit)
	}
	return fmt.Sprintf("collection limit reached: the database has %d collections, %s (the operator's --max-collections-per-db); delete %s first",
		has, most(has, limit), some(has, limit))
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

// reserveDB writes rec, the owner record of a thread new to rec.Identity, unless that
// identity already owns as many threads as q allows. The count and the write happen under
// the identity's lock, so concurrent creates by one identity (each under the lock of its
// own thread ID) cannot together pass the limit: every record written is counted by the
// next create. A record removed because its call failed may make a concurrent create be
// refused that would have fitted; that errs on the side of the limit.
func (g *Guard) reserveDB(rec Owner) error {
	limit := g.Quotas.MaxDBsPerIdentity()
	if limit < 0 {
		return g.Owners.Put(rec)
	}
	unlock := lockIdentity(rec.Identity)
	defer unlock()
	if n := countOwned(g.Owners, rec.Identity); n >= limit {
		return status.Error(codes.ResourceExhausted, DBLimitMessage(rec.Identity, n, limit))
	}
	return g.Owners.Put(rec)
}

// countOwned is the number of records of identity.
func countOwned(o *Owners, identity string) int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	n := 0
	for _, rec := range o.records {
		if rec.Identity == identity {
			n++
		}
	}
	return n
}

// identityStripes serialise the quota check and record write of one identity's creates,
// without a lock per identity ever seen. Each is held only for a count and one record
// write, with no other identity's stripe, so sharing them between the servers of one
// process (tests) costs nothing but a little waiting.
var identityStripes [64]sync.Mutex

func lockIdentity(identity string) func() {
	h := fnv.New32a()
	h.Write([]byte(identity))
	m := &identityStripes[h.Sum32()%uint32(len(identityStripes))]
	m.Lock()
	return m.Unlock
}
