package server

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// The daemon collects on its own every GCInterval and reports each run through Warnf;
// a removed bucket's blocks are then gone without anyone asking, and files pushed while
// collections ran back to back all read back.
func TestGCScheduled(t *testing.T) {
	dir := t.TempDir()
	reg := hubauth.OpenRegistry(dir)
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	reports := make(chan string, 100)
	opts := loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthKeys, Keys: kr, GCInterval: time.Millisecond, BlockGrace: -1,
		Warnf: func(format string, args ...any) {
			select {
			case reports <- fmt.Sprintf(format, args...):
			default:
			}
		}})
	d := startStoppable(t, opts, 0)
	e := &bucketEnv{d: d, reg: reg, bc: bucketsClient(t, d)}
	e.s = newSession(t, d, newKey(t, reg, hubauth.UserKey))
	e.db, e.ctx = bucketDB(t, e.s)
	// Writes while collections run back to back lose nothing.
	kept := e.create(t, "kept").Root.Key
	files := map[string][]byte{}
	for i := 0; i < 5; i++ {
		p := fmt.Sprintf("dir%d/f%d.bin", i%2, i)
		files[p] = randomBytes(t, 100<<10+i)
		e.push(t, kept, p, files[p])
	}
	key := e.create(t, "scheduled").Root.Key
	file, _ := e.push(t, key, "f.bin", randomBytes(t, 300<<10))
	if err := e.bc.Remove(bounded(t, e.ctx), key); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for p, data := range files {
			if got := e.pull(t, kept, p); !bytes.Equal(got, data) {
				t.Errorf("%s differs after scheduled collections", p)
			}
		}
	}()
	ctx := bounded(t, context.Background())
	// Runs that began before the remove may keep the file; wait (bounded: 1,000 runs or
	// the minute) for one that frees it.
	for i := 0; ; i++ {
		select {
		case r := <-reports:
			if !strings.HasPrefix(r, "block collection: ") {
				t.Fatalf("report %q", r)
			}
		case <-ctx.Done():
			t.Fatal("no scheduled collection freed the removed bucket's blocks")
		}
		ok, err := d.node.DAG().BlockStore().Has(file.Cid())
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		if i >= 1000 {
			t.Fatal("1,000 scheduled runs kept the removed bucket's file")
		}
	}
}
