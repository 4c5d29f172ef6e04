package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	ds "github.com/ipfs/go-datastore"
	lstore "github.com/textileio/go-threads/core/logstore"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"

	hq "github.com/hubctl/hubctl/pkg/query"
)

// FindStats say how a Find was answered, for tests and --debug.
type FindStats struct {
	// Index is the indexed field whose entries chose the instances read ("" for a scan
	// of the whole collection).
	Index string
	// Read counts the instances read from the store.
	Read int
}

// Find answers a query on a collection of database db with ThreadDB's meaning evaluated
// correctly (pkg/query), calling emit with each result in order. It is what hubctl's
// servers answer every Find with, in place of go-threads v1.1.5's (see pkg/query).
//
//   - The caller's token is checked as go-threads checks it, and the collection's read
//     filter applies to what is sent: as in go-threads, criteria and sort see the instance
//     as stored, an instance the filter drops is not sent and does not count for skip or
//     limit, and what is sent is the filtered instance.
//   - An equality on an indexed field, or a range on an indexed field of numbers or
//     booleans, is answered from the index's entries (find_index.go); anything else scans
//     the collection here, in the store's key order, never over the network.
//   - Every instance is read from one snapshot of the store, so a Find sees each write
//     whole or not at all, and it holds no lock that writers wait for: a slow reader
//     delays nobody.
//   - Without a sort on a field, results stream: memory is one instance at a time. A
//     sort on a field keeps each match's _id and sort value, not its JSON.
func (n *Node) Find(ctx context.Context, dbID thread.ID, collection string, q *db.Query, token thread.Token, emit func(doc []byte) error) (FindStats, error) {
	return n.find(ctx, dbID, collection, q, token, true, emit)
}

// find is Find; build false never builds an index (an index not marked built is scanned
// around instead), for callers inside a go-threads read transaction, which a build
// would take again.
func (n *Node) find(ctx context.Context, dbID thread.ID, collection string, q *db.Query, token thread.Token, build bool, emit func(doc []byte) error) (FindStats, error) {
	var stats FindStats
	c, err := n.collection(ctx, dbID, collection, token)
	if err != nil {
		return stats, err
	}
	if err := hq.Check(q); err != nil {
		return stats, fmt.Errorf("%w%s", errInvalidQuery, trimInvalid(err.Error()))
	}
	reader, err := token.PubKey()
	if err != nil {
		return stats, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	filtered := len(c.GetReadFilter()) > 0
	// out sends an instance: raw may be the store's own bytes, valid only for the call.
	out := func(raw []byte) (bool, error) {
		if !filtered {
			return true, emit(bytes.Clone(raw))
		}
		doc, err := c.FilterRead(reader, raw)
		if err != nil {
			return false, fmt.Errorf("read filter of %s: %w", collection, err)
		}
		if doc == nil {
			return false, nil
		}
		return true, emit(doc)
	}

	// The index is made ready (built, if need be) before the snapshot is taken, so the
	// snapshot holds the built entries.
	path, crit := planIndex(q, c.GetIndexes())
	useIndex := crit != nil && n.indexReady(ctx, c, dbID, collection, path, build)
	snap, err := n.snapshot()
	if err != nil {
		return stats, fmt.Errorf("find in %s of %s: %w", collection, dbID, err)
	}
	defer snap.discard()
	src := source{snap: snap, prefix: instancesPrefix(dbID, collection), seek: string(q.Seek)}
	if useIndex {
		ids, err := indexCandidates(snap, dbID, collection, path, crit)
		switch {
		case err == nil:
			src.ids, stats.Index = ids, path
		case errors.Is(err, errScanCheaper):
		default:
			// Entries that cannot be read are scanned around: they only ever narrow
			// what is read, so the answer is the same.
			findLog.Warnf("index %s of %s in %s unreadable (the query scans): %v", path, collection, dbID, err)
		}
	}

	if hq.SortsByID(q) {
		// Stream: the store's order is the answer's.
		skipped, sent := 0, 0
		err := src.each(ctx, q.Sort.Desc, func(id string, raw []byte) (bool, error) {
			stats.Read++
			if hq.Filtered(q) && !hq.Match(q, raw) {
				return true, nil
			}
			if skipped < q.Skip {
				// Skipped instances count only when the filter would send them.
				if !filtered {
					skipped++
					return true, nil
				}
				doc, err := c.FilterRead(reader, raw)
				if err != nil {
					return false, fmt.Errorf("read filter of %s: %w", collection, err)
				}
				if doc != nil {
					skipped++
				}
				return true, nil
			}
			counted, err := out(raw)
			if err != nil {
				return false, err
			}
			if counted {
				sent++
			}
			return q.Limit <= 0 || sent < q.Limit, nil
		})
		return stats, err
	}

	// A sort on a field needs every match first: its _id and sort key only.
	type match struct {
		id  string
		key hq.SortKey
	}
	var matches []match
	err = src.each(ctx, false, func(id string, raw []byte) (bool, error) {
		stats.Read++
		if hq.Filtered(q) && !hq.Match(q, raw) {
			return true, nil
		}
		matches = append(matches, match{id: id, key: hq.KeyOf(raw, q.Sort.FieldPath)})
		return true, nil
	})
	if err != nil {
		return stats, err
	}
	sort.SliceStable(matches, func(i, j int) bool { return hq.Less(matches[i].key, matches[j].key, q.Sort.Desc) })
	skipped, sent := 0, 0
	for _, m := range matches {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		raw, err := snap.get(src.prefix + m.id)
		if err != nil {
			return stats, fmt.Errorf("find in %s of %s: read %s: %w", collection, dbID, m.id, err)
		}
		if skipped < q.Skip {
			if filtered {
				doc, err := c.FilterRead(reader, raw)
				if err != nil {
					return stats, fmt.Errorf("read filter of %s: %w", collection, err)
				}
				if doc == nil {
					continue
				}
			}
			skipped++
			continue
		}
		counted, err := out(raw)
		if err != nil {
			return stats, err
		}
		if counted {
			sent++
		}
		if q.Limit > 0 && sent >= q.Limit {
			break
		}
	}
	return stats, nil
}

// ErrBadToken is a token go-threads cannot read an identity from.
var ErrBadToken = errors.New("invalid token")

// collection finds a collection of database db as go-threads' API does for a caller with
// token (the manager checks the token against the thread), after the checks
// ScanInstances makes of the names.
func (n *Node) collection(ctx context.Context, dbID thread.ID, collection string, token thread.Token) (*db.Collection, error) {
	if !collectionNameRx.MatchString(collection) {
		return nil, ErrCollectionNotFound // go-threads has none by that name
	}
	if err := dbID.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDBNotFound, err)
	}
	if _, broken := n.BrokenDB(dbID); broken {
		return nil, ErrDBNotFound
	}
	d, err := n.threads.Manager().GetDB(ctx, dbID, db.WithManagedToken(token))
	if errors.Is(err, lstore.ErrThreadNotFound) || errors.Is(err, db.ErrDBNotFound) {
		return nil, ErrDBNotFound
	}
	if err != nil {
		return nil, err
	}
	c := d.GetCollection(collection)
	if c == nil {
		return nil, ErrCollectionNotFound
	}
	return c, nil
}

// source reads a collection's instances in _id order from one snapshot: all of them, or
// only ids (the candidates an index chose, sorted), from seek on.
type source struct {
	snap   snapshot
	prefix string
	seek   string
	ids    []string // nil: every instance
}

// each calls fn with each instance, ascending or descending, until fn says stop; raw is
// valid only until fn returns.
func (s source) each(ctx context.Context, desc bool, fn func(id string, raw []byte) (bool, error)) error {
	if s.ids != nil {
		ids := s.ids
		if s.seek != "" {
			ids = ids[sort.SearchStrings(ids, s.seek):]
		}
		for i := range ids {
			id := ids[i]
			if desc {
				id = ids[len(ids)-1-i]
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			raw, err := s.snap.get(s.prefix + id)
			if errors.Is(err, ds.ErrNotFound) {
				continue // an entry left by a removed instance
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", id, err)
			}
			if more, err := fn(id, raw); err != nil || !more {
				return err
			}
		}
		return nil
	}
	seek := s.seek
	if desc {
		seek = ""
	}
	err := s.snap.each(s.prefix, seek, desc, false, func(key, value []byte) (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		id := string(key[len(s.prefix):])
		if id == "" || strings.Contains(id, "/") {
			return true, nil
		}
		if s.seek != "" && id < s.seek {
			// Ascending, the seek already passed these; descending, every later key is
			// smaller still.
			return !desc, nil
		}
		return fn(id, value)
	})
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	return nil
}
