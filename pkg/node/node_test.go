package node

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// serve opens a node in dir and serves it on 127.0.0.1:0; it returns a client.
func serve(t *testing.T, dir string) (*Node, *client.Client, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Open(ctx, Options{Dir: dir, NoNetPulling: true})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	n.Register(s)
	go func() { _ = s.Serve(lis) }()
	c, err := client.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return n, c, func() {
		_ = c.Close()
		s.GracefulStop()
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestNodePersistsDBsAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	ctx := context.Background()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := thread.NewIDV1(thread.Raw, 32)

	n, c, stop := serve(t, dir)
	if len(n.ListenAddrs()) == 0 {
		t.Fatal("host has no addresses")
	}
	for _, a := range n.ListenAddrs() {
		if !strings.HasPrefix(a, "/ip4/127.0.0.1/") {
			t.Errorf("host listens on %s, want loopback only", a)
		}
	}
	tok, err := c.GetToken(ctx, thread.NewLibp2pIdentity(sk))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.NewDB(ctx, id, db.WithNewManagedName("demo"), db.WithNewManagedToken(tok)); err != nil {
		t.Fatal(err)
	}
	stop()

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("node dir mode %v, want 0700: the logstore holds thread keys", fi.Mode().Perm())
	}

	_, c, stop = serve(t, dir)
	defer stop()
	info, err := c.GetDBInfo(ctx, id, db.WithManagedToken(tok))
	if err != nil {
		t.Fatalf("DB lost across restart: %v", err)
	}
	if info.Name != "demo" {
		t.Errorf("name %q, want demo", info.Name)
	}
}

func TestLockWaitsThenReportsBusy(t *testing.T) {
	dir := t.TempDir()
	held, err := Lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = Lock(ctx, dir)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Dir != dir || !errors.Is(err, ErrBusy) {
		t.Fatalf("got %v, want a BusyError for %s", err, dir)
	}

	// Released while a second caller waits: the waiter gets it.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		l, err := Lock(ctx, dir)
		if err == nil {
			err = l.Unlock()
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("waiter: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	held, _ = Lock(context.Background(), dir)
	defer held.Unlock()
	if _, err := Lock(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: got %v, want context.Canceled", err)
	}
}
