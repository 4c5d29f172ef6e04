package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt"

	"github.com/hubctl/hubctl/pkg/atomicfile"
	"github.com/hubctl/hubctl/pkg/filemode"
)

// TokenCache keeps user tokens per (target, identity public key), one 0600 file each in a
// 0700 directory, so concurrent commands never rewrite each other's entries.
type TokenCache struct {
	Dir string
}

// CachedToken is one cache entry.
type CachedToken struct {
	Target    string    `json:"target"`
	Identity  string    `json:"identity"`
	PublicKey string    `json:"publicKey"`
	Token     string    `json:"token"`
	Obtained  time.Time `json:"obtained"`
}

func (c *TokenCache) path(target, publicKey string) string {
	sum := sha256.Sum256([]byte(target + "\x00" + publicKey))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:16])+".json")
}

// maxTokenFile bounds a cache entry: a token is a few hundred bytes.
const maxTokenFile = 1 << 20

// Get returns the cached token for target and publicKey, or "" when there is none. A
// corrupt entry counts as none: the token is fetched again and the entry rewritten. An
// entry other users can read is refused, as the keystore refuses a key file: a thread
// token is as good as the identity on that server until it expires, and most never do. So is a cache
// directory others can write to: they could put their own token in the place of yours.
func (c *TokenCache) Get(target, publicKey string) (string, error) {
	if c == nil || c.Dir == "" {
		return "", nil
	}
	if err := filemode.CheckDirWrite("token cache directory", c.Dir); err != nil {
		return "", err
	}
	p := c.path(target, publicKey)
	data, info, err := filemode.ReadRegular(p, maxTokenFile)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, filemode.ErrTooLarge) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read token cache: %w", err)
	}
	var e CachedToken
	if json.Unmarshal(data, &e) != nil || e.Target != target || e.PublicKey != publicKey || e.Token == "" {
		return "", nil
	}
	if err := filemode.Check("token cache file", p, info); err != nil {
		return "", err
	}
	return e.Token, nil
}

// Put stores a token atomically, mode 0600, in a directory hubctl creates 0700 and that
// others must not be able to write to.
func (c *TokenCache) Put(e CachedToken) error {
	if c == nil || c.Dir == "" {
		return nil
	}
	if err := atomicfile.MkdirPrivate(c.Dir); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if err := filemode.CheckDirWrite("token cache directory", c.Dir); err != nil {
		return err
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(c.path(e.Target, e.PublicKey), append(data, '\n'), 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}

// ErrInvalidToken is a string that is not a thread token (a JWT).
var ErrInvalidToken = errors.New("invalid token")

// Claims are what a thread token says, read without verifying its signature: only the
// issuing server can verify it, with its host key.
type Claims struct {
	Subject  string    `json:"subject"`  // the user's public key
	Issuer   string    `json:"issuer"`   // the server's host public key
	IssuedAt time.Time `json:"issuedAt"` // when the server issued it
	// Expires is zero for a token without an expiry (a daemon without --token-ttl).
	Expires time.Time `json:"expires,omitzero"`
	// Key is the API key the token was fetched through (its aud), on hubctl's servers.
	Key string `json:"key,omitempty"`
}

// InspectToken decodes a token's claims without any server.
func InspectToken(token string) (Claims, error) {
	token = strings.TrimSpace(token)
	var sc jwt.StandardClaims
	if _, _, err := new(jwt.Parser).ParseUnverified(token, &sc); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if sc.Subject == "" || sc.Issuer == "" {
		return Claims{}, fmt.Errorf("%w: it has no subject or issuer, so it is not a thread token", ErrInvalidToken)
	}
	c := Claims{Subject: sc.Subject, Issuer: sc.Issuer, Key: sc.Audience}
	if sc.IssuedAt != 0 {
		c.IssuedAt = time.Unix(sc.IssuedAt, 0).UTC()
	}
	if sc.ExpiresAt != 0 {
		c.Expires = time.Unix(sc.ExpiresAt, 0).UTC()
	}
	return c, nil
}
