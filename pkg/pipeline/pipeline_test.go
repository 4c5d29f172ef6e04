package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"time"
)

// wait bounds every wait of these tests, so that a broken pipeline fails instead of hanging.
const wait = time.Minute

var errRefused = errors.New("refused")

// items makes a source of n items of target t with sizes from size(i), valued 0..n-1.
func items(n int, t string, size func(i int) int64) SourceFunc[int] {
	i := 0
	return func(context.Context) (Item[int], error) {
		if i == n {
			return Item[int]{}, io.EOF
		}
		it := Item[int]{Value: i, Target: t, Size: size(i)}
		i++
		return it, nil
	}
}

func sizes(n int64) func(int) int64 { return func(int) int64 { return n } }

// receiver records what it was sent and what it wrote.
type receiver struct {
	batches [][]int // every Send, refused or not
	written []int   // the values of the Sends that succeeded, in order
	refuse  func(b Batch[int]) error
}

func (r *receiver) send(_ context.Context, b Batch[int]) error {
	r.batches = append(r.batches, b.Values())
	if r.refuse != nil {
		if err := r.refuse(b); err != nil {
			return err
		}
	}
	r.written = append(r.written, b.Values()...)
	return nil
}

func lens(bs [][]int) []int {
	n := make([]int, len(bs))
	for i, b := range bs {
		n[i] = len(b)
	}
	return n
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func run(t *testing.T, ctx context.Context, src Source[int], cfg Config[int]) (Result, error) {
	t.Helper()
	type out struct {
		res Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := Run(ctx, src, cfg)
		done <- out{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(wait):
		t.Fatal("Run did not return within a minute")
		return Result{}, nil
	}
}

func TestPipelineBatchesByCount(t *testing.T) {
	r := &receiver{}
	res, err := run(t, context.Background(), items(10, "c", sizes(1)), Config[int]{MaxItems: 3, Send: r.send})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lens(r.batches), []int{3, 3, 3, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch lengths %v, want %v", got, want)
	}
	if !reflect.DeepEqual(r.written, seq(10)) {
		t.Fatalf("written %v", r.written)
	}
	if res.Total != 10 || res.Written["c"] != 10 {
		t.Fatalf("result %+v", res)
	}
}

func TestPipelineBatchesByBytes(t *testing.T) {
	// Items of 4 bytes under a bound of 10: two per batch (a third would make 12); an item
	// larger than the bound goes alone, and is sent.
	size := func(i int) int64 {
		if i == 3 {
			return 25
		}
		return 4
	}
	r := &receiver{}
	var bytes []int64
	send := func(ctx context.Context, b Batch[int]) error {
		bytes = append(bytes, b.Bytes)
		return r.send(ctx, b)
	}
	res, err := run(t, context.Background(), items(8, "c", size), Config[int]{MaxItems: 100, MaxBytes: 10, Send: send})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.batches, [][]int{{0, 1}, {2}, {3}, {4, 5}, {6, 7}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	if got, want := bytes, []int64{8, 4, 25, 8, 8}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch bytes %v, want %v", got, want)
	}
	if res.Total != 8 {
		t.Fatalf("result %+v", res)
	}
}

func TestPipelineTargetsAndAlone(t *testing.T) {
	// a collection record (alone), its instances, another collection (alone), its instances.
	type rec struct {
		target string
		alone  bool
	}
	recs := []rec{{"", true}, {"a", false}, {"a", false}, {"", true}, {"", true}, {"b", false}, {"b", false}, {"b", false}}
	i := 0
	src := SourceFunc[int](func(context.Context) (Item[int], error) {
		if i == len(recs) {
			return Item[int]{}, io.EOF
		}
		it := Item[int]{Value: i, Target: recs[i].target, Alone: recs[i].alone, Size: 1}
		i++
		return it, nil
	})
	r := &receiver{}
	var targets []string
	send := func(ctx context.Context, b Batch[int]) error {
		targets = append(targets, b.Target)
		return r.send(ctx, b)
	}
	res, err := run(t, context.Background(), src, Config[int]{MaxItems: 100, Send: send})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.batches, [][]int{{0}, {1, 2}, {3}, {4}, {5, 6, 7}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	if got, want := targets, []string{"", "a", "", "", "b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("targets %v, want %v", got, want)
	}
	if want := map[string]int{"": 3, "a": 2, "b": 3}; !reflect.DeepEqual(res.Written, want) || res.Total != 8 {
		t.Fatalf("result %+v, want %v", res, want)
	}
}

// A batch refused for one item's content is split until that item is alone: everything
// before it is written once, nothing from it on, and the error names it.
func TestPipelineSplitsRefusedBatchToOneItem(t *testing.T) {
	for _, bad := range []int{0, 1, 6, 11, 15} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			r := &receiver{refuse: func(b Batch[int]) error {
				for _, v := range b.Values() {
					if v == bad {
						return fmt.Errorf("item %d: %w", v, errRefused)
					}
				}
				return nil
			}}
			var sent []int
			res, err := run(t, context.Background(), items(16, "c", sizes(1)), Config[int]{
				MaxItems: 8, Send: r.send,
				Split: func(err error) bool { return errors.Is(err, errRefused) },
				Sent: func(b Batch[int], res Result) error {
					sent = append(sent, res.Total)
					return nil
				},
			})
			var re *RefusedError[int]
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T), want a *RefusedError", err, err)
			}
			if re.Item.Value != bad || re.Item.Index != bad || !errors.Is(err, errRefused) {
				t.Fatalf("refused %+v: %v, want item %d", re.Item, err, bad)
			}
			if !reflect.DeepEqual(append([]int{}, r.written...), seq(bad)) {
				t.Fatalf("written %v, want the %d before item %d, once each", r.written, bad, bad)
			}
			if res.Total != bad || res.Written["c"] != bad {
				t.Fatalf("result %+v, want %d written", res, bad)
			}
			if len(sent) > 0 && sent[len(sent)-1] != bad {
				t.Fatalf("Sent hook saw totals %v", sent)
			}
		})
	}
}

// A batch too large for one transaction is split until its halves pass: every item is
// written exactly once.
func TestPipelineSplitsTooLargeBatch(t *testing.T) {
	r := &receiver{refuse: func(b Batch[int]) error {
		if len(b.Items) > 3 {
			return errRefused
		}
		return nil
	}}
	res, err := run(t, context.Background(), items(20, "c", sizes(1)), Config[int]{
		MaxItems: 16, Send: r.send, Split: func(err error) bool { return errors.Is(err, errRefused) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.written, seq(20)) {
		t.Fatalf("written %v, want each of 0..19 once, in order", r.written)
	}
	if res.Total != 20 {
		t.Fatalf("result %+v", res)
	}
}

// An error Split does not claim is not retried: Run stops with the batch whose fate is
// unknown, and no item is sent again.
func TestPipelineStopsOnOtherErrors(t *testing.T) {
	down := errors.New("connection refused")
	r := &receiver{refuse: func(b Batch[int]) error {
		if b.Items[0].Value >= 6 {
			return down
		}
		return nil
	}}
	res, err := run(t, context.Background(), items(12, "c", sizes(1)), Config[int]{
		MaxItems: 3, Send: r.send, Split: func(err error) bool { return errors.Is(err, errRefused) },
	})
	var se *StoppedError[int]
	if !errors.As(err, &se) || !errors.Is(err, down) || !se.Sent {
		t.Fatalf("error %v (%T), want a *StoppedError of a sent batch", err, err)
	}
	if got := se.Batch.Values(); !reflect.DeepEqual(got, []int{6, 7, 8}) {
		t.Fatalf("stopped batch %v", got)
	}
	if res.Total != 6 || len(r.batches) != 3 {
		t.Fatalf("result %+v after %d sends", res, len(r.batches))
	}
}

// The source's error ends the stream: the items before it are written, then Run returns
// that error unchanged.
func TestPipelineSourceError(t *testing.T) {
	bad := errors.New("line 8: invalid JSON")
	inner := items(100, "c", sizes(1))
	n := 0
	src := SourceFunc[int](func(ctx context.Context) (Item[int], error) {
		if n == 7 {
			return Item[int]{}, bad
		}
		n++
		return inner(ctx)
	})
	r := &receiver{}
	res, err := run(t, context.Background(), src, Config[int]{MaxItems: 3, Send: r.send})
	if err != bad {
		t.Fatalf("error %v, want the source's", err)
	}
	if !reflect.DeepEqual(r.written, seq(7)) || res.Total != 7 {
		t.Fatalf("written %v, result %+v", r.written, res)
	}
	if got, want := lens(r.batches), []int{3, 3, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch lengths %v, want %v", got, want)
	}
}

// Canceled in the middle of a batch's Send: the result counts exactly the batches whose
// Send returned nil, the error names the batch cut off, and nothing more is sent.
func TestPipelineCancelMidBatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &receiver{}
	calls := 0
	send := func(sctx context.Context, b Batch[int]) error {
		calls++
		if calls == 3 {
			cancel() // the interrupt arrives while this batch is on its way
			<-sctx.Done()
			return sctx.Err()
		}
		return r.send(sctx, b)
	}
	res, err := run(t, ctx, items(100, "c", sizes(1)), Config[int]{
		MaxItems: 4, Send: send, Split: func(error) bool { return true }, // even a greedy Split does not retry a canceled batch
	})
	var se *StoppedError[int]
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) || !se.Sent {
		t.Fatalf("error %v (%T), want a *StoppedError of a sent batch", err, err)
	}
	if got := se.Batch.Values(); !reflect.DeepEqual(got, []int{8, 9, 10, 11}) {
		t.Fatalf("stopped batch %v", got)
	}
	if calls != 3 || res.Total != 8 || !reflect.DeepEqual(r.written, seq(8)) {
		t.Fatalf("%d calls, result %+v, written %v", calls, res, r.written)
	}
}

// Canceled while the source is blocked (a terminal nobody types on): Run returns at once
// with what was written.
func TestPipelineCancelWhileSourceBlocks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	block := make(chan struct{})
	defer close(block)
	inner := items(100, "c", sizes(1))
	n := 0
	src := SourceFunc[int](func(ctx context.Context) (Item[int], error) {
		if n == 5 {
			<-block // ignores ctx, as a read of standard input does
			return Item[int]{}, io.EOF
		}
		n++
		return inner(ctx)
	})
	r := &receiver{}
	res, err := run(t, ctx, src, Config[int]{MaxItems: 2, Send: r.send, Sent: func(b Batch[int], res Result) error {
		if res.Total == 4 {
			cancel()
		}
		return nil
	}})
	var se *StoppedError[int]
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) || se.Sent {
		t.Fatalf("error %v (%T), want a *StoppedError before a send", err, err)
	}
	if res.Total != 4 || !reflect.DeepEqual(r.written, seq(4)) {
		t.Fatalf("result %+v, written %v", res, r.written)
	}
}

func TestPipelineSentHookError(t *testing.T) {
	broken := errors.New("write stdout: broken pipe")
	r := &receiver{}
	res, err := run(t, context.Background(), items(10, "c", sizes(1)), Config[int]{MaxItems: 3, Send: r.send,
		Sent: func(b Batch[int], res Result) error {
			if res.Total == 6 {
				return broken
			}
			return nil
		}})
	if err != broken || res.Total != 6 || len(r.batches) != 2 {
		t.Fatalf("error %v, result %+v, %d sends", err, res, len(r.batches))
	}
}

func TestPipelineConfig(t *testing.T) {
	if _, err := Run(context.Background(), items(1, "", sizes(1)), Config[int]{Send: (&receiver{}).send}); err == nil {
		t.Fatal("MaxItems 0 was accepted")
	}
	if _, err := Run(context.Background(), items(1, "", sizes(1)), Config[int]{MaxItems: 1}); err == nil {
		t.Fatal("a nil Send was accepted")
	}
}

// Canceled between two calls with the next batch already read: that batch still goes to
// Send, with the ended context, and the sender's failure names it; nothing after it is sent.
func TestPipelineCancelBetweenBatches(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inner := items(100, "c", sizes(1))
	third := make(chan struct{})
	n := 0
	src := SourceFunc[int](func(ctx context.Context) (Item[int], error) {
		if n == 8 {
			close(third) // the second batch (4..7) was handed over: the reader reads the third
		}
		n++
		return inner(ctx)
	})
	r := &receiver{}
	var sentCtx []error
	send := func(sctx context.Context, b Batch[int]) error {
		sentCtx = append(sentCtx, sctx.Err())
		if err := sctx.Err(); err != nil {
			return err
		}
		return r.send(sctx, b)
	}
	res, err := run(t, ctx, src, Config[int]{MaxItems: 4, Send: send, Sent: func(b Batch[int], res Result) error {
		select {
		case <-third:
		case <-time.After(wait):
			return errors.New("the reader did not read ahead within a minute")
		}
		cancel()
		return nil
	}})
	var se *StoppedError[int]
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) || !se.Sent {
		t.Fatalf("error %v (%T), want a *StoppedError of a sent batch", err, err)
	}
	if got := se.Batch.Values(); !reflect.DeepEqual(got, []int{4, 5, 6, 7}) {
		t.Fatalf("stopped batch %v", got)
	}
	if len(sentCtx) != 2 || sentCtx[0] != nil || sentCtx[1] != context.Canceled {
		t.Fatalf("Send saw contexts %v", sentCtx)
	}
	if res.Total != 4 || !reflect.DeepEqual(r.written, seq(4)) {
		t.Fatalf("result %+v, written %v", res, r.written)
	}
}
