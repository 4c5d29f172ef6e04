package hub

import (
	"errors"
	"reflect"
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
