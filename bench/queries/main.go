// Command queries measures `hubctl instance find` on `hubctl daemon` with 100,000
// instances of about 200 bytes, indexed on name and n (issue "Queries"): each query as a
// whole CLI process, interleaved round by round with `instance get` of one ID, and the
// same queries by a baseline build against its own daemon with the same data (the
// baseline CLI evaluates queries itself, paging through the collection over gRPC). It
// also samples each daemon's resident memory while one find returns all 100,000.
//
// Usage: bench/queries.sh --baseline REV [-n 100000] [-rounds 7]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hubctl/hubctl/bench/internal/stats"
	"github.com/hubctl/hubctl/pkg/server"
)

func main() {
	hubctl := flag.String("hubctl", "", "the hubctl binary under test")
	baseline := flag.String("baseline", "", "a hubctl build that evaluates queries itself")
	n := flag.Int("n", 100000, "instances")
	rounds := flag.Int("rounds", 7, "timed rounds")
	flag.Parse()
	if err := run(*hubctl, *baseline, *n, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "queries:", err)
		os.Exit(1)
	}
}

const schema = `{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"},"n":{"type":"number"},"city":{"type":"string"},"note":{"type":"string"}}}`

// side is one build with its own daemon, data and CLI settings.
type side struct {
	name   string
	bin    string
	env    []string
	db     string
	daemon *exec.Cmd
}

func run(hubctl, baseline string, n, rounds int) error {
	if hubctl == "" || baseline == "" || n < 1000 || rounds < 1 {
		return fmt.Errorf("need -hubctl, -baseline, -n >= 1000 and -rounds >= 1")
	}
	work, err := os.MkdirTemp("", "hubctl-queries-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	docs := filepath.Join(work, "docs.jsonl")
	if err := writeDocs(docs, n); err != nil {
		return err
	}
	schemaFile := filepath.Join(work, "schema.json")
	if err := os.WriteFile(schemaFile, []byte(schema), 0o600); err != nil {
		return err
	}
	var sides []*side
	defer func() {
		for _, s := range sides {
			_ = s.daemon.Process.Signal(os.Interrupt)
			_ = s.daemon.Wait()
		}
	}()
	for _, sd := range []struct{ name, bin string }{{"new", hubctl}, {"baseline", baseline}} {
		s, err := start(work, sd.name, sd.bin)
		if err != nil {
			return err
		}
		sides = append(sides, s)
		if _, err := s.out("identity", "new", "bench"); err != nil {
			return err
		}
		if s.db, err = s.out("db", "create", "--name", "bench"); err != nil {
			return err
		}
		if _, err := s.out("collection", "create", s.db, "items", "--schema", schemaFile, "--index", "name", "--index", "n"); err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := s.out("instance", "create", s.db, "items", docs); err != nil {
			return err
		}
		fmt.Printf("%s: %d instances of about 200 bytes seeded in %s; daemon RSS %d MB\n", s.name, n, time.Since(t0).Round(time.Millisecond), rssKiB(s.daemon.Process.Pid)/1024)
	}
	cur, base := sides[0], sides[1]

	last := fmt.Sprintf("i%06d", n-1)
	eq := "name=" + fmt.Sprintf("n%06d", n-1)
	rng := fmt.Sprintf("n>=%d", n-10)
	unindexed := "city=c0007" // 1 in 1,000: n/1000 instances
	// The first indexed query builds the index hubctl trusts (go-threads' own was kept
	// since the collection was made; hubctl checks it once and marks it).
	for _, q := range []string{eq, rng} {
		t0 := time.Now()
		if _, err := cur.out("instance", "find", cur.db, "items", "--where", q); err != nil {
			return err
		}
		fmt.Printf("first find --where %s (checks the index once): %s\n", q, time.Since(t0).Round(time.Millisecond))
	}

	type series struct {
		name string
		s    *side
		args []string
		want int
		ds   []time.Duration
	}
	all := []*series{
		{name: "instance get ID", s: cur, args: []string{"instance", "get", cur.db, "items", last}, want: 1},
		{name: "find indexed equality (" + eq + ")", s: cur, args: []string{"instance", "find", cur.db, "items", "--where", eq}, want: 1},
		{name: "find indexed range (" + rng + ")", s: cur, args: []string{"instance", "find", cur.db, "items", "--where", rng}, want: 10},
		{name: "find unindexed (" + unindexed + ")", s: cur, args: []string{"instance", "find", cur.db, "items", "--where", unindexed}, want: n / 1000},
		{name: "baseline: instance get ID", s: base, args: []string{"instance", "get", base.db, "items", last}, want: 1},
		{name: "baseline: find equality (client-side paging)", s: base, args: []string{"instance", "find", base.db, "items", "--where", eq}, want: 1},
		{name: "baseline: find range (client-side paging)", s: base, args: []string{"instance", "find", base.db, "items", "--where", rng}, want: 10},
		{name: "baseline: find unindexed (client-side paging)", s: base, args: []string{"instance", "find", base.db, "items", "--where", unindexed}, want: n / 1000},
	}
	for r := 0; r < rounds; r++ {
		for _, sr := range all {
			t0 := time.Now()
			out, err := sr.s.out(append(sr.args, "-o", "json")...)
			if err != nil {
				return err
			}
			sr.ds = append(sr.ds, time.Since(t0))
			if got := count(out); got != sr.want {
				return fmt.Errorf("%s: %d instances, want %d", sr.name, got, sr.want)
			}
		}
	}
	fmt.Printf("\n%d rounds, interleaved; each a whole hubctl process (median, min-max; against the same side's instance get):\n", rounds)
	for i, sr := range all {
		get := stats.Median(all[0].ds)
		if i >= 4 {
			get = stats.Median(all[4].ds)
		}
		m := stats.Median(sr.ds)
		fmt.Printf("  %-52s %10s  (%s-%s)  %.2fx instance get\n", sr.name, stats.Ms(m), stats.Ms(stats.Pct(sr.ds, 0)), stats.Ms(stats.Pct(sr.ds, 100)), float64(m)/float64(get))
	}
	for i, what := range []string{"equality", "range", "unindexed"} {
		fmt.Printf("  %-10s server-side %.1fx faster than the baseline's client-side paging\n", what, float64(stats.Median(all[5+i].ds))/float64(stats.Median(all[1+i].ds)))
	}

	// Each daemon's memory while one find returns every instance (streamed in pages by
	// the new one, paged through by the baseline's CLI).
	for _, s := range sides {
		pid := s.daemon.Process.Pid
		before := rssKiB(pid)
		peak := before
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(5 * time.Millisecond):
					if kib := rssKiB(pid); kib > peak {
						peak = kib
					}
				}
			}
		}()
		t0 := time.Now()
		out, err := s.out("instance", "find", s.db, "items", "--where", "n>=0", "-o", "json")
		close(done)
		if err != nil {
			return err
		}
		fmt.Printf("  %-9s find of all: %d instances in %s; its daemon's RSS %d MB before, %d MB peak\n", s.name, count(out), time.Since(t0).Round(time.Millisecond), before/1024, peak/1024)
	}
	return nil
}

// start runs bin's daemon on a data directory of its own, with its own CLI settings.
func start(work, name, bin string) (*side, error) {
	dir := filepath.Join(work, name, "daemon")
	d := exec.Command(bin, "daemon", "--auth", "none", "--no-config", "--data-dir", dir,
		"--api-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--host-addr", "/ip4/127.0.0.1/tcp/0")
	d.Env = append(os.Environ(), "HUBCTL_CONFIG="+filepath.Join(work, name, "daemon.yaml"))
	if err := d.Start(); err != nil {
		return nil, err
	}
	var st server.State
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var ok bool
		if st, ok = server.Running(dir); ok {
			break
		}
		if time.Now().After(deadline) {
			_ = d.Process.Kill()
			return nil, fmt.Errorf("%s: the daemon wrote no state file in 30s", name)
		}
	}
	home := filepath.Join(work, name, "home")
	return &side{name: name, bin: bin, daemon: d,
		env: append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
			"XDG_DATA_HOME="+filepath.Join(home, "data"), "NO_COLOR=1", "HUBCTL_API="+st.API, "HUBCTL_TOKEN=", "HUBCTL_OUTPUT=")}, nil
}

func (s *side) out(args ...string) (string, error) {
	out, err := stats.HubctlOutput(s.bin, s.env, args...)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.name, err)
	}
	return out, nil
}

// count counts instances in `-o json` output: one object per line, or a JSON array.
func count(out string) int {
	return strings.Count(out, `"_id"`)
}

func writeDocs(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewSource(1))
	const letters = "abcdefghijklmnopqrstuvwxyz "
	note := make([]byte, 120)
	for i := 0; i < n; i++ {
		for j := range note {
			note[j] = letters[rng.Intn(len(letters))]
		}
		fmt.Fprintf(w, `{"_id":"i%06d","name":"n%06d","n":%d,"city":"c%04d","note":%q}`+"\n", i, i, i, i%1000, note)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// rssKiB reads a process's resident memory now (VmRSS, KiB).
func rssKiB(pid int) int64 { return stats.ProcKiB(pid, "VmRSS") }
