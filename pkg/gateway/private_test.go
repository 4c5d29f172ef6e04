package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cid "github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/buckets"
)

// countingDAG counts the blocks read through it: a refusal must read none. hold, when
// set, is called before each read (a test holds a read there).
type countingDAG struct {
	ipld.DAGService
	gets atomic.Int64
	hold atomic.Pointer[func(context.Context, cid.Cid)]
}

func (c *countingDAG) Get(ctx context.Context, k cid.Cid) (ipld.Node, error) {
	c.gets.Add(1)
	if h := c.hold.Load(); h != nil {
		(*h)(ctx, k)
	}
	return c.DAGService.Get(ctx, k)
}

// privFixture is a gateway serving one private bucket, made with pkg/buckets as the
// buckets service makes one (a sealed root with its seed, files sealed with the root's
// file key), owned by "owner"; tokens name identities through Identify.
type privFixture struct {
	url    string
	dag    *countingDAG
	store  *mapStore
	b      Bucket
	inst   *buckets.Bucket
	files  map[string][]byte
	stored map[string]cid.Cid // the stored (sealed) file of each path
}

const (
	ownerID    = "owner-identity"
	bobID      = "bob-identity"
	ownerToken = "owner.token.sig"
	bobToken   = "bob.token.sig"
)

func newPrivFixture(t *testing.T) *privFixture {
	t.Helper()
	return newPrivFixtureWith(t, Options{})
}

func newPrivFixtureWith(t *testing.T, o Options) *privFixture {
	t.Helper()
	ctx := t.Context()
	f := &privFixture{dag: &countingDAG{DAGService: testDAG()}, store: &mapStore{}, stored: map[string]cid.Cid{}}
	big := make([]byte, 700<<10) // three chunks, several blocks once sealed
	rand.Read(big)
	f.files = map[string][]byte{
		"secret.txt":     []byte("the owner's secret, in plain text"),
		"noext":          []byte("%PDF-1.4 a private document"),
		"big.bin":        big,
		"docs/a.txt":     []byte("docs a: for readers of docs"),
		"docs/deep/b.md": []byte("# docs b, deeper"),
		"pub/open.txt":   []byte("given to everyone"),
	}
	linkKey, err := buckets.NewEncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	fileKey, err := buckets.NewEncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := buckets.NewSeed()
	if err != nil {
		t.Fatal(err)
	}
	keys := buckets.Keys{Link: linkKey, File: fileKey}
	root, _, err := buckets.SealedRoot(ctx, f.dag, seed, keys)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := buckets.NewPrivateEditor(ctx, f.dag, root.Cid(), linkKey)
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range f.files {
		enc, err := buckets.Encrypt(bytes.NewReader(data), fileKey)
		if err != nil {
			t.Fatal(err)
		}
		nd, err := buckets.AddFile(ctx, f.dag, enc)
		if err != nil {
			t.Fatal(err)
		}
		if err := ed.Put(ctx, p, nd); err != nil {
			t.Fatal(err)
		}
		f.stored[p] = nd.Cid()
	}
	rootCID, err := ed.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	f.inst = buckets.NewPrivate(key, ownerID, "vault", rootCID, linkKey, fileKey, time.Now())
	f.b = Bucket{DB: thread.NewIDV1(thread.Raw, 32), Key: key, Name: "vault", Root: rootCID, Private: true, Instance: f.inst}
	f.store.put(f.b)
	identities := map[string]string{ownerToken: ownerID, bobToken: bobID}
	o.Store, o.DAG = f.store, f.dag
	o.Identify = func(tok string) (string, bool) {
		who, ok := identities[tok]
		return who, ok
	}
	f.url = serve(t, New(o))
	return f
}

func (f *privFixture) at(p string) string {
	return f.url + "/thread/" + f.b.DB.String() + "/buckets/" + f.b.Key + p
}

// grant sets roles on pth as PushPathAccessRoles does (the instance changes; the store
// answers the new one).
func (f *privFixture) grant(pth string, roles map[string]buckets.Role) {
	inst := f.inst.Copy()
	inst.SetRoles(pth, roles, time.Now().UnixNano())
	b := f.b
	b.Instance = inst
	f.store.put(b)
}

// The owner's token, by header or by ?token=, reads every file in plain text (several
// chunks too), typed by extension or sniffed, with the stored CID as ETag (304 on it,
// without decrypting), whole even when a Range is asked, and lists directories with their
// plain names, without the seed, with plain sizes; the HTML listing's links carry the
// ?token= the request came with, and only then.
func TestGatewayPrivateOwnerReadsPlaintext(t *testing.T) {
	f := newPrivFixture(t)
	bearer := []string{"Authorization", "Bearer " + ownerToken}
	for p, want := range f.files {
		for _, how := range []string{"header", "query"} {
			var res *http.Response
			var body []byte
			if how == "header" {
				res, body = get(t, f.at("/"+p), bearer...)
			} else {
				res, body = get(t, f.at("/"+p+"?token="+ownerToken))
			}
			wantStatus(t, p+" by "+how, res, body, http.StatusOK)
			if !bytes.Equal(body, want) {
				t.Fatalf("%s by %s: %d bytes, not the %d pushed", p, how, len(body), len(want))
			}
			if got := res.Header.Get("Etag"); got != `"`+f.stored[p].String()+`"` {
				t.Errorf("%s: ETag %s, want the stored CID %s", p, got, f.stored[p])
			}
			if res.Header.Get("Cache-Control") != "private, no-cache" {
				t.Errorf("%s: Cache-Control %q", p, res.Header.Get("Cache-Control"))
			}
		}
	}
	for p, ct := range map[string]string{"secret.txt": "text/plain; charset=utf-8", "docs/deep/b.md": "text/plain; charset=utf-8", "noext": "application/pdf"} {
		res, body := get(t, f.at("/"+p), bearer...)
		if got := res.Header.Get("Content-Type"); got != ct {
			t.Errorf("%s: content type %q, want %q (%q)", p, got, ct, clip(string(body)))
		}
	}
	res, body := get(t, f.at("/big.bin"), append(bearer, "Range", "bytes=10-19")...)
	wantStatus(t, "a range of a private file", res, body, http.StatusOK)
	if !bytes.Equal(body, f.files["big.bin"]) || res.Header.Get("Accept-Ranges") != "none" {
		t.Fatalf("a range of a private file: %d bytes, Accept-Ranges %q", len(body), res.Header.Get("Accept-Ranges"))
	}
	res, body = get(t, f.at("/big.bin"), append(bearer, "If-None-Match", `"`+f.stored["big.bin"].String()+`"`)...)
	wantStatus(t, "If-None-Match", res, body, http.StatusNotModified)

	for p, ct := range map[string]string{"big.bin": "application/octet-stream", "noext": "application/pdf"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, f.at("/"+p), nil)
		req.Header.Set(bearer[0], bearer[1])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.ContentLength != int64(len(f.files[p])) || res.Header.Get("Content-Type") != ct {
			t.Errorf("HEAD %s: %d, length %d, type %q; want 200, %d, %q", p, res.StatusCode, res.ContentLength, res.Header.Get("Content-Type"), len(f.files[p]), ct)
		}
	}

	res, body = get(t, f.at("/?json=true"), bearer...)
	wantStatus(t, "the root's listing", res, body, http.StatusOK)
	var l Listing
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	got := map[string]Item{}
	for _, it := range l.Items {
		got[it.Name] = it
	}
	if len(got) != 5 || !got["docs"].IsDir || !got["pub"].IsDir || got["secret.txt"].IsDir {
		t.Fatalf("the root's listing: %+v", l.Items)
	}
	for _, name := range []string{"secret.txt", "big.bin", "noext"} {
		if got[name].Size != int64(len(f.files[name])) || got[name].CID != f.stored[name].String() {
			t.Errorf("listing of %s: %+v, want size %d, CID %s", name, got[name], len(f.files[name]), f.stored[name])
		}
	}
	if l.CID != f.b.Root.String() {
		t.Errorf("the listing's CID %s, not the stored root %s", l.CID, f.b.Root)
	}

	res, body = get(t, f.at("/docs?token="+ownerToken))
	wantStatus(t, "an HTML listing by ?token=", res, body, http.StatusOK)
	if !strings.Contains(string(body), `href="/thread/`+f.b.DB.String()+`/buckets/`+f.b.Key+`/docs/a.txt?token=`+ownerToken+`"`) {
		t.Fatalf("the listing's links do not carry the token: %s", body)
	}
	res, body = get(t, f.at("/docs"), bearer...)
	wantStatus(t, "an HTML listing by header", res, body, http.StatusOK)
	if strings.Contains(string(body), ownerToken) {
		t.Fatalf("a listing for a header token shows the token: %s", body)
	}
}

// Another identity reads nothing until the owner grants it reader on docs; then docs and
// what is under it, and nothing else. What the bucket gives everyone ("*") is read
// without a token. Revoking the grant takes it back.
func TestGatewayPrivateRoles(t *testing.T) {
	f := newPrivFixture(t)
	bob := []string{"Authorization", "Bearer " + bobToken}
	for _, p := range []string{"/docs/a.txt", "/docs", "/", "/secret.txt"} {
		res, body := get(t, f.at(p), bob...)
		wantStatus(t, "bob before the grant: "+p, res, body, http.StatusNotFound)
	}
	f.grant("docs", map[string]buckets.Role{bobID: buckets.Reader})
	for _, p := range []string{"docs/a.txt", "docs/deep/b.md"} {
		res, body := get(t, f.at("/"+p), bob...)
		wantStatus(t, "bob, reader of docs: "+p, res, body, http.StatusOK)
		if !bytes.Equal(body, f.files[p]) {
			t.Fatalf("bob: %s is %q", p, clip(string(body)))
		}
	}
	res, body := get(t, f.at("/docs?json=1"), bob...)
	wantStatus(t, "bob lists docs", res, body, http.StatusOK)
	var l Listing
	if err := json.Unmarshal(body, &l); err != nil || len(l.Items) != 2 {
		t.Fatalf("bob's listing of docs: %v %s", err, body)
	}
	// Every link of a listing opens for the one it was listed to (the Back link too):
	// roles only widen down the tree, and a listing leaves out what its reader may not
	// read.
	res, body = get(t, f.at("/docs/deep?token="+bobToken))
	wantStatus(t, "bob's HTML listing of docs/deep", res, body, http.StatusOK)
	hrefs := regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(string(body), -1)
	if len(hrefs) != 2 {
		t.Fatalf("bob's listing of docs/deep links %v", hrefs)
	}
	for _, m := range hrefs {
		res, body := get(t, f.url+html.UnescapeString(m[1]))
		wantStatus(t, "bob follows "+m[1], res, body, http.StatusOK)
	}
	res, body = get(t, f.at("/docs/missing.txt"), bob...)
	wantStatus(t, "bob, a missing path under his grant", res, body, http.StatusNotFound)
	for _, p := range []string{"/", "/secret.txt", "/big.bin", "/pub/open.txt", "/docsx"} {
		res, body := get(t, f.at(p), bob...)
		wantStatus(t, "bob outside his grant: "+p, res, body, http.StatusNotFound)
	}

	res, body = get(t, f.at("/pub/open.txt"))
	wantStatus(t, "anyone before * is granted", res, body, http.StatusNotFound)
	f.grant("pub", map[string]buckets.Role{buckets.Everyone: buckets.Reader})
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer garbage"}, bob} {
		res, body = get(t, f.at("/pub/open.txt"), hdr...)
		wantStatus(t, "what * may read", res, body, http.StatusOK)
		if !bytes.Equal(body, f.files["pub/open.txt"]) {
			t.Fatalf("what * may read: %q", body)
		}
	}
	res, body = get(t, f.at("/docs/a.txt"))
	wantStatus(t, "anyone, docs", res, body, http.StatusNotFound)

	inst := f.inst.Copy()
	inst.SetRoles("docs", map[string]buckets.Role{bobID: buckets.Reader}, 1)
	inst.SetRoles("docs", map[string]buckets.Role{bobID: buckets.None}, 2)
	b := f.b
	b.Instance = inst
	f.store.put(b)
	res, body = get(t, f.at("/docs/a.txt"), bob...)
	wantStatus(t, "bob after the grant is taken back", res, body, http.StatusNotFound)
}

// Every refusal of a private bucket is byte for byte the 404 of a missing bucket, for
// paths that exist and paths that do not, and is given before a single block is read:
// no token, a token Identify refuses (garbage, another host's, expired, a revoked key's:
// hubauth's GatewayIdentity), another identity's token, a token for a path outside its
// grant, and paths with "..", encoded dots or an encoded slash that would climb out of
// the grant.
func TestGatewayPrivateRefusalsSayNothing(t *testing.T) {
	f := newPrivFixture(t)
	f.grant("docs", map[string]buckets.Role{bobID: buckets.Reader})
	missingBucket := f.url + "/thread/" + f.b.DB.String() + "/buckets/" + newKey(t) + "/secret.txt"
	res, want := rawGet(t, f.url, strings.TrimPrefix(missingBucket, f.url))
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("a missing bucket: %d", res.StatusCode)
	}
	wantType := res.Header.Get("Content-Type")
	base := "/thread/" + f.b.DB.String() + "/buckets/" + f.b.Key
	for _, tc := range []struct{ what, path, auth string }{
		{"no token, existing", "/secret.txt", ""},
		{"no token, missing", "/nothing.txt", ""},
		{"no token, root", "", ""},
		{"no token, by key", "/ipns/", ""},
		{"garbage token, existing", "/secret.txt", "garbage"},
		{"garbage token, missing", "/nothing.txt", "garbage"},
		{"garbage ?token=", "/secret.txt?token=garbage", ""},
		{"another identity, existing", "/secret.txt", bobToken},
		{"another identity, missing", "/nothing.txt", bobToken},
		{"outside the grant, existing", "/big.bin", bobToken},
		{"outside the grant, directory", "/pub", bobToken},
		{"outside the grant, missing", "/nope/x", bobToken},
		{"the root, reader of docs", "/", bobToken},
		{"..", "/docs/../secret.txt", bobToken},
		{".., missing", "/docs/../nothing.txt", bobToken},
		{"encoded ..", "/docs/%2e%2e/secret.txt", bobToken},
		{"encoded slash", "/docs%2F..%2Fsecret.txt", bobToken},
		{"encoded slash, missing", "/docs%2F..%2Fnothing.txt", bobToken},
		{"the seed", "/" + buckets.SeedName, ownerToken},
	} {
		p := base + tc.path
		if tc.path == "/ipns/" {
			p = "/ipns/" + f.b.Key + "/secret.txt"
		}
		before := f.dag.gets.Load()
		var hdr []string
		if tc.auth != "" {
			hdr = []string{"Authorization", "Bearer " + tc.auth}
		}
		res, body := rawGet(t, f.url, p, hdr...)
		if res.StatusCode != http.StatusNotFound || !bytes.Equal(body, want) || res.Header.Get("Content-Type") != wantType {
			t.Errorf("%s: %d %s %q, want the missing bucket's %q", tc.what, res.StatusCode, res.Header.Get("Content-Type"), body, want)
		}
		for _, h := range []string{"Etag", "Cache-Control", "Vary", "Accept-Ranges"} {
			if res.Header.Get(h) != "" {
				t.Errorf("%s: a refusal has %s: %q", tc.what, h, res.Header.Get(h))
			}
		}
		if n := f.dag.gets.Load() - before; n != 0 {
			t.Errorf("%s: %d blocks read before the refusal", tc.what, n)
		}
	}
	// With the owner's token, a missing path is the same 404, now that it is looked for.
	res, body := get(t, f.at("/nothing.txt"), "Authorization", "Bearer "+ownerToken)
	if res.StatusCode != http.StatusNotFound || !bytes.Equal(body, want) {
		t.Fatalf("the owner, a missing path: %d %q", res.StatusCode, body)
	}
}

// /ipfs/ serves a private bucket's blocks as they are stored: ciphertext. Neither a
// file's plaintext nor a directory's names are found there.
func TestGatewayPrivateCiphertextUnderIPFS(t *testing.T) {
	f := newPrivFixture(t)
	for p, data := range f.files {
		res, body := get(t, f.url+"/ipfs/"+f.stored[p].String())
		wantStatus(t, "/ipfs/ of "+p, res, body, http.StatusOK)
		if bytes.Contains(body, data[:16]) || len(body) != len(data)+sealOverhead {
			t.Fatalf("/ipfs/ of %s: %d bytes, the plaintext's %d (+%d sealed) or holding it", p, len(body), len(data), sealOverhead)
		}
	}
	res, body := get(t, f.url+"/ipfs/"+f.b.Root.String())
	wantStatus(t, "/ipfs/ of the root", res, body, http.StatusOK)
	for _, name := range []string{"secret.txt", "docs", buckets.SeedName} {
		if bytes.Contains(body, []byte(name)) {
			t.Fatalf("/ipfs/ of the sealed root shows %q", name)
		}
	}
}

// sealOverhead is what dcrypto adds: a private file's size is its ciphertext's less it.
func TestSealOverhead(t *testing.T) {
	key, err := buckets.NewEncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 16<<10 - 64, 16 << 10, 300 << 10} {
		r, err := buckets.Encrypt(bytes.NewReader(make([]byte, n)), key)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != n+sealOverhead {
			t.Fatalf("%d bytes seal to %d, not %d", n, len(sealed), n+sealOverhead)
		}
	}
}

// A private file whose key does not open it (here: the instance's file key replaced) is
// never answered as if it were whole: a file of one chunk is a one-line 500 before any
// byte (its MAC is checked before the first), a longer one is broken off before its end
// (its last chunk is held back until the MAC is checked), so the client sees an error,
// never a complete file.
func TestGatewayPrivateWrongKeyIsNeverWhole(t *testing.T) {
	f := newPrivFixture(t)
	other, err := buckets.NewEncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	inst := f.inst.Copy()
	md := inst.Metadata[""]
	md.Key = buckets.EncodeKey(other)
	inst.Metadata[""] = md
	b := f.b
	b.Instance = inst
	f.store.put(b)
	bearer := []string{"Authorization", "Bearer " + ownerToken}
	res, body := get(t, f.at("/secret.txt"), bearer...)
	if res.StatusCode != http.StatusInternalServerError || strings.Count(string(body), "\n") != 1 || bytes.Contains(body, []byte(md.Key)) {
		t.Fatalf("a small file under a wrong key: %d %q", res.StatusCode, body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.at("/big.bin"), nil)
	req.Header.Set(bearer[0], bearer[1])
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err == nil {
		t.Fatalf("a long file under a wrong key: %d, %d bytes read without an error", res.StatusCode, len(got))
	}
}
