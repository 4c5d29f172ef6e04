package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/peer"
	ma "github.com/multiformats/go-multiaddr"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
)

// fourNodes opens nodes A, B, C and D on loopback; B, C and D add a thread A created, and
// C knows everyone's log, as it would after exchanges with B and D (pulling is off here).
func fourNodes(t *testing.T, ctx context.Context) (a, b, c, d *Node, id thread.ID) {
	t.Helper()
	open := func(name string) *Node {
		return openTestNode(t, name, Options{NoNetPulling: true, IncludePrivateAddrs: true})
	}
	a, b, c, d = open("a"), open("b"), open("c"), open("d")
	id = thread.NewIDV1(thread.Raw, 32)
	key := thread.NewRandomKey()
	if _, err := a.net.CreateThread(ctx, id, core.WithThreadKey(key)); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Node{b, c, d} {
		addr := ma.StringCast(a.HostAddrs()[0] + "/thread/" + id.String())
		if _, err := n.net.AddThread(ctx, addr, core.WithThreadKey(key)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []*Node{b, d} {
		lg := ownLog(t, n, id)
		lg.PrivKey, lg.Managed = nil, false
		if err := c.net.store.AddLog(id, lg); err != nil {
			t.Fatal(err)
		}
	}
	return a, b, c, d, id
}

// ownLog is n's own log in thread id.
func ownLog(t *testing.T, n *Node, id thread.ID) thread.LogInfo {
	t.Helper()
	logs, err := n.net.store.GetManagedLogs(id)
	if err != nil || len(logs) != 1 {
		t.Fatalf("own logs: %v, %v; want one", logs, err)
	}
	return logs[0]
}

func logByID(t *testing.T, n *Node, id thread.ID, lid peer.ID) (thread.LogInfo, bool) {
	t.Helper()
	info, err := n.net.store.GetThread(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, lg := range info.Logs {
		if lg.ID == lid {
			return lg, true
		}
	}
	return thread.LogInfo{}, false
}

func hasPeer(addrs []ma.Multiaddr, pid string) bool {
	for _, a := range addrs {
		if strings.HasSuffix(a.String(), "/p2p/"+pid) {
			return true
		}
	}
	return false
}

// C makes B a replicator of a thread it shares with A, B and D: B learns C's log at once,
// A and D learn that C's log now lists B, and (under -race) the pushes to A and D do not
// race, as go-threads' own AddReplicator's do.
func TestAddReplicatorTellsEveryPeer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b, c, d, id := fourNodes(t, ctx)
	cLog := ownLog(t, c, id)
	if _, ok := logByID(t, b, id, cLog.ID); ok {
		t.Fatal("B knows C's log before any push; the test proves nothing")
	}

	pid, err := c.net.AddReplicator(ctx, id, ma.StringCast(b.HostAddrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	if pid.String() != b.HostID() {
		t.Errorf("replicator %s, want B %s", pid, b.HostID())
	}
	if got := ownLog(t, c, id); !hasPeer(got.Addrs, b.HostID()) {
		t.Errorf("C's log lists %v, want B among them", got.Addrs)
	}
	if lg, ok := logByID(t, b, id, cLog.ID); !ok {
		t.Error("B was not told of C's log")
	} else if !hasPeer(lg.Addrs, b.HostID()) {
		t.Errorf("B has C's log with %v, want B among them", lg.Addrs)
	}
	for name, n := range map[string]*Node{"A": a, "D": d} {
		if lg, ok := logByID(t, n, id, cLog.ID); !ok || !hasPeer(lg.Addrs, b.HostID()) {
			t.Errorf("%s has C's log %v (known: %v), want it listing B", name, lg.Addrs, ok)
		}
	}
}

// A replicator that cannot be reached is not added: C's log keeps its addresses.
func TestAddReplicatorUndoesAFailedAdd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _, c, _, id := fourNodes(t, ctx)
	before := ownLog(t, c, id)

	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.net.AddReplicator(ctx, id, ma.StringCast("/ip4/127.0.0.1/tcp/1/p2p/"+nobody.String())); err == nil {
		t.Fatal("adding an unreachable replicator succeeded")
	}
	after := ownLog(t, c, id)
	if hasPeer(after.Addrs, nobody.String()) || len(after.Addrs) != len(before.Addrs) {
		t.Errorf("after a failed add C's log lists %v, want %v", after.Addrs, before.Addrs)
	}
}
