package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubctl/hubctl/bench/internal/stats"
)

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// progress tells how a case went, on stderr.
func progress(r *result) {
	line := fmt.Sprintf("round %d %-7s N=%-6d %-8s", r.round, r.cas, r.n, r.build)
	if r.write > 0 {
		line += fmt.Sprintf(" | A writes %5.0f/s", rate(r.n, r.write))
	}
	if r.join > 0 {
		line += fmt.Sprintf(" | join %s", stats.Ms(r.join))
	}
	if r.pull > 0 {
		line += fmt.Sprintf(", pull %s", stats.Ms(r.pull))
	}
	if r.cas == "live" || r.cas == "burst" {
		line += fmt.Sprintf(" | A knew B's log: %s", yesNo(r.aKnewB))
		if r.write > 0 {
			line += fmt.Sprintf(", B had %d/%d at A's last write", r.pushed, r.n)
		}
	}
	if r.converged {
		switch r.cas {
		case "catchup", "third":
			line += fmt.Sprintf(" | converged in %.2fs (%.0f records/s)", r.took.Seconds(), rate(r.n, r.took))
		case "live":
			line += fmt.Sprintf(" | converged %s after A's last write (%.0f records/s)", short(r.lag), rate(r.n, r.took))
		case "burst":
			line += fmt.Sprintf(" | converged %s after A's last write, at most %d behind", short(r.lag), r.maxBehind)
		case "stopped":
			line += fmt.Sprintf(" | converged %.2fs after B's start, %.2fs after its state file", r.took.Seconds(), r.fromState.Seconds())
		}
	}
	if r.lost != nil {
		var ls []string
		for _, node := range []string{"A", "B", "C"} {
			if n, ok := r.lost[node]; ok {
				ls = append(ls, fmt.Sprintf("%s %d", node, n))
			}
		}
		line += " | lost: " + strings.Join(ls, ", ")
	}
	if !r.done && r.err != nil {
		line += " | " + firstLine(r.err.Error())
	}
	fmt.Fprintln(os.Stderr, line)
}

// short formats d in milliseconds below a second, in seconds above.
func short(d time.Duration) string {
	if d < time.Second {
		return stats.Ms(d)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// column is one figure of a case's table, over the rounds of one size on one build.
type column struct {
	head string
	cell func(n int, rs []*result) string
}

func durations(rs []*result, f func(*result) time.Duration) []time.Duration {
	var ds []time.Duration
	for _, r := range rs {
		if r.converged {
			ds = append(ds, f(r))
		}
	}
	return ds
}

func secondsCol(head string, f func(*result) time.Duration) column {
	return column{head, func(_ int, rs []*result) string { return spread(durations(rs, f), seconds) }}
}

func rateCol(head string, f func(*result) time.Duration) column {
	return column{head, func(n int, rs []*result) string { return rateSpread(n, durations(rs, f)) }}
}

func countCol(head string, f func(*result) int64) column {
	return column{head, func(_ int, rs []*result) string {
		var cs []time.Duration // counts, summarised as durations are
		for _, r := range rs {
			if r.converged {
				cs = append(cs, time.Duration(f(r)))
			}
		}
		return spread(cs, func(d time.Duration) string { return fmt.Sprint(int64(d)) })
	}}
}

var (
	writesCol = column{"A writes/s", func(n int, rs []*result) string {
		var ds []time.Duration
		for _, r := range rs {
			if r.write > 0 {
				ds = append(ds, r.write)
			}
		}
		return rateSpread(n, ds)
	}}
	convergedCol = column{"converged", func(_ int, rs []*result) string {
		c := 0
		for _, r := range rs {
			if r.converged {
				c++
			}
		}
		return fmt.Sprintf("%d/%d", c, len(rs))
	}}
	heldCol = countCol("B had at A's last write", func(r *result) int64 { return r.pushed })
)

// lostCol sums what node lacked over the rounds that checked it ("-": none did).
func lostCol(node string) column {
	return column{"lost " + node, func(_ int, rs []*result) string {
		sum, checked := 0, false
		for _, r := range rs {
			if n, ok := r.lost[node]; ok {
				sum, checked = sum+n, true
			}
		}
		if !checked {
			return "-"
		}
		return fmt.Sprint(sum)
	}}
}

var tables = []struct {
	cas, title string
	cols       []column
}{
	{"catchup", "catchup: A holds N records, B joins (db join) and catches up", []column{writesCol, convergedCol,
		secondsCol("catch-up s", func(r *result) time.Duration { return r.took }),
		rateCol("records/s", func(r *result) time.Duration { return r.took }), lostCol("A"), lostCol("B")}},
	{"live", "live: B joined, N more written on A", []column{writesCol, convergedCol,
		rateCol("records/s", func(r *result) time.Duration { return r.took }),
		secondsCol("lag s", func(r *result) time.Duration { return r.lag }), heldCol, lostCol("A"), lostCol("B")}},
	{"burst", "burst: B joined on 1 record, N written on A", []column{writesCol, convergedCol,
		secondsCol("lag s", func(r *result) time.Duration { return r.lag }),
		countCol("max behind", func(r *result) int64 { return r.maxBehind }), heldCol, lostCol("A"), lostCol("B")}},
	{"stopped", "stopped: N written on A while B was stopped, then B restarted", []column{writesCol, convergedCol,
		secondsCol("from B's start s", func(r *result) time.Duration { return r.took }),
		secondsCol("from B's state file s", func(r *result) time.Duration { return r.fromState }), lostCol("A"), lostCol("B")}},
	{"third", "third: A held N, B caught up, A stopped, fresh C joins from B", []column{convergedCol,
		secondsCol("C's catch-up s", func(r *result) time.Duration { return r.took }),
		rateCol("records/s", func(r *result) time.Duration { return r.took }), lostCol("A"), lostCol("B"), lostCol("C")}},
}

// report prints one table per case that ran: a row per size and build.
func report(w io.Writer, all []*result, builds []build, rounds, writers int) {
	for _, t := range tables {
		var sizes []int
		for _, r := range all {
			if r.cas == t.cas && !slices.Contains(sizes, r.n) {
				sizes = append(sizes, r.n)
			}
		}
		if len(sizes) == 0 {
			continue
		}
		sort.Ints(sizes)
		fmt.Fprintf(w, "\n%s (%d %s, %d writers)\n", t.title, rounds, pluralRounds(rounds), writers)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		heads := []string{"build", "N"}
		for _, c := range t.cols {
			heads = append(heads, c.head)
		}
		fmt.Fprintln(tw, strings.Join(heads, "\t")+"\t")
		for _, n := range sizes {
			for _, b := range builds {
				var rs []*result
				for _, r := range all {
					if r.cas == t.cas && r.n == n && r.build == b.name {
						rs = append(rs, r)
					}
				}
				if len(rs) == 0 {
					continue
				}
				cells := []string{b.name, fmt.Sprint(n)}
				for _, c := range t.cols {
					cells = append(cells, c.cell(n, rs))
				}
				fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
			}
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nmedian (min-max) over the rounds that converged; converged: by each case's bound; records/s: N / time until the")
	fmt.Fprintln(w, "follower's log heads equal the source's; lag: A's last write returned to convergence; max behind: most acknowledged")
	fmt.Fprintln(w, "records B lacked at one reading; lost: acknowledged instance IDs a node's collection lacks, summed over the rounds")
}

func pluralRounds(n int) string {
	if n == 1 {
		return "round"
	}
	return "rounds"
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

// spread formats the median and the range of ds.
func spread(ds []time.Duration, f func(time.Duration) string) string {
	if len(ds) == 0 {
		return "-"
	}
	lo, hi := extremes(ds)
	if len(ds) == 1 {
		return f(ds[0])
	}
	return fmt.Sprintf("%s (%s-%s)", f(stats.Median(ds)), f(lo), f(hi))
}

// rateSpread is spread for n records over each duration: the slowest round is the lowest rate.
func rateSpread(n int, ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	lo, hi := extremes(ds)
	if len(ds) == 1 {
		return fmt.Sprintf("%.0f", rate(n, ds[0]))
	}
	return fmt.Sprintf("%.0f (%.0f-%.0f)", rate(n, stats.Median(ds)), rate(n, hi), rate(n, lo))
}

func extremes(ds []time.Duration) (lo, hi time.Duration) {
	c := slices.Clone(ds)
	slices.Sort(c)
	return c[0], c[len(c)-1]
}
