package hubauth

import (
	"testing"

	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A zero quota is the default, a negative one no limit.
func TestQuotasInForce(t *testing.T) {
	for _, tt := range []struct {
		q         Quotas
		dbs, cols int
	}{
		{Quotas{}, DefaultDBsPerIdentity, DefaultCollectionsPerDB},
		{Quotas{DBsPerIdentity: 7, CollectionsPerDB: 3}, 7, 3},
		{Quotas{DBsPerIdentity: -1, CollectionsPerDB: -5}, -1, -1},
	} {
		if got := tt.q.MaxDBsPerIdentity(); got != tt.dbs {
			t.Errorf("%+v: MaxDBsPerIdentity %d, want %d", tt.q, got, tt.dbs)
		}
		if got := tt.q.MaxCollectionsPerDB(); got != tt.cols {
			t.Errorf("%+v: MaxCollectionsPerDB %d, want %d", tt.q, got, tt.cols)
		}
	}
}

// An identity already past a limit the operator lowered is told how many to delete.
func TestQuotaMessages(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{DBLimitMessage("bbaa", 2, 2), "database limit reached: identity bbaa owns 2 databases and threads, the most this server allows (the operator's --max-dbs-per-identity); delete one first"},
		{DBLimitMessage("bbaa", 5, 2), "database limit reached: identity bbaa owns 5 databases and threads, more than the 2 this server allows (the operator's --max-dbs-per-identity); delete 4 first"},
		{CollectionLimitMessage(3, 1, 3), "collection limit reached: the database has 3 collections, the most this server allows (the operator's --max-collections-per-db); delete one first"},
		// One of a thing is one, not "1 databases".
		{DBLimitMessage("bbaa", 1, 1), "database limit reached: identity bbaa owns 1 database or thread, the most this server allows (the operator's --max-dbs-per-identity); delete one first"},
		{KeyDBLimitMessage("kk", 1, 1), "database limit reached: the identities of API key kk own 1 database or thread, the most this server allows per key (the operator's --max-dbs-per-key); delete one first"},
		{CollectionLimitMessage(1, 1, 1), "collection limit reached: the database has 1 collection, the most this server allows (the operator's --max-collections-per-db); delete one first"},
		{CollectionLimitMessage(0, 1, 0), "collection limit reached: the call creates a database with 1 collection, and this server allows 0 per database (the operator's --max-collections-per-db); create fewer"},
	} {
		if tt.got != tt.want {
			t.Errorf("got  %q\nwant %q", tt.got, tt.want)
		}
	}
}

// At the limit, what adds no thread to the identity is not refused: finishing its own
// create that a crash interrupted (the record is there, the thread is not) and repeating
// a create of a thread it has. A new thread is refused before go-threads is called.
// Without key checks everyone is an operator, and nobody is limited.
func TestQuotaAtTheLimitRepairsAndRepeats(t *testing.T) {
	f := newGuardFixture(t, AuthKeys)
	f.g.Quotas = Quotas{DBsPerIdentity: 2}
	me, tok := f.identity(t)
	present, interrupted := thread.NewIDV1(thread.Raw, 32), thread.NewIDV1(thread.Raw, 32)
	for _, id := range []thread.ID{present, interrupted} {
		if err := f.g.Owners.Put(Owner{ThreadID: id, Identity: me, DB: true, Name: dbName(id)}); err != nil {
			t.Fatal(err)
		}
	}
	f.node.threads[present] = true

	if err := f.call(&f.user, tok, threadsAPI+"NewDB", newDB(interrupted), interrupted); err != nil {
		t.Fatalf("repair of an interrupted create at the limit: %v", err)
	}
	if err := f.call(&f.user, tok, threadsAPI+"NewDB", newDB(present), present); status.Convert(err).Message() != "db already exists" {
		t.Fatalf("repeat of a create at the limit: %v, want go-threads' answer", err)
	}
	calls := f.node.calls
	fresh := thread.NewIDV1(thread.Raw, 32)
	err := f.call(&f.user, tok, netAPI+"CreateThread", createThread(fresh), fresh)
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != DBLimitMessage(me, 2, 2) {
		t.Fatalf("a new thread at the limit: %v", err)
	}
	if f.node.calls != calls {
		t.Fatal("go-threads was called for a create refused by the quota")
	}
	if _, ok := f.g.Owners.Get(fresh); ok {
		t.Fatal("a refused create left an owner record")
	}

	open := newGuardFixture(t, AuthNone)
	open.g.Quotas = Quotas{DBsPerIdentity: 1}
	_, tok = open.identity(t)
	for range 3 {
		id := thread.NewIDV1(thread.Raw, 32)
		if err := open.call(nil, tok, threadsAPI+"NewDB", newDB(id), id); err != nil {
			t.Fatalf("--auth none: %v", err)
		}
	}
}
