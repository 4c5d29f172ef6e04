package hubauth

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/core/thread"
)

// The gateway accepts a token the host signed, unexpired, bound to a key that is still
// valid (or, without key checks, bound to none), and nothing else: another signer's, an
// expired one (also once cached), one of a revoked key, one bound to no key while keys
// are checked, and what is not a token at all.
func TestGatewayIdentity(t *testing.T) {
	f := newGuardFixture(t, AuthKeys)
	now := time.Now()
	f.g.Now = func() time.Time { return now }
	who, userTok := f.identityFor(t, &f.user)
	accountWho, accountTok := f.identityFor(t, &f.account)
	_, unbound := f.identityFor(t, nil)
	other, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := (&Guard{HostKey: other}).issue(who, f.user.Key)
	if err != nil {
		t.Fatal(err)
	}
	f.g.TokenTTL = time.Minute
	_, expiring := f.identityFor(t, &f.user)
	f.g.TokenTTL = 0

	for _, tc := range []struct {
		what, tok, want string
		ok              bool
	}{
		{"user token", string(userTok), who, true},
		{"account token", string(accountTok), accountWho, true},
		{"token of a fresh TTL", string(expiring), "", true},
		{"no token", "", "", false},
		{"garbage", "not-a-token", "", false},
		{"another host's signature", forged, "", false},
		{"bound to no key", string(unbound), "", false},
	} {
		got, ok := f.g.GatewayIdentity(tc.tok)
		if ok != tc.ok || (tc.want != "" && got != tc.want) || (!ok && got != "") {
			t.Errorf("%s: %q %v, want %q %v", tc.what, got, ok, tc.want, tc.ok)
		}
	}

	now = now.Add(time.Minute + time.Second)
	if _, ok := f.g.GatewayIdentity(string(expiring)); ok {
		t.Error("an expired token (verified and cached before) is accepted")
	}

	kr := f.g.Checker.Keys.(*Keyring)
	changed := kr.Changes()
	if _, err := OpenRegistry(f.dir).Revoke(f.user.Key); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatal("the keyring did not see the revocation")
	}
	if _, ok := f.g.GatewayIdentity(string(userTok)); ok {
		t.Error("a token of a revoked key is accepted")
	}
	if _, ok := f.g.GatewayIdentity(string(accountTok)); !ok {
		t.Error("a token of another, valid key is refused after a revocation")
	}

	open := newGuardFixture(t, AuthNone)
	openWho, openTok := open.identityFor(t, nil)
	if got, ok := open.g.GatewayIdentity(string(openTok)); !ok || got != openWho {
		t.Errorf("--auth none, a token bound to no key: %q %v", got, ok)
	}
	raw, err := thread.NewToken(open.hostKey, thread.NewLibp2pPubKey(other.GetPublic()))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := open.g.GatewayIdentity(string(raw)); !ok {
		t.Error("--auth none, go-threads' own token is refused")
	}
	if _, ok := open.g.GatewayIdentity(forged); ok {
		t.Error("--auth none, another host's token is accepted")
	}
}
