package hubauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/atomicfile"
)

// Owner records which identity owns a thread: the verified subject of the user token that
// created or joined it, as the Hub recorded it.
type Owner struct {
	ThreadID thread.ID `json:"-"`
	// Identity is the owner's public key in its string form (a token's subject).
	Identity string `json:"identity"`
	// Name is the DB's name at creation, for the users API.
	Name    string    `json:"name,omitempty"`
	DB      bool      `json:"db"`
	Created time.Time `json:"created"`
	// Key is the API key of the call that created or joined it (none without key checks,
	// and in records written before keys were recorded), for the quota per key.
	Key string `json:"key,omitempty"`
}

// Owners is the owner record store: one small JSON file per thread in a directory, written
// durably (fsync and rename) before the call that creates the thread is answered, and held
// in memory for lookups, which happen on every request. Only the process holding the node's
// directory lock writes it.
type Owners struct {
	dir string

	mu      sync.RWMutex
	records map[thread.ID]Owner
	// stripes serialise the creation and deletion of one thread ID without a lock per
	// thread ever seen.
	stripes [64]sync.Mutex
}

// OpenOwners loads the owner records in dir, creating it (0700) if needed.
func OpenOwners(dir string) (*Owners, error) {
	if err := atomicfile.MkdirPrivate(dir); err != nil {
		return nil, fmt.Errorf("owner records: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("owner records: %w", err)
	}
	o := &Owners{dir: dir, records: map[thread.ID]Owner{}}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue // atomicfile's temporary files start with a dot
		}
		id, err := thread.Decode(name)
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("owner records: %w", err)
		}
		var rec Owner
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("owner record %s: %w", filepath.Join(dir, e.Name()), err)
		}
		rec.ThreadID = id
		o.records[id] = rec
	}
	return o, nil
}

// Get returns the owner record of id.
func (o *Owners) Get(id thread.ID) (Owner, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	rec, ok := o.records[id]
	return rec, ok
}

// Owns reports whether identity owns id.
func (o *Owners) Owns(identity string, id thread.ID) bool {
	rec, ok := o.Get(id)
	return ok && identity != "" && rec.Identity == identity
}

// List returns the records of identity's threads (all records when identity is empty),
// sorted by name, then ID.
func (o *Owners) List(identity string) []Owner {
	o.mu.RLock()
	var out []Owner
	for _, rec := range o.records {
		if identity == "" || rec.Identity == identity {
			out = append(out, rec)
		}
	}
	o.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ThreadID.String() < out[j].ThreadID.String()
	})
	return out
}

// lockID serialises work on one thread ID (creating it, deleting it) and returns the unlock.
func (o *Owners) lockID(id thread.ID) func() {
	h := fnv.New32a()
	h.Write(id.Bytes())
	m := &o.stripes[h.Sum32()%uint32(len(o.stripes))]
	m.Lock()
	return m.Unlock
}

// Put records rec durably, replacing any record of the same thread.
func (o *Owners) Put(rec Owner) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(o.path(rec.ThreadID), data, 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("record owner of %s: %w", rec.ThreadID, err)
	}
	o.mu.Lock()
	o.records[rec.ThreadID] = rec
	o.mu.Unlock()
	return nil
}

// Delete removes id's record, if any.
func (o *Owners) Delete(id thread.ID) error {
	err := os.Remove(o.path(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove owner record of %s: %w", id, err)
	}
	o.mu.Lock()
	delete(o.records, id)
	o.mu.Unlock()
	return nil
}

func (o *Owners) path(id thread.ID) string { return filepath.Join(o.dir, id.String()+".json") }
