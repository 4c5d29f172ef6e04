package server

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/node"
)

// peer is an embedded node with a client, as the embedded default runs one.
func peer(t *testing.T, opts node.Options) (*Embedded, *hub.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.Dir = filepath.Join(t.TempDir(), "node")
	opts.NoNetPulling = true
	opts.IncludePrivateAddrs = true
	e, err := OpenEmbedded(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := hub.New(hub.Options{Local: func(context.Context) (hub.LocalServer, error) { return e, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return e, c
}

var notes = hub.Collection{Name: "notes", Schema: json.RawMessage(`{"type":"object","properties":{"_id":{"type":"string"},"n":{"type":"integer"}}}`)}

// seed creates a database with n records (one instance each) and returns it with its key.
func seed(t *testing.T, c *hub.Client, records int) (hub.DB, thread.Key) {
	t.Helper()
	ctx := context.Background()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, "demo"); err != nil {
		t.Fatal(err)
	}
	if err := c.NewCollection(ctx, id, notes); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < records; i++ {
		if _, err := c.CreateInstances(ctx, id, "notes", [][]byte{[]byte(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	db, err := c.GetDB(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	key, err := thread.KeyFromString(db.Key)
	if err != nil {
		t.Fatal(err)
	}
	return db, key
}

// A join from an address no peer answers fails and leaves nothing behind, so a join from
// a good address succeeds right after; go-threads alone answers it "log already exists".
func TestFailedJoinLeavesNothing(t *testing.T) {
	ctx := context.Background()
	_, a := peer(t, node.Options{})
	eb, b := peer(t, node.Options{})
	db, key := seed(t, a, 3)
	id, _ := thread.Decode(db.ID)
	good := ma.StringCast(db.Addrs[0])
	peerID, _ := good.ValueForProtocol(ma.P_P2P)
	dead := ma.StringCast("/ip4/127.0.0.1/tcp/1/p2p/" + peerID + "/thread/" + db.ID)

	err := b.JoinDB(ctx, dead, key, "demo", []hub.Collection{notes})
	if err == nil {
		t.Fatal("joined from a dead address")
	}
	if had, err := eb.Node().HasThread(ctx, id); err != nil || had {
		t.Fatalf("after the failed join, B holds the thread: %v %v", had, err)
	}
	if err := b.JoinDB(ctx, good, key, "demo", []hub.Collection{notes}); err != nil {
		t.Fatalf("join after a failed one: %v", err)
	}
	if res, err := b.Pull(ctx, id); err != nil || res.Records != 3 {
		t.Fatalf("pull: %+v %v, want 3 records", res, err)
	}
}

// hubctl's servers report the host's addresses and the other peers that keep a database.
func TestServersReportPeerAddresses(t *testing.T) {
	ctx := context.Background()
	ea, a := peer(t, node.Options{})
	_, b := peer(t, node.Options{})
	h, err := a.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !h.AddrsKnown || h.PeerID != ea.Node().HostID() || len(h.Addrs) == 0 ||
		!strings.HasSuffix(h.Addrs[0], "/p2p/"+h.PeerID) || len(h.Listen) == 0 {
		t.Fatalf("host %+v, want A's peer ID with its addresses", h)
	}
	db, key := seed(t, a, 1)
	if len(db.PeerAddrs) != 0 {
		t.Errorf("a database no peer joined has peer addresses %v", db.PeerAddrs)
	}
	id, _ := thread.Decode(db.ID)
	if err := b.JoinDB(ctx, ma.StringCast(db.Addrs[0]), key, "", []hub.Collection{notes}); err != nil {
		t.Fatal(err)
	}
	hb, err := b.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// B's log reaches A with B's first record.
	if _, err := b.CreateInstances(ctx, id, "notes", [][]byte{[]byte(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := a.GetDB(ctx, id, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.PeerAddrs) > 0 {
			if !strings.Contains(got.PeerAddrs[0], "/p2p/"+hb.PeerID+"/thread/"+db.ID) {
				t.Errorf("A reports peer addresses %v, want B's (%s)", got.PeerAddrs, hb.PeerID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A never reported B among the database's peers")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
