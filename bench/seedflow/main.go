// Command seedflow benchmarks hubctl's seed flow, interleaved runs, each series reported as
// median, p10, p90, p99 and max:
//
//   - against a running node: `hubctl db create` (with its cached token) versus the
//     standalone seed program (dial, GetToken, NewDB); goal: median ratio <= 1.0;
//   - embedded: `hubctl db list` opening the in-process node versus the same command on the
//     running node; goals: median ratio < 3, and the embedded p99 at most 2x its median
//     (a command that stalls once in ten, as badger's level-0 compaction once made it,
//     shows in the p99 and max, not in the median or p90).
//
// With -baseline PATH, the embedded `db list` of that other hubctl build runs interleaved
// too, in its own data directory, for a before and after in one run (bench/seedflow.sh
// --baseline REV builds REV for it); the goals apply to -hubctl only.
//
// The running node is a real go-threads node served on 127.0.0.1:0 by this process.
//
// Usage: go run ./bench/seedflow -hubctl PATH -seed PATH [-baseline PATH] [-n 50]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hubctl/hubctl/bench/internal/stats"
	"github.com/hubctl/hubctl/internal/testnode"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "seedflow:", err)
		os.Exit(1)
	}
}

type target struct {
	name string
	argv []string
	env  []string
}

func run() error {
	hubctl := flag.String("hubctl", "", "hubctl binary")
	seed := flag.String("seed", "", "seed program binary")
	baseline := flag.String("baseline", "", "another hubctl binary whose embedded db list runs beside -hubctl's")
	n := flag.Int("n", 50, "runs per command (at least 20; a p99 of 50 runs is their second slowest)")
	flag.Parse()
	if *hubctl == "" || *seed == "" || *n < 20 {
		return fmt.Errorf("need -hubctl, -seed and -n >= 20")
	}
	work, err := os.MkdirTemp("", "hubctl-seedflow-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// Two running nodes: one the creates pile up on, and one holding the same three DBs as
	// the embedded node, so both db lists answer the same question.
	srv, err := testnode.Start(context.Background(), testnode.Options{Dir: filepath.Join(work, "server")})
	if err != nil {
		return err
	}
	defer srv.Close()
	listSrv, err := testnode.Start(context.Background(), testnode.Options{Dir: filepath.Join(work, "list-server")})
	if err != nil {
		return err
	}
	defer listSrv.Close()

	env := func(home string) []string {
		return append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
			"XDG_DATA_HOME="+filepath.Join(home, "data"), "NO_COLOR=1", "HUBCTL_API=", "HUBCTL_TOKEN=")
	}
	remote, embedded := env(filepath.Join(work, "remote")), env(filepath.Join(work, "embedded"))
	baselineEmbedded := env(filepath.Join(work, "embedded-baseline"))
	// Set-up: an identity and a cached token for the running node; a few DBs on each target.
	for _, argv := range [][]string{
		{"identity", "new", "bench"}, {"--api", srv.Addr, "token", "get"},
		{"--api", srv.Addr, "db", "create", "--name", "a"}, {"--api", srv.Addr, "db", "create", "--name", "b"},
	} {
		if err := runOnce(append([]string{*hubctl}, argv...), remote); err != nil {
			return err
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		if err := runOnce([]string{*hubctl, "db", "create", "--name", name}, embedded); err != nil {
			return err
		}
		if err := runOnce([]string{*hubctl, "--api", listSrv.Addr, "db", "create", "--name", name}, remote); err != nil {
			return err
		}
		if *baseline != "" {
			if err := runOnce([]string{*baseline, "db", "create", "--name", name}, baselineEmbedded); err != nil {
				return err
			}
		}
	}

	type group struct {
		title string
		// series[1]'s median over series[0]'s must be at most goal.
		goal float64
		// tailGoal, when set, bounds series[1]'s p99 over its median.
		tailGoal float64
		series   []target
	}
	listSeries := []target{
		{"hubctl db list (running node)", []string{*hubctl, "--api", listSrv.Addr, "db", "list"}, remote},
		{"hubctl db list (embedded node)", []string{*hubctl, "db", "list"}, embedded},
	}
	if *baseline != "" {
		listSeries = append(listSeries, target{"hubctl db list (embedded node, baseline)", []string{*baseline, "db", "list"}, baselineEmbedded})
	}
	groups := []group{
		{"seed flow against a running node", 1.0, 0, []target{
			{"seed program (dial, GetToken, NewDB)", []string{*seed, "-api", srv.Addr}, remote},
			{"hubctl db create (cached token)", []string{*hubctl, "--api", srv.Addr, "db", "create"}, remote},
		}},
		{"db list: running node versus embedded", 3.0, 2.0, listSeries},
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	missed := false
	for _, g := range groups {
		samples := make([][]time.Duration, len(g.series))
		for i := range g.series { // warm-up
			if err := runOnce(g.series[i].argv, g.series[i].env); err != nil {
				return err
			}
		}
		for r := 0; r < *n; r++ {
			for i, t := range g.series {
				start := time.Now()
				if err := runOnce(t.argv, t.env); err != nil {
					return err
				}
				samples[i] = append(samples[i], time.Since(start))
			}
		}
		fmt.Fprintf(tw, "%s\tmedian\tp10\tp90\tp99\tmax\n", g.title)
		for i, t := range g.series {
			s := samples[i]
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", t.name, stats.Ms(stats.Median(s)), stats.Ms(stats.Pct(s, 10)),
				stats.Ms(stats.Pct(s, 90)), stats.Ms(stats.Pct(s, 99)), stats.Ms(stats.Pct(s, 100)))
		}
		verdict := func(ratio, goal float64) string {
			if ratio > goal {
				missed = true
				return "MISSED"
			}
			return "met"
		}
		ratio := medianRatio(samples[1], samples[0])
		fmt.Fprintf(tw, "  median ratio %.2f (goal <= %.1f): %s\t\t\t\t\t\n", ratio, g.goal, verdict(ratio, g.goal))
		if g.tailGoal > 0 {
			tail := tailRatio(samples[1])
			fmt.Fprintf(tw, "  p99/median %.2f (goal <= %.1f): %s\t\t\t\t\t\n", tail, g.tailGoal, verdict(tail, g.tailGoal))
		}
		// The baseline's figures, for comparison only: no goal binds another build.
		for i := 2; i < len(g.series); i++ {
			fmt.Fprintf(tw, "  %s: median ratio %.2f, p99/median %.2f\t\t\t\t\t\n", g.series[i].name,
				medianRatio(samples[i], samples[0]), tailRatio(samples[i]))
		}
	}
	tw.Flush()
	fmt.Printf("runs per command: %d, interleaved\n", *n)
	if missed {
		return fmt.Errorf("a goal was missed")
	}
	return nil
}

// medianRatio is a's median over b's.
func medianRatio(a, b []time.Duration) float64 {
	return float64(stats.Median(a)) / float64(stats.Median(b))
}

// tailRatio is s's p99 over its median: 1 for a series without stalls, about 20 when one
// run in ten waits a second.
func tailRatio(s []time.Duration) float64 {
	return float64(stats.Pct(s, 99)) / float64(stats.Median(s))
}

func runOnce(argv, env []string) error {
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = env
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %v: %s", argv, err, out)
	}
	return nil
}
