package hub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hubctl/hubctl/internal/testnode"
	"github.com/hubctl/hubctl/pkg/filemode"
)

// A thread token never expires: a cache entry other users can read is refused, as the
// keystore refuses a key file at 0644, with the fix in a one-line message that does not
// carry the token.
func TestTokenCacheRefusesReadableEntry(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	c := &TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}
	const tok = "eyJhbGciOiJFZERTQSJ9.secret-token-body.sig"
	if err := c.Put(CachedToken{Target: "t", PublicKey: "pk", Token: tok}); err != nil {
		t.Fatal(err)
	}
	p := c.path("t", "pk")
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		got, err := c.Get("t", "pk")
		if got != "" || !errors.Is(err, filemode.ErrInsecure) {
			t.Fatalf("Get of a %04o entry = %q, %v; want a refusal", mode, got, err)
		}
		msg := err.Error()
		if !strings.HasSuffix(msg, "run chmod 600 "+p) || !strings.HasPrefix(msg, "token cache file "+p) {
			t.Errorf("message %q does not name the file and the fix", msg)
		}
		if strings.Contains(msg, "secret-token-body") || strings.Contains(msg, "\n") {
			t.Errorf("message %q is not one line without the token", msg)
		}
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get("t", "pk"); got != tok || err != nil {
		t.Errorf("Get after chmod 600 = %q, %v", got, err)
	}
	// A corrupt entry is none, whatever its mode: nothing in it is a token to protect.
	if err := os.WriteFile(p, []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get("t", "pk"); got != "" || err != nil {
		t.Errorf("corrupt 0644 entry: %q, %v; want none", got, err)
	}
	// Put replaces it with a 0600 file (atomically: no temporary file is left).
	if err := c.Put(CachedToken{Target: "t", PublicKey: "pk", Token: tok}); err != nil {
		t.Fatal(err)
	}
	wantPerm(t, p, 0o600)
	if entries, _ := os.ReadDir(c.Dir); len(entries) != 1 {
		t.Errorf("cache directory holds %d entries, want 1", len(entries))
	}
}

// A client whose cached token others can read stops with the refusal instead of sending
// the token, and asks the server for nothing.
func TestClientRefusesReadableCachedToken(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	s := startNode(t, testnode.Options{})
	ctx := context.Background()
	cache := &TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}
	ident := testIdentity(t)
	tgt, _ := ParseTarget(s.Addr, false, "", false)
	c := newClient(t, Options{Target: tgt, Tokens: cache, Identity: ident})
	first, err := c.Token(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(cache.Dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache entries: %v, %v", entries, err)
	}
	p := filepath.Join(cache.Dir, entries[0].Name())
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	c2 := newClient(t, Options{Target: tgt, Tokens: cache, Identity: ident})
	_, err = c2.Token(ctx, false)
	if !errors.Is(err, filemode.ErrInsecure) || !strings.Contains(err.Error(), "run chmod 600 "+p) {
		t.Fatalf("Token with a 0644 cache entry: %v, want the refusal naming chmod 600 %s", err, p)
	}
	if strings.Contains(err.Error(), first.Token) {
		t.Errorf("error %q carries the token", err)
	}
	if n := s.GetTokenCalls(); n != 1 {
		t.Errorf("%d GetToken calls, want 1 (the refusal asks the server nothing)", n)
	}
}

// A cache directory others can write to is refused: they could put their token in the
// place of yours. 0755 is not refused: the 0600 entries in it stay unreadable.
func TestTokenCacheDirectoryOthersCanWrite(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	c := &TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}
	if err := c.Put(CachedToken{Target: "t", PublicKey: "pk", Token: "tok"}); err != nil {
		t.Fatal(err)
	}
	wantPerm(t, c.Dir, 0o700)
	if err := os.Chmod(c.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get("t", "pk"); got != "tok" || err != nil {
		t.Errorf("Get in a 0755 directory = %q, %v", got, err)
	}
	for _, mode := range []os.FileMode{0o775, 0o777} {
		if err := os.Chmod(c.Dir, mode); err != nil {
			t.Fatal(err)
		}
		want := "run chmod 700 " + c.Dir
		if _, err := c.Get("t", "pk"); !errors.Is(err, filemode.ErrInsecure) || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("Get in a %04o directory: %v, want a refusal ending %q", mode, err, want)
		}
		if err := c.Put(CachedToken{Target: "t", PublicKey: "pk", Token: "new"}); !errors.Is(err, filemode.ErrInsecure) {
			t.Errorf("Put in a %04o directory: %v, want a refusal", mode, err)
		}
	}
}
