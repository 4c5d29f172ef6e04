package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	logging "github.com/ipfs/go-log/v2"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"github.com/tidwall/gjson"

	hq "github.com/hubctl/hubctl/pkg/query"
)

// go-threads v1.1.5's indexes (db/index.go), as Find reads them. For each indexed field
// of a collection, one entry per distinct value, at
//
//	/manager/<db>/_index/db/collection/<name>/<field>/<value>
//
// where <value> is gjson's String() of the field made a key by ds.NewKey (which cleans
// it as a path: "a/../b" is "b"), holding the gob-encoded, sorted list of the instance
// keys (/db/collection/<name>/<id>) with that value. Writes update the entries in the
// transaction that writes the instance, locally and for records from peers alike.
//
// Two things keep an index from being trusted as it is:
//   - go-threads does not build an index it adds to a collection that already holds
//     instances ("they will NOT be indexed a posteriori"), and a dropped index keeps its
//     entries while writes stop updating them;
//   - its entry lists remove by position (keyList.remove): removing an instance that is
//     missing from a list removes its neighbour, so a list that missed one instance goes
//     on to lose others.
//
// So hubctl trusts an index only once it has built it itself (rebuildIndex), from every
// instance, with no write in between, and marked it built (indexMarker). A change of a
// collection's definition clears its marks (ForgetIndexes), and the next Find that would
// use the index builds it again.

// indexPathRx are the index paths Find reads entries of: dotted names that gjson (which
// go-threads indexes with) and a plain walk through objects (pkg/query) read alike.
var indexPathRx = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// planIndex picks the criterion of q an index can answer, with its field: an equality,
// or a range (or !=) on numbers (through hubctl's numeric index beside go-threads', for
// ranges: find_numbers.go) or booleans, whose keys give the value back exactly. A
// range on strings is not one: ds.NewKey's cleaning of "/" and ".." loses the order of
// such values, so an instance outside the range of keys could match. A query with
// alternatives scans: an instance may match through an alternative alone.
func planIndex(q *db.Query, indexes []db.Index) (string, *db.Criterion) {
	if len(q.Ors) > 0 || len(indexes) == 0 {
		return "", nil
	}
	indexed := map[string]bool{}
	for _, ix := range indexes {
		if indexPathRx.MatchString(ix.Path) {
			indexed[ix.Path] = true
		}
	}
	var best *db.Criterion
	for _, c := range q.Ands {
		if !indexed[c.FieldPath] {
			continue
		}
		if c.Operation == db.Eq {
			return c.FieldPath, c
		}
		if best == nil && c.Value.String == nil {
			best = c
		}
	}
	if best == nil {
		return "", nil
	}
	return best.FieldPath, best
}

// indexRoot is the key of a field's index in a collection, under the database's
// prefix: entries are its children, and the entry of the empty string is the key itself
// (ds.NewKey("") is "/", which ChildString drops).
func indexRoot(dbID thread.ID, collection, path string) string {
	return managerKey.String() + "/" + dbID.String() + "/_index/db/collection/" + collection + "/" + path
}

// valueKey is the entry key go-threads gives a value (db/index.go indexUpdate).
func valueKey(root, value string) string {
	return ds.NewKey(root).ChildString(ds.NewKey(value).String()[1:]).String()
}

// indexCandidates reads the IDs of the instances an index lists for c's value (equal)
// or range, sorted. It may list more than match (an entry also holds values that clean
// to the same key, and entries of removed instances): Find checks each.
func indexCandidates(snap snapshot, dbID thread.ID, collection, path string, c *db.Criterion) ([]string, error) {
	root := indexRoot(dbID, collection, path)
	var keys []string
	switch {
	case c.Operation == db.Eq && c.Value.String != nil:
		keys = []string{valueKey(root, *c.Value.String)}
	case c.Operation == db.Eq && c.Value.Bool != nil:
		keys = []string{valueKey(root, strconv.FormatBool(*c.Value.Bool))}
	case c.Value.Float != nil && c.Operation != db.Eq && c.Operation != db.Ne:
		return numberCandidates(snap, dbID, collection, path, c)
	case c.Operation == db.Eq && exactNumberKey(*c.Value.Float):
		f := *c.Value.Float
		keys = []string{valueKey(root, strconv.FormatFloat(f, 'f', -1, 64))}
		if f == 0 {
			keys = append(keys, valueKey(root, "-0")) // -0 == 0, and its key is "-0"
		}
	default:
		// A range, or a number whose key gjson may spell otherwise: every entry's value
		// is read back from its key and compared.
		var total int
		var err error
		if keys, total, err = entriesMatching(snap, root, c); err != nil {
			return nil, err
		}
		if len(keys)*4 > total && total > 64 {
			// Most of the index: reading the instances one by one, by key, costs more
			// than reading them all in the store's order.
			return nil, errScanCheaper
		}
	}
	instPrefix := "/db/collection/" + collection + "/"
	seen := map[string]bool{}
	ids := []string{} // not nil: nil is source's "every instance"
	for _, k := range keys {
		val, err := snap.get(k)
		if errors.Is(err, ds.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read index %s: %w", path, err)
		}
		var list keyList
		if err := db.DefaultDecode(val, &list); err != nil {
			return nil, fmt.Errorf("read index %s: %w", path, err)
		}
		for _, ik := range list {
			id, ok := strings.CutPrefix(string(ik), instPrefix)
			if !ok || id == "" || strings.Contains(id, "/") || seen[id] {
				continue
			}
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// errScanCheaper is a range that matches most of its index: Find scans instead.
var errScanCheaper = errors.New("the range matches most of the index")

// exactNumberKey reports whether every JSON number equal to f has the entry key
// FormatFloat(f) (or "-0" for zero): gjson spells an integer literal as written and any
// other number as FormatFloat, and below 2^53 an integer literal equal to f is f's digits.
func exactNumberKey(f float64) bool {
	return f != math.Trunc(f) || math.Abs(f) < 1<<53
}

// entriesMatching lists the entry keys under root whose value, read back from the key,
// satisfies c (numbers and booleans only: planIndex; their keys are never cleaned), and
// counts the entries.
func entriesMatching(snap snapshot, root string, c *db.Criterion) ([]string, int, error) {
	var keys []string
	total := 0
	err := snap.each(root+"/", "", false, true, func(key, _ []byte) (bool, error) {
		total++
		v := key[len(root)+1:]
		if bytes.IndexByte(v, '/') >= 0 {
			return true, nil
		}
		var field any
		switch {
		case c.Value.Bool != nil:
			if string(v) != "true" && string(v) != "false" {
				return true, nil
			}
			field = string(v) == "true"
		default:
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return true, nil // a string's entry: no number is kept there
			}
			field = f
		}
		if hq.MatchValue(c, field) {
			keys = append(keys, string(key))
		}
		return true, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read index: %w", err)
	}
	return keys, total, nil
}

// indexMarker is where hubctl marks an index it built, under the database's prefix (so
// deleting the database deletes it).
func indexMarker(dbID thread.ID, collection, path string) ds.Key {
	return ds.RawKey(managerKey.String() + "/" + dbID.String() + "/hubctl/index/" + collection + "/" + path)
}

var findLog = logging.Logger("hubctl/find")

// indexBuilds lets one build of an index run at a time; the others wait for it.
var indexBuilds sync.Map // marker key -> *sync.Mutex

// indexReady reports whether the index on path may be trusted, building it first (when
// build allows) if it is not marked built. A build that fails leaves it unmarked: Find
// scans instead.
func (n *Node) indexReady(ctx context.Context, c *db.Collection, dbID thread.ID, collection, path string, build bool) bool {
	marker := indexMarker(dbID, collection, path)
	if ok, err := n.store.Has(marker); err == nil && ok {
		return true
	}
	if !build {
		return false
	}
	mu, _ := indexBuilds.LoadOrStore(marker.String(), new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if ok, err := n.store.Has(marker); err == nil && ok {
		return true
	}
	// A read transaction of go-threads holds the database's transaction lock shared:
	// every write, local or from a peer, takes it exclusively (db.go writeTxn, dispatch),
	// so none lands while the entries are rebuilt.
	err := c.ReadTxn(func(*db.Txn) error {
		return n.rebuildIndex(ctx, dbID, collection, path)
	})
	if err != nil {
		findLog.Warnf("index %s of %s in %s not built (queries on it scan): %v", path, collection, dbID, err)
		return false
	}
	return true
}

// rebuildBatch bounds the writes of one transaction of a rebuild, well under badger's
// limit on a transaction.
const rebuildBatch = 1000

// rebuildIndex replaces the entries of the index on path with ones made from every
// instance, as go-threads makes them, then marks it built. The caller keeps writes out.
func (n *Node) rebuildIndex(ctx context.Context, dbID thread.ID, collection, path string) error {
	root := indexRoot(dbID, collection, path)
	snap, err := n.snapshot()
	if err != nil {
		return err
	}
	defer snap.discard()
	prefix := instancesPrefix(dbID, collection)
	entries := map[string]keyList{}
	numbers := map[string]bool{}
	err = snap.each(prefix, "", false, false, func(key, value []byte) (bool, error) {
		id := string(key[len(prefix):])
		if id == "" || strings.Contains(id, "/") {
			return true, nil
		}
		if e := numberEntry(collection, path, id, value); e != "" {
			numbers[e] = true
		}
		v := gjson.GetBytes(value, path)
		if !v.Exists() {
			return true, nil // go-threads: ErrNotIndexable, no entry
		}
		k := valueKey(root, v.String())
		// Keys come in order, so each list is sorted as go-threads keeps it.
		entries[k] = append(entries[k], []byte("/db/collection/"+collection+"/"+id))
		return true, ctx.Err()
	})
	if err != nil {
		return err
	}
	// Entries already right are left as they are (an index go-threads kept from the
	// collection's start is checked without a write); the rest are replaced or removed.
	same := map[string]bool{}
	var stale []ds.Key
	check := func(k string, old []byte) {
		switch list, keep := entries[k]; {
		case !keep:
			stale = append(stale, ds.RawKey(k))
		case sameList(old, list):
			same[k] = true
		}
	}
	if old, err := snap.get(root); err == nil {
		check(root, old)
	} else if !errors.Is(err, ds.ErrNotFound) {
		return err
	}
	err = snap.each(root+"/", "", false, false, func(key, value []byte) (bool, error) {
		check(string(key), value)
		return true, ctx.Err()
	})
	if err != nil {
		return err
	}
	w := &batchWriter{store: n.store}
	for _, k := range stale {
		w.delete(k)
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		if !same[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, err := db.DefaultEncode(entries[k])
		if err != nil {
			return err
		}
		w.put(ds.RawKey(k), b)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := rebuildNumbers(snap, w, dbID, collection, path, numbers); err != nil {
		return err
	}
	w.put(indexMarker(dbID, collection, path), []byte{1})
	return w.flush()
}

// sameList reports whether an entry as stored lists exactly want.
func sameList(stored []byte, want keyList) bool {
	var got keyList
	if err := db.DefaultDecode(stored, &got); err != nil || len(got) != len(want) {
		return false
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			return false
		}
	}
	return true
}

// keyList is go-threads' type of an entry's list (db/index.go): gob sends the name of
// the type it encodes, and this one's is go-threads'.
type keyList [][]byte

// batchWriter writes in transactions of at most rebuildBatch operations.
type batchWriter struct {
	store interface {
		NewTransaction(readOnly bool) (ds.Txn, error)
	}
	txn ds.Txn
	ops int
	err error
}

func (w *batchWriter) op(f func(ds.Txn) error) {
	if w.err != nil {
		return
	}
	if w.txn == nil {
		if w.txn, w.err = w.store.NewTransaction(false); w.err != nil {
			return
		}
	}
	if w.err = f(w.txn); w.err != nil {
		return
	}
	if w.ops++; w.ops >= rebuildBatch {
		w.err = w.flush()
	}
}

func (w *batchWriter) put(k ds.Key, v []byte) { w.op(func(t ds.Txn) error { return t.Put(k, v) }) }
func (w *batchWriter) delete(k ds.Key)        { w.op(func(t ds.Txn) error { return t.Delete(k) }) }

func (w *batchWriter) flush() error {
	if w.txn == nil || w.err != nil {
		if w.txn != nil {
			w.txn.Discard()
			w.txn = nil
		}
		return w.err
	}
	err := w.txn.Commit()
	w.txn, w.ops = nil, 0
	return err
}

// ForgetIndexes clears the marks of a collection's built indexes, for a change of its
// definition (NewCollection, UpdateCollection, DeleteCollection): an index it drops stops
// being kept, one it adds is not built by go-threads, and the next Find that would use
// either builds it again.
func (n *Node) ForgetIndexes(dbID thread.ID, collection string) error {
	if !collectionNameRx.MatchString(collection) {
		return nil // no collection by that name was ever made, nor marked
	}
	prefix := managerKey.String() + "/" + dbID.String() + "/hubctl/index/" + collection
	res, err := n.store.Query(query.Query{Prefix: prefix, KeysOnly: true})
	if err != nil {
		return err
	}
	entries, err := res.Rest()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := n.store.Delete(ds.RawKey(e.Key)); err != nil {
			return err
		}
	}
	return nil
}
