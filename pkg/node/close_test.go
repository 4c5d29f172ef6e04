package node

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
)

// openWritten opens a node and creates a database in it, so its stores hold records in
// memory that a close must flush.
func openWritten(t *testing.T, opts Options) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.threads.NewDB(ctx, &pb.NewDBRequest{DbID: thread.NewIDV1(thread.Raw, 32).Bytes()}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A node whose directory is removed while it is open cannot flush (badger retries for
// ever): Close gives up after CloseTimeout and says the directory is gone.
func TestCloseGivesUpOnARemovedDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	n := openWritten(t, Options{Dir: dir, NoNetPulling: true, CloseTimeout: time.Second})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err := n.Close()
	if !errors.Is(err, ErrNotClosed) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Close on a removed directory: %v, want ErrNotClosed naming the removed directory", err)
	}
	if !strings.Contains(err.Error(), "the directory was removed") || !strings.Contains(err.Error(), dir) {
		t.Errorf("the message does not say what happened: %v", err)
	}
}

// A close cut short (a second signal) returns at once and looks into nothing.
func TestCloseContextEndsWhenCancelled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	n := openWritten(t, Options{Dir: dir, NoNetPulling: true})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := n.CloseContext(ctx)
	var ce *CloseError
	if !errors.As(err, &ce) || !ce.Interrupted || ce.Cause != nil {
		t.Fatalf("cancelled close: %v, want an interrupted CloseError", err)
	}
}

// On a full disk Close names "no space left on device" and keeps the directory locked:
// the stores are still being closed, and no other process may open them meanwhile.
func TestCloseGivesUpOnAFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "20m")
	dir := filepath.Join(mnt, "node")
	n := openWritten(t, Options{Dir: dir, NoNetPulling: true, CloseTimeout: time.Second})
	fillDisk(t, filepath.Join(mnt, "fill"))
	err := n.Close()
	if !errors.Is(err, ErrNotClosed) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Close on a full disk: %v, want ErrNotClosed with ENOSPC", err)
	}
	if !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("the message does not name the full disk: %v", err)
	}
	if !Locked(dir) {
		t.Error("the lock was released while the stores were still closing")
	}
}

func TestLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if Locked(dir) {
		t.Fatal("a directory that does not exist is locked")
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Locked created the directory: %v", err)
	}
	lock, err := Lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !Locked(dir) {
		t.Fatal("a held lock is not reported")
	}
	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	if Locked(dir) {
		t.Fatal("a released lock is still reported")
	}
	// Locked released its own probe: the lock can be taken again.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	lock, err = Lock(ctx, dir)
	if err != nil {
		t.Fatalf("lock after Locked: %v", err)
	}
	_ = lock.Unlock()
}

// mountTmpfs mounts a tmpfs of size (mount's size=) for the test, or skips it where that
// is not permitted (it needs root on Linux).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (it needs root on Linux): %v: %s", err, strings.TrimSpace(string(out)))
	}
	// Lazily: stores that did not close still hold files there.
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fillDisk writes path until the disk is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}
