package server

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/alecthomas/jsonschema"
	"github.com/libp2p/go-libp2p-core/crypto"
	libp2ppeer "github.com/libp2p/go-libp2p-core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/api/client"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	netclient "github.com/textileio/go-threads/net/api/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// The attack of issue 13 item 3, with the official clients against a real daemon: once a
// replicator's operator has read the service key of Alice's database (net GetThread with
// an account key), Bob, with a user key, tries to take it with every call that creates or
// joins a thread. Each is refused with the answer a malformed ID gets, Alice keeps her
// database and its owner record, and Bob can neither read nor delete it.
func TestTakeoverOfAnotherUsersDatabaseIsRefused(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	userKey, err := reg.Create(hubauth.CreateOptions{Type: hubauth.UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	accountKey, err := reg.Create(hubauth.CreateOptions{Type: hubauth.AccountKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	st := d.State()
	ctx := hubContext(t, userKey)
	opCtx := hubContext(t, accountKey)
	c, err := client.NewClient(st.API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nc, err := netclient.NewClient(st.API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	alice, bob := newIdentity(t), newIdentity(t)
	aliceTok, err := c.GetToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	bobTok, err := c.GetToken(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	bobCtx := thread.NewTokenContext(ctx, bobTok)

	// Alice's database, and the keys the operator reads, as a replicator's operator can.
	// Each has a name of its own: names are unique per identity.
	aliceDB := func(t *testing.T) (thread.ID, thread.Info) {
		t.Helper()
		id := thread.NewIDV1(thread.Raw, 32)
		s := id.String()
		if err := c.NewDB(ctx, id, db.WithNewManagedName("alice-db-"+s[len(s)-8:]), db.WithNewManagedToken(aliceTok),
			db.WithNewManagedCollections(db.CollectionConfig{Name: "notes", Schema: jsonschema.Reflect(&note{})})); err != nil {
			t.Fatalf("NewDB (alice): %v", err)
		}
		if ids, err := c.Create(ctx, id, "notes", client.Instances{&note{Text: "one"}, &note{Text: "two"}}, db.WithTxnToken(aliceTok)); err != nil || len(ids) != 2 {
			t.Fatalf("Create (alice): %v %v", ids, err)
		}
		info, err := nc.GetThread(opCtx, id)
		if err != nil {
			t.Fatalf("net GetThread (operator): %v", err)
		}
		if !info.Key.Defined() || !info.Key.CanRead() {
			t.Fatalf("the operator got no full key: %v", info.Key)
		}
		return id, info
	}

	// The answer for an ID nobody can use: the reference every refusal must equal.
	malformed := thread.ID(append([]byte{0x02}, thread.NewIDV1(thread.Raw, 32).Bytes()[1:]...))
	_, ref := nc.CreateThread(bobCtx, malformed, core.WithNewThreadToken(bobTok))
	if ref == nil {
		t.Fatal("CreateThread of a malformed ID succeeded")
	}
	if status.Code(ref) != codes.InvalidArgument {
		t.Fatalf("malformed ID: %v, want InvalidArgument", ref)
	}
	same := func(t *testing.T, what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: Bob's call succeeded", what)
		}
		if got, want := status.Convert(err), status.Convert(ref); got.Code() != want.Code() || got.Message() != want.Message() {
			t.Fatalf("%s: got %v %q, want the answer for a malformed ID, %v %q", what, got.Code(), got.Message(), want.Code(), want.Message())
		}
	}
	same(t, "NewDB of a malformed ID", c.NewDB(ctx, malformed, db.WithNewManagedToken(bobTok)))
	_, err = nc.AddThread(bobCtx, ma.StringCast("/ip4/127.0.0.1/tcp/1/p2p/"+st.PeerID), core.WithNewThreadToken(bobTok))
	same(t, "AddThread of an address without a thread", err)
	// A join from the daemon itself of a thread it does not hold answers the same, so such
	// joins do not tell which IDs are in use (go-threads: "cannot retrieve thread from self").
	free := thread.NewIDV1(thread.Raw, 32)
	_, err = nc.AddThread(bobCtx, selfAddr(t, st, free), core.WithThreadKey(thread.NewRandomKey()), core.WithNewThreadToken(bobTok))
	same(t, "AddThread from the daemon of a thread it does not hold", err)
	same(t, "NewDBFromAddr from the daemon of a thread it does not hold",
		c.NewDBFromAddr(ctx, selfAddr(t, st, free), thread.NewRandomKey(), db.WithNewManagedToken(bobTok)))

	// After each attempt, Alice still owns, lists and reads her database, and Bob can
	// neither see, read nor delete it.
	aliceIntact := func(t *testing.T, id thread.ID) {
		t.Helper()
		if !d.grpc.Guard.Owners.Owns(alice.GetPublic().String(), id) {
			t.Fatal("Alice no longer owns her database")
		}
		dbs, err := c.ListDBs(ctx, db.WithManagedToken(aliceTok))
		if _, ok := dbs[id]; err != nil || !ok {
			t.Fatalf("Alice's list lacks her database: %v %v", dbs, err)
		}
		found, err := c.Find(ctx, id, "notes", &db.Query{}, &note{}, db.WithTxnToken(aliceTok))
		if err != nil || len(found.([]*note)) != 2 {
			t.Fatalf("Alice finds %v %v", found, err)
		}
		dbs, err = c.ListDBs(ctx, db.WithManagedToken(bobTok))
		if err != nil || len(dbs) != 0 {
			t.Fatalf("Bob lists %v %v", dbs, err)
		}
		_, err = c.Find(ctx, id, "notes", &db.Query{}, &note{}, db.WithTxnToken(bobTok))
		wantCode(t, "Find (bob)", err, codes.NotFound, "db not found")
		err = c.DeleteDB(ctx, id, db.WithManagedToken(bobTok))
		wantCode(t, "DeleteDB (bob)", err, codes.NotFound, "db not found")
		err = nc.DeleteThread(bobCtx, id, core.WithThreadToken(bobTok))
		wantCode(t, "net DeleteThread (bob)", err, codes.NotFound, "thread not found")
		if found, err := c.Find(ctx, id, "notes", &db.Query{}, &note{}, db.WithTxnToken(aliceTok)); err != nil || len(found.([]*note)) != 2 {
			t.Fatalf("after Bob's deletes, Alice finds %v %v", found, err)
		}
	}

	attacks := []struct {
		name string
		call func(id thread.ID, info thread.Info, self ma.Multiaddr) error
	}{
		{"net CreateThread with the service key", func(id thread.ID, info thread.Info, self ma.Multiaddr) error {
			_, err := nc.CreateThread(bobCtx, id, core.WithThreadKey(thread.NewServiceKey(info.Key.Service())), core.WithNewThreadToken(bobTok))
			return err
		}},
		{"net CreateThread with the full key", func(id thread.ID, info thread.Info, self ma.Multiaddr) error {
			_, err := nc.CreateThread(bobCtx, id, core.WithThreadKey(info.Key), core.WithNewThreadToken(bobTok))
			return err
		}},
		{"net CreateThread without a key", func(id thread.ID, _ thread.Info, _ ma.Multiaddr) error { // go-threads: "service-key mismatch"
			_, err := nc.CreateThread(bobCtx, id, core.WithNewThreadToken(bobTok))
			return err
		}},
		{"net AddThread from the daemon's own address", func(id thread.ID, info thread.Info, self ma.Multiaddr) error {
			_, err := nc.AddThread(bobCtx, self, core.WithThreadKey(thread.NewServiceKey(info.Key.Service())), core.WithNewThreadToken(bobTok))
			return err
		}},
		{"net AddThread from the daemon's own address with the full key", func(id thread.ID, info thread.Info, self ma.Multiaddr) error {
			_, err := nc.AddThread(bobCtx, self, core.WithThreadKey(info.Key), core.WithNewThreadToken(bobTok))
			return err
		}},
		{"NewDB with Alice's ID", func(id thread.ID, _ thread.Info, _ ma.Multiaddr) error { // go-threads: "db already exists"
			return c.NewDB(ctx, id, db.WithNewManagedToken(bobTok))
		}},
		{"NewDB with Alice's ID and key", func(id thread.ID, info thread.Info, self ma.Multiaddr) error {
			return c.NewDB(ctx, id, db.WithNewManagedKey(info.Key), db.WithNewManagedToken(bobTok))
		}},
		{"NewDBFromAddr from the daemon's own address", func(id thread.ID, info thread.Info, self ma.Multiaddr) error {
			return c.NewDBFromAddr(ctx, self, info.Key, db.WithNewManagedToken(bobTok))
		}},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			id, info := aliceDB(t)
			same(t, a.name, a.call(id, info, selfAddr(t, st, id)))
			aliceIntact(t, id)
		})
	}

	// A join that fails (the peer does not answer) never takes the thread that was already
	// there with it: refused to Bob, and failing for the operator, whose calls pass.
	t.Run("joins from a dead address", func(t *testing.T) {
		id, info := aliceDB(t)
		_, pk, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := libp2ppeer.IDFromPublicKey(pk)
		if err != nil {
			t.Fatal(err)
		}
		dead := ma.StringCast("/ip4/127.0.0.1/tcp/1/p2p/" + pid.String() + "/thread/" + id.String())
		same(t, "NewDBFromAddr from a dead address", c.NewDBFromAddr(ctx, dead, info.Key, db.WithNewManagedToken(bobTok)))
		_, err = nc.AddThread(bobCtx, dead, core.WithThreadKey(info.Key), core.WithNewThreadToken(bobTok))
		same(t, "AddThread from a dead address", err)
		if _, err := nc.AddThread(opCtx, dead, core.WithThreadKey(info.Key)); err == nil {
			t.Fatal("the operator's AddThread from a dead address succeeded")
		}
		if err := c.NewDBFromAddr(opCtx, dead, info.Key); err == nil {
			t.Fatal("the operator's NewDBFromAddr from a dead address succeeded")
		}
		aliceIntact(t, id)

		// The same for a thread that is not a database: Alice's net thread.
		netID := thread.NewIDV1(thread.Raw, 32)
		netInfo, err := nc.CreateThread(thread.NewTokenContext(ctx, aliceTok), netID, core.WithNewThreadToken(aliceTok))
		if err != nil {
			t.Fatalf("CreateThread (alice): %v", err)
		}
		dead = ma.StringCast("/ip4/127.0.0.1/tcp/1/p2p/" + pid.String() + "/thread/" + netID.String())
		_, err = nc.AddThread(bobCtx, dead, core.WithThreadKey(netInfo.Key), core.WithNewThreadToken(bobTok))
		same(t, "AddThread of Alice's net thread from a dead address", err)
		if _, err := nc.AddThread(opCtx, dead, core.WithThreadKey(netInfo.Key)); err == nil {
			t.Fatal("the operator's AddThread from a dead address succeeded")
		}
		if _, err := nc.GetThread(thread.NewTokenContext(ctx, aliceTok), netID, core.WithThreadToken(aliceTok)); err != nil {
			t.Fatalf("Alice's net thread is gone after failed joins of it: %v", err)
		}
		if !d.grpc.Guard.Owners.Owns(alice.GetPublic().String(), netID) {
			t.Fatal("Alice no longer owns her net thread")
		}
	})

	// A thread with no owner record (an operator's, made without a token, as a replicated
	// one is) is no more Bob's to take than Alice's, and gets the same answer.
	opID := thread.NewIDV1(thread.Raw, 32)
	opInfo, err := nc.CreateThread(opCtx, opID)
	if err != nil {
		t.Fatalf("CreateThread (operator): %v", err)
	}
	_, err = nc.CreateThread(bobCtx, opID, core.WithThreadKey(opInfo.Key), core.WithNewThreadToken(bobTok))
	same(t, "CreateThread of a thread without an owner", err)
	err = c.NewDBFromAddr(ctx, selfAddr(t, st, opID), opInfo.Key, db.WithNewManagedToken(bobTok))
	same(t, "NewDBFromAddr of a thread without an owner", err) // hubctl alone: "already keeps thread"
	if _, ok := d.grpc.Guard.Owners.Get(opID); ok {
		t.Fatal("a refused call recorded an owner")
	}
	if _, err := nc.GetThread(opCtx, opID); err != nil {
		t.Fatalf("the operator's thread is gone after Bob's attempts: %v", err)
	}

	// The operator acts on any thread, but acting never makes it theirs.
	operator := newIdentity(t)
	opTok, err := c.GetToken(opCtx, operator)
	if err != nil {
		t.Fatal(err)
	}
	id, info := aliceDB(t)
	if _, err := nc.AddThread(thread.NewTokenContext(opCtx, opTok), selfAddr(t, st, id), core.WithThreadKey(thread.NewServiceKey(info.Key.Service())), core.WithNewThreadToken(opTok)); err != nil {
		t.Fatalf("AddThread (operator with a token): %v", err)
	}
	aliceIntact(t, id)

	// Alice, the owner, gets go-threads' own answer, and may delete her database.
	err = c.NewDB(ctx, id, db.WithNewManagedToken(aliceTok))
	if err == nil || status.Convert(err).Message() != "db already exists" {
		t.Fatalf("NewDB (alice) of her own database: %v, want db already exists", err)
	}
	if err := c.DeleteDB(ctx, id, db.WithManagedToken(aliceTok)); err != nil {
		t.Fatalf("DeleteDB (alice): %v", err)
	}
}

// selfAddr is the daemon's own thread address for id: its libp2p listen address, its
// peer ID and the thread.
func selfAddr(t *testing.T, st State, id thread.ID) ma.Multiaddr {
	t.Helper()
	if len(st.Listen) == 0 {
		t.Fatal("the daemon reports no listen address")
	}
	a := ma.StringCast(st.Listen[0])
	if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
		a = a.Encapsulate(ma.StringCast("/p2p/" + st.PeerID))
	}
	return a.Encapsulate(ma.StringCast("/thread/" + id.String()))
}

// A user's net AddThread of a free thread from a peer that does not answer fails with its
// own error and leaves nothing behind: go-threads stores the thread before it dials, and
// a thread left there would be one the user does not own, refused to them from then on.
func TestFailedAddThreadLeavesNothing(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	key, err := reg.Create(hubauth.CreateOptions{Type: hubauth.UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	st := d.State()
	ctx := hubContext(t, key)
	nc, err := netclient.NewClient(st.API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tok, err := nc.GetToken(ctx, newIdentity(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx = thread.NewTokenContext(ctx, tok)
	id := thread.NewIDV1(thread.Raw, 32)
	// A peer ID nobody listens for, on a port nothing listens on.
	_, pk, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := libp2ppeer.IDFromPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	dead := ma.StringCast("/ip4/127.0.0.1/tcp/1/p2p/" + pid.String() + "/thread/" + id.String())
	for i := range 2 {
		_, err := nc.AddThread(ctx, dead, core.WithThreadKey(thread.NewRandomKey()), core.WithNewThreadToken(tok))
		if err == nil {
			t.Fatal("AddThread from a dead address succeeded")
		}
		if msg := status.Convert(err).Message(); msg == hubauth.UnusableThread {
			t.Fatalf("attempt %d: the failed dial was answered as an unusable ID: the thread was left behind", i+1)
		}
		if has, err := d.node.HasThread(t.Context(), id); err != nil || has {
			t.Fatalf("attempt %d: the daemon holds the thread after a failed add: %v %v", i+1, has, err)
		}
		if _, ok := d.grpc.Guard.Owners.Get(id); ok {
			t.Fatalf("attempt %d: a failed add left an owner record", i+1)
		}
	}
}

// A create that a crash cut off between its owner record and its thread is finished by
// the identity that made it, and by nobody else: before, another identity's create of
// that ID succeeded and took the record over.
func TestInterruptedCreateIsRepairedByItsOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	alice, bob := newIdentity(t), newIdentity(t)
	id := thread.NewIDV1(thread.Raw, 32)
	// What a crash after the record was written, and before the thread, leaves.
	owners, err := hubauth.OpenOwners(filepath.Join(dir, "node", "owners"))
	if err != nil {
		t.Fatal(err)
	}
	if err := owners.Put(hubauth.Owner{ThreadID: id, Identity: alice.GetPublic().String(), Name: "cut-off", DB: true}); err != nil {
		t.Fatal(err)
	}
	reg := hubauth.OpenRegistry(dir)
	key, err := reg.Create(hubauth.CreateOptions{Type: hubauth.UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	d, err := StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Keys: kr}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	ctx := hubContext(t, key)
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	aliceTok, err := c.GetToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	bobTok, err := c.GetToken(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}

	err = c.NewDB(ctx, id, db.WithNewManagedName("bobs"), db.WithNewManagedToken(bobTok))
	wantCode(t, "NewDB (bob) of Alice's interrupted create", err, codes.InvalidArgument, hubauth.UnusableThread)
	nc, err := netclient.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, err = nc.CreateThread(thread.NewTokenContext(ctx, bobTok), id, core.WithNewThreadToken(bobTok))
	wantCode(t, "CreateThread (bob) of Alice's interrupted create", err, codes.InvalidArgument, hubauth.UnusableThread)
	if has, err := d.node.HasThread(t.Context(), id); err != nil || has {
		t.Fatalf("Bob's refused creates made the thread: %v %v", has, err)
	}

	if err := c.NewDB(ctx, id, db.WithNewManagedName("repaired"), db.WithNewManagedToken(aliceTok)); err != nil {
		t.Fatalf("NewDB (alice) repairing her create: %v", err)
	}
	rec, ok := d.grpc.Guard.Owners.Get(id)
	if !ok || rec.Identity != alice.GetPublic().String() || rec.Name != "repaired" {
		t.Fatalf("owner record after the repair: %+v %v", rec, ok)
	}
	dbs, err := c.ListDBs(ctx, db.WithManagedToken(aliceTok))
	if err != nil || len(dbs) != 1 || dbs[id].Name != "repaired" {
		t.Fatalf("Alice lists %v %v", dbs, err)
	}
	if dbs, err := c.ListDBs(ctx, db.WithManagedToken(bobTok)); err != nil || len(dbs) != 0 {
		t.Fatalf("Bob lists %v %v", dbs, err)
	}
}
