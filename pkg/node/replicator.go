package node

import (
	"context"
	"fmt"
	stdnet "net"
	"sync"
	"time"

	logging "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p-core/peer"
	pstore "github.com/libp2p/go-libp2p-core/peerstore"
	gostream "github.com/libp2p/go-libp2p-gostream"
	ma "github.com/multiformats/go-multiaddr"
	sym "github.com/textileio/crypto/symmetric"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	tnet "github.com/textileio/go-threads/net"
	pb "github.com/textileio/go-threads/net/pb"
	"google.golang.org/grpc"
)

var replLog = logging.Logger("hubctl/replicator")

// AddReplicator makes the peer at paddr keep a copy of thread id and serve it to others.
//
// It follows go-threads v1.1.5 net.AddReplicator step for step, with three fixes:
//   - go-threads tells the thread's other peers from one goroutine per peer, and all of
//     them assign the function's named error: a data race whenever the thread has two
//     other peers. A daemon joining through a replicator (replication_replicator.txtar)
//     made the race detector fail that daemon, and a torn error value could crash the
//     logging of a failed push. Here each push has its own error.
//   - go-threads sends the other peers our logs as they were before the change, which
//     tells them nothing; here they get the logs that list the replicator.
//   - go-threads' undo of a failed add keeps the new address; here it is removed.
func (n *network) AddReplicator(ctx context.Context, id thread.ID, paddr ma.Multiaddr, opts ...core.ThreadOption) (peer.ID, error) {
	args := &core.ThreadOptions{}
	for _, opt := range opts {
		opt(args)
	}
	if _, err := n.Validate(id, args.Token, true); err != nil {
		return "", err
	}
	info, err := n.store.GetThread(id)
	if err != nil {
		return "", err
	}
	transport, pid := peer.SplitAddr(paddr)
	if pid == "" {
		return "", fmt.Errorf("replicator address %s has no /p2p/ peer ID", paddr)
	}
	p2p, err := ma.NewComponent(ma.ProtocolWithCode(ma.P_P2P).Name, pid.String())
	if err != nil {
		return "", err
	}

	// Our own logs list the replicator, so what we write is pushed to it too.
	before, err := n.store.GetManagedLogs(id)
	if err != nil {
		return "", err
	}
	undo := func() {
		for _, lg := range before {
			if hasAddr(lg.Addrs, p2p) {
				continue // it was a replicator already
			}
			// A TTL of 0 deletes the address; SetAddrs with the old list, which is what
			// go-threads does, only refreshes the old ones and keeps the new one.
			if err := n.store.SetAddr(id, lg.ID, p2p, 0); err != nil {
				replLog.Errorf("undoing the replicator in log %s: %v", lg.ID, err)
			}
		}
	}
	for _, lg := range before {
		if err := n.store.AddAddr(id, lg.ID, p2p, pstore.PermanentAddrTTL); err != nil {
			undo()
			return "", err
		}
	}
	if info, err = n.store.GetThread(id); err != nil {
		undo()
		return "", err
	}
	// Our logs as they are now (go-threads pushes them as they were before the change,
	// which tells the other peers nothing).
	var managed []thread.LogInfo
	for _, lg := range info.Logs {
		if lg.Managed {
			managed = append(managed, lg)
		}
	}

	self := n.host.ID()
	if pid != self {
		if transport != nil {
			n.host.Peerstore().AddAddr(pid, transport, pstore.PermanentAddrTTL)
		}
		// The replicator gets every log and the service key, which lets it store and
		// serve the records without being able to read them.
		if err := n.pushLogs(ctx, pid, id, info.Logs, info.Key.Service()); err != nil {
			undo()
			return "", err
		}
	}

	// The other peers learn that our logs now list the replicator, which already has them.
	var wg sync.WaitGroup
	for _, p := range threadPeers(info, self, pid) {
		wg.Add(1)
		go func(p peer.ID) {
			defer wg.Done()
			if err := n.pushLogs(ctx, p, id, managed, nil); err != nil {
				replLog.Errorf("telling %s of the replicator: %v", p, err)
			}
		}(p)
	}
	wg.Wait()
	return pid, nil
}

// pushLogs sends logs of thread id to peer pid over go-threads' libp2p gRPC protocol, as
// go-threads' own pushLog does; sk, when not nil, is the thread's service key.
func (n *network) pushLogs(ctx context.Context, pid peer.ID, id thread.ID, logs []thread.LogInfo, sk *sym.Key) error {
	conn, err := n.dialPeer(ctx, pid)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := pb.NewServiceClient(conn)
	for _, lg := range logs {
		body := &pb.PushLogRequest_Body{
			ThreadID: &pb.ProtoThreadID{ID: id},
			Log: &pb.Log{
				ID:      &pb.ProtoPeerID{ID: lg.ID},
				PubKey:  &pb.ProtoPubKey{PubKey: lg.PubKey},
				Addrs:   protoAddrs(lg.Addrs),
				Head:    &pb.ProtoCid{Cid: lg.Head.ID},
				Counter: lg.Head.Counter,
			},
		}
		if sk != nil {
			body.ServiceKey = &pb.ProtoKey{Key: sk}
		}
		pushCtx, cancel := context.WithTimeout(ctx, tnet.PushTimeout)
		_, err := client.PushLog(pushCtx, &pb.PushLogRequest{Body: body})
		cancel()
		if err != nil {
			return fmt.Errorf("push log %s to %s: %w", lg.ID, pid, err)
		}
	}
	return nil
}

// dialPeer opens a connection to go-threads' libp2p gRPC service of peer pid, as
// go-threads dials its peers.
func (n *network) dialPeer(ctx context.Context, pid peer.ID, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	dialCtx, cancel := context.WithTimeout(ctx, tnet.DialTimeout)
	defer cancel()
	opts = append([]grpc.DialOption{
		grpc.WithInsecure(), // libp2p secures the stream
		grpc.WithContextDialer(func(ctx context.Context, _ string) (stdnet.Conn, error) {
			return gostream.Dial(ctx, n.host, pid, thread.Protocol)
		})}, opts...)
	conn, err := grpc.DialContext(dialCtx, pid.String(), opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", pid, err)
	}
	return conn, nil
}

// threadPeers are the peers the logs of a thread list, but for the ones in except.
func threadPeers(info thread.Info, except ...peer.ID) []peer.ID {
	seen := map[peer.ID]bool{}
	for _, p := range except {
		seen[p] = true
	}
	var peers []peer.ID
	for _, lg := range info.Logs {
		for _, addr := range lg.Addrs {
			if p, err := addr.ValueForProtocol(ma.P_P2P); err == nil {
				if other, err := peer.Decode(p); err == nil && !seen[other] {
					seen[other] = true
					peers = append(peers, other)
				}
			}
		}
	}
	return peers
}

func hasAddr(addrs []ma.Multiaddr, addr ma.Multiaddr) bool {
	for _, a := range addrs {
		if a.Equal(addr) {
			return true
		}
	}
	return false
}

func protoAddrs(addrs []ma.Multiaddr) []pb.ProtoAddr {
	out := make([]pb.ProtoAddr, len(addrs))
	for i, a := range addrs {
		out[i] = pb.ProtoAddr{Multiaddr: a}
	}
	return out
}

// announceTimeout bounds announceLogs.
const announceTimeout = 5 * time.Second

// announceLogs sends this node's own logs of a thread to the thread's other peers, as
// AddReplicator does for the replicator's; a peer that cannot be told learns them at the
// next exchange of edges, as before.
func (n *network) announceLogs(ctx context.Context, info thread.Info) {
	var own []thread.LogInfo
	for _, lg := range info.Logs {
		if lg.Managed {
			own = append(own, lg)
		}
	}
	if len(own) == 0 {
		return
	}
	// Bounded: the join waits for it, and a peer that is down fails at once on loopback
	// but may not elsewhere.
	ctx, cancel := context.WithTimeout(ctx, announceTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range threadPeers(info, n.host.ID()) {
		wg.Add(1)
		go func(p peer.ID) {
			defer wg.Done()
			if err := n.pushLogs(ctx, p, info.ID, own, nil); err != nil {
				replLog.Debugf("telling %s of our log in thread %s: %v", p, info.ID, err)
			}
		}(p)
	}
	wg.Wait()
}
