package hubauth

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	jwted25519 "github.com/textileio/go-threads/jwt"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// User tokens. go-threads issues a JWT {sub: user public key, iss: host public key, iat}
// signed with the host key, which never expires and names no API key. The Guard reissues
// it as it leaves GetToken with two more standard claims: aud, the API key the token was
// fetched through (none when keys are not checked), and exp, iat + TokenTTL when a
// lifetime is set. go-threads' own checks (thread.Token.Validate, inside the db manager
// and the net) read the same jwt.StandardClaims, verify the signature and refuse an
// expired exp; they ignore aud, which the Guard checks.
//
// With key checks, a token is accepted only with the key it was issued through, and so
// only while that key is valid. A token with no aud (issued before tokens were bound, or
// by a server with --auth none) is refused: it would otherwise be a credential that works
// with any key for ever. Clients get a bound token with one GetToken: hubctl does so on
// its own when a token is refused, and the Hub's clients call GetToken when they start.

// The answers to a token that is well signed but may not be used. They start with
// go-threads' words for an invalid token, which clients (hubctl among them) match to
// fetch a new one, and do not say "API key", which clients read as a refused key.
var (
	errTokenExpired  = status.Error(codes.Unauthenticated, thread.ErrInvalidToken.Error()+": it has expired: get a new one with GetToken")
	errTokenOtherKey = status.Error(codes.Unauthenticated, thread.ErrInvalidToken.Error()+": it was issued through another key: get a new one with GetToken using this key")
	errTokenUnbound  = status.Error(codes.Unauthenticated, thread.ErrInvalidToken.Error()+": it is bound to no key (an older server or --auth none issued it): get a new one with GetToken")
)

// tokenClaims are what the Guard reads from a verified token.
type tokenClaims struct {
	sub string    // the user's public key
	aud string    // the API key it was issued through ("" for none)
	exp time.Time // zero: it never expires
}

// maxCachedTokens bounds the verified-token cache; it is emptied when full.
const maxCachedTokens = 4096

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// verify checks the token's signature against the host key and returns its claims.
// Verified tokens are remembered, since a client sends the same one with every call; the
// claims are checked against the clock and the call's key each time (checkToken).
func (g *Guard) verify(tok thread.Token) (tokenClaims, error) {
	g.tokensMu.Lock()
	cl, ok := g.tokens[tok]
	g.tokensMu.Unlock()
	if ok {
		return cl, nil
	}
	cl, err := g.parseToken(tok)
	if err != nil {
		return tokenClaims{}, err
	}
	g.tokensMu.Lock()
	if g.tokens == nil || len(g.tokens) >= maxCachedTokens {
		g.tokens = map[thread.Token]tokenClaims{}
	}
	g.tokens[tok] = cl
	g.tokensMu.Unlock()
	return cl, nil
}

// parseToken verifies tok's signature (Ed25519, by the host key) and reads its claims.
func (g *Guard) parseToken(tok thread.Token) (tokenClaims, error) {
	var sc jwt.StandardClaims
	// The time claims are checked by checkToken with the Guard's clock.
	parser := jwt.Parser{ValidMethods: []string{jwted25519.SigningMethodEd25519i.Alg()}, SkipClaimsValidation: true}
	_, err := parser.ParseWithClaims(string(tok), &sc, func(*jwt.Token) (any, error) { return g.HostKey.GetPublic(), nil })
	if err != nil {
		return tokenClaims{}, thread.ErrInvalidToken
	}
	pk := &thread.Libp2pPubKey{}
	if err := pk.UnmarshalString(sc.Subject); err != nil {
		return tokenClaims{}, thread.ErrInvalidToken
	}
	cl := tokenClaims{sub: pk.String(), aud: sc.Audience}
	if sc.ExpiresAt != 0 {
		cl.exp = time.Unix(sc.ExpiresAt, 0)
	}
	return cl, nil
}

// checkToken verifies tok for a call made with key (nil when keys are not checked) and
// returns its claims, or the status error the call gets.
func (g *Guard) checkToken(tok thread.Token, key *Key) (tokenClaims, error) {
	cl, err := g.verify(tok)
	if err != nil {
		return tokenClaims{}, errInvalidToken
	}
	// An exp of second N is expired from N on: a second earlier than go-threads'
	// jwt check, so that the Guard, not go-threads, is the one that refuses it.
	if !cl.exp.IsZero() && !g.now().Before(cl.exp) {
		return tokenClaims{}, errTokenExpired
	}
	if key != nil {
		switch cl.aud {
		case key.Key:
		case "":
			return tokenClaims{}, errTokenUnbound
		default:
			return tokenClaims{}, errTokenOtherKey
		}
	}
	return cl, nil
}

// issue signs a token for the user sub (a public key's string form) as go-threads does,
// with aud and, when TokenTTL is set, exp.
func (g *Guard) issue(sub, aud string) (string, error) {
	now := g.now()
	claims := jwt.StandardClaims{
		Subject:  sub,
		Issuer:   thread.NewLibp2pIdentity(g.HostKey).GetPublic().String(),
		IssuedAt: now.Unix(),
		Audience: aud,
	}
	if g.TokenTTL > 0 {
		// exp is in whole seconds: rounded up, so a token lives at least TokenTTL.
		end := now.Add(g.TokenTTL)
		claims.ExpiresAt = end.Unix()
		if end.Nanosecond() != 0 {
			claims.ExpiresAt++
		}
	}
	return jwt.NewWithClaims(jwted25519.SigningMethodEd25519i, claims).SignedString(g.HostKey)
}

// reissue replaces the token in a GetToken reply (the stream's last message) by one
// bound to aud; challenges pass unchanged. The token go-threads made is verified first:
// its subject is the key the client proved it holds.
func (g *Guard) reissue(m any, aud string) error {
	var tok *string
	switch r := m.(type) {
	case *pb.GetTokenReply:
		if p, ok := r.Payload.(*pb.GetTokenReply_Token); ok {
			tok = &p.Token
		}
	case *netpb.GetTokenReply:
		if p, ok := r.Payload.(*netpb.GetTokenReply_Token); ok {
			tok = &p.Token
		}
	}
	if tok == nil {
		return nil
	}
	cl, err := g.parseToken(thread.Token(*tok))
	if err != nil {
		return status.Errorf(codes.Internal, "issue token: go-threads made a token the host key does not verify")
	}
	bound, err := g.issue(cl.sub, aud)
	if err != nil {
		return status.Error(codes.Internal, fmt.Sprintf("issue token: %v", err))
	}
	*tok = bound
	return nil
}
