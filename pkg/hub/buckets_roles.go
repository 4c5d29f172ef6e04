package hub

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/ipfs/go-cid"
	bpb "github.com/textileio/textile/v2/api/bucketsd/pb"
)

// Role is a path access role, as the Hub's PathAccessRole: what an identity may do with a
// path of a bucket and everything under it.
type Role int

// The Hub's roles, in the Hub's numbering; a higher one includes the lower ones.
const (
	RoleNone Role = iota
	RoleReader
	RoleWriter
	RoleAdmin
)

// Everyone stands for every caller in a role map, as on the Hub.
const Everyone = "*"

// String is the role's name as the command line spells it.
func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleReader:
		return "reader"
	case RoleWriter:
		return "writer"
	case RoleAdmin:
		return "admin"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// MarshalText makes a role its name in JSON.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// RoleNames are the roles' names, lowest first.
var RoleNames = []string{"none", "reader", "writer", "admin"}

// ParseRole reads a role's name (none, reader, writer, admin; any case).
func ParseRole(s string) (Role, error) {
	for i, n := range RoleNames {
		if strings.EqualFold(s, n) {
			return Role(i), nil
		}
	}
	return RoleNone, argErrorf("unknown role %q: give none, reader, writer or admin", s)
}

// RoleError is the bucket service refusing a call for the caller's role on the path
// (PermissionDenied, in the server's words, which name the role needed). It counts as an
// authorization refusal (ErrAuth).
type RoleError struct{ Msg string }

func (e *RoleError) Error() string { return "the server refused the request: " + e.Msg }

func (e *RoleError) Is(target error) bool { return target == ErrAuth }

// IsBucketKey reports whether s has the form of a bucket key: the CID (v1) of a libp2p
// key, as the Hub made a bucket's IPNS key.
func IsBucketKey(s string) bool {
	c, err := cid.Decode(s)
	return err == nil && c.Version() == 1 && c.Type() == cid.Libp2pKey
}

// keyErr says what a bucket key that could not be read means. A database the caller has
// no role in answers exactly as a missing one (the server does not say which).
func (b *Buckets) keyErr(err error, key string) error {
	var se *ServerError
	if !errors.As(err, &se) || se.Class != ErrNotFound {
		return err
	}
	if strings.Contains(se.Msg, msgDBNotFound) || strings.Contains(se.Msg, msgThreadNotFound) {
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("no bucket %s that you can read in database %s (a database or bucket you have no role in answers as missing)", key, b.db),
			Hint: "check --db and the key, or ask the bucket's owner to grant you a role"}
	}
	return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("no bucket with key %s in database %s", key, b.db), Hint: "see hubctl bucket list"}
}

// nameErr says what a bucket name that could not be looked up means: only the
// database's owner may list its buckets, so in anyone else's a bucket needs its key.
func (b *Buckets) nameErr(err error, name string) error {
	var se *ServerError
	var re *RoleError
	missing := errors.As(err, &se) && se.Class == ErrNotFound && (strings.Contains(se.Msg, msgDBNotFound) || strings.Contains(se.Msg, msgThreadNotFound))
	if missing || errors.As(err, &re) {
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("database %s does not exist or is not yours, so bucket %q cannot be found by its name (only a database's owner can list its buckets)", b.db, name),
			Hint: "name a bucket of another identity's database by its key (its owner sees it in hubctl bucket list), or see hubctl db list"}
	}
	return b.dbErr(err)
}

// PathRoles are the roles that apply to a path of a bucket: for each identity (a public
// key, or "*" for everyone), the highest role that the path's entry or that of any
// directory above it gives, as the server merges them, and where it is given.
type PathRoles struct {
	// Path is the path asked about ("" the root).
	Path string `json:"path"`
	// From is the nearest entry that gives roles: Path's own, or that of the directory
	// above it Path inherits them from ("" the root; Path when none gives any).
	From string `json:"from"`
	// Known is false when the server sent no metadata of the bucket's paths: Roles are
	// then PullPathAccessRoles' answer alone, and where they are given is not known.
	Known bool `json:"-"`
	// Roles, without None, by identity.
	Roles []GivenRole `json:"roles"`
}

// GivenRole is a role an identity has on a path, and the path whose entry gives it.
type GivenRole struct {
	Identity string `json:"identity"`
	Role     Role   `json:"role"`
	From     string `json:"from"`
}

// PullRoles reads the roles of pth (PullPathAccessRoles: also the check that the caller
// may read them) and, from the bucket's metadata (Root's path_metadata, when the server
// sends it), what the entries above pth give and where.
func (b *Buckets) PullRoles(ctx context.Context, key, pth string) (PathRoles, error) {
	var rep *bpb.PullPathAccessRolesResponse
	err := b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) (err error) {
		rep, err = api.PullPathAccessRoles(ctx, &bpb.PullPathAccessRolesRequest{Key: key, Path: pth})
		return err
	})
	if err != nil {
		return PathRoles{}, pathErr(err, pth)
	}
	out := PathRoles{Path: pth, From: pth}
	for who, r := range rolesFromPb(rep.Roles) {
		out.Roles = append(out.Roles, GivenRole{Identity: who, Role: r, From: pth})
	}
	sortRoles(out.Roles)
	var root *bpb.RootResponse
	err = b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) (err error) {
		root, err = api.Root(ctx, &bpb.RootRequest{Key: key})
		return err
	})
	if err != nil || root.Root == nil || len(root.Root.PathMetadata) == 0 {
		return out, nil // where they come from is a courtesy: the roles are the answer
	}
	entries := make(map[string]map[string]Role, len(root.Root.PathMetadata))
	for p, md := range root.Root.PathMetadata {
		if md != nil {
			entries[p] = rolesFromPb(md.Roles)
		}
	}
	out.From, out.Roles = inheritance(entries, pth)
	out.Known = true
	return out, nil
}

// inheritance merges the roles of entries (by path, "" the root) that apply to pth: each
// identity's highest role on pth's way from the root, with the nearest path giving it,
// and the nearest entry that gives any role (pth when none does). Entries without roles
// (a private bucket keeps one with the key of every file) give nothing.
func inheritance(entries map[string]map[string]Role, pth string) (string, []GivenRole) {
	chain := []string{pth} // pth and every directory above it, nearest first
	for p := pth; p != ""; {
		if p = path.Dir(p); p == "." {
			p = ""
		}
		chain = append(chain, p)
	}
	from := pth
	found := false
	best := map[string]GivenRole{}
	for _, p := range chain {
		if len(entries[p]) > 0 && !found {
			from, found = p, true
		}
		for who, r := range entries[p] {
			if have, ok := best[who]; !ok || r > have.Role {
				best[who] = GivenRole{Identity: who, Role: r, From: p}
			}
		}
	}
	out := make([]GivenRole, 0, len(best))
	for _, g := range best {
		out = append(out, g)
	}
	sortRoles(out)
	return from, out
}

func sortRoles(rs []GivenRole) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Identity < rs[j].Identity })
}

func rolesFromPb(in map[string]bpb.PathAccessRole) map[string]Role {
	out := make(map[string]Role, len(in))
	for who, r := range in {
		if r > bpb.PathAccessRole_PATH_ACCESS_ROLE_UNSPECIFIED {
			out[who] = Role(r)
		}
	}
	return out
}

// PushRoles gives identities (public keys, or "*") roles on pth (PushPathAccessRoles);
// RoleNone takes an identity's role there away.
func (b *Buckets) PushRoles(ctx context.Context, key, pth string, roles map[string]Role) error {
	req := &bpb.PushPathAccessRolesRequest{Key: key, Path: pth, Roles: make(map[string]bpb.PathAccessRole, len(roles))}
	for who, r := range roles {
		req.Roles[who] = bpb.PathAccessRole(r)
	}
	err := b.unary(ctx, func(ctx context.Context, api bpb.APIServiceClient) error {
		_, err := api.PushPathAccessRoles(ctx, req)
		return err
	})
	return pathErr(err, pth)
}
