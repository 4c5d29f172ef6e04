package node

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	dse "github.com/textileio/go-datastore-extensions"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/instanceid"
)

// RawInstance is one instance as go-threads stores it: its ID and its JSON, read from the
// store itself, so no read filter has seen it.
type RawInstance struct {
	ID   string
	JSON []byte
}

// ScanOptions say where a page of ScanInstances starts and what bounds it.
type ScanOptions struct {
	// After resumes the scan after this instance ID ("": from the first instance).
	After string
	// Limit bounds the instances of a page (DefaultScanLimit when 0 or less).
	Limit int
	// MaxBytes bounds the total size of their JSON (DefaultScanBytes when 0 or less). The
	// first instance of a page is returned whatever its size, so a scan always moves on.
	MaxBytes int
}

// Defaults of ScanOptions.
const (
	DefaultScanLimit = 1000
	DefaultScanBytes = 4 << 20
)

// InstancePage is one page of a scan, in instance ID order (the store's key order).
type InstancePage struct {
	Instances []RawInstance
	// More says the page ended at a bound: the next page (After the last ID) may hold
	// more. A page that ended with the collection has More false.
	More bool
}

// Errors of ScanInstances, for callers that answer them in their own words.
var (
	// ErrInvalidCollection is a collection name go-threads would never have made.
	ErrInvalidCollection = errors.New("invalid collection name")
	// ErrCollectionNotFound is a name that is no collection of that database.
	ErrCollectionNotFound = errors.New("collection not found")
	// ErrDBNotFound is a database the node does not serve (absent, or broken: BrokenDB).
	ErrDBNotFound = errors.New("db not found")
)

// collectionNameRx is go-threads v1.1.5's rule for collection names (db/db.go nameRx):
// no slash and no dot, so a name that passes is one key segment, whatever ChildString
// would have made of it.
var collectionNameRx = regexp.MustCompile(`^[A-Za-z0-9]+(?:[-][A-Za-z0-9]+)*$`)

// maxAfterLen bounds ScanOptions.After: longer than any key segment the store holds.
const maxAfterLen = 4 << 10

// ScanInstances reads one page of the instances of a collection of database db straight
// from the store, as go-threads keeps them (under /manager/<db>/db/collection/<name>/<id>,
// layout of go-threads v1.1.5, pinned in go.mod), before any read filter: it is for
// callers that may read every instance (a database's owner, an operator), and the caller
// checks that. Pages come in key order and each is read in one read-only transaction;
// a scan of several pages sees writes made between them as paging through Find does.
//
// The collection must be one of db's, by go-threads' own list, before any key is built:
// the key is then made by plain concatenation of checked parts, never by ds.Key's
// ChildString, which would clean a name such as "x/../../<other thread>" into another
// thread's keys.
func (n *Node) ScanInstances(ctx context.Context, db thread.ID, collection string, opts ScanOptions) (InstancePage, error) {
	if err := n.checkCollection(ctx, db, collection); err != nil {
		return InstancePage{}, err
	}
	if len(opts.After) > maxAfterLen {
		return InstancePage{}, fmt.Errorf("resume after an instance ID of %d bytes: IDs are at most %d", len(opts.After), maxAfterLen)
	}
	prefix := instancesPrefix(db, collection)
	q := dse.QueryExt{Query: query.Query{Prefix: strings.TrimSuffix(prefix, "/"), Orders: []query.Order{query.OrderByKey{}}}}
	if opts.After != "" {
		// The smallest key after prefix+After: the scan resumes past it, never at it.
		q.SeekPrefix = prefix + opts.After + "\x00"
	}
	return n.readPage(ctx, db, collection, prefix, q, opts.Limit, opts.MaxBytes)
}

// ErrInstanceNotFound is an ID with no instance in the collection (ReadInstance).
var ErrInstanceNotFound = errors.New("instance not found")

// ReadInstance reads one instance of a collection of database db straight from the
// store, before any read filter, for the callers ScanInstances is for. The ID must pass
// the instanceid rule (one key segment): the key is then go-threads' own key for it.
func (n *Node) ReadInstance(ctx context.Context, db thread.ID, collection, id string) ([]byte, error) {
	if err := instanceid.Check(id); err != nil {
		return nil, err
	}
	if err := n.checkCollection(ctx, db, collection); err != nil {
		return nil, err
	}
	txn, err := n.store.NewTransactionExtended(true)
	if err != nil {
		return nil, fmt.Errorf("read %s/%s of %s: %w", collection, id, db, err)
	}
	defer txn.Discard()
	data, err := txn.Get(ds.RawKey(instancesPrefix(db, collection) + id))
	if errors.Is(err, ds.ErrNotFound) {
		return nil, ErrInstanceNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read %s/%s of %s: %w", collection, id, db, err)
	}
	return data, nil
}

// readPage reads one page of the instances under prefix (a collection's, checked by the
// caller) with q, in one read-only transaction: at most limit instances and, past the
// first, maxBytes of them (DefaultScanLimit and DefaultScanBytes when 0); More says a
// next page may follow. Shared by ScanInstances and SeekInstances, which differ only in q.
func (n *Node) readPage(ctx context.Context, db thread.ID, collection, prefix string, q dse.QueryExt, limit, maxBytes int) (InstancePage, error) {
	if limit <= 0 {
		limit = DefaultScanLimit
	}
	if maxBytes <= 0 {
		maxBytes = DefaultScanBytes
	}
	txn, err := n.store.NewTransactionExtended(true)
	if err != nil {
		return InstancePage{}, fmt.Errorf("scan %s of %s: %w", collection, db, err)
	}
	defer txn.Discard()
	res, err := txn.QueryExtended(q)
	if err != nil {
		return InstancePage{}, fmt.Errorf("scan %s of %s: %w", collection, db, err)
	}
	defer res.Close()
	var page InstancePage
	size := 0
	for r := range res.Next() {
		if err := ctx.Err(); err != nil {
			return InstancePage{}, err
		}
		if r.Error != nil {
			return InstancePage{}, fmt.Errorf("scan %s of %s: %w", collection, db, r.Error)
		}
		id, ok := strings.CutPrefix(r.Key, prefix)
		if !ok || id == "" {
			continue // the store's prefix match is its own; this is the one that counts
		}
		if len(page.Instances) > 0 && size+len(r.Value) > maxBytes {
			page.More = true // this one starts the next page
			return page, nil
		}
		page.Instances = append(page.Instances, RawInstance{ID: id, JSON: r.Value})
		size += len(r.Value)
		if len(page.Instances) >= limit {
			page.More = true
			return page, nil
		}
	}
	return page, ctx.Err()
}

// instancesPrefix is the store key prefix of a collection's instances, with its final
// slash: go-threads' /manager/<db> database prefix, then db/collection/<name>.
func instancesPrefix(db thread.ID, collection string) string {
	return managerKey.String() + "/" + db.String() + "/db/collection/" + collection + "/"
}

// checkCollection refuses a name go-threads' rule refuses, a database the node does not
// serve, and a name that is none of its collections.
func (n *Node) checkCollection(ctx context.Context, db thread.ID, collection string) error {
	if !collectionNameRx.MatchString(collection) {
		return fmt.Errorf("%w %q: names are letters, digits and single hyphens", ErrInvalidCollection, collection)
	}
	if err := db.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrDBNotFound, err)
	}
	if _, broken := n.BrokenDB(db); broken {
		return ErrDBNotFound
	}
	// go-threads' own API, without the caller's headers: the caller has been checked,
	// and its token has nothing to say about which collections exist.
	clean := metadata.NewIncomingContext(ctx, metadata.MD{})
	_, err := n.threads.GetCollectionInfo(clean, &pb.GetCollectionInfoRequest{DbID: db.Bytes(), Name: collection})
	switch {
	case err == nil:
		return nil
	case status.Code(err) == codes.NotFound && strings.Contains(err.Error(), "collection not found"):
		return ErrCollectionNotFound
	case status.Code(err) == codes.NotFound:
		return ErrDBNotFound
	}
	return fmt.Errorf("look up collection %s of %s: %w", collection, db, err)
}
