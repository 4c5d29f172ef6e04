package hub

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/core/thread"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Headers hubctl's servers add to net GetHostID (see pkg/server): go-threads' API has no
// call that reports the host's addresses.
const (
	headerHostAddrs   = "hubctl-host-addrs"
	headerListenAddrs = "hubctl-listen-addrs"
	headerPeerAddrs   = "hubctl-peer-addrs"
)

// Host is the server's libp2p host.
type Host struct {
	PeerID string `json:"peerId"`
	// Addrs are the addresses the server announces to peers (with /p2p/ID).
	Addrs []string `json:"addrs"`
	// Listen are the addresses its host listens on, announced or not.
	Listen []string `json:"listenAddrs"`
	// AddrsKnown is false for servers that do not report addresses (plain go-threads).
	AddrsKnown bool `json:"addrsKnown"`
}

// Host asks the server for its peer ID and addresses.
func (c *Client) Host(ctx context.Context) (Host, error) {
	var rep *netpb.GetHostIDReply
	var md metadata.MD
	err := c.CallNet(ctx, func(ctx context.Context, api netpb.APIClient) (err error) {
		rep, err = api.GetHostID(ctx, &netpb.GetHostIDRequest{}, grpc.Header(&md))
		return err
	})
	if err != nil {
		return Host{}, err
	}
	id, err := peer.IDFromBytes(rep.PeerID)
	if err != nil {
		return Host{}, fmt.Errorf("the server sent a bad peer ID: %w", err)
	}
	h := Host{PeerID: id.String(), Addrs: []string{}, Listen: []string{}}
	if v := md.Get(headerHostAddrs); len(v) > 0 {
		h.AddrsKnown = true
		h.Addrs = splitAddrs(v[0])
	}
	if v := md.Get(headerListenAddrs); len(v) > 0 {
		h.Listen = splitAddrs(v[0])
	}
	return h, nil
}

func splitAddrs(s string) []string {
	out := []string{}
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Thread is a thread as the server's net API describes it: its logs (one per writer) and
// their heads.
type Thread struct {
	ID string `json:"id"`
	// Key is the thread key, filled in only on request.
	Key string `json:"key,omitempty"`
	// Records counts the records of every log the server holds.
	Records int64 `json:"records"`
	// Peers are the other peers the logs are kept on (writers and replicators).
	Peers []string `json:"peers"`
	Logs  []Log    `json:"logs"`
}

// Log is one writer's log of a thread.
type Log struct {
	ID string `json:"id"`
	// Own logs are written by this server (it holds their private key).
	Own bool `json:"own"`
	// Head is the CID of the latest record ("" for an empty log); Records counts them.
	Head    string   `json:"head"`
	Records int64    `json:"records"`
	Addrs   []string `json:"addrs"`
	// PrivKey signs the log's records; filled in only on request.
	PrivKey string `json:"privKey,omitempty"`
}

// Thread describes a thread; withKeys adds the thread key and the logs' private keys.
func (c *Client) Thread(ctx context.Context, id thread.ID, withKeys bool) (Thread, error) {
	var rep *netpb.ThreadInfoReply
	err := c.CallNet(ctx, func(ctx context.Context, api netpb.APIClient) (err error) {
		rep, err = api.GetThread(ctx, &netpb.GetThreadRequest{ThreadID: id.Bytes()})
		return err
	})
	if err != nil {
		return Thread{}, notFoundAs(err, fmt.Sprintf("thread %s does not exist on this server", id))
	}
	t := Thread{ID: id.String(), Peers: []string{}, Logs: []Log{}}
	if withKeys && len(rep.ThreadKey) > 0 {
		k, err := thread.KeyFromBytes(rep.ThreadKey)
		if err != nil {
			return Thread{}, fmt.Errorf("the server sent a bad key for %s: %w", id, err)
		}
		t.Key = k.String()
	}
	// The server is not its own peer. Its addresses name it, but a server that announces
	// none (a daemon on loopback without --include-private-addrs) reports none, and the
	// /p2p/ID in its own logs' addresses then counted it: the host's ID says which it is.
	self := map[string]bool{}
	if h, err := c.Host(ctx); err == nil {
		self[h.PeerID] = true
	}
	for _, b := range rep.Addrs {
		if a, err := ma.NewMultiaddrBytes(b); err == nil {
			if p, err := a.ValueForProtocol(ma.P_P2P); err == nil {
				self[p] = true
			}
		}
	}
	peers := map[string]bool{}
	for _, l := range rep.Logs {
		lg, err := logFromPb(l, withKeys)
		if err != nil {
			return Thread{}, fmt.Errorf("the server sent a bad log for %s: %w", id, err)
		}
		for _, a := range lg.Addrs {
			if m, err := ma.NewMultiaddr(a); err == nil {
				if p, err := m.ValueForProtocol(ma.P_P2P); err == nil && !self[p] {
					peers[p] = true
				}
			}
		}
		t.Records += lg.Records
		t.Logs = append(t.Logs, lg)
	}
	for p := range peers {
		t.Peers = append(t.Peers, p)
	}
	sort.Strings(t.Peers)
	sort.Slice(t.Logs, func(i, j int) bool {
		if t.Logs[i].Own != t.Logs[j].Own {
			return t.Logs[i].Own
		}
		return t.Logs[i].ID < t.Logs[j].ID
	})
	return t, nil
}

func logFromPb(l *netpb.LogInfo, withKeys bool) (Log, error) {
	id, err := peer.IDFromBytes(l.ID)
	if err != nil {
		return Log{}, err
	}
	lg := Log{ID: id.String(), Own: len(l.PrivKey) > 0, Addrs: []string{}}
	if len(l.Head) > 0 {
		head, err := cid.Cast(l.Head)
		if err != nil {
			return Log{}, err
		}
		if head.Defined() {
			lg.Head = head.String()
		}
	}
	if len(l.Counter) > 0 {
		n, size := binary.Varint(l.Counter)
		if size <= 0 {
			return Log{}, fmt.Errorf("bad record counter")
		}
		lg.Records = n
	}
	for _, b := range l.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return Log{}, err
		}
		lg.Addrs = append(lg.Addrs, a.String())
	}
	if withKeys && lg.Own {
		sk, err := crypto.UnmarshalPrivateKey(l.PrivKey)
		if err != nil {
			return Log{}, err
		}
		raw, err := crypto.MarshalPrivateKey(sk)
		if err != nil {
			return Log{}, err
		}
		lg.PrivKey = base64.StdEncoding.EncodeToString(raw)
	}
	return lg, nil
}

// PullResult is what a pull brought.
type PullResult struct {
	ID      string `json:"id"`
	Pulled  int64  `json:"pulled"`
	Records int64  `json:"records"`
	// Peers counts the other peers known to keep the thread (by their logs), never the
	// server itself.
	Peers int `json:"peers"`
}

// Pull fetches the thread's new records from its peers now (net PullThread) and reports
// what arrived. It is one call, not a loop: go-threads sends each log's newest records (up
// to its per-log limit) and the puller walks the rest of the chain back from them, so a
// pull usually brings everything. A peer far behind fills that chain over bitswap, record
// by record, and may stop short (bench/converge); the records it reports are what truly
// arrived, and later pulls go on from there. Peers that cannot be reached are skipped by
// the server without a word, so a pull that brought nothing may also mean no peer
// answered.
func (c *Client) Pull(ctx context.Context, id thread.ID) (PullResult, error) {
	before, err := c.Thread(ctx, id, false)
	if err != nil {
		return PullResult{}, err
	}
	err = c.CallNet(ctx, func(ctx context.Context, api netpb.APIClient) error {
		_, err := api.PullThread(ctx, &netpb.PullThreadRequest{ThreadID: id.Bytes()})
		return err
	})
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", id, notFoundAs(err, fmt.Sprintf("thread %s does not exist on this server", id)))
	}
	after, err := c.Thread(ctx, id, false)
	if err != nil {
		return PullResult{}, err
	}
	// Thread counts other peers only: "pulled from 1 peer" meant the server itself when
	// it announced no address.
	return PullResult{ID: id.String(), Pulled: after.Records - before.Records, Records: after.Records, Peers: len(after.Peers)}, nil
}

// AddReplicator makes the peer at addr keep a copy of the thread's logs (net
// AddReplicator): the server sends it every log now and every new record from then on,
// and the peer serves them to others while this server is down. The peer gets the
// thread's service key only, so it can store and serve the records but not read them.
func (c *Client) AddReplicator(ctx context.Context, id thread.ID, addr ma.Multiaddr) (string, error) {
	var rep *netpb.AddReplicatorReply
	err := c.CallNet(ctx, func(ctx context.Context, api netpb.APIClient) (err error) {
		rep, err = api.AddReplicator(ctx, &netpb.AddReplicatorRequest{ThreadID: id.Bytes(), Addr: addr.Bytes()})
		return err
	})
	if err != nil {
		return "", notFoundAs(err, fmt.Sprintf("thread %s does not exist on this server", id))
	}
	pid, err := peer.IDFromBytes(rep.PeerID)
	if err != nil {
		return "", fmt.Errorf("the server sent a bad peer ID: %w", err)
	}
	return pid.String(), nil
}

// ParsePeerAddr parses a peer's multiaddr, which must name the peer (/p2p/ID) and should
// say how to reach it.
func ParsePeerAddr(s string) (ma.Multiaddr, error) {
	a, err := ma.NewMultiaddr(strings.TrimSpace(s))
	if err != nil {
		return nil, argErrorf("invalid peer address %q: %v", s, err)
	}
	p, err := a.ValueForProtocol(ma.P_P2P)
	if err != nil {
		return nil, argErrorf("invalid peer address %q: it must end in /p2p/PEER-ID (see hubctl net id on that peer)", s)
	}
	if _, err := peer.Decode(p); err != nil {
		return nil, argErrorf("invalid peer address %q: bad peer ID: %v", s, err)
	}
	if _, err := a.ValueForProtocol(thread.Code); err == nil {
		return nil, argErrorf("invalid peer address %q: that is a thread address; give the peer's address, without /thread/ID", s)
	}
	return a, nil
}

// notFoundAs rewords a NotFound answer.
func notFoundAs(err error, msg string) error {
	var se *ServerError
	if errors.As(err, &se) && se.Class == ErrNotFound {
		return &ServerError{Class: ErrNotFound, Msg: msg}
	}
	return err
}
