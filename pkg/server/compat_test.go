package server

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	netclient "github.com/textileio/go-threads/net/api/client"
	"github.com/textileio/textile/v2/api/common"
	usersclient "github.com/textileio/textile/v2/api/usersd/client"
	userspb "github.com/textileio/textile/v2/api/usersd/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// startDaemon runs a daemon on 127.0.0.1 with ports of 0 and an API key registry in its
// data directory; it is shut down when the test ends.
func startDaemon(t *testing.T, mode hubauth.Mode) (*Daemon, *hubauth.Registry) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	return startDaemonOn(t, dir, mode)
}

// startDaemonOn is startDaemon on a data directory a test may have filled first.
func startDaemonOn(t *testing.T, dir string, mode hubauth.Mode) (*Daemon, *hubauth.Registry) {
	t.Helper()
	reg := hubauth.OpenRegistry(dir)
	opts := loopback(DaemonOptions{DataDir: dir, Mode: mode})
	if mode == hubauth.AuthKeys {
		kr, err := reg.Watch(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		opts.Keys = kr
	}
	return serveDaemon(t, opts), reg
}

// serveDaemon starts a daemon with opts, stopped when the test ends.
func serveDaemon(t *testing.T, opts DaemonOptions) *Daemon {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := StartDaemon(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return d
}

// loopback puts every listener of o on 127.0.0.1 with ports of 0.
func loopback(o DaemonOptions) DaemonOptions {
	o.APIAddr, o.WebAddr, o.HostAddr = "127.0.0.1:0", "127.0.0.1:0", "/ip4/127.0.0.1/tcp/0"
	return o
}

// hubContext is what a Hub user's code builds: the key and a signature dated 30 minutes
// ahead, sent by common.Credentials.
func hubContext(t *testing.T, k hubauth.Key) context.Context {
	t.Helper()
	ctx := common.NewAPIKeyContext(t.Context(), k.Key)
	ctx, err := common.CreateAPISigContext(ctx, time.Now().Add(30*time.Minute), k.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// noAuthClient starts a daemon with --auth none on dir (which a test may have filled
// first) and returns go-threads' client for it, closed when the test ends.
func noAuthClient(t *testing.T, dir string) *client.Client {
	t.Helper()
	d, _ := startDaemonOn(t, dir, hubauth.AuthNone)
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// userSession is a Hub user of d: a secure user key of reg, go-threads' client (closed
// when the test ends), and a user token, also in the returned context (go-threads'
// client drops the token option of some calls, NewCollection among them, as Hub code
// knows).
func userSession(t *testing.T, d *Daemon, reg *hubauth.Registry) (*client.Client, context.Context, thread.Token) {
	t.Helper()
	s := newSession(t, d, newKey(t, reg, hubauth.UserKey))
	return s.c, s.ctx, s.tok
}

// session is one identity of a key on d: go-threads' clients and a context carrying the
// key, its signature and the identity's token.
type session struct {
	c        *client.Client
	nc       *netclient.Client
	ctx      context.Context
	tok      thread.Token
	identity string
}

func newSession(t *testing.T, d *Daemon, key hubauth.Key) session {
	t.Helper()
	ctx := hubContext(t, key)
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	nc, err := netclient.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	ident := newIdentity(t)
	tok, err := c.GetToken(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	return session{c: c, nc: nc, ctx: thread.NewTokenContext(ctx, tok), tok: tok, identity: ident.GetPublic().String()}
}

func newKey(t *testing.T, reg *hubauth.Registry, typ hubauth.KeyType) hubauth.Key {
	t.Helper()
	k, err := reg.Create(hubauth.CreateOptions{Type: typ, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func hubDial() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(common.Credentials{})}
}

func newIdentity(t *testing.T) thread.Identity {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	return thread.NewLibp2pIdentity(sk)
}

type note struct {
	ID   string `json:"_id"`
	Text string `json:"text"`
}

func wantCode(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code || (msg != "" && st.Message() != msg) {
		t.Fatalf("%s: got %v %q, want %v %q", what, st.Code(), st.Message(), code, msg)
	}
}

// Code written for the hosted Hub works against the daemon unmodified: go-threads'
// api/client and net client and textile's users client, with common.Credentials, key and
// signature contexts and user tokens, and each user sees only their own databases.
func TestHubClientsWorkUnmodified(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	key, err := reg.Create(hubauth.CreateOptions{Type: hubauth.UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	addr := d.State().API
	ctx := hubContext(t, key)

	c, err := client.NewClient(addr, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	users := usersClient(t, addr)
	nc, err := netclient.NewClient(addr, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	alice, bob := newIdentity(t), newIdentity(t)
	aliceTok, err := c.GetToken(ctx, alice)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	bobTok, err := c.GetToken(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}

	// Alice's database, collection and instances.
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, db.WithNewManagedName("alice-db"), db.WithNewManagedToken(aliceTok)); err != nil {
		t.Fatalf("NewDB: %v", err)
	}
	schema := jsonschema.Reflect(&note{})
	// go-threads' client takes the token from the context for some calls and from options
	// for others (which then override the context): Hub code sets both.
	aliceCtx := thread.NewTokenContext(ctx, aliceTok)
	if err := c.NewCollection(aliceCtx, id, db.CollectionConfig{Name: "notes", Schema: schema}, db.WithManagedToken(aliceTok)); err != nil {
		t.Fatalf("NewCollection: %v", err)
	}
	ids, err := c.Create(ctx, id, "notes", client.Instances{&note{Text: "one"}, &note{Text: "two"}}, db.WithTxnToken(aliceTok))
	if err != nil || len(ids) != 2 {
		t.Fatalf("Create: %v %v", ids, err)
	}
	found, err := c.Find(ctx, id, "notes", db.Where("text").Eq("two"), &note{}, db.WithTxnToken(aliceTok))
	if err != nil || len(found.([]*note)) != 1 {
		t.Fatalf("Find: %v %v", found, err)
	}
	dbs, err := c.ListDBs(ctx, db.WithManagedToken(aliceTok))
	if err != nil || len(dbs) != 1 || dbs[id].Name != "alice-db" {
		t.Fatalf("ListDBs (alice): %v %v", dbs, err)
	}

	// The users API, as textile's client calls it with a key set.
	list, err := users.ListThreads(aliceCtx)
	if err != nil || len(list.List) != 1 || list.List[0].Name != "alice-db" || !list.List[0].IsDb {
		t.Fatalf("ListThreads (alice): %v %v", list, err)
	}
	got, err := users.GetThread(aliceCtx, "alice-db")
	if err != nil || string(got.Id) != string(id.Bytes()) {
		t.Fatalf("GetThread: %v %v", got, err)
	}
	_, err = users.GetThread(aliceCtx, "nope")
	wantCode(t, "GetThread of a missing name", err, codes.NotFound, "Thread not found")
	_, err = userspb.NewAPIServiceClient(mustDial(t, addr)).GetUsage(aliceCtx, &userspb.GetUsageRequest{})
	wantCode(t, "GetUsage (a Hub without billing)", err, codes.Unknown, "billing is not enabled")
	_, err = users.ListThreads(ctx)
	wantCode(t, "ListThreads without a token", err, codes.Unauthenticated, "Token required")

	// Bob, with the same key, does not see Alice's database, and every call on it answers
	// as for a database that does not exist.
	bobCtx := thread.NewTokenContext(ctx, bobTok)
	dbs, err = c.ListDBs(ctx, db.WithManagedToken(bobTok))
	if err != nil || len(dbs) != 0 {
		t.Fatalf("ListDBs (bob): %v %v", dbs, err)
	}
	if list, err := users.ListThreads(bobCtx); err != nil || len(list.List) != 0 {
		t.Fatalf("ListThreads (bob): %v %v", list, err)
	}
	_, err = c.GetDBInfo(ctx, id, db.WithManagedToken(bobTok))
	wantCode(t, "GetDBInfo (bob)", err, codes.NotFound, "db not found")
	_, err = c.Find(ctx, id, "notes", &db.Query{}, &note{}, db.WithTxnToken(bobTok))
	wantCode(t, "Find (bob)", err, codes.NotFound, "db not found")
	_, err = c.Create(ctx, id, "notes", client.Instances{&note{Text: "bob was here"}}, db.WithTxnToken(bobTok))
	wantCode(t, "Create (bob)", err, codes.NotFound, "db not found")
	err = c.DeleteDB(ctx, id, db.WithManagedToken(bobTok))
	wantCode(t, "DeleteDB (bob)", err, codes.NotFound, "db not found")
	_, err = nc.GetThread(ctx, id)
	wantCode(t, "net GetThread without a token", err, codes.Unauthenticated, "Token required")
	_, err = nc.GetThread(bobCtx, id)
	wantCode(t, "net GetThread (bob)", err, codes.NotFound, "thread not found")
	events, err := c.Listen(ctx, id, nil, db.WithTxnToken(bobTok))
	if err != nil {
		t.Fatal(err)
	}
	ev := <-events
	wantCode(t, "Listen (bob)", ev.Err, codes.NotFound, "db not found")
	// Bob cannot take Alice's database over by creating it again either.
	err = c.NewDB(ctx, id, db.WithNewManagedToken(bobTok))
	if err == nil {
		t.Fatal("NewDB with Alice's ID succeeded for Bob")
	}
	if !d.grpc.Guard.Owners.Owns(alice.GetPublic().String(), id) {
		t.Fatal("Alice lost her database's ownership")
	}

	// A token the daemon did not issue is refused, whatever subject it claims.
	forgerKey, _, _ := crypto.GenerateEd25519Key(nil)
	forged, err := thread.NewToken(forgerKey, alice.GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListDBs(ctx, db.WithManagedToken(forged))
	wantCode(t, "ListDBs with a forged token", err, codes.Unauthenticated, "invalid thread token")

	// Alice's data is intact; she may delete her database, and its owner record goes.
	found, err = c.Find(ctx, id, "notes", &db.Query{}, &note{}, db.WithTxnToken(aliceTok))
	if err != nil || len(found.([]*note)) != 2 {
		t.Fatalf("Find after Bob's attempts: %v %v", found, err)
	}
	if err := c.DeleteDB(ctx, id, db.WithManagedToken(aliceTok)); err != nil {
		t.Fatalf("DeleteDB (alice): %v", err)
	}
	if _, ok := d.grpc.Guard.Owners.Get(id); ok {
		t.Fatal("the owner record outlived the database")
	}

	// Health needs no key: load balancers carry none.
	res, err := healthpb.NewHealthClient(mustDial(t, addr)).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", res, err)
	}
}

// usersClient is textile's own users API client (api/usersd/client) for the server at
// addr, closed when the test ends.
func usersClient(t *testing.T, addr string) *usersclient.Client {
	t.Helper()
	c, err := usersclient.NewClient(addr, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustDial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.Dial(addr, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Owner records survive a restart, and a graceful stop ends open Listen streams instead
// of waiting for them.
func TestOwnershipSurvivesRestartAndShutdownEndsStreams(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	reg := hubauth.OpenRegistry(dir)
	key, err := reg.Create(hubauth.CreateOptions{Type: hubauth.UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	opts := loopback(DaemonOptions{DataDir: dir, Keys: kr})
	d, err := StartDaemon(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := hubContext(t, key)
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	alice := newIdentity(t)
	tok, err := c.GetToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, db.WithNewManagedName("kept"), db.WithNewManagedToken(tok)); err != nil {
		t.Fatal(err)
	}
	events, err := c.Listen(ctx, id, nil, db.WithTxnToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Shutdown(stopCtx); err != nil {
		t.Fatalf("shutdown with a Listen stream open: %v", err)
	}
	if stopCtx.Err() != nil {
		t.Fatal("the graceful stop waited for the Listen stream until its deadline")
	}
	for range events { // the stream ends
	}
	c.Close()
	if _, ok := Running(dir); ok {
		t.Fatal("state file left after a clean stop")
	}

	d, err = StartDaemon(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	c, err = client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err = c.GetToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	dbs, err := c.ListDBs(ctx, db.WithManagedToken(tok))
	if err != nil || len(dbs) != 1 || dbs[id].Name != "kept" {
		t.Fatalf("after restart: %v %v", dbs, err)
	}
	bobTok, err := c.GetToken(ctx, newIdentity(t))
	if err != nil {
		t.Fatal(err)
	}
	if dbs, err := c.ListDBs(ctx, db.WithManagedToken(bobTok)); err != nil || len(dbs) != 0 {
		t.Fatalf("a new identity sees %v (%v) after restart", dbs, err)
	}
}

// A call that does not end by itself (a write transaction left open) does not hold a stop
// for ever: when the stop's deadline passes, it is cut off and the stores still close.
func TestShutdownDeadlineCutsOffOpenCalls(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d, err := StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(t.Context(), id, db.WithNewManagedCollections(db.CollectionConfig{Name: "notes", Schema: jsonschema.Reflect(&note{})})); err != nil {
		t.Fatal(err)
	}
	txn, err := c.WriteTransaction(t.Context(), id, "notes")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Start(); err != nil {
		t.Fatal(err)
	}
	// An answer inside the transaction: the server has it open (Start alone only
	// queues the client's first message).
	if _, err := txn.Has("x"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("forced shutdown: %v", err)
	}
	if ctx.Err() == nil {
		t.Fatal("the stop did not wait for the open transaction: the test proves nothing")
	}
	// The node is closed: the directory can be opened again.
	d, err = StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone}))
	if err != nil {
		t.Fatalf("reopen after a forced stop: %v", err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
