package buckets

import (
	"fmt"
	gopath "path"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
)

// Version is the version of the instances this package writes (the Hub's
// threaddb.Version). Version 0 instances have no metadata.
const Version = 1

// Role is an access role for a bucket path, as the Hub numbers them.
type Role int

// The roles, in increasing order of privilege.
const (
	None Role = iota
	Reader
	Writer
	Admin
)

// Bucket is a bucket's instance in the "buckets" collection, with the Hub's JSON
// (textile threaddb.Bucket). Key is the instance ID; Path is "/ipfs/<root cid>".
type Bucket struct {
	Key       string              `json:"_id"`
	Owner     string              `json:"owner"`
	Name      string              `json:"name"`
	Version   int                 `json:"version"`
	LinkKey   string              `json:"key,omitempty"`
	Path      string              `json:"path"`
	Metadata  map[string]Metadata `json:"metadata"`
	Archives  Archives            `json:"archives"`
	CreatedAt int64               `json:"created_at"`
	UpdatedAt int64               `json:"updated_at"`
}

// Metadata is what a bucket keeps about one path (a file or a directory): roles by
// identity (a libp2p public key string, or "*" for everyone), the file encryption key
// of private buckets (base64), and when the path was last written (Unix nanoseconds).
type Metadata struct {
	Key       string          `json:"key,omitempty"`
	Roles     map[string]Role `json:"roles"`
	UpdatedAt int64           `json:"updated_at"`
}

// Archives is the Hub's Filecoin archive record; hubctl keeps it empty.
type Archives struct {
	Current Archive   `json:"current"`
	History []Archive `json:"history"`
}

// Archive is one Filecoin archive and its deals.
type Archive struct {
	Cid   string `json:"cid"`
	Deals []Deal `json:"deals"`
}

// Deal is one Filecoin deal of an archive.
type Deal struct {
	ProposalCid string `json:"proposal_cid"`
	Miner       string `json:"miner"`
}

// New returns the instance of a new public bucket whose root is root: the metadata the
// Hub gave a new bucket (everyone may read, the owner is admin; the seed has no roles),
// empty archives, created and updated at now. An empty owner makes a bucket anyone may
// write, as on the Hub.
func New(key, owner, name string, root cid.Cid, now time.Time) *Bucket {
	ts := now.UnixNano()
	return &Bucket{
		Key:     key,
		Owner:   owner,
		Name:    name,
		Version: Version,
		Path:    IPFSPath(root),
		Metadata: map[string]Metadata{
			"":       NewDefaultMetadata(owner, ts),
			SeedName: {Roles: map[string]Role{}, UpdatedAt: ts},
		},
		Archives:  Archives{Current: Archive{Deals: []Deal{}}, History: []Archive{}},
		CreatedAt: ts,
		UpdatedAt: ts,
	}
}

// NewDefaultMetadata is the Hub's metadata for a public bucket's root: everyone reads,
// the owner (if any) is admin.
func NewDefaultMetadata(owner string, ts int64) Metadata {
	roles := map[string]Role{}
	if owner != "" {
		roles["*"] = Reader
		roles[owner] = Admin
	}
	return Metadata{Roles: roles, UpdatedAt: ts}
}

// IPFSPath is the form of a root the instance's path field and the Hub's clients use.
func IPFSPath(c cid.Cid) string {
	return "/ipfs/" + c.String()
}

// Root is the CID of the bucket's root directory, from its path field.
func (b *Bucket) Root() (cid.Cid, error) {
	s, ok := strings.CutPrefix(b.Path, "/ipfs/")
	if !ok {
		return cid.Undef, fmt.Errorf("bucket %s: path %q is not /ipfs/<cid>", b.Key, b.Path)
	}
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("bucket %s: path %q: %v", b.Key, b.Path, err)
	}
	return c, nil
}

// IsPrivate says whether the bucket is private (has a link key).
func (b *Bucket) IsPrivate() bool {
	return b.LinkKey != ""
}

// EnsureNoNulls fills what older instances may lack (the Hub's ensureNoNulls), so that
// the instance passes the schema when saved again.
func (b *Bucket) EnsureNoNulls() {
	if b.Metadata == nil {
		b.Metadata = map[string]Metadata{}
	}
	if b.Archives.Current.Deals == nil {
		b.Archives.Current.Deals = []Deal{}
	}
	if b.Archives.History == nil {
		b.Archives.History = []Archive{}
	}
}

// Copy returns a deep copy of the bucket (metadata, roles and archives included).
func (b *Bucket) Copy() *Bucket {
	c := *b
	if b.Metadata != nil {
		c.Metadata = make(map[string]Metadata, len(b.Metadata))
		for p, md := range b.Metadata {
			if md.Roles != nil {
				roles := make(map[string]Role, len(md.Roles))
				for k, v := range md.Roles {
					roles[k] = v
				}
				md.Roles = roles
			}
			c.Metadata[p] = md
		}
	}
	copyArchive := func(a Archive) Archive {
		if a.Deals != nil {
			a.Deals = append([]Deal{}, a.Deals...)
		}
		return a
	}
	c.Archives.Current = copyArchive(b.Archives.Current)
	if b.Archives.History != nil {
		c.Archives.History = make([]Archive, len(b.Archives.History))
		for i, a := range b.Archives.History {
			c.Archives.History[i] = copyArchive(a)
		}
	}
	return &c
}

// MetadataForPath returns the metadata of pth (a cleaned, bucket-relative path) or of
// its nearest ancestor with an entry, and the path of that entry. With requireKey, in a
// private bucket, entries without a file key are skipped. Version 0 buckets have no
// metadata: ok is true with a zero Metadata.
func (b *Bucket) MetadataForPath(pth string, requireKey bool) (md Metadata, at string, ok bool) {
	if b.Version == 0 {
		return md, at, true
	}
	usable := func(m Metadata) bool {
		return !b.IsPrivate() || !requireKey || m.Key != ""
	}
	if md, ok = b.Metadata[pth]; ok && usable(md) {
		return md, pth, true
	}
	for p := pth; p != ""; {
		p = gopath.Dir(p)
		if p == "." {
			p = ""
		}
		if md, ok = b.Metadata[p]; ok && usable(md) {
			return md, p, true
		}
	}
	return Metadata{}, "", false
}

// SetMetadataAtPath creates the entry of pth or merges md into it as the Hub did: a
// non-empty key and non-nil roles replace the entry's, UpdatedAt always does. A new
// entry gets empty roles when md has none.
func (b *Bucket) SetMetadataAtPath(pth string, md Metadata) {
	if b.Version == 0 {
		return
	}
	if b.Metadata == nil {
		b.Metadata = map[string]Metadata{}
	}
	x, ok := b.Metadata[pth]
	if !ok {
		if md.Roles == nil {
			md.Roles = map[string]Role{}
		}
		b.Metadata[pth] = md
		return
	}
	if md.Key != "" {
		x.Key = md.Key
	}
	if md.Roles != nil {
		x.Roles = md.Roles
	}
	x.UpdatedAt = md.UpdatedAt
	b.Metadata[pth] = x
}

// UnsetMetadataWithPrefix removes the metadata of pre and of every path under it: "a"
// removes "a" and "a/...", never "ab" (the Hub matched the string prefix and removed
// siblings); "a/" removes only what is under "a"; "" removes every entry.
func (b *Bucket) UnsetMetadataWithPrefix(pre string) {
	if b.Version == 0 {
		return
	}
	for p := range b.Metadata {
		if underPrefix(p, pre) {
			delete(b.Metadata, p)
		}
	}
}

// underPrefix says whether p is pre or under it, by whole segments.
func underPrefix(p, pre string) bool {
	switch {
	case pre == "":
		return true
	case strings.HasSuffix(pre, "/"):
		return strings.HasPrefix(p, pre)
	default:
		return p == pre || strings.HasPrefix(p, pre+"/")
	}
}
