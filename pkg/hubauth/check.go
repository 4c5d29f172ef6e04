package hubauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultMaxSigTTL is how far ahead a signature's date may be, as on the hosted Hub.
const DefaultMaxSigTTL = 24 * time.Hour

// The Hub's answers to a bad key or signature, word for word: Hub clients and their users
// match on them.
var (
	errKeyRequired  = status.Error(codes.Unauthenticated, "Session or API key required")
	errKeyNotFound  = status.Error(codes.NotFound, "API key not found or is invalid")
	errSigRequired  = status.Error(codes.Unauthenticated, "API key signature required")
	errBadSignature = status.Error(codes.Unauthenticated, "Bad API key signature")
)

// KeyLookup finds an API key and its decoded secret; *Keyring implements it.
type KeyLookup interface {
	Lookup(key string) (Key, []byte, bool)
}

// Checker applies the Hub's API key rules to a request's metadata.
type Checker struct {
	Keys KeyLookup
	// MaxSigTTL refuses signatures dated further ahead (DefaultMaxSigTTL when zero).
	MaxSigTTL time.Duration
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
}

// Check returns the caller's valid key, or the Hub's status error: no key at all is
// Unauthenticated (the Hub's "Session or API key required": hubctl's servers have no
// sessions), an unknown or revoked key is NotFound; a secure key needs a signature whose date lies between now and now +
// MaxSigTTL, made with the key's secret.
func (c *Checker) Check(ctx context.Context) (Key, error) {
	k, ok := common.APIKeyFromMD(ctx)
	if !ok {
		return Key{}, errKeyRequired
	}
	key, secret, ok := c.Keys.Lookup(k)
	if !ok || !key.Valid() {
		return Key{}, errKeyNotFound
	}
	if !key.Secure {
		return key, nil
	}
	msg, sig, ok := common.APISigFromMD(ctx)
	if !ok {
		return Key{}, errSigRequired
	}
	if !c.validSignature(msg, sig, secret) {
		return Key{}, errBadSignature
	}
	return key, nil
}

// validSignature checks the HMAC of msg and its date. The date is parsed with RFC 3339,
// which in Go also accepts fractional seconds: the JS clients send milliseconds
// ("2026-11-23T01:06:31.045Z"), Go clients whole seconds.
func (c *Checker) validSignature(msg string, sig, secret []byte) bool {
	date, err := time.Parse(time.RFC3339, msg)
	if err != nil {
		return false
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ttl := c.MaxSigTTL
	if ttl == 0 {
		ttl = DefaultMaxSigTTL
	}
	t := now()
	if date.Before(t) || date.After(t.Add(ttl)) {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(msg))
	return hmac.Equal(sig, mac.Sum(nil))
}
