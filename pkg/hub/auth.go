package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	mbase "github.com/multiformats/go-multibase"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/textile/v2/api/common"
)

// ErrInvalidSecret is an API secret that is not multibase; the Hub decodes the secret before
// it keys the signature, so such a secret could never sign a call.
var ErrInvalidSecret = errors.New("invalid API secret")

// ErrInvalidAuth is another API key setting that could never authenticate.
var ErrInvalidAuth = errors.New("invalid API key settings")

// MaxSigTTL is the longest signature lifetime hubctl asks for; the Hub refused dates further
// ahead than a day.
const MaxSigTTL = 24 * time.Hour

// Auth is the Hub's API key authentication: the key, and the secret that signs a date.
type Auth struct {
	Key    string
	Secret string
	// SigTTL is how far ahead the signed date lies; the server refuses the signature after it.
	SigTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Validate refuses settings that could never authenticate, before any call is made. The
// message never contains the secret.
func (a Auth) Validate() error {
	if a.Secret != "" && a.Key == "" {
		return fmt.Errorf("%w: an API secret is set but no API key: set --key (or HUBCTL_KEY) too", ErrInvalidAuth)
	}
	if a.Secret != "" {
		if _, _, err := mbase.Decode(a.Secret); err != nil {
			return fmt.Errorf("%w: it must be multibase, as the Hub issues it (e.g. b...): %v", ErrInvalidSecret, err)
		}
	}
	if a.SigTTL < 0 || a.SigTTL > MaxSigTTL {
		return fmt.Errorf("%w: signature lifetime %s: use a positive duration of at most 24h", ErrInvalidAuth, a.SigTTL)
	}
	return nil
}

// Context adds the API key and, with a secret, a fresh signature valid for SigTTL: the
// metadata textile's common.Credentials sends with each call.
func (a Auth) Context(ctx context.Context) (context.Context, error) {
	if a.Key == "" {
		return ctx, nil
	}
	ctx = common.NewAPIKeyContext(ctx, a.Key)
	if a.Secret == "" {
		return ctx, nil
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	ttl := a.SigTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	ctx, err := common.CreateAPISigContext(ctx, now().Add(ttl), a.Secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSecret, err)
	}
	return ctx, nil
}

// withToken adds a user token to ctx, sent as "authorization: bearer TOKEN".
func withToken(ctx context.Context, tok thread.Token) context.Context {
	if tok == "" {
		return ctx
	}
	return thread.NewTokenContext(ctx, tok)
}
