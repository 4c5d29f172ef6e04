package server

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestParseDialPolicy(t *testing.T) {
	for _, bad := range [][]string{{"10.0.0.0/33"}, {"example.com"}, {"fe80::1%eth0"}, {"none", "10.0.0.0/8"}, {""}} {
		if _, err := ParseDialPolicy(bad); err == nil {
			t.Errorf("ParseDialPolicy(%q) accepted it", bad)
		}
	}
	any, err := ParseDialPolicy(nil)
	if err != nil || any.Restricted() {
		t.Fatalf("no --user-dial: %v %v, want any address", any, err)
	}
	pid := randomPeer(t).String()
	tid := thread.NewIDV1(thread.Raw, 32).String()
	join := func(host string) ma.Multiaddr {
		return ma.StringCast(host + "/tcp/4006/p2p/" + pid + "/thread/" + tid)
	}
	cases := []struct {
		policy []string
		addr   ma.Multiaddr
		ok     bool
	}{
		{nil, join("/dns4/example.com"), true},
		{nil, ma.StringCast("/p2p/" + pid + "/thread/" + tid), true},
		{[]string{"10.0.0.0/8"}, join("/ip4/10.1.2.3"), true},
		{[]string{"10.0.0.0/8"}, ma.StringCast("/ip4/10.1.2.3/tcp/4006/p2p/" + pid), true},
		{[]string{"10.0.0.0/8"}, ma.StringCast("/ip4/10.1.2.3/udp/4006/quic/p2p/" + pid), true},
		{[]string{"10.0.0.0/8"}, join("/ip4/11.1.2.3"), false},
		{[]string{"10.0.0.0/8"}, join("/ip6/::ffff:10.1.2.3"), true}, // the same IPv4 address
		{[]string{"::ffff:10.0.0.0/104"}, join("/ip4/10.1.2.3"), true},
		{[]string{"::/0"}, join("/ip6/::ffff:10.1.2.3"), false}, // IPv6 does not cover IPv4
		{[]string{"10.1.2.3"}, join("/ip4/10.1.2.3"), true},
		{[]string{"10.1.2.3"}, join("/ip4/10.1.2.4"), false},
		{[]string{"127.0.0.0/8"}, join("/dns4/localhost"), false},
		{[]string{"127.0.0.0/8"}, join("/dnsaddr/localhost"), false},
		{[]string{"127.0.0.0/8"}, ma.StringCast("/p2p/" + pid + "/thread/" + tid), false},
		{[]string{"127.0.0.0/8"}, ma.StringCast("/ip4/127.0.0.1/tcp/1/p2p/" + pid + "/p2p-circuit/p2p/" + pid + "/thread/" + tid), false},
		{[]string{"127.0.0.0/8"}, ma.StringCast("/ip4/127.0.0.1/tcp/1/dns4/example.com/p2p/" + pid), false},
		{[]string{"none"}, join("/ip4/127.0.0.1"), false},
		{[]string{"public"}, join("/ip4/8.8.8.8"), true},
		{[]string{"public"}, join("/ip6/2606:4700::1111"), true},
		{[]string{"public"}, join("/ip4/127.0.0.1"), false},
		{[]string{"public"}, join("/ip4/10.0.0.1"), false},
		{[]string{"public"}, join("/ip4/192.168.1.1"), false},
		{[]string{"public"}, join("/ip4/169.254.169.254"), false}, // cloud metadata
		{[]string{"public"}, join("/ip4/100.64.0.1"), false},
		{[]string{"public"}, join("/ip4/0.0.0.0"), false},
		{[]string{"public"}, join("/ip6/::1"), false},
		{[]string{"public"}, join("/ip6/fd00::1"), false},
		{[]string{"public"}, join("/ip6/::ffff:10.0.0.1"), false},
		{[]string{"public"}, join("/ip6/64:ff9b::a00:1"), false}, // NAT64 of 10.0.0.1
		{[]string{"public", "10.0.0.0/8"}, join("/ip4/10.0.0.1"), true},
	}
	for _, c := range cases {
		p, err := ParseDialPolicy(c.policy)
		if err != nil {
			t.Fatalf("ParseDialPolicy(%q): %v", c.policy, err)
		}
		if err := p.check(c.addr); (err == nil) != c.ok {
			t.Errorf("--user-dial %q, %s: allowed %v (%v), want %v", c.policy, c.addr, err == nil, err, c.ok)
		}
	}
}

// warnings collects what a daemon reports to its operator.
type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) warnf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprintf(format, args...))
}

// about returns the lines that mention s.
func (w *warnings) about(s string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, l := range w.lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

func (w *warnings) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

// startDialDaemon is startDaemon with key checks, a --user-dial policy and its warnings.
func startDialDaemon(t *testing.T, policy []string) (*Daemon, *hubauth.Registry, *warnings) {
	t.Helper()
	p, err := ParseDialPolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	reg := hubauth.OpenRegistry(dir)
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := &warnings{}
	opts := loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthKeys, Keys: kr, UserDial: p, Warnf: w.warnf})
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
	return d, reg, w
}

func randomPeer(t *testing.T) libp2ppeer.ID {
	t.Helper()
	_, pk, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := libp2ppeer.IDFromPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// listener accepts TCP connections on addr ("127.0.0.1:0", "[::1]:0") and counts them;
// each is answered with junk and closed, as a service that is not libp2p would.
type listener struct {
	net.Listener
	conns chan struct{}
}

func listen(t *testing.T, addr string) *listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	ln := &listener{Listener: l, conns: make(chan struct{}, 100)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ln.conns <- struct{}{}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			_ = c.Close()
		}
	}()
	return ln
}

// multiaddr is the listener's address as libp2p writes it.
func (l *listener) multiaddr() string {
	a := l.Addr().(*net.TCPAddr)
	if a.IP.To4() != nil {
		return fmt.Sprintf("/ip4/%s/tcp/%d", a.IP, a.Port)
	}
	return fmt.Sprintf("/ip6/%s/tcp/%d", a.IP, a.Port)
}

// dialUser is a user of d with both of go-threads' clients and a thread of their own.
type dialUser struct {
	c   *client.Client
	nc  *netclient.Client
	ctx context.Context
	tok thread.Token
	key hubauth.Key
	own thread.ID // a database of the user's, for AddReplicator
}

func newDialUser(t *testing.T, d *Daemon, reg *hubauth.Registry, typ hubauth.KeyType) dialUser {
	t.Helper()
	key := newKey(t, reg, typ)
	s := newSession(t, d, key)
	u := dialUser{c: s.c, nc: s.nc, ctx: s.ctx, tok: s.tok, key: key, own: thread.NewIDV1(thread.Raw, 32)}
	if err := u.c.NewDB(u.ctx, u.own, db.WithNewManagedToken(u.tok)); err != nil {
		t.Fatal(err)
	}
	return u
}

// call is one of the three calls that make the node dial.
type call struct {
	name string
	do   func(ctx context.Context, u dialUser, peerAddr string) (dialled string, err error)
}

// dialCalls are NewDBFromAddr, net AddThread (a new random thread each, at peerAddr,
// which ends in /p2p/ID) and AddReplicator (of the user's own database).
var dialCalls = []call{
	{"NewDBFromAddr", func(ctx context.Context, u dialUser, peerAddr string) (string, error) {
		a := ma.StringCast(peerAddr + "/thread/" + thread.NewIDV1(thread.Raw, 32).String())
		return a.String(), u.c.NewDBFromAddr(ctx, a, thread.NewRandomKey(), db.WithNewManagedToken(u.tok))
	}},
	{"AddThread", func(ctx context.Context, u dialUser, peerAddr string) (string, error) {
		a := ma.StringCast(peerAddr + "/thread/" + thread.NewIDV1(thread.Raw, 32).String())
		_, err := u.nc.AddThread(ctx, a, core.WithThreadKey(thread.NewRandomKey()), core.WithNewThreadToken(u.tok))
		return a.String(), err
	}},
	{"AddReplicator", func(ctx context.Context, u dialUser, peerAddr string) (string, error) {
		a := ma.StringCast(peerAddr)
		_, err := u.nc.AddReplicator(ctx, u.own, a, core.WithThreadToken(u.tok))
		return a.String(), err
	}},
}

var peerIDs = regexp.MustCompile(`(12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]+`)

// The daemon is no port scanner: whatever stops a user key's join or AddReplicator at the
// peer (a closed port, an open port that is not libp2p, a host that does not answer, a
// libp2p host that is another peer, a peer that does not have the thread), the user gets
// the same code and message; the daemon's log has the reason, and no key or token.
// Before, the errors told an open port ("failed to negotiate security protocol") from a
// closed one ("connection refused").
func TestUserDialErrorsAreUniform(t *testing.T) {
	d, reg, w := startDialDaemon(t, nil)
	other, _ := startDaemon(t, hubauth.AuthNone) // a real peer, which has no thread of ours
	ost := other.State()
	otherHost := ost.Listen[0]
	if i := strings.Index(otherHost, "/p2p/"); i >= 0 {
		otherHost = otherHost[:i]
	}

	open := listen(t, "127.0.0.1:0")
	closed := listen(t, "127.0.0.1:0")
	_ = closed.Close()
	// Each attempt names a new peer ID: libp2p dials every address it has been given for
	// a peer, and a test that reused one would see the earlier targets' errors too.
	targets := []struct {
		name string
		addr func() string
	}{
		{"open port, not libp2p", func() string { return open.multiaddr() + "/p2p/" + randomPeer(t).String() }},
		{"closed port", func() string { return closed.multiaddr() + "/p2p/" + randomPeer(t).String() }},
		{"no route", func() string { return "/ip6/100::1/tcp/4006/p2p/" + randomPeer(t).String() }}, // the discard prefix
		{"another peer's port", func() string { return otherHost + "/p2p/" + randomPeer(t).String() }},
		{"a peer without the thread", func() string { return otherHost + "/p2p/" + ost.PeerID }},
	}
	user := newDialUser(t, d, reg, hubauth.UserKey)
	for _, c := range dialCalls {
		details := map[string]string{}
		for _, tg := range targets {
			if c.name == "AddReplicator" && tg.name == "a peer without the thread" {
				continue // a peer takes any thread it is given to replicate: that works
			}
			ctx, cancel := context.WithTimeout(user.ctx, time.Minute)
			dialled, err := c.do(ctx, user, tg.addr())
			cancel()
			wantCode(t, c.name+" of "+tg.name, err, codes.FailedPrecondition, PeerUnusable)
			lines := w.about(" at " + dialled + " failed: ")
			if len(lines) != 1 {
				t.Fatalf("%s of %s: the log has %d lines about %s, want one: %q", c.name, tg.name, len(lines), dialled, lines)
			}
			// The reason, without the addresses and peer IDs, which differ anyway.
			detail := peerIDs.ReplaceAllString(lines[0][strings.Index(lines[0], dialled)+len(dialled):], "PEER")
			details[detail] = tg.name
		}
		// The reasons were different: the uniform answer hides something.
		if len(details) < 3 {
			t.Errorf("%s: the daemon logged only %d different reasons for %d targets: %q", c.name, len(details), len(targets), details)
		}
	}
	log := w.all()
	for _, secret := range []string{user.key.Key, user.key.Secret, string(user.tok)} {
		if strings.Contains(log, secret) {
			t.Fatalf("the daemon's log holds a key or token: %s", log)
		}
	}
	if !strings.Contains(log, "connection refused") {
		t.Errorf("the log does not say which port was closed:\n%s", log)
	}

	// The operator (an account key) keeps go-threads' own words.
	op := newDialUser(t, d, reg, hubauth.AccountKey)
	ctx, cancel := context.WithTimeout(op.ctx, time.Minute)
	defer cancel()
	_, err := dialCalls[0].do(ctx, op, closed.multiaddr()+"/p2p/"+randomPeer(t).String())
	if err == nil || status.Convert(err).Message() == PeerUnusable {
		t.Fatalf("operator's join from a closed port: %v, want go-threads' own error", err)
	}
}

// A daemon with --user-dial refuses, before dialling anything, a user key's join or
// AddReplicator of an address outside the allowed networks, or one it would have to
// resolve (DNS), relay or look up; a listener at such an address sees no connection.
// Inside the networks a user joins as before, and operators dial anywhere.
func TestUserDialPolicyRefusesBeforeDialing(t *testing.T) {
	if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback for the listener outside the networks: %v", err)
	} else {
		_ = l.Close()
	}
	d, reg, w := startDialDaemon(t, []string{"127.0.0.0/8"})
	outside := listen(t, "[::1]:0")    // loopback, but IPv6: outside 127.0.0.0/8
	inside := listen(t, "127.0.0.1:0") // reached only through a DNS name below
	pid := randomPeer(t).String()
	_, port, _ := net.SplitHostPort(inside.Addr().String())
	refused := []string{
		outside.multiaddr() + "/p2p/" + pid,
		"/dns4/localhost/tcp/" + port + "/p2p/" + pid,
		"/dns/localhost/tcp/" + port + "/p2p/" + pid,
		"/p2p/" + pid,
		inside.multiaddr() + "/p2p/" + randomPeer(t).String() + "/p2p-circuit/p2p/" + pid,
	}
	user := newDialUser(t, d, reg, hubauth.UserKey)
	for _, c := range dialCalls {
		for _, a := range refused {
			ctx, cancel := context.WithTimeout(user.ctx, time.Minute)
			_, err := c.do(ctx, user, a)
			cancel()
			wantCode(t, c.name+" of "+a, err, codes.FailedPrecondition, DialForbidden)
		}
	}
	// Every refusal came back before anything was dialled: the calls dial before they
	// return, and none reached either listener.
	if n := len(outside.conns) + len(inside.conns); n != 0 {
		t.Fatalf("the daemon dialled %d times for refused addresses", n)
	}
	if got := len(w.about("--user-dial")); got != len(dialCalls)*len(refused) {
		t.Errorf("the log has %d refusals, want %d:\n%s", got, len(dialCalls)*len(refused), w.all())
	}

	// Inside the networks, a user joins a real peer's database.
	other, _ := startDaemon(t, hubauth.AuthNone)
	oc, err := client.NewClient(other.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := oc.NewDB(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	info, err := oc.GetDBInfo(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(user.ctx, time.Minute)
	defer cancel()
	if err := user.c.NewDBFromAddr(ctx, selfAddr(t, other.State(), id), info.Key, db.WithNewManagedToken(user.tok)); err != nil {
		t.Fatalf("user's join from an allowed address: %v", err)
	}

	// The operator is not bound by --user-dial: its join dials the listener outside.
	op := newDialUser(t, d, reg, hubauth.AccountKey)
	opCtx, opCancel := context.WithTimeout(op.ctx, time.Minute)
	defer opCancel()
	if _, err := dialCalls[0].do(opCtx, op, outside.multiaddr()+"/p2p/"+randomPeer(t).String()); err == nil {
		t.Fatal("the operator joined from a listener that is not libp2p")
	}
	select {
	case <-outside.conns:
	default:
		t.Fatal("the operator's join did not dial the listener (so the test proves nothing)")
	}
}

// The uniform answer replaces go-threads' and libp2p's errors only, not hubctl's own
// refusals, which say what to do: a user who joins, as a database, a thread of theirs
// that has none is told so (peerInterceptor), not that the peer could not be reached.
func TestUserDialKeepsHubctlsOwnAnswers(t *testing.T) {
	d, reg, _ := startDialDaemon(t, nil)
	user := newDialUser(t, d, reg, hubauth.UserKey)
	ctx, cancel := context.WithTimeout(user.ctx, time.Minute)
	defer cancel()
	id := thread.NewIDV1(thread.Raw, 32)
	if _, err := user.nc.CreateThread(ctx, id, core.WithNewThreadToken(user.tok)); err != nil {
		t.Fatal(err)
	}
	err := user.c.NewDBFromAddr(ctx, selfAddr(t, d.State(), id), thread.NewRandomKey(), db.WithNewManagedToken(user.tok))
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.HasPrefix(st.Message(), ReplicaOnly) {
		t.Fatalf("join of the user's own thread as a database: %v, want hubctl's %q refusal", err, ReplicaOnly)
	}
}
