// Package hub is hubctl's client side: it turns settings into a target, dials it once per
// process, signs every call the way the Textile Hub expects (API key, signature, user
// token), keeps user tokens in a cache, and maps the server's errors to hubctl's classes.
package hub

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrInvalidTarget is a server address or TLS setting hubctl cannot use.
var ErrInvalidTarget = errors.New("invalid server address")

// Target is where calls go: a server address, or (when Addr is empty) the embedded node.
type Target struct {
	Addr     string // host:port
	TLS      bool
	CAFile   string
	Insecure bool
}

// Embedded reports whether the target is hubctl's in-process node.
func (t Target) Embedded() bool { return t.Addr == "" }

// String names the target in messages.
func (t Target) String() string {
	if t.Embedded() {
		return "the embedded node"
	}
	return t.Addr
}

// ParseTarget checks a server address and the TLS settings that go with it. The address is
// host:port; a multiaddr such as /ip4/127.0.0.1/tcp/6006 (as go-threads prints them) is
// accepted too. Port 443 implies TLS. An empty address selects the embedded node.
func ParseTarget(addr string, useTLS bool, caFile string, insecure bool) (Target, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		if useTLS || caFile != "" || insecure {
			return Target{}, fmt.Errorf("%w: --tls, --ca-file and --insecure need a server: set --api HOST:PORT", ErrInvalidTarget)
		}
		return Target{}, nil
	}
	hostport, err := normalizeAddr(addr)
	if err != nil {
		return Target{}, fmt.Errorf("%w %q: %v", ErrInvalidTarget, addr, err)
	}
	_, port, _ := net.SplitHostPort(hostport)
	t := Target{Addr: hostport, TLS: useTLS || port == "443", CAFile: caFile, Insecure: insecure}
	if !t.TLS && (caFile != "" || insecure) {
		return Target{}, fmt.Errorf("%w: --ca-file and --insecure apply to TLS connections only: add --tls", ErrInvalidTarget)
	}
	return t, nil
}

func normalizeAddr(addr string) (string, error) {
	if strings.Contains(addr, "://") {
		return "", errors.New("use HOST:PORT without a scheme, e.g. 127.0.0.1:6006 (add --tls for TLS)")
	}
	if strings.HasPrefix(addr, "/") {
		return fromMultiaddr(addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errors.New("use HOST:PORT, e.g. 127.0.0.1:6006")
	}
	if host == "" {
		return "", errors.New("missing host: use HOST:PORT, e.g. 127.0.0.1:6006")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return net.JoinHostPort(host, port), nil
}

// fromMultiaddr converts /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT to host:port. Parsing it by
// hand keeps the multiaddr package, and its start-up cost, out of commands that dial.
func fromMultiaddr(addr string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(addr, "/"), "/")
	if len(parts) != 4 || parts[2] != "tcp" {
		return "", errors.New("use HOST:PORT or a multiaddr of the form /ip4/HOST/tcp/PORT")
	}
	switch parts[0] {
	case "ip4", "ip6":
		if net.ParseIP(parts[1]) == nil {
			return "", fmt.Errorf("%q is not an IP address", parts[1])
		}
	case "dns", "dns4", "dns6":
	default:
		return "", fmt.Errorf("unsupported protocol %q: use ip4, ip6 or dns", parts[0])
	}
	return normalizeAddr(net.JoinHostPort(parts[1], parts[3]))
}
