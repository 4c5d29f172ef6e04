// Package pipeline is the one write pipeline of hubctl's commands: it streams items from a
// source, groups them into batches (by count and by bytes, never mixing targets), sends each
// batch with a caller's function, splits a batch the receiver refuses for its content to find
// the item at fault, and reports exactly what was written.
//
// Three commands share it: `instance create/save` (items are JSON documents, a batch is one
// Create or Save call, a refused document is reported with its line), `db import` (items are
// an archive's collections and instances, the target is the collection) and `bucket push` of
// many files (items are files, a batch is one PushPaths stream, a refused file is reported
// with its path).
//
// The contract with the sender: a Send that returns an error wrote nothing of its batch when
// Split says the error is about the batch's content (a call is one transaction; a push stream
// commits only on a clean end). Any other error leaves the batch's fate unknown, and Run stops
// there with a *StoppedError. No item is ever passed to Send again after a Send that
// succeeded with it: only refused batches are sent again, in halves.
//
// Run reads one batch ahead while the previous one is sent, so the source's Next runs in a
// goroutine of its own; it is never called concurrently with itself. When ctx ends, Run
// does not wait for a Next that is blocked (on a terminal, a pipe): it gives Send the batch
// already read, if any, and returns; Next is not called again after the call under way
// returns. After a Run that returned nil or the source's
// own error, Next is not called again and the source is the caller's again (e.g. to read a
// trailer); after any other error a call of Next may still be under way.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Item is one element of the stream.
type Item[T any] struct {
	// Value is the caller's payload: a document, a file to push.
	Value T
	// Target is what the item is written to (a collection, a bucket): a batch holds items of
	// one target, and Result counts what was written per target.
	Target string
	// Size is what the item adds to its batch's bytes, compared with Config.MaxBytes.
	Size int64
	// Alone puts the item in a batch of its own, sent after every item before it (e.g. the
	// creation of a collection before its instances).
	Alone bool
	// Index is the item's 0-based position in the stream; Run sets it.
	Index int
}

// Source yields the items in order. Next returns io.EOF after the last one; any other
// error ends the stream too: the items read before it are sent, then Run returns that
// error unchanged.
type Source[T any] interface {
	Next(ctx context.Context) (Item[T], error)
}

// SourceFunc adapts a function to Source.
type SourceFunc[T any] func(ctx context.Context) (Item[T], error)

// Next calls f.
func (f SourceFunc[T]) Next(ctx context.Context) (Item[T], error) { return f(ctx) }

// Batch is what one Send writes: items of one target, in stream order.
type Batch[T any] struct {
	Target string
	Items  []Item[T]
	// Bytes is the sum of the items' Size.
	Bytes int64
}

// Values returns the items' values, in order.
func (b Batch[T]) Values() []T {
	v := make([]T, len(b.Items))
	for i, it := range b.Items {
		v[i] = it.Value
	}
	return v
}

// Result is what was written: only items of batches whose Send returned nil count.
type Result struct {
	// Written counts the items written, per target.
	Written map[string]int
	// Total is the number of items written.
	Total int
}

// Config is how Run batches and sends.
type Config[T any] struct {
	// MaxItems ends a batch when it holds this many items (at least 1).
	MaxItems int
	// MaxBytes ends a batch before an item that would take its bytes past it: a batch goes
	// over only when a single item does. 0: no bound.
	MaxBytes int64
	// Send writes a batch, all of it or (when it returns an error) none of it.
	Send func(ctx context.Context, b Batch[T]) error
	// Split reports whether an error of Send refuses the batch for its content (an item the
	// receiver rejects, a batch too large for one transaction): the batch is then sent again
	// in halves, recursively, until the item at fault is alone, and Run returns a
	// *RefusedError naming it. nil: a failed Send always stops Run with a *StoppedError.
	Split func(err error) bool
	// Sent, when set, is called after each successful Send (also of a half), with the
	// batch and what was written so far: output and progress. An error it returns stops
	// Run and is returned unchanged.
	Sent func(b Batch[T], r Result) error
}

// RefusedError is an item the receiver refused on its own: every item before it was
// written, none from it on.
type RefusedError[T any] struct {
	Item Item[T]
	Err  error
}

func (e *RefusedError[T]) Error() string { return e.Err.Error() }
func (e *RefusedError[T]) Unwrap() error { return e.Err }

// StoppedError is a batch whose Send failed for a reason other than its content (the
// connection, the server, the context): the items before it were written, its own may or
// may not have been, none after it were. A batch read before ctx ended is still given to
// Send (with the ended ctx: a gRPC call then fails at once), so it is the sender that says
// how it failed. Sent false: ctx ended while no batch was ready (the source was still
// reading, or blocked); Batch is empty, and nothing after the items written was sent.
type StoppedError[T any] struct {
	Batch Batch[T]
	Err   error
	Sent  bool
}

func (e *StoppedError[T]) Error() string { return e.Err.Error() }
func (e *StoppedError[T]) Unwrap() error { return e.Err }

// chunk is a batch as the reader hands it over, with the error that ended the stream
// right after it.
type chunk[T any] struct {
	b   Batch[T]
	err error
}

// Run streams src through cfg until the end of the source, the first error, or the end
// of ctx, and returns what was written. The error is a *RefusedError, a *StoppedError,
// the source's own error, or the Sent hook's.
func Run[T any](ctx context.Context, src Source[T], cfg Config[T]) (Result, error) {
	if cfg.MaxItems < 1 {
		return Result{}, fmt.Errorf("pipeline: MaxItems is %d, must be at least 1", cfg.MaxItems)
	}
	if cfg.Send == nil {
		return Result{}, errors.New("pipeline: no Send")
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk[T], 1) // one batch read ahead while the previous one is sent
	cut := false                     // set by the reader, before it closes chunks, when ctx cut the stream short
	go read(rctx, src, &cfg, chunks, &cut)

	r := &runner[T]{cfg: &cfg, res: Result{Written: map[string]int{}}}
	for {
		var c chunk[T]
		var ok bool
		select {
		case c, ok = <-chunks: // a batch read ahead goes to Send even after ctx ended
		default:
			select {
			case c, ok = <-chunks:
			case <-ctx.Done():
				// The source may be blocked (a terminal, a pipe): do not wait for it. The
				// reader makes no call of Next after the one under way returns.
				return r.res, &StoppedError[T]{Err: ctx.Err()}
			}
		}
		if !ok {
			break
		}
		if len(c.b.Items) > 0 {
			if err := r.send(ctx, c.b); err != nil {
				return r.res, err
			}
		}
		if c.err != nil {
			return r.res, c.err
		}
	}
	if cut {
		// The reader stopped for the context, perhaps with items it did not hand over.
		return r.res, &StoppedError[T]{Err: ctx.Err()}
	}
	return r.res, nil
}

// read batches the source into out and closes it at the end of the source, its first
// error (which travels with the items read before it), or the end of ctx.
func read[T any](ctx context.Context, src Source[T], cfg *Config[T], out chan<- chunk[T], cut *bool) {
	defer close(out)
	var b Batch[T]
	index := 0
	hand := func(err error) bool {
		select {
		case out <- chunk[T]{b: b, err: err}:
			b = Batch[T]{}
			return true
		case <-ctx.Done():
			*cut = true
			return false
		}
	}
	for {
		it, err := src.Next(ctx)
		if err == io.EOF {
			if len(b.Items) > 0 {
				hand(nil)
			}
			return
		}
		if err != nil {
			hand(err)
			return
		}
		it.Index = index
		index++
		full := len(b.Items) > 0 && (it.Alone || it.Target != b.Target ||
			(cfg.MaxBytes > 0 && b.Bytes+it.Size > cfg.MaxBytes))
		if full && !hand(nil) {
			return
		}
		b.Target = it.Target
		b.Items = append(b.Items, it)
		b.Bytes += it.Size
		if (it.Alone || len(b.Items) >= cfg.MaxItems) && !hand(nil) {
			return
		}
	}
}

type runner[T any] struct {
	cfg *Config[T]
	res Result
}

func (r *runner[T]) send(ctx context.Context, b Batch[T]) error {
	err := r.cfg.Send(ctx, b)
	switch {
	case err == nil:
		r.res.Written[b.Target] += len(b.Items)
		r.res.Total += len(b.Items)
		if r.cfg.Sent != nil {
			return r.cfg.Sent(b, r.copy())
		}
		return nil
	case ctx.Err() != nil || r.cfg.Split == nil || !r.cfg.Split(err):
		return &StoppedError[T]{Batch: b, Err: err, Sent: true}
	case len(b.Items) == 1:
		return &RefusedError[T]{Item: b.Items[0], Err: err}
	default:
		h := len(b.Items) / 2
		if err := r.send(ctx, sub(b, 0, h)); err != nil {
			return err
		}
		return r.send(ctx, sub(b, h, len(b.Items)))
	}
}

func (r *runner[T]) copy() Result {
	c := Result{Written: make(map[string]int, len(r.res.Written)), Total: r.res.Total}
	for k, v := range r.res.Written {
		c.Written[k] = v
	}
	return c
}

func sub[T any](b Batch[T], i, j int) Batch[T] {
	s := Batch[T]{Target: b.Target, Items: b.Items[i:j:j]}
	for _, it := range s.Items {
		s.Bytes += it.Size
	}
	return s
}
