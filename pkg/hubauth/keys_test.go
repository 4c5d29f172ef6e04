package hubauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	mbase "github.com/multiformats/go-multibase"

	"github.com/hubctl/hubctl/pkg/filemode"
)

func decode(t *testing.T, what, s string) []byte {
	t.Helper()
	if !strings.HasPrefix(s, "b") {
		t.Fatalf("%s %q does not start with the base32 prefix b", what, s)
	}
	if s != strings.ToLower(s) || strings.Contains(s, "=") {
		t.Fatalf("%s %q is not lower case base32 without padding", what, s)
	}
	enc, b, err := mbase.Decode(s)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	if enc != mbase.Base32 {
		t.Fatalf("%s %q: encoding %c, want base32", what, s, enc)
	}
	return b
}

func TestCreateFormatAndPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := OpenRegistry(dir)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("OpenRegistry touched the disk: %v", err)
	}
	if r.Path() != filepath.Join(dir, "keys.json") {
		t.Fatalf("Path = %s", r.Path())
	}
	k, err := r.Create(CreateOptions{Type: UserKey, Secure: true, Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(decode(t, "key", k.Key)); n != 16 {
		t.Errorf("key decodes to %d bytes, want 16", n)
	}
	if n := len(decode(t, "secret", k.Secret)); n != 24 {
		t.Errorf("secret decodes to %d bytes, want 24", n)
	}
	if k.Key == k.Secret || k.Type != UserKey || !k.Secure || k.Name != "ci" || !k.Valid() {
		t.Errorf("created %+v", k)
	}
	if time.Since(k.Created) > time.Minute || k.Created.IsZero() {
		t.Errorf("Created = %v", k.Created)
	}
	k2, err := r.Create(CreateOptions{Type: AccountKey})
	if err != nil {
		t.Fatal(err)
	}
	if k2.Key == k.Key || k2.Secret == k.Secret {
		t.Error("two keys share a key or a secret")
	}

	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{dir: 0o700, r.Path(): 0o600} {
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != want {
				t.Errorf("%s: mode %04o, want %04o", path, got, want)
			}
		}
	}

	// The file is the documented JSON object.
	var f struct {
		Version int                      `json:"version"`
		Keys    []map[string]interface{} `json:"keys"`
	}
	data, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Version != 1 || len(f.Keys) != 2 || f.Keys[0]["type"] != "user" || f.Keys[1]["type"] != "account" ||
		f.Keys[0]["secure"] != true || f.Keys[1]["secure"] != false || f.Keys[0]["name"] != "ci" {
		t.Errorf("keys.json = %s", data)
	}
	if _, ok := f.Keys[0]["revoked"]; ok {
		t.Errorf("a valid key has a revoked field: %s", data)
	}
}

func TestCreateListRevoke(t *testing.T) {
	r := OpenRegistry(t.TempDir())
	keys, err := r.List()
	if err != nil || keys == nil || len(keys) != 0 {
		t.Fatalf("List of a new registry = %v, %v; want an empty list", keys, err)
	}
	var created []Key
	for i := 0; i < 3; i++ {
		k, err := r.Create(CreateOptions{Type: KeyType(i % 2), Secure: i != 1, Name: "k" + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, k)
	}
	keys, err = r.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("List = %d keys, want 3", len(keys))
	}
	for i := range keys {
		if !keysEqual(keys[i], created[i]) {
			t.Errorf("List[%d] = %+v, want %+v (creation order)", i, keys[i], created[i])
		}
	}

	rev, err := r.Revoke(created[1].Key)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Valid() || rev.Key != created[1].Key {
		t.Fatalf("Revoke returned %+v", rev)
	}
	first := *rev.Revoked
	time.Sleep(5 * time.Millisecond)
	again, err := r.Revoke(created[1].Key)
	if err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if !again.Revoked.Equal(first) {
		t.Errorf("revoking twice moved the time from %v to %v", first, *again.Revoked)
	}
	keys, err = r.List()
	if err != nil {
		t.Fatal(err)
	}
	if !keys[0].Valid() || keys[1].Valid() || !keys[2].Valid() || !keys[1].Revoked.Equal(first) {
		t.Errorf("after revoke: %+v", keys)
	}
}

func keysEqual(a, b Key) bool {
	if (a.Revoked == nil) != (b.Revoked == nil) || (a.Revoked != nil && !a.Revoked.Equal(*b.Revoked)) {
		return false
	}
	return a.Key == b.Key && a.Secret == b.Secret && a.Name == b.Name && a.Type == b.Type &&
		a.Secure == b.Secure && a.Created.Equal(b.Created)
}

func TestRevokeUnknown(t *testing.T) {
	// No directory at all: not found, and nothing is created.
	dir := filepath.Join(t.TempDir(), "none")
	_, err := OpenRegistry(dir).Revoke("bnosuchkey")
	if !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), "bnosuchkey") {
		t.Fatalf("Revoke in a missing registry: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Revoke created %s", dir)
	}

	r := OpenRegistry(t.TempDir())
	k, err := r.Create(CreateOptions{Type: UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Revoke("bnosuchkey")
	if !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), "bnosuchkey") {
		t.Fatalf("Revoke unknown: %v", err)
	}
	// A secret passed as a key is not found, and the error does not repeat it.
	_, err = r.Revoke(k.Secret)
	if !errors.Is(err, ErrKeyNotFound) || strings.Contains(err.Error(), k.Secret) || !strings.Contains(err.Error(), k.Key) {
		t.Fatalf("Revoke(secret): %v", err)
	}
	keys, _ := r.List()
	if len(keys) != 1 || !keys[0].Valid() {
		t.Errorf("a failed revoke changed the registry: %+v", keys)
	}
}

func TestConcurrentCreates(t *testing.T) {
	dir := t.TempDir()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each its own Registry, as separate processes would have.
			if _, err := OpenRegistry(dir).Create(CreateOptions{Type: UserKey, Secure: true}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	keys, err := OpenRegistry(dir).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n {
		t.Fatalf("%d concurrent creates left %d keys", n, len(keys))
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "keys.json" && e.Name() != "keys.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestCorruptFile(t *testing.T) {
	dir := t.TempDir()
	r := OpenRegistry(dir)
	if _, err := r.Create(CreateOptions{Type: UserKey}); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"truncated":   `{"version":1,"keys":[{"key":"b`,
		"not json":    "hello",
		"version":     `{"version":2,"keys":[]}`,
		"bad type":    `{"version":1,"keys":[{"key":"bk","secret":"bmfrgg","type":"admin"}]}`,
		"bad secret":  `{"version":1,"keys":[{"key":"bk","secret":"!!","type":"user"}]}`,
		"duplicate":   `{"version":1,"keys":[{"key":"bk","secret":"bmfrgg","type":"user"},{"key":"bk","secret":"bmfrgg","type":"user"}]}`,
		"trailing":    `{"version":1,"keys":[]} {}`,
		"missing key": `{"version":1,"keys":[{"secret":"bmfrgg","type":"user"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(r.Path(), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := r.List()
			if err == nil || !strings.Contains(err.Error(), r.Path()) {
				t.Fatalf("List of a corrupt file: %v", err)
			}
			if _, err := r.Create(CreateOptions{Type: UserKey}); err == nil {
				t.Fatal("Create replaced a corrupt file")
			}
			if got, _ := os.ReadFile(r.Path()); string(got) != content {
				t.Fatalf("the corrupt file was changed to %s", got)
			}
			if _, err := r.Watch(t.Context()); err == nil {
				t.Fatal("Watch accepted a corrupt file")
			}
		})
	}
	// The JSON error itself is named.
	if err := os.WriteFile(r.Path(), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.List(); err == nil || !strings.Contains(err.Error(), "invalid character") {
		t.Errorf("List: %v", err)
	}
}

func TestKeyTypeText(t *testing.T) {
	for _, c := range []struct {
		in   string
		want KeyType
	}{{"user", UserKey}, {"account", AccountKey}, {"User", UserKey}} {
		got, err := ParseKeyType(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseKeyType(%q) = %v, %v", c.in, got, err)
		}
	}
	_, err := ParseKeyType("admin")
	if !errors.Is(err, ErrInvalidKeyType) || !strings.Contains(err.Error(), "account") || !strings.Contains(err.Error(), "user") {
		t.Errorf("ParseKeyType(admin) = %v", err)
	}
	if AccountKey.String() != "account" || UserKey.String() != "user" || int(AccountKey) != 0 || int(UserKey) != 1 {
		t.Error("key type names or numbers differ from the Hub's")
	}
	b, err := json.Marshal(Key{Type: AccountKey})
	if err != nil || !bytes.Contains(b, []byte(`"type":"account"`)) {
		t.Errorf("marshal: %s, %v", b, err)
	}
	var k Key
	if err := json.Unmarshal([]byte(`{"type":"user"}`), &k); err != nil || k.Type != UserKey {
		t.Errorf("unmarshal user: %v %v", k.Type, err)
	}
	if err := json.Unmarshal([]byte(`{"type":0}`), &k); err != nil || k.Type != AccountKey {
		t.Errorf("unmarshal 0: %v %v", k.Type, err)
	}
	if err := json.Unmarshal([]byte(`{"type":7}`), &k); !errors.Is(err, ErrInvalidKeyType) {
		t.Errorf("unmarshal 7: %v", err)
	}
	if _, err := json.Marshal(Key{Type: 7}); err == nil {
		t.Error("marshal of type 7 succeeded")
	}
	if _, err := OpenRegistry(t.TempDir()).Create(CreateOptions{Type: 7}); !errors.Is(err, ErrInvalidKeyType) {
		t.Errorf("Create type 7: %v", err)
	}
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKeyringSeesOtherWriters(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Watching a registry that does not exist yet works and is empty.
	kr, err := OpenRegistry(dir).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Len() != 0 {
		t.Fatalf("Len = %d", kr.Len())
	}
	other := OpenRegistry(dir)
	k, err := other.Create(CreateOptions{Type: UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "created key", func() bool { _, _, ok := kr.Lookup(k.Key); return ok })
	got, secret, ok := kr.Lookup(k.Key)
	if !ok || got.Key != k.Key || got.Secret != k.Secret || got.Type != UserKey || !got.Secure {
		t.Fatalf("Lookup = %+v, %v", got, ok)
	}
	_, want, _ := mbase.Decode(k.Secret)
	if !bytes.Equal(secret, want) || len(secret) != 24 {
		t.Errorf("Lookup secret = %x, want the decoded secret %x", secret, want)
	}
	if kr.Len() != 1 {
		t.Errorf("Len = %d, want 1", kr.Len())
	}
	if _, _, ok := kr.Lookup("bnosuchkey"); ok {
		t.Error("Lookup found an unknown key")
	}

	k2, err := other.Create(CreateOptions{Type: AccountKey})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "second key", func() bool { return kr.Len() == 2 })
	if _, err := other.Revoke(k.Key); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "revocation", func() bool { _, _, ok := kr.Lookup(k.Key); return !ok })
	if _, _, ok := kr.Lookup(k2.Key); !ok || kr.Len() != 1 {
		t.Errorf("after revoking another key: found %v, Len %d", ok, kr.Len())
	}

	// A hand edit that breaks the file keeps the keys the keyring had.
	if err := os.WriteFile(filepath.Join(dir, "keys.json"), []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * pollInterval)
	if _, _, ok := kr.Lookup(k2.Key); !ok {
		t.Error("a corrupt file dropped the keys")
	}
	// Fixed again (by rewriting through the registry's format), the keys reload.
	data, _ := json.Marshal(fileData{Version: 1, Keys: []Key{k}})
	if err := os.WriteFile(filepath.Join(dir, "keys.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "repaired file", func() bool {
		_, _, ok1 := kr.Lookup(k.Key)
		_, _, ok2 := kr.Lookup(k2.Key)
		return ok1 && !ok2
	})
}

func TestKeyringConcurrentLookups(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := OpenRegistry(dir)
	k, err := r.Create(CreateOptions{Type: UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := r.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Lookups while the file is rewritten: the race detector checks the swap.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, ok := kr.Lookup(k.Key); !ok {
					t.Error("the key vanished during reloads")
					return
				}
				_ = kr.Len()
			}
		}()
	}
	for i := 0; i < 5; i++ {
		if _, err := r.Create(CreateOptions{Type: UserKey}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(pollInterval / 2)
	}
	eventually(t, time.Second, "all keys", func() bool { return kr.Len() == 6 })
	close(stop)
	wg.Wait()
}

func TestWatchStopsWithContext(t *testing.T) {
	dir := t.TempDir()
	r := OpenRegistry(dir)
	ctx, cancel := context.WithCancel(context.Background())
	kr, err := r.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	time.Sleep(2 * pollInterval) // let the goroutine see the cancellation
	if _, err := r.Create(CreateOptions{Type: UserKey}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * pollInterval)
	if kr.Len() != 0 {
		t.Error("a keyring kept reloading after its context ended")
	}
}

// keys.json holds every key's secret: a copy others can read is refused by every reader
// (the CLI's list, create and revoke, and the daemon's Watch, which then does not start),
// as ssh refuses a private key at 0644, with the fix in the message and no secret.
func TestInsecureKeysFileRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := t.TempDir()
	r := OpenRegistry(dir)
	k, err := r.Create(CreateOptions{Type: UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(r.Path(), mode); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(r.Path())
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, filemode.ErrInsecure) {
				t.Fatalf("%s with keys.json at %04o: %v, want a refusal (filemode.ErrInsecure)", what, mode, err)
			}
			msg := err.Error()
			if want := "run chmod 600 " + r.Path(); !strings.HasSuffix(msg, want) {
				t.Errorf("%s: %q does not end with %q", what, msg, want)
			}
			if strings.Contains(msg, k.Secret) || strings.Contains(msg, "\n") {
				t.Errorf("%s: %q is not one line without the secret", what, msg)
			}
		}
		_, err = r.List()
		check("List", err)
		_, err = r.Create(CreateOptions{Type: UserKey})
		check("Create", err)
		_, err = r.Revoke(k.Key)
		check("Revoke", err)
		_, err = r.Watch(t.Context())
		check("Watch", err)
		after, err := os.ReadFile(r.Path())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("a refused command changed keys.json at %04o", mode)
		}
	}
	// chmod 600, the fix the message names, is all it takes.
	if err := os.Chmod(r.Path(), 0o600); err != nil {
		t.Fatal(err)
	}
	if keys, err := r.List(); err != nil || len(keys) != 1 {
		t.Fatalf("List after chmod 600: %v, %v", keys, err)
	}
	kr, err := r.Watch(t.Context())
	if err != nil {
		t.Fatalf("Watch after chmod 600: %v", err)
	}
	if _, _, ok := kr.Lookup(k.Key); !ok {
		t.Error("the key is not found after chmod 600")
	}
}

// A corrupt file at 0644 is reported as corrupt: the parse comes first, as in the keystore.
func TestInsecureCorruptKeysFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	r := OpenRegistry(t.TempDir())
	if err := os.WriteFile(r.Path(), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.Path(), 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if _, err := r.List(); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("List: %v, want invalid JSON", err)
	}
}

// keys.json is written 0600 in a data directory hubctl makes 0700. A data directory others
// can write to is refused by every reader and writer, as sshd's StrictModes refuses an
// authorized_keys there: others could replace the file with their own keys. 0755, the
// usual mode of a directory made by hand, is fine: the 0600 file stays unreadable.
func TestKeysDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "a", "data")
	r := OpenRegistry(dir)
	k, err := r.Create(CreateOptions{Type: UserKey})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Dir(dir): 0o700, r.Path(): 0o600} {
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: %v, %v, want mode %04o", path, info.Mode(), err, want)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(CreateOptions{Type: UserKey}); err != nil {
		t.Errorf("Create in a 0755 data directory: %v", err)
	}
	before, _ := os.ReadFile(r.Path())
	for _, mode := range []os.FileMode{0o775, 0o757, 0o777, 0o1777} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		for what, use := range map[string]func() error{
			"List":   func() error { _, err := r.List(); return err },
			"Create": func() error { _, err := r.Create(CreateOptions{Type: UserKey}); return err },
			"Revoke": func() error { _, err := r.Revoke(k.Key); return err },
			"Watch":  func() error { _, err := r.Watch(t.Context()); return err },
		} {
			err := use()
			if !errors.Is(err, filemode.ErrInsecure) || !strings.Contains(err.Error(), "writable by other users") ||
				!strings.HasSuffix(err.Error(), "run chmod 700 "+dir) {
				t.Errorf("%s in a %04o data directory: %v, want a refusal naming chmod 700 %s", what, mode, err, dir)
			}
		}
	}
	if after, _ := os.ReadFile(r.Path()); !bytes.Equal(before, after) {
		t.Error("a refused write changed keys.json")
	}
}

// keys.json that is not a regular file (a symlink to /dev/zero, a FIFO) is refused before
// it is read, instead of filling memory or blocking the daemon's start.
func TestKeysFileNotRegular(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks and devices")
	}
	r := OpenRegistry(t.TempDir())
	if err := os.Symlink("/dev/zero", r.Path()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.List(); !errors.Is(err, filemode.ErrNotRegular) {
		t.Errorf("List of keys.json -> /dev/zero: %v, want ErrNotRegular", err)
	}
	if _, err := r.Watch(t.Context()); !errors.Is(err, filemode.ErrNotRegular) {
		t.Errorf("Watch of keys.json -> /dev/zero: %v, want ErrNotRegular", err)
	}
}

// A keys.json refused for its mode is loaded once its mode is fixed, even though nothing
// else about the file changed.
func TestKeyringReloadsAfterChmod(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := t.TempDir()
	r := OpenRegistry(dir)
	if _, err := r.Create(CreateOptions{Type: UserKey}); err != nil {
		t.Fatal(err)
	}
	kr, err := r.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Another file with one more key, moved into place readable by others.
	other := OpenRegistry(t.TempDir())
	data, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other.Path(), data, 0o600); err != nil {
		t.Fatal(err)
	}
	k2, err := other.Create(CreateOptions{Type: UserKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(other.Path(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other.Path(), r.Path()); err != nil {
		t.Fatal(err)
	}
	// Let the keyring see (and refuse) the file at 0644: a few polls.
	time.Sleep(4 * pollInterval)
	if _, _, ok := kr.Lookup(k2.Key); ok {
		t.Fatal("a keys.json others can read was loaded")
	}
	if err := os.Chmod(r.Path(), 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(pollInterval) {
		if _, _, ok := kr.Lookup(k2.Key); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("keys.json not loaded a minute after chmod 600")
		}
	}
}
