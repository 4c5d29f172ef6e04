// Command preauth measures what callers without a key can make `hubctl daemon` hold: it
// starts the daemon (--auth keys, a fresh data directory, every listener on 127.0.0.1 with
// port 0), reads its idle RSS, then opens, for -attack, connections that carry no key and
// send as much as they can:
//   - -native native gRPC connections (HTTP/2 over TCP, grpc-go with no credentials), each
//     running -streams concurrent /threads.pb.API/Create calls of a -msg message (a valid
//     CreateRequest), each re-made as soon as it ends;
//   - -ws websockets to the grpc-web port (subprotocol grpc-websockets) whose first message
//     is one frame of -ws-msg bytes, written as fast as the socket takes it;
//   - -http HTTP/1.1 grpc-web POSTs to Create with a 1 GiB Content-Length, the body gRPC
//     frames of a -msg message, streamed as fast as the socket takes it;
//
// each re-opened when the server closes it. Meanwhile one keyed Hub client (go-threads'
// client with textile's common.Credentials, a secure key's signature and a user token)
// makes Create calls one after another and times them. The daemon's VmRSS is read from
// /proc/PID/status every -sample; its peak, its VmHWM, and its RSS -after the attack are
// reported. A daemon whose RSS passes -stop-mb is killed at once and the attack stopped
// (the machine is shared).
//
// With -baseline PATH the same run is made against a second binary, after -hubctl's, and
// both are printed side by side (bench/preauth.sh --baseline REV builds REV for it).
//
// The native calls carry a deadline (grpc-timeout): by default the attack's end;
// -call-timeout sets one per call (e.g. 1h) or none. grpc v1.39 keeps a timer for each
// call its tap handle refuses until that deadline (http2_server.go, operateHeaders), so
// this is what tells a leak of refused calls from a bound.
//
// With -heap FILE it instead runs the daemon in this process (server.StartDaemon, no
// key known), attacks it, prints goroutines and heap every second, and writes heap
// profiles FILE.end and FILE.after for `go tool pprof -top FILE.end`.
//
// Usage: go run ./bench/preauth -hubctl PATH [-baseline PATH] [-native 200] [-ws 200]
//
//	[-http 100] [-streams 128] [-msg 15MiB] [-ws-msg 63MiB] [-attack 20s] [-after 20s]
//	[-call-timeout none|DURATION] [-stop-mb 2048] [-goal-mb 300]
//	go run ./bench/preauth -heap FILE [-attack 8s] [-ws 0 -http 0 ...]
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/api/client"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/hubctl/hubctl/bench/internal/stats"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "preauth:", err)
		os.Exit(1)
	}
}

type config struct {
	native, ws, http, streams int
	msg, wsMsg                int
	attack, after, sample     time.Duration
	callTimeout               time.Duration
	callTimeoutSet            bool
	stopKB                    int64
}

type result struct {
	build                string
	idle, peak, after    int64 // kB
	hwm                  int64 // kB, VmHWM at the last reading (or when it was killed)
	stopped              bool
	stoppedAt            time.Duration
	stoppedRSS           int64
	ok, failed           int
	latencies            []time.Duration
	firstErr             string
	attackOpens, refused int64
}

func run() error {
	hubctl := flag.String("hubctl", "", "hubctl binary")
	baseline := flag.String("baseline", "", "another hubctl binary, measured the same way, after -hubctl")
	var c config
	flag.IntVar(&c.native, "native", 200, "native gRPC connections")
	flag.IntVar(&c.ws, "ws", 200, "websocket connections to the grpc-web port")
	flag.IntVar(&c.http, "http", 100, "HTTP/1.1 grpc-web connections")
	flag.IntVar(&c.streams, "streams", 128, "concurrent Create calls on each native connection")
	msg := flag.String("msg", "15MiB", "size of each native and HTTP Create message")
	wsMsg := flag.String("ws-msg", "63MiB", "size of each websocket's first message")
	flag.DurationVar(&c.attack, "attack", 20*time.Second, "how long the attack lasts")
	flag.DurationVar(&c.after, "after", 20*time.Second, "wait after the attack before the last reading")
	flag.Func("call-timeout", "the deadline each native call carries (its grpc-timeout header); none: no deadline; default: the attack's end", func(v string) error {
		c.callTimeoutSet = true
		if v == "none" {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a duration or none")
		}
		c.callTimeout = d
		return nil
	})
	flag.DurationVar(&c.sample, "sample", 100*time.Millisecond, "RSS sampling period")
	stopMB := flag.Int64("stop-mb", 2048, "kill the daemon and stop the attack once its RSS passes this")
	goalMB := flag.Int64("goal-mb", 300, "the goal for the peak RSS of -hubctl")
	heap := flag.String("heap", "", "run the daemon in this process, attack it, and write heap profiles FILE.end (as the attack ends) and FILE.after (its connections torn down)")
	flag.Parse()
	var err error
	if c.msg, err = size(*msg); err != nil {
		return err
	}
	if c.wsMsg, err = size(*wsMsg); err != nil {
		return err
	}
	c.stopKB = *stopMB << 10
	work, err := os.MkdirTemp("", "hubctl-preauth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if *heap != "" {
		return heapProfile(work, *heap, c)
	}
	if *hubctl == "" {
		return errors.New("need -hubctl")
	}

	builds := []struct{ name, bin string }{{"this", *hubctl}}
	if *baseline != "" {
		builds = append(builds, struct{ name, bin string }{"baseline", *baseline})
	}
	var results []result
	for _, b := range builds {
		r, err := measure(b.bin, filepath.Join(work, b.name), c)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		r.build = b.name
		results = append(results, r)
	}

	fmt.Printf("attack: %d native gRPC conns x %d Create streams of %s, %d websockets with a %s first message, %d HTTP/1.1 grpc-web POSTs of 1 GiB; no key; %s\n",
		c.native, c.streams, *msg, c.ws, *wsMsg, c.http, c.attack)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "build\tidle RSS\tpeak RSS\tVmHWM\tRSS %s after\tkeyed calls ok/failed\tp50\tp99\t\n", c.after)
	for _, r := range results {
		peak, after := mb(r.peak), mb(r.after)
		if r.stopped {
			peak = fmt.Sprintf("> %s (stopped at %.1fs, %s)", mb(c.stopKB), r.stoppedAt.Seconds(), mb(r.stoppedRSS))
			after = "killed"
		}
		p50, p99 := "-", "-"
		if len(r.latencies) > 0 {
			p50, p99 = stats.Ms(stats.Pct(r.latencies, 50)), stats.Ms(stats.Pct(r.latencies, 99))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t\n", r.build, mb(r.idle), peak, mb(r.hwm), after, r.ok, r.failed, p50, p99)
	}
	tw.Flush()
	for _, r := range results {
		fmt.Printf("%s: %d attacking connections/calls opened, %d answered or closed by the server", r.build, r.attackOpens, r.refused)
		if r.firstErr != "" {
			fmt.Printf("; first keyed failure: %s", r.firstErr)
		}
		fmt.Println()
	}
	r := results[0]
	verdict := "met"
	if r.stopped || max(r.peak, r.hwm) >= *goalMB<<10 || r.ok == 0 || r.failed > 0 {
		verdict = "MISSED"
	}
	fmt.Printf("goal (this build: peak RSS and VmHWM < %d MB, every keyed call answered): %s\n", *goalMB, verdict)
	return nil
}

func size(s string) (int, error) {
	mult := 1
	for suf, m := range map[string]int{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 15MiB)", s)
	}
	return n * mult, nil
}

func mb(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }

// measure runs one build through the whole run on a fresh directory.
func measure(hubctl, dir string, c config) (result, error) {
	var r result
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return r, err
	}
	data := filepath.Join(dir, "data")
	env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "XDG_DATA_HOME="+filepath.Join(home, ".local/share"),
		"HUBCTL_DATA_DIR="+data, "HUBCTL_CONFIG="+filepath.Join(home, "config.yaml"))
	kc := exec.Command(hubctl, "keys", "create", "-o", "json")
	kc.Env = env
	out, err := kc.Output()
	if err != nil {
		return r, fmt.Errorf("keys create: %w", err)
	}
	var key struct{ Key, Secret string }
	if err := json.Unmarshal(out, &key); err != nil {
		return r, fmt.Errorf("keys create: %w", err)
	}

	d := exec.Command(hubctl, "daemon", "--auth", "keys", "--no-config",
		"--api-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--host-addr", "/ip4/127.0.0.1/tcp/0")
	d.Env = env
	d.Stderr = os.Stderr
	if err := d.Start(); err != nil {
		return r, err
	}
	exited := make(chan struct{})
	go func() { _ = d.Wait(); close(exited) }()
	defer func() {
		_ = d.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = d.Process.Kill()
			<-exited
		}
	}()
	var st server.State
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		var ok bool
		if st, ok = server.Running(data); ok {
			break
		}
		if time.Now().After(deadline) {
			return r, errors.New("the daemon wrote no state file in a minute")
		}
	}
	pid := d.Process.Pid

	user, err := newUser(st.API, key.Key, key.Secret)
	if err != nil {
		return r, err
	}
	defer user.close()
	// Settle, then the idle reading.
	time.Sleep(3 * time.Second)
	if r.idle, _, err = readRSS(pid); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "%s: idle RSS %s; attacking for %s\n", filepath.Base(hubctl), mb(r.idle), c.attack)

	// The sampler runs through the attack and the wait after it: memory the attack made
	// the daemon take may show only as its connections are torn down.
	ctx, cancel := context.WithTimeout(context.Background(), c.attack)
	defer cancel()
	sampling, stopSampling := context.WithCancel(context.Background())
	defer stopSampling()
	start := time.Now()
	var killed atomic.Bool
	samplerDone := make(chan struct{})
	var peak atomic.Int64
	go func() {
		defer close(samplerDone)
		t := time.NewTicker(c.sample)
		defer t.Stop()
		var lastTrace time.Time
		for {
			select {
			case <-sampling.Done():
				return
			case <-t.C:
			}
			rss, hwm, err := readRSS(pid)
			if err != nil {
				return
			}
			if rss > peak.Load() {
				peak.Store(rss)
			}
			if time.Since(lastTrace) >= time.Second {
				lastTrace = time.Now()
				fmt.Fprintf(os.Stderr, "  %5.1fs  RSS %s\n", time.Since(start).Seconds(), mb(rss))
			}
			if rss > c.stopKB {
				_ = d.Process.Signal(syscall.SIGKILL)
				killed.Store(true)
				r.stoppedAt, r.stoppedRSS, r.hwm = time.Since(start), rss, hwm
				cancel()
				return
			}
		}
	}()
	var opens, closes atomic.Int64
	var wg sync.WaitGroup
	attack(ctx, &wg, st, c, &opens, &closes)
	// The keyed client works through the attack, one call after another.
	for ctx.Err() == nil {
		lat, err := user.call(ctx)
		if ctx.Err() != nil && err != nil {
			break // cut off by the attack's end, not the server
		}
		r.latencies = append(r.latencies, lat)
		if err != nil {
			r.failed++
			if r.firstErr == "" {
				r.firstErr = err.Error()
			}
		} else {
			r.ok++
		}
	}
	cancel()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(time.Minute):
		return r, errors.New("the attackers did not stop within a minute")
	}
	r.attackOpens, r.refused = opens.Load(), closes.Load()
	if !killed.Load() {
		fmt.Fprintf(os.Stderr, "%s: attack over, peak RSS so far %s; waiting %s\n", filepath.Base(hubctl), mb(peak.Load()), c.after)
		select {
		case <-time.After(c.after):
		case <-samplerDone:
		}
	}
	stopSampling()
	<-samplerDone
	r.peak = peak.Load()
	if killed.Load() {
		r.stopped = true
		return r, nil
	}
	if r.after, r.hwm, err = readRSS(pid); err != nil {
		return r, err
	}
	// The daemon still answers a keyed call after the attack.
	callCtx, cancelCall := context.WithTimeout(context.Background(), time.Minute)
	defer cancelCall()
	if _, err := user.call(callCtx); err != nil {
		r.failed++
		if r.firstErr == "" {
			r.firstErr = "after the attack: " + err.Error()
		}
	}
	return r, nil
}

// readRSS reads VmRSS and VmHWM (kB) from /proc/PID/status.
func readRSS(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm, s.Err()
}

type noKeys struct{}

func (noKeys) Lookup(string) (hubauth.Key, []byte, bool) { return hubauth.Key{}, nil, false }

// heapProfile runs the daemon in this process (--auth keys, no key known), attacks it, and
// writes heap profiles as the attack ends and once its connections are torn down: where
// the memory an anonymous caller makes the daemon hold goes. The profiles hold the
// attackers' allocations too (grpc's client transport, this file's functions).
func heapProfile(work, file string, c config) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := server.StartDaemon(ctx, server.DaemonOptions{DataDir: filepath.Join(work, "inprocess"), Mode: hubauth.AuthKeys, Keys: noKeys{},
		APIAddr: "127.0.0.1:0", WebAddr: "127.0.0.1:0", HostAddr: "/ip4/127.0.0.1/tcp/0"})
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = d.Shutdown(ctx)
	}()
	write := func(name string) error {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Printf("%s: heap in use %s, goroutines %d, Sys %s\n", name, mb(int64(ms.HeapInuse>>10)), runtime.NumGoroutine(), mb(int64(ms.Sys>>10)))
		return pprof.Lookup("heap").WriteTo(f, 0)
	}
	actx, acancel := context.WithTimeout(context.Background(), c.attack)
	defer acancel()
	var wg sync.WaitGroup
	var opens, closes atomic.Int64
	attack(actx, &wg, d.State(), c, &opens, &closes)
	trace := func(what string) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("  %s: goroutines %d, heap in use %s, stacks %s, Sys %s\n", what, runtime.NumGoroutine(), mb(int64(ms.HeapInuse>>10)), mb(int64(ms.StackInuse>>10)), mb(int64(ms.Sys>>10)))
	}
	for t := time.NewTicker(time.Second); actx.Err() == nil; <-t.C {
		trace("attack")
	}
	if err := write(file + ".end"); err != nil {
		return err
	}
	wg.Wait()
	for i := 0; i < 5; i++ {
		trace("after")
		time.Sleep(time.Second)
	}
	if err := write(file + ".after"); err != nil {
		return err
	}
	fmt.Printf("go tool pprof -top -sample_index=inuse_space %s.end\n", file)
	return nil
}

// The keyed user: a Hub user's code with its own connection, identity, token and database.

var docSchema = jsonschema.Reflect(&doc{})

type doc struct {
	ID   string `json:"_id"`
	N    int    `json:"n"`
	Text string `json:"text"`
}

type keyedUser struct {
	c   *client.Client
	ctx context.Context
	tok thread.Token
	db  thread.ID
	n   int
}

func newUser(addr, key, secret string) (*keyedUser, error) {
	c, err := client.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(common.Credentials{}))
	if err != nil {
		return nil, err
	}
	u := &keyedUser{c: c}
	ctx := common.NewAPIKeyContext(context.Background(), key)
	if ctx, err = common.CreateAPISigContext(ctx, time.Now().Add(time.Hour), secret); err != nil {
		return nil, err
	}
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, err
	}
	setup, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if u.tok, err = c.GetToken(setup, thread.NewLibp2pIdentity(sk)); err != nil {
		return nil, fmt.Errorf("GetToken: %w", err)
	}
	u.ctx = thread.NewTokenContext(ctx, u.tok)
	u.db = thread.NewIDV1(thread.Raw, 32)
	setup = thread.NewTokenContext(setup, u.tok)
	if err := c.NewDB(setup, u.db, db.WithNewManagedToken(u.tok), db.WithNewManagedCollections(db.CollectionConfig{Name: "docs", Schema: docSchema})); err != nil {
		return nil, fmt.Errorf("NewDB: %w", err)
	}
	return u, nil
}

// call makes one small Create, bounded by 10s, and times it.
func (u *keyedUser) call(parent context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(u.ctx, 10*time.Second)
	defer cancel()
	stop := context.AfterFunc(parent, cancel)
	defer stop()
	u.n++
	t := time.Now()
	_, err := u.c.Create(ctx, u.db, "docs", client.Instances{&doc{N: u.n, Text: "a document of about a hundred bytes, as a Hub user would write"}}, db.WithTxnToken(u.tok))
	return time.Since(t), err
}

func (u *keyedUser) close() { _ = u.c.Close() }

// The attack.

// rawCodec sends a message already encoded, so every stream shares one buffer.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.(*[]byte); ok {
		return *b, nil
	}
	return nil, errors.New("rawCodec: not *[]byte")
}
func (rawCodec) Unmarshal(data []byte, v any) error { return nil }
func (rawCodec) Name() string                       { return "proto" }

func attack(ctx context.Context, wg *sync.WaitGroup, st server.State, c config, opens, closes *atomic.Int64) {
	create, err := proto.Marshal(&pb.CreateRequest{
		DbID:           thread.NewIDV1(thread.Raw, 32).Bytes(),
		CollectionName: "docs",
		Instances:      [][]byte{make([]byte, c.msg-64)},
	})
	if err != nil {
		panic(err)
	}
	// One gRPC frame of the Create message, for the HTTP bodies.
	frame := make([]byte, 5+len(create))
	binary.BigEndian.PutUint32(frame[1:5], uint32(len(create)))
	copy(frame[5:], create)
	chunk := make([]byte, 256<<10)

	// Native calls carry the attack's deadline, or none, or -call-timeout each.
	nctx := ctx
	if c.callTimeoutSet {
		var ncancel context.CancelFunc
		nctx, ncancel = context.WithCancel(context.Background())
		context.AfterFunc(ctx, ncancel)
	}
	for i := 0; i < c.native; i++ {
		cc, err := grpc.DialContext(ctx, st.API, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			_ = cc.Close()
		}()
		for s := 0; s < c.streams; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					opens.Add(1)
					var reply []byte
					callCtx, cancelCall := nctx, context.CancelFunc(func() {})
					if c.callTimeout > 0 {
						callCtx, cancelCall = context.WithTimeout(nctx, c.callTimeout)
					}
					if err := cc.Invoke(callCtx, "/threads.pb.API/Create", &create, &reply, grpc.ForceCodec(rawCodec{})); err != nil && ctx.Err() == nil {
						closes.Add(1)
					}
					cancelCall()
				}
			}()
		}
	}
	loop := func(n int, one func(net.Conn) error) {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", st.Web)
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					opens.Add(1)
					stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
					if err := one(conn); err != nil && ctx.Err() == nil {
						closes.Add(1)
					}
					stop()
					_ = conn.Close()
				}
			}()
		}
	}
	// Websockets: the upgrade, then one binary frame of wsMsg bytes as the first message,
	// masked with a zero key (so the bytes go out as they are), then whatever follows.
	loop(c.ws, func(conn net.Conn) error {
		req := "GET / HTTP/1.1\r\nHost: " + st.Web + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: grpc-websockets\r\n\r\n"
		if _, err := io.WriteString(conn, req); err != nil {
			return err
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			return fmt.Errorf("upgrade: %s", resp.Status)
		}
		go func() { _, _ = io.Copy(io.Discard, br) }()
		hdr := []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(hdr[2:10], uint64(c.wsMsg))
		if _, err := conn.Write(hdr); err != nil {
			return err
		}
		for left := c.wsMsg; left > 0; {
			n := min(left, len(chunk))
			if _, err := conn.Write(chunk[:n]); err != nil {
				return err
			}
			left -= n
		}
		// All sent: wait for the server to answer or close.
		<-ctx.Done()
		return nil
	})
	// HTTP/1.1 grpc-web: a 1 GiB body of Create frames.
	loop(c.http, func(conn net.Conn) error {
		const length = 1 << 30
		req := "POST /threads.pb.API/Create HTTP/1.1\r\nHost: " + st.Web + "\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n" +
			"Content-Length: " + strconv.Itoa(length) + "\r\n\r\n"
		if _, err := io.WriteString(conn, req); err != nil {
			return err
		}
		go func() { _, _ = io.Copy(io.Discard, conn) }()
		for left := length; left > 0; {
			n := min(left, len(frame))
			if _, err := conn.Write(frame[:n]); err != nil {
				return err
			}
			left -= n
		}
		<-ctx.Done()
		return nil
	})
}
