// Command seedflow benchmarks hubctl's seed flow, medians of interleaved runs:
//
//   - against a running node: `hubctl db create` (with its cached token) versus the
//     standalone seed program (dial, GetToken, NewDB); goal ratio <= 1.0;
//   - embedded: `hubctl db list` opening the in-process node versus the same command on the
//     running node; goal ratio < 3.
//
// The running node is a real go-threads node served on 127.0.0.1:0 by this process.
//
// Usage: go run ./bench/seedflow -hubctl PATH -seed PATH [-n 25]
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
	n := flag.Int("n", 25, "runs per command (at least 20)")
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
	}

	groups := []struct {
		title string
		goal  float64
		pair  [2]target
	}{
		{"seed flow against a running node", 1.0, [2]target{
			{"seed program (dial, GetToken, NewDB)", []string{*seed, "-api", srv.Addr}, remote},
			{"hubctl db create (cached token)", []string{*hubctl, "--api", srv.Addr, "db", "create"}, remote},
		}},
		{"db list: running node versus embedded", 3.0, [2]target{
			{"hubctl db list (running node)", []string{*hubctl, "--api", listSrv.Addr, "db", "list"}, remote},
			{"hubctl db list (embedded node)", []string{*hubctl, "db", "list"}, embedded},
		}},
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	missed := false
	for _, g := range groups {
		var samples [2][]time.Duration
		for i := range g.pair { // warm-up
			if err := runOnce(g.pair[i].argv, g.pair[i].env); err != nil {
				return err
			}
		}
		for r := 0; r < *n; r++ {
			for i, t := range g.pair {
				start := time.Now()
				if err := runOnce(t.argv, t.env); err != nil {
					return err
				}
				samples[i] = append(samples[i], time.Since(start))
			}
		}
		ratio := float64(stats.Median(samples[1])) / float64(stats.Median(samples[0]))
		verdict := "met"
		if ratio > g.goal {
			verdict, missed = "MISSED", true
		}
		fmt.Fprintf(tw, "%s\tmedian\tp10\tp90\n", g.title)
		for i, t := range g.pair {
			s := samples[i]
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.name, stats.Ms(stats.Median(s)), stats.Ms(stats.Pct(s, 10)), stats.Ms(stats.Pct(s, 90)))
		}
		fmt.Fprintf(tw, "  ratio %.2f (goal <= %.1f): %s\t\t\t\n", ratio, g.goal, verdict)
	}
	tw.Flush()
	fmt.Printf("runs per command: %d, interleaved in pairs\n", *n)
	if missed {
		return fmt.Errorf("a goal was missed")
	}
	return nil
}

func runOnce(argv, env []string) error {
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = env
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %v: %s", argv, err, out)
	}
	return nil
}
