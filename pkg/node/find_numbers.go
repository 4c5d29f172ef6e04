package node

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"sort"
	"strings"

	ds "github.com/ipfs/go-datastore"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"

	hq "github.com/hubctl/hubctl/pkg/query"
)

// Numbers in order. go-threads keeps an indexed number under its decimal spelling, in byte
// order ("10" before "9"), so a range over numbers must read every distinct value's entry:
// 34 ms for an index of 100,000 values, whatever the range returns. hubctl's servers keep,
// beside each of go-threads' indexes, one of their own for the numbers at that path:
//
//	/manager/<db>/hubctl/nidx/<collection>/<path>/<number, 16 hex digits>/<id>
//
// with the number's bits arranged so that byte order is numeric order (orderedHex), so a
// range is one seek and a walk of what it returns. It is written in the transaction that
// writes the instance and go-threads' entries (db.IndexHook, called by go-threads for
// every write, local or from a peer), and it is trusted under the same mark as the
// go-threads index beside it: rebuildIndex builds both.

func init() { db.IndexHook = keepNumberIndexes }

// numberRoot is a numeric index's prefix relative to a database's datastore (the hook
// writes through it); numberRootIn is the same under the node's store.
func numberRoot(collection, path string) string {
	return "/hubctl/nidx/" + collection + "/" + path + "/"
}

func numberRootIn(dbID thread.ID, collection, path string) string {
	return managerKey.String() + "/" + dbID.String() + numberRoot(collection, path)
}

// orderedHex spells f so that byte order is numeric order: the sign bit flipped for
// positive numbers, every bit for negative ones, in 16 hex digits. -0 is 0.
func orderedHex(f float64) string {
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b>>63 == 0 {
		b ^= 1 << 63
	} else {
		b = ^b
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], b)
	return hex.EncodeToString(buf[:])
}

// fromOrderedHex reads orderedHex back.
func fromOrderedHex(s string) (float64, bool) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 8 {
		return 0, false
	}
	b := binary.BigEndian.Uint64(raw)
	if b>>63 == 1 {
		b ^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b), true
}

// numberEntry is an instance's entry in the numeric index on path, or "" when the field
// is not a number there (as pkg/query reads it, so the index lists exactly the instances
// a criterion on numbers can match).
func numberEntry(collection, path, id string, doc []byte) string {
	if doc == nil {
		return ""
	}
	v, ok := hq.Instance(doc).Field(path)
	f, isNumber := v.(float64)
	if !ok || !isNumber {
		return ""
	}
	return numberRoot(collection, path) + orderedHex(f) + "/" + id
}

// keepNumberIndexes is db.IndexHook: it moves an instance's entries in the numeric
// indexes of its collection from its old value to its new one.
func keepNumberIndexes(c *db.Collection, key ds.Key, oldData, newData []byte, txn ds.Txn) error {
	indexes := c.GetIndexes()
	if len(indexes) == 0 {
		return nil
	}
	id := key.Name()
	for _, ix := range indexes {
		if !indexPathRx.MatchString(ix.Path) {
			continue
		}
		was := numberEntry(c.GetName(), ix.Path, id, oldData)
		now := numberEntry(c.GetName(), ix.Path, id, newData)
		if was == now {
			continue
		}
		if was != "" {
			if err := txn.Delete(ds.RawKey(was)); err != nil {
				return err
			}
		}
		if now != "" {
			if err := txn.Put(ds.RawKey(now), []byte{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxRangeCandidates bounds the instances a range reads through the numeric index: past
// it, reading them one by one costs about what a scan of the collection does.
var maxRangeCandidates = 10000

// numberCandidates reads the IDs a range on numbers (>, >=, <, <=) selects from the
// numeric index on path, sorted.
func numberCandidates(snap snapshot, dbID thread.ID, collection, path string, c *db.Criterion) ([]string, error) {
	root := numberRootIn(dbID, collection, path)
	bound := *c.Value.Float
	seek := ""
	if c.Operation == db.Gt || c.Operation == db.Ge {
		seek = orderedHex(bound)
	}
	ids := []string{}
	err := snap.each(root, seek, false, true, func(key, _ []byte) (bool, error) {
		rest := string(key[len(root):])
		num, id, ok := strings.Cut(rest, "/")
		if !ok || id == "" || strings.Contains(id, "/") {
			return true, nil
		}
		f, ok := fromOrderedHex(num)
		if !ok {
			return true, nil
		}
		if !hq.MatchValue(c, f) {
			// Ascending from the seek, the first that fails above it ends an upper bound;
			// the equal ones a > skips are all at its start.
			return c.Operation == db.Gt && f == bound, nil
		}
		if len(ids) >= maxRangeCandidates {
			return false, errScanCheaper
		}
		ids = append(ids, id)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(ids)
	return ids, nil
}

// rebuildNumbers makes the numeric index on path hold exactly want (entries relative to
// the database's datastore), through w, reading what it holds from snap.
func rebuildNumbers(snap snapshot, w *batchWriter, dbID thread.ID, collection, path string, want map[string]bool) error {
	base := managerKey.String() + "/" + dbID.String()
	root := numberRootIn(dbID, collection, path)
	have := map[string]bool{}
	err := snap.each(root, "", false, true, func(key, _ []byte) (bool, error) {
		k := string(key[len(base):])
		if want[k] {
			have[k] = true
		} else {
			w.delete(ds.RawKey(string(key)))
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for k := range want {
		if !have[k] {
			w.put(ds.RawKey(base+k), []byte{})
		}
	}
	return nil
}
