package node

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ds "github.com/ipfs/go-datastore"
	badger "github.com/textileio/go-ds-badger"
	"github.com/textileio/go-threads/core/thread"
)

// nodeStores are the badger stores a node keeps in its directory.
var nodeStores = []string{"ipfslite", "logstore", "eventstore"}

// storeState is one store's level 0 and table bytes after a close.
type storeState struct {
	levelZero  int
	tableBytes int64
}

// cycleNode opens and closes a node in dir cycles times, the way the embedded default does
// around each command, writing value under one key of each of its stores each time (a
// command's own writes: peerstore addresses, log keys, instances). It returns every store's
// state after each close.
func cycleNode(t *testing.T, dir string, cycles int, perCommand bool, value []byte) []map[string]storeState {
	t.Helper()
	key := ds.NewKey("/compaction-test/value")
	logThread := thread.NewIDV1(thread.Raw, 32)
	var states []map[string]storeState
	for i := 0; i < cycles; i++ {
		n, err := Open(context.Background(), Options{Dir: dir, NoNetPulling: true, PerCommand: perCommand})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if err := n.store.Put(key, value); err != nil {
			t.Fatalf("put %d in the event store: %v", i, err)
		}
		if err := n.net.blocks.Put(key, value); err != nil {
			t.Fatalf("put %d in the block store: %v", i, err)
		}
		if err := n.net.store.PutBytes(logThread, "compaction-test", value); err != nil {
			t.Fatalf("put %d in the logstore: %v", i, err)
		}
		if err := n.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
		state := map[string]storeState{}
		for _, s := range nodeStores {
			l0, err := levelZeroTables(filepath.Join(dir, s))
			if err != nil {
				t.Fatal(err)
			}
			state[s] = storeState{levelZero: l0, tableBytes: tableBytes(t, filepath.Join(dir, s))}
		}
		states = append(states, state)
	}
	return states
}

// tableBytes sums the sizes of the store's tables: what compaction governs. The value log
// beside them is the log of writes, as long as what was written whatever compaction does,
// and reclaimed by value-log collection instead.
func tableBytes(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sst") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		total += info.Size()
	}
	return total
}

// The mechanism: a node opened and closed per command compacts level 0 as it closes, so
// between commands no store holds NumLevelZeroTables level-0 tables (badger's compaction
// trigger) and a close's flush is never near NumLevelZeroTablesStall, where it used to wait
// a second or two for a background compactor.
func TestPerCommandNodeKeepsLevelZeroUnderCompactionTrigger(t *testing.T) {
	dir := t.TempDir()
	trigger := badger.DefaultOptions.NumLevelZeroTables
	if small := smallStoreOptions().NumLevelZeroTables; small != trigger {
		t.Fatalf("the stores' compaction triggers differ (%d, %d): this test assumes one", small, trigger)
	}
	states := cycleNode(t, dir, 40, true, []byte("v"))
	seen := map[string]int{}
	for i, state := range states {
		for _, s := range nodeStores {
			l0 := state[s].levelZero
			if l0 >= trigger {
				t.Fatalf("after close %d, %s holds %d level-0 tables, at or over badger's compaction trigger %d: the next commands would fill level 0 to the stall", i+1, s, l0, trigger)
			}
			seen[s] = max(seen[s], l0)
		}
	}
	// Each store took a flush at every close, or this proves nothing.
	for _, s := range nodeStores {
		if seen[s] < trigger-1 {
			t.Errorf("%s never held more than %d level-0 tables: its closes did not flush", s, seen[s])
		}
	}
}

// The size: the same key rewritten at every one of 40 opens and closes. From the 10th close
// to the 40th, the tables of each store may grow by at most NumLevelZeroTables-1 flushes:
// level 0 never holds more between commands, and compacting it into level 1 drops the
// rewritten versions. A store that stopped compacting would grow by all 30.
func TestPerCommandNodeStoresDoNotGrowWithOpens(t *testing.T) {
	dir := t.TempDir()
	states := cycleNode(t, dir, 40, true, bytes.Repeat([]byte("x"), 4<<10))
	trigger := badger.DefaultOptions.NumLevelZeroTables
	for _, s := range nodeStores {
		// The most one close's flush added, measured here rather than assumed.
		var flush int64
		for i := 1; i < len(states); i++ {
			flush = max(flush, states[i][s].tableBytes-states[i-1][s].tableBytes)
		}
		if flush <= 0 {
			t.Fatalf("%s: no close added a table: nothing was measured", s)
		}
		at10, at40 := states[9][s].tableBytes, states[39][s].tableBytes
		if bound := at10 + int64(trigger-1)*flush; at40 > bound {
			t.Errorf("%s: tables grew from %d bytes after 10 opens to %d after 40 (bound %d: %d flushes of at most %d bytes)", s, at10, at40, bound, trigger-1, flush)
		}
	}
}

// A long-running node keeps go-ds-badger's options, compaction on close off: its compactors
// work in the background, and a close of a big store must not start a compaction.
func TestStoreOptionsCompactOnCloseOnlyPerCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	trigger := badger.DefaultOptions.NumLevelZeroTables
	// Fill level 0 to one under the trigger, through closes that do not compact.
	for i := 0; i < trigger-1; i++ {
		d, err := openBadger(dir, badger.DefaultOptions, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Put(ds.NewKey("/k"), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if l0, err := levelZeroTables(dir); err != nil || l0 != trigger-1 {
		t.Fatalf("level 0 holds %d tables (%v), want %d", l0, err, trigger-1)
	}
	if storeOptions(dir, badger.DefaultOptions, false).CompactL0OnClose {
		t.Error("a long-running node's store compacts on close")
	}
	if !storeOptions(dir, badger.DefaultOptions, true).CompactL0OnClose {
		t.Error("a per-command store one flush from the compaction trigger does not compact on close")
	}
	if storeOptions(filepath.Join(t.TempDir(), "new"), badger.DefaultOptions, true).CompactL0OnClose {
		t.Error("a new per-command store compacts on close")
	}
}

// A damaged MANIFEST (a disk fault, or a file someone wrote there) is badger's to report:
// reading it for the level-0 count neither fails the open on its own nor panics, and the
// open still fails with badger's error, naming the store.
func TestStoreOptionsWithADamagedManifest(t *testing.T) {
	for name, content := range map[string][]byte{
		"not a manifest": []byte("this is not a manifest"),
		// The right magic, then an entry claiming 4 GiB: badger checks lengths against the
		// file's size before allocating.
		"huge entry": {'B', 'd', 'g', 'r', 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), content, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := levelZeroTables(dir); err == nil {
				t.Fatal("a damaged manifest was read without an error")
			}
			if storeOptions(dir, badger.DefaultOptions, true).CompactL0OnClose {
				t.Error("a store whose manifest could not be read compacts on close")
			}
			d, err := openBadger(dir, badger.DefaultOptions, true)
			if err == nil {
				_ = d.Close()
				t.Fatal("a store with a damaged manifest opened")
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("the error does not name the store: %v", err)
			}
		})
	}
}
