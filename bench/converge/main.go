// Command converge measures replication between `hubctl daemon`s: how long a follower
// takes to hold every record of a DB written on daemon A, one Create call (one thread
// record) per instance, by -writers concurrent writers as apps do. Each case:
//
//   - catchup N (-sizes): A already holds N records; B joins the DB (NewDBFromAddr with
//     A's address, thread key and collection config, then one net API PullThread, as
//     `hubctl db join` does). Timed from the join call until B's log heads (net API
//     GetThread counters) reach A's; records/s is N over that time.
//   - live N (-sizes, on catchup's daemons): with B joined, N more are written on A. Timed
//     from the first write until B's heads reach A's again; the lag is how long after A's
//     last write B caught up. A pushes each new record to the peers of the logs it knows,
//     so to B only once it has learnt B's log (at B's first edge exchange with A, or at
//     once with -replicator); until then B gets records by pulling.
//   - burst (-burst): B joins A's DB while it holds 1 record and converges; then -burst
//     instances are written on A. B's lag after A's last write (at most -burst-timeout),
//     A's write rate, and the most acknowledged records B lacked at one reading of its
//     heads (every -poll).
//   - stopped (-stopped N): A and B converge on a few records; B is stopped (SIGINT, its
//     exit awaited); N are written on A; B starts again on its data directory with the
//     same flags and libp2p port. Its time to converge from its process start and from
//     its state file appearing.
//   - third (-third N): A holds N, B joins and converges; A is stopped; a fresh daemon C
//     joins the DB from B's loopback address as B joined from A's. C's time to reach B's
//     heads and records/s.
//
// Every case counts losses: it keeps each instance ID A acknowledged (Create returned
// it) and, once the followers converged, reads every node's collection (Find, a page at
// a time) for them; `lost` is how many each node lacks (A, B and, in third, C; A's count
// in third is taken before A stops).
//
// With -baseline PATH every case of every round runs on both builds, interleaved (the
// first build alternates round by round), each on fresh daemons and data directories
// (--auth none, everything on 127.0.0.1 port 0, --include-private-addrs so the daemons
// announce their loopback addresses, no other peers). A case that does not converge
// within its bound is reported with what the follower held and the other cases still
// run; any such case, any loss or any other failure makes the exit status 1, after every
// figure is printed.
//
// Usage: go run ./bench/converge -hubctl PATH [-baseline PATH] [-cases catchup,live,burst,stopped,third]
// [-sizes 1000,10000] [-burst 100000] [-stopped 10000] [-third 10000] [-rounds 3] [-writers 16]
// [-timeout 5m] [-burst-timeout 5m] [-join pull|block] [-replicator] [-pull-interval D] [-v] [-debug]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "converge:", err)
		os.Exit(1)
	}
}

type options struct {
	writers      int
	timeout      time.Duration
	burstTimeout time.Duration
	poll         time.Duration
	pullInterval time.Duration
	join         string
	replicator   bool
	verbose      bool
	debug        bool
}

// build is one hubctl binary under test.
type build struct{ name, bin string }

var allCases = []string{"catchup", "live", "burst", "stopped", "third"}

// step is one unit of a round: a case function and the results it fills.
type step struct {
	label string
	cases []string // the results' cases, in the function's order
	n     int
	fn    func(context.Context, *bench, []*result) error
}

func run() error {
	var o options
	hubctl := flag.String("hubctl", "", "hubctl binary (this build)")
	baseline := flag.String("baseline", "", "another hubctl binary to measure beside it, case by case")
	name := flag.String("name", "this", "this build's name in the tables")
	baselineName := flag.String("baseline-name", "baseline", "the baseline's name in the tables")
	casesFlag := flag.String("cases", strings.Join(allCases, ","), "cases to run (comma-separated)")
	sizes := flag.String("sizes", "1000,10000", "instances written on A for catchup and live (comma-separated)")
	burstN := flag.Int("burst", 100000, "instances written on A in the burst case (0: skip it)")
	stoppedN := flag.Int("stopped", 10000, "instances written on A while B is stopped (0: skip the case)")
	thirdN := flag.Int("third", 10000, "instances A holds in the third-daemon case (0: skip it)")
	rounds := flag.Int("rounds", 3, "rounds, each running every case on every build on fresh daemons")
	flag.IntVar(&o.writers, "writers", 16, "concurrent writers on A")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "longest wait for a follower to converge, per phase")
	flag.DurationVar(&o.burstTimeout, "burst-timeout", 5*time.Minute, "longest wait for B to converge after A's last burst write")
	flag.DurationVar(&o.poll, "poll", 25*time.Millisecond, "how often a follower's log heads are read")
	flag.DurationVar(&o.pullInterval, "pull-interval", 0, "daemons' --pull-interval (0: their default)")
	flag.StringVar(&o.join, "join", "pull", "how followers join: pull (NewDBFromAddr, then PullThread), block (NewDBFromAddr blocking until its pull is done)")
	flag.BoolVar(&o.replicator, "replicator", false, "after joining, the follower adds the peer it joined from as a replicator (net AddReplicator), so that peer learns its log at once")
	flag.BoolVar(&o.verbose, "v", false, "trace the followers' progress on stderr")
	flag.BoolVar(&o.debug, "debug", false, "run the daemons with --debug, their stderr on ours")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags go before them)", flag.Args())
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("invalid -sizes %q: want positive counts like 1000,10000", *sizes)
		}
		ns = append(ns, n)
	}
	want := map[string]bool{}
	for _, c := range strings.Split(*casesFlag, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(allCases, c) {
			return fmt.Errorf("invalid -cases %q: want some of %s", *casesFlag, strings.Join(allCases, ","))
		}
		want[c] = true
	}
	if *hubctl == "" || *rounds < 1 || o.writers < 1 || (o.join != "pull" && o.join != "block") ||
		*burstN < 0 || *stoppedN < 0 || *thirdN < 0 || o.poll <= 0 || o.timeout <= 0 || o.burstTimeout <= 0 {
		return fmt.Errorf("need -hubctl, -rounds >= 1, -writers >= 1, -join pull or block, counts >= 0 and positive durations")
	}
	builds := []build{{*name, *hubctl}}
	if *baseline != "" {
		if *name == *baselineName {
			return fmt.Errorf("-name and -baseline-name are both %q: name the builds apart", *name)
		}
		builds = append(builds, build{*baselineName, *baseline})
	}

	var plan []step
	for _, n := range ns {
		var cs []string
		for _, c := range []string{"catchup", "live"} {
			if want[c] {
				cs = append(cs, c)
			}
		}
		if len(cs) > 0 {
			plan = append(plan, step{strings.Join(cs, "+"), cs, n, catchupLive})
		}
	}
	for _, s := range []struct {
		c  string
		n  int
		fn func(context.Context, *bench, []*result) error
	}{{"burst", *burstN, burst}, {"stopped", *stoppedN, stopped}, {"third", *thirdN, third}} {
		if want[s.c] && s.n > 0 {
			plan = append(plan, step{s.c, []string{s.c}, s.n, s.fn})
		}
	}
	if len(plan) == 0 {
		return fmt.Errorf("no case to run: -cases %q with these counts selects none", *casesFlag)
	}

	work, err := os.MkdirTemp("", "hubctl-converge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	var all []*result
	var failures []string
	for r := 1; r <= *rounds; r++ {
		order := builds
		if r%2 == 0 {
			order = slices.Clone(builds)
			slices.Reverse(order)
		}
		for si, st := range plan {
			for _, b := range order {
				rs, fails := runStep(o, b, st, r, filepath.Join(work, fmt.Sprintf("%d-%d-%s", r, si, b.name)))
				all = append(all, rs...)
				failures = append(failures, fails...)
			}
		}
	}

	report(os.Stdout, all, builds, *rounds, o.writers)
	for _, f := range failures {
		fmt.Println(f)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d failures (listed above)", len(failures))
	}
	return nil
}

// runStep runs one step on one build on fresh daemons and returns its results and
// failures (not converged, lost, failed).
func runStep(o options, b build, st step, round int, dir string) ([]*result, []string) {
	var rs []*result
	for _, c := range st.cases {
		rs = append(rs, &result{build: b.name, cas: c, n: st.n, round: round})
	}
	// Each convergence wait and each write is bounded; this backstop bounds the case.
	ctx, cancel := context.WithTimeout(context.Background(), 3*o.timeout+o.burstTimeout+2*time.Hour)
	defer cancel()
	e := &bench{o: o, b: b, dir: dir}
	err := st.fn(ctx, e, rs)
	cerr := e.close()
	var fails []string
	label := func(r *result) string { return fmt.Sprintf("round %d, %s %d, %s", round, r.cas, r.n, r.build) }
	for _, r := range rs {
		if !r.done {
			r.err = err
			if r.err == nil {
				r.err = errors.New("not run")
			}
		}
		progress(r)
		var nc *notConverged
		switch {
		case r.done:
		case errors.As(r.err, &nc):
			fails = append(fails, fmt.Sprintf("NOT CONVERGED: %s: %v", label(r), nc))
		default:
			fails = append(fails, fmt.Sprintf("FAILED: %s: %v", label(r), r.err))
		}
		for _, node := range []string{"A", "B", "C"} {
			if n := r.lost[node]; n > 0 {
				fails = append(fails, fmt.Sprintf("LOST: %s: %s lacks %d of the %d acknowledged instances (e.g. %s)", label(r), node, n, r.acked, strings.Join(r.lostIDs[node], ", ")))
			}
		}
	}
	if cerr != nil {
		fails = append(fails, fmt.Sprintf("FAILED: round %d, %s %d, %s: %v", round, st.label, st.n, b.name, cerr))
	}
	return rs, fails
}
