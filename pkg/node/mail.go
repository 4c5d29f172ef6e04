package node

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipfs/go-datastore/query"
	dse "github.com/textileio/go-datastore-extensions"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
)

// ThreadsService is go-threads' own threads API service of the node, for the calls a
// server makes in process on behalf of a caller it has already checked (the users API's
// mailbox writes to the recipient's inbox this way): no guard and no interceptor runs.
// go-threads reads the token from the context's incoming metadata, so the caller sets
// that metadata itself, and checks instance IDs itself.
func (n *Node) ThreadsService() pb.APIServer { return n.threads }

// SeekOptions say where a page of SeekInstances starts, in which order, and what bounds
// it.
type SeekOptions struct {
	// From is where the page starts, included: the first instance whose ID is From or
	// after it (before it when Descending). "" starts at the first instance (the last
	// when Descending).
	From string
	// Descending reads in descending ID order.
	Descending bool
	// Limit and MaxBytes bound the page as in ScanOptions (same defaults).
	Limit    int
	MaxBytes int
}

// SeekInstances reads one page of the instances of a collection straight from the store,
// as ScanInstances does (same checks, same callers: those who may read every instance),
// in either order, from an ID that is itself included when there is an instance with it.
// This is the order and the seek of go-threads' Find ordered by _id with SeekID, the one
// the Hub's mailbox listed with, without Find's read filters or its other limits.
func (n *Node) SeekInstances(ctx context.Context, db thread.ID, collection string, opts SeekOptions) (InstancePage, error) {
	if err := n.checkCollection(ctx, db, collection); err != nil {
		return InstancePage{}, err
	}
	if len(opts.From) > maxAfterLen {
		return InstancePage{}, fmt.Errorf("seek to an instance ID of %d bytes: IDs are at most %d", len(opts.From), maxAfterLen)
	}
	prefix := instancesPrefix(db, collection)
	q := dse.QueryExt{Query: query.Query{Prefix: strings.TrimSuffix(prefix, "/"), Orders: []query.Order{query.OrderByKey{}}}}
	switch {
	case opts.Descending:
		q.Orders = []query.Order{query.OrderByKeyDescending{}}
		// Backwards, badger's seek goes to the greatest key at or before the one given,
		// and its rewind to the prefix itself, which comes before every key under it: a
		// descending read always seeks, to the end of the prefix when there is no ID
		// (keys are UTF-8, which never holds a 0xff byte).
		q.SeekPrefix = prefix + "\xff"
		if opts.From != "" {
			q.SeekPrefix = prefix + opts.From
		}
	case opts.From != "":
		q.SeekPrefix = prefix + opts.From
	}
	return n.readPage(ctx, db, collection, prefix, q, opts.Limit, opts.MaxBytes)
}

// CountInstances counts the instances of a collection, reading keys only, with the checks
// of ScanInstances.
func (n *Node) CountInstances(ctx context.Context, db thread.ID, collection string) (int, error) {
	if err := n.checkCollection(ctx, db, collection); err != nil {
		return 0, err
	}
	prefix := instancesPrefix(db, collection)
	txn, err := n.store.NewTransactionExtended(true)
	if err != nil {
		return 0, fmt.Errorf("count %s of %s: %w", collection, db, err)
	}
	defer txn.Discard()
	res, err := txn.QueryExtended(dse.QueryExt{Query: query.Query{Prefix: strings.TrimSuffix(prefix, "/"), KeysOnly: true}})
	if err != nil {
		return 0, fmt.Errorf("count %s of %s: %w", collection, db, err)
	}
	defer res.Close()
	count := 0
	for r := range res.Next() {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if r.Error != nil {
			return 0, fmt.Errorf("count %s of %s: %w", collection, db, r.Error)
		}
		if id, ok := strings.CutPrefix(r.Key, prefix); ok && id != "" {
			count++
		}
	}
	return count, nil
}
