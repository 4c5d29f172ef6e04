package server

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/alecthomas/jsonschema"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
)

// A collection without a write validator or read filter runs no JavaScript, and so holds
// no JavaScript runtime: go-threads v1.1.5 made one (about 70 KB) for every collection,
// nine tenths of a daemon's memory with thousands of databases (third_party/go-threads.patch).
func TestCollectionsWithoutJavaScriptHoldNoRuntime(t *testing.T) {
	c := noAuthClient(t, filepath.Join(t.TempDir(), "data"))
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	const n = 200
	schema := jsonschema.Reflect(&note{})
	before := heap()
	for i := 0; i < n; i++ {
		if err := c.NewCollection(t.Context(), id, db.CollectionConfig{Name: fmt.Sprintf("c%d", i), Schema: schema}); err != nil {
			t.Fatal(err)
		}
	}
	per := (int64(heap()) - int64(before)) / n
	t.Logf("%d bytes of heap per collection", per)
	if per > 40<<10 {
		t.Fatalf("each collection holds %d bytes: more than a JavaScript runtime's worth (40 KiB)", per)
	}
}
