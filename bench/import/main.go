// Command import benchmarks `hubctl instance create` on JSON Lines against a Go program
// that calls the go-threads client's Create directly with the same batches, both as child
// processes importing into a running node (a real go-threads node served on 127.0.0.1:0
// by this process), interleaved in the same run:
//
//   - throughput: documents per second of each, medians of -rounds runs, and their ratio
//     (goal: hubctl >= 0.9 of the direct program);
//   - memory: the peak RSS of the hubctl process importing 10,000 and 100,000 documents
//     (goal: flat as the file grows);
//   - the batch size: hubctl's throughput for each of -sizes, which chose its default.
//
// The direct program is this binary run with -direct: it reads the file line by line,
// batches the lines and calls client.Create once per batch.
//
// Usage: go run ./bench/import -hubctl PATH [-n 100000] [-rounds 3] [-batch 500]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hubctl/hubctl/bench/internal/stats"
	"github.com/hubctl/hubctl/internal/testnode"
)

func main() {
	direct := flag.Bool("direct", false, "run as the direct program (a child of the driver)")
	api := flag.String("api", "", "direct: server address")
	dbID := flag.String("db", "", "direct: thread ID")
	collection := flag.String("collection", "", "direct: collection name")
	file := flag.String("file", "", "direct: JSON Lines file")
	token := flag.String("token", "", "direct: user token")
	hubctl := flag.String("hubctl", "", "hubctl binary")
	n := flag.Int("n", 100000, "documents per import")
	rounds := flag.Int("rounds", 3, "interleaved runs of each program")
	batch := flag.Int("batch", 500, "batch size of the comparison (hubctl's default)")
	sizes := flag.String("sizes", "100,250,500,1000,2000", "batch sizes to try with hubctl, -rounds times each (empty: skip)")
	sweepN := flag.Int("sweep-n", 20000, "documents per batch-size run")
	flag.Parse()
	var err error
	if *direct {
		err = runDirect(*api, *dbID, *collection, *file, *token, *batch)
	} else {
		err = drive(*hubctl, *n, *rounds, *batch, *sizes, *sweepN)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "import:", err)
		os.Exit(1)
	}
}

// runDirect is the baseline: go-threads' own client, the same batches, nothing else.
func runDirect(api, dbRef, collection, file, token string, batch int) error {
	ctx := context.Background()
	id, err := thread.Decode(dbRef)
	if err != nil {
		return err
	}
	c, err := client.NewClient(api, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(thread.Credentials{}))
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	tok := thread.Token(token)
	var docs client.Instances
	total := 0
	flush := func() error {
		if len(docs) == 0 {
			return nil
		}
		ids, err := c.Create(ctx, id, collection, docs, db.WithTxnToken(tok))
		if err != nil {
			return err
		}
		total += len(ids)
		docs = docs[:0]
		return nil
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		docs = append(docs, json.RawMessage(append([]byte(nil), line...)))
		if len(docs) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Println(total)
	return nil
}

// result is one child run.
type result struct {
	wall      time.Duration
	cpu       time.Duration // the child's own user and system time
	serverCPU time.Duration // this process's, which serves the node, during the run
	rssKiB    int64
	docs      int
}

// cpuPerKDoc is the CPU time, client and server, spent per 1000 documents: unlike the
// wall time it hardly moves when other work shares the machine.
func (r result) cpuPerKDoc() time.Duration {
	return (r.cpu + r.serverCPU) * 1000 / time.Duration(r.docs)
}

func (r result) rate() float64 { return float64(r.docs) / r.wall.Seconds() }

type bench struct {
	hubctl string
	self   string
	work   string
	addr   string
	env    []string
	db     string
	token  string
	runs   int
}

func drive(hubctl string, n, rounds, batch int, sizes string, sweepN int) error {
	if hubctl == "" || rounds < 1 || n < 1000 {
		return fmt.Errorf("need -hubctl, -rounds >= 1 and -n >= 1000")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "hubctl-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	srv, err := testnode.Start(context.Background(), testnode.Options{Dir: filepath.Join(work, "server")})
	if err != nil {
		return err
	}
	defer srv.Close()

	home := filepath.Join(work, "home")
	b := &bench{hubctl: hubctl, self: self, work: work, addr: srv.Addr,
		env: append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
			"XDG_DATA_HOME="+filepath.Join(home, "data"), "NO_COLOR=1", "HUBCTL_API="+srv.Addr, "HUBCTL_TOKEN=", "HUBCTL_OUTPUT=")}
	if err := os.WriteFile(filepath.Join(work, "schema.json"), []byte(schema), 0o600); err != nil {
		return err
	}
	// Set-up, untimed: an identity and its cached token, a database.
	if _, err := b.hubctlOut("identity", "new", "bench"); err != nil {
		return err
	}
	if b.token, err = b.hubctlOut("token", "get"); err != nil {
		return err
	}
	if b.db, err = b.hubctlOut("db", "create", "--name", "bench"); err != nil {
		return err
	}

	files := map[int]string{}
	for _, count := range []int{n, 10000, sweepN} {
		if _, ok := files[count]; ok {
			continue
		}
		path := filepath.Join(work, fmt.Sprintf("docs-%d.jsonl", count))
		size, err := writeDocs(path, count)
		if err != nil {
			return err
		}
		files[count] = path
		fmt.Printf("%s: %d documents, %d bytes (%.0f bytes each)\n", filepath.Base(path), count, size, float64(size)/float64(count))
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	// Throughput: hubctl and the direct program, alternating which goes first.
	var hub, direct []result
	for r := 0; r < rounds; r++ {
		order := []bool{true, false}
		if r%2 == 1 {
			order = []bool{false, true}
		}
		for _, isHub := range order {
			if isHub {
				res, err := b.runHubctl(files[n], batch)
				if err != nil {
					return err
				}
				hub = append(hub, res)
			} else {
				res, err := b.runDirect(files[n], batch)
				if err != nil {
					return err
				}
				direct = append(direct, res)
			}
		}
	}
	hubRate, directRate := medianRate(hub), medianRate(direct)
	ratio := hubRate / directRate
	// Each round's two runs are next to each other in time and see the same load from the
	// rest of the machine: their ratio is the steadier figure on a shared machine.
	var paired []float64
	for i := range hub {
		paired = append(paired, hub[i].rate()/direct[i].rate())
	}
	sort.Float64s(paired)
	verdict := "met"
	if ratio < 0.9 {
		verdict = "MISSED"
	}
	fmt.Fprintf(tw, "import of %d documents, batches of %d\tdocs/s (median)\truns (docs/s)\tpeak RSS\tclient CPU\tCPU/1000 docs (client+server)\n", n, batch)
	fmt.Fprintf(tw, "  direct program (go-threads client Create)\t%.0f\t%s\t%s\t%s\t%s\n", directRate, rates(direct), rss(direct), cpu(direct), cpuPerK(direct))
	fmt.Fprintf(tw, "  hubctl instance create\t%.0f\t%s\t%s\t%s\t%s\n", hubRate, rates(hub), rss(hub), cpu(hub), cpuPerK(hub))
	fmt.Fprintf(tw, "  ratio of the medians %.2f (goal >= 0.9): %s\t\t\t\t\t\n", ratio, verdict)
	fmt.Fprintf(tw, "  ratio within each round: median %.2f, from %.2f to %.2f\t\t\t\t\t\n", paired[len(paired)/2], paired[0], paired[len(paired)-1])
	tw.Flush()

	// Memory: hubctl on 10k and n documents.
	small, err := b.runHubctl(files[10000], batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "peak RSS of hubctl\t\t\t\n")
	fmt.Fprintf(tw, "  10000 documents\t%d KiB\t\t\n", small.rssKiB)
	fmt.Fprintf(tw, "  %d documents\t%d KiB (median of %d)\t\t\n", n, medianRSS(hub), len(hub))
	tw.Flush()

	// Batch sizes: each size once per round, rounds interleaved.
	if sizes != "" {
		var list []int
		for _, s := range strings.Split(sizes, ",") {
			size, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("bad -sizes: %v", err)
			}
			list = append(list, size)
		}
		runs := map[int][]result{}
		for r := 0; r < rounds; r++ {
			for _, size := range list {
				res, err := b.runHubctl(files[sweepN], size)
				if err != nil {
					return fmt.Errorf("--batch-size %d: %w", size, err)
				}
				runs[size] = append(runs[size], res)
			}
		}
		fmt.Fprintf(tw, "hubctl batch size (%d documents)\tdocs/s (median)\truns (docs/s)\tpeak RSS\tCPU/1000 docs (client+server)\n", sweepN)
		for _, size := range list {
			fmt.Fprintf(tw, "  --batch-size %d\t%.0f\t%s\t%s\t%s\n", size, medianRate(runs[size]), rates(runs[size]), rss(runs[size]), cpuPerK(runs[size]))
		}
	}
	tw.Flush()
	fmt.Printf("%d interleaved rounds; every run imports into a new collection of one database on the same node\n", rounds)
	if verdict == "MISSED" {
		return fmt.Errorf("hubctl reached %.2f of the direct program's throughput", ratio)
	}
	return nil
}

const schema = `{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"},
"email":{"type":"string"},"age":{"type":"integer"},"active":{"type":"boolean"},
"tags":{"type":"array","items":{"type":"string"}},"note":{"type":"string"}},"required":["_id","name"]}`

// writeDocs writes count JSON Lines documents of about 200 bytes.
func writeDocs(path string, count int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewSource(int64(count)))
	const letters = "abcdefghijklmnopqrstuvwxyz "
	note := make([]byte, 80)
	for i := 0; i < count; i++ {
		for j := range note {
			note[j] = letters[rng.Intn(len(letters))]
		}
		fmt.Fprintf(w, `{"name":"user-%06d","email":"user%06d@example.com","age":%d,"active":%t,"tags":["t%d","t%d"],"note":%q}`+"\n",
			i, i, 18+rng.Intn(60), rng.Intn(2) == 0, rng.Intn(10), rng.Intn(10), note)
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), f.Close()
}

func (b *bench) hubctlOut(args ...string) (string, error) {
	return stats.HubctlOutput(b.hubctl, b.env, args...)
}

// newCollection makes an empty collection for one run.
func (b *bench) newCollection() (string, error) {
	b.runs++
	name := fmt.Sprintf("run%d", b.runs)
	_, err := b.hubctlOut("collection", "create", b.db, name, "--schema", filepath.Join(b.work, "schema.json"))
	return name, err
}

func (b *bench) runHubctl(file string, batch int) (result, error) {
	col, err := b.newCollection()
	if err != nil {
		return result{}, err
	}
	res, out, err := timed(b.env, b.hubctl, "instance", "create", b.db, col, file, "--batch-size", strconv.Itoa(batch))
	if err != nil {
		return result{}, err
	}
	res.docs = strings.Count(out, "\n")
	return res, nil
}

func (b *bench) runDirect(file string, batch int) (result, error) {
	col, err := b.newCollection()
	if err != nil {
		return result{}, err
	}
	res, out, err := timed(b.env, b.self, "-direct", "-api", b.addr, "-db", b.db, "-collection", col,
		"-file", file, "-token", b.token, "-batch", strconv.Itoa(batch))
	if err != nil {
		return result{}, err
	}
	res.docs, err = strconv.Atoi(strings.TrimSpace(out))
	return res, err
}

// timed runs a child process to its end and measures its wall time and peak RSS.
//
// The peak RSS is the child's VmHWM, polled from /proc while it runs: the Maxrss of its
// rusage is no good here, since Linux carries the parent's high-water mark across the
// fork and exec (Go starts children with a vfork-like clone that shares this process's
// memory until the exec), and this process, which serves the node, is the larger.
func timed(env []string, prog string, args ...string) (result, string, error) {
	c := exec.Command(prog, args...)
	c.Env = env
	var out, stderr strings.Builder
	c.Stdout, c.Stderr = &out, &stderr
	start := time.Now()
	before := selfCPU()
	if err := c.Start(); err != nil {
		return result{}, "", err
	}
	peak := make(chan int64)
	done := make(chan struct{})
	go func() {
		var max int64
		status := fmt.Sprintf("/proc/%d/status", c.Process.Pid)
		for {
			if kib := vmHWM(status); kib > max {
				max = kib
			}
			select {
			case <-done:
				peak <- max
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	err := c.Wait()
	wall := time.Since(start)
	close(done)
	res := result{wall: wall, rssKiB: <-peak, cpu: c.ProcessState.UserTime() + c.ProcessState.SystemTime(),
		serverCPU: selfCPU() - before}
	if err != nil {
		return result{}, "", fmt.Errorf("%s %s: %v: %s", filepath.Base(prog), strings.Join(args, " "), err, stderr.String())
	}
	return res, out.String(), nil
}

// selfCPU is this process's user and system time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmHWM reads the peak resident set size (KiB) from a /proc/PID/status file; 0 when the
// process is gone.
func vmHWM(path string) int64 { return stats.StatusKiB(path, "VmHWM") }

func medianRate(rs []result) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r.rate()
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

func medianRSS(rs []result) int64 {
	v := make([]int64, len(rs))
	for i, r := range rs {
		v[i] = r.rssKiB
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[len(v)/2]
}

func rates(rs []result) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%.0f", r.rate()))
	}
	return strings.Join(s, " ")
}

// cpu is the median CPU time of the runs.
func cpu(rs []result) string {
	v := make([]time.Duration, len(rs))
	for i, r := range rs {
		v[i] = r.cpu
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[len(v)/2].Round(time.Millisecond).String()
}

// cpuPerK is the median CPU time per 1000 documents.
func cpuPerK(rs []result) string {
	v := make([]time.Duration, len(rs))
	for i, r := range rs {
		v[i] = r.cpuPerKDoc()
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[len(v)/2].Round(time.Millisecond).String()
}

func rss(rs []result) string {
	return fmt.Sprintf("%d KiB", medianRSS(rs))
}
