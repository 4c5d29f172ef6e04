package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"sync"

	ipld "github.com/ipfs/go-ipld-format"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/gateway"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// newGatewayServer is the daemon's gateway (--gateway-addr): buckets' content over HTTP,
// /ipfs/ paths read from the node's local blockstore (node.LocalDAG, never the network)
// and buckets' own trees also from peers (a fetchDAG per request), with the
// timeouts of the other listeners: headers within the handshake time, connections idle
// for the idle timeout closed, and a response that its client has not read from for
// that long cut off. A user token opens private buckets as guard's GatewayIdentity
// accepts it (nil: none is accepted).
func newGatewayServer(n *node.Node, guard *hubauth.Guard, limits Limits, debugf func(string, ...any), debug bool) (*http.Server, *gateway.Handler) {
	var identify func(string) (string, bool)
	if guard != nil {
		identify = guard.GatewayIdentity
	}
	h := gateway.New(gateway.Options{
		Store:      &gatewayStore{node: n},
		Identify:   identify,
		DAG:        n.LocalDAG(),
		BucketDAG:  func() ipld.DAGService { return newFetchDAG(n) },
		WriteStall: limits.IdleTimeout,
		Logf:       debugf,
	})
	var errorLog *log.Logger
	if debug {
		errorLog = log.Default()
	}
	return gateway.NewServer(h, handshakeTimeout, limits.IdleTimeout, errorLog), h
}

// gatewayStore reads bucket instances for the gateway straight from the store
// (node.SeekInstances), not through go-threads' Find: the Hub's read filter drops a
// private bucket's link key for a reader without a role, so that a private bucket read
// without a token would look public. The gateway sees the whole instance, its keys and
// metadata, and decides; nothing here logs an instance (errors name the bucket only).
type gatewayStore struct {
	node *node.Node

	// scan serialises the searches of /ipns/ for a key not seen yet: one looks in every
	// database, so a flood of unknown keys costs one search at a time.
	scan sync.Mutex
	// where remembers which database holds a key (bounded: cleared when full).
	mu    sync.Mutex
	where map[string]thread.ID
}

// maxGatewayKeys bounds gatewayStore.where.
const maxGatewayKeys = 10000

func (s *gatewayStore) Bucket(ctx context.Context, db thread.ID, key string) (gateway.Bucket, error) {
	if buckets.CheckKey(key) != nil {
		return gateway.Bucket{}, gateway.ErrNotFound
	}
	page, err := s.node.SeekInstances(ctx, db, buckets.CollectionName, node.SeekOptions{From: key, Limit: 1})
	switch {
	case errors.Is(err, node.ErrDBNotFound), errors.Is(err, node.ErrCollectionNotFound):
		return gateway.Bucket{}, gateway.ErrNotFound
	case err != nil:
		return gateway.Bucket{}, err
	case len(page.Instances) == 0 || page.Instances[0].ID != key:
		return gateway.Bucket{}, gateway.ErrNotFound
	}
	var b buckets.Bucket
	if err := json.Unmarshal(page.Instances[0].JSON, &b); err != nil {
		return gateway.Bucket{}, fmt.Errorf("bucket %s of %s: %v", key, db, err)
	}
	root, err := b.Root()
	if err != nil {
		return gateway.Bucket{}, fmt.Errorf("bucket of %s: %v", db, err)
	}
	return gateway.Bucket{DB: db, Key: key, Name: b.Name, Root: root, Private: b.IsPrivate(), Instance: &b}, nil
}

func (s *gatewayStore) BucketByKey(ctx context.Context, key string) (gateway.Bucket, error) {
	if buckets.CheckKey(key) != nil {
		return gateway.Bucket{}, gateway.ErrNotFound
	}
	if b, ok, err := s.cached(ctx, key); ok {
		return b, err
	}
	s.scan.Lock()
	defer s.scan.Unlock()
	// Another request may have found it meanwhile.
	if b, ok, err := s.cached(ctx, key); ok {
		return b, err
	}
	dbs, err := s.node.ListDBs(ctx)
	if err != nil {
		return gateway.Bucket{}, err
	}
	for _, d := range dbs {
		b, err := s.Bucket(ctx, d.ID, key)
		if errors.Is(err, gateway.ErrNotFound) {
			continue
		}
		if err != nil {
			return gateway.Bucket{}, err
		}
		s.mu.Lock()
		if s.where == nil || len(s.where) >= maxGatewayKeys {
			s.where = map[string]thread.ID{}
		}
		s.where[key] = d.ID
		s.mu.Unlock()
		return b, nil
	}
	return gateway.Bucket{}, gateway.ErrNotFound
}

// cached answers key from the database it was last found in, when it is still there.
func (s *gatewayStore) cached(ctx context.Context, key string) (gateway.Bucket, bool, error) {
	s.mu.Lock()
	db, ok := s.where[key]
	s.mu.Unlock()
	if !ok {
		return gateway.Bucket{}, false, nil
	}
	b, err := s.Bucket(ctx, db, key)
	if errors.Is(err, gateway.ErrNotFound) {
		s.mu.Lock()
		delete(s.where, key)
		s.mu.Unlock()
		return gateway.Bucket{}, false, nil
	}
	return b, true, err
}
