package invite

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hub"
)

const peerA = "12D3KooWJdyq9AS7Xxu8Y5H6n7o45wnQLXsVXcJ1P35z1bZdsvKb"

func sample(t *testing.T) Invite {
	t.Helper()
	id := thread.NewIDV1(thread.Raw, 32)
	return Invite{
		ID:   id,
		Key:  thread.NewRandomKey(),
		Name: "demo",
		Addrs: []ma.Multiaddr{
			ma.StringCast("/ip4/127.0.0.1/tcp/4006/p2p/" + peerA + "/thread/" + id.String()),
			ma.StringCast("/dns4/hub.example.com/tcp/4006/p2p/" + peerA + "/thread/" + id.String()),
		},
		Collections: []hub.Collection{{
			Name:           "notes",
			Schema:         json.RawMessage(`{"type":"object","properties":{"_id":{"type":"string"}}}`),
			Indexes:        []hub.Index{{Path: "n", Unique: true}},
			WriteValidator: "return true",
		}},
	}
}

func TestRoundTrip(t *testing.T) {
	inv := sample(t)
	s, err := inv.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, Prefix) || strings.ContainsAny(s, " \n\t'\"$`\\") {
		t.Fatalf("invite %q is not one shell-safe word starting with %s", s, Prefix)
	}
	if !Is(s) {
		t.Error("Is(invite) = false")
	}
	got, err := Decode("  " + s + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != inv.ID || got.Key.String() != inv.Key.String() || got.Name != inv.Name {
		t.Errorf("decoded %s %s, want %s %s", got.ID, got.Name, inv.ID, inv.Name)
	}
	if len(got.Addrs) != 2 || !got.Addrs[0].Equal(inv.Addrs[0]) || !got.Addrs[1].Equal(inv.Addrs[1]) {
		t.Errorf("addresses %v, want %v in order", got.Addrs, inv.Addrs)
	}
	if len(got.Collections) != 1 || got.Collections[0].WriteValidator != "return true" ||
		string(got.Collections[0].Schema) != string(inv.Collections[0].Schema) || !got.Collections[0].Indexes[0].Unique {
		t.Errorf("collections %+v, want %+v", got.Collections, inv.Collections)
	}
}

// Errors about an invite never quote it, nor the key it holds.
func TestDecodeErrorsNeverQuoteTheInvite(t *testing.T) {
	inv := sample(t)
	s, err := inv.Encode()
	if err != nil {
		t.Fatal(err)
	}
	payload := strings.TrimPrefix(s, Prefix)
	encode := func(p string) string {
		return Prefix + base64.RawURLEncoding.EncodeToString(gz(t, p))
	}
	for name, tc := range map[string]struct{ in, want string }{
		"cut":         {s[:len(s)/2], "cut short or altered"},
		"bad base64":  {Prefix + "@@" + payload, "cut short or altered"},
		"not gzip":    {Prefix + base64.RawURLEncoding.EncodeToString([]byte("hello")), "cut short or altered"},
		"newer":       {"hubinvite2." + payload, "newer hubctl"},
		"other":       {"bafk" + payload, "must start with " + Prefix},
		"not json":    {encode("nope"), "not an invite"},
		"extra field": {encode(`{"id":"x","surprise":1}`), "not an invite"},
		"read-only key": {encode(`{"id":"` + inv.ID.String() + `","key":"` + thread.NewServiceKey(thread.NewRandomKey().Service()).String() + `","addrs":["` + inv.Addrs[0].String() + `"]}`),
			"full thread key"},
		"no addrs": {encode(`{"id":"` + inv.ID.String() + `","key":"` + inv.Key.String() + `","addrs":[]}`), "no address"},
		"other thread": {encode(`{"id":"` + thread.NewIDV1(thread.Raw, 32).String() + `","key":"` + inv.Key.String() + `","addrs":["` + inv.Addrs[0].String() + `"]}`),
			"is not an address of thread"},
		"no peer": {encode(`{"id":"` + inv.ID.String() + `","key":"` + inv.Key.String() + `","addrs":["/ip4/127.0.0.1/tcp/1/thread/` + inv.ID.String() + `"]}`),
			"names no peer"},
		"twice": {encode(`{"id":"` + inv.ID.String() + `","key":"` + inv.Key.String() + `","addrs":["` + inv.Addrs[0].String() + `"],"collections":[{"name":"a"},{"name":"a"}]}`),
			"appears twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(tc.in)
			if err == nil {
				t.Fatal("decoded")
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalid saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), inv.Key.String()) || strings.Contains(err.Error(), payload[:16]) {
				t.Errorf("err quotes the invite or its key: %v", err)
			}
		})
	}
}

func TestEncodeRefusesWhatCannotBeJoined(t *testing.T) {
	inv := sample(t)
	inv.Addrs = nil
	if _, err := inv.Encode(); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("no addresses: err = %v", err)
	}
	inv = sample(t)
	inv.Key = thread.NewServiceKey(thread.NewRandomKey().Service())
	if _, err := inv.Encode(); err == nil || !strings.Contains(err.Error(), "full thread key") {
		t.Errorf("service key only: err = %v", err)
	}
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
