package hub

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParseRole(t *testing.T) {
	for i, n := range RoleNames {
		r, err := ParseRole(n)
		if err != nil || r != Role(i) || r.String() != n {
			t.Errorf("ParseRole(%q) = %v, %v", n, r, err)
		}
	}
	if r, err := ParseRole("WRITER"); err != nil || r != RoleWriter {
		t.Errorf("ParseRole(WRITER) = %v, %v", r, err)
	}
	if _, err := ParseRole("owner"); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("ParseRole(owner) = %v, want ErrInvalidArg", err)
	}
}

func TestIsBucketKey(t *testing.T) {
	mh, err := multihash.Sum([]byte("key"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		cid.NewCidV1(cid.Libp2pKey, mh).String():   true,
		cid.NewCidV1(cid.DagProtobuf, mh).String(): false, // a UnixFS directory
		"site": false, "": false, "bafz": false,
	} {
		if got := IsBucketKey(s); got != want {
			t.Errorf("IsBucketKey(%q) = %v, want %v", s, got, want)
		}
	}
}

// Each identity's highest role on the way from the root, where it is given, and the
// nearest entry with roles, as the server merges them.
func TestInheritance(t *testing.T) {
	entries := map[string]map[string]Role{
		"":           {"*": RoleReader, "ann": RoleWriter},
		"docs":       {"bob": RoleReader, "ann": RoleReader},
		"docs/a.txt": {}, // a private file's own entry: its key, no roles
		"docs/deep":  {"carol": RoleAdmin},
	}
	from, roles := inheritance(entries, "docs/a.txt")
	want := []GivenRole{{Identity: "*", Role: RoleReader, From: ""}, {Identity: "ann", Role: RoleWriter, From: ""}, {Identity: "bob", Role: RoleReader, From: "docs"}}
	if from != "docs" || !reflect.DeepEqual(roles, want) {
		t.Fatalf("docs/a.txt: from %q, roles %+v; want docs, %+v", from, roles, want)
	}
	if from, roles = inheritance(entries, "docs/deep"); from != "docs/deep" || len(roles) != 4 {
		t.Fatalf("docs/deep: from %q, roles %+v", from, roles)
	}
	if from, roles = inheritance(entries, "other/x"); from != "" || len(roles) != 2 {
		t.Fatalf("other/x: from %q, roles %+v", from, roles)
	}
	if from, roles = inheritance(map[string]map[string]Role{}, "a/b"); from != "a/b" || len(roles) != 0 {
		t.Fatalf("no entries: from %q, roles %+v", from, roles)
	}
}

// A refusal for the caller's role is a RoleError (an auth refusal, exit 4), apart from
// the API key's and operator-only refusals, which keep their own words.
func TestBucketErrorRole(t *testing.T) {
	err := bucketError(status.Error(codes.PermissionDenied, "permission denied: docs/a of bucket k needs the writer role"))
	var re *RoleError
	if !errors.As(err, &re) || !errors.Is(err, ErrAuth) {
		t.Fatalf("bucketError = %#v, want a RoleError", err)
	}
	err = bucketError(status.Error(codes.PermissionDenied, msgNotAccessible))
	if errors.As(err, &re) {
		t.Fatalf("an operator's call refused became a RoleError: %v", err)
	}
	err = bucketError(status.Error(codes.NotFound, "could not resolve path: x"))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("a missing private path: %v", err)
	}
}

// A private bucket shared by a role, end to end against a daemon: the other identity
// reaches it by key (Root) and not by name (List is the owner's), walks and pulls the
// path its role covers by ListPath and PullPath, is refused a write with a RoleError, and
// reads where its roles come from; the owner's walk of the private bucket is by ListPath
// too.
func TestBucketsShared(t *testing.T) {
	tgt, k, _ := keysDaemon(t, 0)
	alice, bob := newMailUser(t, tgt, k, "alice"), newMailUser(t, tgt, k, "bob")
	ctx := testCtx(t)
	db, err := alice.c.BucketsDB(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	owned := alice.c.Buckets(db)
	b, err := owned.Create(ctx, "vault", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Private {
		t.Fatalf("created private: %+v", b)
	}
	if _, err := owned.PushPaths(ctx, b.Key, files(map[string][]byte{
		"docs/a.txt": []byte("doc a"), "docs/sub/b.txt": []byte("doc b"), "secret.txt": []byte("top secret"),
	}), PushOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	var all []string
	if _, err := owned.Walk(ctx, b.Key, "", func(it BucketItem) error { all = append(all, it.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(all, ",") != "docs/a.txt,docs/sub/b.txt,secret.txt" {
		t.Fatalf("the owner's walk of a private bucket: %v", all)
	}

	shared := bob.c.Buckets(db)
	if _, err := shared.Resolve(ctx, b.Key); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "that you can read") {
		t.Fatalf("bob, no role, by key: %v", err)
	}
	if err := owned.PushRoles(ctx, b.Key, "docs", map[string]Role{bob.pub.String(): RoleReader}); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Resolve(ctx, "vault"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "by its key") {
		t.Fatalf("bob, by name: %v", err)
	}
	got, err := shared.Resolve(ctx, b.Key)
	if err != nil || got.Owner != alice.pub.String() {
		t.Fatalf("bob, by key: %+v %v", got, err)
	}
	var seen []string
	if _, err := shared.WalkListed(ctx, b.Key, "docs", func(it BucketItem) error { seen = append(seen, it.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "docs/a.txt,docs/sub/b.txt" {
		t.Fatalf("bob's walk of docs: %v", seen)
	}
	var buf bytes.Buffer
	if _, err := shared.PullPath(ctx, b.Key, "docs/sub/b.txt", &buf, nil); err != nil || buf.String() != "doc b" {
		t.Fatalf("bob pulls docs/sub/b.txt: %q %v", buf.String(), err)
	}
	var re *RoleError
	_, err = shared.PullPath(ctx, b.Key, "secret.txt", io.Discard, nil)
	if !errors.As(err, &re) || !errors.Is(err, ErrAuth) {
		t.Fatalf("bob pulls secret.txt: %v, want a RoleError", err)
	}
	_, err = shared.PushPath(ctx, b.Key, "docs/new.txt", strings.NewReader("x"), PushOptions{})
	if !errors.As(err, &re) || !strings.Contains(re.Msg, "writer") {
		t.Fatalf("bob pushes: %v, want a RoleError naming writer", err)
	}
	pr, err := shared.PullRoles(ctx, b.Key, "docs/sub/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !pr.Known || pr.From != "docs" || !hasRole(pr.Roles, bob.pub.String(), RoleReader, "docs") {
		t.Fatalf("bob's roles on docs/sub/b.txt: %+v", pr)
	}
	if err := owned.PushRoles(ctx, b.Key, "docs", map[string]Role{bob.pub.String(): RoleNone}); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Resolve(ctx, b.Key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob after none: %v", err)
	}
}

func hasRole(rs []GivenRole, who string, r Role, from string) bool {
	for _, g := range rs {
		if g.Identity == who {
			return g.Role == r && g.From == from
		}
	}
	return false
}
