package server

// The streaming methods of the buckets API: uploads (PushPath, PushPaths) and downloads
// (PullPath, PullIpfsPath).
//
// An upload never holds a file in memory: each file's chunks are written, as they
// arrive, into a pipe that ipfs-lite's AddFile (buckets.FileParams) reads, so a file's
// blocks are stored as its chunks come in. The files of a stream go into one editor of
// the bucket's tree, and the instance is saved once, when the stream ends cleanly: an
// upload that fails or is cut off leaves the bucket as it was.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	ipld "github.com/ipfs/go-ipld-format"
	bucketspb "github.com/textileio/textile/v2/api/bucketsd/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/buckets"
)

// MaxOpenPushFiles bounds the files one PushPaths stream may have open at once (begun,
// their closing empty chunk not yet sent): each holds a pipe and an adder. A chunk that
// would open one more is refused (InvalidArgument). The Go client sends one file at a
// time; the JS client interleaves a few.
const MaxOpenPushFiles = 16

// pullChunkSize is the size of the chunks PullPath and PullIpfsPath send (the Hub sent
// 32 KiB): large enough that a pull is not one message per 32 KiB (4x the throughput),
// well under the 4 MiB every gRPC client receives by default (textile's Go and JS
// clients keep it), and at most a quarter of the server's own message limit.
const pullChunkSize = 1 << 20

// pushProgressEvery is how often PushPath reports the bytes it has read (the Hub's
// go-ipfs adder reported every 256 KiB).
const pushProgressEvery = 256 << 10

// errPushHeader is the Hub's answer to an upload that does not start with its header.
var errPushHeader = status.Error(codes.InvalidArgument, "push bucket path header is required")

// addResult is what an adder gives back: the file's root node, or why there is none.
type addResult struct {
	path string
	node ipld.Node
	err  error
}

// upload is one file being added: its chunks go into w, which AddFile reads.
type upload struct {
	w    *io.PipeWriter
	size int64
}

// startUpload starts adding one file whose content will be written to the returned
// upload; its result goes to done, which must have room for it.
// With key (a private bucket's file key for pth), the file is stored encrypted.
func (s *bucketsService) startUpload(ctx context.Context, pth string, key []byte, done chan<- addResult) *upload {
	r, w := io.Pipe()
	go func() {
		// The same DAG as ipfs-lite's AddFile with buckets.FileParams (pkg/buckets tests
		// it), written in batches to the blockstore: twice the files per second.
		var in io.Reader = r
		var n ipld.Node
		var err error
		if key != nil {
			// Encrypted a chunk ahead of the add, on another core.
			var enc io.ReadCloser
			if enc, err = buckets.EncryptAhead(r, key); err == nil {
				in = enc
				defer enc.Close()
			}
		}
		if err == nil {
			n, err = buckets.AddFile(ctx, s.dag, in)
		}
		// Whatever ended the add, the writer side learns it (a write after a failed add
		// fails instead of blocking).
		_ = r.CloseWithError(errAddEnded)
		done <- addResult{path: pth, node: n, err: err}
	}()
	return &upload{w: w}
}

var errAddEnded = errors.New("the file's add ended")

// addErr is the answer to a failed add of a file.
func addErr(pth string, err error) error {
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return err
	}
	return status.Errorf(codes.Internal, "adding %s: %v", pth, err)
}

// PushPath uploads one file: a header (key, path, and the root the client last saw),
// then the file's chunks, then the end of the stream. Progress events (the bytes read so
// far) come as the file is read, then one event with the file's CID and the new root.
func (s *bucketsService) PushPath(stream bucketspb.APIService_PushPathServer) error {
	ctx := stream.Context()
	c, err := s.call(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err == io.EOF {
		return nil
	} else if err != nil {
		return err
	}
	header := first.GetHeader()
	if header == nil {
		return errPushHeader
	}
	pth, err := cleanPath(header.Path)
	if err != nil {
		return err
	}
	if pth == "" {
		return status.Error(codes.InvalidArgument, "push to the bucket's root: give the file's path in the bucket")
	}
	b, unlock, err := s.writeBucket(ctx, &c, header.Key)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.authorize(c, b, pth, buckets.Writer); err != nil {
		return err
	}
	if err := fastForward(b, header.Root); err != nil {
		return err
	}
	key, err := b.FileKey(pth)
	if err != nil {
		return unreadableBucket(b)
	}
	ed, err := s.editor(ctx, b)
	if err != nil {
		return err
	}

	addCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan addResult, 1)
	up := s.startUpload(addCtx, pth, key, done)
	var sent, reported int64
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			up.w.CloseWithError(err)
			<-done
			return err
		}
		chunk, ok := m.Payload.(*bucketspb.PushPathRequest_Chunk)
		if !ok {
			up.w.CloseWithError(errPushHeader)
			<-done
			return status.Error(codes.InvalidArgument, "invalid request: a push sends its header once, then chunks")
		}
		if _, err := up.w.Write(chunk.Chunk); err != nil {
			r := <-done
			return addErr(pth, r.err)
		}
		sent += int64(len(chunk.Chunk))
		if sent-reported >= pushProgressEvery {
			reported = sent
			if err := stream.Send(&bucketspb.PushPathResponse{Event: &bucketspb.PushPathResponse_Event{Name: pth, Bytes: sent}}); err != nil {
				up.w.CloseWithError(err)
				<-done
				return err
			}
		}
	}
	up.w.Close()
	r := <-done
	if r.err != nil {
		return addErr(pth, r.err)
	}
	if err := ed.Put(ctx, pth, r.node); err != nil {
		return editErr(err)
	}
	touchAs(c, b, pth, time.Now())
	if err := s.commit(ctx, c, b, ed); err != nil {
		return err
	}
	size, _ := r.node.Size()
	return stream.Send(&bucketspb.PushPathResponse{Event: &bucketspb.PushPathResponse_Event{
		Name:  pth,
		Path:  buckets.IPFSPath(r.node.Cid()),
		Bytes: sent,
		Size:  strconv.FormatUint(size, 10),
		Root:  pbRootBrief(c.db, c.view(b)),
	}})
}

// pushPaths is one PushPaths stream in progress.
type pushPaths struct {
	s    *bucketsService
	ctx  context.Context
	open map[string]*upload
	done chan addResult
	wg   sync.WaitGroup
}

// abort ends every open file's add with err and waits for them.
func (p *pushPaths) abort(err error) {
	for _, up := range p.open {
		up.w.CloseWithError(err)
	}
	for len(p.open) > 0 {
		r := <-p.done
		delete(p.open, r.path)
	}
}

// PushPaths uploads many files over one stream: a header (key, root, and, from the Go
// client, every path it will send), then chunks each naming its file, each file ended
// by a chunk without data; files may be interleaved (the JS client's are). Each file is
// answered as soon as its closing chunk has been read and its add is done, with its CID
// and the bucket's root with every file answered so far; the instance is saved, with
// that root, when the client ends its side of the stream.
func (s *bucketsService) PushPaths(stream bucketspb.APIService_PushPathsServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	c, err := s.call(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err == io.EOF {
		return nil
	} else if err != nil {
		return err
	}
	header := first.GetHeader()
	if header == nil {
		return errPushHeader
	}
	for _, p := range header.Paths {
		if _, err := cleanPath(p); err != nil {
			return err
		}
	}
	b, unlock, err := s.writeBucket(ctx, &c, header.Key)
	if err != nil {
		return err
	}
	defer unlock()
	for _, p := range header.Paths {
		clean, _ := cleanPath(p)
		if err := s.authorize(c, b, clean, buckets.Writer); err != nil {
			return err
		}
	}
	if err := fastForward(b, header.Root); err != nil {
		return err
	}
	ed, err := s.editor(ctx, b)
	if err != nil {
		return err
	}

	// Messages are read on their own goroutine, so that a file is answered while the
	// client waits for that answer before it sends more (the Go client does).
	type recvd struct {
		m   *bucketspb.PushPathsRequest
		err error
	}
	msgs := make(chan recvd)
	go func() {
		for {
			m, err := stream.Recv()
			select {
			case msgs <- recvd{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	p := &pushPaths{s: s, ctx: ctx, open: map[string]*upload{}, done: make(chan addResult, 2*MaxOpenPushFiles)}
	closing := map[string]bool{} // files whose closing chunk was read, add not yet done
	var next *recvd              // a message read ahead (see answer)
	answered := 0
	fail := func(err error) error {
		p.abort(err)
		return err
	}
	// answer links a finished file into the tree and answers it. The root it answers is
	// the tree's with this file, but while more input is waiting (another finished file,
	// another message) it is the last root computed: computing a root serialises every
	// directory changed since, and doing so per file would make a push of n files into
	// one directory cost n² bytes. The answer sent when nothing more is waiting, which
	// the last one always is, has the root that is saved.
	answer := func(r addResult) error {
		delete(p.open, r.path)
		delete(closing, r.path)
		if r.err != nil {
			return fail(addErr(r.path, r.err))
		}
		if err := ed.Put(ctx, r.path, r.node); err != nil {
			return fail(editErr(err))
		}
		touchAs(c, b, r.path, time.Now())
		fresh := len(p.done) == 0
		if fresh && next == nil {
			select {
			case m := <-msgs:
				next = &m
			default:
			}
		}
		if next != nil && next.err == nil {
			fresh = false
		}
		if fresh {
			root, err := ed.Root()
			if err != nil {
				return fail(editErr(err))
			}
			b.Path = buckets.IPFSPath(root)
		}
		size, _ := r.node.Size()
		if err := stream.Send(&bucketspb.PushPathsResponse{Path: r.path, Cid: r.node.Cid().String(), Size: int64(size), Root: pbRootBrief(c.db, c.view(b))}); err != nil {
			return fail(err)
		}
		answered++
		return nil
	}
	finished := func(r addResult) error {
		if !closing[r.path] {
			// An add ends before its closing chunk only when it failed.
			if r.err == nil {
				r.err = errors.New("the add ended before the file's last chunk")
			}
			delete(p.open, r.path)
			return fail(addErr(r.path, r.err))
		}
		return answer(r)
	}
	for {
		var in recvd
		switch {
		case next != nil:
			in, next = *next, nil
		case len(p.open) >= MaxOpenPushFiles && len(closing) > 0:
			// As many adds as a stream may have are running: the next message waits
			// for one of them to end.
			select {
			case r := <-p.done:
				if err := finished(r); err != nil {
					return err
				}
			case <-ctx.Done():
				return fail(status.FromContextError(ctx.Err()).Err())
			}
			continue
		default:
			select {
			case r := <-p.done:
				if err := finished(r); err != nil {
					return err
				}
				continue
			case in = <-msgs:
			case <-ctx.Done():
				// The client is gone (the reader may have left without a word).
				return fail(status.FromContextError(ctx.Err()).Err())
			}
		}
		if in.err == io.EOF {
			break
		}
		if in.err != nil {
			return fail(in.err)
		}
		chunk := in.m.GetChunk()
		if chunk == nil {
			return fail(status.Error(codes.InvalidArgument, "invalid request: a push sends its header once, then chunks"))
		}
		pth, err := cleanPath(chunk.Path)
		if err != nil {
			return fail(err)
		}
		if pth == "" {
			return fail(status.Error(codes.InvalidArgument, "a chunk without a path: each chunk names the file it belongs to"))
		}
		if closing[pth] {
			return fail(status.Errorf(codes.InvalidArgument, "a chunk of %s after its closing chunk: end a file once", pth))
		}
		up, ok := p.open[pth]
		if !ok {
			if len(p.open)-len(closing) >= MaxOpenPushFiles {
				return fail(status.Errorf(codes.InvalidArgument, "more than %d files open at once in one PushPaths stream: end a file (its chunk without data) before starting another", MaxOpenPushFiles))
			}
			if err := s.authorize(c, b, pth, buckets.Writer); err != nil {
				return fail(err)
			}
			key, err := b.FileKey(pth)
			if err != nil {
				return fail(unreadableBucket(b))
			}
			up = s.startUpload(ctx, pth, key, p.done)
			p.open[pth] = up
		}
		if len(chunk.Data) == 0 {
			up.w.Close()
			closing[pth] = true
			continue
		}
		if _, err := up.w.Write(chunk.Data); err != nil {
			continue // its add failed: its result says why
		}
		up.size += int64(len(chunk.Data))
	}
	// The client has sent everything: every file must have been ended.
	for pth := range p.open {
		if !closing[pth] {
			return fail(status.Errorf(codes.InvalidArgument, "the stream ended in the middle of %s (no chunk without data ended it): nothing was saved", pth))
		}
	}
	for len(p.open) > 0 {
		if err := answer(<-p.done); err != nil {
			return err
		}
	}
	if answered == 0 {
		return nil // nothing pushed: nothing to save
	}
	return s.commit(ctx, c, b, ed)
}

// PullPath sends a file of a bucket in chunks; the stream's end is the file's.
func (s *bucketsService) PullPath(req *bucketspb.PullPathRequest, stream bucketspb.APIService_PullPathServer) error {
	ctx := stream.Context()
	_, b, pth, err := s.readPath(ctx, req.Key, req.Path)
	if err != nil {
		return err
	}
	key, err := b.FileKey(pth)
	if err != nil {
		return unreadableBucket(b)
	}
	n, err := s.resolve(ctx, b, pth)
	if err != nil {
		return err
	}
	return s.sendFile(ctx, n, pth, key, func(chunk []byte) error {
		return stream.Send(&bucketspb.PullPathResponse{Chunk: chunk})
	})
}

// PullIpfsPath sends a file named by an IPFS path (/ipfs/<cid>/<path>, or <cid>/<path>)
// from this node's blocks only.
func (s *bucketsService) PullIpfsPath(req *bucketspb.PullIpfsPathRequest, stream bucketspb.APIService_PullIpfsPathServer) error {
	ctx := stream.Context()
	n, err := s.resolveIPFS(ctx, req.Path)
	if err != nil {
		return err
	}
	return s.sendFile(ctx, n, req.Path, nil, func(chunk []byte) error {
		return stream.Send(&bucketspb.PullIpfsPathResponse{Chunk: chunk})
	})
}

// sendFile sends the file n in chunks of pullChunkSize (less under a small message
// limit), decrypted with key (nil: as stored).
func (s *bucketsService) sendFile(ctx context.Context, n ipld.Node, name string, key []byte, send func([]byte) error) error {
	r, err := s.fileReader(ctx, n, name, key)
	if err != nil {
		return err
	}
	defer r.Close()
	size := pullChunkSize
	if limit := s.msgLimit() / 4; limit < size {
		size = max(limit, 1024)
	}
	buf := make([]byte, size) // Send has encoded a message before it returns: reused
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			if serr := send(buf[:k]); serr != nil {
				return serr
			}
		}
		switch {
		case err == io.EOF, err == io.ErrUnexpectedEOF:
			return nil
		case err != nil:
			return readErr(name, err)
		}
	}
}

// readErr is the answer to a failed read of a file's blocks.
func readErr(name string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	case errors.Is(err, ipld.ErrNotFound):
		return status.Errorf(codes.NotFound, "%s: a block of it is not on this server", name)
	}
	return status.Errorf(codes.Internal, "reading %s: %v", name, fmt.Sprint(err))
}
