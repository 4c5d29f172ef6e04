package buckets

import (
	"fmt"
	"strings"
)

// Everyone is the identity of a role given to every caller, as the Hub named it.
const Everyone = "*"

// String is the role's name, as the CLI and the Hub's clients spell it.
func (r Role) String() string {
	switch r {
	case None:
		return "none"
	case Reader:
		return "reader"
	case Writer:
		return "writer"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole reads a role's name (none, reader, writer, admin; any case).
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(s) {
	case "none":
		return None, nil
	case "reader":
		return Reader, nil
	case "writer":
		return Writer, nil
	case "admin":
		return Admin, nil
	}
	return None, fmt.Errorf("unknown role %q: give none, reader, writer or admin", s)
}

// RoleOf is the role who (an identity's public key string; "" for a caller without a
// token) has on pth (cleaned, bucket-relative; "" the root), as the Hub's write
// validator merges them: the most privileged role given to who or to Everyone by the
// metadata of pth or of any directory above it. The owner is Admin everywhere; a
// bucket without an owner, or of version 0 (no metadata), is everyone's to write, as on
// the Hub.
func (b *Bucket) RoleOf(who, pth string) Role {
	if b.Owner == "" || b.Version == 0 || (who != "" && who == b.Owner) {
		return Admin
	}
	best := None
	consider := func(p string) {
		md, ok := b.Metadata[p]
		if !ok {
			return
		}
		if r := md.Roles[Everyone]; r > best {
			best = r
		}
		if who != "" {
			if r := md.Roles[who]; r > best {
				best = r
			}
		}
	}
	consider("")
	if pth != "" {
		at := 0
		for {
			i := strings.IndexByte(pth[at:], '/')
			if i < 0 {
				consider(pth)
				break
			}
			consider(pth[:at+i])
			at += i + 1
		}
	}
	if best > Admin {
		best = Admin
	}
	return best
}

// ReaderAnywhere says whether who may read some path of the bucket: the owner, or a
// role above None on any entry for who or Everyone (what the Hub's read filter keeps).
func (b *Bucket) ReaderAnywhere(who string) bool {
	if b.RoleOf(who, "") > None {
		return true
	}
	for _, md := range b.Metadata {
		if md.Roles[Everyone] > None || (who != "" && md.Roles[who] > None) {
			return true
		}
	}
	return false
}

// SetRoles gives the roles to the identities on pth (cleaned) as the Hub's
// PushPathAccessRoles did: an entry of pth's own (a new one when pth inherits its
// metadata, without a file key: the path keeps using its ancestor's), None removing an
// identity's role. It reports whether anything changed; UpdatedAt of the entry and the
// bucket are then now.
func (b *Bucket) SetRoles(pth string, roles map[string]Role, now int64) bool {
	if b.Metadata == nil {
		b.Metadata = map[string]Metadata{}
	}
	target := b.Metadata[pth]
	copied := make(map[string]Role, len(target.Roles)+len(roles))
	for k, v := range target.Roles {
		copied[k] = v
	}
	changed := false
	for who, r := range roles {
		if x, had := copied[who]; had && x == r {
			continue
		}
		if r > None {
			copied[who] = r
			changed = true
		} else if _, had := copied[who]; had {
			delete(copied, who)
			changed = true
		}
	}
	if !changed {
		return false
	}
	target.Roles = copied
	target.UpdatedAt = now
	b.Metadata[pth] = target
	b.UpdatedAt = now
	return true
}
