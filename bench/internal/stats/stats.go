// Package stats summarises benchmark samples the same way for every bench driver.
package stats

import (
	"fmt"
	"sort"
	"time"
)

// Median is the 50th percentile.
func Median(s []time.Duration) time.Duration { return Pct(s, 50) }

// Pct is the p-th percentile (nearest rank, rounding down).
func Pct(s []time.Duration, p int) time.Duration {
	c := append([]time.Duration(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c[(len(c)-1)*p/100]
}

// Ms formats d in milliseconds.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
