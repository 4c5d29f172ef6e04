package gateway

// Private buckets on the gateway: who may read a path, and its plaintext.
//
// A private bucket's blocks are ciphertext (pkg/buckets, private.go): its directories
// sealed with the instance's link key, each file's content with its path's file key. A
// request of one is authorised from the instance alone (its token's identity and the
// roles of the path's metadata), before any block is read, and every refusal is the one
// 404 a missing bucket gets. What a caller may read is then walked with the keys:
// directories opened, files decrypted as they are sent. dcrypto's MAC covers a file as a
// whole, at its end, so a private file is answered 200 with all of it, no Range; a file
// that fails its check late is broken off (pkg/buckets' Decrypt holds its last chunk back
// until the MAC is checked).

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	cid "github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	merkledag "github.com/ipfs/go-merkledag"
	unixfs "github.com/ipfs/go-unixfs"
	uio "github.com/ipfs/go-unixfs/io"

	"github.com/hubctl/hubctl/pkg/buckets"
)

// privateRead is what a request of a private bucket reads with.
type privateRead struct {
	inst    *buckets.Bucket
	linkKey []byte
	// who is the caller's identity ("" without a usable token: only what the bucket
	// gives everyone).
	who string
	// linkToken is the ?token= the request came with, which the listing's links carry
	// as the Hub's gateway carried it; "" for a token sent in a header, whose client
	// sends it again.
	linkToken string
}

// sealOverhead is what dcrypto (v1, with a key) adds to a plaintext: a version (4
// bytes), an IV (16) and an HMAC-SHA512 (64). A private file's size is its ciphertext's
// less this.
const sealOverhead = 4 + 16 + 64

// requestToken is the user token of a request: Authorization: Bearer, else ?token=.
func requestToken(r *http.Request) (tok string, inQuery bool) {
	if scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
		if t := strings.TrimSpace(rest); t != "" {
			return t, false
		}
	}
	if t := r.URL.Query().Get("token"); t != "" {
		return t, true
	}
	return "", false
}

// authorize decides whether the request may read segments of private bucket b, from
// the instance alone: its token's identity must have a role of at least reader on the
// path (a token that may not be used counts as none; the bucket may still give
// everyone a role). nil is a refusal.
func (h *Handler) authorize(r *http.Request, b Bucket, segments []string) *privateRead {
	if b.Instance == nil {
		return nil
	}
	p := &privateRead{inst: b.Instance}
	if tok, inQuery := requestToken(r); tok != "" && h.o.Identify != nil {
		if who, ok := h.o.Identify(tok); ok {
			p.who = who
			if inQuery {
				p.linkToken = tok
			}
		}
	}
	if !p.mayRead(segments) {
		return nil
	}
	k, err := b.Instance.LinkKeyBytes()
	if err != nil || k == nil {
		// Never the key itself: the error says only that it does not decode.
		h.o.Logf("gateway: bucket %s: its link key does not decode", b.Key)
		return nil
	}
	p.linkKey = k
	return p
}

// mayRead says whether the caller has a role of reader or more on segments.
func (p *privateRead) mayRead(segments []string) bool {
	return p.inst.RoleOf(p.who, strings.Join(segments, "/")) >= buckets.Reader
}

// linkQuery is what the request's own links carry after their path.
func (req request) linkQuery() string {
	if req.private == nil || req.private.linkToken == "" {
		return ""
	}
	return "?token=" + url.QueryEscape(req.private.linkToken)
}

// servePrivate resolves the segments through the plain forms of the stored directories
// and answers the file, decrypted, or the directory, with its plain names.
func (h *Handler) servePrivate(w http.ResponseWriter, r *http.Request, req request) {
	ctx := r.Context()
	key := req.private.linkKey
	stored, err := req.blocks.Get(ctx, req.root)
	var plain ipld.Node
	dir := false
	if err == nil {
		plain, dir, err = buckets.OpenNode(stored, key)
	}
	for i := 0; err == nil && i < len(req.segments); i++ {
		if !dir {
			err = errNotDir
			break
		}
		var l *ipld.Link
		pn, ok := plain.(*merkledag.ProtoNode)
		if !ok {
			err = errNotDir
			break
		}
		if l, err = pn.GetNodeLink(req.segments[i]); err != nil {
			err = ipld.ErrNotFound
			break
		}
		if stored, err = req.blocks.Get(ctx, l.Cid); err == nil {
			plain, dir, err = buckets.OpenNode(stored, key)
		}
	}
	if err != nil {
		h.answerErr(w, req, err)
		return
	}
	if dir {
		d, derr := uio.NewDirectoryFromNode(req.blocks, plain)
		if derr != nil {
			h.answerErr(w, req, derr)
			return
		}
		h.listing(w, r, req, stored.Cid(), plain, d)
		return
	}
	h.privateFile(w, r, req, stored)
}

// privateFile answers a private file: decrypted with its path's key as it is sent, whole
// (200; a Range is ignored), its type by extension or sniffed from its first 512
// plaintext bytes, its ETag the stored CID (If-None-Match answers 304 without
// decrypting).
func (h *Handler) privateFile(w http.ResponseWriter, r *http.Request, req request, stored ipld.Node) {
	etag := `"` + stored.Cid().String() + `"`
	hd := w.Header()
	hd.Set("Etag", etag)
	hd.Set("Cache-Control", cacheControl(req))
	hd.Set("Accept-Ranges", "none")
	hd.Add("Vary", "Authorization")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	fileKey, err := req.private.inst.FileKey(strings.Join(req.segments, "/"))
	if err != nil {
		h.o.Logf("gateway: %s: the file's key: %v", req.base, err)
		httpError(w, http.StatusInternalServerError, "internal error: the file could not be read")
		return
	}
	rd, err := uio.NewDagReader(r.Context(), stored, req.blocks)
	if err != nil {
		h.answerErr(w, req, err)
		return
	}
	defer rd.Close()
	size := int64(rd.Size()) - sealOverhead
	name := ""
	if len(req.segments) > 0 {
		name = req.segments[len(req.segments)-1]
	}
	ct := contentType(name)
	if r.Method == http.MethodHead && ct != "" && size >= 0 {
		hd.Set("Content-Type", ct)
		hd.Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	plain, err := buckets.DecryptAhead(rd, fileKey)
	if err == nil {
		defer plain.Close()
	}
	// The first read comes before the answer's headers: a file of one chunk is checked
	// whole (its MAC) by then, and a missing first block is a 404 yet.
	br := bufio.NewReaderSize(plain, 512)
	var head []byte
	if err == nil {
		if head, err = br.Peek(512); errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		if notServed(err) || errors.Is(err, context.Canceled) {
			h.answerErr(w, req, err)
			return
		}
		h.o.Logf("gateway: %s: decrypting a file: %v", req.base, err)
		httpError(w, http.StatusInternalServerError, "internal error: the file does not decrypt with its bucket's key")
		return
	}
	if ct == "" {
		ct = http.DetectContentType(head)
	}
	hd.Set("Content-Type", ct)
	if size >= 0 {
		hd.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	// Not br's WriteTo, which would write 512 bytes at a time.
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{br}, make([]byte, 64<<10)); err != nil {
		if !errors.Is(err, context.Canceled) {
			h.o.Logf("gateway: %s: sending a private file: %v", req.base, err)
		}
		// A later block missing, or the MAC at the end not matching (Decrypt holds the
		// last chunk back until it is checked): the client must not take what it got
		// for the whole file. An answer short of its Content-Length already tells it;
		// breaking the connection off says so however the answer was framed.
		panic(http.ErrAbortHandler)
	}
}

// etagMatches is If-None-Match's weak comparison (RFC 9110 13.1.2) with one ETag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// privateItem describes entry l of a private directory: a raw link is a file of one
// block (its link's size is the block's length, not read); another is opened, which
// decrypts a directory's block, to tell a directory from a file of several chunks.
// Sizes are the plaintext's.
func privateItem(ctx context.Context, req request, here string, l *ipld.Link) Item {
	it := Item{CID: l.Cid.String(), Name: l.Name, Path: strings.TrimSuffix(here, "/") + "/" + url.PathEscape(l.Name)}
	if l.Cid.Type() == cid.Raw {
		it.Size = plainSize(int64(l.Size))
		return it
	}
	stored, err := req.blocks.Get(ctx, l.Cid)
	if err != nil {
		return it
	}
	plain, dir, err := buckets.OpenNode(stored, req.private.linkKey)
	if err != nil {
		return it
	}
	if dir {
		it.IsDir = true
		return it
	}
	if pn, ok := plain.(*merkledag.ProtoNode); ok {
		if fs, err := unixfs.FSNodeFromBytes(pn.Data()); err == nil {
			it.Size = plainSize(int64(fs.FileSize()))
		}
	}
	return it
}

func plainSize(sealed int64) int64 {
	if sealed < sealOverhead {
		return 0
	}
	return sealed - sealOverhead
}

// bucketRoute says whether an escaped URL path is one of the bucket routes.
func bucketRoute(escaped string) bool {
	return strings.HasPrefix(escaped, "/thread/") || strings.HasPrefix(escaped, "/ipns/")
}
