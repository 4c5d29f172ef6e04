package hubauth

import (
	"context"
	"fmt"
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

// callNamed is f.call with the Hub's thread name header.
func (f *guardFixture) callNamed(tok thread.Token, name, method string, req any, id thread.ID) error {
	md := metadata.Pairs("authorization", "bearer "+string(tok), HeaderThreadName, name)
	ctx := metadata.NewIncomingContext(context.Background(), md)
	_, err := f.g.UnaryInterceptor()(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, f.node.handler(id))
	return err
}

// threadAddr is a peer's address of thread id, as a join carries it.
func threadAddr(t *testing.T, id thread.ID) []byte {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return ma.StringCast(fmt.Sprintf("/ip4/127.0.0.1/tcp/4006/p2p/%s/thread/%s", pid, id)).Bytes()
}

// The header names the thread of each of the four creates; on the two database creates it
// is also the name go-threads is given.
func TestHeaderNamesEveryCreate(t *testing.T) {
	f := newGuardFixture(t, AuthNone)
	_, tok := f.identity(t)
	for i, c := range []struct {
		method string
		req    func(id thread.ID) any
		dbName func(req any) *string
	}{
		{threadsAPI + "NewDB", func(id thread.ID) any { return &pb.NewDBRequest{DbID: id.Bytes(), Name: "request"} },
			func(r any) *string { return &r.(*pb.NewDBRequest).Name }},
		{threadsAPI + "NewDBFromAddr", func(id thread.ID) any {
			return &pb.NewDBFromAddrRequest{Addr: threadAddr(t, id), Name: "request"}
		}, func(r any) *string { return &r.(*pb.NewDBFromAddrRequest).Name }},
		{netAPI + "CreateThread", func(id thread.ID) any { return &netpb.CreateThreadRequest{ThreadID: id.Bytes()} }, nil},
		{netAPI + "AddThread", func(id thread.ID) any { return &netpb.AddThreadRequest{Addr: threadAddr(t, id)} }, nil},
	} {
		id := thread.NewIDV1(thread.Raw, 32)
		name := fmt.Sprintf("header-%d", i)
		req := c.req(id)
		if err := f.callNamed(tok, name, c.method, req, id); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		if rec, _ := f.g.Owners.Get(id); rec.Name != name {
			t.Fatalf("%s: recorded name %q, want the header's %q", c.method, rec.Name, name)
		}
		if c.dbName != nil && *c.dbName(req) != name {
			t.Fatalf("%s: go-threads is given %q, want the header's %q", c.method, *c.dbName(req), name)
		}
	}
}

// Concurrent creates of one name by one identity, through every create, make one thread:
// the name check and the owner record happen under the identity's lock.
func TestConcurrentCreatesOfOneNameMakeOne(t *testing.T) {
	f := newGuardFixture(t, AuthNone)
	_, tok := f.identity(t)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := thread.NewIDV1(thread.Raw, 32)
			if i%2 == 0 {
				errs[i] = f.call(nil, tok, threadsAPI+"NewDB", &pb.NewDBRequest{DbID: id.Bytes(), Name: []string{"Race", "RACE"}[i/2%2]}, id)
			} else {
				errs[i] = f.callNamed(tok, "race", netAPI+"CreateThread", &netpb.CreateThreadRequest{ThreadID: id.Bytes()}, id)
			}
		}()
	}
	wg.Wait()
	made := 0
	for _, err := range errs {
		switch status.Code(err) {
		case codes.OK:
			made++
		case codes.AlreadyExists:
		default:
			t.Fatalf("a create of a taken name: %v, want AlreadyExists", err)
		}
	}
	if made != 1 || len(f.g.Owners.List("")) != 1 {
		t.Fatalf("%d creates of one name succeeded, %d records; want one", made, len(f.g.Owners.List("")))
	}
}
