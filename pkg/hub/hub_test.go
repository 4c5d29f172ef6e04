package hub

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/internal/testnode"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		tls      bool
		ca       string
		insecure bool
		want     Target
		err      string
	}{
		{addr: "", want: Target{}},
		{addr: "127.0.0.1:6006", want: Target{Addr: "127.0.0.1:6006"}},
		{addr: " hub.example.com:443 ", want: Target{Addr: "hub.example.com:443", TLS: true}},
		{addr: "hub.example.com:6006", tls: true, ca: "ca.pem", want: Target{Addr: "hub.example.com:6006", TLS: true, CAFile: "ca.pem"}},
		{addr: "[::1]:6006", want: Target{Addr: "[::1]:6006"}},
		{addr: "/ip4/127.0.0.1/tcp/6006", want: Target{Addr: "127.0.0.1:6006"}},
		{addr: "/ip6/::1/tcp/6006", want: Target{Addr: "[::1]:6006"}},
		{addr: "/dns4/hub.example.com/tcp/443", insecure: true, want: Target{Addr: "hub.example.com:443", TLS: true, Insecure: true}},
		{addr: "http://127.0.0.1:6006", err: "without a scheme"},
		{addr: "127.0.0.1", err: "use HOST:PORT"},
		{addr: ":6006", err: "missing host"},
		{addr: "h:0", err: "not a number from 1 to 65535"},
		{addr: "h:http", err: "not a number from 1 to 65535"},
		{addr: "/ip4/nope/tcp/1", err: "not an IP address"},
		{addr: "/ip4/127.0.0.1/udp/1", err: "/ip4/HOST/tcp/PORT"},
		{addr: "/unix/x/tcp/1", err: "unsupported protocol"},
		{addr: "h:6006", insecure: true, err: "add --tls"},
		{addr: "h:6006", ca: "ca.pem", err: "add --tls"},
		{addr: "", tls: true, err: "need a server"},
	} {
		got, err := ParseTarget(tc.addr, tc.tls, tc.ca, tc.insecure)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalidTarget) {
				t.Errorf("ParseTarget(%q) error = %v, want ErrInvalidTarget containing %q", tc.addr, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.addr, got, err, tc.want)
		}
	}
}

func TestAuthValidate(t *testing.T) {
	for _, tc := range []struct {
		auth Auth
		want error
	}{
		{Auth{}, nil},
		{Auth{Key: "k"}, nil},
		{Auth{Key: "k", Secret: "bmfrggzdfmztwq2lk", SigTTL: time.Hour}, nil},
		{Auth{Key: "k", Secret: "not multibase!"}, ErrInvalidSecret},
		{Auth{Secret: "bmfrggzdfmztwq2lk"}, ErrInvalidAuth},
		{Auth{Key: "k", Secret: "bmfrggzdfmztwq2lk", SigTTL: 25 * time.Hour}, ErrInvalidAuth},
	} {
		err := tc.auth.Validate()
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%+v.Validate() = %v, want %v", tc.auth, err, tc.want)
		}
		if err != nil && tc.auth.Secret != "" && strings.Contains(err.Error(), tc.auth.Secret) {
			t.Errorf("error %q contains the secret", err)
		}
	}
}

// The signature context is what the Hub checks: textile's own validator accepts it, it
// is dated now+SigTTL, and another secret does not validate it.
func TestAuthContextSignsLikeTheHub(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	a := Auth{Key: "bkey", Secret: "brn3jkhjkk2amstuygbgbpphmjnn6rwxejghvkbq", SigTTL: 2 * time.Hour,
		Now: func() time.Time { return now }}
	ctx, err := a.Context(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	md, err := common.Credentials{}.GetRequestMetadata(withToken(ctx, "tok"))
	if err != nil {
		t.Fatal(err)
	}
	if md["x-textile-api-key"] != "bkey" || md["authorization"] != "bearer tok" {
		t.Errorf("metadata %v: want the key and the bearer token", md)
	}
	if md["x-textile-api-sig-msg"] != "2026-11-23T03:00:00Z" {
		t.Errorf("signed date %q, want now + 2h", md["x-textile-api-sig-msg"])
	}
	if !strings.HasPrefix(md["x-textile-api-sig"], "b") {
		t.Errorf("signature %q is not multibase base32", md["x-textile-api-sig"])
	}
	// What the server sees.
	in := metadata.NewIncomingContext(context.Background(), metadata.New(md))
	msg, sig, ok := common.APISigFromMD(in)
	if !ok {
		t.Fatal("server finds no signature")
	}
	// ValidateAPISigContext also requires the date to be in the future; it is 2026 here,
	// so check the HMAC against a date we control.
	a.Now = time.Now
	live, _ := a.Context(context.Background())
	lmsg, lsig, _ := common.APISigFromContext(live)
	if !common.ValidateAPISigContext(common.NewAPISigContext(context.Background(), lmsg, lsig), a.Secret) {
		t.Error("textile's validator refuses the signature")
	}
	if common.ValidateAPISigContext(common.NewAPISigContext(context.Background(), lmsg, lsig), "bmfrggzdfmztwq2lk") {
		t.Error("a signature validates with another secret")
	}
	if msg == "" || len(sig) != 32 {
		t.Errorf("signature %x over %q: want an HMAC-SHA256", sig, msg)
	}

	// No key: nothing added.
	ctx, _ = Auth{}.Context(context.Background())
	if md, _ := (common.Credentials{}).GetRequestMetadata(ctx); len(md) != 0 {
		t.Errorf("metadata without a key: %v", md)
	}
}

func TestTokenCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	c := &TokenCache{Dir: dir}
	if tok, err := c.Get("t", "pk"); tok != "" || err != nil {
		t.Fatalf("empty cache: %q, %v", tok, err)
	}
	if err := c.Put(CachedToken{Target: "t", PublicKey: "pk", Identity: "alice", Token: "tok1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(CachedToken{Target: "t2", PublicKey: "pk", Token: "tok2"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ target, pk, want string }{{"t", "pk", "tok1"}, {"t2", "pk", "tok2"}, {"t", "other", ""}} {
		if got, err := c.Get(tc.target, tc.pk); got != tc.want || err != nil {
			t.Errorf("Get(%s, %s) = %q, %v; want %q", tc.target, tc.pk, got, err, tc.want)
		}
	}
	wantPerm(t, dir, 0o700)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("%d files, want one per entry", len(entries))
	}
	for _, e := range entries {
		wantPerm(t, filepath.Join(dir, e.Name()), 0o600)
		// A corrupt entry reads as none.
		if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte("{garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := c.Get("t", "pk"); got != "" || err != nil {
		t.Errorf("corrupt entry: %q, %v", got, err)
	}
	if err := c.Put(CachedToken{Target: "t", PublicKey: "pk", Token: "tok3"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get("t", "pk"); got != "tok3" {
		t.Errorf("after rewriting a corrupt entry: %q, want tok3", got)
	}
	var none *TokenCache
	if err := none.Put(CachedToken{Token: "x"}); err != nil {
		t.Errorf("nil cache Put: %v", err)
	}
}

func wantPerm(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
	}
}

func TestInspectToken(t *testing.T) {
	issuer, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	user, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	tok, err := thread.NewToken(issuer, thread.NewLibp2pPubKey(user.GetPublic()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := InspectToken(" " + string(tok) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != thread.NewLibp2pPubKey(user.GetPublic()).String() ||
		c.Issuer != thread.NewLibp2pIdentity(issuer).GetPublic().String() {
		t.Errorf("claims %+v: wrong subject or issuer", c)
	}
	if time.Since(c.IssuedAt) > time.Minute || !c.Expires.IsZero() {
		t.Errorf("claims %+v: want issued now, no expiry", c)
	}
	for _, bad := range []string{"", "x", "a.b.c", "eyJhbGciOiJub25lIn0.e30."} {
		if _, err := InspectToken(bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("InspectToken(%q) = %v, want ErrInvalidToken", bad, err)
		}
	}
}

func TestClassify(t *testing.T) {
	tgt := Target{Addr: "h:1"}
	for _, tc := range []struct {
		err   error
		class error
		msg   string
	}{
		{status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing dial tcp 127.0.0.1:1: connect: connection refused"`), ErrUnreachable, "cannot reach h:1: connection refused"},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), ErrUnreachable, "cannot reach h:1: no answer within 2s (--timeout)"},
		{status.Error(codes.NotFound, "API key not found or is invalid"), ErrAuth, "refused the API key"},
		{status.Error(codes.Unauthenticated, "Session or API key required"), ErrAuth, "requires an API key"},
		{status.Error(codes.Unauthenticated, "Bad API key signature"), ErrAuth, "Bad API key signature"},
		{status.Error(codes.Unauthenticated, "API key signature required"), ErrAuth, "signature required"},
		{status.Error(codes.Unknown, "invalid thread token"), ErrAuth, "token"},
		{status.Error(codes.Unknown, "thread not found"), ErrNotFound, "thread not found"},
		{status.Error(codes.NotFound, "nope"), ErrNotFound, "nope"},
		{status.Error(codes.Unknown, "boom"), nil, "server error: boom"},
	} {
		err := classify(context.Background(), tgt, 2*time.Second, tc.err)
		if tc.class != nil && !errors.Is(err, tc.class) {
			t.Errorf("classify(%v) = %v, want class %v", tc.err, err, tc.class)
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("classify(%v) = %q, want it to contain %q", tc.err, err, tc.msg)
		}
	}
	if !tokenRejected(status.Error(codes.Unknown, "invalid thread token")) ||
		tokenRejected(status.Error(codes.Unauthenticated, "Bad API key signature")) {
		t.Error("tokenRejected must tell a refused token from a refused API key")
	}
}

func startNode(t *testing.T, opts testnode.Options) *testnode.Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "node")
	}
	s, err := testnode.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testIdentity(t *testing.T) func() (Identity, error) {
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return func() (Identity, error) {
		return Identity{Name: "alice", PublicKey: thread.NewLibp2pPubKey(sk.GetPublic()).String(),
			Load: func() (crypto.PrivKey, error) { return sk, nil }}, nil
	}
}

func newClient(t *testing.T, opts Options) *Client {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// One connection and one GetToken serve every call; a second process (client) reuses the
// cached token; the cache entry names the identity.
func TestClientSharesConnectionAndCachesToken(t *testing.T) {
	s := startNode(t, testnode.Options{})
	ctx := context.Background()
	cache := &TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}
	ident := testIdentity(t)
	tgt, _ := ParseTarget(s.Addr, false, "", false)
	c := newClient(t, Options{Target: tgt, Tokens: cache, Identity: ident})
	conn1, err := c.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, "demo"); err != nil {
		t.Fatal(err)
	}
	dbs, err := c.ListDBs(ctx, false)
	if err != nil || len(dbs) != 1 || dbs[0].Name != "demo" || dbs[0].Key != "" {
		t.Fatalf("ListDBs = %+v, %v", dbs, err)
	}
	if got, err := c.ResolveDB(ctx, "demo"); err != nil || got != id {
		t.Fatalf("ResolveDB(demo) = %v, %v", got, err)
	}
	db, err := c.GetDB(ctx, id, true)
	if err != nil || db.Key == "" || len(db.Addrs) == 0 {
		t.Fatalf("GetDB with key = %+v, %v", db, err)
	}
	if conn2, _ := c.Conn(ctx); conn2 != conn1 {
		t.Error("a second call dialed again")
	}
	if n := s.GetTokenCalls(); n != 1 {
		t.Errorf("%d GetToken calls, want 1", n)
	}

	c2 := newClient(t, Options{Target: tgt, Tokens: cache, Identity: ident})
	info, err := c2.Token(ctx, false)
	if err != nil || !info.Cached || info.Identity != "alice" {
		t.Fatalf("second client token = %+v, %v; want the cached one", info, err)
	}
	if n := s.GetTokenCalls(); n != 1 {
		t.Errorf("%d GetToken calls after a cached token, want 1", n)
	}
	if _, err := c2.GetDB(ctx, thread.NewIDV1(thread.Raw, 32), false); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDB of a missing DB = %v, want ErrNotFound", err)
	}
	if err := c2.DeleteDB(ctx, id); err != nil {
		t.Fatal(err)
	}
}

func TestClientSignsEveryCall(t *testing.T) {
	const key, secret = "bkey", "brn3jkhjkk2amstuygbgbpphmjnn6rwxejghvkbq"
	s := startNode(t, testnode.Options{Key: key, Secret: secret})
	tgt, _ := ParseTarget(s.Addr, false, "", false)
	ctx := context.Background()

	c := newClient(t, Options{Target: tgt, Auth: Auth{Key: key, Secret: secret, SigTTL: time.Hour}, Identity: testIdentity(t)})
	if _, err := c.ListDBs(ctx, false); err != nil {
		t.Fatalf("signed calls refused: %v", err)
	}
	for _, a := range []Auth{{}, {Key: key}, {Key: key, Secret: "bmfrggzdfmztwq2lk"}} {
		c := newClient(t, Options{Target: tgt, Auth: a, Identity: testIdentity(t)})
		if _, err := c.ListDBs(ctx, false); !errors.Is(err, ErrAuth) {
			t.Errorf("auth %+v: %v, want ErrAuth", a, err)
		}
	}
}

func TestClientUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now: connection refused
	tgt, _ := ParseTarget(addr, false, "", false)
	c := newClient(t, Options{Target: tgt, Timeout: time.Minute})
	_, err = c.ListDBs(context.Background(), false)
	if !errors.Is(err, ErrUnreachable) || err.Error() != "cannot reach "+addr+": connection refused" {
		t.Fatalf("got %v, want cannot reach %s: connection refused", err, addr)
	}
}

func TestClientTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
	s := startNode(t, testnode.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	ctx := context.Background()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	tgt, err := ParseTarget(s.Addr, true, caFile, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, Options{Target: tgt}).ListDBs(ctx, false); err != nil {
		t.Fatalf("TLS with --ca-file: %v", err)
	}

	// The handshake fails at once; the default timeout only keeps a busy machine from
	// turning the certificate error into "no answer within".
	tgt, _ = ParseTarget(s.Addr, true, "", false)
	_, err = newClient(t, Options{Target: tgt}).ListDBs(ctx, false)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("TLS with an unknown CA: %v, want a certificate error", err)
	}

	var warned string
	tgt, _ = ParseTarget(s.Addr, true, "", true)
	c := newClient(t, Options{Target: tgt, Warn: func(f string, a ...any) { warned = fmt.Sprintf(f, a...) }})
	if _, err := c.ListDBs(ctx, false); err != nil {
		t.Fatalf("--insecure: %v", err)
	}
	if !strings.Contains(warned, "not verified") {
		t.Errorf("--insecure warned %q", warned)
	}

	tgt, _ = ParseTarget(s.Addr, false, "", false)
	_, err = newClient(t, Options{Target: tgt, Timeout: 5 * time.Second}).ListDBs(ctx, false)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("plaintext to a TLS server: %v, want unreachable", err)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hubctl test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
