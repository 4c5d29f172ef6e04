package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/api/client"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hubctl/hubctl/pkg/server"
)

// anyPort is the libp2p listen address of a daemon's first start.
const anyPort = "/ip4/127.0.0.1/tcp/0"

// daemon is a running `hubctl daemon` subprocess.
type daemon struct {
	name     string
	dir      string
	hostAddr string // the --host-addr it was started with
	cmd      *exec.Cmd
	exited   chan struct{}
	stderr   *bytes.Buffer
	st       server.State
	started  time.Time // just before the process started
	ready    time.Time // when its state file was seen
	stopOnce sync.Once
	stopErr  error
}

// syncBuffer lets the daemon's stderr be read while the process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// startDaemon starts bin as a daemon on dir, everything on 127.0.0.1, and waits (30 s at
// most) for its state file. Every flag is one the baseline build accepts too.
func startDaemon(o options, bin, name, dir, hostAddr string) (*daemon, error) {
	args := []string{"--data-dir", dir}
	if o.debug {
		args = append(args, "--debug")
	}
	args = append(args, "daemon", "--auth", "none", "--no-config",
		"--api-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--host-addr", hostAddr,
		"--include-private-addrs")
	if o.pullInterval > 0 {
		args = append(args, "--pull-interval", o.pullInterval.String())
	}
	cmd := exec.Command(bin, args...)
	// HUBCTL_CONFIG keeps the user's config out of it; the other variables could point
	// the daemon elsewhere.
	cmd.Env = append(os.Environ(), "HUBCTL_CONFIG="+filepath.Join(dir, "config.yaml"), "HUBCTL_DATA_DIR=", "HUBCTL_API=")
	d := &daemon{name: name, dir: dir, hostAddr: hostAddr, cmd: cmd, exited: make(chan struct{}), stderr: &bytes.Buffer{}}
	if o.debug {
		cmd.Stderr = os.Stderr
	} else {
		cmd.Stderr = &syncBuffer{b: d.stderr}
	}
	d.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("daemon %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var ok bool
		if d.st, ok = server.Running(dir); ok {
			d.ready = time.Now()
			return d, nil
		}
		select {
		case <-d.exited:
			return nil, fmt.Errorf("daemon %s exited at start (%s)%s", name, cmd.ProcessState, d.tail())
		default:
		}
		if time.Now().After(deadline) {
			_ = d.stop()
			return nil, fmt.Errorf("daemon %s wrote no state file in 30s%s", name, d.tail())
		}
	}
}

// restart stops nothing: it starts the daemon again on the same data directory and the
// same libp2p port (a daemon's configured address), once the previous process exited.
func (d *daemon) restart(o options, bin string) (*daemon, error) {
	hostAddr := d.hostAddr
	if hostAddr == anyPort {
		hostAddr = d.loopbackListen()
		if hostAddr == "" {
			return nil, fmt.Errorf("daemon %s listened on no 127.0.0.1 TCP address (%v)", d.name, d.st.Listen)
		}
	}
	return startDaemon(o, bin, d.name, d.dir, hostAddr)
}

// loopbackListen is the /ip4/127.0.0.1/tcp/PORT address the daemon listened on.
func (d *daemon) loopbackListen() string {
	for _, s := range append(append([]string(nil), d.st.Listen...), d.st.HostAddrs...) {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			continue
		}
		ip, err1 := a.ValueForProtocol(ma.P_IP4)
		port, err2 := a.ValueForProtocol(ma.P_TCP)
		if err1 == nil && err2 == nil && ip == "127.0.0.1" && port != "0" {
			return "/ip4/127.0.0.1/tcp/" + port
		}
	}
	return ""
}

// stop interrupts the daemon, as Ctrl-C would, and waits (a minute at most) for it to
// exit. A second call returns the first one's answer.
func (d *daemon) stop() error {
	d.stopOnce.Do(func() {
		_ = d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.exited:
		case <-time.After(time.Minute):
			_ = d.cmd.Process.Kill()
			<-d.exited
			d.stopErr = fmt.Errorf("daemon %s did not stop within a minute of SIGINT; killed", d.name)
			return
		}
		if !d.cmd.ProcessState.Success() {
			d.stopErr = fmt.Errorf("daemon %s exited with %s%s", d.name, d.cmd.ProcessState, d.tail())
		}
	})
	return d.stopErr
}

// tail is the end of the daemon's stderr, to explain a failure.
func (d *daemon) tail() string {
	if sb, ok := d.cmd.Stderr.(*syncBuffer); ok {
		sb.mu.Lock()
		defer sb.mu.Unlock()
	}
	s := strings.TrimSpace(d.stderr.String())
	if s == "" {
		return ""
	}
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return "\ndaemon stderr:\n" + s
}

// peerConn holds the threads API and net API clients of one daemon.
type peerConn struct {
	name string
	db   *client.Client
	conn *grpc.ClientConn
	net  netpb.APIClient
}

func dial(d *daemon) (*peerConn, error) {
	// Finds page through the instances, but a page may still be large: allow more than
	// gRPC's default 4 MiB.
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20))}
	c, err := client.NewClient(d.st.API, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", d.name, err)
	}
	conn, err := grpc.Dial(d.st.API, opts...)
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("dial %s: %w", d.name, err)
	}
	return &peerConn{name: d.name, db: c, conn: conn, net: netpb.NewAPIClient(conn)}, nil
}

func (p *peerConn) close() {
	_ = p.db.Close()
	_ = p.conn.Close()
}
