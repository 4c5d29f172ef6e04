package hub

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/server"
)

// keysDaemon runs hubctl daemon with key checks and token lifetime ttl on 127.0.0.1, with
// two secure user keys.
func keysDaemon(t *testing.T, ttl time.Duration) (Target, hubauth.Key, hubauth.Key) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	reg := hubauth.OpenRegistry(dir)
	var keys [2]hubauth.Key
	for i := range keys {
		k, err := reg.Create(hubauth.CreateOptions{Type: hubauth.UserKey, Secure: true})
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := server.StartDaemon(ctx, server.DaemonOptions{DataDir: dir, Keys: kr, TokenTTL: ttl,
		APIAddr: "127.0.0.1:0", WebAddr: "127.0.0.1:0", HostAddr: "/ip4/127.0.0.1/tcp/0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = d.Shutdown(ctx)
	})
	tgt, err := ParseTarget(d.State().API, false, "", false)
	if err != nil {
		t.Fatal(err)
	}
	return tgt, keys[0], keys[1]
}

// untilExpired waits until tok's exp has passed (tokens of a daemon with --token-ttl).
func untilExpired(t *testing.T, tok string) {
	t.Helper()
	cl, err := InspectToken(tok)
	if err != nil || cl.Expires.IsZero() {
		t.Fatalf("token %v (%v) has no expiry", cl, err)
	}
	time.Sleep(time.Until(cl.Expires))
}

// hubctl's client fetches a new token when its token has expired, whether it had fetched
// it itself earlier (a long-running client) or found it in the cache (the next command).
func TestClientRefetchesExpiredTokens(t *testing.T) {
	tgt, k, _ := keysDaemon(t, time.Second)
	ctx := context.Background()
	cache := &TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}
	ident := testIdentity(t)
	auth := func(k hubauth.Key) Auth { return Auth{Key: k.Key, Secret: k.Secret, SigTTL: time.Hour} }
	opts := Options{Target: tgt, Auth: auth(k), Tokens: cache, Identity: ident}

	c := newClient(t, opts)
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, "demo"); err != nil {
		t.Fatal(err)
	}
	first := string(c.token)
	untilExpired(t, first)
	if dbs, err := c.ListDBs(ctx, false); err != nil || len(dbs) != 1 {
		t.Fatalf("ListDBs after the client's token expired: %v %v", dbs, err)
	}
	if string(c.token) == first {
		t.Fatal("the expired token is still in use")
	}

	// The next command finds the new token in the cache, expired by now.
	untilExpired(t, string(c.token))
	c2 := newClient(t, opts)
	if dbs, err := c2.ListDBs(ctx, false); err != nil || len(dbs) != 1 {
		t.Fatalf("ListDBs with an expired cached token: %v %v", dbs, err)
	}

}

// The cache keeps one token per API key, so that switching keys (--profile) neither
// sends one key's token with the other nor makes each switch fetch anew.
func TestTokenCachePerKey(t *testing.T) {
	tgt, k, l := keysDaemon(t, 0)
	ctx := context.Background()
	cache := &TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}
	ident := testIdentity(t)
	auth := func(k hubauth.Key) Auth { return Auth{Key: k.Key, Secret: k.Secret, SigTTL: time.Hour} }
	opts := Options{Target: tgt, Auth: auth(k), Tokens: cache, Identity: ident}
	if err := newClient(t, opts).NewDB(ctx, thread.NewIDV1(thread.Raw, 32), "demo"); err != nil {
		t.Fatal(err)
	}
	lOpts := opts
	lOpts.Auth = auth(l)
	if dbs, err := newClient(t, lOpts).ListDBs(ctx, false); err != nil || len(dbs) != 1 {
		t.Fatalf("ListDBs with key L: %v %v", dbs, err)
	}
	for _, tc := range []struct {
		opts Options
		key  hubauth.Key
	}{{opts, k}, {lOpts, l}} {
		info, err := newClient(t, tc.opts).Token(ctx, false)
		if err != nil || !info.Cached {
			t.Fatalf("cached token for key %s: %+v %v", tc.key.Key, info, err)
		}
		if aud := claimsAud(t, info.Token); aud != tc.key.Key {
			t.Fatalf("the cache gave key %s a token of key %q", tc.key.Key, aud)
		}
	}
}

func claimsAud(t *testing.T, tok string) string {
	t.Helper()
	var sc jwt.StandardClaims
	if _, _, err := new(jwt.Parser).ParseUnverified(tok, &sc); err != nil {
		t.Fatal(err)
	}
	return sc.Audience
}

// A Listen whose token expires (the server ends the stream then) goes on with a new
// token, each time.
func TestListenOutlivesItsToken(t *testing.T) {
	tgt, k, _ := keysDaemon(t, time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := newClient(t, Options{Target: tgt, Auth: Auth{Key: k.Key, Secret: k.Secret, SigTTL: time.Hour},
		Tokens: &TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}, Identity: testIdentity(t)})
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, "live"); err != nil {
		t.Fatal(err)
	}

	ready := make(chan struct{}, 10) // a stream the server accepted
	done := make(chan error, 1)
	go func() {
		done <- c.Listen(ctx, id, ListenFilter{}, func() { ready <- struct{}{} }, func(Event) bool { return true })
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("Listen ended while waiting for the %s: %v", what, err)
		case <-time.After(time.Minute):
			t.Fatalf("no %s within a minute", what)
		}
	}
	wait("first stream")
	// Each token expires within two seconds; the server ends the stream, and Listen opens
	// another, which the server accepts only with a new token: not just once.
	wait("second stream")
	wait("third stream")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Listen after Ctrl-C: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Listen did not end within a minute of its context")
	}
}
