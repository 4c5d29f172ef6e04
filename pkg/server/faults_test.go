package server

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// A state file whose pid belongs to a live process that is no daemon (after a reboot)
// is stale: the node's directory lock is free. A daemon then starts on the directory.
func TestStaleStateWithALivePIDIsNoDaemon(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	stale := State{PID: os.Getpid(), API: "127.0.0.1:1", Web: "127.0.0.1:1"}
	if err := writeState(dir, stale); err != nil {
		t.Fatal(err)
	}
	if st, ok := Running(dir); ok {
		t.Fatalf("a stale state file (pid %d, alive but no daemon) is taken for a daemon at %s", st.PID, st.API)
	}
	d, err := StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone}))
	if err != nil {
		t.Fatalf("start over a stale state file: %v", err)
	}
	st, ok := Running(dir)
	if !ok || st.API != d.State().API {
		t.Fatalf("the running daemon is not found: %+v, %v", st, ok)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := Running(dir); ok {
		t.Fatal("a daemon is still reported after its stop")
	}
}

// startWritten starts a daemon and creates a database through it, so its stores hold
// records a close must flush.
func startWritten(t *testing.T, dir string, closeTimeout time.Duration) *Daemon {
	t.Helper()
	d, err := StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone, CloseTimeout: closeTimeout}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.NewDB(t.Context(), thread.NewIDV1(thread.Raw, 32)); err != nil {
		t.Fatal(err)
	}
	return d
}

// A daemon whose data directory is removed while it runs stops, its stores given up after
// CloseTimeout, saying why they did not close.
func TestShutdownEndsWhenTheDataDirIsRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startWritten(t, dir, time.Second)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err := d.Shutdown(context.Background())
	if !errors.Is(err, node.ErrNotClosed) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("shutdown with the data directory removed: %v, want node.ErrNotClosed naming it", err)
	}
}

// A stop cut short (a second signal cancels its context and aborts the close) returns at
// once although the stores cannot close: the daemon's CloseTimeout here is the default
// 30s, which the test would have to wait through otherwise.
func TestShutdownCancelledEndsAtOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startWritten(t, dir, 0)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d.Abort()
	err := d.Shutdown(ctx)
	var ce *node.CloseError
	if !errors.As(err, &ce) || !ce.Interrupted {
		t.Fatalf("cancelled shutdown: %v, want an interrupted node.CloseError", err)
	}
}
