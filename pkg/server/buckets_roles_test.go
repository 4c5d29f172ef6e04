package server

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	bucketsclient "github.com/textileio/textile/v2/api/bucketsd/client"
	bucketspb "github.com/textileio/textile/v2/api/bucketsd/pb"
	"github.com/textileio/textile/v2/api/common"
	tbuckets "github.com/textileio/textile/v2/buckets"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/buckets"
	"github.com/hubctl/hubctl/pkg/hubauth"
)

// sharer is another identity calling on the bucket env's database (which it does not
// own) with textile's client.
type sharer struct {
	s   session
	ctx context.Context
}

func (e *bucketEnv) sharer(t *testing.T) sharer {
	t.Helper()
	s := newSession(t, e.d, newKey(t, e.reg, hubauth.UserKey))
	return sharer{s: s, ctx: common.NewThreadIDContext(s.ctx, e.db)}
}

func (e *bucketEnv) grant(t *testing.T, ctx context.Context, key, pth, who string, r tbuckets.Role) {
	t.Helper()
	if err := e.bc.PushPathAccessRoles(bounded(t, ctx), key, pth, map[string]tbuckets.Role{who: r}); err != nil {
		t.Fatalf("grant %s %v on %q: %v", who, r, pth, err)
	}
}

func pullErr(e *bucketEnv, t *testing.T, ctx context.Context, key, pth string) ([]byte, error) {
	var buf bytes.Buffer
	err := e.bc.PullPath(bounded(t, ctx), key, pth, &buf)
	return buf.Bytes(), err
}

func pushErr(e *bucketEnv, t *testing.T, ctx context.Context, key, pth string, data []byte) error {
	_, _, err := e.bc.PushPath(bounded(t, ctx), key, pth, bytes.NewReader(data))
	return err
}

func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "role") {
		t.Fatalf("%s: %v, want PermissionDenied naming the role", what, err)
	}
}

// Path access roles on a private bucket: another identity reaches nothing until it is
// given a role, then exactly what its role on a path allows there (reader: list and
// pull; writer: push, move, remove; admin: give roles), inherited down the tree and
// nowhere else; a role taken away takes all of that back.
func TestPathAccessRolesOnAPrivateBucket(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	res, err := e.bc.Create(bounded(t, e.ctx), bucketsclient.WithName("team"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	key := res.Root.Key
	e.push(t, key, "docs/a.txt", []byte("doc a"))
	e.push(t, key, "docs/sub/b.txt", []byte("doc b"))
	e.push(t, key, "secret.txt", []byte("not for bob"))
	bob, carol := e.sharer(t), e.sharer(t)

	// Before any grant: every method answers as for a database that is not Bob's.
	e.everyMethod(t, bob.ctx, key, codes.NotFound, "db not found")

	e.grant(t, e.ctx, key, "docs", bob.s.identity, tbuckets.Reader)
	if got, err := pullErr(e, t, bob.ctx, key, "docs/sub/b.txt"); err != nil || string(got) != "doc b" {
		t.Fatalf("bob pulls docs/sub/b.txt: %q %v", got, err)
	}
	lp, err := e.bc.ListPath(bounded(t, bob.ctx), key, "docs")
	if err != nil || strings.Join(itemNames(lp.Item), ",") != "a.txt,sub" {
		t.Fatalf("bob lists docs: %v %v", lp, err)
	}
	if lp.Root.LinkKey != "" || lp.Root.PathMetadata[""] != nil || lp.Root.PathMetadata["docs"] == nil {
		t.Fatalf("bob's view of the root: link key %q, metadata %v", lp.Root.LinkKey, lp.Root.PathMetadata)
	}
	root, err := e.bc.Root(bounded(t, bob.ctx), key)
	if err != nil || root.Root.LinkKey != "" || len(root.Root.PathMetadata) != 3 {
		t.Fatalf("bob's root: %v %v", root, err)
	}
	for p, md := range root.Root.PathMetadata {
		if p != "docs" && !strings.HasPrefix(p, "docs/") {
			t.Fatalf("bob's root shows the metadata of %q", p)
		}
		if md.Key != "" {
			t.Fatalf("bob's root shows the file key of %q", p)
		}
	}
	roles, err := e.bc.PullPathAccessRoles(bounded(t, bob.ctx), key, "docs")
	if err != nil || roles[bob.s.identity] != tbuckets.Reader {
		t.Fatalf("bob roles on docs: %v %v", roles, err)
	}
	_, err = pullErr(e, t, bob.ctx, key, "secret.txt")
	wantDenied(t, "bob pulls secret.txt", err)
	_, err = e.bc.ListPath(bounded(t, bob.ctx), key, "")
	wantDenied(t, "bob lists the root", err)
	_, err = pullErr(e, t, bob.ctx, key, "nothing-here.txt")
	wantDenied(t, "bob pulls a missing path outside docs (same answer as an existing one)", err)
	wantDenied(t, "reader pushes", pushErr(e, t, bob.ctx, key, "docs/new.txt", []byte("x")))
	wantDenied(t, "reader moves", e.bc.MovePath(bounded(t, bob.ctx), key, "docs/a.txt", "docs/c.txt"))
	_, err = e.bc.RemovePath(bounded(t, bob.ctx), key, "docs/a.txt")
	wantDenied(t, "reader removes", err)
	wantDenied(t, "reader grants", e.bc.PushPathAccessRoles(bounded(t, bob.ctx), key, "docs", map[string]tbuckets.Role{carol.s.identity: tbuckets.Reader}))
	for what, err := range map[string]error{
		"List":   errOf(e.bc.List(bounded(t, bob.ctx))),
		"Create": errOf(e.bc.Create(bounded(t, bob.ctx), bucketsclient.WithName("x"))),
		"Remove": e.bc.Remove(bounded(t, bob.ctx), key),
	} {
		wantCode(t, "bob "+what, err, codes.NotFound, "db not found")
	}
	// Carol, with no role, still sees nothing; nor does Bob in another bucket.
	e.everyMethod(t, carol.ctx, key, codes.NotFound, "db not found")
	other, err := e.bc.Create(bounded(t, e.ctx), bucketsclient.WithName("other"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.bc.Root(bounded(t, bob.ctx), other.Root.Key)
	wantCode(t, "bob on a bucket without a role", err, codes.NotFound, "db not found")

	// Writer on docs: pushes, moves and removes there, and only there.
	e.grant(t, e.ctx, key, "docs", bob.s.identity, tbuckets.Writer)
	if err := pushErr(e, t, bob.ctx, key, "docs/new.txt", []byte("from bob")); err != nil {
		t.Fatalf("writer pushes a new file: %v", err)
	}
	if got := e.pull(t, key, "docs/new.txt"); string(got) != "from bob" {
		t.Fatalf("alice reads bob's file: %q", got)
	}
	if err := e.bc.MovePath(bounded(t, bob.ctx), key, "docs/new.txt", "docs/sub/new.txt"); err != nil {
		t.Fatalf("writer moves within docs: %v", err)
	}
	if _, err := e.bc.RemovePath(bounded(t, bob.ctx), key, "docs/a.txt"); err != nil {
		t.Fatalf("writer removes in docs: %v", err)
	}
	wantDenied(t, "writer pushes outside", pushErr(e, t, bob.ctx, key, "elsewhere.txt", []byte("x")))
	wantDenied(t, "writer moves out of docs", e.bc.MovePath(bounded(t, bob.ctx), key, "docs/sub/b.txt", "b.txt"))
	wantDenied(t, "writer overwrites secret.txt", pushErr(e, t, bob.ctx, key, "secret.txt", []byte("x")))
	if got := e.pull(t, key, "secret.txt"); string(got) != "not for bob" {
		t.Fatalf("secret.txt after bob's tries: %q", got)
	}
	// One stream with a file inside docs and one outside is refused whole.
	q, err := e.bc.PushPaths(bounded(t, bob.ctx), key)
	if err != nil {
		t.Fatal(err)
	}
	_ = q.AddReader("docs/ok.txt", bytes.NewReader([]byte("ok")), 2)
	_ = q.AddReader("outside.txt", bytes.NewReader([]byte("no")), 2)
	for q.Next() {
		if q.Err() != nil {
			break
		}
	}
	if err := q.Close(); err == nil && q.Err() == nil {
		t.Fatal("a push with a file outside bob's path went through")
	}
	if _, err := pullErr(e, t, e.ctx, key, "outside.txt"); status.Code(err) != codes.NotFound {
		t.Fatalf("outside.txt after a refused stream: %v", err)
	}
	wantDenied(t, "writer grants", e.bc.PushPathAccessRoles(bounded(t, bob.ctx), key, "docs", map[string]tbuckets.Role{carol.s.identity: tbuckets.Reader}))

	// Admin on docs: gives Carol a role there.
	e.grant(t, e.ctx, key, "docs", bob.s.identity, tbuckets.Admin)
	e.grant(t, bob.ctx, key, "docs", carol.s.identity, tbuckets.Reader)
	if got, err := pullErr(e, t, carol.ctx, key, "docs/sub/b.txt"); err != nil || string(got) != "doc b" {
		t.Fatalf("carol, granted by bob: %q %v", got, err)
	}
	// An admin of docs cannot give a path its first roles (the Hub's validator).
	if err := e.bc.PushPathAccessRoles(bounded(t, bob.ctx), key, "docs/sub", map[string]tbuckets.Role{carol.s.identity: tbuckets.Writer}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("admin makes a new entry: %v", err)
	}

	// Taken away: Bob is back to nothing.
	e.grant(t, e.ctx, key, "docs", bob.s.identity, tbuckets.None)
	e.everyMethod(t, bob.ctx, key, codes.NotFound, "db not found")
	if got, err := pullErr(e, t, carol.ctx, key, "docs/sub/b.txt"); err != nil || string(got) != "doc b" {
		t.Fatalf("carol after bob's removal: %q %v", got, err)
	}
}

// A public bucket is everyone's to read (its root gives "*" reader, as on the Hub, whose
// gateway served it too) and only its owner's to write.
func TestPathAccessRolesOnAPublicBucket(t *testing.T) {
	e := newBucketEnv(t, Limits{})
	key := e.create(t, "open").Root.Key
	e.push(t, key, "a/b.txt", []byte("b"))
	bob := e.sharer(t)
	if got, err := pullErr(e, t, bob.ctx, key, "a/b.txt"); err != nil || string(got) != "b" {
		t.Fatalf("bob reads a public bucket: %q %v", got, err)
	}
	if _, err := e.bc.ListPath(bounded(t, bob.ctx), key, ""); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, "bob writes a public bucket", pushErr(e, t, bob.ctx, key, "x.txt", []byte("x")))
	_, err := e.bc.RemovePath(bounded(t, bob.ctx), key, "a/b.txt")
	wantDenied(t, "bob removes from a public bucket", err)
	wantDenied(t, "bob grants on a public bucket", e.bc.PushPathAccessRoles(bounded(t, bob.ctx), key, "", map[string]tbuckets.Role{bob.s.identity: tbuckets.Admin}))
	if err := e.bc.PullPath(bounded(t, bob.ctx), key, "a/b.txt", io.Discard); err != nil {
		t.Fatal(err)
	}
	// Hostile role changes by the owner are refused before they reach the instance
	// (textile's client refuses an unknown role itself: sent raw).
	raw := bucketspb.NewAPIServiceClient(mustDial(t, e.d.State().API))
	for who, r := range map[string]bucketspb.PathAccessRole{"not-a-key": 1, bob.s.identity: 7, bob.s.identity + " ": 1} {
		_, err := raw.PushPathAccessRoles(bounded(t, e.ctx), &bucketspb.PushPathAccessRolesRequest{Key: key, Path: "a", Roles: map[string]bucketspb.PathAccessRole{who: r}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("grant %v to %q: %v, want InvalidArgument", r, who, err)
		}
	}
}

// What a caller that does not own the database is answered of a bucket carries no key:
// neither the link key nor the file key of an entry it may read (a Hub bucket kept one
// per shared path); the owner's answer keeps them.
func TestSharedViewCarriesNoKeys(t *testing.T) {
	b := &buckets.Bucket{Key: "k", Owner: "alice", Version: buckets.Version, LinkKey: "link", Metadata: map[string]buckets.Metadata{
		"":     {Key: "rootkey", Roles: map[string]buckets.Role{"alice": buckets.Admin}},
		"docs": {Key: "docskey", Roles: map[string]buckets.Role{"bob": buckets.Reader}},
	}}
	v := bucketCall{shared: true, byRole: true, reader: "bob"}.view(b)
	if v.LinkKey != "" || len(v.Metadata) != 1 || v.Metadata["docs"].Key != "" || v.Metadata["docs"].Roles["bob"] != buckets.Reader {
		t.Fatalf("bob's view: %+v", v)
	}
	if o := (bucketCall{reader: "alice"}).view(b); o.LinkKey != "link" || o.Metadata["docs"].Key != "docskey" {
		t.Fatalf("the owner's view lost its keys: %+v", o)
	}
	if b.Metadata["docs"].Key != "docskey" {
		t.Fatal("view changed the bucket")
	}
}

// Without key checks (the embedded node) every caller is an operator and reaches every
// database; a token that is not a bucket's owner's is still served by the bucket's
// roles, and reads a private path it was granted in plaintext (the read filter would
// have hidden the keys the server needs for it).
func TestPathAccessRolesWithoutKeyChecks(t *testing.T) {
	d, _ := startDaemonOn(t, t.TempDir(), hubauth.AuthNone)
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	token := func() (thread.Token, string) {
		id := newIdentity(t)
		tok, err := c.GetToken(bounded(t, context.Background()), id)
		if err != nil {
			t.Fatal(err)
		}
		return tok, id.GetPublic().String()
	}
	aliceTok, _ := token()
	bobTok, bob := token()
	dbID := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(bounded(t, context.Background()), dbID, db.WithNewManagedToken(aliceTok)); err != nil {
		t.Fatal(err)
	}
	bc := bucketsClient(t, d)
	alice := common.NewThreadIDContext(thread.NewTokenContext(context.Background(), aliceTok), dbID)
	bobCtx := common.NewThreadIDContext(thread.NewTokenContext(context.Background(), bobTok), dbID)
	res, err := bc.Create(bounded(t, alice), bucketsclient.WithName("vault"), bucketsclient.WithPrivate(true))
	if err != nil {
		t.Fatal(err)
	}
	key := res.Root.Key
	for p, v := range map[string]string{"docs/a.txt": "doc a", "secret.txt": "secret"} {
		if _, _, err := bc.PushPath(bounded(t, alice), key, p, strings.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	err = bc.PullPath(bounded(t, bobCtx), key, "docs/a.txt", &buf)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("bob before a grant: %v, want PermissionDenied", err)
	}
	if err := bc.PushPathAccessRoles(bounded(t, alice), key, "docs", map[string]tbuckets.Role{bob: tbuckets.Reader}); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := bc.PullPath(bounded(t, bobCtx), key, "docs/a.txt", &buf); err != nil || buf.String() != "doc a" {
		t.Fatalf("bob, reader of docs: %q %v", buf.String(), err)
	}
	wantDenied(t, "bob pulls secret.txt", bc.PullPath(bounded(t, bobCtx), key, "secret.txt", io.Discard))
	if _, _, err := bc.PushPath(bounded(t, bobCtx), key, "docs/b.txt", strings.NewReader("x")); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("bob pushes as a reader: %v", err)
	}
	buf.Reset()
	if err := bc.PullPath(bounded(t, alice), key, "secret.txt", &buf); err != nil || buf.String() != "secret" {
		t.Fatalf("alice: %q %v", buf.String(), err)
	}
}
