package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubctl/hubctl/pkg/node"
)

// The embedded default opens its node per command (node.Options.PerCommand): its block
// store, which every open writes to (the peerstore records the host's addresses), keeps
// under six tables however many commands run: at most four in level 0 between commands,
// one in level 1 for a store this small. Without it, every open and close adds one, up to
// the ten at which a close waits a second or two for badger's compactors.
func TestEmbeddedNodeCompactsAsItCloses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	for i := 0; i < 8; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		e, err := OpenEmbedded(ctx, node.Options{Dir: dir, NoNetPulling: true})
		cancel()
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if err := e.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
		entries, err := os.ReadDir(filepath.Join(dir, "ipfslite"))
		if err != nil {
			t.Fatal(err)
		}
		tables := 0
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".sst") {
				tables++
			}
		}
		if tables > 5 {
			t.Fatalf("after %d commands the block store holds %d tables: its closes do not compact", i+1, tables)
		}
	}
}
