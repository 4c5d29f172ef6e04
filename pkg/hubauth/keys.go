package hubauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"
	mbase "github.com/multiformats/go-multibase"

	"github.com/hubctl/hubctl/pkg/atomicfile"
	"github.com/hubctl/hubctl/pkg/filemode"
)

// KeyType is the kind of an API key, numbered as the Hub numbers them.
type KeyType int

// The Hub's key types: account (0) and user group (1).
const (
	AccountKey KeyType = 0
	UserKey    KeyType = 1
)

// Errors callers match with errors.Is.
var (
	// ErrKeyNotFound: the key is not in the registry. Errors wrapping it name the key (keys
	// are not secret; secrets are, and no error names one).
	ErrKeyNotFound = errors.New("API key not found")
	// ErrInvalidKeyType: a key type other than account or user.
	ErrInvalidKeyType = errors.New("invalid key type")
)

const (
	keysFile    = "keys.json"
	lockFile    = "keys.lock"
	fileVersion = 1
	keyBytes    = 16 // the Hub's key length before encoding
	secretBytes = 24 // the Hub's secret length before encoding

	// pollInterval is how often a Keyring looks at the file.
	pollInterval = 250 * time.Millisecond
)

// String is the type's name: "account" or "user".
func (t KeyType) String() string {
	switch t {
	case AccountKey:
		return "account"
	case UserKey:
		return "user"
	default:
		return "KeyType(" + strconv.Itoa(int(t)) + ")"
	}
}

// ParseKeyType reads "account" or "user" (in any case).
func ParseKeyType(s string) (KeyType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "account":
		return AccountKey, nil
	case "user":
		return UserKey, nil
	}
	return 0, fmt.Errorf("%w %q: use account or user", ErrInvalidKeyType, s)
}

// MarshalJSON writes the type as its name.
func (t KeyType) MarshalJSON() ([]byte, error) {
	if t != AccountKey && t != UserKey {
		return nil, fmt.Errorf("%w %d", ErrInvalidKeyType, int(t))
	}
	return json.Marshal(t.String())
}

// UnmarshalJSON reads the type's name; the Hub's numbers (0, 1) are accepted too.
func (t *KeyType) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		var n int
		if json.Unmarshal(data, &n) != nil || (KeyType(n) != AccountKey && KeyType(n) != UserKey) {
			return fmt.Errorf("%w %s: use account or user", ErrInvalidKeyType, data)
		}
		*t = KeyType(n)
		return nil
	}
	v, err := ParseKeyType(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Key is an API key as the registry stores it.
type Key struct {
	Key     string     `json:"key"`
	Secret  string     `json:"secret"`
	Name    string     `json:"name,omitempty"` // a label for people; never checked
	Type    KeyType    `json:"type"`
	Secure  bool       `json:"secure"` // requests must be signed with the secret
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// Valid reports whether the key may be used: it has not been revoked.
func (k Key) Valid() bool { return k.Revoked == nil }

// CreateOptions describe a new key.
type CreateOptions struct {
	Type   KeyType
	Secure bool
	Name   string
}

// keyNotFoundError names the key that is missing and matches ErrKeyNotFound.
type keyNotFoundError struct{ key string }

func (e *keyNotFoundError) Error() string {
	if e.key == "" {
		return "API key not found: the key is empty"
	}
	return fmt.Sprintf("API key %s not found", e.key)
}

func (e *keyNotFoundError) Is(target error) bool { return target == ErrKeyNotFound }

// fileData is the JSON form of keys.json.
type fileData struct {
	Version int   `json:"version"`
	Keys    []Key `json:"keys"`
}

// Registry is the API key registry in a data directory: the file DATA-DIR/keys.json, mode
// 0600, written atomically. Changes are serialised across processes by a lock on
// DATA-DIR/keys.lock, so concurrent creates never lose a key. A Registry holds no open
// files; it is cheap to make and safe for concurrent use.
type Registry struct {
	dir string
}

// OpenRegistry returns the registry in dataDir. Nothing is read or created until it is used.
func OpenRegistry(dataDir string) *Registry { return &Registry{dir: dataDir} }

// Path is the registry's file.
func (r *Registry) Path() string { return filepath.Join(r.dir, keysFile) }

// Create makes a key in the Hub's format and adds it to the registry.
func (r *Registry) Create(opts CreateOptions) (Key, error) {
	if opts.Type != AccountKey && opts.Type != UserKey {
		return Key{}, fmt.Errorf("%w %d: use account or user", ErrInvalidKeyType, int(opts.Type))
	}
	key, err := randomMultibase(keyBytes)
	if err != nil {
		return Key{}, err
	}
	secret, err := randomMultibase(secretBytes)
	if err != nil {
		return Key{}, err
	}
	k := Key{
		Key:     key,
		Secret:  secret,
		Name:    opts.Name,
		Type:    opts.Type,
		Secure:  opts.Secure,
		Created: now(),
	}
	if err := atomicfile.MkdirPrivate(r.dir); err != nil {
		return Key{}, fmt.Errorf("create API key: %w", err)
	}
	err = r.update(func(keys []Key) ([]Key, bool, error) {
		return append(keys, k), true, nil
	})
	if err != nil {
		return Key{}, fmt.Errorf("create API key: %w", err)
	}
	return k, nil
}

// List returns every key, revoked ones included, in creation order. A registry that does
// not exist yet is empty.
func (r *Registry) List() ([]Key, error) {
	keys, _, err := r.read()
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// Revoke marks key revoked and returns it. Revoking a revoked key changes nothing and is
// not an error: the first revocation time is kept. An unknown key is an error wrapping
// ErrKeyNotFound that names the key.
func (r *Registry) Revoke(key string) (Key, error) {
	// A registry that does not exist holds no key: say so without creating the directory.
	if _, err := os.Stat(r.dir); errors.Is(err, fs.ErrNotExist) {
		return Key{}, &keyNotFoundError{key: key}
	}
	var out Key
	err := r.update(func(keys []Key) ([]Key, bool, error) {
		i := indexOf(keys, key)
		if i < 0 {
			return nil, false, notFound(keys, key)
		}
		if keys[i].Revoked != nil {
			out = keys[i]
			return keys, false, nil
		}
		t := now()
		keys[i].Revoked = &t
		out = keys[i]
		return keys, true, nil
	})
	if err != nil {
		if errors.Is(err, ErrKeyNotFound) {
			return Key{}, err
		}
		return Key{}, fmt.Errorf("revoke API key %s: %w", key, err)
	}
	return out, nil
}

// notFound is the error for a key that is not in keys. Someone who passes a secret where a
// key belongs is told so, without the secret being repeated.
func notFound(keys []Key, key string) error {
	for _, k := range keys {
		if key != "" && k.Secret == key {
			return fmt.Errorf("%w: the argument is the secret of API key %s, not a key", ErrKeyNotFound, k.Key)
		}
	}
	return &keyNotFoundError{key: key}
}

func indexOf(keys []Key, key string) int {
	for i, k := range keys {
		if k.Key == key {
			return i
		}
	}
	return -1
}

// update runs a read-modify-write of the file under the registry's lock. change returns
// the new keys and whether to write them.
func (r *Registry) update(change func([]Key) ([]Key, bool, error)) error {
	lock := flock.New(filepath.Join(r.dir, lockFile), flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()
	keys, _, err := r.read()
	if err != nil {
		return err
	}
	keys, write, err := change(keys)
	if err != nil || !write {
		return err
	}
	data, err := json.MarshalIndent(fileData{Version: fileVersion, Keys: keys}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(r.Path(), append(data, '\n'), 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("write %s: %w", r.Path(), err)
	}
	return nil
}

// read loads and checks the file; a missing file is an empty registry. It also returns
// the secrets decoded, in the same order.
func (r *Registry) read() ([]Key, [][]byte, error) {
	keys, secrets, err := readKeys(r.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return []Key{}, nil, nil
	}
	return keys, secrets, err
}

// maxKeysFile bounds keys.json: about 250,000 keys, where a registry holds a few.
const maxKeysFile = 64 << 20

// readKeys reads and parses the registry file at path, and refuses it when other users
// can read it, or replace it (its directory is writable by others): it holds every key's
// secret and decides who may call the daemon, which is sshd's rule for a host key and an
// authorized_keys. Every reader and writer goes through it. The file is parsed before its
// mode is checked, so that a damaged file is reported as damaged; the mode checked is
// that of the file read. A missing file is an error matching fs.ErrNotExist.
func readKeys(path string) ([]Key, [][]byte, error) {
	if err := filemode.CheckDirWrite("data directory", filepath.Dir(path)); err != nil {
		return nil, nil, err
	}
	data, info, err := filemode.ReadRegular(path, maxKeysFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read API keys: %w", err)
	}
	keys, secrets, err := parse(path, data)
	if err != nil {
		return nil, nil, err
	}
	if err := filemode.Check("API key file", path, info); err != nil {
		return nil, nil, err
	}
	return keys, secrets, nil
}

// parse decodes and checks the registry file at path. Errors name the file and, for a bad
// entry, its key, never its secret.
func parse(path string, data []byte) ([]Key, [][]byte, error) {
	var f fileData
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("read API keys from %s: invalid JSON: %w", path, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("read API keys from %s: invalid JSON: data after the top-level object", path)
	}
	if f.Version != fileVersion {
		return nil, nil, fmt.Errorf("read API keys from %s: unsupported version %d (this hubctl reads version %d)", path, f.Version, fileVersion)
	}
	if f.Keys == nil {
		f.Keys = []Key{}
	}
	secrets := make([][]byte, len(f.Keys))
	seen := make(map[string]bool, len(f.Keys))
	for i, k := range f.Keys {
		if k.Key == "" {
			return nil, nil, fmt.Errorf("read API keys from %s: entry %d has no key", path, i+1)
		}
		if seen[k.Key] {
			return nil, nil, fmt.Errorf("read API keys from %s: key %s appears twice", path, k.Key)
		}
		seen[k.Key] = true
		_, secret, err := mbase.Decode(k.Secret)
		if err != nil || len(secret) == 0 {
			return nil, nil, fmt.Errorf("read API keys from %s: the secret of key %s is not multibase", path, k.Key)
		}
		secrets[i] = secret
	}
	return f.Keys, secrets, nil
}

func randomMultibase(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return mbase.Encode(mbase.Base32, b)
}

// now is the current time in UTC without the monotonic reading, so that a key compares
// equal to itself after a trip through the file.
func now() time.Time { return time.Now().UTC().Round(0) }

// Keyring is a live, read-only view of a registry for a running server. It reloads the
// file when it changes, so keys created or revoked by another process are seen within a
// second. Lookups take no lock.
type Keyring struct {
	path  string
	state atomic.Pointer[keyringState]

	mu   sync.Mutex // serialises reloads
	last fileStamp  // the file as last loaded
}

// keyringState is one immutable load of the file.
type keyringState struct {
	keys map[string]keyEntry // valid keys only
	// changed is closed when a later load replaces this one.
	changed chan struct{}
}

type keyEntry struct {
	key    Key
	secret []byte
}

// fileStamp identifies one version of the file: writes replace it by rename, so a new
// version has a new inode, and hand edits change its size or modification time.
type fileStamp struct {
	info fs.FileInfo // nil when the file does not exist
}

func (s fileStamp) same(o fileStamp) bool {
	if s.info == nil || o.info == nil {
		return s.info == nil && o.info == nil
	}
	// The mode counts too: a load refused for the file's mode is retried after a chmod.
	return s.info.Size() == o.info.Size() && s.info.ModTime().Equal(o.info.ModTime()) &&
		s.info.Mode() == o.info.Mode() && os.SameFile(s.info, o.info)
}

// Watch loads the registry and keeps the returned Keyring up to date until ctx ends,
// checking the file every 250ms. The first load is synchronous and a corrupt file is an
// error. A later load that fails keeps the previous keys: the file is written atomically,
// so only a hand edit can do that, and the keys come back once the file parses again.
func (r *Registry) Watch(ctx context.Context) (*Keyring, error) {
	kr := &Keyring{path: r.Path()}
	stamp, err := kr.load()
	if err != nil {
		return nil, err
	}
	kr.last = stamp
	go kr.poll(ctx)
	return kr, nil
}

func (kr *Keyring) poll(ctx context.Context) {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		kr.refresh()
	}
}

// refresh reloads the file if it changed since the last load. The stamp is taken before
// the read: a change made during the read is seen next time. A file that fails to parse
// is not retried until it changes again.
func (kr *Keyring) refresh() {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	cur, err := stat(kr.path)
	if err != nil || cur.same(kr.last) {
		return
	}
	kr.last = cur
	_, _ = kr.load()
}

func stat(path string) (fileStamp, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{info: info}, nil
}

// load reads the file and, if it parses, makes it the keyring's state. It returns the
// stamp of the file as it was before the read.
func (kr *Keyring) load() (fileStamp, error) {
	stamp, err := stat(kr.path)
	if err != nil {
		return fileStamp{}, fmt.Errorf("read API keys: %w", err)
	}
	keys, secrets, err := readKeys(kr.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		stamp = fileStamp{}
	case err != nil:
		return stamp, err
	}
	st := &keyringState{keys: make(map[string]keyEntry, len(keys)), changed: make(chan struct{})}
	for i, k := range keys {
		if k.Valid() {
			st.keys[k.Key] = keyEntry{key: k, secret: secrets[i]}
		}
	}
	if old := kr.state.Swap(st); old != nil {
		close(old.changed)
	}
	return stamp, nil
}

// Changes returns a channel that is closed when the keyring next loads a new version of
// the file (a key created, revoked or removed): a watcher takes the channel, then looks
// its keys up, then waits, and so misses no change. Loads are serialised, so each state's
// channel is closed once.
func (kr *Keyring) Changes() <-chan struct{} { return kr.state.Load().changed }

// Lookup finds a valid key and its secret, multibase-decoded: the HMAC key. Unknown and
// revoked keys alike are not found, as the Hub answers both the same way. The secret is
// shared: callers must not modify it.
func (kr *Keyring) Lookup(key string) (Key, []byte, bool) {
	e, ok := kr.state.Load().keys[key]
	if !ok {
		// A key created a moment ago by `hubctl keys create` works at once: a miss checks
		// whether the file changed (one stat) before answering. Revocations are seen by
		// the poll, within pollInterval.
		kr.refresh()
		e, ok = kr.state.Load().keys[key]
	}
	if !ok {
		return Key{}, nil, false
	}
	return e.key, e.secret, true
}

// Len is the number of valid keys: those Lookup finds.
func (kr *Keyring) Len() int { return len(kr.state.Load().keys) }
