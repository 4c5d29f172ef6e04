// Package gateway serves buckets' content over HTTP, as the Hub's gateway did: a bucket's
// files and directories by database and key (/thread/<db>/buckets/<key>/<path>), by key
// alone (/ipns/<key>/<path>: the bucket's current root, found locally, never through
// IPNS), and any UnixFS DAG the node holds (/ipfs/<cid>/<path>).
//
// /ipfs/ paths are read from the node's local blockstore, never from the network; a
// bucket's own tree is read through Options.BucketDAG when given (the daemon's fetches
// what is missing from peers, bounded: a bucket joined from another node). Files go
// out through http.ServeContent over a seekable UnixFS reader: ranges, an ETag that is the
// file's CID (so If-None-Match answers 304), a content type by extension or sniffed.
// Directories list as HTML, or as JSON for Accept: application/json or ?json=true, a page
// of at most Options.MaxListing entries at a time (?offset= for the next).
//
// A public bucket is served to everyone. A private bucket (Bucket.Private) is served to a
// request whose user token (?token=, as the Hub's links carried it, or Authorization:
// Bearer) names an identity with a role of reader or more on the path, decrypted
// (private.go); every other request of it is answered exactly as a missing bucket,
// whatever the path, and before the path is looked at: nobody learns whether it exists,
// or what it holds.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	cid "github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	merkledag "github.com/ipfs/go-merkledag"
	unixfs "github.com/ipfs/go-unixfs"
	uio "github.com/ipfs/go-unixfs/io"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/buckets"
)

// Bucket is what the gateway needs of a bucket instance.
type Bucket struct {
	DB   thread.ID
	Key  string
	Name string
	// Root is the bucket's current root directory (the instance's path, /ipfs/<cid>).
	Root cid.Cid
	// Private buckets (the instance has a link key) are served only to a caller with a
	// role on the path (Instance.RoleOf), decrypted with Instance's keys.
	Private bool
	// Instance is the whole bucket instance, keys and metadata, as stored: a private
	// bucket's are needed to read and authorise it. A private bucket without one is
	// never served.
	Instance *buckets.Bucket
}

// ErrNotFound is a bucket a Store does not have (a missing database is one too).
var ErrNotFound = errors.New("bucket not found")

// Store finds buckets. Its errors other than ErrNotFound are answered 500, and logged.
type Store interface {
	// Bucket is the bucket key of database db.
	Bucket(ctx context.Context, db thread.ID, key string) (Bucket, error)
	// BucketByKey is the bucket key, in whichever database holds it.
	BucketByKey(ctx context.Context, key string) (Bucket, error)
}

// Options configure a Handler.
type Options struct {
	Store Store
	// DAG is the node's local DAG (node.LocalDAG): it must never fetch from the network.
	// /ipfs/ paths, which a client names, are read through it.
	DAG ipld.DAGService
	// BucketDAG makes the DAG one request reads a bucket's own tree through (the root
	// its instance names and what it links to): one that may fetch missing blocks from
	// peers, within bounds of its own. Nil: DAG.
	BucketDAG func() ipld.DAGService
	// Identify is the identity of a user token a request came with (hubauth's
	// GatewayIdentity), false for a token that may not be used. Nil: no token is
	// accepted, and a private bucket serves only what it gives everyone ("*").
	Identify func(token string) (identity string, ok bool)
	// MaxListing bounds the entries of one directory page (DefaultMaxListing when 0).
	MaxListing int
	// WriteStall ends a response that a client has not read from for this long
	// (DefaultWriteStall when 0): a slow client holds a request no longer than that
	// without progress, however large the file.
	WriteStall time.Duration
	// MaxInFlight bounds the requests served at once (DefaultMaxInFlight when 0): each
	// holds the blocks of the file it sends and those go-unixfs's reader reads ahead (up
	// to 15 of 256 KiB), for as long as its client takes to read them. Beyond it,
	// requests are answered 503 at once.
	MaxInFlight int
	// Logf reports failures of the store or the blockstore (nil: nothing). Never secrets.
	Logf func(format string, args ...any)
}

// Defaults and bounds of the handler.
const (
	DefaultMaxListing = 1000
	DefaultWriteStall = time.Minute
	// DefaultMaxInFlight requests at once hold at most about 250 MB.
	DefaultMaxInFlight = 64
	// maxSegments and maxSegmentLen bound a path: each segment is one directory lookup.
	maxSegments   = 256
	maxSegmentLen = 1024
	// maxRanges bounds the ranges of one request: more and the Range header is ignored
	// (the whole file, 200), as Apache does since its "Range killer", so that one
	// request cannot ask for a part per byte.
	maxRanges = 16
)

// Handler is the gateway's http.Handler.
type Handler struct {
	o      Options
	blocks localBlocks
	slots  chan struct{} // one per request in flight
}

// New returns the gateway for o.
func New(o Options) *Handler {
	if o.MaxListing <= 0 {
		o.MaxListing = DefaultMaxListing
	}
	if o.WriteStall <= 0 {
		o.WriteStall = DefaultWriteStall
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return &Handler{o: o, blocks: localBlocks{dag: o.DAG}, slots: make(chan struct{}, o.MaxInFlight)}
}

// Drain waits until no request is in progress (health checks aside), and refuses new
// ones (503) from then on: for a server that stops, after its connections are closed,
// before the blockstore closes. It gives up when ctx ends.
func (h *Handler) Drain(ctx context.Context) error {
	for i := 0; i < cap(h.slots); i++ {
		select {
		case h.slots <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("gateway requests still in progress: %w", ctx.Err())
		}
	}
	return nil
}

// NewServer is the http.Server for h: the timeouts of the daemon's other listeners
// (headers within readTimeout, nothing more to read for a GET, idle connections closed),
// headers bounded, and net/http's own log discarded (it logs every client that breaks
// off) unless errorLog is given.
func NewServer(h http.Handler, readTimeout, idleTimeout time.Duration, errorLog *log.Logger) *http.Server {
	if errorLog == nil {
		errorLog = log.New(io.Discard, "", 0)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}
}

// maxHeaderBytes bounds a request's headers: a gateway request needs a path, a Range, an
// If-None-Match and, later, a token.
const maxHeaderBytes = 16 << 10

// request is one request's route.
type request struct {
	// base is the URL path of the root the segments are under (/ipfs/<cid>,
	// /thread/<db>/buckets/<key>, /ipns/<key>), for links.
	base     string
	root     cid.Cid
	segments []string
	// bucket is set for the bucket routes (they hide the seed and are not immutable).
	bucket *Bucket
	// blocks is what the request reads: Options.DAG, or a bucket's Options.BucketDAG.
	blocks localBlocks
	// private is set for a private bucket the caller may read (private.go).
	private *privateRead
}

func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	// Every write of the answer, errors and listings too, gets WriteStall: a client that
	// stops reading holds its request no longer than that.
	w := &stallWriter{ResponseWriter: rw, rc: http.NewResponseController(rw), stall: h.o.WriteStall}
	w.extend()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "method not allowed: the gateway serves GET and HEAD")
		return
	}
	parts, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		if bucketRoute(r.URL.EscapedPath()) {
			// No bucket path is ".." or holds an escaped slash: such a path is
			// answered as every path a caller may not read, before any bucket is
			// looked at, so that it tells nothing of the bucket it names.
			httpError(w, http.StatusNotFound, notFound)
			return
		}
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(parts) == 1 && parts[0] == "health" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
		return
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		w.Header().Set("Retry-After", "5")
		httpError(w, http.StatusServiceUnavailable, fmt.Sprintf("the gateway is busy: %d requests in progress already; retry later", h.o.MaxInFlight))
		return
	}
	req, status, msg := h.route(r, parts)
	if status != 0 {
		httpError(w, status, msg)
		return
	}
	h.serve(w, r, req)
}

// route resolves the first segments of the path to a root: a status other than 0 is the
// answer.
func (h *Handler) route(r *http.Request, parts []string) (request, int, string) {
	ctx := r.Context()
	switch {
	case len(parts) >= 2 && parts[0] == "ipfs":
		c, err := cid.Decode(parts[1])
		if err != nil {
			return request{}, http.StatusBadRequest, fmt.Sprintf("invalid CID %q in /ipfs/: %v", clip(parts[1]), err)
		}
		return request{base: "/ipfs/" + c.String(), root: c, segments: parts[2:], blocks: h.blocks}, 0, ""
	case len(parts) >= 2 && parts[0] == "ipns":
		if !validKey(parts[1]) {
			return request{}, http.StatusNotFound, notFound
		}
		b, err := h.o.Store.BucketByKey(ctx, parts[1])
		return h.bucketRequest(r, "/ipns/"+parts[1], b, err, parts[2:])
	case len(parts) >= 4 && parts[0] == "thread" && parts[2] == "buckets":
		id, err := thread.Decode(parts[1])
		if err != nil || !validKey(parts[3]) {
			return request{}, http.StatusNotFound, notFound
		}
		b, err := h.o.Store.Bucket(ctx, id, parts[3])
		return h.bucketRequest(r, "/thread/"+id.String()+"/buckets/"+parts[3], b, err, parts[4:])
	}
	return request{}, http.StatusNotFound, notFound
}

// bucketRequest checks a bucket the store answered, and its path. A private bucket is
// answered as a missing one before its path is looked at.
func (h *Handler) bucketRequest(r *http.Request, base string, b Bucket, err error, segments []string) (request, int, string) {
	switch {
	case errors.Is(err, ErrNotFound):
		return request{}, http.StatusNotFound, notFound
	case err != nil:
		h.o.Logf("gateway: %s: %v", base, err)
		return request{}, http.StatusInternalServerError, "internal error: the bucket could not be read"
	}
	for _, s := range segments {
		if s == seedName {
			return request{}, http.StatusNotFound, notFound
		}
	}
	var private *privateRead
	if b.Private {
		// Decided from the instance alone, before the path is resolved.
		if private = h.authorize(r, b, segments); private == nil {
			return request{}, http.StatusNotFound, notFound
		}
	}
	blocks := h.blocks
	if h.o.BucketDAG != nil {
		blocks = localBlocks{dag: h.o.BucketDAG()}
	}
	return request{base: base, root: b.Root, segments: segments, bucket: &b, blocks: blocks, private: private}, 0, ""
}

// seedName is the bucket's random seed file: bucket paths never name it (as bucket paths
// elsewhere), and listings of a bucket leave it out.
const seedName = buckets.SeedName

// notFound is the one answer for a missing database, bucket, path or block, and for a
// private bucket: none says which.
const notFound = "not found"

// validKey is a bucket key: a CID of a libp2p key (peer.ToCid), as every bucket has.
func validKey(s string) bool { return buckets.CheckKey(s) == nil }

// serve resolves the segments under the root and answers the file or the directory.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, req request) {
	if req.private != nil {
		h.servePrivate(w, r, req)
		return
	}
	ctx := r.Context()
	nd, err := req.blocks.Get(ctx, req.root)
	for i := 0; err == nil && i < len(req.segments); i++ {
		nd, err = child(ctx, req.blocks, nd, req.segments[i])
	}
	if err != nil {
		h.answerErr(w, req, err)
		return
	}
	if dir, derr := uio.NewDirectoryFromNode(req.blocks, nd); derr == nil {
		h.listing(w, r, req, nd.Cid(), nd, dir)
		return
	}
	h.file(w, r, req, nd)
}

// errNotDir is a path segment under a file.
var errNotDir = errors.New("not a directory")

// child is the entry name of directory nd, read from blocks.
func child(ctx context.Context, blocks localBlocks, nd ipld.Node, name string) (ipld.Node, error) {
	dir, err := uio.NewDirectoryFromNode(blocks, nd)
	if err != nil {
		return nil, errNotDir
	}
	c, err := dir.Find(ctx, name)
	if errors.Is(err, merkledag.ErrLinkNotFound) || errors.Is(err, os.ErrNotExist) {
		// A basic directory's missing link, a sharded one's.
		return nil, ipld.ErrNotFound
	}
	return c, err
}

// answerErr answers a path that does not resolve: 404 whatever the reason, so that no
// answer tells a missing block from one the gateway refuses. What is neither (a block
// that does not decode) is logged.
func (h *Handler) answerErr(w http.ResponseWriter, req request, err error) {
	if !notServed(err) && !errors.Is(err, errNotDir) && !errors.Is(err, context.Canceled) {
		h.o.Logf("gateway: %s: %v", req.base, err)
	}
	httpError(w, http.StatusNotFound, notFound)
}

// file answers a file with ServeContent: Range, If-None-Match, If-Range and HEAD.
func (h *Handler) file(w http.ResponseWriter, r *http.Request, req request, nd ipld.Node) {
	rd, err := uio.NewDagReader(r.Context(), nd, req.blocks)
	if err != nil {
		h.answerErr(w, req, err)
		return
	}
	defer rd.Close()
	name := ""
	if len(req.segments) > 0 {
		name = req.segments[len(req.segments)-1]
	}
	hd := w.Header()
	hd.Set("Etag", `"`+nd.Cid().String()+`"`)
	hd.Set("X-Ipfs-Path", ipfsPath(nd.Cid()))
	hd.Set("Cache-Control", cacheControl(req))
	if ct := contentType(name); ct != "" {
		hd.Set("Content-Type", ct)
	}
	if tooManyRanges(r.Header.Get("Range")) {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, name, time.Time{}, &lazySeeker{rd: rd})
}

// lazySeeker answers a seek from the end with the file's size without walking the DAG
// there (ServeContent seeks to the end for the size, then back to the start at once),
// and makes the seeks it was asked for when it is next read.
type lazySeeker struct {
	rd      uio.DagReader
	pos     int64
	pending bool
}

func (s *lazySeeker) Seek(off int64, whence int) (int64, error) {
	var target int64
	switch whence {
	case io.SeekStart:
		target = off
	case io.SeekCurrent:
		target = s.pos + off
	case io.SeekEnd:
		target = int64(s.rd.Size()) + off
	default:
		return s.pos, errors.New("invalid whence")
	}
	if target < 0 {
		return s.pos, errors.New("seek before the start of the file")
	}
	s.pos, s.pending = target, true
	return target, nil
}

func (s *lazySeeker) Read(p []byte) (int, error) {
	if s.pending {
		if s.pos >= int64(s.rd.Size()) {
			return 0, io.EOF
		}
		if _, err := s.rd.Seek(s.pos, io.SeekStart); err != nil {
			return 0, err
		}
		s.pending = false
	}
	n, err := s.rd.Read(p)
	s.pos += int64(n)
	return n, err
}

// tooManyRanges reports a Range header of more than maxRanges ranges.
func tooManyRanges(h string) bool {
	return h != "" && strings.Count(h, ",") >= maxRanges
}

// stallWriter gives every write WriteStall to go out: a client that stops reading is cut
// off then, one that reads slowly but steadily is not.
type stallWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (s *stallWriter) Write(p []byte) (int, error) {
	s.extend()
	return s.ResponseWriter.Write(p)
}

func (s *stallWriter) extend() {
	// Not every ResponseWriter has deadlines (httptest's recorder): then none is set.
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.stall))
}

func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func cacheControl(req request) string {
	if req.private != nil {
		// Only for the caller whose token opened it; still revalidated by ETag.
		return "private, no-cache"
	}
	if req.bucket != nil {
		// A bucket's path changes with every push: revalidate (the ETag answers 304).
		return "no-cache"
	}
	return "public, max-age=29030400, immutable"
}

func ipfsPath(c cid.Cid) string { return "/ipfs/" + c.String() }

// contentType is the type by name: the Hub gateway's table first (GW/ipfs.go), then Go's
// own table; "" leaves it to ServeContent, which sniffs the first 512 bytes.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case "":
		return ""
	case ".htm", ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js", ".mjs":
		return "application/javascript"
	case ".json":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	}
	return mime.TypeByExtension(ext)
}

// Item is one entry of a directory listing (JSON), in the shape of the buckets API's
// ListPathItem.
type Item struct {
	CID   string `json:"cid"`
	Name  string `json:"name"`
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	IsDir bool   `json:"isDir"`
}

// Listing is a directory page (JSON).
type Listing struct {
	Item
	Items []Item `json:"items"`
	// Offset is the first entry of this page; Next, when set, is the URL of the next.
	Offset int    `json:"offset"`
	Next   string `json:"next,omitempty"`
}

// listing answers a directory: one page of its entries, in the directory's order. id
// is the directory's stored block (nd itself, or a private directory's sealed block).
func (h *Handler) listing(w http.ResponseWriter, r *http.Request, req request, id cid.Cid, nd ipld.Node, dir uio.Directory) {
	ctx := r.Context()
	q := r.URL.Query()
	offset := 0
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("invalid offset %q: use a number of entries, 0 or more", clip(s)))
			return
		}
		offset = n
	}
	here := req.base + escapeSegments(req.segments)
	page := Listing{Item: Item{CID: id.String(), Name: lastName(req), Path: here, IsDir: true}, Offset: offset, Items: []Item{}}
	if fs, err := unixfs.ExtractFSNode(nd); err == nil {
		page.Size = int64(fs.FileSize())
	}
	i, more := 0, false
	errStop := errors.New("page full")
	err := dir.ForEachLink(ctx, func(l *ipld.Link) error {
		if req.bucket != nil && len(req.segments) == 0 && l.Name == seedName {
			return nil
		}
		if req.private != nil && !req.private.mayRead(append(req.segments[:len(req.segments):len(req.segments)], l.Name)) {
			return nil // never linked, nor counted
		}
		i++
		if i <= offset {
			return nil
		}
		if len(page.Items) == h.o.MaxListing {
			more = true
			return errStop
		}
		if req.private != nil {
			page.Items = append(page.Items, privateItem(ctx, req, here, l))
		} else {
			page.Items = append(page.Items, h.item(ctx, req, here, l))
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		h.answerErr(w, req, err)
		return
	}
	if more {
		v := url.Values{"offset": {strconv.Itoa(offset + len(page.Items))}}
		if q.Has("json") {
			v.Set("json", q.Get("json"))
		}
		if req.private != nil && req.private.linkToken != "" {
			v.Set("token", req.private.linkToken)
		}
		page.Next = here + "?" + v.Encode()
	}
	w.Header().Set("Cache-Control", cacheControl(req))
	w.Header().Set("Vary", "Accept")
	if req.private != nil {
		w.Header().Add("Vary", "Authorization")
	}
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodHead {
			return
		}
		json.NewEncoder(w).Encode(page)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	title := "/" + strings.Join(req.segments, "/")
	if req.bucket != nil {
		name := req.bucket.Name
		if name == "" {
			name = req.bucket.Key
		}
		title = "/" + path.Join(name, strings.Join(req.segments, "/"))
	} else {
		title = path.Join(ipfsPath(req.root), strings.Join(req.segments, "/"))
	}
	back := ""
	if len(req.segments) > 0 {
		back = req.base + escapeSegments(req.segments[:len(req.segments)-1])
	}
	if back != "" {
		back += req.linkQuery()
	}
	listingHTML.Execute(w, struct {
		Title, Back, Query string
		Listing
	}{title, back, req.linkQuery(), page})
}

// item describes entry l of the directory at here: its size and kind read from its own
// block (one read per entry of the page). A raw block (a small file, whole) is read only
// when it is here: fetching a page's files from a peer to tell their sizes would fetch
// them all, and its link's size is the block's length anyway.
func (h *Handler) item(ctx context.Context, req request, here string, l *ipld.Link) Item {
	it := Item{CID: l.Cid.String(), Name: l.Name, Path: strings.TrimSuffix(here, "/") + "/" + url.PathEscape(l.Name), Size: int64(l.Size)}
	blocks := req.blocks
	if l.Cid.Type() == cid.Raw {
		blocks = h.blocks
	}
	nd, err := blocks.Get(ctx, l.Cid)
	if err != nil {
		return it
	}
	switch n := nd.(type) {
	case *merkledag.RawNode:
		it.Size = int64(len(n.RawData()))
	case *merkledag.ProtoNode:
		if fs, err := unixfs.FSNodeFromBytes(n.Data()); err == nil {
			switch fs.Type() {
			case unixfs.TDirectory, unixfs.THAMTShard:
				it.IsDir = true
			default:
				it.Size = int64(fs.FileSize())
			}
		}
	}
	return it
}

func lastName(req request) string {
	if len(req.segments) > 0 {
		return req.segments[len(req.segments)-1]
	}
	if req.bucket != nil {
		return req.bucket.Name
	}
	return req.root.String()
}

func escapeSegments(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteString("/")
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// wantsJSON: ?json=true (the Hub's), or an Accept header that asks for JSON before HTML.
func wantsJSON(r *http.Request) bool {
	if v := r.URL.Query().Get("json"); v != "" {
		b, err := strconv.ParseBool(v)
		return err == nil && b
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json":
			return true
		case "text/html":
			return false
		}
	}
	return false
}

var listingHTML = template.Must(template.New("listing").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Index of {{.Title}}</title></head>
<body><h1>Index of {{.Title}}</h1>
<ul>
{{if .Back}}<li><a href="{{.Back}}">..</a></li>
{{end}}{{range .Items}}<li><a href="{{.Path}}{{$.Query}}">{{.Name}}{{if .IsDir}}/{{end}}</a> {{if not .IsDir}}{{.Size}} bytes{{end}}</li>
{{end}}</ul>
{{if .Next}}<p><a href="{{.Next}}">more</a></p>
{{end}}</body></html>
`))

// splitPath splits an escaped URL path into its segments, unescaped. It refuses what no
// path of a bucket or a UnixFS DAG holds: empty segments (but a final slash), "." and
// "..", NUL and "/" (escaped) within a segment; and bounds their number and length.
func splitPath(escaped string) ([]string, error) {
	p := strings.TrimPrefix(escaped, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil, nil
	}
	raw := strings.Split(p, "/")
	if len(raw) > maxSegments {
		return nil, fmt.Errorf("bad path: more than %d segments", maxSegments)
	}
	out := make([]string, len(raw))
	for i, s := range raw {
		seg, err := url.PathUnescape(s)
		switch {
		case err != nil:
			return nil, fmt.Errorf("bad path: segment %q is not URL-escaped properly", clip(s))
		case seg == "":
			return nil, errors.New("bad path: empty segment (//)")
		case seg == "." || seg == "..":
			return nil, fmt.Errorf("bad path: %q segments are not allowed", seg)
		case strings.ContainsAny(seg, "/\x00"):
			return nil, fmt.Errorf("bad path: segment %q holds a slash or NUL", clip(seg))
		case len(seg) > maxSegmentLen:
			return nil, fmt.Errorf("bad path: a segment longer than %d bytes", maxSegmentLen)
		}
		out[i] = seg
	}
	return out, nil
}

// clip shortens what a client sent before it goes into an answer.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// httpError answers a one-line plain-text error.
func httpError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Del("Etag")
	h.Del("Cache-Control")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, "%d %s\n", code, msg)
}
