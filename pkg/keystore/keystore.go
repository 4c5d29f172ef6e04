// Package keystore keeps libp2p identities on disk, one file per identity.
//
// The directory is created 0700 and every file 0600; files are written to a temporary file
// in the same directory, fsynced and moved into place, so concurrent writers and crashes
// never leave a torn or half-written key. A name is never overwritten unless asked to.
package keystore

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/libp2p/go-libp2p-core/crypto"

	"github.com/hubctl/hubctl/pkg/atomicfile"
	"github.com/hubctl/hubctl/pkg/filemode"
)

const (
	fileExt     = ".json"
	defaultFile = ".default" // names cannot start with a dot, so this never collides
)

// maxNameLen bounds names so that file names stay well under every filesystem's limit.
const maxNameLen = 64

// Errors callers map to messages and exit codes.
var (
	ErrInvalidName     = errors.New("invalid identity name")
	ErrNotFound        = errors.New("not found")
	ErrExists          = errors.New("already exists")
	ErrWrongPassphrase = errors.New("wrong passphrase")
	ErrNoDefault       = errors.New("no default identity")
	ErrInsecureFile    = filemode.ErrInsecure
	ErrInvalidKey      = errors.New("invalid key")
)

// PassphraseFunc supplies a passphrase. confirm is true when a new passphrase is being
// chosen, so an interactive prompt should ask twice.
type PassphraseFunc func(confirm bool) ([]byte, error)

// Store is a keystore directory. Nothing touches the disk until a method is called.
type Store struct {
	dir string
	// scryptWorkFactor is the scrypt cost of the identities this store encrypts,
	// ScryptWorkFactor when 0. Only this package's tests lower it: a file records its
	// own cost, so the files they write are read like any other.
	scryptWorkFactor int
	now              func() time.Time
}

// Passphrase encryption is age's scrypt recipient, whose stanza in the file records its
// work factor (log2 of scrypt's N, with r = 8 and p = 1: 2^f KiB of memory): a file says
// what it costs to open, and the reader follows it within a bound.
const (
	// ScryptWorkFactor is the cost of every identity hubctl encrypts: age's default,
	// 2^18 (256 MiB of memory, about a second).
	ScryptWorkFactor = 18
	// MaxScryptWorkFactor is the most a file may ask for: one step above what hubctl
	// writes (512 MiB). age itself accepts 2^22 (4 GiB, 15 seconds), which a file
	// someone hands over could use to exhaust a machine's memory.
	MaxScryptWorkFactor = 19
)

// Open returns the keystore at dir.
func Open(dir string) *Store { return &Store{dir: dir, now: time.Now} }

// Dir is the keystore directory.
func (s *Store) Dir() string { return s.dir }

// Entry describes a stored identity without its private key.
type Entry struct {
	Name      string
	KeyType   string
	PublicKey string
	Created   time.Time
	Encrypted bool
	Path      string
}

// ValidateName checks a name against the keystore's allowlist,
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$. It is written out rather than compiled from that
// regular expression because a package-level regexp costs every hubctl start 0.2 ms.
func ValidateName(name string) error {
	if !validName(name) {
		return fmt.Errorf("%w %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

func validName(name string) bool {
	if len(name) == 0 || len(name) > maxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name+fileExt) }

// CreateOptions control Create and Import.
type CreateOptions struct {
	// Force replaces an existing identity of the same name.
	Force bool
	// Passphrase, when set, encrypts the private key with a passphrase it returns.
	Passphrase PassphraseFunc
}

// Create stores sk under name. With an empty name it picks a readable unique one.
// The first identity in a keystore becomes its default.
func (s *Store) Create(name string, sk crypto.PrivKey, opts CreateOptions) (*Entry, error) {
	// Check the name before anything costly or visible: a passphrase prompt, scrypt, mkdir.
	if name != "" {
		if err := ValidateName(name); err != nil {
			return nil, err
		}
	}
	doc, err := NewDocument(sk, s.now())
	if err != nil {
		return nil, err
	}
	if opts.Passphrase != nil {
		pass, err := opts.Passphrase(true)
		if err != nil {
			return nil, err
		}
		if err := s.seal(doc, pass); err != nil {
			return nil, err
		}
	}
	data, err := doc.Marshal()
	if err != nil {
		return nil, err
	}
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	if name == "" {
		name, err = s.writeUnnamed(data)
	} else {
		err = s.writeNamed(name, data, opts.Force)
	}
	if err != nil {
		return nil, err
	}
	if err := s.claimDefault(name); err != nil {
		return nil, err
	}
	return s.entry(name, doc), nil
}

func (s *Store) writeNamed(name string, data []byte, force bool) error {
	mode := atomicfile.NoReplace
	if force {
		mode = atomicfile.Replace
	}
	if err := atomicfile.WriteFile(s.path(name), data, 0o600, mode); err != nil {
		if errors.Is(err, atomicfile.ErrExists) {
			return fmt.Errorf("identity %s %w", name, ErrExists)
		}
		return fmt.Errorf("write identity %s: %w", name, err)
	}
	return nil
}

// writeUnnamed writes under a generated name, retrying on collision: the no-replace write
// is the arbiter, so concurrent processes can never claim the same name.
func (s *Store) writeUnnamed(data []byte) (string, error) {
	for attempt := 0; attempt < 64; attempt++ {
		name := generateName(attempt)
		err := atomicfile.WriteFile(s.path(name), data, 0o600, atomicfile.NoReplace)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, atomicfile.ErrExists) {
			return "", fmt.Errorf("write identity %s: %w", name, err)
		}
	}
	return "", errors.New("could not find a free identity name: pass one explicitly")
}

// claimDefault makes name the default if the keystore has none yet.
func (s *Store) claimDefault(name string) error {
	if _, err := s.Default(); err == nil {
		return nil
	}
	err := atomicfile.WriteFile(filepath.Join(s.dir, defaultFile), []byte(name+"\n"), 0o600, atomicfile.NoReplace)
	if err != nil && !errors.Is(err, atomicfile.ErrExists) {
		return fmt.Errorf("set default identity: %w", err)
	}
	return nil
}

func (s *Store) seal(doc *Document, pass []byte) error {
	r, err := age.NewScryptRecipient(string(pass))
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	factor := ScryptWorkFactor
	if s.scryptWorkFactor > 0 {
		factor = s.scryptWorkFactor
	}
	r.SetWorkFactor(factor)
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if _, err := io.WriteString(w, doc.PrivateKey); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	doc.EncryptedKey = buf.String()
	doc.PrivateKey = ""
	return nil
}

// open decrypts an encrypted document in place and returns the passphrase that opened it
// (nil for a plaintext document).
func open(name string, doc *Document, passphrase PassphraseFunc) ([]byte, error) {
	if !doc.Encrypted() {
		return nil, nil
	}
	if passphrase == nil {
		return nil, fmt.Errorf("identity %s is encrypted and no passphrase source is available", name)
	}
	pass, err := passphrase(false)
	if err != nil {
		return nil, err
	}
	if err := decrypt(name, doc, pass); err != nil {
		return nil, err
	}
	return pass, nil
}

func decrypt(name string, doc *Document, pass []byte) error {
	// The cost is checked before scrypt runs, and age is told the same bound.
	if f := workFactor(doc.EncryptedKey); f > MaxScryptWorkFactor {
		return fmt.Errorf("%w: identity %s asks for scrypt work factor %d (%s of memory) to open, above the %d hubctl accepts; it was not encrypted by hubctl: import its key again with --encrypt",
			ErrInvalidKey, name, f, scryptMemory(f), MaxScryptWorkFactor)
	}
	id, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		return fmt.Errorf("decrypt identity %s: %w", name, err)
	}
	id.SetMaxWorkFactor(MaxScryptWorkFactor)
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(doc.EncryptedKey)), id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return fmt.Errorf("%w for identity %s", ErrWrongPassphrase, name)
		}
		return fmt.Errorf("decrypt identity %s: %w", name, err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("decrypt identity %s: %w", name, err)
	}
	sk, err := ParsePrivateKey(string(plain))
	if err != nil {
		return fmt.Errorf("identity %s: encrypted key: %w", name, err)
	}
	pub, err := ParsePublicKey(doc.PublicKey)
	if err != nil {
		return fmt.Errorf("identity %s: %w", name, err)
	}
	if !sk.GetPublic().Equals(pub) {
		return fmt.Errorf("identity %s: encrypted key does not match its public key", name)
	}
	doc.PrivateKey = string(plain)
	doc.EncryptedKey = ""
	return nil
}

// workFactor is the scrypt work factor an encrypted key's age header records, 0 when it
// records none that can be read (age then says what is wrong with the file). Only the
// header is read: the line "-> scrypt SALT FACTOR" before the one that starts with "---".
func workFactor(encryptedKey string) int {
	sc := bufio.NewScanner(io.LimitReader(armor.NewReader(strings.NewReader(encryptedKey)), 64<<10))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") {
			break
		}
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "->" && f[1] == "scrypt" {
			n, err := strconv.Atoi(f[3])
			if err != nil || n < 0 {
				return 0
			}
			return n
		}
	}
	return 0
}

// scryptMemory is what scrypt at work factor f allocates (128 * r * N bytes, r = 8), for
// messages.
func scryptMemory(f int) string {
	if f >= 64 {
		return "more than any machine has"
	}
	kib := uint64(1) << f
	switch {
	case kib >= 1<<20:
		return fmt.Sprintf("%d GiB", kib>>20)
	case kib >= 1<<10:
		return fmt.Sprintf("%d MiB", kib>>10)
	}
	return fmt.Sprintf("%d KiB", kib)
}

// Import stores an identity given as an identity document (what Export writes, or a
// keystore file) or as the Hub CLI's form (a multibase libp2p-marshaled private key).
// An encrypted document is decrypted with passphrase so that its key can be checked, and
// stays encrypted with the same passphrase unless opts asks for a new one.
func (s *Store) Import(name string, data []byte, passphrase PassphraseFunc, opts CreateOptions) (*Entry, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	sk, pass, err := decodeImport(name, data, passphrase)
	if err != nil {
		return nil, err
	}
	if pass != nil && opts.Passphrase == nil {
		opts.Passphrase = func(bool) ([]byte, error) { return pass, nil }
	}
	return s.Create(name, sk, opts)
}

func decodeImport(name string, data []byte, passphrase PassphraseFunc) (crypto.PrivKey, []byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil, fmt.Errorf("%w: the input is empty", ErrInvalidKey)
	}
	if trimmed[0] == '{' {
		doc, err := ParseDocument(trimmed)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		pass, err := open(name, doc, passphrase)
		if err != nil {
			return nil, nil, err
		}
		sk, err := ParsePrivateKey(doc.PrivateKey)
		return sk, pass, err
	}
	sk, err := ParsePrivateKey(string(trimmed))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: neither an identity document nor a multibase private key (%w)", ErrInvalidKey, err)
	}
	return sk, nil, nil
}

// Get returns an identity's entry without reading its private key.
func (s *Store) Get(name string) (*Entry, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	doc, err := s.read(name)
	if err != nil {
		return nil, err
	}
	return s.entry(name, doc), nil
}

// Export returns the plaintext document of an identity, decrypting it if needed.
func (s *Store) Export(name string, passphrase PassphraseFunc) (*Document, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	doc, err := s.read(name)
	if err != nil {
		return nil, err
	}
	if err := s.checkFileMode(s.path(name)); err != nil {
		return nil, err
	}
	if _, err := open(name, doc, passphrase); err != nil {
		return nil, err
	}
	return doc, nil
}

// Load returns an identity's private key, decrypting it if needed.
func (s *Store) Load(name string, passphrase PassphraseFunc) (crypto.PrivKey, error) {
	doc, err := s.Export(name, passphrase)
	if err != nil {
		return nil, err
	}
	return ParsePrivateKey(doc.PrivateKey)
}

// List returns every identity, sorted by name. Files that cannot be read or parsed are
// reported in problems rather than failing the whole listing.
func (s *Store) List() (entries []*Entry, problems []error, err error) {
	dirents, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read keystore: %w", err)
	}
	for _, de := range dirents {
		name, ok := strings.CutSuffix(de.Name(), fileExt)
		if !ok || !de.Type().IsRegular() || ValidateName(name) != nil {
			continue
		}
		doc, err := s.read(name)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if err := s.checkFileMode(s.path(name)); err != nil {
			problems = append(problems, err)
		}
		entries = append(entries, s.entry(name, doc))
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	return entries, problems, nil
}

// Remove deletes an identity. Removing the default identity also clears the default.
func (s *Store) Remove(name string) (wasDefault bool, err error) {
	if err := ValidateName(name); err != nil {
		return false, err
	}
	def, _ := s.Default()
	if err := os.Remove(s.path(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("identity %s %w", name, ErrNotFound)
		}
		return false, fmt.Errorf("remove identity %s: %w", name, err)
	}
	if def == name {
		if err := os.Remove(filepath.Join(s.dir, defaultFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return true, fmt.Errorf("clear default identity: %w", err)
		}
		return true, nil
	}
	return false, nil
}

// Default returns the name of the default identity.
func (s *Store) Default() (string, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, defaultFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNoDefault
	}
	if err != nil {
		return "", fmt.Errorf("read default identity: %w", err)
	}
	name := strings.TrimSpace(string(data))
	if ValidateName(name) != nil {
		return "", fmt.Errorf("%w: %s holds an invalid name; run hubctl identity default NAME", ErrNoDefault, filepath.Join(s.dir, defaultFile))
	}
	return name, nil
}

// SetDefault makes an existing identity the default.
func (s *Store) SetDefault(name string) error {
	if _, err := s.Get(name); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, defaultFile), []byte(name+"\n"), 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("set default identity: %w", err)
	}
	return nil
}

func (s *Store) read(name string) (*Document, error) {
	p := s.path(name)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("identity %s %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read identity %s: %w", name, err)
	}
	doc, err := ParseDocument(data)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", p, err)
	}
	return doc, nil
}

func (s *Store) entry(name string, doc *Document) *Entry {
	return &Entry{
		Name:      name,
		KeyType:   doc.KeyType,
		PublicKey: doc.PublicKey,
		Created:   doc.Created,
		Encrypted: doc.Encrypted(),
		Path:      s.path(name),
	}
}

// ensureDir creates the keystore directory, or checks that an existing one is private.
func (s *Store) ensureDir() error {
	if err := atomicfile.MkdirPrivate(s.dir); err != nil {
		return fmt.Errorf("keystore %s: %w", s.dir, err)
	}
	return filemode.CheckDir("keystore directory", s.dir)
}

// checkFileMode refuses key files that other users can read, as ssh does.
func (s *Store) checkFileMode(p string) error {
	return filemode.CheckFile("identity file", p)
}

// GenerateKey returns a new Ed25519 libp2p private key, the key type Hub identities use.
func GenerateKey() (crypto.PrivKey, error) {
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate Ed25519 key: %w", err)
	}
	return sk, nil
}
