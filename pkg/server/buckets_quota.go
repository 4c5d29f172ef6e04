package server

// Storage per identity, the Hub's StorageUsed: the bytes of the buckets an identity owns
// (the buckets of the databases whose owner record names it), counted from the buckets'
// current roots, each root's cumulative size (one block read, cached by CID: a CID's
// size never changes). Counting from the roots instead of keeping a running total means
// the count cannot drift, and never goes below zero (textile#376: the Hub's counter,
// decremented on removes, did), whatever the writes were: a bucket set to another's
// CID, removes of more than was ever added.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// MethodStorageUsage answers the storage an identity's buckets use on the server and
// the server's limit, as JSON (StorageUsage) in a BytesValue; the request is a
// StringValue with the identity ("" for the caller's own; only operators may ask about
// another).
const MethodStorageUsage = "/hubctl.v1.Store/StorageUsage"

// errStorageQuota is the Hub's text (textile api/bucketsd ErrStorageQuotaExhausted),
// which clients match; what follows it says by how much and what to do.
const errStorageQuota = "storage quota exhausted"

// StorageUsage is an identity's storage on a server.
type StorageUsage struct {
	Identity string `json:"identity"`
	// Used is the sum of the cumulative sizes of its buckets' roots, in bytes.
	Used    int64 `json:"used"`
	Buckets int   `json:"buckets"`
	// Limit is the server's --storage-per-identity (0: none).
	Limit int64 `json:"limit"`
}

// storageAccount counts the storage of a node's identities.
type storageAccount struct {
	node   *node.Node
	owners *hubauth.Owners
	limit  int64

	mu    sync.Mutex
	sizes map[string]int64 // root CID (with a private bucket's link key) -> bytes
}

// maxCachedSizes bounds the size cache; past it, it starts again.
const maxCachedSizes = 100_000

// storageAccounts are the accounts of the nodes served in this process.
var storageAccounts sync.Map // *node.Node -> *storageAccount

// configureStorage sets the account of n (NewGRPC).
func configureStorage(n *node.Node, owners *hubauth.Owners, limit int64) {
	storageAccounts.Store(n, &storageAccount{node: n, owners: owners, limit: limit, sizes: map[string]int64{}})
}

func storageFor(n *node.Node) *storageAccount {
	a, ok := storageAccounts.Load(n)
	if !ok {
		return nil
	}
	return a.(*storageAccount)
}

// rootSize is the cumulative size of a bucket's root: its block and what its links
// say is under them. A root this node does not hold counts 0.
func (a *storageAccount) rootSize(ctx context.Context, root cid.Cid, linkKey string) (int64, error) {
	key := root.KeyString() + "\x00" + linkKey
	a.mu.Lock()
	size, ok := a.sizes[key]
	a.mu.Unlock()
	if ok {
		return size, nil
	}
	bs := a.node.DAG().BlockStore()
	blk, err := bs.Get(root)
	if err != nil {
		if errors.Is(err, ipld.ErrNotFound) || strings.Contains(err.Error(), "not found") {
			return 0, nil
		}
		return 0, fmt.Errorf("read bucket root %s: %w", root, err)
	}
	n, err := ipld.Decode(blk)
	if err != nil {
		size = int64(len(blk.RawData()))
	} else if size, err = nodeSize(n, linkKey); err != nil {
		return 0, err
	}
	a.mu.Lock()
	if len(a.sizes) >= maxCachedSizes {
		a.sizes = map[string]int64{}
	}
	a.sizes[key] = size
	a.mu.Unlock()
	return size, nil
}

// nodeSize is n's cumulative size; a private bucket's directory keeps its links in its
// ciphertext (buckets.NodeLinks reads them).
func nodeSize(n ipld.Node, linkKey string) (int64, error) {
	if linkKey != "" {
		if key, err := decodeLinkKey(linkKey); err == nil {
			if links, err := buckets.NodeLinks(n, key); err == nil {
				total := int64(len(n.RawData()))
				for _, l := range links {
					total += int64(l.Size)
				}
				return total, nil
			}
		}
	}
	size, err := n.Size()
	if err != nil {
		return int64(len(n.RawData())), nil
	}
	return int64(size), nil
}

// bucketRoots are the roots of the buckets of db, by bucket key, read from the store.
func (a *storageAccount) bucketRoots(ctx context.Context, db thread.ID, fn func(key string, root cid.Cid, linkKey string) error) error {
	opts := node.ScanOptions{}
	for {
		page, err := a.node.ScanInstances(ctx, db, buckets.CollectionName, opts)
		if errors.Is(err, node.ErrCollectionNotFound) || errors.Is(err, node.ErrDBNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, in := range page.Instances {
			var b struct {
				Path    string `json:"path"`
				LinkKey string `json:"key"`
			}
			if json.Unmarshal(in.JSON, &b) != nil {
				continue
			}
			root, err := cid.Decode(strings.TrimPrefix(b.Path, "/ipfs/"))
			if err != nil || !strings.HasPrefix(b.Path, "/ipfs/") {
				continue // counts nothing: it stores nothing
			}
			if err := fn(in.ID, root, b.LinkKey); err != nil {
				return err
			}
		}
		if !page.More {
			return nil
		}
		opts.After = page.Instances[len(page.Instances)-1].ID
	}
}

// usage is what identity's buckets use; with except set, the bucket except of db is left
// out (its size comes back as exceptSize).
func (a *storageAccount) usage(ctx context.Context, identity string, exceptDB thread.ID, except string) (u StorageUsage, exceptSize int64, err error) {
	u = StorageUsage{Identity: identity, Limit: a.limit}
	for _, rec := range a.owners.List(identity) {
		if rec.Identity != identity {
			continue
		}
		err := a.bucketRoots(ctx, rec.ThreadID, func(key string, root cid.Cid, linkKey string) error {
			size, err := a.rootSize(ctx, root, linkKey)
			if err != nil {
				return err
			}
			if rec.ThreadID == exceptDB && key == except {
				exceptSize = size
				return nil
			}
			u.Used += size
			u.Buckets++
			return nil
		})
		if err != nil {
			return u, 0, fmt.Errorf("count the buckets of db %s: %w", rec.ThreadID, err)
		}
	}
	return u, exceptSize, nil
}

// checkStorage refuses a save of bucket b with root newRoot (cid.Undef: b's path) that
// would bring the database owner's storage past the server's limit. A save that does
// not grow the bucket (a remove, a smaller overwrite) always passes, even over the limit.
func (s *bucketsService) checkStorage(ctx context.Context, c bucketCall, b *buckets.Bucket, newRoot cid.Cid) error {
	a := storageFor(s.node)
	if a == nil || a.limit <= 0 {
		return nil
	}
	if !newRoot.Defined() {
		root, err := b.Root()
		if err != nil {
			return nil // stores nothing: the save's own checks answer it
		}
		newRoot = root
	}
	owner, ok := a.owners.Get(c.db)
	if !ok || owner.Identity == "" {
		return nil // the node's own databases: no identity to count against
	}
	u, oldSize, err := a.usage(ctx, owner.Identity, c.db, b.Key)
	if err != nil {
		return status.Errorf(codes.Internal, "check storage: %v", err)
	}
	newSize, err := a.rootSize(ctx, newRoot, b.LinkKey)
	if err != nil {
		return status.Errorf(codes.Internal, "check storage: %v", err)
	}
	if newSize <= oldSize {
		return nil
	}
	if total := u.Used + newSize; total > a.limit {
		return status.Errorf(codes.ResourceExhausted, "%s: this write would bring the buckets of the database's owner to %d bytes, over the server's limit of %d (%d used now): remove files or buckets (hubctl bucket rm-path, hubctl bucket rm), or ask the operator to raise --storage-per-identity",
			errStorageQuota, total, a.limit, u.Used+oldSize)
	}
	return nil
}

// storageUsage answers MethodStorageUsage.
func (s *storeService) storageUsage(ctx context.Context, req *wrapperspb.StringValue) (*wrapperspb.BytesValue, error) {
	a := storageFor(s.node)
	if a == nil {
		return nil, status.Error(codes.Unavailable, "storage is not counted on this server")
	}
	caller, _ := hubauth.CallerFromContext(ctx)
	identity := req.GetValue()
	switch {
	case identity == "" && caller.Identity == "" && !caller.Operator:
		return nil, status.Error(codes.Unauthenticated, "a user token is required: storage is counted per identity (hubctl token get)")
	case identity == "":
		identity = caller.Identity
	case identity != caller.Identity && !caller.Operator:
		return nil, status.Error(codes.PermissionDenied, "only an operator may read another identity's storage: ask without naming one for your own")
	}
	u, _, err := a.usage(ctx, identity, thread.Undef, "")
	if err != nil {
		return nil, status.Errorf(codes.Internal, "count storage: %v", err)
	}
	data, err := json.Marshal(u)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return wrapperspb.Bytes(data), nil
}

// decodeLinkKey reads a private bucket's link key as the instance keeps it (base64).
func decodeLinkKey(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s)
}
