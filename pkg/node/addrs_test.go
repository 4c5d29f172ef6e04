package node

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
)

func TestReachable(t *testing.T) {
	for addr, want := range map[string]bool{
		"/ip4/127.0.0.1/tcp/4006":           false,
		"/ip4/10.1.2.3/tcp/4006":            false,
		"/ip4/192.168.1.20/tcp/4006":        false,
		"/ip4/172.16.5.4/tcp/4006":          false,
		"/ip4/169.254.1.1/tcp/4006":         false,
		"/ip4/0.0.0.0/tcp/4006":             false,
		"/ip6/::1/tcp/4006":                 false,
		"/ip6/fe80::1/tcp/4006":             false,
		"/ip6/fd00::1/tcp/4006":             false,
		"/ip4/203.0.113.7/tcp/4006":         false, // TEST-NET-3: documentation only
		"/ip4/8.8.8.8/tcp/4006":             true,
		"/ip6/2606:4700::1111/tcp/4006":     true,
		"/dns4/hub.example.com/tcp/4006":    true,
		"/dns/hub.example.com/tcp/4006":     true,
		"/dnsaddr/hub.example.com/tcp/4006": true,
	} {
		if got := Reachable(ma.StringCast(addr)); got != want {
			t.Errorf("Reachable(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestAddrPolicy(t *testing.T) {
	listen := []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/1"), ma.StringCast("/ip4/10.0.0.2/tcp/1"), ma.StringCast("/ip4/8.8.4.4/tcp/1")}
	strs := func(as []ma.Multiaddr) string {
		var out []string
		for _, a := range as {
			out = append(out, a.String())
		}
		return strings.Join(out, " ")
	}
	p, err := newAddrPolicy(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(p.filter(listen)); got != "/ip4/8.8.4.4/tcp/1" {
		t.Errorf("default policy announces %q, want the public address only", got)
	}
	p, _ = newAddrPolicy(nil, true)
	if got := strs(p.filter(listen)); got != strs(listen) {
		t.Errorf("with private addresses, announces %q, want all", got)
	}
	p, err = newAddrPolicy([]string{"/dns4/hub.example.com/tcp/4006"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(p.filter(listen)); got != "/dns4/hub.example.com/tcp/4006" {
		t.Errorf("with --announce-addr, announces %q", got)
	}
	for _, bad := range []string{"not-an-addr", "/ip4/8.8.8.8", "/ip4/8.8.8.8/tcp/1/p2p/12D3KooWJdyq9AS7Xxu8Y5H6n7o45wnQLXsVXcJ1P35z1bZdsvKb"} {
		if _, err := newAddrPolicy([]string{bad}, false); err == nil || !strings.Contains(err.Error(), "--announce-addr") {
			t.Errorf("announce %q: err = %v, want one naming --announce-addr", bad, err)
		}
	}
}

// A node on loopback announces nothing unless told to: peers elsewhere could not use it.
func TestNodeAnnouncesOnlyWhatPeersCanReach(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		opts Options
		want string // prefix every announced address has; "" for none
	}{
		{"default", Options{}, ""},
		{"private", Options{IncludePrivateAddrs: true}, "/ip4/127.0.0.1/tcp/"},
		{"announce", Options{AnnounceAddrs: []string{"/dns4/hub.example.com/tcp/4006"}}, "/dns4/hub.example.com/tcp/4006/p2p/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Dir = filepath.Join(t.TempDir(), "node")
			tc.opts.NoNetPulling = true
			n, err := Open(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			got := n.HostAddrs()
			if tc.want == "" && len(got) != 0 {
				t.Fatalf("announces %v, want nothing", got)
			}
			if tc.want != "" && len(got) == 0 {
				t.Fatalf("announces nothing, want %s...", tc.want)
			}
			for _, a := range got {
				if !strings.HasPrefix(a, tc.want) || !strings.HasSuffix(a, "/p2p/"+n.HostID()) {
					t.Errorf("announces %s, want %s.../p2p/%s", a, tc.want, n.HostID())
				}
			}
			if len(n.ListenAddrs()) == 0 || !strings.HasPrefix(n.ListenAddrs()[0], "/ip4/127.0.0.1/tcp/") {
				t.Errorf("listens on %v, want 127.0.0.1", n.ListenAddrs())
			}
		})
	}
}
