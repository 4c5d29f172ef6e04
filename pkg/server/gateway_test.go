package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ipfslite "github.com/hsanjuan/ipfs-lite"
	cid "github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	merkledag "github.com/ipfs/go-merkledag"
	uio "github.com/ipfs/go-unixfs/io"
	"github.com/textileio/go-threads/api/client"
	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	bucketsclient "github.com/textileio/textile/v2/api/bucketsd/client"
	"github.com/textileio/textile/v2/api/common"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/gateway"
	"github.com/hubctl/hubctl/pkg/hubauth"
)

// startGatewayDaemon is startDaemon with the gateway on 127.0.0.1:0.
func startGatewayDaemon(t *testing.T) (*Daemon, *hubauth.Registry) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	reg := hubauth.OpenRegistry(dir)
	opts := loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthKeys, GatewayAddr: "127.0.0.1:0"})
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	opts.Keys = kr
	return serveDaemon(t, opts), reg
}

// plantBucket writes a bucket the way the buckets service does, on the daemon's own DAG
// and through the threads API as its owner: files added with the buckets' parameters, a
// CIDv1 directory, the instance in the buckets collection.
func plantBucket(t *testing.T, d *Daemon, s session, dbID thread.ID, name string, files map[string][]byte, linkKey string) buckets.Bucket {
	t.Helper()
	ctx := t.Context()
	dag := d.node.DAG()
	dir := uio.NewDirectory(dag)
	dir.SetCidBuilder(merkledag.V1CidPrefix())
	seed := merkledag.NewRawNode([]byte(name + " seed, random in real buckets"))
	if err := dag.Add(ctx, seed); err != nil {
		t.Fatal(err)
	}
	children := map[string]ipld.Node{buckets.SeedName: seed}
	for p, data := range files {
		nd, err := dag.AddFile(ctx, bytes.NewReader(data), &ipfslite.AddParams{RawLeaves: true})
		if err != nil {
			t.Fatal(err)
		}
		children[p] = nd
	}
	for p, nd := range children {
		if err := dir.AddChild(ctx, p, nd); err != nil {
			t.Fatal(err)
		}
	}
	root, err := dir.GetNode()
	if err != nil {
		t.Fatal(err)
	}
	if err := dag.Add(ctx, root); err != nil {
		t.Fatal(err)
	}
	key, err := buckets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b := buckets.New(key, s.identity, name, root.Cid(), time.Now())
	b.LinkKey = linkKey
	if _, err := s.c.Create(s.ctx, dbID, buckets.CollectionName, client.Instances{b}, db.WithTxnToken(s.tok)); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return *b
}

func gwGet(t *testing.T, url string, hdr ...string) (*http.Response, string) {
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
	return res, string(body)
}

func wantHTTP(t *testing.T, what string, res *http.Response, body string, code int) {
	t.Helper()
	if res.StatusCode != code {
		if len(body) > 200 {
			body = body[:200]
		}
		t.Fatalf("%s: %d %q, want %d", what, res.StatusCode, body, code)
	}
}

// The daemon's gateway serves the buckets of its databases: by database and key, by key
// alone, by CID; a private bucket and a bucket of an unknown database as missing; and
// never the database's own thread records, which share the blockstore (without the
// gateway's check of their shape, the raw CID of the head record is served: this test
// fails).
func TestGatewayOnTheDaemon(t *testing.T) {
	d, reg := startGatewayDaemon(t)
	st := d.State()
	if st.Gateway == "" || !strings.HasPrefix(st.Gateway, "127.0.0.1:") {
		t.Fatalf("state: gateway %q", st.Gateway)
	}
	base := "http://" + st.Gateway
	alice := newSession(t, d, newKey(t, reg, hubauth.UserKey))
	dbID := thread.NewIDV1(thread.Raw, 32)
	if err := alice.c.NewDB(alice.ctx, dbID, db.WithNewManagedName("files"), db.WithNewManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.NewCollection(alice.ctx, dbID, buckets.CollectionConfig(), db.WithManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 600<<10)
	rand.Read(big)
	pub := plantBucket(t, d, alice, dbID, "site", map[string][]byte{"index.html": []byte("<h1>hi</h1>"), "big.bin": big}, "")
	priv := plantBucket(t, d, alice, dbID, "hidden", map[string][]byte{"secret.txt": []byte("not for you")}, "bGluayBrZXk=")

	byDB := func(b buckets.Bucket, p string) string {
		return base + "/thread/" + dbID.String() + "/buckets/" + b.Key + p
	}
	res, body := gwGet(t, byDB(pub, "/index.html"))
	wantHTTP(t, "a public file", res, body, http.StatusOK)
	if body != "<h1>hi</h1>" || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("a public file: %s %q", res.Header.Get("Content-Type"), body)
	}
	res, body = gwGet(t, base+"/ipns/"+pub.Key+"/big.bin", "Range", "bytes=262140-262149")
	wantHTTP(t, "a range by key", res, body, http.StatusPartialContent)
	if body != string(big[262140:262150]) {
		t.Fatalf("a range by key: %x", body)
	}
	etag := res.Header.Get("Etag")
	res, body = gwGet(t, byDB(pub, "/big.bin"), "If-None-Match", etag)
	wantHTTP(t, "If-None-Match", res, body, http.StatusNotModified)
	root, _ := pub.Root()
	res, body = gwGet(t, base+"/ipfs/"+root.String()+"/big.bin")
	wantHTTP(t, "by CID", res, body, http.StatusOK)
	if body != string(big) {
		t.Fatalf("by CID: %d bytes", len(body))
	}
	res, body = gwGet(t, byDB(pub, ""), "Accept", "application/json")
	wantHTTP(t, "listing", res, body, http.StatusOK)
	var l gateway.Listing
	if err := json.Unmarshal([]byte(body), &l); err != nil || len(l.Items) != 2 || l.Name != "site" {
		t.Fatalf("listing: %v %s", err, body)
	}

	var notFound []string
	for _, url := range []string{
		byDB(priv, "/secret.txt"),
		byDB(priv, "/nothing"),
		base + "/ipns/" + priv.Key + "/secret.txt",
		base + "/thread/" + thread.NewIDV1(thread.Raw, 32).String() + "/buckets/" + pub.Key + "/index.html",
		byDB(pub, "/nothing"),
	} {
		res, body := gwGet(t, url)
		wantHTTP(t, url, res, body, http.StatusNotFound)
		notFound = append(notFound, body)
	}
	for _, b := range notFound {
		if b != notFound[0] {
			t.Fatalf("404s differ: %q %q", notFound[0], b)
		}
	}

	// The database's head record, as go-threads stored it, and relabelled raw and dag-pb.
	info, err := alice.nc.GetThread(alice.ctx, dbID, core.WithThreadToken(alice.tok))
	if err != nil {
		t.Fatal(err)
	}
	var heads []cid.Cid
	for _, lg := range info.Logs {
		if lg.Head.ID.Defined() {
			heads = append(heads, lg.Head.ID)
		}
	}
	if len(heads) == 0 {
		t.Fatal("the database has no head record")
	}
	for _, h := range heads {
		if _, err := d.node.LocalDAG().Get(t.Context(), cid.NewCidV1(cid.Raw, h.Hash())); err != nil {
			t.Fatalf("the head record is not in the blockstore as raw: %v", err)
		}
		for _, c := range []cid.Cid{h, cid.NewCidV1(cid.Raw, h.Hash()), cid.NewCidV1(cid.DagProtobuf, h.Hash())} {
			res, body := gwGet(t, base+"/ipfs/"+c.String())
			wantHTTP(t, fmt.Sprintf("record %s", c), res, body, http.StatusNotFound)
		}
	}
}

// A daemon without GatewayAddr serves no gateway and says so in its state.
func TestNoGatewayWithoutAddress(t *testing.T) {
	d, _ := startDaemon(t, hubauth.AuthNone)
	if d.State().Gateway != "" || d.gateway != nil {
		t.Fatalf("a gateway without an address: %q", d.State().Gateway)
	}
}

// What textile's buckets client pushes, the gateway serves at the links the buckets API
// reports (the default gateway URL: the gateway's own address), and follows pushes.
func TestGatewayServesPushedBuckets(t *testing.T) {
	d, reg := startGatewayDaemon(t)
	alice := newSession(t, d, newKey(t, reg, hubauth.UserKey))
	dbID := thread.NewIDV1(thread.Raw, 32)
	if err := alice.c.NewDB(common.NewThreadNameContext(alice.ctx, "files"), dbID); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(common.NewThreadIDContext(alice.ctx, dbID), time.Minute)
	defer cancel()
	bc, err := bucketsclient.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	created, err := bc.Create(ctx, bucketsclient.WithName("site"))
	if err != nil {
		t.Fatal(err)
	}
	key := created.Root.Key
	first := make([]byte, 300<<10)
	rand.Read(first)
	if _, _, err := bc.PushPath(ctx, key, "docs/data.bin", bytes.NewReader(first)); err != nil {
		t.Fatal(err)
	}
	links, err := bc.Links(ctx, key, "docs/data.bin")
	if err != nil {
		t.Fatal(err)
	}
	gw := "http://" + d.State().Gateway
	if !strings.HasPrefix(links.Url, gw+"/thread/"+dbID.String()+"/buckets/"+key) || links.Ipns != gw+"/ipns/"+key+"/docs/data.bin" {
		t.Fatalf("links %+v, gateway %s", links, gw)
	}
	var etags []string
	for _, url := range []string{links.Url, links.Ipns} {
		res, body := gwGet(t, url)
		wantHTTP(t, url, res, body, http.StatusOK)
		if body != string(first) {
			t.Fatalf("%s: %d bytes, not the %d pushed", url, len(body), len(first))
		}
		etags = append(etags, res.Header.Get("Etag"))
	}
	oldRoot, err := bc.Root(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bc.PushPath(ctx, key, "docs/data.bin", strings.NewReader("second")); err != nil {
		t.Fatal(err)
	}
	res, body := gwGet(t, links.Url, "If-None-Match", etags[0])
	wantHTTP(t, "after a push", res, body, http.StatusOK)
	if body != "second" || res.Header.Get("Etag") == etags[0] {
		t.Fatalf("after a push: %q, ETag %s", body, res.Header.Get("Etag"))
	}
	// The old root is still a DAG the daemon holds.
	res, body = gwGet(t, gw+oldRoot.Root.Path+"/docs/data.bin")
	wantHTTP(t, "the old root by CID", res, body, http.StatusOK)
	if body != string(first) {
		t.Fatalf("the old root by CID: %d bytes", len(body))
	}
	res, body = gwGet(t, gw+"/ipns/"+key+"/docs?json=true")
	wantHTTP(t, "a listing", res, body, http.StatusOK)
	var l gateway.Listing
	if err := json.Unmarshal([]byte(body), &l); err != nil || len(l.Items) != 1 || l.Items[0].Name != "data.bin" || l.Items[0].Size != 6 {
		t.Fatalf("a listing: %v %s", err, body)
	}
}

// A stop is not held up by a gateway download whose client reads nothing: when its time
// is up the download is cut off, and the stop ends.
func TestGatewayStopsWithTheDaemon(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	d, err := StartDaemon(ctx, loopback(DaemonOptions{DataDir: filepath.Join(t.TempDir(), "data"), Mode: hubauth.AuthNone, GatewayAddr: "127.0.0.1:0"}))
	if err != nil {
		t.Fatal(err)
	}
	nd, err := d.node.DAG().AddFile(ctx, bytes.NewReader(make([]byte, 64<<20)), &ipfslite.AddParams{RawLeaves: true})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", d.State().Gateway)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(conn, "GET /ipfs/%s HTTP/1.1\r\nHost: x\r\n\r\n", nd.Cid())
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the download: %v %v", res, err)
	}
	// The download is in flight and its client reads no more. The stop gets a moment.
	stopCtx, stopCancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer stopCancel()
	if err := d.Shutdown(stopCtx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	got, err := io.Copy(io.Discard, res.Body)
	if err == nil || got >= 64<<20 {
		t.Fatalf("the download after the stop: %d bytes, %v; want it cut off", got, err)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the gateway's connection is still open after the stop: %v", err)
	}
}
