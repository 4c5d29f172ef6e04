package keystore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age/armor"
	"github.com/libp2p/go-libp2p-core/crypto"
	mbase "github.com/multiformats/go-multibase"
	"github.com/textileio/go-threads/core/thread"
)

var fixedNow = time.Date(2024, 5, 6, 7, 8, 9, 500_000_000, time.FixedZone("X", 2*3600))

// newStore returns a store in a fresh temporary directory (not yet created on disk), with a
// cheap scrypt work factor and a fixed clock.
func newStore(t *testing.T) *Store {
	t.Helper()
	s := Open(filepath.Join(t.TempDir(), "keystore"))
	s.scryptWorkFactor = 10
	s.now = func() time.Time { return fixedNow }
	return s
}

func genKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	sk, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func fixedPass(p string) PassphraseFunc {
	return func(bool) ([]byte, error) { return []byte(p), nil }
}

func mustCreate(t *testing.T, s *Store, name string, sk crypto.PrivKey, opts CreateOptions) *Entry {
	t.Helper()
	e, err := s.Create(name, sk, opts)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	return e
}

func pubString(t *testing.T, sk crypto.PrivKey) string {
	t.Helper()
	s, err := EncodePublicKey(sk.GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestCreateGetListLoadRoundTrip(t *testing.T) {
	s := newStore(t)
	sk := genKey(t)
	e := mustCreate(t, s, "alice", sk, CreateOptions{})

	wantPub := pubString(t, sk)
	wantCreated := time.Date(2024, 5, 6, 5, 8, 9, 0, time.UTC)
	check := func(what string, got *Entry) {
		t.Helper()
		if got.Name != "alice" {
			t.Errorf("%s: Name = %q", what, got.Name)
		}
		if got.KeyType != "Ed25519" {
			t.Errorf("%s: KeyType = %q, want Ed25519", what, got.KeyType)
		}
		if got.PublicKey != wantPub {
			t.Errorf("%s: PublicKey = %q, want %q", what, got.PublicKey, wantPub)
		}
		if !got.Created.Equal(wantCreated) {
			t.Errorf("%s: Created = %v, want %v (UTC, truncated to the second)", what, got.Created, wantCreated)
		}
		if got.Encrypted {
			t.Errorf("%s: Encrypted = true for a plaintext identity", what)
		}
		if got.Path != filepath.Join(s.Dir(), "alice.json") {
			t.Errorf("%s: Path = %q", what, got.Path)
		}
	}
	check("Create", e)

	g, err := s.Get("alice")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	check("Get", g)

	list, problems, err := s.List()
	if err != nil || len(problems) != 0 {
		t.Fatalf("List: err=%v problems=%v", err, problems)
	}
	if len(list) != 1 {
		t.Fatalf("List returned %d entries, want 1", len(list))
	}
	check("List", list[0])

	loaded, err := s.Load("alice", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !loaded.Equals(sk) {
		t.Error("loaded key differs from the created one")
	}

	doc, err := s.Export("alice", nil)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	wantPriv, _ := EncodePrivateKey(sk)
	if doc.PrivateKey != wantPriv || doc.EncryptedKey != "" || doc.Version != FormatVersion {
		t.Errorf("Export = %+v", doc)
	}
}

func TestCreateOtherKeyType(t *testing.T) {
	s := newStore(t)
	sk, _, err := crypto.GenerateSecp256k1Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := mustCreate(t, s, "k1", sk, CreateOptions{})
	if e.KeyType != "Secp256k1" {
		t.Errorf("KeyType = %q, want Secp256k1", e.KeyType)
	}
	loaded, err := s.Load("k1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Equals(sk) {
		t.Error("loaded key differs")
	}
}

func TestListSortedAndSkipsNonIdentities(t *testing.T) {
	s := newStore(t)
	for _, n := range []string{"zeta", "Alpha", "mid.dle", "b_2"} {
		mustCreate(t, s, n, genKey(t), CreateOptions{})
	}
	// Things List must ignore: temporary files, the default marker, other extensions,
	// directories named like identities.
	for _, n := range []string{".zeta.json.tmp-123", ".hidden.json", "notes.txt", "README"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), n), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.Dir(), "dir.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	list, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("problems = %v, want none", problems)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name)
	}
	if got, want := strings.Join(names, ","), "Alpha,b_2,mid.dle,zeta"; got != want {
		t.Errorf("List names = %s, want %s", got, want)
	}
}

func TestListMissingDirectory(t *testing.T) {
	s := newStore(t)
	list, problems, err := s.List()
	if err != nil || list != nil || problems != nil {
		t.Errorf("List on a missing keystore = %v, %v, %v; want nothing", list, problems, err)
	}
}

func TestListReportsCorruptFile(t *testing.T) {
	s := newStore(t)
	mustCreate(t, s, "good", genKey(t), CreateOptions{})
	bad := filepath.Join(s.Dir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	list, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "good" {
		t.Errorf("List = %v, want only good", list)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), bad) {
		t.Errorf("problems = %v, want one naming %s", problems, bad)
	}
}

func TestFirstIdentityBecomesDefault(t *testing.T) {
	s := newStore(t)
	if _, err := s.Default(); !errors.Is(err, ErrNoDefault) {
		t.Fatalf("Default on an empty keystore: %v, want ErrNoDefault", err)
	}
	mustCreate(t, s, "first", genKey(t), CreateOptions{})
	mustCreate(t, s, "second", genKey(t), CreateOptions{})
	def, err := s.Default()
	if err != nil {
		t.Fatal(err)
	}
	if def != "first" {
		t.Errorf("Default = %q, want first", def)
	}

	if err := s.SetDefault("second"); err != nil {
		t.Fatalf("SetDefault: %v", err)
	}
	if def, _ := s.Default(); def != "second" {
		t.Errorf("Default after SetDefault = %q, want second", def)
	}
	// A later Create leaves an existing default alone.
	mustCreate(t, s, "third", genKey(t), CreateOptions{})
	if def, _ := s.Default(); def != "second" {
		t.Errorf("Default after a third Create = %q, want second", def)
	}
}

func TestCreateExistingNameFails(t *testing.T) {
	s := newStore(t)
	sk1 := genKey(t)
	mustCreate(t, s, "dup", sk1, CreateOptions{})
	path := filepath.Join(s.Dir(), "dup.json")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	sk2 := genKey(t)
	_, err = s.Create("dup", sk2, CreateOptions{})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("Create of an existing name: %v, want ErrExists", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the existing identity file changed")
	}
	if loaded, err := s.Load("dup", nil); err != nil || !loaded.Equals(sk1) {
		t.Errorf("Load after refused Create: err=%v, same key=%v", err, err == nil && loaded.Equals(sk1))
	}
	for _, n := range dirNames(t, s.Dir()) {
		if strings.Contains(n, ".tmp-") {
			t.Errorf("temporary file left behind: %s", n)
		}
	}

	// Force replaces.
	if _, err := s.Create("dup", sk2, CreateOptions{Force: true}); err != nil {
		t.Fatalf("Create with Force: %v", err)
	}
	loaded, err := s.Load("dup", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Equals(sk2) {
		t.Error("Force did not replace the identity")
	}
	if def, _ := s.Default(); def != "dup" {
		t.Errorf("Default = %q after Force, want dup", def)
	}
}

func TestCreateInvalidName(t *testing.T) {
	for _, name := range []string{
		"../x", "a/b", ".hidden", strings.Repeat("a", 65), "-lead", "_lead", "sp ace", `a\b`, "x/../y", "é",
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			s := Open(filepath.Join(parent, "keystore"))
			if err := os.Mkdir(s.Dir(), 0o700); err != nil {
				t.Fatal(err)
			}
			_, err := s.Create(name, genKey(t), CreateOptions{})
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("Create(%q): %v, want ErrInvalidName", name, err)
			}
			if got := dirNames(t, s.Dir()); len(got) != 0 {
				t.Errorf("Create(%q) left %v in the keystore", name, got)
			}
			if got := dirNames(t, parent); len(got) != 1 || got[0] != "keystore" {
				t.Errorf("Create(%q) left %v next to the keystore", name, got)
			}
			if _, err := s.Default(); !errors.Is(err, ErrNoDefault) {
				t.Errorf("Default after a refused Create: %v", err)
			}
			// The other name-taking methods refuse it too.
			if _, err := s.Get(name); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Get(%q): %v, want ErrInvalidName", name, err)
			}
			if _, err := s.Load(name, nil); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Load(%q): %v, want ErrInvalidName", name, err)
			}
			if _, err := s.Remove(name); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Remove(%q): %v, want ErrInvalidName", name, err)
			}
			if err := s.SetDefault(name); !errors.Is(err, ErrInvalidName) {
				t.Errorf("SetDefault(%q): %v, want ErrInvalidName", name, err)
			}
			if _, err := s.Import(name, []byte("irrelevant"), nil, CreateOptions{}); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Import(%q): %v, want ErrInvalidName", name, err)
			}
		})
	}
}

// An invalid name must not have side effects, including creating the keystore directory.
func TestCreateInvalidNameCreatesNoDirectory(t *testing.T) {
	parent := t.TempDir()
	s := Open(filepath.Join(parent, "keystore"))
	if _, err := s.Create("../x", genKey(t), CreateOptions{}); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("Create: %v, want ErrInvalidName", err)
	}
	if got := dirNames(t, parent); len(got) != 0 {
		t.Errorf("Create with an invalid name created %v in %s", got, parent)
	}
}

// An invalid name must be rejected before a passphrase is asked for (and scrypt run).
func TestCreateInvalidNameAsksNoPassphrase(t *testing.T) {
	s := newStore(t)
	asked := false
	_, err := s.Create("a/b", genKey(t), CreateOptions{Passphrase: func(bool) ([]byte, error) {
		asked = true
		return []byte("pw"), nil
	}})
	if !errors.Is(err, ErrInvalidName) {
		t.Fatalf("Create: %v, want ErrInvalidName", err)
	}
	if asked {
		t.Error("Create asked for a passphrase for an identity it then refused for its name")
	}
}

func TestValidateName(t *testing.T) {
	valid := []string{"a", "A", "0", "alice", "a.b", "a_b", "a-b", "a..b", strings.Repeat("a", 64), "x.json"}
	for _, n := range valid {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", n, err)
		}
	}
	invalid := []string{"", "../x", "a/b", ".hidden", strings.Repeat("a", 65), "a b", "a\x00", "a\n", "-a"}
	for _, n := range invalid {
		if err := ValidateName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}

var generatedNameRE = regexp.MustCompile(`^[a-z]+-[a-z]+(-[0-9]{4})?$`)

func TestCreateUnnamed(t *testing.T) {
	s := newStore(t)
	seen := map[string]bool{}
	for i := 0; i < 10; i++ {
		e := mustCreate(t, s, "", genKey(t), CreateOptions{})
		if !generatedNameRE.MatchString(e.Name) {
			t.Errorf("generated name %q does not match %s", e.Name, generatedNameRE)
		}
		if seen[e.Name] {
			t.Errorf("name %q generated twice", e.Name)
		}
		seen[e.Name] = true
		if _, err := s.Get(e.Name); err != nil {
			t.Errorf("Get(%q): %v", e.Name, err)
		}
	}
}

func TestGenerateName(t *testing.T) {
	for attempt := 0; attempt < 20; attempt++ {
		for i := 0; i < 20; i++ {
			n := generateName(attempt)
			if !generatedNameRE.MatchString(n) {
				t.Fatalf("generateName(%d) = %q, does not match %s", attempt, n, generatedNameRE)
			}
			if err := ValidateName(n); err != nil {
				t.Fatalf("generateName(%d) = %q is not a valid name: %v", attempt, n, err)
			}
			hasNumber := strings.Count(n, "-") == 2
			if hasNumber != (attempt >= 8) {
				t.Fatalf("generateName(%d) = %q: numeric suffix %v, want %v", attempt, n, hasNumber, attempt >= 8)
			}
		}
	}
}

func TestCreateUnnamedConcurrent(t *testing.T) {
	const n = 50
	s := newStore(t)
	keys := make([]crypto.PrivKey, n)
	for i := range keys {
		keys[i] = genKey(t)
	}
	names := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			e, err := s.Create("", keys[i], CreateOptions{})
			errs[i] = err
			if err == nil {
				names[i] = e.Name
			}
		}(i)
	}
	close(start)
	wg.Wait()

	distinct := map[string]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
		if j, dup := distinct[names[i]]; dup {
			t.Errorf("goroutines %d and %d both got %q", j, i, names[i])
		}
		distinct[names[i]] = i
	}
	for i, name := range names {
		loaded, err := s.Load(name, nil)
		if err != nil {
			t.Errorf("Load(%q): %v", name, err)
			continue
		}
		if !loaded.Equals(keys[i]) {
			t.Errorf("identity %q holds another goroutine's key", name)
		}
	}
	list, problems, err := s.List()
	if err != nil || len(problems) != 0 {
		t.Fatalf("List: %v %v", err, problems)
	}
	if len(list) != n {
		t.Errorf("List has %d identities, want %d", len(list), n)
	}
	def, err := s.Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	if _, ok := distinct[def]; !ok {
		t.Errorf("default %q is not one of the created identities", def)
	}
	// Exactly one default marker and no leftovers.
	markers := 0
	for _, name := range dirNames(t, s.Dir()) {
		switch {
		case name == defaultFile:
			markers++
		case strings.HasPrefix(name, "."):
			t.Errorf("leftover file %s", name)
		}
	}
	if markers != 1 {
		t.Errorf("%d default markers, want 1", markers)
	}
}

func TestModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	s := newStore(t)
	mustCreate(t, s, "plain", genKey(t), CreateOptions{})
	mustCreate(t, s, "enc", genKey(t), CreateOptions{Passphrase: fixedPass("pw")})
	mustCreate(t, s, "", genKey(t), CreateOptions{})
	wantPerm(t, s.Dir(), 0o700)
	for _, name := range dirNames(t, s.Dir()) {
		wantPerm(t, filepath.Join(s.Dir(), name), 0o600)
	}
	if err := s.SetDefault("enc"); err != nil {
		t.Fatal(err)
	}
	wantPerm(t, filepath.Join(s.Dir(), defaultFile), 0o600)
}

// wantPerm checks a path's permission bits.
func wantPerm(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s mode = %04o, want %04o", path, got, want)
	}
}

func TestInsecureFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	s := newStore(t)
	mustCreate(t, s, "open", genKey(t), CreateOptions{})
	mustCreate(t, s, "closed", genKey(t), CreateOptions{})
	path := filepath.Join(s.Dir(), "open.json")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err := s.Load("open", nil)
	if !errors.Is(err, ErrInsecureFile) {
		t.Fatalf("Load of a 0644 file: %v, want ErrInsecureFile", err)
	}
	if want := "chmod 600 " + path; !strings.Contains(err.Error(), want) {
		t.Errorf("Load error %q does not contain %q", err, want)
	}
	_, err = s.Export("open", nil)
	if !errors.Is(err, ErrInsecureFile) {
		t.Fatalf("Export of a 0644 file: %v, want ErrInsecureFile", err)
	}
	if want := "chmod 600 " + path; !strings.Contains(err.Error(), want) {
		t.Errorf("Export error %q does not contain %q", err, want)
	}

	list, problems, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Errorf("List has %d entries, want 2 (the insecure one is still listed)", len(list))
	}
	if len(problems) != 1 || !errors.Is(problems[0], ErrInsecureFile) || !strings.Contains(problems[0].Error(), path) {
		t.Errorf("problems = %v, want one ErrInsecureFile naming %s", problems, path)
	}

	// Get does not read the private key, so it still works; fixing the mode fixes Load.
	if _, err := s.Get("open"); err != nil {
		t.Errorf("Get: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("open", nil); err != nil {
		t.Errorf("Load after chmod 600: %v", err)
	}
}

func TestInsecureDirectoryRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	s := newStore(t)
	if err := os.Mkdir(s.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.Dir(), 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	_, err := s.Create("x", genKey(t), CreateOptions{})
	if !errors.Is(err, ErrInsecureFile) {
		t.Fatalf("Create in a 0755 keystore: %v, want ErrInsecureFile", err)
	}
	if !strings.Contains(err.Error(), "chmod 700 "+s.Dir()) {
		t.Errorf("error %q does not say how to fix it", err)
	}
	if got := dirNames(t, s.Dir()); len(got) != 0 {
		t.Errorf("keystore holds %v after a refused Create", got)
	}
}

func TestEncryptedIdentity(t *testing.T) {
	s := newStore(t)
	sk := genKey(t)
	var confirms []bool
	e, err := s.Create("secret", sk, CreateOptions{Passphrase: func(confirm bool) ([]byte, error) {
		confirms = append(confirms, confirm)
		return []byte("correct horse"), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Encrypted {
		t.Error("entry not marked Encrypted")
	}
	if len(confirms) != 1 || !confirms[0] {
		t.Errorf("Create asked for the passphrase with confirm=%v, want [true]", confirms)
	}

	raw, err := os.ReadFile(filepath.Join(s.Dir(), "secret.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	if _, ok := fields["privateKey"]; ok {
		t.Error(`encrypted identity file has a "privateKey" field`)
	}
	priv, _ := EncodePrivateKey(sk)
	if bytes.Contains(raw, []byte(priv)) {
		t.Error("encrypted identity file contains the plaintext private key")
	}
	enc, _ := fields["encryptedKey"].(string)
	if !strings.HasPrefix(enc, "-----BEGIN AGE ENCRYPTED FILE-----") ||
		!strings.Contains(enc, "-----END AGE ENCRYPTED FILE-----") {
		t.Errorf("encryptedKey is not armored age: %q", enc)
	}
	if fields["publicKey"] != pubString(t, sk) {
		t.Errorf("publicKey = %v", fields["publicKey"])
	}

	g, err := s.Get("secret")
	if err != nil || !g.Encrypted {
		t.Errorf("Get: %+v, %v; want Encrypted", g, err)
	}

	loaded, err := s.Load("secret", fixedPass("correct horse"))
	if err != nil {
		t.Fatalf("Load with the right passphrase: %v", err)
	}
	if !loaded.Equals(sk) {
		t.Error("decrypted key differs from the created one")
	}

	_, err = s.Load("secret", fixedPass("wrong horse"))
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Load with a wrong passphrase: %v, want ErrWrongPassphrase", err)
	}

	if _, err := s.Load("secret", nil); err == nil || errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Load without a passphrase source: %v, want a no-passphrase error", err)
	}

	sentinel := errors.New("prompt cancelled")
	if _, err := s.Load("secret", func(bool) ([]byte, error) { return nil, sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("Load with a failing passphrase source: %v, want the source's error", err)
	}

	doc, err := s.Export("secret", fixedPass("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Encrypted() || doc.PrivateKey != priv {
		t.Errorf("Export did not decrypt: %+v", doc)
	}
}

func TestEncryptedCreatePassphraseError(t *testing.T) {
	s := newStore(t)
	sentinel := errors.New("no tty")
	_, err := s.Create("x", genKey(t), CreateOptions{Passphrase: func(bool) ([]byte, error) { return nil, sentinel }})
	if !errors.Is(err, sentinel) {
		t.Fatalf("Create: %v, want the passphrase source's error", err)
	}
	if _, err := s.Get("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("identity exists after a failed Create: %v", err)
	}
}

func TestEncryptedKeySwappedIsDetected(t *testing.T) {
	// An encryptedKey that decrypts to another key than publicKey says must be refused.
	s := newStore(t)
	mustCreate(t, s, "a", genKey(t), CreateOptions{Passphrase: fixedPass("pw")})
	mustCreate(t, s, "b", genKey(t), CreateOptions{Passphrase: fixedPass("pw")})
	read := func(n string) *Document {
		raw, err := os.ReadFile(filepath.Join(s.Dir(), n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseDocument(raw)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := read("a"), read("b")
	a.EncryptedKey = b.EncryptedKey
	data, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "a.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("a", fixedPass("pw")); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("Load of a swapped encryptedKey: %v, want a mismatch error", err)
	}
}

func TestImport(t *testing.T) {
	sk := genKey(t)
	priv, err := EncodePrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}

	src := newStore(t)
	mustCreate(t, src, "orig", sk, CreateOptions{})
	doc, err := src.Export("orig", nil)
	if err != nil {
		t.Fatal(err)
	}
	docBytes, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"document", docBytes},
		{"document with whitespace", append(append([]byte("\n  "), docBytes...), "\n\n"...)},
		{"hub cli form", []byte(priv)},
		{"hub cli form with whitespace", []byte(" \t\n" + priv + "\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			e, err := s.Import("imported", tc.data, nil, CreateOptions{})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if e.PublicKey != doc.PublicKey {
				t.Errorf("PublicKey = %q, want %q", e.PublicKey, doc.PublicKey)
			}
			loaded, err := s.Load("imported", nil)
			if err != nil {
				t.Fatal(err)
			}
			if !loaded.Equals(sk) {
				t.Error("imported key differs")
			}
			// Importing again under the same name needs Force.
			if _, err := s.Import("imported", tc.data, nil, CreateOptions{}); !errors.Is(err, ErrExists) {
				t.Errorf("second Import: %v, want ErrExists", err)
			}
			if _, err := s.Import("imported", tc.data, nil, CreateOptions{Force: true}); err != nil {
				t.Errorf("second Import with Force: %v", err)
			}
		})
	}

	// Import can encrypt what it stores.
	s := newStore(t)
	e, err := s.Import("enc", []byte(priv), nil, CreateOptions{Passphrase: fixedPass("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Encrypted {
		t.Error("Import with a Passphrase stored a plaintext identity")
	}
	if loaded, err := s.Load("enc", fixedPass("pw")); err != nil || !loaded.Equals(sk) {
		t.Errorf("Load of an encrypted import: %v", err)
	}
}

func TestImportRejectsInvalid(t *testing.T) {
	sk1, sk2 := genKey(t), genKey(t)
	mismatched, err := NewDocument(sk1, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	mismatched.PublicKey = pubString(t, sk2)
	mismatchedBytes, _ := mismatched.Marshal()

	for _, tc := range []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"whitespace", " \n\t "},
		{"garbage", "hello world"},
		{"garbage multibase", "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"},
		{"broken json", "{\"version\": 1"},
		{"json object that is not a document", "{}"},
		{"mismatched key", string(mismatchedBytes)},
		{"public key only", "bbaareqg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Import("x", []byte(tc.data), nil, CreateOptions{})
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("Import(%q): %v, want ErrInvalidKey", tc.data, err)
			}
			if got := dirNames(t, s.Dir()); len(got) != 0 {
				t.Errorf("a refused Import left %v", got)
			}
		})
	}
}

func TestImportEncryptedDocument(t *testing.T) {
	sk := genKey(t)
	src := newStore(t)
	mustCreate(t, src, "enc", sk, CreateOptions{Passphrase: fixedPass("pw")})
	raw, err := os.ReadFile(filepath.Join(src.Dir(), "enc.json"))
	if err != nil {
		t.Fatal(err)
	}

	s := newStore(t)
	if _, err := s.Import("x", raw, nil, CreateOptions{}); err == nil {
		t.Error("Import of an encrypted document without a passphrase succeeded")
	}
	if _, err := s.Import("x", raw, fixedPass("nope"), CreateOptions{}); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Import with a wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	if _, err := s.Get("x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed Import stored an identity: %v", err)
	}
	e, err := s.Import("x", raw, fixedPass("pw"), CreateOptions{Passphrase: fixedPass("pw2")})
	if err != nil {
		t.Fatalf("Import with the passphrase: %v", err)
	}
	if !e.Encrypted {
		t.Error("re-encrypted import is not marked Encrypted")
	}
	loaded, err := s.Load("x", fixedPass("pw2"))
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Equals(sk) {
		t.Error("imported key differs")
	}

	// Without a new passphrase, an encrypted input stays encrypted with its own.
	kept, err := s.Import("kept", raw, fixedPass("pw"), CreateOptions{})
	if err != nil {
		t.Fatalf("Import keeping the passphrase: %v", err)
	}
	if !kept.Encrypted {
		t.Fatal("an encrypted document was stored in plaintext")
	}
	if _, err := s.Load("kept", fixedPass("pw")); err != nil {
		t.Fatalf("Load with the original passphrase: %v", err)
	}
}

func TestRemove(t *testing.T) {
	s := newStore(t)
	mustCreate(t, s, "a", genKey(t), CreateOptions{})
	mustCreate(t, s, "b", genKey(t), CreateOptions{})

	wasDefault, err := s.Remove("b")
	if err != nil || wasDefault {
		t.Fatalf("Remove(b) = %v, %v; want false, nil", wasDefault, err)
	}
	if def, err := s.Default(); err != nil || def != "a" {
		t.Errorf("Default after removing a non-default = %q, %v", def, err)
	}

	wasDefault, err = s.Remove("a")
	if err != nil || !wasDefault {
		t.Fatalf("Remove(a) = %v, %v; want true, nil", wasDefault, err)
	}
	if _, err := s.Default(); !errors.Is(err, ErrNoDefault) {
		t.Errorf("Default after removing the default: %v, want ErrNoDefault", err)
	}
	if _, err := s.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a removed identity: %v, want ErrNotFound", err)
	}

	if _, err := s.Remove("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of a missing identity: %v, want ErrNotFound", err)
	}

	// The next identity becomes the default again.
	mustCreate(t, s, "c", genKey(t), CreateOptions{})
	if def, err := s.Default(); err != nil || def != "c" {
		t.Errorf("Default after Create in a keystore without one = %q, %v; want c", def, err)
	}
}

func TestSetDefaultMissing(t *testing.T) {
	s := newStore(t)
	mustCreate(t, s, "a", genKey(t), CreateOptions{})
	if err := s.SetDefault("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetDefault(missing): %v, want ErrNotFound", err)
	}
	if def, _ := s.Default(); def != "a" {
		t.Errorf("Default changed to %q by a failed SetDefault", def)
	}
}

func TestNotFound(t *testing.T) {
	s := newStore(t)
	mustCreate(t, s, "a", genKey(t), CreateOptions{})
	if _, err := s.Get("nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get: %v, want ErrNotFound", err)
	}
	if _, err := s.Load("nobody", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load: %v, want ErrNotFound", err)
	}
	if _, err := s.Export("nobody", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Export: %v, want ErrNotFound", err)
	}
}

func TestDefaultInvalidMarker(t *testing.T) {
	s := newStore(t)
	mustCreate(t, s, "a", genKey(t), CreateOptions{})
	if err := os.WriteFile(filepath.Join(s.Dir(), defaultFile), []byte("../etc/passwd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Default(); !errors.Is(err, ErrNoDefault) {
		t.Errorf("Default with an invalid marker: %v, want ErrNoDefault", err)
	}
}

// The Hub's string form of a public key must be go-threads' thread.PubKey string, since
// that is what the Hub shows and compares.
func TestPublicKeyMatchesGoThreads(t *testing.T) {
	for i := 0; i < 5; i++ {
		sk := genKey(t)
		got, err := EncodePublicKey(sk.GetPublic())
		if err != nil {
			t.Fatal(err)
		}
		want := thread.NewLibp2pIdentity(sk).GetPublic().String()
		if got != want {
			t.Fatalf("EncodePublicKey = %q, go-threads says %q", got, want)
		}
		doc, err := NewDocument(sk, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		if doc.PublicKey != want {
			t.Errorf("document publicKey = %q, want %q", doc.PublicKey, want)
		}
		// And the reverse: go-threads parses our string.
		pk := &thread.Libp2pPubKey{}
		if err := pk.UnmarshalString(got); err != nil {
			t.Fatalf("go-threads cannot parse %q: %v", got, err)
		}
		if !pk.PubKey.Equals(sk.GetPublic()) {
			t.Error("go-threads parsed another public key")
		}
		back, err := ParsePublicKey(want)
		if err != nil || !back.Equals(sk.GetPublic()) {
			t.Errorf("ParsePublicKey(go-threads string): %v", err)
		}
	}
}

// The Hub CLI form of a private key is multibase base32 of Libp2pIdentity.MarshalBinary.
func TestPrivateKeyMatchesHubCLIForm(t *testing.T) {
	sk := genKey(t)
	id := thread.NewLibp2pIdentity(sk)

	raw, err := id.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want, err := mbase.Encode(mbase.Base32, raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := EncodePrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("EncodePrivateKey = %q, want %q", got, want)
	}
	if got[0] != 'b' {
		t.Errorf("EncodePrivateKey = %q, want multibase base32 (prefix b)", got)
	}

	// Our string decodes into a Libp2pIdentity equal to the original.
	_, decoded, err := mbase.Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	back := &thread.Libp2pIdentity{}
	if err := back.UnmarshalBinary(decoded); err != nil {
		t.Fatal(err)
	}
	if !back.Equals(id) {
		t.Error("Libp2pIdentity.UnmarshalBinary of our form gives another identity")
	}

	// And the Hub CLI's string parses back to the same key.
	parsed, err := ParsePrivateKey("  " + want + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if !parsed.Equals(sk) {
		t.Error("ParsePrivateKey gives another key")
	}
	if !thread.NewLibp2pIdentity(parsed).Equals(id) {
		t.Error("parsed key is not the same thread identity")
	}
}

func TestParseDocumentErrors(t *testing.T) {
	sk1, sk2 := genKey(t), genKey(t)
	good, err := NewDocument(sk1, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(d *Document)) []byte {
		d := *good
		f(&d)
		b, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	goodBytes := mutate(func(*Document) {})
	if _, err := ParseDocument(goodBytes); err != nil {
		t.Fatalf("ParseDocument(valid): %v", err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"version 2", mutate(func(d *Document) { d.Version = 2 }), "version 2"},
		{"version 0", mutate(func(d *Document) { d.Version = 0 }), "version 0"},
		{"wrong keyType", mutate(func(d *Document) { d.KeyType = "RSA" }), "keyType"},
		{"bad publicKey", mutate(func(d *Document) { d.PublicKey = "zzz" }), "publicKey"},
		{"mismatched key", mutate(func(d *Document) { d.PublicKey = pubString(t, sk2) }), "does not match"},
		{"both keys", mutate(func(d *Document) { d.EncryptedKey = "x" }), "both"},
		{"no key", mutate(func(d *Document) { d.PrivateKey = "" }), "neither"},
		{"bad privateKey", mutate(func(d *Document) { d.PrivateKey = "bnotakey" }), "privateKey"},
		{"unknown field", bytes.Replace(goodBytes, []byte(`"version"`), []byte(`"extra": 1, "version"`), 1), "unknown field"},
		{"trailing object", append(append([]byte{}, goodBytes...), "{}"...), "trailing data"},
		{"trailing word", append(append([]byte{}, goodBytes...), "x"...), ""},
		{"array", []byte("[]"), ""},
		{"null", []byte("null"), ""},
		{"empty", []byte(""), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDocument(tc.data)
			if err == nil {
				t.Fatalf("ParseDocument(%q) succeeded", tc.data)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// ParseDocument promises to refuse trailing data after the JSON object; json.Decoder.More
// reports false when the next byte is '}' or ']', so those bytes slip through.
func TestParseDocumentRejectsTrailingCloser(t *testing.T) {
	good, err := NewDocument(genKey(t), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	data, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, trailer := range []string{"}", "]", "}}}", "]garbage"} {
		in := append(append([]byte{}, data...), trailer...)
		if _, err := ParseDocument(in); err == nil {
			t.Errorf("ParseDocument accepted a document followed by %q", trailer)
		}
	}
}

func TestNewDocumentAndMarshal(t *testing.T) {
	sk := genKey(t)
	d, err := NewDocument(sk, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if d.Created.Location() != time.UTC || d.Created.Nanosecond() != 0 {
		t.Errorf("Created = %v, want UTC truncated to the second", d.Created)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(out, []byte("}\n")) {
		t.Errorf("Marshal output does not end with a newline: %q", out)
	}
	want := fmt.Sprintf("{\n  \"version\": 1,\n  \"keyType\": \"Ed25519\",\n  \"publicKey\": %q,\n  \"created\": \"2024-05-06T05:08:09Z\",\n  \"privateKey\": %q\n}\n",
		d.PublicKey, d.PrivateKey)
	if string(out) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
}

// "" asks Create for a generated name, but every other name-taking method refuses it.
func TestEmptyNameInvalid(t *testing.T) {
	s := newStore(t)
	sk := genKey(t)
	priv, _ := EncodePrivateKey(sk)
	mustCreate(t, s, "a", sk, CreateOptions{})
	if _, err := s.Import("", []byte(priv), nil, CreateOptions{}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Import(\"\"): %v, want ErrInvalidName", err)
	}
	if _, err := s.Get(""); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Get(\"\"): %v, want ErrInvalidName", err)
	}
	if _, err := s.Load("", nil); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Load(\"\"): %v, want ErrInvalidName", err)
	}
	if err := s.SetDefault(""); !errors.Is(err, ErrInvalidName) {
		t.Errorf("SetDefault(\"\"): %v, want ErrInvalidName", err)
	}
	if _, err := s.Remove(""); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Remove(\"\"): %v, want ErrInvalidName", err)
	}
	if got := dirNames(t, s.Dir()); len(got) != 2 { // a.json and .default
		t.Errorf("keystore holds %v, want only a.json and the default marker", got)
	}
}

// The passphrase encryption's cost is in the file (age's scrypt stanza): what hubctl
// writes costs 2^18 whatever the store, a file at a lower cost (this package's tests
// write 2^10) is read as it says, and one that asks for more than MaxScryptWorkFactor is
// refused before scrypt runs, so that a file someone hands over cannot make hubctl
// allocate gigabytes: 2^20 is 1 GiB, 2^22 (age's own limit) 4 GiB, 2^30 1 TiB.
func TestScryptWorkFactorFromTheFile(t *testing.T) {
	pass := func(bool) ([]byte, error) { return []byte("correct horse"), nil }
	s := newStore(t)
	sk := genKey(t)
	if _, err := s.Create("cheap", sk, CreateOptions{Passphrase: pass}); err != nil {
		t.Fatal(err)
	}
	doc, err := s.read("cheap")
	if err != nil {
		t.Fatal(err)
	}
	if f := workFactor(doc.EncryptedKey); f != 10 {
		t.Fatalf("test store wrote work factor %d, want 10", f)
	}
	if got, err := s.Load("cheap", pass); err != nil || !got.Equals(sk) {
		t.Fatalf("Load at work factor 10: %v", err)
	}

	for _, f := range []int{20, 22, 30} {
		data, err := os.ReadFile(s.path("cheap"))
		if err != nil {
			t.Fatal(err)
		}
		hostile := withWorkFactor(t, data, f)
		if err := os.WriteFile(s.path("hostile"), hostile, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = s.Load("hostile", pass)
		want := fmt.Sprintf("identity hostile asks for scrypt work factor %d (%s of memory) to open, above the 19 hubctl accepts", f, scryptMemory(f))
		if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("work factor %d: Load = %v, want ErrInvalidKey with %q", f, err, want)
		}
		_, err = s.Import("copy", hostile, pass, CreateOptions{})
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("work factor %d: Import = %v, want ErrInvalidKey", f, err)
		}
	}
	if got := scryptMemory(22); got != "4 GiB" {
		t.Errorf("scryptMemory(22) = %q", got)
	}
}

// withWorkFactor rewrites the work factor an encrypted identity file's age header records
// (its MAC no longer matches: the file is refused before that is checked, or fails it).
func withWorkFactor(t *testing.T, file []byte, f int) []byte {
	t.Helper()
	doc, err := ParseDocument(file)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(armor.NewReader(strings.NewReader(doc.EncryptedKey)))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(-> scrypt \S+) \d+$`)
	if !re.Match(plain) {
		t.Fatalf("no scrypt stanza in %q", plain)
	}
	plain = re.ReplaceAll(plain, []byte(fmt.Sprintf("${1} %d", f)))
	var buf bytes.Buffer
	w := armor.NewWriter(&buf)
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	doc.EncryptedKey = buf.String()
	out, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The one test of scrypt at its full cost end to end: a store as hubctl opens it writes
// 2^18 and reads it back, and a file hubctl wrote before the cost was read from the file
// (testdata/encrypted-2026-11.json, made by `hubctl identity new --encrypt`) still opens.
// Three times scrypt at 2^18: three seconds, twenty under the race detector on a busy
// machine: -short skips it.
func TestScryptFullCost(t *testing.T) {
	if testing.Short() {
		t.Skip("scrypt at its full cost")
	}
	pass := func(bool) ([]byte, error) { return []byte("correct horse battery staple"), nil }
	s := Open(filepath.Join(t.TempDir(), "keystore"))
	sk := genKey(t)
	if _, err := s.Create("full", sk, CreateOptions{Passphrase: pass}); err != nil {
		t.Fatal(err)
	}
	doc, err := s.read("full")
	if err != nil {
		t.Fatal(err)
	}
	if f := workFactor(doc.EncryptedKey); f != ScryptWorkFactor || ScryptWorkFactor != 18 {
		t.Fatalf("hubctl wrote work factor %d, want 18", f)
	}
	if got, err := s.Load("full", pass); err != nil || !got.Equals(sk) {
		t.Fatalf("Load at full cost: %v", err)
	}

	data, err := os.ReadFile(filepath.Join("testdata", "encrypted-2026-11.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.path("earlier"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("earlier", pass)
	if err != nil {
		t.Fatalf("a file of an earlier hubctl: %v", err)
	}
	if want := "bbaareqgpgpkifrfatpihx4pu34g7hl445gfetaxcixgldwck3mimctvzfhns4ij34es7y6csgvh4l4sacy6lvbu7w24fuau5qdppocr6jljic"; mustEncode(t, got) != want {
		t.Errorf("the earlier file opened to another key")
	}
}

func mustEncode(t *testing.T, sk crypto.PrivKey) string {
	t.Helper()
	s, err := EncodePrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
