// Package invite encodes and decodes database invites: one string holding what a peer needs
// to join a database (its thread ID and key, the addresses of a peer that has it, its name
// and its collections), so joining is one command.
//
// An invite grants read and write access to the database: it holds the thread key. It is
// never printed unless asked for, and errors about one never quote it.
//
// The form is "hubinvite1." followed by the unpadded base64url encoding of the gzipped JSON
// payload: copy-paste and shell safe, and readable with standard tools
// (basenc --base64url -d | gunzip).
package invite

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hub"
)

// Prefix starts every invite; its digit is the format version.
const Prefix = "hubinvite1."

// maxPayload bounds a decoded invite (collections' schemas included), so a hostile or
// corrupted one cannot make a decoder allocate without end.
const maxPayload = 4 << 20

// ErrInvalid is an invite that cannot be read.
var ErrInvalid = errors.New("invalid invite")

// Invite is what a peer needs to join a database.
type Invite struct {
	ID  thread.ID
	Key thread.Key
	// Name is the database's name where it was created; the joiner may choose another.
	Name string
	// Addrs are thread addresses (peer address, /p2p/ID, /thread/ID) to join from, in the
	// order to try them.
	Addrs []ma.Multiaddr
	// Collections are created on the joining peer: go-threads does not replicate them.
	Collections []hub.Collection
}

type payload struct {
	ID          string           `json:"id"`
	Key         string           `json:"key"`
	Name        string           `json:"name,omitempty"`
	Addrs       []string         `json:"addrs"`
	Collections []hub.Collection `json:"collections"`
}

// Encode returns the invite's string form.
func (inv Invite) Encode() (string, error) {
	if err := inv.validate(); err != nil {
		return "", err
	}
	p := payload{ID: inv.ID.String(), Key: inv.Key.String(), Name: inv.Name, Addrs: []string{}, Collections: inv.Collections}
	for _, a := range inv.Addrs {
		p.Addrs = append(p.Addrs, a.String())
	}
	if p.Collections == nil {
		p.Collections = []hub.Collection{}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode invite: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return "", fmt.Errorf("encode invite: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("encode invite: %w", err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// Is reports whether s looks like an invite rather than a thread address.
func Is(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "hubinvite") }

// Decode reads an invite. Its errors never quote it: it holds the thread key.
func Decode(s string) (Invite, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, Prefix) {
		if Is(s) {
			return Invite{}, invalidf("it is from a newer hubctl (this one reads %s...): upgrade hubctl", Prefix)
		}
		return Invite{}, invalidf("it must start with %s (as hubctl db info DB --invite prints it)", Prefix)
	}
	packed, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, Prefix))
	if err != nil {
		return Invite{}, invalidf("it is cut short or altered (bad base64url): copy it whole")
	}
	zr, err := gzip.NewReader(bytes.NewReader(packed))
	if err != nil {
		return Invite{}, invalidf("it is cut short or altered: copy it whole")
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxPayload+1))
	if err != nil {
		return Invite{}, invalidf("it is cut short or altered: copy it whole")
	}
	if len(raw) > maxPayload {
		return Invite{}, invalidf("it is larger than %d MiB", maxPayload>>20)
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Invite{}, invalidf("its content is not an invite: %v", err)
	}
	var inv Invite
	if inv.ID, err = thread.Decode(p.ID); err != nil {
		return Invite{}, invalidf("bad thread ID: %v", err)
	}
	if inv.Key, err = thread.KeyFromString(p.Key); err != nil {
		return Invite{}, invalidf("bad thread key")
	}
	inv.Name = p.Name
	for _, s := range p.Addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return Invite{}, invalidf("bad address %q: %v", s, err)
		}
		inv.Addrs = append(inv.Addrs, a)
	}
	inv.Collections = p.Collections
	if err := inv.validate(); err != nil {
		return Invite{}, err
	}
	return inv, nil
}

// validate checks what both directions rely on.
func (inv Invite) validate() error {
	if err := inv.ID.Validate(); err != nil {
		return invalidf("bad thread ID: %v", err)
	}
	if !inv.Key.Defined() || !inv.Key.CanRead() {
		return invalidf("it needs the full thread key (service and read keys)")
	}
	if inv.Name != "" {
		if err := hub.ValidateName(inv.Name); err != nil {
			return invalidf("bad database name %q", inv.Name)
		}
	}
	if len(inv.Addrs) == 0 {
		return invalidf("it holds no address to join from")
	}
	for _, a := range inv.Addrs {
		v, err := a.ValueForProtocol(thread.Code)
		if err != nil || v != inv.ID.String() {
			return invalidf("address %s is not an address of thread %s", a, inv.ID)
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
			return invalidf("address %s names no peer (/p2p/ID)", a)
		}
	}
	seen := map[string]bool{}
	for _, c := range inv.Collections {
		if err := hub.ValidateName(c.Name); err != nil {
			return invalidf("bad collection name %q", c.Name)
		}
		if seen[c.Name] {
			return invalidf("collection %q appears twice", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
