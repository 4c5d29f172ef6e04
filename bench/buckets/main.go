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
//   - a tree of -files files of -file-size bytes (10,000 of 4 KiB): `bucket push` of the
//     directory (PushPaths) in files per second against an AddFile loop (goal: 0.5);
//   - `bucket sync` of that tree after -changed files changed (10): the bytes it sent
//     against the changed files' bytes (goal: within 2x), and its time against the first
//     push's (goal: at most a tenth).
//
// Usage: go run ./bench/buckets -hubctl PATH [-size 1073741824] [-files 10000] [-file-size 4096] [-changed 10]
package main

import (
	"bufio"
	"bytes"
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
	flag.Parse()
	if err := run(*hubctl, *size, *files, *fileSize, *changed); err != nil {
		fmt.Fprintln(os.Stderr, "buckets:", err)
		os.Exit(1)
	}
}

func run(hubctl string, size int64, files, fileSize, changed int) error {
	if hubctl == "" {
		return errors.New("-hubctl is required")
	}
	work, err := os.MkdirTemp("", "bench-buckets-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx := context.Background()

	fmt.Fprintf(os.Stderr, "writing a %d-byte file and %d files of %d bytes...\n", size, files, fileSize)
	big := filepath.Join(work, "big.bin")
	if err := writeRandom(big, size, 1); err != nil {
		return err
	}
	tree := filepath.Join(work, "tree")
	if err := writeTree(tree, files, fileSize, 2); err != nil {
		return err
	}

	// ipfs-lite in process, on a node opened as the daemon opens its own.
	fmt.Fprintln(os.Stderr, "ipfs-lite in process...")
	n, err := node.Open(ctx, node.Options{Dir: filepath.Join(work, "lite"), HostAddr: "/ip4/127.0.0.1/tcp/0", NoNetPulling: true})
	if err != nil {
		return err
	}
	liteAdd, root, err := timeAdd(ctx, n, big)
	if err != nil {
		n.Close()
		return err
	}
	liteGet, err := timeGet(ctx, n, root, size, "")
	if err != nil {
		n.Close()
		return err
	}
	liteGetFile, err := timeGet(ctx, n, root, size, filepath.Join(work, "lite-pulled.bin"))
	if err != nil {
		n.Close()
		return err
	}
	liteTree, err := timeAddTree(ctx, n, tree)
	n.Close()
	if err != nil {
		return err
	}

	// hubctl against a daemon.
	d, err := startDaemon(hubctl, work)
	if err != nil {
		return err
	}
	defer d.stop()
	if _, err := d.hubctl("bucket", "create", "bench"); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bucket push of the large file...")
	d.resetPeak()
	push, err := d.hubctl("bucket", "push", "bench/big.bin", big)
	if err != nil {
		return err
	}
	daemonPeak := d.peakRSS()
	fmt.Fprintln(os.Stderr, "bucket pull of the large file...")
	out := filepath.Join(work, "pulled.bin")
	pull, err := d.hubctl("bucket", "pull", "bench/big.bin", out)
	if err != nil {
		return err
	}
	if same, err := sameFile(big, out); err != nil || !same {
		return fmt.Errorf("the pulled file differs from the pushed one (%v)", err)
	}
	os.Remove(out)
	fmt.Fprintln(os.Stderr, "bucket push of the tree...")
	treePush, err := d.hubctl("bucket", "push", "bench/tree", tree)
	if err != nil {
		return err
	}
	changedBytes, err := changeFiles(tree, changed, fileSize, 3)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bucket sync of the tree...")
	sync, err := d.hubctl("bucket", "sync", tree, "bench/tree", "-o", "json")
	if err != nil {
		return err
	}
	var synced struct {
		Pushed []struct {
			Path string `json:"path"`
			Size int64  `json:"size"`
		} `json:"pushed"`
	}
	if err := json.Unmarshal(sync.stdout, &synced); err != nil {
		return fmt.Errorf("bucket sync -o json: %v: %s", err, sync.stdout)
	}
	var sent int64
	for _, p := range synced.Pushed {
		sent += p.Size
	}

	mbps := func(b int64, d time.Duration) float64 { return float64(b) / d.Seconds() / 1e6 }
	fps := func(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "measure\thubctl\tipfs-lite in process\tratio\tgoal\n")
	fmt.Fprintf(w, "push %d bytes\t%.1f MB/s (%s)\t%.1f MB/s (%s)\t%.2f\t>= 0.8\n", size, mbps(size, push.took), push.took.Round(time.Millisecond), mbps(size, liteAdd), liteAdd.Round(time.Millisecond), liteAdd.Seconds()/push.took.Seconds())
	fmt.Fprintf(w, "pull %d bytes\t%.1f MB/s (%s)\t%.1f MB/s (%s)\t%.2f\t>= 0.8\n", size, mbps(size, pull.took), pull.took.Round(time.Millisecond), mbps(size, liteGet), liteGet.Round(time.Millisecond), liteGet.Seconds()/pull.took.Seconds())
	fmt.Fprintf(w, "pull %d bytes into a file (fsync'd)\t%.1f MB/s (%s)\t%.1f MB/s (%s)\t%.2f\t(the same work)\n", size, mbps(size, pull.took), pull.took.Round(time.Millisecond), mbps(size, liteGetFile), liteGetFile.Round(time.Millisecond), liteGetFile.Seconds()/pull.took.Seconds())
	fmt.Fprintf(w, "peak RSS during the push: CLI\t%.1f MB\t\t\t< 150 MB\n", float64(push.maxRSS)/1e6)
	fmt.Fprintf(w, "peak RSS during the push: daemon\t%.1f MB\t\t\t< 150 MB\n", float64(daemonPeak)/1e6)
	fmt.Fprintf(w, "push of %d files of %d bytes\t%.0f files/s (%s)\t%.0f files/s (%s)\t%.2f\t>= 0.5\n", files, fileSize, fps(files, treePush.took), treePush.took.Round(time.Millisecond), fps(files, liteTree), liteTree.Round(time.Millisecond), liteTree.Seconds()/treePush.took.Seconds())
	fmt.Fprintf(w, "sync after %d files changed: bytes sent\t%d\t(changed: %d)\t%.2f\t<= 2\n", changed, sent, changedBytes, float64(sent)/float64(changedBytes))
	fmt.Fprintf(w, "sync after %d files changed: time\t%s\t(first push: %s)\t%.3f\t<= 0.1\n", changed, sync.took.Round(time.Millisecond), treePush.took.Round(time.Millisecond), sync.took.Seconds()/treePush.took.Seconds())
	return w.Flush()
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
