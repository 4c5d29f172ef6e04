package hubauth

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt"
	"github.com/libp2p/go-libp2p-core/crypto"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fakeStream is the server side of a stream for the guard's stream interceptor: what the
// handler sends is kept, and each RecvMsg waits for a value on recv.
type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent []any
	recv chan struct{}
}

func (s *fakeStream) Context() context.Context { return s.ctx }
func (s *fakeStream) SendMsg(m any) error      { s.sent = append(s.sent, m); return nil }
func (s *fakeStream) RecvMsg(any) error {
	select {
	case <-s.recv:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func streamCtx(key *Key, tok thread.Token) context.Context {
	md := metadata.MD{}
	if key != nil {
		md.Set("x-textile-api-key", key.Key)
	}
	if tok != "" {
		md.Set("authorization", "bearer "+string(tok))
	}
	return metadata.NewIncomingContext(context.Background(), md)
}

// getToken runs GetToken (threads or net API) through the guard with key, as go-threads
// answers it: a challenge, then a token it made for a new identity. It returns what the
// client received and the identity's name.
func (f *guardFixture) getToken(t *testing.T, key *Key, method string) ([]any, string) {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	pk := thread.NewLibp2pPubKey(sk.GetPublic())
	raw, err := thread.NewToken(f.hostKey, pk)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeStream{ctx: streamCtx(key, "")}
	err = f.g.StreamInterceptor()(nil, s, &grpc.StreamServerInfo{FullMethod: method}, func(_ any, ss grpc.ServerStream) error {
		if method == netAPI+"GetToken" {
			if err := ss.SendMsg(&netpb.GetTokenReply{Payload: &netpb.GetTokenReply_Challenge{Challenge: []byte("c")}}); err != nil {
				return err
			}
			return ss.SendMsg(&netpb.GetTokenReply{Payload: &netpb.GetTokenReply_Token{Token: string(raw)}})
		}
		if err := ss.SendMsg(&pb.GetTokenReply{Payload: &pb.GetTokenReply_Challenge{Challenge: []byte("c")}}); err != nil {
			return err
		}
		return ss.SendMsg(&pb.GetTokenReply{Payload: &pb.GetTokenReply_Token{Token: string(raw)}})
	})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	return s.sent, pk.String()
}

func lastToken(t *testing.T, sent []any) thread.Token {
	t.Helper()
	if len(sent) != 2 {
		t.Fatalf("GetToken sent %d messages, want 2", len(sent))
	}
	switch r := sent[1].(type) {
	case *pb.GetTokenReply:
		return thread.Token(r.GetToken())
	case *netpb.GetTokenReply:
		return thread.Token(r.GetToken())
	}
	t.Fatalf("GetToken sent %T", sent[1])
	return ""
}

func claimsOf(t *testing.T, tok thread.Token) jwt.StandardClaims {
	t.Helper()
	var sc jwt.StandardClaims
	if _, _, err := new(jwt.Parser).ParseUnverified(string(tok), &sc); err != nil {
		t.Fatal(err)
	}
	return sc
}

// GetToken's token (threads and net API) is reissued bound to the key it was fetched
// through, with an exp when a lifetime is set; go-threads still accepts it (it checks
// the signature and exp with the same host key), and the challenge passes unchanged.
func TestGetTokenIssuesBoundTokens(t *testing.T) {
	for _, method := range []string{threadsAPI + "GetToken", netAPI + "GetToken"} {
		t.Run(method, func(t *testing.T) {
			f := newGuardFixture(t, AuthKeys)
			sent, sub := f.getToken(t, &f.user, method)
			switch c := sent[0].(type) {
			case *pb.GetTokenReply:
				if string(c.GetChallenge()) != "c" {
					t.Fatalf("challenge changed: %v", c)
				}
			case *netpb.GetTokenReply:
				if string(c.GetChallenge()) != "c" {
					t.Fatalf("challenge changed: %v", c)
				}
			}
			tok := lastToken(t, sent)
			sc := claimsOf(t, tok)
			if sc.Audience != f.user.Key || sc.Subject != sub || sc.ExpiresAt != 0 {
				t.Fatalf("claims %+v: want aud %s, sub %s, no exp", sc, f.user.Key, sub)
			}
			if pk, err := tok.Validate(f.hostKey); err != nil || pk.String() != sub {
				t.Fatalf("go-threads' Validate: %v %v", pk, err)
			}

			f.g.TokenTTL = 90 * time.Second
			before := time.Now()
			sc = claimsOf(t, lastToken(t, first(f.getToken(t, &f.user, method))))
			if exp := time.Unix(sc.ExpiresAt, 0); exp.Before(before.Add(90*time.Second).Truncate(time.Second)) || exp.After(time.Now().Add(91*time.Second)) {
				t.Fatalf("exp %s for a lifetime of 90s from %s", exp, before)
			}

			open := newGuardFixture(t, AuthNone)
			if sc := claimsOf(t, lastToken(t, first(open.getToken(t, nil, method)))); sc.Audience != "" {
				t.Fatalf("--auth none token has aud %q", sc.Audience)
			}
		})
	}
}

func first(sent []any, _ string) []any { return sent }

// With key checks a token works only with its key: not with another user key nor an
// account key, and one bound to no key is refused; without key checks any of our tokens
// works. Each refusal starts with go-threads' words, which clients match to fetch anew.
func TestTokenOnlyWithItsKey(t *testing.T) {
	f := newGuardFixture(t, AuthKeys)
	_, userTok := f.identityFor(t, &f.user)
	_, accountTok := f.identityFor(t, &f.account)
	_, unbound := f.identityFor(t, nil)
	raw, err := thread.NewToken(f.hostKey, thread.NewLibp2pPubKey(f.hostKey.GetPublic()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		key  *Key
		tok  thread.Token
		want error
	}{
		{"user token, user key", &f.user, userTok, nil},
		{"account token, account key", &f.account, accountTok, nil},
		{"user token, account key", &f.account, userTok, errTokenOtherKey},
		{"account token, user key", &f.user, accountTok, errTokenOtherKey},
		{"unbound token, user key", &f.user, unbound, errTokenUnbound},
		{"unbound token, account key", &f.account, unbound, errTokenUnbound},
		{"go-threads' own token, user key", &f.user, raw, errTokenUnbound},
	} {
		id := thread.NewIDV1(thread.Raw, 32)
		err := f.call(tc.key, tc.tok, threadsAPI+"NewDB", newDB(id), id)
		if status.Convert(err).Message() != status.Convert(tc.want).Message() || status.Code(err) != status.Code(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.what, err, tc.want)
		}
		if tc.want != nil && status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: code %v", tc.what, status.Code(err))
		}
	}

	open := newGuardFixture(t, AuthNone)
	for what, key := range map[string]*Key{"unbound": nil, "bound": &f.user} {
		_, tok := open.identityFor(t, key)
		id := thread.NewIDV1(thread.Raw, 32)
		if err := open.call(nil, tok, threadsAPI+"NewDB", newDB(id), id); err != nil {
			t.Errorf("--auth none, %s token: %v", what, err)
		}
	}
}

// An expired token is refused, also once it has been verified and cached.
func TestExpiredTokenRefused(t *testing.T) {
	for _, mode := range []Mode{AuthKeys, AuthNone} {
		t.Run(mode.String(), func(t *testing.T) {
			f := newGuardFixture(t, mode)
			now := time.Now()
			f.g.Now = func() time.Time { return now }
			f.g.TokenTTL = time.Minute
			_, tok := f.identity(t)
			var key *Key
			if mode == AuthKeys {
				key = &f.user
			}
			id := thread.NewIDV1(thread.Raw, 32)
			if err := f.call(key, tok, threadsAPI+"NewDB", newDB(id), id); err != nil {
				t.Fatalf("a fresh token: %v", err)
			}
			now = now.Add(time.Minute + time.Second)
			id = thread.NewIDV1(thread.Raw, 32)
			err := f.call(key, tok, threadsAPI+"NewDB", newDB(id), id)
			if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != status.Convert(errTokenExpired).Message() {
				t.Fatalf("an expired (cached) token: %v, want %v", err, errTokenExpired)
			}
		})
	}
}

// A token signed by another key, or one whose alg is not Ed25519, is refused with
// go-threads' plain words.
func TestForgedTokensRefused(t *testing.T) {
	f := newGuardFixture(t, AuthKeys)
	other, _, _ := crypto.GenerateEd25519Key(nil)
	forged, err := (&Guard{HostKey: other}).issue(thread.NewLibp2pPubKey(other.GetPublic()).String(), f.user.Key)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.StandardClaims{Subject: thread.NewLibp2pPubKey(other.GetPublic()).String(), Audience: f.user.Key}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	for what, tok := range map[string]string{"another signer": forged, "alg none": none, "not a JWT": "x.y.z"} {
		id := thread.NewIDV1(thread.Raw, 32)
		err := f.call(&f.user, thread.Token(tok), threadsAPI+"NewDB", newDB(id), id)
		if status.Convert(err).Message() != "invalid thread token" {
			t.Errorf("%s: %v", what, err)
		}
	}
}
