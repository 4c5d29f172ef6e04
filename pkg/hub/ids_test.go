package hub

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/textileio/go-threads/core/thread"
)

const base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// aliases returns the other spellings base32 decoding maps to id: a 34-byte thread ID is
// 55 base32 characters, whose last carries 3 bits that decoding drops.
func aliases(t *testing.T, id thread.ID) []string {
	t.Helper()
	s := id.String()
	last := strings.IndexByte(base32Alphabet, s[len(s)-1])
	if last < 0 || last&7 != 0 {
		t.Fatalf("%s: last character %q is not a canonical one", s, s[len(s)-1])
	}
	var out []string
	for low := 1; low < 8; low++ {
		out = append(out, s[:len(s)-1]+string(base32Alphabet[last|low]))
	}
	return out
}

func wantBadID(t *testing.T, what string, err error, typed, canonical string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("%s: accepted", what)
	case !errors.Is(err, ErrInvalidArg):
		t.Fatalf("%s: error %v is not ErrInvalidArg (exit 2)", what, err)
	case !strings.Contains(err.Error(), `"`+typed+`"`) || !strings.Contains(err.Error(), "not a valid thread ID"):
		t.Fatalf("%s: error %q does not quote %q and say it is not a valid thread ID", what, err, typed)
	case strings.Contains(err.Error(), canonical):
		t.Fatalf("%s: error %q names %s, which was not typed", what, err, canonical)
	case strings.Contains(err.Error(), "\n"):
		t.Fatalf("%s: error %q is more than one line", what, err)
	}
}

// An ID is accepted only as go-threads writes it: base32 decoding drops the last
// character's spare bits, and multibase reads other bases, so without the check eight
// strings name each database and errors quote one the user never typed.
func TestParseIDCanonical(t *testing.T) {
	id := thread.NewIDV1(thread.Raw, 32)
	canon := id.String()
	if got, err := ParseID(canon); err != nil || got != id {
		t.Fatalf("ParseID(%s) = %v, %v", canon, got, err)
	}
	if got, err := ParseID(" " + canon + "\n"); err != nil || got != id {
		t.Fatalf("ParseID with spaces = %v, %v", got, err)
	}
	for _, a := range aliases(t, id) {
		_, err := ParseID(a)
		wantBadID(t, "ParseID("+a+")", err, a, canon)
	}
	upper := "B" + strings.ToUpper(canon[1:])
	_, err := ParseID(upper)
	wantBadID(t, "ParseID(upper case)", err, upper, canon)
	z, err := id.StringOfBase('z')
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseID(z)
	wantBadID(t, "ParseID(base58)", err, z, canon)
}

// A thread address (db join ADDR --key) is checked on the ID as typed: the multiaddr
// parser re-encodes it, so checking its value instead would let every alias through.
func TestParseAddrCanonical(t *testing.T) {
	id := thread.NewIDV1(thread.Raw, 32)
	canon := id.String()
	const peer = "/ip4/127.0.0.1/tcp/4006/p2p/12D3KooWJdyq9AS7Xxu8Y5H6n7o45wnQLXsVXcJ1P35z1bZdsvKb"
	addr, got, err := ParseAddr(peer + "/thread/" + canon)
	if err != nil || got != id || addr.String() != peer+"/thread/"+canon {
		t.Fatalf("ParseAddr = %v, %v, %v", addr, got, err)
	}
	if _, got, err := ParseAddr(peer + "/thread/" + canon + "/"); err != nil || got != id {
		t.Fatalf("ParseAddr with a trailing slash = %v, %v", got, err)
	}
	for _, a := range aliases(t, id) {
		_, _, err := ParseAddr(peer + "/thread/" + a)
		wantBadID(t, "ParseAddr(.../thread/"+a+")", err, a, canon)
	}
	if _, _, err := ParseAddr("/thread/" + canon + peer); err == nil || !errors.Is(err, ErrInvalidArg) || !strings.Contains(err.Error(), "must end in /thread/ID") {
		t.Fatalf("ParseAddr of an address not ending in /thread/ID: %v", err)
	}
}

// An alias of an existing database's ID names no database: a command given one (db
// delete, say) refuses it before any call, rather than acting on the database it decodes to.
func TestResolveDBRefusesAliases(t *testing.T) {
	c, id := collectionsClient(t)
	ctx := context.Background()
	for _, a := range aliases(t, id) {
		got, err := c.ResolveDB(ctx, a)
		if err == nil {
			t.Fatalf("ResolveDB(%s) = %s: an alias resolved to the database", a, got)
		}
		wantBadID(t, "ResolveDB("+a+")", err, a, id.String())
	}
	if got, err := c.ResolveDB(ctx, id.String()); err != nil || got != id {
		t.Fatalf("ResolveDB(%s) = %v, %v", id, got, err)
	}
	if _, err := c.GetDB(ctx, id, false); err != nil {
		t.Fatalf("the database is gone: %v", err)
	}
}
