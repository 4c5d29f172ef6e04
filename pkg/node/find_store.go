package node

import (
	"errors"
	"strings"

	dgbadger "github.com/dgraph-io/badger"
	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	dse "github.com/textileio/go-datastore-extensions"
	badger "github.com/textileio/go-ds-badger"
)

// snapshot is one consistent read of the event store for Find: the instances and index
// entries it reads are those of one moment.
//
// On the node's own store (go-ds-badger) it is a badger read transaction used directly:
// go-datastore's query hands over each entry through a channel, which cost Find more
// than the rest of a scan together (100,000 instances: 213 ms a find through it), and
// reads values even for a walk of keys alone. Any other store is read through
// go-datastore.
type snapshot interface {
	// get reads one value; a missing key is ds.ErrNotFound.
	get(key string) ([]byte, error)
	// each calls fn with each key under prefix (which ends with "/") from seek on (""
	// from the first; with reverse, from the last), with its value unless keysOnly,
	// until fn says stop. The key and value are valid only until fn returns.
	each(prefix, seek string, reverse, keysOnly bool, fn func(key, value []byte) (bool, error)) error
	discard()
}

func (n *Node) snapshot() (snapshot, error) {
	if b, ok := n.store.(*badger.Datastore); ok && b.DB != nil {
		return &badgerSnapshot{txn: b.DB.NewTransaction(false)}, nil
	}
	txn, err := n.store.NewTransactionExtended(true)
	if err != nil {
		return nil, err
	}
	return &dsSnapshot{txn: txn}, nil
}

type badgerSnapshot struct{ txn *dgbadger.Txn }

func (s *badgerSnapshot) get(key string) ([]byte, error) {
	item, err := s.txn.Get([]byte(key))
	if errors.Is(err, dgbadger.ErrKeyNotFound) {
		return nil, ds.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func (s *badgerSnapshot) each(prefix, seek string, reverse, keysOnly bool, fn func(key, value []byte) (bool, error)) error {
	opts := dgbadger.DefaultIteratorOptions
	// No prefetching: badger prefetches each value in a goroutine of its own, which cost
	// more than the read (instances of 200 bytes live in the value log); most values
	// are read once, to be matched.
	opts.PrefetchValues = false
	opts.Reverse = reverse
	opts.Prefix = []byte(prefix)
	it := s.txn.NewIterator(opts)
	defer it.Close()
	start := prefix + seek
	if reverse {
		// Backwards, badger seeks to the greatest key at or before the one given: past
		// every key under the prefix (keys are UTF-8, which never holds a 0xff byte).
		start = prefix + "\xff"
	}
	p := []byte(prefix)
	for it.Seek([]byte(start)); it.ValidForPrefix(p); it.Next() {
		item := it.Item()
		key := item.Key()
		more := true
		var err error
		if keysOnly {
			more, err = fn(key, nil)
		} else {
			// The value as badger holds it, valid until the callback returns: most are
			// read only to be matched, and fn copies what it keeps.
			err = item.Value(func(v []byte) error {
				var ferr error
				more, ferr = fn(key, v)
				return ferr
			})
		}
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (s *badgerSnapshot) discard() { s.txn.Discard() }

type dsSnapshot struct{ txn dse.TxnExt }

func (s *dsSnapshot) get(key string) ([]byte, error) { return s.txn.Get(ds.RawKey(key)) }

func (s *dsSnapshot) each(prefix, seek string, reverse, keysOnly bool, fn func(key, value []byte) (bool, error)) error {
	order := query.Order(query.OrderByKey{})
	if reverse {
		order = query.OrderByKeyDescending{}
	}
	q := dse.QueryExt{Query: query.Query{Prefix: strings.TrimSuffix(prefix, "/"), Orders: []query.Order{order}, KeysOnly: keysOnly}}
	switch {
	case reverse:
		q.SeekPrefix = prefix + "\xff"
	case seek != "":
		q.SeekPrefix = prefix + seek
	}
	res, err := s.txn.QueryExtended(q)
	if err != nil {
		return err
	}
	defer res.Close()
	for r := range res.Next() {
		if r.Error != nil {
			return r.Error
		}
		if !strings.HasPrefix(r.Key, prefix) {
			continue
		}
		if more, err := fn([]byte(r.Key), r.Value); err != nil || !more {
			return err
		}
	}
	return nil
}

func (s *dsSnapshot) discard() { s.txn.Discard() }
