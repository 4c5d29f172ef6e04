package buckets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/textileio/dcrypto"
)

// The format is dcrypto's, both ways, at every length around the chunk and MAC sizes:
// what the Hub's servers wrote, hubctl reads, and the other way round.
func TestCryptIsDcryptosFormat(t *testing.T) {
	key, err := NewEncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 63, 64, 65, 1000, cryptChunk - 64, cryptChunk - 1, cryptChunk, cryptChunk + 1, cryptChunk + 64, 3*cryptChunk + 17} {
		plain := make([]byte, n)
		for i := range plain {
			plain[i] = byte(r.Uint32())
		}
		ours, err := Encrypt(bytes.NewReader(plain), key)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := io.ReadAll(iotest.OneByteReader(ours))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := dcrypto.NewDecrypter(bytes.NewReader(sealed), key)
		if err != nil {
			t.Fatalf("%d bytes: dcrypto refuses hubctl's ciphertext: %v", n, err)
		}
		if got, err := io.ReadAll(theirs); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: dcrypto reads hubctl's ciphertext as %d bytes (%v)", n, len(got), err)
		}
		theirs.Close()
		enc, err := dcrypto.NewEncrypter(bytes.NewReader(plain), key)
		if err != nil {
			t.Fatal(err)
		}
		dsealed, err := io.ReadAll(enc)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decrypt(iotest.HalfReader(bytes.NewReader(dsealed)), key)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(d); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: hubctl reads dcrypto's ciphertext as %d bytes (%v)", n, len(got), err)
		}
		// Below 16 bytes a random ciphertext can hold the plaintext by chance (a 1-byte
		// plaintext is in ~80 random bytes a quarter of the time), so only longer ones say anything.
		if n >= 16 && bytes.Contains(sealed, plain) {
			t.Fatalf("%d bytes: the ciphertext holds the plaintext", n)
		}
	}
}

// A wrong key, a flipped bit anywhere, a cut or an extended stream: a Read fails with
// ErrDecrypt before the stream ends cleanly.
func TestDecryptRefusesWhatItCannotVouchFor(t *testing.T) {
	key, _ := NewEncryptionKey()
	other, _ := NewEncryptionKey()
	plain := bytes.Repeat([]byte("private content "), 40000) // 640 KB: three chunks
	enc, _ := Encrypt(bytes.NewReader(plain), key)
	sealed, _ := io.ReadAll(enc)
	read := func(data, k []byte) error {
		d, err := Decrypt(bytes.NewReader(data), k)
		if err != nil {
			return err
		}
		_, err = io.ReadAll(d)
		return err
	}
	if err := read(sealed, key); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"truncated":         sealed[:len(sealed)-1],
		"cut in the middle": sealed[:len(sealed)/2],
		"extended":          append(append([]byte{}, sealed...), 0),
		"header only":       sealed[:20],
		"short":             sealed[:3],
	}
	for _, at := range []int{0, 4, 25, len(sealed) / 2, len(sealed) - 65, len(sealed) - 1} {
		bad := append([]byte{}, sealed...)
		bad[at] ^= 1
		cases[fmt.Sprintf("a bit flipped at byte %d", at)] = bad
	}
	for what, data := range cases {
		if err := read(data, key); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", what, err)
		}
	}
	if err := read(sealed, other); !errors.Is(err, ErrDecrypt) {
		t.Errorf("another key: %v, want ErrDecrypt", err)
	}
	if _, err := Encrypt(bytes.NewReader(plain), key[:10]); err == nil {
		t.Error("a short key was taken")
	}
}

// BenchmarkEncrypt and BenchmarkDecrypt, beside dcrypto's own: hubctl's decrypter streams
// (dcrypto's writes the ciphertext to a temporary file first).
func BenchmarkEncrypt(b *testing.B)        { benchCrypt(b, false, false) }
func BenchmarkDecrypt(b *testing.B)        { benchCrypt(b, true, false) }
func BenchmarkDcryptoEncrypt(b *testing.B) { benchCrypt(b, false, true) }
func BenchmarkDcryptoDecrypt(b *testing.B) { benchCrypt(b, true, true) }

func benchCrypt(b *testing.B, decrypt, theirs bool) {
	key, _ := NewEncryptionKey()
	data := make([]byte, 64<<20)
	enc, _ := Encrypt(bytes.NewReader(data), key)
	sealed, _ := io.ReadAll(enc)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		var r io.Reader
		switch {
		case decrypt && theirs:
			d, _ := dcrypto.NewDecrypter(bytes.NewReader(sealed), key)
			defer d.Close()
			r = d
		case decrypt:
			r, _ = Decrypt(bytes.NewReader(sealed), key)
		case theirs:
			r, _ = dcrypto.NewEncrypter(bytes.NewReader(data), key)
		default:
			r, _ = Encrypt(bytes.NewReader(data), key)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

// The goroutines of EncryptAhead and DecryptAhead give the same bytes as the plain
// readers, pass on a failure, and end on Close before their source is read to the end.
func TestCryptAhead(t *testing.T) {
	key, _ := NewEncryptionKey()
	plain := bytes.Repeat([]byte("ahead "), 300000)
	enc, err := EncryptAhead(bytes.NewReader(plain), key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := io.ReadAll(enc)
	if err != nil {
		t.Fatal(err)
	}
	enc.Close()
	dec, err := DecryptAhead(bytes.NewReader(sealed), key)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(dec); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("read back %d bytes: %v", len(got), err)
	}
	dec.Close()
	bad := append([]byte{}, sealed...)
	bad[len(bad)-1] ^= 1
	dec, _ = DecryptAhead(bytes.NewReader(bad), key)
	if _, err := io.ReadAll(dec); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("a bad MAC through DecryptAhead: %v", err)
	}
	dec.Close()
	// Closed after one read: Close returns once the goroutine has left.
	dec, _ = DecryptAhead(bytes.NewReader(sealed), key)
	if _, err := dec.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := dec.Close(); err != nil {
		t.Fatal(err)
	}
	fail := errors.New("source failed")
	enc, _ = EncryptAhead(iotest.ErrReader(fail), key)
	if _, err := io.ReadAll(enc); !errors.Is(err, fail) {
		t.Fatalf("a failing source through EncryptAhead: %v", err)
	}
}
