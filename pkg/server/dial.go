package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
	pb "github.com/textileio/go-threads/api/pb"
	lstore "github.com/textileio/go-threads/core/logstore"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// DialPolicy says which addresses calls made with a user key may make the node dial
// (NewDBFromAddr, AddThread, AddReplicator). The zero value allows any.
type DialPolicy struct {
	restricted bool
	public     bool // addresses of the public internet (publicAddr)
	nets       []netip.Prefix
}

// ParseDialPolicy reads --user-dial: networks in CIDR notation (10.0.0.0/8, fd00::/8),
// single addresses, "public" (the public internet: no loopback, private, link-local,
// shared or special-purpose addresses) or "none" (no address: users cannot join or add
// replicators). No entry at all allows any address.
func ParseDialPolicy(networks []string) (DialPolicy, error) {
	var p DialPolicy
	none := false
	for _, s := range networks {
		s = strings.TrimSpace(s)
		switch strings.ToLower(s) {
		case "none":
			none = true
			continue
		case "public":
			p.public = true
			continue
		}
		pre, err := parseNetwork(s)
		if err != nil {
			return DialPolicy{}, err
		}
		p.nets = append(p.nets, pre)
	}
	if none && (p.public || len(p.nets) > 0) {
		return DialPolicy{}, errors.New(`"none" cannot be given with networks: it allows no address`)
	}
	p.restricted = none || p.public || len(p.nets) > 0
	return p, nil
}

func parseNetwork(s string) (netip.Prefix, error) {
	pre, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not a network in CIDR notation (e.g. 10.0.0.0/8, fd00::/8), an address, \"public\" or \"none\"", s)
		}
		pre = netip.PrefixFrom(a, a.BitLen())
	}
	pre = pre.Masked()
	// An IPv4 network written in IPv6 (::ffff:10.0.0.0/104) is that IPv4 network: dialled
	// addresses are compared unmapped.
	if pre.Addr().Is4In6() && pre.Bits() >= 96 {
		pre = netip.PrefixFrom(pre.Addr().Unmap(), pre.Bits()-96)
	}
	return pre, nil
}

// Restricted reports whether the policy limits the addresses at all.
func (p DialPolicy) Restricted() bool { return p.restricted }

// String is the policy as --user-dial would give it ("any" when unrestricted).
func (p DialPolicy) String() string {
	if !p.restricted {
		return "any"
	}
	var out []string
	if p.public {
		out = append(out, "public")
	}
	for _, n := range p.nets {
		out = append(out, n.String())
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

// allowsIP reports whether a is inside the policy.
func (p DialPolicy) allowsIP(a netip.Addr) bool {
	a = a.Unmap()
	if p.public && publicAddr(a) {
		return true
	}
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// notPublic are the blocks "public" leaves out besides those netip classifies (loopback,
// private, link-local, multicast, unspecified): shared address space (carrier NAT), IETF
// protocol assignments, benchmarking, and the IPv6 prefixes that lead to IPv4 addresses
// (NAT64, 6to4, Teredo), which could reach a private IPv4 network.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2002::/16"),
}

func publicAddr(a netip.Addr) bool {
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, n := range notPublic {
		if n.Contains(a) {
			return false
		}
	}
	return true
}

// transportProtocols are what may follow the IP address in a dialled address under a
// restricting policy. Anything else is refused: DNS names (resolved when dialled, to any
// address), relays (/p2p-circuit: another peer dials for us), unix sockets, onion
// addresses, IPv6 zones.
var transportProtocols = map[int]bool{
	ma.P_TCP: true, ma.P_UDP: true, ma.P_QUIC: true, ma.P_WS: true, ma.P_WSS: true,
}

// check reports why addr is outside the policy, or nil. Under a restricting policy an
// address is an IPv4 or IPv6 address inside an allowed network, transports, the peer
// (/p2p) and, for joins, the thread: one IP address, nothing to resolve, no relay. An
// address that only names the peer is refused too: the node would dial whatever
// addresses it has learnt for that peer.
func (p DialPolicy) check(addr ma.Multiaddr) error {
	if !p.restricted {
		return nil
	}
	var comps []ma.Component
	ma.ForEach(addr, func(c ma.Component) bool {
		comps = append(comps, c)
		return true
	})
	if len(comps) == 0 {
		return errors.New("empty address")
	}
	first := comps[0].Protocol()
	if first.Code != ma.P_IP4 && first.Code != ma.P_IP6 {
		return fmt.Errorf("/%s is not an IP address", first.Name)
	}
	ip, ok := netip.AddrFromSlice(comps[0].RawValue())
	if !ok {
		return errors.New("bad IP address")
	}
	if !p.allowsIP(ip) {
		return fmt.Errorf("%s is outside the allowed networks", ip.Unmap())
	}
	peerSeen := false
	for _, c := range comps[1:] {
		code := c.Protocol().Code
		switch {
		case code == ma.P_P2P && !peerSeen:
			peerSeen = true
		case code == thread.Code && peerSeen:
		case transportProtocols[code] && !peerSeen:
		default:
			return fmt.Errorf("/%s is not allowed there", c.Protocol().Name)
		}
	}
	return nil
}

const methodAddReplicator = "/threads.net.pb.API/AddReplicator"

// PeerUnusable is the one answer to a user key's join (NewDBFromAddr, net AddThread)
// or AddReplicator that failed once the node tried the peer: a closed port, an open one
// that speaks no libp2p, a host that does not answer, a peer that refuses the thread or
// its key. One answer for all of them, so that the daemon cannot be used to tell which
// hosts and ports answer on its networks (the detail goes to the daemon's log).
// FailedPrecondition, not Unavailable: clients take Unavailable to mean that this server
// could not be reached; and hubctl's db join goes on to an invite's next address.
const PeerUnusable = "the peer at this address could not be reached or did not give the thread (the server's log says why); check the address and that the peer runs"

// DialForbidden answers a user key's call whose address the operator's --user-dial
// does not allow. It is decided from the address alone, before anything is dialled, so
// it tells nothing about the host or port.
const DialForbidden = "this server does not dial that address for user keys (its operator's --user-dial allows only some networks, and IP addresses only, no DNS names): use an address in the allowed networks, or ask the operator"

var (
	errPeerUnusable  = status.Error(codes.FailedPrecondition, PeerUnusable)
	errDialForbidden = status.Error(codes.FailedPrecondition, DialForbidden)
)

// dialGuard applies a DialPolicy to the calls that make the node dial, and makes their
// failures uniform, for callers that are not operators (operators are the server's own:
// they dial anywhere and see go-threads' own errors). It is the innermost interceptor,
// so that what it replaces comes from go-threads and libp2p alone, never from hubctl's
// own checks (the guard's refusals, the request and collection checks, quotas, broken
// databases, a join of a thread the server only replicates).
type dialGuard struct {
	policy DialPolicy
	warnf  func(format string, args ...any)
}

func (g *dialGuard) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	var raw []byte
	what := "join of"
	switch info.FullMethod {
	case methodNewDBFromAddr:
		raw = req.(*pb.NewDBFromAddrRequest).Addr
	case methodAddThread:
		raw = req.(*netpb.AddThreadRequest).Addr
	case methodAddReplicator:
		raw = req.(*netpb.AddReplicatorRequest).Addr
		what = "replicator for"
	default:
		return handler(ctx, req)
	}
	if c, ok := hubauth.CallerFromContext(ctx); ok && c.Operator {
		return handler(ctx, req)
	}
	addr, err := ma.NewMultiaddrBytes(raw)
	if err != nil {
		// Nothing is dialled: go-threads refuses it (InvalidArgument), in its own words.
		return handler(ctx, req)
	}
	id := g.threadOf(req, addr)
	if err := g.policy.check(addr); err != nil {
		g.logf("refused a user's %s thread %s at %s: --user-dial (%s) does not allow it: %v", what, id, addr, g.policy, err)
		return nil, errDialForbidden
	}
	if info.FullMethod == methodAddReplicator {
		if _, err := addr.ValueForProtocol(ma.P_P2P); err != nil {
			return nil, status.Error(codes.InvalidArgument, "the replicator address must name the peer: it must end in /p2p/PEER-ID")
		}
	}
	res, err := handler(ctx, req)
	if err == nil || local(err) {
		return res, err
	}
	g.logf("a user's %s thread %s at %s failed: %s", what, id, addr, oneLine(err))
	return nil, errPeerUnusable
}

func (g *dialGuard) logf(format string, args ...any) {
	if g.warnf != nil {
		g.warnf(format, args...)
	}
}

// oneLine is err's message on one line (libp2p lists each address tried on its own).
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// threadOf names the thread of a call, for the log.
func (g *dialGuard) threadOf(req any, addr ma.Multiaddr) string {
	if r, ok := req.(*netpb.AddReplicatorRequest); ok {
		if id, err := thread.Cast(r.ThreadID); err == nil {
			return id.String()
		}
		return "(malformed ID)"
	}
	if id, err := thread.FromAddr(addr); err == nil {
		return id.String()
	}
	return "(no thread ID)"
}

// localErrors are go-threads' answers that come from this node alone, about the request
// or what the caller already holds here (a database or log that already exists: hubctl's
// db join turns that into a rejoin), never from a peer. They are matched by identity, so
// a peer cannot make its refusal pass for one by sending the same words.
var localErrors = []error{
	db.ErrDBExists, lstore.ErrLogExists, lstore.ErrThreadExists,
	db.ErrInvalidName, db.ErrThreadReadKeyRequired, db.ErrInvalidCollectionSchema,
	db.ErrInvalidCollectionSchemaPath, db.ErrCannotIndexIDField, db.ErrCollectionAlreadyRegistered,
	thread.ErrInvalidToken,
}

// local reports whether err is an answer about the request itself that is kept as it is:
// one of localErrors, or go-threads' InvalidArgument for a request it cannot parse (which
// it answers before dialling; libp2p's dial errors are not gRPC statuses, and go-threads'
// peer protocol answers NotFound, Unauthenticated or Internal, never InvalidArgument).
func local(err error) bool {
	for _, l := range localErrors {
		if errors.Is(err, l) {
			return true
		}
	}
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.InvalidArgument
}
