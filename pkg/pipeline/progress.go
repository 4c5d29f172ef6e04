package pipeline

import (
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"
)

// BarOptions says where and how a Bar is drawn.
type BarOptions struct {
	// Out is where the bar goes: standard error.
	Out io.Writer
	// Terminal: Out is a terminal. Otherwise there is no bar at all.
	Terminal bool
	// Shared: standard output is the same terminal, so the bar steps aside (Clear) for
	// output written between updates.
	Shared bool
	// Size is the input's size in bytes: a percentage when known, -1 for a spinner, 0 for
	// no bar (an empty input has nothing to show progress through).
	Size int64
	// What names the work: "creating", "pushing".
	What string
}

// Bar is a progress bar for a pipeline's input, in bytes, on a terminal; on anything else
// it draws nothing. Its methods are for the goroutine that calls Run's hooks: a spinner
// turns with each Update rather than on a timer when standard output is shared.
type Bar struct {
	bar *progressbar.ProgressBar
	out io.Writer
	// sized: the input's size is known, so the bar shows a percentage (else a spinner).
	sized bool
	// shared: standard output is the same terminal, so the bar steps aside for output.
	shared bool
	what   string
}

// NewBar returns a bar as o says, or one that draws nothing.
func NewBar(o BarOptions) *Bar {
	if !o.Terminal || o.Size == 0 {
		return &Bar{}
	}
	options := []progressbar.Option{
		progressbar.OptionSetWriter(o.Out),
		progressbar.OptionSetDescription(o.What),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetPredictTime(o.Size > 0),
		progressbar.OptionFullWidth(),
	}
	if o.Size < 0 {
		// A spinner has no last frame worth keeping: the summary line says the count.
		options = append(options, progressbar.OptionClearOnFinish())
		if o.Shared {
			// Clear erases the bar between outputs with the library's Clear, which takes
			// no lock (progressbar v3.19.1); a spinner that turned on a timer would redraw
			// from its own goroutine meanwhile. It turns with each update instead.
			options = append(options, progressbar.OptionSetSpinnerChangeInterval(0))
		}
	}
	return &Bar{bar: progressbar.NewOptions64(o.Size, options...),
		out: o.Out, sized: o.Size > 0, shared: o.Shared, what: o.What}
}

// Clear takes the bar off its line before output is written to the terminal; the next
// Update draws it again below.
func (p *Bar) Clear() {
	if p.bar != nil && p.shared {
		_ = p.bar.Clear()
	}
}

// Update moves the bar to input offset end (-1: unknown), described as "What: done"
// (done: "3 instances", "12 files").
func (p *Bar) Update(end int64, done string) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%s: %s", p.what, done))
	if end >= 0 {
		_ = p.bar.Set64(end)
	}
}

// Done ends the bar. After the whole input (ok), a bar with a size is drawn full, at
// 100%, and kept on its line above the summary: the last update may stop short of the end
// (an input's last newline is after its last instance), so without that the bar's last
// frame read 99%. A spinner, or a bar that an error stopped, is cleared for the message.
func (p *Bar) Done(ok bool) {
	switch {
	case p.bar == nil:
	case !p.sized:
		_ = p.bar.Finish() // clears the spinner and stops its goroutine
	case ok && p.bar.IsStarted():
		_ = p.bar.Finish()
		fmt.Fprintln(p.out)
	default:
		_ = p.bar.Exit()
		_ = p.bar.Clear()
	}
}
