// Command buckets measures `hubctl bucket` against a `hubctl daemon` (a child process on
// 127.0.0.1, --auth keys, its own data directory) beside ipfs-lite's own AddFile and
// GetFile on the same data, in this process, on a node opened the way the daemon opens
// its (pkg/node), in the same run:
//
//   - one large file (-size, 1 GiB): `bucket push` and `bucket pull` throughput against
//     AddFile and GetFile (goal: at least 0.8 each), and the peak RSS of the CLI and of the
//     daemon during the push (goal: under 150 MB each); the pull also against GetFile
//     into a file written as the pull writes its own (fsync'd, renamed into place), the
//     same work without the network;
//   - the same file pushed to and pulled from a private bucket (the daemon encrypts and
//     decrypts it) against the public bucket's push and pull of the same round (goal: at
//     least 0.7 each);
//   - a tree of -files files of -file-size bytes (10,000 of 4 KiB): `bucket push` of the
//     directory (PushPaths) in files per second against an AddFile loop (goal: 0.5);
//   - `bucket sync` of that tree after -changed files changed (10): the bytes it sent
//     against the changed files' bytes (goal: within 2x), and its time against the first
//     push's (goal: at most a tenth).
//
// Each figure is measured -rounds times (3), each round afresh (a new node, a new daemon
// and data directory, new data), both sides in that round; the report gives each figure's median round and the range of its ratios, and the
// highest peaks: one round's figures swing with this machine's disk (the in-process
// AddFile of 1 GiB took 3.2 s in one run and 8.1 s in another).
//
// Usage: go run ./bench/buckets -hubctl PATH [-size 1073741824] [-files 10000] [-file-size 4096] [-changed 10] [-rounds 3]
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/node"
	"github.com/hubctl/hubctl/pkg/server"
)

func main() {
	hubctl := flag.String("hubctl", "", "hubctl binary")
	size := flag.Int64("size", 1<<30, "bytes of the large file")
	files := flag.Int("files", 10000, "files of the tree")
	fileSize := flag.Int("file-size", 4096, "bytes of each file of the tree")
	changed := flag.Int("changed", 10, "files of the tree changed before the sync")
	rounds := flag.Int("rounds", 3, "rounds, each on new data; the report gives the median round of each figure")
	flag.Parse()
	if err := run(*hubctl, *size, *files, *fileSize, *changed, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "buckets:", err)
		os.Exit(1)
	}
}

// round is one round's timings and peaks, each side of each measure taken in that round.
type round struct {
	push, liteAdd, pull, liteGet, liteGetFile time.Duration
	cliPeak, daemonPeak                       int64
	treePush, liteTree, sync                  time.Duration
	sent, changedBytes                        int64
	// privatePush and privatePull are the large file's push and pull to and from a
	// private bucket (encrypted by the daemon), in the same round as the public ones.
	privatePush, privatePull time.Duration
}

func run(hubctl string, size int64, files, fileSize, changed, rounds int) error {
	if hubctl == "" {
		return errors.New("-hubctl is required")
	}
	if rounds < 1 {
		return errors.New("-rounds must be at least 1")
	}
	work, err := os.MkdirTemp("", "bench-buckets-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx := context.Background()

	// Each round is the whole measure afresh, in a directory of its own: ipfs-lite in
	// process on a new node opened as the daemon opens its own, and hubctl against a new
	// daemon with a new data directory, on new data. Rounds are then independent trials
	// of one scenario; a store that grows from round to round would be another (a
	// restarted daemon's RSS grows with the small files its store holds: the blockstore's
	// bloom filter is rebuilt at start by reading every key, through mapped table pages).
	var rs []round
	for i := range rounds {
		fmt.Fprintf(os.Stderr, "round %d of %d\n", i+1, rounds)
		r, err := freshRound(ctx, hubctl, filepath.Join(work, fmt.Sprintf("round%d", i)), uint64(10*i), size, files, fileSize, changed)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	report(rs, size, files, fileSize, changed)
	return nil
}

// freshRound runs one round in dir, on a new node and a new daemon, and removes dir.
func freshRound(ctx context.Context, hubctl, dir string, seed uint64, size int64, files, fileSize, changed int) (round, error) {
	defer os.RemoveAll(dir)
	n, err := node.Open(ctx, node.Options{Dir: filepath.Join(dir, "lite"), HostAddr: "/ip4/127.0.0.1/tcp/0", NoNetPulling: true})
	if err != nil {
		return round{}, err
	}
	defer n.Close()
	d, err := startDaemon(hubctl, dir)
	if err != nil {
		return round{}, err
	}
	defer d.stop()
	return runRound(ctx, n, d, filepath.Join(dir, "data"), "bench", seed, size, files, fileSize, changed)
}

// runRound measures each side of each figure once, on data of its own (seeds from seed).
func runRound(ctx context.Context, n *node.Node, d *daemon, dir, bucket string, seed uint64, size int64, files, fileSize, changed int) (round, error) {
	var r round
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(os.Stderr, "  writing a %d-byte file and %d files of %d bytes...\n", size, files, fileSize)
	big := filepath.Join(dir, "big.bin")
	if err := writeRandom(big, size, seed+1); err != nil {
		return r, err
	}
	tree := filepath.Join(dir, "tree")
	if err := writeTree(tree, files, fileSize, seed+2); err != nil {
		return r, err
	}

	fmt.Fprintln(os.Stderr, "  ipfs-lite in process...")
	var root string
	var err error
	if r.liteAdd, root, err = timeAdd(ctx, n, big); err != nil {
		return r, err
	}
	if r.liteGet, err = timeGet(ctx, n, root, size, ""); err != nil {
		return r, err
	}
	if r.liteGetFile, err = timeGet(ctx, n, root, size, filepath.Join(dir, "lite-pulled.bin")); err != nil {
		return r, err
	}
	if r.liteTree, err = timeAddTree(ctx, n, tree); err != nil {
		return r, err
	}

	if _, err := d.hubctl("bucket", "create", bucket); err != nil {
		return r, err
	}
	fmt.Fprintln(os.Stderr, "  bucket push of the large file...")
	d.resetPeak()
	before := d.peakRSS()
	push, err := d.hubctl("bucket", "push", bucket+"/big.bin", big)
	if err != nil {
		return r, err
	}
	r.push, r.cliPeak, r.daemonPeak = push.took, push.maxRSS, d.peakRSS()
	fmt.Fprintf(os.Stderr, "  push %s (AddFile %s), daemon peak %.1f MB from %.1f MB before it\n", r.push.Round(time.Millisecond), r.liteAdd.Round(time.Millisecond), float64(r.daemonPeak)/1e6, float64(before)/1e6)
	fmt.Fprintln(os.Stderr, "  bucket pull of the large file...")
	out := filepath.Join(dir, "pulled.bin")
	pull, err := d.hubctl("bucket", "pull", bucket+"/big.bin", out)
	if err != nil {
		return r, err
	}
	r.pull = pull.took
	if same, err := sameFile(big, out); err != nil || !same {
		return r, fmt.Errorf("the pulled file differs from the pushed one (%v)", err)
	}
	os.Remove(out)
	if _, err := d.hubctl("bucket", "create", "--private", bucket+"-private"); err != nil {
		return r, err
	}
	fmt.Fprintln(os.Stderr, "  private bucket push and pull of the large file...")
	ppush, err := d.hubctl("bucket", "push", bucket+"-private/big.bin", big)
	if err != nil {
		return r, err
	}
	ppull, err := d.hubctl("bucket", "pull", bucket+"-private/big.bin", out)
	if err != nil {
		return r, err
	}
	r.privatePush, r.privatePull = ppush.took, ppull.took
	if same, err := sameFile(big, out); err != nil || !same {
		return r, fmt.Errorf("the file pulled from the private bucket differs from the pushed one (%v)", err)
	}
	fmt.Fprintf(os.Stderr, "  private push %s, pull %s (public %s, %s)\n", ms(r.privatePush), ms(r.privatePull), ms(r.push), ms(r.pull))
	os.Remove(out)
	os.Remove(big)
	fmt.Fprintln(os.Stderr, "  bucket push of the tree...")
	treePush, err := d.hubctl("bucket", "push", bucket+"/tree", tree)
	if err != nil {
		return r, err
	}
	r.treePush = treePush.took
	if r.changedBytes, err = changeFiles(tree, changed, fileSize, seed+3); err != nil {
		return r, err
	}
	fmt.Fprintln(os.Stderr, "  bucket sync of the tree...")
	sync, err := d.hubctl("bucket", "sync", tree, bucket+"/tree", "-o", "json")
	if err != nil {
		return r, err
	}
	r.sync = sync.took
	var synced struct {
		Pushed []struct {
			Path string `json:"path"`
			Size int64  `json:"size"`
		} `json:"pushed"`
	}
	if err := json.Unmarshal(sync.stdout, &synced); err != nil {
		return r, fmt.Errorf("bucket sync -o json: %v: %s", err, sync.stdout)
	}
	for _, p := range synced.Pushed {
		r.sent += p.Size
	}
	return r, nil
}

// report prints each figure: with one round its two sides and their ratio, with more
// the median round's (by ratio) and the ratios' range, and the worst peak.
func report(rs []round, size int64, files, fileSize, changed int) {
	mbps := func(b int64, d time.Duration) float64 { return float64(b) / d.Seconds() / 1e6 }
	fps := func(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	// median returns the round whose ratio is the median, and the ratios' range.
	median := func(ratio func(round) float64) (round, string) {
		sorted := slices.Clone(rs)
		slices.SortFunc(sorted, func(a, b round) int { return cmp.Compare(ratio(a), ratio(b)) })
		if len(sorted) == 1 {
			return sorted[0], ""
		}
		return sorted[len(sorted)/2], fmt.Sprintf(" (%.2f-%.2f)", ratio(sorted[0]), ratio(sorted[len(sorted)-1]))
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	if len(rs) > 1 {
		fmt.Fprintf(w, "%d rounds: each row is the median round's, by ratio (the range of the ratios in parentheses); peaks are the highest\n", len(rs))
	}
	fmt.Fprintf(w, "measure\thubctl\tipfs-lite in process\tratio\tgoal\n")
	pushRatio := func(r round) float64 { return r.liteAdd.Seconds() / r.push.Seconds() }
	r, rng := median(pushRatio)
	fmt.Fprintf(w, "push %d bytes\t%.1f MB/s (%s)\t%.1f MB/s (%s)\t%.2f%s\t>= 0.8\n", size, mbps(size, r.push), ms(r.push), mbps(size, r.liteAdd), ms(r.liteAdd), pushRatio(r), rng)
	pullRatio := func(r round) float64 { return r.liteGet.Seconds() / r.pull.Seconds() }
	r, rng = median(pullRatio)
	fmt.Fprintf(w, "pull %d bytes\t%.1f MB/s (%s)\t%.1f MB/s (%s)\t%.2f%s\t>= 0.8\n", size, mbps(size, r.pull), ms(r.pull), mbps(size, r.liteGet), ms(r.liteGet), pullRatio(r), rng)
	fileRatio := func(r round) float64 { return r.liteGetFile.Seconds() / r.pull.Seconds() }
	r, rng = median(fileRatio)
	fmt.Fprintf(w, "pull %d bytes into a file (fsync'd)\t%.1f MB/s (%s)\t%.1f MB/s (%s)\t%.2f%s\t(the same work)\n", size, mbps(size, r.pull), ms(r.pull), mbps(size, r.liteGetFile), ms(r.liteGetFile), fileRatio(r), rng)
	privPushRatio := func(r round) float64 { return r.push.Seconds() / r.privatePush.Seconds() }
	r, rng = median(privPushRatio)
	fmt.Fprintf(w, "private bucket: push %d bytes\t%.1f MB/s (%s)\t(public: %.1f MB/s, %s)\t%.2f%s\t>= 0.7\n", size, mbps(size, r.privatePush), ms(r.privatePush), mbps(size, r.push), ms(r.push), privPushRatio(r), rng)
	privPullRatio := func(r round) float64 { return r.pull.Seconds() / r.privatePull.Seconds() }
	r, rng = median(privPullRatio)
	fmt.Fprintf(w, "private bucket: pull %d bytes\t%.1f MB/s (%s)\t(public: %.1f MB/s, %s)\t%.2f%s\t>= 0.7\n", size, mbps(size, r.privatePull), ms(r.privatePull), mbps(size, r.pull), ms(r.pull), privPullRatio(r), rng)
	var cli, dmn int64
	for _, r := range rs {
		cli, dmn = max(cli, r.cliPeak), max(dmn, r.daemonPeak)
	}
	fmt.Fprintf(w, "peak RSS during the push: CLI\t%.1f MB\t\t\t< 150 MB\n", float64(cli)/1e6)
	fmt.Fprintf(w, "peak RSS during the push: daemon\t%.1f MB\t\t\t< 150 MB\n", float64(dmn)/1e6)
	treeRatio := func(r round) float64 { return r.liteTree.Seconds() / r.treePush.Seconds() }
	r, rng = median(treeRatio)
	fmt.Fprintf(w, "push of %d files of %d bytes\t%.0f files/s (%s)\t%.0f files/s (%s)\t%.2f%s\t>= 0.5\n", files, fileSize, fps(files, r.treePush), ms(r.treePush), fps(files, r.liteTree), ms(r.liteTree), treeRatio(r), rng)
	sentRatio := func(r round) float64 { return float64(r.sent) / float64(r.changedBytes) }
	r, rng = median(sentRatio)
	fmt.Fprintf(w, "sync after %d files changed: bytes sent\t%d\t(changed: %d)\t%.2f%s\t<= 2\n", changed, r.sent, r.changedBytes, sentRatio(r), rng)
	syncRatio := func(r round) float64 { return r.sync.Seconds() / r.treePush.Seconds() }
	r, rng = median(syncRatio)
	fmt.Fprintf(w, "sync after %d files changed: time\t%s\t(first push: %s)\t%.3f%s\t<= 0.1\n", changed, ms(r.sync), ms(r.treePush), syncRatio(r), rng)
	w.Flush()
}

// writeRandom writes size pseudo-random bytes (incompressible, reproducible from seed).
func writeRandom(path string, size int64, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	r := rand.NewChaCha8([32]byte{byte(seed)})
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(bw, r, size); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeTree writes n files of size bytes, a hundred per directory.
func writeTree(dir string, n, size int, seed uint64) error {
	r := rand.NewChaCha8([32]byte{byte(seed)})
	buf := make([]byte, size)
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("d%03d", i/100), fmt.Sprintf("f%05d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if _, err := r.Read(buf); err != nil {
			return err
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// changeFiles rewrites n files of the tree, spread over it, and returns their bytes.
func changeFiles(dir string, n, size int, seed uint64) (int64, error) {
	var all []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			all = append(all, p)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	r := rand.NewChaCha8([32]byte{byte(seed)})
	buf := make([]byte, size)
	var total int64
	for i := range n {
		if _, err := r.Read(buf); err != nil {
			return 0, err
		}
		if err := os.WriteFile(all[i*len(all)/n], buf, 0o644); err != nil {
			return 0, err
		}
		total += int64(size)
	}
	return total, nil
}

func timeAdd(ctx context.Context, n *node.Node, path string) (time.Duration, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	start := time.Now()
	nd, err := n.DAG().AddFile(ctx, f, buckets.FileParams())
	if err != nil {
		return 0, "", err
	}
	return time.Since(start), nd.Cid().String(), nil
}

// timeGet times GetFile of root: into io.Discard when into is "", else into a file at
// into as `bucket pull` writes one (written, fsync'd and renamed into place, then
// removed), the pull's work without the network.
func timeGet(ctx context.Context, n *node.Node, root string, size int64, into string) (time.Duration, error) {
	c, err := cid.Decode(root)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	r, err := n.DAG().GetFile(ctx, c)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var w io.Writer = io.Discard
	var f *os.File
	if into != "" {
		if f, err = os.CreateTemp(filepath.Dir(into), ".pull-*"); err != nil {
			return 0, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w = f
	}
	got, err := io.CopyBuffer(w, r, make([]byte, 1<<20))
	if err == nil && got != size {
		err = fmt.Errorf("GetFile read %d bytes, want %d", got, size)
	}
	if err == nil && f != nil {
		if err = f.Sync(); err == nil {
			if err = f.Close(); err == nil {
				err = os.Rename(f.Name(), into)
			}
		}
	}
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	if f != nil {
		return took, os.Remove(into)
	}
	return took, nil
}

func timeAddTree(ctx context.Context, n *node.Node, dir string) (time.Duration, error) {
	var paths []string
	if err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			paths = append(paths, p)
		}
		return err
	}); err != nil {
		return 0, err
	}
	start := time.Now()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return 0, err
		}
		if _, err := n.DAG().AddFile(ctx, bytes.NewReader(data), buckets.FileParams()); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func sameFile(a, b string) (bool, error) {
	ha, err := hashFile(a)
	if err != nil {
		return false, err
	}
	hb, err := hashFile(b)
	return err == nil && bytes.Equal(ha, hb), err
}

func hashFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// daemon is a `hubctl daemon` child with its own data directory, key and home.
type daemon struct {
	bin  string
	cmd  *exec.Cmd
	env  []string
	pid  int
	logs *os.File
}

func startDaemon(bin, work string) (*daemon, error) {
	home := filepath.Join(work, "home")
	data := filepath.Join(work, "daemon")
	env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"), "NO_COLOR=1",
		"HUBCTL_OUTPUT=", "HUBCTL_TOKEN=")
	keyCmd := exec.Command(bin, "keys", "create", "--data-dir", data, "-o", "json")
	keyCmd.Env = env
	out, err := keyCmd.Output()
	if err != nil {
		return nil, fmt.Errorf("keys create: %w", err)
	}
	var key struct{ Key, Secret string }
	if err := json.Unmarshal(out, &key); err != nil {
		return nil, err
	}
	logs, err := os.Create(filepath.Join(work, "daemon.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "daemon", "--data-dir", data, "--api-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0",
		"--gateway-addr", "127.0.0.1:0", "--host-addr", "/ip4/127.0.0.1/tcp/0", "--no-config")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{bin: bin, cmd: cmd, pid: cmd.Process.Pid, logs: logs}
	deadline := time.Now().Add(time.Minute)
	for {
		if st, ok := server.Running(data); ok {
			d.env = append(env, "HUBCTL_API="+st.API, "HUBCTL_KEY="+key.Key, "HUBCTL_SECRET="+key.Secret)
			return d, nil
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, errors.New("the daemon did not start within a minute (see its log)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(os.Interrupt)
	_ = d.cmd.Wait()
	d.logs.Close()
}

// resetPeak clears the daemon's peak RSS (VmHWM) so that the next peakRSS is what the
// work in between needed.
func (d *daemon) resetPeak() {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", d.pid), []byte("5"), 0)
}

// peakRSS is the daemon's VmHWM in bytes.
func (d *daemon) peakRSS() int64 { return vmHWM(d.pid) }

// vmHWM is a process's peak resident set in bytes (-1 when it cannot be read).
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return -1
}

type result struct {
	took   time.Duration
	maxRSS int64
	stdout []byte
}

// hubctl runs one command against the daemon, timed, with its peak RSS. The peak is the
// child's VmHWM, polled while it runs: wait4's ru_maxrss of a child that Go started counts
// the parent's peak too (a child exec'd from a 300 MB process reports 300 MB), so it would
// report this driver's own in-process run.
func (d *daemon) hubctl(args ...string) (result, error) {
	cmd := exec.Command(d.bin, args...)
	cmd.Env = d.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	peak := make(chan int64, 1)
	done := make(chan struct{})
	go func() {
		var max int64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := vmHWM(cmd.Process.Pid); v > max {
				max = v
			}
			select {
			case <-done:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	took := time.Since(start)
	close(done)
	rss := <-peak
	if err != nil {
		return result{}, fmt.Errorf("hubctl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return result{took: took, maxRSS: rss, stdout: stdout.Bytes()}, nil
}
