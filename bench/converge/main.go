// Command converge measures replication between two `hubctl daemon`s: how long daemon B
// takes to hold every record of a DB written on daemon A, for N instances written on A one
// Create call (one thread record) each, by concurrent writers as apps do.
//
//   - catch-up: A already holds N records; B joins the DB (NewDBFromAddr with A's address,
//     thread key and collection config, then one net API PullThread, as `hubctl db join`
//     does). Timed from the join call until B's log heads (net API GetThread counters)
//     reach A's; records/s is N over that time.
//   - live: with B joined, N more instances are written on A. Timed from the first write
//     until B's heads reach A's again; records/s is N over that time, and the lag is how
//     long after A's last write B caught up. A pushes each new record to the peers of the
//     logs it knows, so to B only once it has learnt B's log (at B's first edge exchange
//     with A, or at once with -replicator); until then B gets records by pulling.
//
// Each round starts both daemons on fresh data directories (--auth none, everything on
// 127.0.0.1, --include-private-addrs so A announces its loopback address) and checks with
// Find that B holds all the instances. The write rate on A is reported too. A phase that
// does not converge within -timeout is reported, the other rounds still run, and the
// exit status is 1.
//
// Usage: go run ./bench/converge -hubctl PATH [-sizes 1000,10000] [-rounds 3] [-writers 16]
// [-timeout 5m] [-join pull|block] [-replicator] [-pull-interval D] [-v] [-debug]
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/jsonschema"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hubctl/hubctl/bench/internal/stats"
	"github.com/hubctl/hubctl/pkg/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "converge:", err)
		os.Exit(1)
	}
}

type options struct {
	hubctl       string
	writers      int
	timeout      time.Duration
	poll         time.Duration
	pullInterval time.Duration
	join         string
	replicator   bool
	verbose      bool
	debug        bool
}

// result is one round for one size.
type result struct {
	n         int
	write     time.Duration // A's first N writes, before B joins
	join      time.Duration // B's NewDBFromAddr call
	pull      time.Duration // B's PullThread call
	catchUp   time.Duration // join call to convergence
	live      time.Duration // A's first live write to convergence
	liveWrite time.Duration // A's first to last live write
	lag       time.Duration // A's last live write to convergence
	pushed    int64         // live records B held when A's last write returned
	caughtUp  bool          // the catch-up phase converged
	followed  bool          // the live phase converged
	bUnknown  bool          // A did not know B's log when the live writes started
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func run() error {
	var o options
	flag.StringVar(&o.hubctl, "hubctl", "", "hubctl binary")
	sizes := flag.String("sizes", "1000,10000", "instances written on A per phase (comma-separated)")
	rounds := flag.Int("rounds", 3, "rounds per size, each on fresh daemons")
	flag.IntVar(&o.writers, "writers", 16, "concurrent writers on A")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "longest wait for B to converge, per phase")
	flag.DurationVar(&o.poll, "poll", 25*time.Millisecond, "how often B's log heads are read")
	flag.DurationVar(&o.pullInterval, "pull-interval", 0, "daemons' --pull-interval (0: their default)")
	flag.StringVar(&o.join, "join", "pull", "how B joins: pull (NewDBFromAddr, then PullThread), block (NewDBFromAddr blocking until its pull is done)")
	flag.BoolVar(&o.replicator, "replicator", false, "after joining, B adds A as a replicator (net AddReplicator), so A learns B's log at once")
	flag.BoolVar(&o.verbose, "v", false, "trace B's progress on stderr")
	flag.BoolVar(&o.debug, "debug", false, "run the daemons with --debug, their stderr on ours")
	flag.Parse()
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("invalid -sizes %q: want positive counts like 1000,10000", *sizes)
		}
		ns = append(ns, n)
	}
	if o.hubctl == "" || *rounds < 1 || o.writers < 1 || (o.join != "pull" && o.join != "block") {
		return fmt.Errorf("need -hubctl, -rounds >= 1, -writers >= 1 and -join pull or block")
	}
	work, err := os.MkdirTemp("", "hubctl-converge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	results := map[int][]result{}
	var failed []string
	for r := 0; r < *rounds; r++ {
		for _, n := range ns {
			res, err := round(o, filepath.Join(work, fmt.Sprintf("%d-%d", n, r)), n)
			var nc *notConverged
			if err != nil && !errors.As(err, &nc) {
				return fmt.Errorf("round %d, %d instances: %w", r+1, n, err)
			}
			progress(r+1, res)
			if err != nil {
				fmt.Fprintf(os.Stderr, "round %d, %d instances: %v\n", r+1, n, err)
				failed = append(failed, fmt.Sprintf("round %d, %d instances: %v", r+1, n, nc))
			}
			results[n] = append(results[n], res)
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "instances\tA writes/s\tcaught up\tcatch-up s\tcatch-up records/s\tlive converged\tlive records/s\tlive lag s\t\n")
	for _, n := range ns {
		rs := results[n]
		pick := func(ok func(result) bool, f func(result) time.Duration) []time.Duration {
			var ds []time.Duration
			for _, r := range rs {
				if ok(r) {
					ds = append(ds, f(r))
				}
			}
			return ds
		}
		all := func(result) bool { return true }
		caughtUp := func(r result) bool { return r.caughtUp }
		followed := func(r result) bool { return r.followed }
		writes := pick(all, func(r result) time.Duration { return r.write })
		catchUp := pick(caughtUp, func(r result) time.Duration { return r.catchUp })
		live := pick(followed, func(r result) time.Duration { return r.live })
		lag := pick(followed, func(r result) time.Duration { return r.lag })
		fmt.Fprintf(tw, "%d\t%.0f\t%d/%d\t%s\t%s\t%d/%d\t%s\t%s\t\n", n, rate(n, stats.Median(writes)),
			len(catchUp), len(rs), spread(catchUp, seconds), rateSpread(n, catchUp),
			len(live), len(rs), rateSpread(n, live), spread(lag, seconds))
	}
	tw.Flush()
	fmt.Println("median (min-max) over the rounds that converged; records/s: instances / time until B's log heads equal A's")
	for _, f := range failed {
		fmt.Println("NOT CONVERGED:", f)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d rounds did not converge", len(failed), *rounds*len(ns))
	}
	return nil
}

// progress tells how a round went, on stderr.
func progress(r int, res result) {
	n := res.n
	line := fmt.Sprintf("round %d N=%-6d A writes %5.0f/s | join %s", r, n, rate(n, res.write), stats.Ms(res.join))
	if res.pull > 0 {
		line += fmt.Sprintf(", pull %s", stats.Ms(res.pull))
	}
	if res.caughtUp {
		line += fmt.Sprintf(", caught up in %.2fs (%.0f records/s)", res.catchUp.Seconds(), rate(n, res.catchUp))
	}
	if res.liveWrite > 0 {
		line += fmt.Sprintf(" | live: A writes %.0f/s, A knew B's log: %s, B had %d/%d at A's last write", rate(n, res.liveWrite), yesNo(!res.bUnknown), res.pushed, n)
	}
	if res.followed {
		line += fmt.Sprintf(", converged %s later (%.0f records/s)", stats.Ms(res.lag), rate(n, res.live))
	}
	fmt.Fprintln(os.Stderr, line)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// spread formats the median and the range of ds.
func spread(ds []time.Duration, f func(time.Duration) string) string {
	if len(ds) == 0 {
		return "-"
	}
	lo, hi := extremes(ds)
	if len(ds) == 1 {
		return f(ds[0])
	}
	return fmt.Sprintf("%s (%s-%s)", f(stats.Median(ds)), f(lo), f(hi))
}

// rateSpread is spread for n records over each duration: the slowest round is the lowest rate.
func rateSpread(n int, ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	lo, hi := extremes(ds)
	if len(ds) == 1 {
		return fmt.Sprintf("%.0f", rate(n, ds[0]))
	}
	return fmt.Sprintf("%.0f (%.0f-%.0f)", rate(n, stats.Median(ds)), rate(n, hi), rate(n, lo))
}

func extremes(ds []time.Duration) (lo, hi time.Duration) {
	c := append([]time.Duration(nil), ds...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c[0], c[len(c)-1]
}

// round starts daemons A and B on fresh data directories, runs both phases, and stops them.
func round(o options, dir string, n int) (res result, err error) {
	res.n = n
	a, err := startDaemon(o, filepath.Join(dir, "a"))
	if err != nil {
		return res, fmt.Errorf("daemon A: %w", err)
	}
	defer func() { err = errors.Join(err, a.stop("A")) }()
	b, err := startDaemon(o, filepath.Join(dir, "b"))
	if err != nil {
		return res, fmt.Errorf("daemon B: %w", err)
	}
	defer func() { err = errors.Join(err, b.stop("B")) }()
	pa, err := dial(a.st.API)
	if err != nil {
		return res, err
	}
	defer pa.close()
	pb, err := dial(b.st.API)
	if err != nil {
		return res, err
	}
	defer pb.close()

	// Each convergence wait is bounded by o.timeout; this backstop bounds the writes too.
	ctx, cancel := context.WithTimeout(context.Background(), 2*o.timeout+20*time.Minute)
	defer cancel()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := pa.db.NewDB(ctx, id); err != nil {
		return res, fmt.Errorf("NewDB on A: %w", err)
	}
	if err := pa.db.NewCollection(ctx, id, docs); err != nil {
		return res, fmt.Errorf("NewCollection on A: %w", err)
	}
	first, last, err := write(ctx, pa.db, id, 0, n, o.writers)
	if err != nil {
		return res, fmt.Errorf("writes on A: %w", err)
	}
	res.write = last.Sub(first)
	info, err := pa.db.GetDBInfo(ctx, id)
	if err != nil {
		return res, fmt.Errorf("GetDBInfo on A: %w", err)
	}
	addr, err := loopbackAddr(info.Addrs)
	if err != nil {
		return res, err
	}
	target, err := counters(ctx, pa.net, id)
	if err != nil {
		return res, fmt.Errorf("A's log heads: %w", err)
	}

	// Catch-up: join, then (-join pull) one pull in the background, and B's heads read
	// every o.poll meanwhile. NewDBFromAddr starts a pull of its own too, in the background
	// or (-join block) before it returns.
	start := time.Now()
	if err := pb.db.NewDBFromAddr(ctx, addr, info.Key, db.WithNewManagedCollections(docs),
		db.WithNewManagedBackfillBlock(o.join == "block")); err != nil {
		return res, fmt.Errorf("NewDBFromAddr on B: %w", err)
	}
	res.join = time.Since(start)
	if o.replicator {
		// A learns of B's log, and so pushes new records to B, only at B's first edge
		// exchange with A (10-30 s after the join with the default pull interval).
		// AddReplicator on B sends B's logs to A now.
		peerAddr, _ := ma.SplitLast(addr) // less /thread/ID
		t := time.Now()
		if _, err := pb.net.AddReplicator(ctx, &netpb.AddReplicatorRequest{ThreadID: id.Bytes(), Addr: peerAddr.Bytes()}); err != nil {
			return res, fmt.Errorf("AddReplicator on B: %w", err)
		}
		if o.verbose {
			fmt.Fprintf(os.Stderr, "  AddReplicator on B took %s\n", stats.Ms(time.Since(t)))
		}
	}
	pulled := make(chan error, 1)
	if o.join == "pull" {
		go func() {
			ctx, cancel := context.WithTimeout(ctx, o.timeout)
			defer cancel()
			t := time.Now()
			_, err := pb.net.PullThread(ctx, &netpb.PullThreadRequest{ThreadID: id.Bytes()})
			res.pull = time.Since(t)
			pulled <- err
		}()
	} else {
		pulled <- nil
	}
	done, err := converge(ctx, o, pb.net, id, target, start, "catch-up")
	if perr := <-pulled; perr != nil {
		fmt.Fprintf(os.Stderr, "  PullThread on B failed after %s: %v\n", stats.Ms(res.pull), perr)
	}
	if err != nil {
		return res, err
	}
	res.catchUp, res.caughtUp = done.Sub(start), true
	if err := checkFind(ctx, pb.db, id, n); err != nil {
		return res, fmt.Errorf("after catch-up: %w", err)
	}

	// Live: B is joined; A pushes every new record to the peers of the thread's logs it
	// knows, so to B once it knows B's log.
	aLogs, err := counters(ctx, pa.net, id)
	if err != nil {
		return res, fmt.Errorf("A's log heads: %w", err)
	}
	bLogs, err := counters(ctx, pb.net, id)
	if err != nil {
		return res, fmt.Errorf("B's log heads: %w", err)
	}
	for lg := range bLogs {
		if _, ok := aLogs[lg]; !ok {
			res.bUnknown = true
		}
	}
	first, last, err = write(ctx, pa.db, id, n, n, o.writers)
	if err != nil {
		return res, fmt.Errorf("live writes on A: %w", err)
	}
	res.liveWrite = last.Sub(first)
	held, err := counters(ctx, pb.net, id)
	if err != nil {
		return res, fmt.Errorf("B's log heads: %w", err)
	}
	before := total(target)
	if target, err = counters(ctx, pa.net, id); err != nil {
		return res, fmt.Errorf("A's log heads: %w", err)
	}
	res.pushed = total(target) - before - behind(target, held)
	done, err = converge(ctx, o, pb.net, id, target, first, "live")
	if err != nil {
		return res, err
	}
	res.live, res.lag, res.followed = done.Sub(first), done.Sub(last), true
	if res.lag < 0 {
		res.lag = 0 // B had everything the moment A's last write returned
	}
	if err := checkFind(ctx, pb.db, id, 2*n); err != nil {
		return res, fmt.Errorf("after live writes: %w", err)
	}
	return res, nil
}

// daemon is a running `hubctl daemon` subprocess.
type daemon struct {
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *bytes.Buffer
	st     server.State
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

func startDaemon(o options, dir string) (*daemon, error) {
	args := []string{"--data-dir", dir}
	if o.debug {
		args = append(args, "--debug")
	}
	args = append(args, "daemon", "--auth", "none", "--no-config",
		"--api-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--host-addr", "/ip4/127.0.0.1/tcp/0",
		"--include-private-addrs")
	if o.pullInterval > 0 {
		args = append(args, "--pull-interval", o.pullInterval.String())
	}
	cmd := exec.Command(o.hubctl, args...)
	// HUBCTL_CONFIG keeps the user's config out of it; the other variables could point
	// the daemon elsewhere.
	cmd.Env = append(os.Environ(), "HUBCTL_CONFIG="+filepath.Join(dir, "config.yaml"), "HUBCTL_DATA_DIR=", "HUBCTL_API=")
	d := &daemon{cmd: cmd, exited: make(chan struct{}), stderr: &bytes.Buffer{}}
	if o.debug {
		cmd.Stderr = os.Stderr
	} else {
		cmd.Stderr = &syncBuffer{b: d.stderr}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var ok bool
		if d.st, ok = server.Running(dir); ok {
			return d, nil
		}
		select {
		case <-d.exited:
			return nil, fmt.Errorf("the daemon exited at start (%s)%s", cmd.ProcessState, d.tail())
		default:
		}
		if time.Now().After(deadline) {
			_ = d.stop("")
			return nil, fmt.Errorf("the daemon wrote no state file in 30s%s", d.tail())
		}
	}
}

// stop interrupts the daemon, as Ctrl-C would, and waits for it to exit.
func (d *daemon) stop(name string) error {
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.exited:
	case <-time.After(time.Minute):
		_ = d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("daemon %s did not stop within a minute of SIGINT; killed", name)
	}
	if !d.cmd.ProcessState.Success() {
		return fmt.Errorf("daemon %s exited with %s%s", name, d.cmd.ProcessState, d.tail())
	}
	return nil
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
	db   *client.Client
	conn *grpc.ClientConn
	net  netpb.APIClient
}

func dial(addr string) (*peerConn, error) {
	// Find returns every instance in one reply: allow more than gRPC's default 4 MiB.
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20))}
	c, err := client.NewClient(addr, opts...)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.Dial(addr, opts...)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return &peerConn{db: c, conn: conn, net: netpb.NewAPIClient(conn)}, nil
}

func (p *peerConn) close() {
	_ = p.db.Close()
	_ = p.conn.Close()
}

var docs = db.CollectionConfig{Name: "docs", Schema: jsonschema.Reflect(&doc{})}

type doc struct {
	ID   string `json:"_id"`
	Name string `json:"name"`
	N    int    `json:"n"`
}

// write creates instances from..from+n-1 on c, one Create call each, with writers
// concurrent callers. It returns when the first call started and the last one returned.
func write(ctx context.Context, c *client.Client, id thread.ID, from, n, writers int) (first, last time.Time, err error) {
	var (
		next = int64(from) - 1
		end  = int64(from + n)
		wg   sync.WaitGroup
		errs = make(chan error, writers)
	)
	first = time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= end {
					return
				}
				if _, err := c.Create(ctx, id, docs.Name, client.Instances{&doc{Name: fmt.Sprintf("instance %d", i), N: int(i)}}); err != nil {
					errs <- fmt.Errorf("Create %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	last = time.Now()
	close(errs)
	return first, last, <-errs
}

// loopbackAddr picks A's 127.0.0.1 address among the DB's addresses.
func loopbackAddr(addrs []ma.Multiaddr) (ma.Multiaddr, error) {
	for _, a := range addrs {
		if ip, err := a.ValueForProtocol(ma.P_IP4); err == nil && ip == "127.0.0.1" {
			return a, nil
		}
	}
	return nil, fmt.Errorf("A's DB has no 127.0.0.1 address (addresses: %v): was A started with --include-private-addrs?", addrs)
}

// counters reads the head counter (records held) of every log of the thread.
func counters(ctx context.Context, net netpb.APIClient, id thread.ID) (map[string]int64, error) {
	reply, err := net.GetThread(ctx, &netpb.GetThreadRequest{ThreadID: id.Bytes()})
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(reply.Logs))
	for _, lg := range reply.Logs {
		c, _ := binary.Varint(lg.Counter)
		out[string(lg.ID)] = c
	}
	return out, nil
}

func total(cs map[string]int64) (t int64) {
	for _, c := range cs {
		t += c
	}
	return t
}

// behind is how many of target's records a node holding have lacks.
func behind(target, have map[string]int64) (missing int64) {
	for lg, c := range target {
		if h := have[lg]; h < c {
			missing += c - h
		}
	}
	return missing
}

// converge reads B's heads every o.poll until B holds every record of target, and returns
// when it saw that. It gives up after o.timeout.
func converge(ctx context.Context, o options, net netpb.APIClient, id thread.ID, target map[string]int64, start time.Time, phase string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	want := total(target)
	held := int64(-1)
	for {
		have, err := counters(ctx, net, id)
		now := time.Now()
		if err != nil && ctx.Err() == nil {
			return now, fmt.Errorf("B's log heads: %w", err)
		}
		if err == nil {
			if h := want - behind(target, have); h != held {
				held = h
				if o.verbose {
					fmt.Fprintf(os.Stderr, "  %s %8.3fs: B holds %d/%d records of A's logs\n", phase, now.Sub(start).Seconds(), h, want)
				}
			}
			if held == want {
				return now, nil
			}
		}
		select {
		case <-ctx.Done():
			return now, &notConverged{phase: phase, msg: fmt.Sprintf("B did not converge within %s: it holds %d of A's %d records (-debug shows the daemons' logs)", o.timeout, max(held, 0), want)}
		case <-time.After(o.poll):
		}
	}
}

// notConverged is a phase whose B did not converge in time: the round is reported as
// such, and the other rounds still run.
type notConverged struct{ phase, msg string }

func (e *notConverged) Error() string { return e.phase + ": " + e.msg }

// checkFind checks that B's collection holds want instances.
func checkFind(ctx context.Context, c *client.Client, id thread.ID, want int) error {
	res, err := c.Find(ctx, id, docs.Name, &db.Query{}, &doc{})
	if err != nil {
		return fmt.Errorf("Find on B: %w", err)
	}
	if got := len(res.([]*doc)); got != want {
		return fmt.Errorf("Find on B returned %d instances, want %d", got, want)
	}
	return nil
}
