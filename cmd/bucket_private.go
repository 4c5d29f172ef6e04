package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gofrs/flock"

	"github.com/hubctl/hubctl/pkg/atomicfile"
	"github.com/hubctl/hubctl/pkg/hub"
)

// Private buckets on the command line's side: the links' token kept out of output, and
// what sync remembers of a private bucket.

// redactLinks replaces the user token the links of a private bucket carry (?token=, as
// the Hub's did) unless show: a token in a terminal's scrollback or a script's log lets
// anyone read what its identity may read.
func redactLinks(l hub.BucketLinks, show bool) hub.BucketLinks {
	if show {
		return l
	}
	l.URL, l.WWW, l.IPNS = redactToken(l.URL), redactToken(l.WWW), redactToken(l.IPNS)
	return l
}

func redactToken(link string) string {
	u, err := url.Parse(link)
	if err != nil || u.RawQuery == "" {
		return link
	}
	q := u.Query()
	if !q.Has("token") {
		return link
	}
	q.Set("token", "REDACTED")
	u.RawQuery = q.Encode()
	return u.String()
}

// A private bucket's CIDs are those of its ciphertext, which the server encrypts afresh
// (a new IV) on every push: a local file's CID never matches its remote counterpart, and
// comparing them would send every file on every sync. Sync therefore keeps, per private
// bucket, a state file of the pairs it has seen: a bucket path, the SHA-256 of the
// plaintext it pushed or pulled there, and the stored CID the server answered (push) or
// listed (pull) for it. A file is unchanged when the bucket still lists that stored CID at
// its path and the local file still has that SHA-256. A missing, stale or damaged state
// only makes sync send (or fetch) a file again: it is never trusted beyond an exact
// match.
//
// The state is in the data directory beside the token cache (<data-dir>/bucket-sync/),
// one 0600 file per bucket, named by database and key (a bucket joined on another
// daemon has the same key and the same stored CIDs, so the state holds there too),
// written atomically under a lock so that two syncs of one bucket do not lose each
// other's entries. It holds no key: the plaintext's digests only.

// syncStateVersion is the state file's format.
const syncStateVersion = 1

type syncState struct {
	Version int                  `json:"version"`
	DB      string               `json:"db"`
	Bucket  string               `json:"bucket"`
	Files   map[string]syncEntry `json:"files"`
}

// syncEntry is what sync knows of one bucket path.
type syncEntry struct {
	// SHA256 is the hex SHA-256 of the plaintext pushed or pulled.
	SHA256 string `json:"sha256"`
	// Stored is the CID of what the bucket stores for it (ciphertext).
	Stored string `json:"stored"`
}

// syncStatePath is where the state of bucket key in database db is kept.
func syncStatePath(f *Factory, db, key string) (string, error) {
	c, err := f.Config()
	if err != nil {
		return "", err
	}
	if c.DataDir == "" {
		return "", errors.New("no data directory for the sync state of a private bucket: set --data-dir")
	}
	for _, part := range []string{db, key} {
		if part == "" || strings.ContainsAny(part, `/\.`) {
			return "", fmt.Errorf("cannot name a sync state file after %q", part)
		}
	}
	return filepath.Join(c.DataDir, "bucket-sync", db+"-"+key+".json"), nil
}

// loadSyncState reads a state file; a missing or unreadable one is an empty state (a
// warning says why for a damaged one), which makes the sync compare nothing as unchanged.
func loadSyncState(f *Factory, p string) syncState {
	st, err := readSyncState(p)
	if err != nil {
		f.IO.Warnf("ignoring the sync state %s (%v): files will be sent again", p, err)
	}
	return st
}

func readSyncState(p string) (syncState, error) {
	empty := syncState{Version: syncStateVersion, Files: map[string]syncEntry{}}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return empty, nil
	}
	if err != nil {
		return empty, err
	}
	var st syncState
	if err := json.Unmarshal(data, &st); err != nil {
		return empty, fmt.Errorf("not a sync state: %v", err)
	}
	if st.Version != syncStateVersion {
		return empty, fmt.Errorf("format %d, not %d", st.Version, syncStateVersion)
	}
	if st.Files == nil {
		st.Files = map[string]syncEntry{}
	}
	return st, nil
}

// replaceSyncState replaces the entries of the paths under prefix (a bucket directory,
// "" the whole bucket) with entries, under the state file's lock, re-reading the file
// first so that a sync of another part of the bucket meanwhile keeps its entries.
func replaceSyncState(p, db, key, prefix string, entries map[string]syncEntry) error {
	if err := atomicfile.MkdirPrivate(filepath.Dir(p)); err != nil {
		return fmt.Errorf("save the sync state: %w", err)
	}
	lock := flock.New(p+".lock", flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()
	st, err := readSyncState(p)
	if err != nil { // damaged: started afresh, which loses only what it held
		st = syncState{Version: syncStateVersion, Files: map[string]syncEntry{}}
	}
	st.DB, st.Bucket = db, key
	for path := range st.Files {
		if underPrefix(path, prefix) {
			delete(st.Files, path)
		}
	}
	for path, e := range entries {
		st.Files[path] = e
	}
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p, append(data, '\n'), 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("save the sync state %s: %w", p, err)
	}
	return nil
}

func underPrefix(p, prefix string) bool {
	return prefix == "" || p == prefix || strings.HasPrefix(p, prefix+"/")
}

// privateCompare is what a sync of a private bucket compares with: the state and the
// SHA-256 of the local files that have a counterpart in the bucket.
type privateCompare struct {
	statePath string
	state     syncState
	sums      map[string]string // by local absolute path
}

// same reports whether the local file (its SHA-256 in sums) is what the bucket holds at
// it.Path, by the state.
func (pc *privateCompare) same(abs string, it hub.BucketItem) bool {
	sum, ok := pc.sums[abs]
	e, known := pc.state.Files[it.Path]
	return ok && known && e.SHA256 == sum && e.Stored == it.CID
}

// entry is the state entry for it when the local file is unchanged.
func (pc *privateCompare) entry(abs string, it hub.BucketItem) syncEntry {
	return syncEntry{SHA256: pc.sums[abs], Stored: it.CID}
}

// hashWorkers is how many local files a private sync hashes at once.
const hashWorkers = 4

// sha256Files hashes the files (absolute paths), a few at a time.
func sha256Files(ctx context.Context, paths []string) (map[string]string, error) {
	out := make(map[string]string, len(paths))
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range min(hashWorkers, len(paths)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				sum, err := sha256File(p)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[p] = sum
				mu.Unlock()
			}
		}()
	}
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

func sha256File(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("read %s: %v", p, errors.Unwrap(err))
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("read %s: %v", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sentSums records the SHA-256 of the bytes a push actually sent of each file, by
// bucket path: a file that changes while it is pushed is recorded as sent, never as it
// was when compared.
type sentSums struct {
	mu   sync.Mutex
	sums map[string]string
}

func newSentSums() *sentSums { return &sentSums{sums: map[string]string{}} }

// open is os.Open of abs, hashing what is read for the bucket path rel; the sum is
// recorded when the file has been read to its end.
func (s *sentSums) open(rel, abs string) (io.ReadCloser, error) {
	fh, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	return &hashingReader{f: fh, h: sha256.New(), done: func(sum string) {
		s.mu.Lock()
		s.sums[rel] = sum
		s.mu.Unlock()
	}}, nil
}

func (s *sentSums) get(rel string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum, ok := s.sums[rel]
	return sum, ok
}

type hashingReader struct {
	f    *os.File
	h    hash.Hash
	done func(string)
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF && r.done != nil {
		r.done(hex.EncodeToString(r.h.Sum(nil)))
		r.done = nil
	}
	return n, err
}

func (r *hashingReader) Close() error { return r.f.Close() }

func (s *sentSums) put(rel, sum string) {
	s.mu.Lock()
	s.sums[rel] = sum
	s.mu.Unlock()
}

// savePushedState records, for the bucket directory prefix a sync pushed to, the
// unchanged files' entries (kept) and those of the files pushed: the SHA-256 of what was
// sent and the stored CID the server answered.
func savePushedState(pc *privateCompare, s *bucketSession, prefix string, kept map[string]syncEntry, pushed []hub.PushResult, sent *sentSums) error {
	entries := make(map[string]syncEntry, len(kept)+len(pushed))
	for p, e := range kept {
		entries[p] = e
	}
	for _, r := range pushed {
		if sum, ok := sent.get(r.Path); ok && r.CID != "" {
			entries[r.Path] = syncEntry{SHA256: sum, Stored: r.CID}
		}
	}
	return replaceSyncState(pc.statePath, s.bs.DB().String(), s.b.Key, prefix, entries)
}

// savePulledState records, for the bucket directory prefix a sync pulled from, the
// unchanged files' entries (kept) and those of the files pulled (got: the SHA-256 of
// what was written). A pull reads each file as the bucket holds it then, so what was
// pulled is known to be what the listing's stored CID holds only if the bucket's root
// is still the one listed (root): otherwise the pulled files are left out, and fetched
// again next time.
func savePulledState(ctx context.Context, pc *privateCompare, s *bucketSession, prefix, root string, kept map[string]syncEntry, get []hub.BucketItem, got *sentSums) error {
	entries := make(map[string]syncEntry, len(kept)+len(get))
	for p, e := range kept {
		entries[p] = e
	}
	if now, err := s.bs.Root(ctx, s.b.Key); err == nil && now.Root == root {
		for _, it := range get {
			if sum, ok := got.get(it.Path); ok {
				entries[it.Path] = syncEntry{SHA256: sum, Stored: it.CID}
			}
		}
	}
	return replaceSyncState(pc.statePath, s.bs.DB().String(), s.b.Key, prefix, entries)
}
