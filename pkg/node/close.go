package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// DefaultCloseTimeout bounds Close when Options.CloseTimeout is zero.
const DefaultCloseTimeout = 30 * time.Second

// ErrNotClosed means the node's stores did not finish closing in time and were left to
// the end of the process.
var ErrNotClosed = errors.New("the local store did not finish closing")

// CloseError says which stores did not finish closing, after how long, and what is wrong
// with their directory when that could be found.
type CloseError struct {
	Dir string
	// After is how long the close was waited for.
	After time.Duration
	// Interrupted is set when the wait was cut short (a second signal) rather than timed
	// out; nothing is then looked into, since the caller wants to exit at once.
	Interrupted bool
	// Cause is what was found wrong with Dir (no space left on it, removed), nil when
	// nothing was.
	Cause error
}

func (e *CloseError) Error() string {
	msg := fmt.Sprintf("the stores in %s did not finish closing within %s", e.Dir, e.After)
	if e.Interrupted {
		msg = fmt.Sprintf("the stores in %s were left closing after %s (stopped at once)", e.Dir, e.After)
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	if errors.Is(e.Cause, fs.ErrNotExist) {
		return msg
	}
	// Badger writes every record to its value log before it acknowledges it, and replays
	// that log on open: what was lost is only the flush of its memory tables.
	return msg + "; what they acknowledged is in their value logs, replayed at the next open"
}

func (e *CloseError) Unwrap() error { return e.Cause }

func (e *CloseError) Is(target error) bool { return target == ErrNotClosed }

// probeSize is the test write that tells a full disk: a few memtable flushes' worth, so a
// disk with a few pages left counts as full (badger could not flush there either).
const probeSize = 1 << 20

// probeTimeout bounds looking into a directory whose stores did not close: a disk that
// hangs closes would hang the probe too.
const probeTimeout = time.Second

// closeBounded runs closeFn, which closes stores in dir, and waits for it until ctx ends.
//
// When ctx ends first, closeFn is left running and a *CloseError is returned. That leak is
// deliberate: badger v1.6.2 retries a failed memtable flush once a second for ever
// (flushMemtable), so on a full disk or a removed directory its Close never returns and
// cannot be aborted. Waiting would hang the process past every timeout and signal; the
// caller exits instead, and the end of the process closes the files. closeFn releases the
// directory lock only if it finishes, so no other process opens stores still being closed.
func closeBounded(ctx context.Context, dir string, closeFn func() error) error {
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-done: // finished just as ctx ended: no reason to report a failure
		return err
	default:
	}
	e := &CloseError{Dir: dir, After: roundDuration(time.Since(start)), Interrupted: errors.Is(ctx.Err(), context.Canceled)}
	if !e.Interrupted {
		e.Cause = probe(dir)
	}
	return e
}

// roundDuration keeps messages readable: "5s", not "5.000213457s".
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// probe looks for why stores in dir cannot close: the directory is gone, or a test write
// there fails (no space left on device, most often). It waits at most probeTimeout.
func probe(dir string) error {
	res := make(chan error, 1)
	go func() { res <- probeDir(dir) }()
	select {
	case err := <-res:
		return err
	case <-time.After(probeTimeout):
		return fmt.Errorf("a test write there did not finish within %s either: the disk is not answering", probeTimeout)
	}
}

func probeDir(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the directory was removed while they were open (%w): its data is gone unless restored from a backup", fs.ErrNotExist)
	}
	f, err := os.CreateTemp(dir, ".close-probe-*")
	if err != nil {
		return writeFault(err)
	}
	defer func() { _ = os.Remove(f.Name()) }()
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return writeFault(err)
	}
	return nil
}

// writeFault names a failed test write by its cause alone (the probe file's name means
// nothing to a user), with the fix for a full disk.
func writeFault(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: free space on that disk", err)
	}
	return fmt.Errorf("writing there fails: %w", err)
}

// closers close what an open made, in reverse order: go-threads' finalizer does the same
// but joins errors with go-multierror, whose "1 error occurred: *" breaks the one-line
// messages hubctl prints.
type closers []io.Closer

func (c *closers) add(cs ...io.Closer) { *c = append(*c, cs...) }

func (c closers) closeAll() error {
	var errs []error
	for i := len(c) - 1; i >= 0; i-- {
		if err := c[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }

// Close closes the node as CloseContext does, waiting at most Options.CloseTimeout.
func (n *Node) Close() error {
	timeout := n.closeTimeout
	if timeout <= 0 {
		timeout = DefaultCloseTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return n.CloseContext(ctx)
}

// CloseContext stops the services and closes the stores, flushing what they acknowledged,
// then releases the directory lock. Stop the gRPC server first so no call is in flight.
// When ctx ends first it returns an error wrapping a *CloseError and leaves the close
// running (see closeBounded): the caller should then exit.
//
// The network closes first: it waits for records being applied and takes no more. The
// other way round deadlocks in go-threads v1.1.5: closing a database holds its lock and
// waits for its transaction lock, while a record arriving from a peer holds the
// transaction lock and waits for the database lock (seen as a test hanging in Close).
func (n *Node) CloseContext(ctx context.Context) error {
	err := closeBounded(ctx, n.dir, n.close)
	var ce *CloseError
	if err != nil && !errors.As(err, &ce) { // a CloseError says what it is
		return fmt.Errorf("close node: %w", err)
	}
	return err
}

func (n *Node) close() error {
	var errs []error
	if n.net != nil {
		errs = append(errs, n.net.Close())
	}
	if n.threads != nil {
		errs = append(errs, n.threads.Close())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	if n.lock != nil {
		errs = append(errs, n.lock.Unlock())
	}
	return errors.Join(errs...)
}
