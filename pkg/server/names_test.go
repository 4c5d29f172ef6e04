package server

import (
	"context"
	"strings"
	"testing"

	"github.com/alecthomas/jsonschema"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// Thread names as the Hub kept them: the x-textile-thread-name header (textile's
// common.NewThreadNameContext, sent by common.Credentials) names a thread on NewDB and
// CreateThread, GetThread finds it by that name, and names are unique per identity,
// ignoring case, across databases and plain threads.
func TestThreadNamesFromTheHubHeader(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	users := usersClient(t, d.State().API)
	key := newKey(t, reg, hubauth.UserKey)
	alice, bob := newSession(t, d, key), newSession(t, d, key)
	named := func(s session, name string) context.Context {
		return common.NewThreadNameContext(s.ctx, name)
	}
	newDB := func(ctx context.Context, s session, opts ...db.NewManagedOption) (thread.ID, error) {
		id := thread.NewIDV1(thread.Raw, 32)
		return id, s.c.NewDB(ctx, id, append(opts, db.WithNewManagedToken(s.tok))...)
	}
	found := func(s session, name string) thread.ID {
		t.Helper()
		res, err := users.GetThread(thread.NewTokenContext(s.ctx, s.tok), name)
		if err != nil {
			t.Fatalf("GetThread(%q): %v", name, err)
		}
		if res.Name != name {
			t.Fatalf("GetThread(%q) answered a thread named %q", name, res.Name)
		}
		id, err := thread.Cast(res.Id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	// The header alone names the database, for the users API and for go-threads.
	foo, err := newDB(named(alice, "foo"), alice)
	if err != nil {
		t.Fatalf("NewDB with the header: %v", err)
	}
	if got := found(alice, "foo"); got != foo {
		t.Fatalf("GetThread(foo) = %s, want %s", got, foo)
	}
	info, err := alice.c.GetDBInfo(alice.ctx, foo, db.WithManagedToken(alice.tok))
	if err != nil || info.Name != "foo" {
		t.Fatalf("GetDBInfo: %+v %v, want the header's name", info, err)
	}
	// Where both are given, the header's is the name.
	both, err := newDB(named(alice, "from-header"), alice, db.WithNewManagedName("from-request"))
	if err != nil {
		t.Fatal(err)
	}
	if got := found(alice, "from-header"); got != both {
		t.Fatalf("GetThread(from-header) = %s, want %s", got, both)
	}
	if info, err := alice.c.GetDBInfo(alice.ctx, both, db.WithManagedToken(alice.tok)); err != nil || info.Name != "from-header" {
		t.Fatalf("GetDBInfo: %+v %v, want the header's name", info, err)
	}
	_, err = users.GetThread(thread.NewTokenContext(alice.ctx, alice.tok), "from-request")
	wantCode(t, "GetThread of the request's name under a header", err, codes.NotFound, "Thread not found")

	// A plain net thread takes the header's name too.
	plain := thread.NewIDV1(thread.Raw, 32)
	if _, err := alice.nc.CreateThread(named(alice, "plain"), plain, core.WithNewThreadToken(alice.tok)); err != nil {
		t.Fatalf("CreateThread with the header: %v", err)
	}
	if got := found(alice, "plain"); got != plain {
		t.Fatalf("GetThread(plain) = %s, want %s", got, plain)
	}

	// Taken names, in any case and from either source, are refused before anything is
	// made; the message names the name and the thread that has it.
	before := len(d.grpc.Guard.Owners.List(""))
	for _, try := range []struct {
		what string
		make func() (thread.ID, error)
	}{
		{"NewDB, header in another case", func() (thread.ID, error) { return newDB(named(alice, "FOO"), alice) }},
		{"NewDB, request name", func() (thread.ID, error) { return newDB(alice.ctx, alice, db.WithNewManagedName("foo")) }},
		{"NewDB, a plain thread's name", func() (thread.ID, error) { return newDB(named(alice, "Plain"), alice) }},
		{"CreateThread, a database's name", func() (thread.ID, error) {
			id := thread.NewIDV1(thread.Raw, 32)
			_, err := alice.nc.CreateThread(named(alice, "fOO"), id, core.WithNewThreadToken(alice.tok))
			return id, err
		}},
	} {
		id, err := try.make()
		st := status.Convert(err)
		if st.Code() != codes.AlreadyExists || !strings.Contains(st.Message(), "already exists (") || !strings.Contains(strings.ToLower(st.Message()), `named "`) {
			t.Fatalf("%s: %v, want AlreadyExists naming the taken name", try.what, err)
		}
		if has, _ := d.node.HasThread(t.Context(), id); has {
			t.Fatalf("%s: the refused thread was made", try.what)
		}
	}
	if after := len(d.grpc.Guard.Owners.List("")); after != before {
		t.Fatalf("refused creates left owner records: %d, want %d", after, before)
	}

	// Names are per identity: Bob may have his own foo, and sees only his.
	bobs, err := newDB(named(bob, "foo"), bob)
	if err != nil {
		t.Fatalf("NewDB (bob's foo): %v", err)
	}
	if got := found(bob, "foo"); got != bobs {
		t.Fatalf("Bob's GetThread(foo) = %s, want his own %s", got, bobs)
	}
	if got := found(alice, "foo"); got != foo {
		t.Fatalf("Alice's GetThread(foo) = %s after Bob's, want hers", got)
	}

	// A header name breaking the Hub's rule gets the Hub's words.
	_, err = newDB(named(alice, "not a name"), alice)
	wantCode(t, "NewDB with a malformed header name", err, codes.InvalidArgument, "name may only contain alphanumeric characters or non-consecutive hyphens, and cannot begin or end with a hyphen")

	// Two threads that already share a name (written by an older hubctl) keep working by
	// ID and are both listed; a new thread still may not take the name.
	dup, err := newDB(named(alice, "dup-one"), alice)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := d.grpc.Guard.Owners.Get(dup)
	rec.Name = "foo"
	if err := d.grpc.Guard.Owners.Put(rec); err != nil {
		t.Fatal(err)
	}
	list, err := users.ListThreads(thread.NewTokenContext(alice.ctx, alice.tok))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, th := range list.List {
		if th.Name == "foo" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("ListThreads shows %d threads named foo, want both", n)
	}
	if err := alice.c.NewCollection(alice.ctx, dup, db.CollectionConfig{Name: "notes", Schema: jsonschema.Reflect(&note{})}, db.WithManagedToken(alice.tok)); err != nil {
		t.Fatalf("NewCollection by ID on a duplicate: %v", err)
	}
	if _, err := newDB(named(alice, "foo"), alice); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("NewDB of a name two threads share: %v, want AlreadyExists", err)
	}
}

// Without key checks and without a token (hubctl's embedded default on a fresh machine),
// the threads nobody owns have unique names too, while databases made without a name
// ("unnamed" to go-threads) are never refused.
func TestThreadNamesWithoutATokenAreUnique(t *testing.T) {
	c := noAuthClient(t, t.TempDir())
	ctx := t.Context()
	if err := c.NewDB(ctx, thread.NewIDV1(thread.Raw, 32), db.WithNewManagedName("demo")); err != nil {
		t.Fatal(err)
	}
	err := c.NewDB(ctx, thread.NewIDV1(thread.Raw, 32), db.WithNewManagedName("Demo"))
	if st := status.Convert(err); st.Code() != codes.AlreadyExists || !strings.HasPrefix(st.Message(), `a thread named "Demo" already exists (`) {
		t.Fatalf("a second demo without a token: %v, want AlreadyExists", err)
	}
	for range 2 {
		if err := c.NewDB(ctx, thread.NewIDV1(thread.Raw, 32)); err != nil {
			t.Fatalf("NewDB without a name: %v", err)
		}
	}
	dbs, err := c.ListDBs(ctx)
	if err != nil || len(dbs) != 3 {
		t.Fatalf("ListDBs: %d %v, want demo and the two unnamed", len(dbs), err)
	}
}
