package buckets

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
)

// FileHasher computes the CIDs of local files (FileCID of each) on every core while its
// caller goes on queueing them: `hubctl bucket sync` queues each local file as the walk of
// the bucket finds its counterpart, so a sync of a large tree spends no time of its own
// on hashing after the listing. Wait's error is that of the first file queued that
// failed, as hashing them one by one would have told.
type FileHasher struct {
	queue chan string
	wg    sync.WaitGroup
	mu    sync.Mutex
	cids  map[string]string // by path
	first int               // the queue position of the first failure (-1: none)
	err   error
}

// NewFileHasher starts a hasher; once ctx ends, files queued are no longer hashed.
func NewFileHasher(ctx context.Context) *FileHasher {
	h := &FileHasher{queue: make(chan string, 256), cids: map[string]string{}, first: -1}
	type job struct {
		pos  int
		path string
	}
	jobs := make(chan job)
	go func() { // numbers the queue, so that errors keep its order
		defer close(jobs)
		pos := 0
		for p := range h.queue {
			select {
			case jobs <- job{pos, p}:
			case <-ctx.Done():
			}
			pos++
		}
	}()
	for range runtime.NumCPU() {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for j := range jobs {
				c, err := localFileCID(j.path)
				h.mu.Lock()
				if err != nil && (h.first < 0 || j.pos < h.first) {
					h.first, h.err = j.pos, err
				}
				h.cids[j.path] = c
				h.mu.Unlock()
			}
		}()
	}
	return h
}

// Add queues the file at path. It must not be called after Wait.
func (h *FileHasher) Add(path string) { h.queue <- path }

// Wait returns the CID of every file queued, by path, once all are hashed.
func (h *FileHasher) Wait(ctx context.Context) (map[string]string, error) {
	close(h.queue)
	h.wg.Wait()
	if h.err != nil {
		return nil, h.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return h.cids, nil
}

// localFileCID is the CID a bucket would give the file at path.
func localFileCID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	c, err := FileCID(f)
	if err != nil {
		return "", fmt.Errorf("hash %s: %v", path, err)
	}
	return c.String(), nil
}
