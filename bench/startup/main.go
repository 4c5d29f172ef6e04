// Command startup measures the wall time of hubctl commands that must start fast against a
// Go hello-world binary, run interleaved so that both see the same machine noise.
//
// Usage: go run ./bench/startup -hubctl PATH -hello PATH [-n 30] [-max-ratio 3]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubctl/hubctl/bench/internal/stats"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
}

func run() error {
	hubctl := flag.String("hubctl", "", "hubctl binary")
	hello := flag.String("hello", "", "hello-world binary")
	n := flag.Int("n", 30, "runs per command (at least 20)")
	identities := flag.Int("identities", 10, "identities in the keystore for identity list")
	maxRatio := flag.Float64("max-ratio", 3, "goal: median wall time at most this multiple of hello's")
	extra := flag.String("extra", "", "extra hubctl commands to time, separated by ';' (e.g. '__complete identity show \"\"')")
	flag.Parse()
	if *hubctl == "" || *hello == "" || *n < 20 {
		return fmt.Errorf("need -hubctl, -hello and -n >= 20")
	}

	home, err := os.MkdirTemp("", "hubctl-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	env := append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
		"NO_COLOR=1",
	)
	for i := 0; i < *identities; i++ {
		c := exec.Command(*hubctl, "identity", "new", fmt.Sprintf("bench-%02d", i))
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("create identity: %v: %s", err, out)
		}
	}

	type target struct {
		name string
		argv []string
	}
	targets := []target{
		{"hello", []string{*hello}},
		{"hubctl version", []string{*hubctl, "version"}},
		{"hubctl --help", []string{*hubctl, "--help"}},
		{"hubctl identity list", []string{*hubctl, "identity", "list"}},
	}
	for _, e := range strings.Split(*extra, ";") {
		if e = strings.TrimSpace(e); e != "" {
			targets = append(targets, target{"hubctl " + e, append([]string{*hubctl}, splitArgs(e)...)})
		}
	}

	samples := make([][]time.Duration, len(targets))
	// Warm the page cache once, then interleave the targets round by round.
	for _, t := range targets {
		if _, err := timeRun(t.argv, env); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	for r := 0; r < *n; r++ {
		for i, t := range targets {
			d, err := timeRun(t.argv, env)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			samples[i] = append(samples[i], d)
		}
	}

	base := stats.Median(samples[0])
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "command\tmedian\tp10\tp90\tratio\tgoal (<= %.1f)\n", *maxRatio)
	failed := false
	for i, t := range targets {
		s := samples[i]
		ratio := float64(stats.Median(s)) / float64(base)
		verdict := "-"
		if i > 0 {
			verdict = "met"
			if ratio > *maxRatio {
				verdict, failed = "MISSED", true
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\n", t.name, stats.Ms(stats.Median(s)), stats.Ms(stats.Pct(s, 10)), stats.Ms(stats.Pct(s, 90)), ratio, verdict)
	}
	tw.Flush()
	fmt.Printf("runs per command: %d, interleaved; identities in keystore: %d\n", *n, *identities)
	if failed {
		return fmt.Errorf("a command missed the goal of %.1fx hello's median", *maxRatio)
	}
	return nil
}

func timeRun(argv []string, env []string) (time.Duration, error) {
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = env
	start := time.Now()
	out, err := c.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	return d, nil
}

// splitArgs splits on spaces, honouring double quotes (enough for the -extra flag).
func splitArgs(s string) []string {
	var args []string
	var cur strings.Builder
	inQuote, started := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, started = !inQuote, true
		case r == ' ' && !inQuote:
			if started {
				args, started = append(args, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			started = true
		}
	}
	if started {
		args = append(args, cur.String())
	}
	return args
}
