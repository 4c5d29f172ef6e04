// Command gc measures `hubctl bucket gc` on the embedded node: a store of -blocks blocks
// (100,000) of which half are garbage. The store is built in this process on a node
// opened as hubctl opens its own (pkg/node): one bucket whose tree holds half the blocks
// (small random files in directories of -per-dir), and the same shape again written to
// the blockstore with no bucket pointing at it. Then `hubctl bucket gc -o json` runs in a
// process of its own: its wall time, its peak RSS (the kernel's maxrss of the child), the
// bytes it reclaimed against the bytes of the garbage blocks (their sizes summed here),
// and the store's bytes on disk before and after (badger's value-log collection included).
//
// Usage: go run ./bench/gc -hubctl PATH [-blocks 100000] [-file-size 512] [-per-dir 500] [-keep]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	merkledag "github.com/ipfs/go-merkledag"
	"github.com/ipfs/go-unixfs"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/blockgc"
	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/node"
)

func main() {
	hubctl := flag.String("hubctl", "", "hubctl binary")
	blocks := flag.Int("blocks", 100_000, "blocks of the store, half of them garbage")
	fileSize := flag.Int("file-size", 512, "bytes of each file (one raw block)")
	perDir := flag.Int("per-dir", 500, "files per directory")
	keep := flag.Bool("keep", false, "keep the store (its directory is printed) to look at it afterwards")
	flag.Parse()
	if err := run(*hubctl, *blocks, *fileSize, *perDir, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "gc:", err)
		os.Exit(1)
	}
}

func run(hubctl string, blocks, fileSize, perDir int, keep bool) error {
	if hubctl == "" {
		return errors.New("-hubctl is required")
	}
	work, err := os.MkdirTemp("", "hubctl-gc-bench-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "store kept in", work)
	} else {
		defer os.RemoveAll(work)
	}
	dataDir := filepath.Join(work, "data")
	env := append(os.Environ(), "HOME="+filepath.Join(work, "home"), "XDG_CONFIG_HOME="+filepath.Join(work, "home", ".config"), "HUBCTL_DATA_DIR="+dataDir, "NO_COLOR=1")
	if out, err := command(env, hubctl, "identity", "new", "bench").CombinedOutput(); err != nil {
		return fmt.Errorf("identity new: %v: %s", err, out)
	}

	start := time.Now()
	garbageBytes, garbageBlocks, total, err := build(filepath.Join(dataDir, "node"), blocks/2, fileSize, perDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "built a store of %d blocks (%d of them garbage, %d bytes) in %s\n", total, garbageBlocks, garbageBytes, time.Since(start).Round(time.Millisecond))
	diskBefore := du(filepath.Join(dataDir, "node", "ipfslite"))

	cmd := command(env, hubctl, "bucket", "gc", "-o", "json", "--timeout", "30m")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bucket gc: %w", err)
	}
	// The kernel's maxrss counts the pages of the store's files that badger maps too;
	// the peak of anonymous memory (the heap, badger's tables in memory) is sampled.
	anonPeak := make(chan int64, 1)
	stopSampling := make(chan struct{})
	go func() {
		var peak int64
		for {
			if v := rssAnon(cmd.Process.Pid); v > peak {
				peak = v
			}
			select {
			case <-stopSampling:
				anonPeak <- peak
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	err = cmd.Wait()
	close(stopSampling)
	anon := <-anonPeak
	if err != nil {
		return fmt.Errorf("bucket gc: %v: %s", err, stderr.String())
	}
	took := time.Since(t0)
	var peak int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss * 1024 // KiB on Linux
	}
	var rep blockgc.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return fmt.Errorf("read the report %q: %w", stdout.String(), err)
	}
	diskAfter := du(filepath.Join(dataDir, "node", "ipfslite"))

	fmt.Printf("store: %d blocks (%d garbage)\n", rep.Scanned, garbageBlocks)
	fmt.Printf("bucket gc: %s wall (collection %s), peak RSS %.1f MB (anonymous, sampled every 5 ms: %.1f MB)\n", took.Round(time.Millisecond), rep.Duration.Round(time.Millisecond), float64(peak)/1e6, float64(anon)/1e6)
	fmt.Printf("reclaimed: %d blocks, %d bytes; expected %d blocks, %d bytes (%.4f)\n", rep.Reclaimed, rep.ReclaimedBytes, garbageBlocks, garbageBytes, float64(rep.ReclaimedBytes)/float64(garbageBytes))
	fmt.Printf("kept: %d blocks, %d bytes; protected %d; thread blocks kept: %v\n", rep.Kept, rep.KeptBytes, rep.Protected, rep.ThreadBlocksKept)
	fmt.Printf("disk (ipfslite/): %d -> %d bytes (report: %d -> %d)\n", diskBefore, diskAfter, rep.DiskBefore, rep.DiskAfter)
	if rep.ReclaimedBytes != garbageBytes || rep.Reclaimed != garbageBlocks {
		return fmt.Errorf("reclaimed %d blocks (%d bytes), expected %d (%d bytes)", rep.Reclaimed, rep.ReclaimedBytes, garbageBlocks, garbageBytes)
	}
	return nil
}

func command(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	return cmd
}

// build writes a bucket whose tree holds about half blocks, and a tree of as many blocks
// that nothing points at; it returns the garbage's bytes and blocks, and all blocks.
func build(dir string, half, fileSize, perDir int) (garbageBytes int64, garbageBlocks, total int, err error) {
	ctx := context.Background()
	n, err := node.Open(ctx, node.Options{Dir: dir, NoNetPulling: true})
	if err != nil {
		return 0, 0, 0, err
	}
	defer n.Close()
	dag := n.LocalDAG()
	keptRoot, _, keptBlocks, err := tree(ctx, dag, half, fileSize, perDir)
	if err != nil {
		return 0, 0, 0, err
	}
	_, garbageBytes, garbageBlocks, err = tree(ctx, dag, half, fileSize, perDir)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := bucketFor(ctx, n, keptRoot); err != nil {
		return 0, 0, 0, err
	}
	return garbageBytes, garbageBlocks, keptBlocks + garbageBlocks, nil
}

// tree stores count blocks: files of random bytes (one raw block each) in directories
// of at most perDir files, under one root.
func tree(ctx context.Context, dag ipld.DAGService, count, fileSize, perDir int) (root cid.Cid, size int64, blocks int, err error) {
	top := unixfs.EmptyDirNode()
	top.SetCidBuilder(merkledag.V1CidPrefix())
	left := count - 1 // the root
	for d := 0; left >= 2; d++ {
		files := min(perDir, left-1)
		dirNode := unixfs.EmptyDirNode()
		dirNode.SetCidBuilder(merkledag.V1CidPrefix())
		batch := make([]ipld.Node, 0, files+1)
		for f := 0; f < files; f++ {
			data := make([]byte, fileSize)
			if _, err := rand.Read(data); err != nil {
				return cid.Undef, 0, 0, err
			}
			leaf := merkledag.NewRawNode(data)
			if err := dirNode.AddNodeLink(fmt.Sprintf("f%05d", f), leaf); err != nil {
				return cid.Undef, 0, 0, err
			}
			batch = append(batch, leaf)
			size += int64(len(leaf.RawData()))
		}
		batch = append(batch, dirNode)
		size += int64(len(dirNode.RawData()))
		blocks += len(batch)
		left -= len(batch)
		if err := dag.AddMany(ctx, batch); err != nil {
			return cid.Undef, 0, 0, err
		}
		if err := top.AddNodeLink(fmt.Sprintf("d%04d", d), dirNode); err != nil {
			return cid.Undef, 0, 0, err
		}
	}
	if err := dag.Add(ctx, top); err != nil {
		return cid.Undef, 0, 0, err
	}
	return top.Cid(), size + int64(len(top.RawData())), blocks + 1, nil
}

// bucketFor makes a database with the Hub's buckets collection and one bucket at root.
func bucketFor(ctx context.Context, n *node.Node, root cid.Cid) error {
	api := n.ThreadsService()
	id := thread.NewIDV1(thread.Raw, 32)
	if _, err := api.NewDB(ctx, &pb.NewDBRequest{DbID: id.Bytes(), Name: "bench"}); err != nil {
		return fmt.Errorf("new db: %w", err)
	}
	if _, err := api.NewCollection(ctx, &pb.NewCollectionRequest{DbID: id.Bytes(), Config: buckets.CollectionConfigPB()}); err != nil {
		return fmt.Errorf("new collection: %w", err)
	}
	key, err := buckets.NewKey()
	if err != nil {
		return err
	}
	doc, err := json.Marshal(buckets.New(key, "", "bench", root, time.Now()))
	if err != nil {
		return err
	}
	if _, err := api.Create(ctx, &pb.CreateRequest{DbID: id.Bytes(), CollectionName: buckets.CollectionName, Instances: [][]byte{doc}}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	return nil
}

// rssAnon is the process's anonymous resident memory in bytes (0 once it is gone).
func rssAnon(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func du(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}
