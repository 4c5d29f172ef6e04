package hubauth

import "github.com/textileio/go-threads/core/thread"

// GatewayIdentity is the identity (the token's subject, a public key's string form) of a
// user token presented to the HTTP gateway, and whether the token may be used there.
//
// A gateway request carries no API key, so the token cannot be checked against the key
// of the call as checkToken does. It is accepted when the host key signed it, it has not
// expired, and its aud names an API key that is still valid: a token stops opening
// private files on the gateway when its key is revoked, as it stops working on the API.
// A token bound to no key is accepted only when the server does not check keys
// (--auth none issues such tokens); with key checks it would be a credential that works
// for ever whatever is revoked. Anything else reports false, and the gateway treats the
// request as one without a token.
func (g *Guard) GatewayIdentity(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	cl, err := g.verify(thread.Token(token))
	if err != nil {
		return "", false
	}
	if !cl.exp.IsZero() && !g.now().Before(cl.exp) {
		return "", false
	}
	switch {
	case cl.aud == "":
		if g.Mode != AuthNone {
			return "", false
		}
	case g.Checker == nil || g.Checker.Keys == nil || !keyValid(g.Checker.Keys, cl.aud):
		return "", false
	}
	return cl.sub, true
}
