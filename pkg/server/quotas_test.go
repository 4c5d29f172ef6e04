package server

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/textileio/go-threads/api/client"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// startQuotaDaemon runs a daemon with key checks and quotas q on dir; stop shuts it down
// (also done when the test ends, if the test did not).
func startQuotaDaemon(t *testing.T, dir string, q hubauth.Quotas) (d *Daemon, reg *hubauth.Registry, stop func()) {
	t.Helper()
	reg = hubauth.OpenRegistry(dir)
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	opts := loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthKeys, Keys: kr, Quotas: q})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if d, err = StartDaemon(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := d.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return d, reg, stop
}

func (s session) newDB(id thread.ID, opts ...db.NewManagedOption) error {
	return s.c.NewDB(s.ctx, id, append([]db.NewManagedOption{db.WithNewManagedToken(s.tok)}, opts...)...)
}

// An identity with a user key creates databases and net threads up to the operator's
// limit; the next create, of either kind and by any of the calls that make a thread its
// own, is refused ResourceExhausted with a message that names the limit and the fix,
// and nothing is created. Repeating a create of its own is not refused, deleting one
// makes room, the count survives a restart, and neither another identity nor an
// account key is held to this identity's count.
func TestQuotaDBsPerIdentity(t *testing.T) {
	const limit = 3
	dir := filepath.Join(t.TempDir(), "data")
	d, reg, stop := startQuotaDaemon(t, dir, hubauth.Quotas{DBsPerIdentity: limit})
	userKey := newKey(t, reg, hubauth.UserKey)
	alice := newSession(t, d, userKey)

	var mine []thread.ID
	for i := range limit {
		id := thread.NewIDV1(thread.Raw, 32)
		var err error
		if i == limit-1 {
			_, err = alice.nc.CreateThread(alice.ctx, id, core.WithNewThreadToken(alice.tok))
		} else {
			err = alice.newDB(id)
		}
		if err != nil {
			t.Fatalf("create %d: %v", i+1, err)
		}
		mine = append(mine, id)
	}
	full := hubauth.DBLimitMessage(alice.identity, limit, limit)
	over := thread.NewIDV1(thread.Raw, 32)
	wantCode(t, "NewDB over the limit", alice.newDB(over), codes.ResourceExhausted, full)
	_, err := alice.nc.CreateThread(alice.ctx, over, core.WithNewThreadToken(alice.tok))
	wantCode(t, "CreateThread over the limit", err, codes.ResourceExhausted, full)
	if has, err := d.node.HasThread(t.Context(), over); err != nil || has {
		t.Fatalf("a refused create left its thread on the node (%v, %v)", has, err)
	}
	if n := len(d.grpc.Guard.Owners.List(alice.identity)); n != limit {
		t.Fatalf("alice owns %d records after the refusals, want %d", n, limit)
	}

	// A repeat of a create of her own is answered by go-threads, not by the quota.
	if err := alice.newDB(mine[0]); err == nil || status.Code(err) == codes.ResourceExhausted {
		t.Fatalf("NewDB of her own database at the limit: %v, want go-threads' answer", err)
	}

	// Another identity of the same key, and an operator, are not held to alice's count.
	bob := newSession(t, d, userKey)
	if err := bob.newDB(thread.NewIDV1(thread.Raw, 32)); err != nil {
		t.Fatalf("another identity at alice's limit: %v", err)
	}
	op := newSession(t, d, newKey(t, reg, hubauth.AccountKey))
	for i := range limit + 1 {
		if err := op.newDB(thread.NewIDV1(thread.Raw, 32)); err != nil {
			t.Fatalf("account key, create %d: %v", i+1, err)
		}
	}

	// Deleting one makes room for one.
	if err := alice.c.DeleteDB(alice.ctx, mine[0], db.WithManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	if err := alice.newDB(over); err != nil {
		t.Fatalf("create after a delete: %v", err)
	}
	wantCode(t, "NewDB at the limit again", alice.newDB(thread.NewIDV1(thread.Raw, 32)), codes.ResourceExhausted, full)

	// The records are the count, and they outlive the process.
	stop()
	d, _, _ = startQuotaDaemon(t, dir, hubauth.Quotas{DBsPerIdentity: limit})
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.NewDB(alice.ctx, thread.NewIDV1(thread.Raw, 32), db.WithNewManagedToken(alice.tok))
	wantCode(t, "NewDB at the limit after a restart", err, codes.ResourceExhausted, full)
}

// Concurrent creates by one identity do not together pass the limit: of many at once,
// exactly the limit's worth succeed and the rest are refused ResourceExhausted.
func TestQuotaDBsPerIdentityConcurrent(t *testing.T) {
	const limit, tries = 3, 16
	d, reg, _ := startQuotaDaemon(t, filepath.Join(t.TempDir(), "data"), hubauth.Quotas{DBsPerIdentity: limit})
	alice := newSession(t, d, newKey(t, reg, hubauth.UserKey))
	errs := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(alice.ctx, time.Minute)
			defer cancel()
			errs[i] = alice.c.NewDB(ctx, thread.NewIDV1(thread.Raw, 32), db.WithNewManagedToken(alice.tok))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case status.Code(err) != codes.ResourceExhausted:
			t.Fatalf("concurrent NewDB: %v", err)
		}
	}
	if ok != limit {
		t.Fatalf("%d of %d concurrent creates succeeded, want the limit, %d", ok, tries, limit)
	}
	if n := len(d.grpc.Guard.Owners.List(alice.identity)); n != limit {
		t.Fatalf("alice owns %d records, want %d", n, limit)
	}
}

// A database of an identity with a user key gets collections up to the operator's limit,
// by NewDB's collections or NewCollection; a call that would pass it is refused
// ResourceExhausted with the limit and the fix, also when many are made at once. Updating
// one adds nothing and is not refused, deleting one makes room, and an account key is not
// limited.
func TestQuotaCollectionsPerDB(t *testing.T) {
	const limit = 2
	d, reg, _ := startQuotaDaemon(t, filepath.Join(t.TempDir(), "data"), hubauth.Quotas{CollectionsPerDB: limit})
	alice := newSession(t, d, newKey(t, reg, hubauth.UserKey))
	cfg := func(name string) db.CollectionConfig {
		return db.CollectionConfig{Name: name, Schema: mustSchema(t, goodSchema)}
	}
	newCollection := func(s session, id thread.ID, name string) error {
		return s.c.NewCollection(s.ctx, id, cfg(name), db.WithManagedToken(s.tok))
	}

	// NewDB with more collections than the limit creates nothing.
	big := thread.NewIDV1(thread.Raw, 32)
	err := alice.newDB(big, db.WithNewManagedCollections(cfg("a"), cfg("b"), cfg("c")))
	wantCode(t, "NewDB with 3 collections", err, codes.ResourceExhausted, hubauth.CollectionLimitMessage(0, 3, limit))
	if has, err := d.node.HasThread(t.Context(), big); err != nil || has {
		t.Fatalf("a refused NewDB left its thread (%v, %v)", has, err)
	}

	id := thread.NewIDV1(thread.Raw, 32)
	if err := alice.newDB(id, db.WithNewManagedCollections(cfg("a"))); err != nil {
		t.Fatal(err)
	}
	if err := newCollection(alice, id, "b"); err != nil {
		t.Fatalf("NewCollection up to the limit: %v", err)
	}
	full := hubauth.CollectionLimitMessage(limit, 1, limit)
	wantCode(t, "NewCollection over the limit", newCollection(alice, id, "c"), codes.ResourceExhausted, full)
	// One of the names it has: go-threads' answer, not the quota's.
	if err := newCollection(alice, id, "a"); err == nil || status.Code(err) == codes.ResourceExhausted {
		t.Fatalf("NewCollection of an existing name at the limit: %v, want go-threads' answer", err)
	}
	if err := alice.c.UpdateCollection(alice.ctx, id, cfg("a"), db.WithManagedToken(alice.tok)); err != nil {
		t.Fatalf("UpdateCollection at the limit: %v", err)
	}
	if err := alice.c.DeleteCollection(alice.ctx, id, "b", db.WithManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}

	// Room for one: of many at once, exactly one gets it.
	const tries = 8
	errs := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = newCollection(alice, id, fmt.Sprintf("c%d", i))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case status.Code(err) != codes.ResourceExhausted:
			t.Fatalf("concurrent NewCollection: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent NewCollection calls succeeded with room for one", ok, tries)
	}
	list, err := alice.c.ListCollections(alice.ctx, id, db.WithManagedToken(alice.tok))
	if err != nil || len(list) != limit {
		t.Fatalf("the database has %d collections (%v), want %d", len(list), err, limit)
	}

	op := newSession(t, d, newKey(t, reg, hubauth.AccountKey))
	opDB := thread.NewIDV1(thread.Raw, 32)
	if err := op.newDB(opDB, db.WithNewManagedCollections(cfg("a"), cfg("b"), cfg("c"))); err != nil {
		t.Fatalf("account key, NewDB past the limit: %v", err)
	}
	if err := newCollection(op, opDB, "d"); err != nil {
		t.Fatalf("account key, NewCollection past the limit: %v", err)
	}
}

// The identities of one user key together own at most --max-dbs-per-key threads: a key
// holder can make identities at will, so this is what bounds one key. Concurrent creates
// by many identities of the key do not together pass it; another key, and an account
// key, are not held to it.
func TestQuotaDBsPerKey(t *testing.T) {
	const limit, tries = 3, 12
	dir := filepath.Join(t.TempDir(), "data")
	d, reg, _ := startQuotaDaemon(t, dir, hubauth.Quotas{DBsPerIdentity: -1, DBsPerKey: limit})
	key := newKey(t, reg, hubauth.UserKey)
	sessions := make([]session, tries)
	for i := range sessions {
		sessions[i] = newSession(t, d, key)
	}
	errs := make([]error, tries)
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.newDB(thread.NewIDV1(thread.Raw, 32))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case status.Code(err) == codes.ResourceExhausted:
			wantCode(t, "a create past the key's limit", err, codes.ResourceExhausted, hubauth.KeyDBLimitMessage(key.Key, limit, limit))
		default:
			t.Fatalf("create: %v", err)
		}
	}
	if ok != limit {
		t.Fatalf("%d of %d identities of one key created a database, want %d", ok, tries, limit)
	}
	other := newSession(t, d, newKey(t, reg, hubauth.UserKey))
	if err := other.newDB(thread.NewIDV1(thread.Raw, 32)); err != nil {
		t.Fatalf("another key: %v", err)
	}
	op := newSession(t, d, newKey(t, reg, hubauth.AccountKey))
	for i := range limit + 1 {
		if err := op.newDB(thread.NewIDV1(thread.Raw, 32)); err != nil {
			t.Fatalf("account key, create %d: %v", i+1, err)
		}
	}
}
