package node

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
)

// seekIDs is one page of SeekInstances as IDs.
func seekIDs(t *testing.T, ctx context.Context, n *Node, opts SeekOptions, db thread.ID, collection string) (string, bool) {
	t.Helper()
	page, err := n.SeekInstances(ctx, db, collection, opts)
	if err != nil {
		t.Fatalf("seek %+v: %v", opts, err)
	}
	var out []string
	for _, in := range page.Instances {
		out = append(out, in.ID)
	}
	return strings.Join(out, ","), page.More
}

// SeekInstances reads either way from an ID it includes (or from either end), stays in
// its collection both ways (not even a sibling whose name starts with this one's, which
// sorts next to it, nor another thread's), bounds its pages, and CountInstances counts
// the same instances.
func TestSeekInstances(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := openAt(t, ctx, filepath.Join(t.TempDir(), "node"), nil)
	cols := []*pb.CollectionConfig{
		{Name: "inbox", Schema: []byte(personSchema)},
		{Name: "inbox-2", Schema: []byte(personSchema)},
		{Name: "inboy", Schema: []byte(personSchema)},
		{Name: "empty", Schema: []byte(personSchema)},
	}
	db1, _ := createDB(t, ctx, n, "one", cols...)
	db2, _ := createDB(t, ctx, n, "two", cols...)
	for i := 0; i < 5; i++ {
		put(t, ctx, n, db1, "inbox", fmt.Sprintf(`{"_id":"m%d","name":"%d"}`, i, i))
	}
	put(t, ctx, n, db1, "inbox-2", `{"_id":"zz","name":"sibling"}`)
	put(t, ctx, n, db1, "inboy", `{"_id":"a","name":"next collection"}`)
	put(t, ctx, n, db2, "inbox", `{"_id":"m9","name":"other thread"}`)

	for _, c := range []struct {
		opts SeekOptions
		want string
		more bool
	}{
		{SeekOptions{}, "m0,m1,m2,m3,m4", false},
		{SeekOptions{Descending: true}, "m4,m3,m2,m1,m0", false},
		{SeekOptions{From: "m2"}, "m2,m3,m4", false},
		{SeekOptions{From: "m2", Descending: true}, "m2,m1,m0", false},
		{SeekOptions{From: "m25"}, "m3,m4", false},
		{SeekOptions{From: "m25", Descending: true}, "m2,m1,m0", false},
		{SeekOptions{From: "m2", Limit: 2}, "m2,m3", true},
		{SeekOptions{From: "m2", Limit: 2, Descending: true}, "m2,m1", true},
		{SeekOptions{From: "n", Descending: true}, "m4,m3,m2,m1,m0", false},
		{SeekOptions{From: "n"}, "", false},
		{SeekOptions{From: "a", Descending: true}, "", false},
		{SeekOptions{From: "m1", MaxBytes: 1, Descending: true}, "m1", true},
	} {
		if got, more := seekIDs(t, ctx, n.Node, c.opts, db1, "inbox"); got != c.want || more != c.more {
			t.Errorf("%+v: got %q more %v, want %q more %v", c.opts, got, more, c.want, c.more)
		}
	}
	if got, _ := seekIDs(t, ctx, n.Node, SeekOptions{Descending: true}, db1, "empty"); got != "" {
		t.Errorf("empty collection, descending: %q", got)
	}
	for name, want := range map[string]int{"inbox": 5, "inbox-2": 1, "empty": 0} {
		if got, err := n.CountInstances(ctx, db1, name); err != nil || got != want {
			t.Errorf("count %s: %d %v, want %d", name, got, err, want)
		}
	}
	if _, err := n.CountInstances(ctx, db1, "../inbox"); err == nil {
		t.Error("a count of a climbing collection name went ahead")
	}
}
