package hubauth

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/peer"
	ma "github.com/multiformats/go-multiaddr"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// threadsNode stands in for go-threads behind the guard: the threads it holds, and
// creates that answer as go-threads does for a thread it already has: NewDB "db already
// exists", net CreateThread and AddThread success (given the thread's service key, they
// add the caller's log to it: the takeover of issue 13).
type threadsNode struct {
	mu      sync.Mutex
	threads map[thread.ID]bool
	calls   int
	// fail, when set, is the answer of the next create, after arrive (if any) has run.
	fail   error
	arrive bool // a peer pushes the thread while the call runs
}

func (n *threadsNode) has(_ context.Context, id thread.ID) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.threads[id], nil
}

func (n *threadsNode) handler(id thread.ID) grpc.UnaryHandler {
	return func(_ context.Context, req any) (any, error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.calls++
		if n.arrive {
			n.threads[id] = true
		}
		if n.fail != nil {
			return nil, n.fail
		}
		if _, isDB := req.(*pb.NewDBRequest); n.threads[id] && isDB {
			return nil, errors.New("db already exists")
		}
		n.threads[id] = true
		return &pb.NewDBReply{}, nil
	}
}

type guardFixture struct {
	dir     string // the key registry's
	g       *Guard
	node    *threadsNode
	user    Key
	account Key
	hostKey crypto.PrivKey
}

func newGuardFixture(t *testing.T, mode Mode) *guardFixture {
	t.Helper()
	dir := t.TempDir()
	reg := OpenRegistry(dir)
	user, err := reg.Create(CreateOptions{Type: UserKey})
	if err != nil {
		t.Fatal(err)
	}
	account, err := reg.Create(CreateOptions{Type: AccountKey})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	owners, err := OpenOwners(filepath.Join(dir, "owners"))
	if err != nil {
		t.Fatal(err)
	}
	hostKey, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := &threadsNode{threads: map[thread.ID]bool{}}
	g := &Guard{Mode: mode, Checker: &Checker{Keys: kr}, Owners: owners, HostKey: hostKey, HasThread: n.has}
	return &guardFixture{dir: dir, g: g, node: n, user: user, account: account, hostKey: hostKey}
}

// identity returns a new identity's name (a token's subject) and a token for it, issued
// as GetToken issues it through the user key (in AuthKeys mode).
func (f *guardFixture) identity(t *testing.T) (string, thread.Token) {
	t.Helper()
	if f.g.Mode == AuthKeys {
		return f.identityFor(t, &f.user)
	}
	return f.identityFor(t, nil)
}

// identityFor is identity with a token issued through key (nil: none).
func (f *guardFixture) identityFor(t *testing.T, key *Key) (string, thread.Token) {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	pk := thread.NewLibp2pPubKey(sk.GetPublic())
	aud := ""
	if key != nil {
		aud = key.Key
	}
	tok, err := f.g.issue(pk.String(), aud)
	if err != nil {
		t.Fatal(err)
	}
	return pk.String(), thread.Token(tok)
}

// call makes a create-type call through the guard with key (none in AuthNone mode) and
// tok (none when empty).
func (f *guardFixture) call(key *Key, tok thread.Token, method string, req any, id thread.ID) error {
	md := metadata.MD{}
	if key != nil {
		md.Set("x-textile-api-key", key.Key)
	}
	if tok != "" {
		md.Set("authorization", "bearer "+string(tok))
	}
	ctx := metadata.NewIncomingContext(context.Background(), md)
	_, err := f.g.UnaryInterceptor()(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, f.node.handler(id))
	return err
}

// newDB creates id with a name of its own: names are unique per identity.
func newDB(id thread.ID) any { return &pb.NewDBRequest{DbID: id.Bytes(), Name: dbName(id)} }

func dbName(id thread.ID) string {
	s := id.String()
	return "db-" + s[len(s)-8:]
}

func createThread(id thread.ID) any { return &netpb.CreateThreadRequest{ThreadID: id.Bytes()} }

func wantUnusable(t *testing.T, what string, err error) {
	t.Helper()
	if got := status.Convert(err); got.Code() != codes.InvalidArgument || got.Message() != UnusableThread {
		t.Fatalf("%s: got %v %q, want the uniform refusal %v %q", what, got.Code(), got.Message(), codes.InvalidArgument, UnusableThread)
	}
}

// A user key creates only what is free or its own: a thread another identity owns, one
// the node holds without an owner, and another identity's reservation are all refused
// before go-threads is called, with the one answer a malformed ID gets, and no owner
// record ever changes hands.
func TestCreateByUserNeverTakesAThread(t *testing.T) {
	const (
		newDBMethod   = threadsAPI + "NewDB"
		createMethod  = netAPI + "CreateThread"
		addMethod     = netAPI + "AddThread"
		fromAddrMethd = threadsAPI + "NewDBFromAddr"
	)
	tests := []struct {
		name     string
		method   string
		record   string // "", "mine" or "other": the owner record before the call
		present  bool   // the node holds the thread before the call
		refused  bool   // the uniform refusal, without calling go-threads
		wantErr  string // otherwise go-threads' answer, if any
		wantRec  string // the owner record after the call
		fail     error
		arriving bool
	}{
		{name: "free ID", method: newDBMethod, wantRec: "mine"},
		{name: "free ID, net", method: createMethod, wantRec: "mine"},
		{name: "free ID, the call fails", method: newDBMethod, fail: status.Error(codes.Internal, "disk full"), wantErr: "disk full"},
		{name: "free ID, a peer pushes it during the call", method: createMethod, fail: errors.New("service-key mismatch"), arriving: true, refused: true},
		{name: "own record, thread lost in a crash: repaired", method: newDBMethod, record: "mine", wantRec: "mine"},
		{name: "own thread: go-threads answers", method: newDBMethod, record: "mine", present: true, wantErr: "db already exists", wantRec: "mine"},
		{name: "another identity's thread", method: newDBMethod, record: "other", present: true, refused: true, wantRec: "other"},
		{name: "another identity's thread, net", method: createMethod, record: "other", present: true, refused: true, wantRec: "other"},
		{name: "another identity's reservation", method: createMethod, record: "other", refused: true, wantRec: "other"},
		{name: "a thread without an owner", method: createMethod, present: true, refused: true},
		{name: "a thread without an owner, NewDB", method: newDBMethod, present: true, refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGuardFixture(t, AuthKeys)
			me, tok := f.identity(t)
			other, _ := f.identity(t)
			id := thread.NewIDV1(thread.Raw, 32)
			who := map[string]string{"mine": me, "other": other}
			if tt.record != "" {
				if err := f.g.Owners.Put(Owner{ThreadID: id, Identity: who[tt.record], DB: true}); err != nil {
					t.Fatal(err)
				}
			}
			f.node.threads[id] = tt.present
			f.node.fail, f.node.arrive = tt.fail, tt.arriving
			req := newDB(id)
			if tt.method == createMethod {
				req = createThread(id)
			}
			err := f.call(&f.user, tok, tt.method, req, id)
			switch {
			case tt.refused:
				wantUnusable(t, tt.method, err)
				if f.node.calls != 0 && !tt.arriving {
					t.Fatal("go-threads was called for a refused create")
				}
			case tt.wantErr != "":
				if err == nil || status.Convert(err).Message() != tt.wantErr {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("refused: %v", err)
			}
			rec, ok := f.g.Owners.Get(id)
			switch {
			case tt.wantRec == "" && ok:
				t.Fatalf("owner record %+v left, want none", rec)
			case tt.wantRec != "" && (!ok || rec.Identity != who[tt.wantRec]):
				t.Fatalf("owner record %+v (%v), want %s's", rec, ok, tt.wantRec)
			}
		})
	}

	// Every unusable ID reads the same, whatever the reason and the method.
	f := newGuardFixture(t, AuthKeys)
	_, tok := f.identity(t)
	bad := []byte{0x02, 0x55, 0x01}
	noThread := ma.StringCast("/ip4/127.0.0.1/tcp/4006")
	for what, c := range map[string]struct {
		method string
		req    any
	}{
		"NewDB of a malformed ID":                  {newDBMethod, &pb.NewDBRequest{DbID: bad}},
		"NewDB without an ID":                      {newDBMethod, &pb.NewDBRequest{}},
		"CreateThread of a malformed ID":           {createMethod, &netpb.CreateThreadRequest{ThreadID: bad}},
		"AddThread of bytes that are no address":   {addMethod, &netpb.AddThreadRequest{Addr: bad}},
		"AddThread of an address without a thread": {addMethod, &netpb.AddThreadRequest{Addr: noThread.Bytes()}},
		"NewDBFromAddr of an address without one":  {fromAddrMethd, &pb.NewDBFromAddrRequest{Addr: noThread.Bytes()}},
	} {
		wantUnusable(t, what, f.call(&f.user, tok, c.method, c.req, thread.Undef))
	}
	if f.node.calls != 0 {
		t.Fatalf("go-threads was called %d times for malformed IDs", f.node.calls)
	}

	// A join from the server's own address of a thread it does not hold cannot work, and
	// answers as one it holds does, so that such joins do not tell which IDs are in use.
	self, err := peer.IDFromPrivateKey(f.hostKey)
	if err != nil {
		t.Fatal(err)
	}
	absent := thread.NewIDV1(thread.Raw, 32)
	fromSelf := ma.StringCast("/ip4/127.0.0.1/tcp/4006/p2p/" + self.String() + "/thread/" + absent.String())
	wantUnusable(t, "AddThread from this server of a thread it lacks", f.call(&f.user, tok, addMethod, &netpb.AddThreadRequest{Addr: fromSelf.Bytes()}, absent))
	wantUnusable(t, "NewDBFromAddr from this server of a thread it lacks", f.call(&f.user, tok, fromAddrMethd, &pb.NewDBFromAddrRequest{Addr: fromSelf.Bytes()}, absent))
	if f.node.calls != 0 {
		t.Fatal("go-threads was called for a join from this server of a thread it lacks")
	}
	if _, ok := f.g.Owners.Get(absent); ok {
		t.Fatal("a refused join from this server left an owner record")
	}
	// From another peer, the same ID is free.
	if err := f.call(&f.user, tok, addMethod, &netpb.AddThreadRequest{Addr: addrOf(absent).Bytes()}, absent); err != nil {
		t.Fatalf("AddThread of a free ID from another peer: %v", err)
	}
}

// Operators (an account key, or any caller when keys are not checked) act on any thread,
// but their calls never hand over an owner record, nor give a thread to another identity's
// reservation.
func TestCreateByOperatorNeverMovesARecord(t *testing.T) {
	for _, mode := range []Mode{AuthKeys, AuthNone} {
		t.Run(mode.String(), func(t *testing.T) {
			f := newGuardFixture(t, mode)
			var key *Key
			if mode == AuthKeys {
				key = &f.account
			}
			me, tok := f.identityFor(t, key)
			alice, _ := f.identityFor(t, key)

			owned := thread.NewIDV1(thread.Raw, 32)
			if err := f.g.Owners.Put(Owner{ThreadID: owned, Identity: alice, DB: true}); err != nil {
				t.Fatal(err)
			}
			f.node.threads[owned] = true
			f.node.fail = nil
			if err := f.call(key, tok, netAPI+"AddThread", &netpb.AddThreadRequest{Addr: addrOf(owned).Bytes()}, owned); err != nil {
				t.Fatalf("AddThread of Alice's thread by an operator: %v", err)
			}
			if rec, _ := f.g.Owners.Get(owned); rec.Identity != alice {
				t.Fatalf("Alice's record became %+v", rec)
			}

			unowned := thread.NewIDV1(thread.Raw, 32)
			f.node.threads[unowned] = true
			_ = f.call(key, tok, netAPI+"CreateThread", createThread(unowned), unowned)
			if rec, ok := f.g.Owners.Get(unowned); ok {
				t.Fatalf("a thread without an owner got one: %+v", rec)
			}

			reserved := thread.NewIDV1(thread.Raw, 32)
			if err := f.g.Owners.Put(Owner{ThreadID: reserved, Identity: alice, DB: true}); err != nil {
				t.Fatal(err)
			}
			calls := f.node.calls
			err := f.call(key, tok, threadsAPI+"NewDB", newDB(reserved), reserved)
			if status.Code(err) != codes.FailedPrecondition || f.node.calls != calls {
				t.Fatalf("NewDB on Alice's reservation: %v (go-threads called: %v), want FailedPrecondition", err, f.node.calls != calls)
			}

			fresh := thread.NewIDV1(thread.Raw, 32)
			if err := f.call(key, tok, threadsAPI+"NewDB", newDB(fresh), fresh); err != nil {
				t.Fatal(err)
			}
			if !f.g.Owners.Owns(me, fresh) {
				t.Fatal("the operator's new database has no owner record")
			}
			if mode == AuthKeys {
				// Without a token the node's own identity acts: nothing is recorded.
				anon := thread.NewIDV1(thread.Raw, 32)
				if err := f.call(key, "", netAPI+"CreateThread", createThread(anon), anon); err != nil {
					t.Fatal(err)
				}
				if _, ok := f.g.Owners.Get(anon); ok {
					t.Fatal("a create without a token recorded an owner")
				}
			}
		})
	}
}

func addrOf(id thread.ID) ma.Multiaddr {
	return ma.StringCast("/ip4/127.0.0.1/tcp/4006/p2p/12D3KooWQ3W5Z5bwPwJuUHwzyF9kA7vtasZprujAokM97emHKzvu/thread/" + id.String())
}
