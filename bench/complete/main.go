// Command complete measures what a TAB costs when the completion needs no server:
// `hubctl __complete identity show ""` (identity names from the keystore), against
// `hubctl version`, run interleaved so that both see the same machine noise. Goal: a
// median under twice version's.
//
// Usage: go run ./bench/complete -hubctl PATH [-n 20] [-identities 10] [-max-ratio 2]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hubctl/hubctl/bench/internal/stats"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "complete:", err)
		os.Exit(1)
	}
}

func run() error {
	hubctl := flag.String("hubctl", "", "hubctl binary")
	n := flag.Int("n", 20, "runs per command (at least 20)")
	identities := flag.Int("identities", 10, "identities in the keystore")
	maxRatio := flag.Float64("max-ratio", 2, "goal: the completion's median below this multiple of version's")
	flag.Parse()
	if *hubctl == "" || *n < 20 {
		return fmt.Errorf("need -hubctl and -n >= 20")
	}

	home, err := os.MkdirTemp("", "hubctl-bench-complete-")
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
		if _, err := runOnce([]string{*hubctl, "identity", "new", fmt.Sprintf("bench-%02d", i)}, env); err != nil {
			return fmt.Errorf("create identity: %w", err)
		}
	}

	targets := []struct {
		name string
		argv []string
	}{
		{"hubctl version", []string{*hubctl, "version"}},
		{`hubctl __complete identity show ""`, []string{*hubctl, "__complete", "identity", "show", ""}},
	}
	// The completion must really complete: every identity, then the directive.
	out, err := runOnce(targets[1].argv, env)
	if err != nil {
		return err
	}
	got := 0
	for _, line := range bytes.Split(out, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("bench-")) {
			got++
		}
	}
	if got != *identities {
		return fmt.Errorf("the completion listed %d of %d identities:\n%s", got, *identities, out)
	}

	samples := make([][]time.Duration, len(targets))
	for r := 0; r < *n+1; r++ { // round 0 warms the page cache and is dropped
		for i, t := range targets {
			start := time.Now()
			if _, err := runOnce(t.argv, env); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			if r > 0 {
				samples[i] = append(samples[i], time.Since(start))
			}
		}
	}

	base := stats.Median(samples[0])
	ratio := float64(stats.Median(samples[1])) / float64(base)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "command\tmedian\tp10\tp90\tratio\n")
	for i, t := range targets {
		s := samples[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\n", t.name, stats.Ms(stats.Median(s)), stats.Ms(stats.Pct(s, 10)), stats.Ms(stats.Pct(s, 90)), float64(stats.Median(s))/float64(base))
	}
	tw.Flush()
	fmt.Printf("runs per command: %d, interleaved; identities in keystore: %d\n", *n, *identities)
	if ratio >= *maxRatio {
		return fmt.Errorf("MISSED: the completion's median is %.2fx version's; goal under %.1fx", ratio, *maxRatio)
	}
	fmt.Printf("goal met: %.2fx version's median (goal under %.1fx)\n", ratio, *maxRatio)
	return nil
}

func runOnce(argv, env []string) ([]byte, error) {
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = env
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderr.Bytes())
	}
	return out, nil
}
