package node

import (
	"fmt"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// addrPolicy decides which addresses the host announces: to peers through libp2p's
// identify protocol, and in the addresses of every thread (and so in `db info` and in
// invites).
type addrPolicy struct {
	// announce replaces the listen addresses when set: the operator knows the address
	// peers reach this host at (a public IP behind NAT, a DNS name).
	announce []ma.Multiaddr
	// includePrivate keeps loopback, private and link-local addresses, which peers on
	// other networks cannot use; for a LAN, or two daemons on one machine.
	includePrivate bool
}

func newAddrPolicy(announce []string, includePrivate bool) (addrPolicy, error) {
	p := addrPolicy{includePrivate: includePrivate}
	for _, s := range announce {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return p, fmt.Errorf("invalid --announce-addr %q: %w", s, err)
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err == nil {
			return p, fmt.Errorf("invalid --announce-addr %q: leave out /p2p/ID, it is added for you", s)
		}
		if _, err := a.ValueForProtocol(ma.P_TCP); err != nil {
			return p, fmt.Errorf("invalid --announce-addr %q: it needs a /tcp/PORT, like /ip4/203.0.113.7/tcp/4006", s)
		}
		p.announce = append(p.announce, a)
	}
	return p, nil
}

// filter is the host's address factory.
func (p addrPolicy) filter(listen []ma.Multiaddr) []ma.Multiaddr {
	if len(p.announce) > 0 {
		return p.announce
	}
	if p.includePrivate {
		return listen
	}
	out := make([]ma.Multiaddr, 0, len(listen))
	for _, a := range listen {
		if Reachable(a) {
			out = append(out, a)
		}
	}
	return out
}

// Reachable reports whether peers on other networks could dial a: a DNS name, or a
// public IP. Loopback, private, link-local and unspecified addresses are not.
func Reachable(a ma.Multiaddr) bool {
	dns := false
	ma.ForEach(a, func(c ma.Component) bool {
		switch c.Protocol().Code {
		case ma.P_DNS, ma.P_DNS4, ma.P_DNS6, ma.P_DNSADDR:
			dns = true
		}
		return true
	})
	if dns {
		return true
	}
	if manet.IsIPLoopback(a) || manet.IsIPUnspecified(a) || manet.IsIP6LinkLocal(a) || manet.IsPrivateAddr(a) {
		return false
	}
	return manet.IsPublicAddr(a)
}

// ValidateAnnounceAddrs checks --announce-addr values before anything is opened.
func ValidateAnnounceAddrs(addrs []string) error {
	_, err := newAddrPolicy(addrs, false)
	return err
}
