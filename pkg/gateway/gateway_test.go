package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	blockservice "github.com/ipfs/go-blockservice"
	cid "github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	blockstore "github.com/ipfs/go-ipfs-blockstore"
	chunker "github.com/ipfs/go-ipfs-chunker"
	offline "github.com/ipfs/go-ipfs-exchange-offline"
	cbornode "github.com/ipfs/go-ipld-cbor"
	ipld "github.com/ipfs/go-ipld-format"
	merkledag "github.com/ipfs/go-merkledag"
	"github.com/ipfs/go-unixfs/hamt"
	"github.com/ipfs/go-unixfs/importer/balanced"
	"github.com/ipfs/go-unixfs/importer/helpers"
	uio "github.com/ipfs/go-unixfs/io"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/peer"
	mbase "github.com/multiformats/go-multibase"
	multihash "github.com/multiformats/go-multihash"
	"github.com/textileio/crypto/symmetric"
	tcbor "github.com/textileio/go-threads/cbor"
	"github.com/textileio/go-threads/core/thread"
)

// testDAG is a DAG over the blockstore the node uses (go-ipfs-blockstore, keyed by
// multihash alone, answering identity CIDs from themselves, as ipfs-lite builds it), in
// memory and offline.
func testDAG() ipld.DAGService {
	bs := blockstore.NewIdStore(blockstore.NewBlockstore(dssync.MutexWrap(ds.NewMapDatastore())))
	return merkledag.NewDAGService(blockservice.New(bs, offline.Exchange(bs)))
}

// addFile adds data as buckets do (ipfs-lite AddFile with RawLeaves: CIDv1, raw leaves,
// 256 KiB chunks, balanced).
func addFile(t *testing.T, dag ipld.DAGService, data []byte) ipld.Node {
	t.Helper()
	prefix, _ := merkledag.PrefixForCidVersion(1)
	prefix.MhLength = -1
	dbh, err := (&helpers.DagBuilderParams{Dagserv: dag, RawLeaves: true, Maxlinks: helpers.DefaultLinksPerBlock, CidBuilder: &prefix}).
		New(chunker.NewSizeSplitter(bytes.NewReader(data), 256<<10))
	if err != nil {
		t.Fatal(err)
	}
	nd, err := balanced.Layout(dbh)
	if err != nil {
		t.Fatal(err)
	}
	return nd
}

// addDir adds a CIDv1 directory of the entries.
func addDir(t *testing.T, dag ipld.DAGService, entries map[string]ipld.Node) ipld.Node {
	t.Helper()
	dir := uio.NewDirectory(dag)
	dir.SetCidBuilder(merkledag.V1CidPrefix())
	for name, nd := range entries {
		if err := dir.AddChild(t.Context(), name, nd); err != nil {
			t.Fatal(err)
		}
	}
	nd, err := dir.GetNode()
	if err != nil {
		t.Fatal(err)
	}
	if err := dag.Add(t.Context(), nd); err != nil {
		t.Fatal(err)
	}
	return nd
}

func newKey(t *testing.T) string {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	s, err := peer.ToCid(id).StringOfBase(mbase.Base32)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mapStore is a Store over a map (the daemon's reads instances: pkg/server).
type mapStore struct {
	mu sync.Mutex
	m  map[string]Bucket // by key
}

func (s *mapStore) put(b Bucket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]Bucket{}
	}
	s.m[b.Key] = b
}

func (s *mapStore) Bucket(_ context.Context, db thread.ID, key string) (Bucket, error) {
	b, err := s.BucketByKey(context.Background(), key)
	if err != nil || b.DB != db {
		return Bucket{}, ErrNotFound
	}
	return b, nil
}

func (s *mapStore) BucketByKey(_ context.Context, key string) (Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key]
	if !ok {
		return Bucket{}, ErrNotFound
	}
	return b, nil
}

type fixture struct {
	url             string
	dag             ipld.DAGService
	store           *mapStore
	db              thread.ID
	pub, priv       Bucket
	big             []byte
	bigCID, rootCID cid.Cid
}

// serve starts h on a real listener on 127.0.0.1:0, with the daemon's server settings.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, 10*time.Second, time.Minute, nil)
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	return "http://" + lis.Addr().String()
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	f := &fixture{dag: testDAG(), store: &mapStore{}, db: thread.NewIDV1(thread.Raw, 32)}
	f.big = make([]byte, 700<<10) // three chunks
	rand.Read(f.big)
	bigNode := addFile(t, f.dag, f.big)
	f.bigCID = bigNode.Cid()
	sub := addDir(t, f.dag, map[string]ipld.Node{"note.md": addFile(t, f.dag, []byte("# notes\n"))})
	seed := merkledag.NewRawNode([]byte("0123456789abcdef0123456789abcdef"))
	f.dag.Add(t.Context(), seed)
	root := addDir(t, f.dag, map[string]ipld.Node{
		"index.html": addFile(t, f.dag, []byte("<p>hello</p>")),
		"big.bin":    bigNode,
		"noext":      addFile(t, f.dag, []byte("%PDF-1.4 a document")),
		"sub":        sub,
		seedName:     seed,
		"a file.txt": addFile(t, f.dag, []byte("spaced")),
		"secret.txt": addFile(t, f.dag, []byte("private content")),
	})
	f.rootCID = root.Cid()
	f.pub = Bucket{DB: f.db, Key: newKey(t), Name: "site", Root: root.Cid()}
	f.priv = Bucket{DB: f.db, Key: newKey(t), Name: "hidden", Root: root.Cid(), Private: true}
	f.store.put(f.pub)
	f.store.put(f.priv)
	o.Store, o.DAG = f.store, f.dag
	f.url = serve(t, New(o))
	return f
}

func (f *fixture) bucketURL(b Bucket, p string) string {
	return f.url + "/thread/" + b.DB.String() + "/buckets/" + b.Key + p
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func wantStatus(t *testing.T, what string, res *http.Response, body []byte, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("%s: status %d, want %d: %q", what, res.StatusCode, code, clip(string(body)))
	}
}

func TestGatewayServesFiles(t *testing.T) {
	f := newFixture(t, Options{})
	for _, tc := range []struct{ url, ctype, body string }{
		{f.bucketURL(f.pub, "/index.html"), "text/html; charset=utf-8", "<p>hello</p>"},
		{f.bucketURL(f.pub, "/sub/note.md"), "text/plain; charset=utf-8", "# notes\n"},
		{f.bucketURL(f.pub, "/noext"), "application/pdf", "%PDF-1.4 a document"}, // sniffed
		{f.bucketURL(f.pub, "/a%20file.txt"), "text/plain; charset=utf-8", "spaced"},
		{f.url + "/ipns/" + f.pub.Key + "/index.html", "text/html; charset=utf-8", "<p>hello</p>"},
		{f.url + "/ipfs/" + f.rootCID.String() + "/sub/note.md", "text/plain; charset=utf-8", "# notes\n"},
	} {
		res, body := get(t, tc.url)
		wantStatus(t, tc.url, res, body, http.StatusOK)
		if got := res.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: content type %q, want %q", tc.url, got, tc.ctype)
		}
		if string(body) != tc.body {
			t.Errorf("%s: body %q, want %q", tc.url, body, tc.body)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", tc.url)
		}
	}

	// The whole large file, a range of it across a chunk boundary, ETag and 304.
	url := f.bucketURL(f.pub, "/big.bin")
	res, body := get(t, url)
	wantStatus(t, "big file", res, body, http.StatusOK)
	if !bytes.Equal(body, f.big) {
		t.Fatalf("big file: %d bytes differ from the %d pushed", len(body), len(f.big))
	}
	etag := `"` + f.bigCID.String() + `"`
	if got := res.Header.Get("Etag"); got != etag {
		t.Fatalf("ETag %q, want %q", got, etag)
	}
	from, to := 256<<10-10, 256<<10+9
	res, body = get(t, url, "Range", fmt.Sprintf("bytes=%d-%d", from, to))
	wantStatus(t, "range", res, body, http.StatusPartialContent)
	if !bytes.Equal(body, f.big[from:to+1]) {
		t.Fatalf("range: got %d bytes, not the ones asked for", len(body))
	}
	if got, want := res.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-%d/%d", from, to, len(f.big)); got != want {
		t.Fatalf("Content-Range %q, want %q", got, want)
	}
	res, body = get(t, url, "Range", "bytes=-5")
	wantStatus(t, "suffix range", res, body, http.StatusPartialContent)
	if !bytes.Equal(body, f.big[len(f.big)-5:]) {
		t.Fatalf("suffix range: %x", body)
	}
	res, body = get(t, url, "If-None-Match", etag)
	wantStatus(t, "If-None-Match", res, body, http.StatusNotModified)
	if len(body) != 0 {
		t.Fatalf("304 with a body of %d bytes", len(body))
	}
	res, body = get(t, url, "If-None-Match", `"bafkreiother"`)
	wantStatus(t, "If-None-Match of another CID", res, body, http.StatusOK)

	// HEAD: the length, no body.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, url, nil)
	hres, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hres.Body.Close()
	if hres.StatusCode != http.StatusOK || hres.ContentLength != int64(len(f.big)) {
		t.Fatalf("HEAD: %d, length %d", hres.StatusCode, hres.ContentLength)
	}
	// The /ipfs/ form of a file is immutable.
	res, _ = get(t, f.url+"/ipfs/"+f.bigCID.String())
	if !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("/ipfs/ Cache-Control %q", res.Header.Get("Cache-Control"))
	}
}

func TestGatewayListsDirectories(t *testing.T) {
	f := newFixture(t, Options{})
	res, body := get(t, f.bucketURL(f.pub, ""), "Accept", "text/html,application/xhtml+xml,application/json;q=0.9")
	wantStatus(t, "HTML listing", res, body, http.StatusOK)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("listing for a browser: %s", res.Header.Get("Content-Type"))
	}
	html := string(body)
	for _, want := range []string{"Index of /site", `href="/thread/` + f.db.String() + `/buckets/` + f.pub.Key + `/sub"`, "sub/", "a%20file.txt", "big.bin"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML listing lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, seedName) {
		t.Errorf("HTML listing shows the seed:\n%s", html)
	}

	for _, tc := range []struct{ url, accept string }{
		{f.bucketURL(f.pub, "/"), "application/json"},
		{f.bucketURL(f.pub, "?json=true"), ""},
	} {
		res, body = get(t, tc.url, "Accept", tc.accept)
		wantStatus(t, "JSON listing", res, body, http.StatusOK)
		var l Listing
		if err := json.Unmarshal(body, &l); err != nil || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("JSON listing (%s): %v %s", res.Header.Get("Content-Type"), err, body)
		}
		names := map[string]Item{}
		for _, it := range l.Items {
			names[it.Name] = it
		}
		if len(l.Items) != 6 || !l.IsDir || l.CID != f.rootCID.String() || l.Next != "" {
			t.Fatalf("JSON listing: %s", body)
		}
		if it := names["big.bin"]; it.Size != int64(len(f.big)) || it.IsDir || it.CID != f.bigCID.String() {
			t.Fatalf("big.bin in the listing: %+v", it)
		}
		if it := names["sub"]; !it.IsDir {
			t.Fatalf("sub in the listing: %+v", it)
		}
		if _, ok := names[seedName]; ok {
			t.Fatalf("JSON listing shows the seed: %s", body)
		}
	}
	// /ipfs/ lists every entry, the seed too: it is a plain DAG there.
	res, body = get(t, f.url+"/ipfs/"+f.rootCID.String()+"?json=true")
	wantStatus(t, "/ipfs/ listing", res, body, http.StatusOK)
	var l Listing
	json.Unmarshal(body, &l)
	if len(l.Items) != 7 {
		t.Fatalf("/ipfs/ listing: %s", body)
	}
}

func TestGatewayListingPages(t *testing.T) {
	f := newFixture(t, Options{MaxListing: 2})
	seen := map[string]bool{}
	next := f.bucketURL(f.pub, "?json=true")
	for pages := 0; next != ""; pages++ {
		if pages > 4 {
			t.Fatalf("more pages than entries")
		}
		res, body := get(t, next)
		wantStatus(t, "page", res, body, http.StatusOK)
		var l Listing
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Items) > 2 {
			t.Fatalf("a page of %d entries, bound 2", len(l.Items))
		}
		for _, it := range l.Items {
			if seen[it.Name] {
				t.Fatalf("%s on two pages", it.Name)
			}
			seen[it.Name] = true
		}
		next = ""
		if l.Next != "" {
			next = f.url + l.Next
		}
	}
	if len(seen) != 6 {
		t.Fatalf("pages listed %d entries, want 6: %v", len(seen), seen)
	}
}

// Missing databases, buckets, keys and paths, and private buckets, all get the same 404.
func TestGatewayNotFoundSaysNotWhich(t *testing.T) {
	f := newFixture(t, Options{})
	other := thread.NewIDV1(thread.Raw, 32)
	missing := Bucket{DB: other, Key: f.pub.Key}
	var bodies []string
	for _, url := range []string{
		f.bucketURL(missing, "/index.html"),                          // another database
		f.bucketURL(Bucket{DB: f.db, Key: newKey(t)}, "/index.html"), // unknown key
		f.url + "/thread/not-a-db/buckets/" + f.pub.Key,              // no thread ID
		f.url + "/thread/" + f.db.String() + "/buckets/not-a-key",    // no key
		f.bucketURL(f.pub, "/nothing.html"),                          // missing path
		f.bucketURL(f.pub, "/index.html/below"),                      // under a file
		f.bucketURL(f.priv, "/index.html"),                           // private, existing path
		f.bucketURL(f.priv, "/nothing.html"),                         // private, missing path
		f.bucketURL(f.priv, ""),                                      // private root
		f.url + "/ipns/" + f.priv.Key + "/index.html",                // private by key
		f.url + "/ipns/" + newKey(t),                                 // unknown key
		f.bucketURL(f.pub, "/"+seedName),                             // the seed, by a bucket path
		f.url + "/ipfs/" + merkledag.NewRawNode([]byte("absent")).Cid().String(),
		f.url + "/nowhere",
	} {
		res, body := get(t, url)
		wantStatus(t, url, res, body, http.StatusNotFound)
		bodies = append(bodies, string(body))
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Fatalf("404 answers differ: %q and %q", bodies[0], b)
		}
	}
}

func TestGatewayRefusesBadInput(t *testing.T) {
	f := newFixture(t, Options{})
	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		// A bucket route's bad path is the one 404 (private_test.go: it tells nothing).
		{"/thread/" + f.db.String() + "/buckets/" + f.pub.Key + "/sub/../index.html", 404, notFound},
		{"/thread/" + f.db.String() + "/buckets/" + f.pub.Key + "/sub/%2E%2E/index.html", 404, notFound},
		{"/ipns/" + f.pub.Key + "/sub%2Fnote.md", 404, notFound},
		{"/ipfs/" + f.rootCID.String() + "/sub/%2e%2e/%2e%2e/etc", 400, `".." segments`},
		{"/ipfs/" + f.rootCID.String() + "/./index.html", 400, `"." segments`},
		{"/ipfs/" + f.rootCID.String() + "/sub//note.md", 400, "empty segment"},
		{"/ipfs/" + f.rootCID.String() + "/sub%2Fnote.md", 400, "slash or NUL"},
		{"/ipfs/" + f.rootCID.String() + "/a%00b", 400, "slash or NUL"},
		{"/ipfs/not-a-cid", 400, "invalid CID"},
		{"/ipfs/" + f.rootCID.String() + strings.Repeat("/x", maxSegments+1), 400, "segments"},
		{"/ipfs/" + f.rootCID.String() + "?offset=-1", 400, "invalid offset"},
	} {
		// Raw paths: net/http's client would clean some of them.
		res, body := rawGet(t, f.url, tc.path)
		if res.StatusCode != tc.code || !strings.Contains(string(body), tc.msg) || strings.Count(string(body), "\n") != 1 {
			t.Errorf("%s: %d %q, want %d with %q on one line", tc.path, res.StatusCode, body, tc.code, tc.msg)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.bucketURL(f.pub, "/index.html"), strings.NewReader("x"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", res.StatusCode)
	}
}

// rawGet sends a request line as given, without the client's path cleaning.
func rawGet(t *testing.T, base, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var extra strings.Builder
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&extra, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", path, extra.String())
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// A Range header of many ranges gets the whole file, not one part per range: without
// the bound, this is a 206 of 400 parts.
func TestGatewayBoundsRanges(t *testing.T) {
	f := newFixture(t, Options{})
	var parts []string
	for i := 0; i < 400; i++ {
		parts = append(parts, fmt.Sprintf("%d-%d", i*1000, i*1000))
	}
	url := f.bucketURL(f.pub, "/big.bin")
	res, body := get(t, url, "Range", "bytes="+strings.Join(parts, ","))
	wantStatus(t, "400 ranges", res, body, http.StatusOK)
	if !bytes.Equal(body, f.big) {
		t.Fatalf("400 ranges: %d bytes, not the file", len(body))
	}
	// A few ranges still work, as multipart.
	res, body = get(t, url, "Range", "bytes=0-0,1000-1001")
	wantStatus(t, "2 ranges", res, body, http.StatusPartialContent)
	_, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var got [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		got = append(got, b)
	}
	if len(got) != 2 || !bytes.Equal(got[0], f.big[0:1]) || !bytes.Equal(got[1], f.big[1000:1002]) {
		t.Fatalf("2 ranges: %x", got)
	}
	// Ranges past the end or overflowing: 416.
	for _, rg := range []string{"bytes=99999999999999999999999-", "bytes=800000-900000"} {
		res, body = get(t, url, "Range", rg)
		wantStatus(t, rg, res, body, http.StatusRequestedRangeNotSatisfiable)
	}
}

// go-threads' records share the blockstore. Their blocks are dag-cbor, and encrypted ones
// are one CBOR byte string; the blockstore keys by multihash, so the raw CID of the same
// hash fetches the same bytes. Neither is served: without the shape check, the raw CID
// of an event's encrypted body comes back as a file (this test fails).
func TestGatewayNeverServesThreadRecords(t *testing.T) {
	f := newFixture(t, Options{})
	rkey, err := symmetric.NewRandom()
	if err != nil {
		t.Fatal(err)
	}
	body, err := cbornode.WrapObject(map[string]string{"secret": "a thread's instance"}, 0x12, -1)
	if err != nil {
		t.Fatal(err)
	}
	// go-threads' own code writes the event, its header and its encrypted body.
	ev, err := tcbor.CreateEvent(t.Context(), f.dag, body, rkey)
	if err != nil {
		t.Fatal(err)
	}
	bodyCID := ev.BodyID()
	headerCID := ev.HeaderID()
	for what, c := range map[string]cid.Cid{
		"the encrypted body":            bodyCID,
		"the encrypted body, as raw":    cid.NewCidV1(cid.Raw, bodyCID.Hash()),
		"the encrypted header, as raw":  cid.NewCidV1(cid.Raw, headerCID.Hash()),
		"the event node":                ev.Cid(),
		"the event node, as dag-pb":     cid.NewCidV1(cid.DagProtobuf, ev.Cid().Hash()),
		"the encrypted body, as dag-pb": cid.NewCidV1(cid.DagProtobuf, bodyCID.Hash()),
	} {
		res, b := get(t, f.url+"/ipfs/"+c.String())
		wantStatus(t, what, res, b, http.StatusNotFound)
	}
	// The bytes are there: the DAG has them under the raw CID.
	if _, err := f.dag.Get(t.Context(), cid.NewCidV1(cid.Raw, bodyCID.Hash())); err != nil {
		t.Fatalf("the record is not in the blockstore: %v", err)
	}
	// FilesOnly, for other readers of caller-named CIDs, refuses them alike.
	if _, err := FilesOnly(f.dag).Get(t.Context(), cid.NewCidV1(cid.Raw, bodyCID.Hash())); !notServed(err) {
		t.Fatalf("FilesOnly served the encrypted body: %v", err)
	}
	if _, err := FilesOnly(f.dag).Get(t.Context(), f.bigCID); err != nil {
		t.Fatalf("FilesOnly: a file: %v", err)
	}
}

func TestCBORByteString(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 255, 256, 65535, 65536, 300000} {
		data, err := cbornode.DumpObject(make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		if !isCBORByteString(data) {
			t.Errorf("a %d-byte CBOR byte string not recognised", n)
		}
		if isCBORByteString(append(data, 0)) || (len(data) > 1 && isCBORByteString(data[:len(data)-1])) {
			t.Errorf("a %d-byte CBOR byte string with a byte more or less recognised", n)
		}
	}
	for _, s := range []string{"", "hello", "\x5f\x41a\xff", "\x5c"} {
		if isCBORByteString([]byte(s)) {
			t.Errorf("%q taken for a CBOR byte string", s)
		}
	}
}

// A client that stops reading is cut off after WriteStall: the handler does not wait for
// it for ever (without the write deadline, it does: this test fails at its bound).
func TestGatewayCutsOffStalledClients(t *testing.T) {
	dag := testDAG()
	data := make([]byte, 64<<20) // more than the socket buffers hold
	big := addFile(t, dag, data)
	ended := make(chan error, 1)
	h := New(Options{Store: &mapStore{}, DAG: dag, WriteStall: 200 * time.Millisecond})
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		ended <- r.Context().Err()
	}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetReadBuffer(4 << 10)
	}
	fmt.Fprintf(conn, "GET /ipfs/%s HTTP/1.1\r\nHost: x\r\n\r\n", big.Cid())
	select {
	case <-ended:
	case <-time.After(time.Minute):
		t.Fatal("the handler still writes to a client that reads nothing after a minute")
	}
}

// Requests at once are bounded: with one slot held by a download its client does not
// read, the next request is answered 503 at once (without the bound, it is served).
func TestGatewayBoundsRequestsInFlight(t *testing.T) {
	dag := testDAG()
	big := addFile(t, dag, make([]byte, 64<<20))
	small := addFile(t, dag, []byte("small"))
	url := serve(t, New(Options{Store: &mapStore{}, DAG: dag, MaxInFlight: 1}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(conn, "GET /ipfs/%s HTTP/1.1\r\nHost: x\r\n\r\n", big.Cid())
	// Its headers came: its handler holds the slot, and sends for as long as it can.
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the first request: %v %v", res, err)
	}
	res2, body := get(t, url+"/ipfs/"+small.Cid().String())
	wantStatus(t, "a request beyond the bound", res2, body, http.StatusServiceUnavailable)
	if !strings.Contains(string(body), "busy") || res2.Header.Get("Retry-After") == "" {
		t.Fatalf("503: %q", body)
	}
	// Health checks are answered still.
	res2, body = get(t, url+"/health")
	wantStatus(t, "health", res2, body, http.StatusOK)
	conn.Close()
}

// A sharded (HAMT) directory, as a bootstrapped bucket may hold, resolves and lists in
// pages as a basic one does.
func TestGatewayShardedDirectories(t *testing.T) {
	dag := testDAG()
	sh, err := hamt.NewShard(dag, 256)
	if err != nil {
		t.Fatal(err)
	}
	sh.SetCidBuilder(merkledag.V1CidPrefix())
	for i := 0; i < 600; i++ {
		if err := sh.Set(t.Context(), fmt.Sprintf("f%03d", i), addFile(t, dag, []byte(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	nd, err := sh.Node()
	if err != nil {
		t.Fatal(err)
	}
	if err := dag.Add(t.Context(), nd); err != nil {
		t.Fatal(err)
	}
	url := serve(t, New(Options{Store: &mapStore{}, DAG: dag, MaxListing: 250}))
	res, body := get(t, url+"/ipfs/"+nd.Cid().String()+"/f417")
	wantStatus(t, "a file of a sharded directory", res, body, http.StatusOK)
	if string(body) != "417" {
		t.Fatalf("f417: %q", body)
	}
	res, body = get(t, url+"/ipfs/"+nd.Cid().String()+"/f600")
	wantStatus(t, "a missing name", res, body, http.StatusNotFound)
	seen := map[string]bool{}
	next := "/ipfs/" + nd.Cid().String() + "?json=true"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than 600 entries make")
		}
		res, body = get(t, url+next)
		wantStatus(t, "a page", res, body, http.StatusOK)
		var l Listing
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Items {
			if seen[it.Name] || it.IsDir || it.Size == 0 {
				t.Fatalf("entry %+v (seen %v)", it, seen[it.Name])
			}
			seen[it.Name] = true
		}
		next = l.Next
	}
	if len(seen) != 600 {
		t.Fatalf("%d entries listed, want 600", len(seen))
	}
}

// Drain waits for the requests in progress (here one whose client reads nothing), and
// once drained the handler refuses new ones: a stopping daemon closes its blockstore
// only then.
func TestGatewayDrain(t *testing.T) {
	dag := testDAG()
	big := addFile(t, dag, make([]byte, 64<<20))
	h := New(Options{Store: &mapStore{}, DAG: dag, MaxInFlight: 4})
	url := serve(t, h)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(conn, "GET /ipfs/%s HTTP/1.1\r\nHost: x\r\n\r\n", big.Cid())
	if res, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the download: %v %v", res, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.Drain(ctx); err == nil {
		t.Fatal("drained with a download in progress")
	}

	h2 := New(Options{Store: &mapStore{}, DAG: dag})
	url2 := serve(t, h2)
	ctx, cancel = context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := h2.Drain(ctx); err != nil {
		t.Fatalf("drain with nothing in progress: %v", err)
	}
	res, body := get(t, url2+"/ipfs/"+big.Cid().String())
	wantStatus(t, "a request after the drain", res, body, http.StatusServiceUnavailable)
}

// An identity CID holds its block itself: the node's blockstore answers it without
// holding anything. The gateway does not serve it, so nobody can have it serve a page
// written into a URL (without the check, this one is served as text/html).
func TestGatewayRefusesIdentityCIDs(t *testing.T) {
	f := newFixture(t, Options{})
	page := []byte("<!DOCTYPE html><script>alert(document.domain)</script>")
	mh, err := multihash.Sum(page, multihash.IDENTITY, -1)
	if err != nil {
		t.Fatal(err)
	}
	c := cid.NewCidV1(cid.Raw, mh)
	if _, err := f.dag.Get(t.Context(), c); err != nil {
		t.Fatalf("the blockstore does not answer identity CIDs: %v", err)
	}
	res, body := get(t, f.url+"/ipfs/"+c.String())
	wantStatus(t, "an identity CID", res, body, http.StatusNotFound)
}
