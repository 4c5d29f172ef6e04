package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/core/thread"
	jwted25519 "github.com/textileio/go-threads/jwt"
	bucketsclient "github.com/textileio/textile/v2/api/bucketsd/client"
	tbuckets "github.com/textileio/textile/v2/buckets"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/hubauth"
)

// newGatewayBucketEnv is newBucketEnv with the gateway on 127.0.0.1:0 (the buckets
// API's links point at it) and the keyring, whose changes a test can wait for.
func newGatewayBucketEnv(t *testing.T) (*bucketEnv, *hubauth.Keyring, string) {
	t.Helper()
	dir := t.TempDir()
	reg := hubauth.OpenRegistry(dir)
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	d := serveDaemon(t, loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthKeys, Keys: kr, GatewayAddr: "127.0.0.1:0"}))
	e := &bucketEnv{d: d, reg: reg, bc: bucketsClient(t, d)}
	e.s = newSession(t, d, newKey(t, reg, hubauth.UserKey))
	e.db, e.ctx = bucketDB(t, e.s)
	return e, kr, "http://" + d.State().Gateway
}

// signToken signs claims as GetToken does, with key.
func signToken(t *testing.T, key crypto.PrivKey, claims jwt.StandardClaims) string {
	t.Helper()
	claims.Issuer = thread.NewLibp2pIdentity(key).GetPublic().String()
	s, err := jwt.NewWithClaims(jwted25519.SigningMethodEd25519i, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A private bucket made and pushed with textile's client reads on the daemon's gateway
// in plain text with its owner's token, at the links the buckets API gives (?token=) and
// with Authorization: Bearer, while /ipfs/ serves its file as ciphertext. Another
// identity reads nothing until the owner grants it reader on docs (PushPathAccessRoles),
// then docs and nothing else. Every refusal, for paths that exist and paths that do not,
// is byte for byte the 404 of a missing bucket: no token, garbage, a token another host
// signed, an expired one, one whose key was revoked (readable the moment before), one
// for a path outside its grant, and ".." or encoded paths climbing out of the grant.
func TestGatewayPrivateBucketOnTheDaemon(t *testing.T) {
	e, kr, gw := newGatewayBucketEnv(t)
	res, err := e.bc.Create(bounded(t, e.ctx), bucketsclient.WithName("vault"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	key := res.Root.Key
	secret := []byte("alice's secret: the plaintext must never be on the gateway without her token")
	big := randomBytes(t, 600<<10)
	doc := []byte("a document for the readers of docs")
	secretFile, _ := e.push(t, key, "secret.txt", secret)
	e.push(t, key, "big.bin", big)
	e.push(t, key, "docs/a.txt", doc)

	links, err := e.bc.Links(bounded(t, e.ctx), key, "secret.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(links.Url, gw+"/thread/"+e.db.String()+"/buckets/"+key+"/secret.txt?token=") {
		t.Fatalf("links of a private path: %s", links.Url)
	}
	for _, u := range []string{links.Url, links.Ipns} {
		r, body := gwGet(t, u)
		wantHTTP(t, "the owner's link", r, body, http.StatusOK)
		if body != string(secret) || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("the owner's link %s: %s %q", u, r.Header.Get("Content-Type"), body)
		}
	}
	at := func(p string) string { return gw + "/thread/" + e.db.String() + "/buckets/" + key + p }
	r, body := gwGet(t, at("/big.bin"), "Authorization", "Bearer "+string(e.s.tok))
	wantHTTP(t, "the owner, by header", r, body, http.StatusOK)
	if body != string(big) {
		t.Fatalf("the owner's big.bin: %d bytes, not %d", len(body), len(big))
	}
	r, body = gwGet(t, gw+"/ipfs/"+secretFile.Cid().String())
	wantHTTP(t, "/ipfs/ of the private file", r, body, http.StatusOK)
	if strings.Contains(body, "plaintext") || len(body) <= len(secret) {
		t.Fatalf("/ipfs/ of a private file serves %q", body)
	}

	bob := newSession(t, e.d, newKey(t, e.reg, hubauth.UserKey))
	bobBearer := "Bearer " + string(bob.tok)
	_, missing := gwGet(t, gw+"/thread/"+e.db.String()+"/buckets/"+newBucketKey(t)+"/docs/a.txt")
	r, body = gwGet(t, at("/docs/a.txt"), "Authorization", bobBearer)
	if r.StatusCode != http.StatusNotFound || body != missing {
		t.Fatalf("bob before the grant: %d %q", r.StatusCode, body)
	}
	e.grant(t, e.ctx, key, "docs", bob.identity, tbuckets.Reader)
	r, body = gwGet(t, at("/docs/a.txt"), "Authorization", bobBearer)
	wantHTTP(t, "bob, reader of docs", r, body, http.StatusOK)
	if body != string(doc) {
		t.Fatalf("bob reads %q", body)
	}
	r, body = gwGet(t, at("/docs?json=true"), "Authorization", bobBearer)
	wantHTTP(t, "bob lists docs", r, body, http.StatusOK)
	if !strings.Contains(body, `"name":"a.txt"`) {
		t.Fatalf("bob's listing of docs: %s", body)
	}

	carolKey := newKey(t, e.reg, hubauth.UserKey)
	carol := newSession(t, e.d, carolKey)
	e.grant(t, e.ctx, key, "docs", carol.identity, tbuckets.Reader)
	r, body = gwGet(t, at("/docs/a.txt?token="+url.QueryEscape(string(carol.tok))))
	wantHTTP(t, "carol before her key is revoked", r, body, http.StatusOK)
	changed := kr.Changes()
	if _, err := e.reg.Revoke(carolKey.Key); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatal("the keyring did not see the revocation")
	}

	bobKey := claimsAud(t, string(bob.tok))
	other, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	forged := signToken(t, other, jwt.StandardClaims{Subject: bob.identity, Audience: bobKey, IssuedAt: now.Unix()})
	expired := signToken(t, e.d.node.HostKey(), jwt.StandardClaims{Subject: bob.identity, Audience: bobKey, IssuedAt: now.Add(-time.Hour).Unix(), ExpiresAt: now.Add(-time.Minute).Unix()})
	unbound := signToken(t, e.d.node.HostKey(), jwt.StandardClaims{Subject: bob.identity, IssuedAt: now.Unix()})
	for _, tc := range []struct{ what, path, tok string }{
		{"no token", "/docs/a.txt", ""},
		{"garbage", "/docs/a.txt", "garbage"},
		{"another host's token", "/docs/a.txt", forged},
		{"an expired token", "/docs/a.txt", expired},
		{"a token bound to no key", "/docs/a.txt", unbound},
		{"a revoked key's token", "/docs/a.txt", string(carol.tok)},
		{"outside the grant", "/secret.txt", string(bob.tok)},
		{"the root, outside the grant", "", string(bob.tok)},
		{"..", "/docs/../secret.txt", string(bob.tok)},
		{"encoded ..", "/docs/%2E%2E/secret.txt", string(bob.tok)},
		{"encoded slash", "/docs%2F..%2Fsecret.txt", string(bob.tok)},
	} {
		for _, p := range []string{tc.path, tc.path + "-missing"} {
			for _, how := range []string{"header", "query"} {
				hdr := []string{}
				u := "/thread/" + e.db.String() + "/buckets/" + key + p
				if tc.tok != "" && how == "header" {
					hdr = []string{"Authorization", "Bearer " + tc.tok}
				} else if tc.tok != "" {
					u += "?token=" + url.QueryEscape(tc.tok)
				}
				r, body := rawGatewayGet(t, gw, u, hdr...)
				if r.StatusCode != http.StatusNotFound || body != missing || r.Header.Get("Etag") != "" {
					t.Errorf("%s (%s, %s): %d %q, want the missing bucket's %q", tc.what, p, how, r.StatusCode, body, missing)
				}
			}
		}
	}
	r, body = gwGet(t, at("/docs/none.txt"), "Authorization", bobBearer)
	if r.StatusCode != http.StatusNotFound || body != missing {
		t.Fatalf("bob, a missing path in his grant: %d %q", r.StatusCode, body)
	}
}

// newBucketKey is a bucket key no bucket has.
func newBucketKey(t *testing.T) string {
	t.Helper()
	k, err := buckets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// claimsAud is the aud of a token (the API key it was issued through), unverified.
func claimsAud(t *testing.T, tok string) string {
	t.Helper()
	var sc jwt.StandardClaims
	if _, _, err := new(jwt.Parser).ParseUnverified(tok, &sc); err != nil || sc.Audience == "" {
		t.Fatalf("a token without aud: %v", err)
	}
	return sc.Audience
}

// rawGatewayGet sends a request line as given (net/http's client would clean "..").
func rawGatewayGet(t *testing.T, base, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		req.URL.Opaque, req.URL.RawQuery = path[:i], path[i+1:]
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	return res, buf.String()
}
