package testnode

import (
	"errors"
	"fmt"

	ds "github.com/ipfs/go-datastore"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/util"
)

// Damage writes into a closed node's store, in nodeDir, what hubctl at 654c7ed let one
// instance save do (`{"_id":"../../schema/COLLECTION"}`): an instance over the
// collection's schema, so that go-threads can no longer load the database. Tests of the
// repair use it; nothing else should.
func Damage(nodeDir string, db thread.ID, collection string) (err error) {
	store, err := util.NewBadgerDatastore(nodeDir, "eventstore", false)
	if err != nil {
		return fmt.Errorf("open the event store: %w", err)
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	key := ds.NewKey("/manager").ChildString(db.String()).ChildString("db/collection").ChildString(collection).ChildString("../../schema/" + collection)
	return store.Put(key, []byte(`{"_id":"../../schema/`+collection+`","name":"pwn"}`))
}
