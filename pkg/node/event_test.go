package node

import (
	"context"
	"sync"
	"testing"

	cbornode "github.com/ipfs/go-ipld-cbor"
	mdtest "github.com/ipfs/go-merkledag/test"
	mh "github.com/multiformats/go-multihash"
	sym "github.com/textileio/crypto/symmetric"
	"github.com/textileio/go-threads/cbor"
)

// TestOneEventLoadsSafelyFromManyGoroutines: go-threads loads an event's header and body
// on first use and keeps them in the *cbor.Event. One Event reaches several goroutines
// when two pushes of a peer's records meet over one block (bitswap hands every waiting
// session the object that was added, and format.Decode returns a block that is already a
// Node as it is), and both then load it: under -race this fails without
// third_party/go-threads.patch's lock in cbor/event.go, as CI once did in
// TestPeerRecordsCannotLeaveTheirCollection.
func TestOneEventLoadsSafelyFromManyGoroutines(t *testing.T) {
	ctx := context.Background()
	dag := mdtest.Mock()
	readKey, err := sym.NewRandom()
	if err != nil {
		t.Fatal(err)
	}
	body, err := cbornode.WrapObject(map[string]string{"name": "a"}, mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	created, err := cbor.CreateEvent(ctx, dag, body, readKey)
	if err != nil {
		t.Fatal(err)
	}
	// As a peer's record arrives: the event block alone, header and body not yet loaded.
	event, err := cbor.EventFromNode(created.(*cbor.Event).Node)
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := event.GetHeader(ctx, dag, nil)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			got, err := event.GetBody(ctx, dag, readKey)
			if err == nil && !got.Cid().Equals(body.Cid()) {
				t.Errorf("body %s, want %s", got.Cid(), body.Cid())
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
