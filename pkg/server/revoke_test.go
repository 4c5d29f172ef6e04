package server

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/golang-jwt/jwt"
	"github.com/textileio/go-threads/api/client"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// startKeysDaemon is startDaemon with key checks and a token lifetime.
func startKeysDaemon(t *testing.T, ttl time.Duration) (*Daemon, *hubauth.Registry) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	reg := hubauth.OpenRegistry(dir)
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := StartDaemon(ctx, loopback(DaemonOptions{DataDir: dir, Keys: kr, TokenTTL: ttl}))
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
	return d, reg
}

// keySession is a Hub user with their own secure user key: the key, go-threads' client,
// a token fetched through the key, the key's context with the token, and a database of
// theirs with a collection "notes".
type keySession struct {
	key hubauth.Key
	c   *client.Client
	tok thread.Token
	ctx context.Context
	db  thread.ID
}

func newKeySession(t *testing.T, d *Daemon, reg *hubauth.Registry) keySession {
	t.Helper()
	key := newKey(t, reg, hubauth.UserKey)
	us := newSession(t, d, key)
	c, tok := us.c, us.tok
	s := keySession{key: key, c: c, tok: tok, ctx: us.ctx, db: thread.NewIDV1(thread.Raw, 32)}
	if err := c.NewDB(s.ctx, s.db, db.WithNewManagedToken(tok)); err != nil {
		t.Fatal(err)
	}
	cfg := db.CollectionConfig{Name: "notes", Schema: jsonschema.Reflect(&note{})}
	if err := c.NewCollection(s.ctx, s.db, cfg, db.WithManagedToken(tok)); err != nil {
		t.Fatal(err)
	}
	return s
}

// streamEnd receives from a stream until it fails, in the background.
func streamEnd(recv func() error) <-chan error {
	end := make(chan error, 1)
	go func() {
		for {
			if err := recv(); err != nil {
				end <- err
				return
			}
		}
	}()
	return end
}

// waitEnd waits (a minute at most) for a stream to end, and returns its error.
func waitEnd(t *testing.T, what string, end <-chan error) error {
	t.Helper()
	select {
	case err := <-end:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s is still open a minute later", what)
		return nil
	}
}

// open starts a Listen and a net Subscribe stream for s's database and waits until the
// server has accepted both (their headers arrive once they are subscribed).
func (s keySession) open(t *testing.T, conn *grpc.ClientConn) (listen, subscribe <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	t.Cleanup(cancel)
	ls, err := pb.NewAPIClient(conn).Listen(ctx, &pb.ListenRequest{DbID: s.db.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := netpb.NewAPIClient(conn).Subscribe(ctx, &netpb.SubscribeRequest{ThreadIDs: [][]byte{s.db.Bytes()}})
	if err != nil {
		t.Fatal(err)
	}
	for what, header := range map[string]func() error{
		"Listen":    func() error { _, err := ls.Header(); return err },
		"Subscribe": func() error { _, err := ss.Header(); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- header() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s was not accepted within a minute", what)
		}
	}
	return streamEnd(func() error { _, err := ls.Recv(); return err }),
		streamEnd(func() error { _, err := ss.Recv(); return err })
}

// Revoking a key ends the Listen and Subscribe streams opened with it, with the Hub's
// answer for a revoked key; another key's streams go on delivering events.
func TestRevokingAKeyEndsItsStreams(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	conn := mustDial(t, d.State().API)
	k, l := newKeySession(t, d, reg), newKeySession(t, d, reg)
	kListen, kSub := k.open(t, conn)
	lListen, lSub := l.open(t, conn)

	if _, err := reg.Revoke(k.key.Key); err != nil {
		t.Fatal(err)
	}
	// The keyring sees the revocation at its next poll (250 ms), and the streams end then.
	wantCode(t, "Listen after its key was revoked", waitEnd(t, "a Listen stream of a revoked key", kListen), codes.NotFound, "API key not found or is invalid")
	wantCode(t, "Subscribe after its key was revoked", waitEnd(t, "a Subscribe stream of a revoked key", kSub), codes.NotFound, "API key not found or is invalid")

	// L's streams were not ended with K's: an event still reaches them.
	select {
	case err := <-lListen:
		t.Fatalf("another key's Listen ended: %v", err)
	case err := <-lSub:
		t.Fatalf("another key's Subscribe ended: %v", err)
	default:
	}
	ls, err := pb.NewAPIClient(conn).Listen(l.ctx, &pb.ListenRequest{DbID: l.db.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Header(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.c.Create(l.ctx, l.db, "notes", client.Instances{&note{Text: "still here"}}, db.WithTxnToken(l.tok)); err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Recv(); err != nil {
		t.Fatalf("a Listen with a valid key after another was revoked: %v", err)
	}
}

// A token is bound to the key it was fetched through: another valid key cannot use it,
// before or after the first is revoked, and the first stops working with its key.
func TestTokenWorksOnlyWithItsKey(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	k, l := newKeySession(t, d, reg), newKeySession(t, d, reg)
	account, err := reg.Create(hubauth.CreateOptions{Type: hubauth.AccountKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	const otherKey = "invalid thread token: it was issued through another key: get a new one with GetToken using this key"

	if _, err := k.c.ListDBs(k.ctx, db.WithManagedToken(k.tok)); err != nil {
		t.Fatalf("K's token with K: %v", err)
	}
	_, err = l.c.ListDBs(hubContext(t, l.key), db.WithManagedToken(k.tok))
	wantCode(t, "K's token with L", err, codes.Unauthenticated, otherKey)
	_, err = l.c.ListDBs(hubContext(t, account), db.WithManagedToken(k.tok))
	wantCode(t, "K's token with an account key", err, codes.Unauthenticated, otherKey)
	lc := thread.NewTokenContext(hubContext(t, l.key), k.tok)
	_, err = l.c.Find(lc, k.db, "notes", &db.Query{}, &note{}, db.WithTxnToken(k.tok))
	wantCode(t, "Find in K's database with K's token and L", err, codes.Unauthenticated, otherKey)
	// A stream too.
	ls, err := pb.NewAPIClient(mustDial(t, d.State().API)).Listen(lc, &pb.ListenRequest{DbID: k.db.Bytes()})
	if err == nil {
		_, err = ls.Recv()
	}
	wantCode(t, "Listen with K's token and L", err, codes.Unauthenticated, otherKey)

	revoke(t, d, reg, k.key)
	_, err = l.c.ListDBs(hubContext(t, l.key), db.WithManagedToken(k.tok))
	wantCode(t, "K's token with L after K was revoked", err, codes.Unauthenticated, otherKey)
	_, err = k.c.ListDBs(k.ctx, db.WithManagedToken(k.tok))
	wantCode(t, "K's token with K after K was revoked", err, codes.NotFound, "API key not found or is invalid")

	// A token without a key (as go-threads issues them, or an older hubctl did) is refused.
	unbound, err := thread.NewToken(d.node.HostKey(), newIdentity(t).GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.c.ListDBs(hubContext(t, l.key), db.WithManagedToken(unbound))
	wantCode(t, "a token bound to no key", err, codes.Unauthenticated,
		"invalid thread token: it is bound to no key (an older server or --auth none issued it): get a new one with GetToken")
}

// revoke revokes key and waits (a minute at most) until d's keyring has loaded the change.
func revoke(t *testing.T, d *Daemon, reg *hubauth.Registry, key hubauth.Key) {
	t.Helper()
	changed := d.grpc.Guard.Checker.Keys.(hubauth.KeyChanges).Changes()
	if _, err := reg.Revoke(key.Key); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(time.Minute):
		t.Fatal("the daemon's keyring did not load the revocation within a minute")
	}
}

// tokenClaims reads a token's claims without verifying it.
func tokenClaims(t *testing.T, tok thread.Token) jwt.StandardClaims {
	t.Helper()
	var sc jwt.StandardClaims
	if _, _, err := new(jwt.Parser).ParseUnverified(string(tok), &sc); err != nil {
		t.Fatal(err)
	}
	return sc
}

// With --token-ttl, tokens carry an exp; once it has passed the token is refused, and
// streams opened with it end then. Without, tokens never expire, as before.
func TestTokenLifetime(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	k := newKeySession(t, d, reg)
	if sc := tokenClaims(t, k.tok); sc.ExpiresAt != 0 || sc.Audience != k.key.Key {
		t.Fatalf("default token claims %+v: want no exp, aud the key", sc)
	}

	const ttl = 2 * time.Second
	d, reg = startKeysDaemon(t, ttl)
	k = newKeySession(t, d, reg)
	sc := tokenClaims(t, k.tok)
	exp := time.Unix(sc.ExpiresAt, 0)
	if sc.Audience != k.key.Key || exp.Before(time.Unix(sc.IssuedAt, 0).Add(ttl)) {
		t.Fatalf("token claims %+v: want aud the key and exp %s after iat", sc, ttl)
	}
	conn := mustDial(t, d.State().API)
	listen, sub := k.open(t, conn)
	expired := "invalid thread token: it has expired: get a new one with GetToken"
	wantCode(t, "Listen when its token expires", waitEnd(t, "a Listen stream whose token expired", listen), codes.Unauthenticated, expired)
	wantCode(t, "Subscribe when its token expires", waitEnd(t, "a Subscribe stream whose token expired", sub), codes.Unauthenticated, expired)
	if now := time.Now(); now.Before(exp) {
		t.Fatalf("the streams ended at %s, before the token's exp %s", now, exp)
	}
	_, err := k.c.ListDBs(k.ctx, db.WithManagedToken(k.tok))
	wantCode(t, "ListDBs with an expired token", err, codes.Unauthenticated, expired)

	// A new token works.
	tok, err := k.c.GetToken(hubContext(t, k.key), newIdentity(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.c.ListDBs(hubContext(t, k.key), db.WithManagedToken(tok)); err != nil {
		t.Fatalf("a new token: %v", err)
	}
}
