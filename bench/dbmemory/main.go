// Command dbmemory measures what each database costs `hubctl daemon` in memory: it starts
// the daemon (--auth none, a fresh data directory, every listener on 127.0.0.1 with port
// 0, no bootstrap), creates databases the way a Hub user does (NewDB with one collection,
// then one Create of a few instances), and at each checkpoint (-n) reads the daemon's
// resident memory from /proc/PID/status after the creates, then stops it, starts it
// again on the same directory and reads it after the restart: the restart is the cost
// the databases impose for good, since go-threads loads every database at start.
//
// Each checkpoint waits -settle before it reads (a forced GC is not possible from
// outside). With -baseline PATH it runs a second binary through the same checkpoints
// and prints both side by side (bench/dbmemory.sh --baseline REV builds REV for it).
//
// With -heap FILE it instead runs the daemon in this process (server.StartDaemon),
// creates the largest -n databases, forces a GC and writes a heap profile for
// `go tool pprof -top FILE`: where the memory of each database goes.
//
// Usage: go run ./bench/dbmemory -hubctl PATH [-baseline PATH] [-n 100,1000,5000]
//
//	[-instances 3] [-concurrency 8] [-settle 5s] [-timeout 1h]
//	go run ./bench/dbmemory -heap FILE [-n 1000]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dbmemory:", err)
		os.Exit(1)
	}
}

type options struct {
	checkpoints []int
	instances   int
	concurrency int
	settle      time.Duration
	deadline    time.Time
}

func run() error {
	hubctl := flag.String("hubctl", "", "hubctl binary")
	baseline := flag.String("baseline", "", "another hubctl binary, measured the same way, first")
	ns := flag.String("n", "100,1000,5000", "checkpoints: database counts, ascending")
	instances := flag.Int("instances", 3, "instances created in each database's collection")
	concurrency := flag.Int("concurrency", 8, "databases created at once")
	settle := flag.Duration("settle", 5*time.Second, "wait before each reading")
	timeout := flag.Duration("timeout", time.Hour, "bound on the whole run")
	heap := flag.String("heap", "", "run the daemon in-process and write a heap profile here")
	var env []string
	flag.Func("env", "KEY=VALUE in the environment of -hubctl's daemon, not the baseline's (repeatable), e.g. GOGC=50", func(s string) error {
		if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE")
		}
		env = append(env, s)
		return nil
	})
	flag.Parse()
	var o options
	for _, f := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 100000 || (len(o.checkpoints) > 0 && n <= o.checkpoints[len(o.checkpoints)-1]) {
			return fmt.Errorf("invalid -n %q: ascending counts from 1 to 100000", *ns)
		}
		o.checkpoints = append(o.checkpoints, n)
	}
	if *instances < 0 || *instances > 1000 || *concurrency < 1 || *concurrency > 256 {
		return fmt.Errorf("-instances must be 0..1000 and -concurrency 1..256")
	}
	o.instances, o.concurrency, o.settle = *instances, *concurrency, *settle
	o.deadline = time.Now().Add(*timeout)
	work, err := os.MkdirTemp("", "hubctl-dbmemory-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if *heap != "" {
		return heapProfile(work, *heap, o)
	}
	if *hubctl == "" {
		return fmt.Errorf("need -hubctl (or -heap)")
	}
	type variant struct {
		name, binary string
		env          []string
	}
	this := variant{"this", *hubctl, env}
	if len(env) > 0 {
		this.name = strings.Join(env, " ")
	}
	variants := []variant{this}
	if *baseline != "" {
		variants = []variant{{"baseline", *baseline, nil}, this}
	}
	results := map[string][]reading{}
	for _, v := range variants {
		rs, err := measure(v.binary, v.env, filepath.Join(work, fmt.Sprint(len(results))), o)
		// What was measured before a failure (the deadline, say) is still printed.
		results[v.name] = rs
		if err != nil {
			fmt.Fprintf(os.Stderr, "dbmemory: %s: %v\n", v.name, err)
			break
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "build\tDBs\tRSS after creates\tMB/DB\tRSS after restart\tMB/DB\tof which anon\tstart s\t\n")
	for _, v := range variants {
		for _, r := range results[v.name] {
			if r.n == 0 {
				fmt.Fprintf(tw, "%s\t0\t%s\t\t%s\t\t%s\t%.1f\t\n", v.name, mb(r.created.rss), mb(r.restarted.rss), mb(r.restarted.anon), r.start.Seconds())
				continue
			}
			idle := results[v.name][0]
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.3f\t%s\t%.3f\t%s\t%.1f\t\n", v.name, r.n,
				mb(r.created.rss), perDB(r.created.rss, idle.restarted.rss, r.n),
				mb(r.restarted.rss), perDB(r.restarted.rss, idle.restarted.rss, r.n),
				mb(r.restarted.anon), r.start.Seconds())
		}
	}
	tw.Flush()
	fmt.Println("MB/DB: (RSS - RSS of the restarted daemon with no databases, whose first start is noisier) / DBs; anon: the restarted daemon's RssAnon (heap and badger's memtables), the rest is mapped files")
	if len(results[variants[len(variants)-1].name]) < len(o.checkpoints)+1 {
		return errors.New("not every checkpoint was measured")
	}
	return nil
}

type rss struct{ rss, anon int64 } // bytes

type reading struct {
	n                  int
	created, restarted rss
	start              time.Duration // the restart, until the daemon serves
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func perDB(b, idle int64, n int) float64 { return float64(b-idle) / (1 << 20) / float64(n) }

// measure runs one binary through the checkpoints on dir; the first reading is of the
// daemon with no databases.
func measure(hubctl string, env []string, dir string, o options) ([]reading, error) {
	d, err := startDaemon(hubctl, env, dir, o.deadline)
	if err != nil {
		return nil, err
	}
	defer func() { d.stop() }()
	var out []reading
	read := func(n int) error {
		r := reading{n: n}
		time.Sleep(o.settle)
		if r.created, err = readRSS(d.cmd.Process.Pid); err != nil {
			return err
		}
		if err := d.stop(); err != nil {
			return err
		}
		t := time.Now()
		if d, err = startDaemon(hubctl, env, dir, o.deadline); err != nil {
			return err
		}
		// A serving daemon has loaded every database: ListDBs shows them all.
		if got, err := countDBs(d.api, o.deadline); err != nil || got != n {
			return fmt.Errorf("after the restart the daemon lists %d databases (%v), want %d", got, err, n)
		}
		r.start = time.Since(t)
		time.Sleep(o.settle)
		if r.restarted, err = readRSS(d.cmd.Process.Pid); err != nil {
			return err
		}
		out = append(out, r)
		fmt.Fprintf(os.Stderr, "%s %6d DBs: RSS %s after creates, %s after restart\n", filepath.Base(hubctl), n, mb(r.created.rss), mb(r.restarted.rss))
		return nil
	}
	if err := read(0); err != nil {
		return out, err
	}
	have := 0
	for _, n := range o.checkpoints {
		if err := createDBs(d.api, have, n, o); err != nil {
			return out, err
		}
		have = n
		if err := read(n); err != nil {
			return out, err
		}
	}
	return out, nil
}

type daemon struct {
	cmd     *exec.Cmd
	api     string
	stopped bool
}

func startDaemon(hubctl string, env []string, dir string, deadline time.Time) (*daemon, error) {
	cmd := exec.Command(hubctl, "daemon", "--auth", "none", "--no-config",
		"--api-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--host-addr", "/ip4/127.0.0.1/tcp/0")
	cmd.Env = append(append(os.Environ(), "HUBCTL_DATA_DIR="+dir, "HUBCTL_CONFIG="+filepath.Join(dir, "config.yaml")), env...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{cmd: cmd}
	until := earlier(deadline, time.Now().Add(10*time.Minute))
	for ; ; time.Sleep(20 * time.Millisecond) {
		if st, ok := server.Running(dir); ok && st.PID == cmd.Process.Pid {
			d.api = st.API
			return d, nil
		}
		if time.Now().After(until) {
			_ = d.stop()
			return nil, fmt.Errorf("the daemon wrote no state file by %s", until.Format(time.TimeOnly))
		}
	}
}

// stop ends the daemon with SIGINT, waiting at most a minute before it kills it.
func (d *daemon) stop() error {
	if d.stopped {
		return nil
	}
	d.stopped = true
	_ = d.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		_ = d.cmd.Process.Kill()
		<-done
		return errors.New("the daemon did not stop within a minute of SIGINT")
	}
}

func readRSS(pid int) (rss, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return rss{}, err
	}
	defer f.Close()
	var r rss
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			r.rss = kb << 10
		case "RssAnon":
			r.anon = kb << 10
		}
	}
	if r.rss == 0 {
		return r, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return r, sc.Err()
}

func dial(api string) (*client.Client, error) {
	return client.NewClient(api, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

func countDBs(api string, deadline time.Time) (int, error) {
	c, err := dial(api)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ctx, cancel := context.WithDeadline(context.Background(), earlier(deadline, time.Now().Add(5*time.Minute)))
	defer cancel()
	dbs, err := c.ListDBs(ctx)
	return len(dbs), err
}

var docSchema = jsonschema.Reflect(&doc{})

type doc struct {
	ID   string `json:"_id"`
	N    int    `json:"n"`
	Text string `json:"text"`
}

// createDBs creates databases from+1 to to, o.concurrency at a time, each with one
// collection and o.instances instances; every call is bounded by the run's deadline.
func createDBs(api string, from, to int, o options) error {
	c, err := dial(api)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithDeadline(context.Background(), o.deadline)
	defer cancel()
	var next atomic.Int64
	next.Store(int64(from))
	errs := make(chan error, o.concurrency)
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > to || ctx.Err() != nil {
					return
				}
				if err := createDB(ctx, c, i, o.instances); err != nil {
					errs <- fmt.Errorf("database %d: %w", i, err)
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("created %d of %d databases before the deadline (-timeout)", int(next.Load())-from, to-from)
	}
	return nil
}

func createDB(ctx context.Context, c *client.Client, i, instances int) error {
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, db.WithNewManagedName(fmt.Sprintf("db%d", i)),
		db.WithNewManagedCollections(db.CollectionConfig{Name: "docs", Schema: docSchema})); err != nil {
		return fmt.Errorf("NewDB: %w", err)
	}
	if instances == 0 {
		return nil
	}
	docs := make(client.Instances, instances)
	for j := range docs {
		docs[j] = &doc{N: j, Text: "a document of about a hundred bytes, as a Hub user would write"}
	}
	if _, err := c.Create(ctx, id, "docs", docs); err != nil {
		return fmt.Errorf("Create: %w", err)
	}
	return nil
}

// heapProfile runs the daemon in this process, creates the largest checkpoint's
// databases, restarts it (the steady state), forces a GC and writes the heap profile.
func heapProfile(work, file string, o options) error {
	n := o.checkpoints[len(o.checkpoints)-1]
	dir := filepath.Join(work, "inprocess")
	start := func() (*server.Daemon, error) {
		ctx, cancel := context.WithDeadline(context.Background(), earlier(o.deadline, time.Now().Add(10*time.Minute)))
		defer cancel()
		return server.StartDaemon(ctx, server.DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone,
			APIAddr: "127.0.0.1:0", WebAddr: "127.0.0.1:0", HostAddr: "/ip4/127.0.0.1/tcp/0"})
	}
	stop := func(d *server.Daemon) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return d.Shutdown(ctx)
	}
	d, err := start()
	if err != nil {
		return err
	}
	idle := heapInuse()
	if err := createDBs(d.State().API, 0, n, o); err != nil {
		_ = stop(d)
		return err
	}
	if err := stop(d); err != nil {
		return err
	}
	if d, err = start(); err != nil {
		return err
	}
	defer stop(d)
	if got, err := countDBs(d.State().API, o.deadline); err != nil || got != n {
		return fmt.Errorf("after the restart the daemon lists %d databases (%v), want %d", got, err, n)
	}
	time.Sleep(o.settle)
	inuse := heapInuse()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%d databases, after a restart: heap in use %s (%s with none), %.3f MB per database; goroutines %d; Sys %s\n",
		n, mb(int64(inuse)), mb(int64(idle)), float64(int64(inuse)-int64(idle))/(1<<20)/float64(n), runtime.NumGoroutine(), mb(int64(ms.Sys)))
	fmt.Printf("heap profile: go tool pprof -top -sample_index=inuse_space %s\n", file)
	return nil
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
