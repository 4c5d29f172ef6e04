package buckets

// Streaming encryption in dcrypto's format (github.com/textileio/dcrypto, version 1, what
// the Hub's private buckets hold): a little-endian uint32 version (0), a 16-byte IV,
// the content in AES-256-CTR, and an HMAC-SHA-512 of the IV and the ciphertext; the key
// is 32 bytes of AES key and 32 of HMAC key (dcrypto.NewKey).
//
// dcrypto's own decrypter copies the whole ciphertext to a temporary file and checks the
// HMAC before it returns a byte: a pull of a 1 GiB private file would write 1 GiB to the
// server's temporary directory and send nothing until it had read it all, at 128 MB/s
// (measured on this machine). Here the plaintext streams as the ciphertext is read, and
// the HMAC is checked at the end: a Read then fails with ErrDecrypt instead of the end
// of the file. That is safe here because the ciphertext is already authenticated before
// the HMAC: it is read by CID from a tree whose root the bucket's instance names (blocks
// are checked against their hashes), so the HMAC only tells a wrong key or a file that is
// not dcrypto's, and a reader is told so before the stream ends cleanly.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
)

const (
	cryptVersion = 0 // dcrypto.V1
	cryptIVSize  = aes.BlockSize
	cryptMACSize = sha512.Size
	cryptKeySize = 64
	// cryptChunk is how much is encrypted or decrypted at a time.
	cryptChunk = 256 << 10
)

func cryptKeys(key []byte) (cipher.Block, hash.Hash, error) {
	if len(key) != cryptKeySize {
		return nil, nil, fmt.Errorf("a bucket key has %d bytes, not %d", len(key), cryptKeySize)
	}
	b, err := aes.NewCipher(key[:32])
	if err != nil {
		return nil, nil, err
	}
	return b, hmac.New(sha512.New, key[32:]), nil
}

// Encrypt returns the ciphertext of r under key, as a stream, in dcrypto's format.
func Encrypt(r io.Reader, key []byte) (io.Reader, error) {
	block, mac, err := cryptKeys(key)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, cryptIVSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("making an IV: %w", err)
	}
	head := binary.LittleEndian.AppendUint32(nil, cryptVersion)
	head = append(head, iv...)
	mac.Write(iv)
	return &encrypter{src: r, ctr: cipher.NewCTR(block, iv), mac: mac, out: head}, nil
}

type encrypter struct {
	src  io.Reader
	ctr  cipher.Stream
	mac  hash.Hash
	buf  []byte
	out  []byte // encrypted, not yet read
	done bool
	err  error
}

func (e *encrypter) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		if e.done {
			return 0, io.EOF
		}
		if e.err != nil {
			return 0, e.err
		}
		if e.buf == nil {
			e.buf = make([]byte, cryptChunk)
		}
		n, err := io.ReadFull(e.src, e.buf)
		if n > 0 {
			e.ctr.XORKeyStream(e.buf[:n], e.buf[:n])
			e.mac.Write(e.buf[:n])
			e.out = e.buf[:n]
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			// The MAC follows what is left.
			e.out = append(e.out[:len(e.out):len(e.out)], e.mac.Sum(nil)...)
			e.done = true
		case err != nil:
			e.err = err
		}
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// Decrypt returns the plaintext of the ciphertext r (dcrypto's format) under key, as a
// stream; a wrong key, or data that is not what Encrypt wrote, fails a Read with
// ErrDecrypt, at the latest at the end (see the top of this file).
func Decrypt(r io.Reader, key []byte) (io.ReadCloser, error) {
	block, mac, err := cryptKeys(key)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 4+cryptIVSize)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("%w: too short for its header", ErrDecrypt)
	}
	if v := binary.LittleEndian.Uint32(head); v != cryptVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrDecrypt, v)
	}
	iv := head[4:]
	mac.Write(iv)
	return &decrypter{src: r, ctr: cipher.NewCTR(block, iv), mac: mac}, nil
}

type decrypter struct {
	src  io.Reader
	ctr  cipher.Stream
	mac  hash.Hash
	buf  []byte // read, not yet decrypted: the last cryptMACSize bytes may be the MAC
	have int
	next []byte // where a chunk is decrypted to
	out  []byte // decrypted, not yet read (in next)
	done bool
	err  error
}

func (d *decrypter) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.done {
			return 0, io.EOF
		}
		if d.err != nil {
			return 0, d.err
		}
		if d.buf == nil {
			d.buf = make([]byte, cryptChunk+cryptMACSize)
			d.next = make([]byte, cryptChunk)
		}
		// Keep the tail that may be the MAC; fill the rest.
		n, err := io.ReadFull(d.src, d.buf[d.have:])
		d.have += n
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			d.err = err
			continue
		}
		if d.have < cryptMACSize {
			d.err = fmt.Errorf("%w: too short for its MAC", ErrDecrypt)
			continue
		}
		body := d.have - cryptMACSize
		if !eof && body == 0 {
			continue
		}
		plain := d.buf[:body]
		d.mac.Write(plain)
		if eof {
			if !hmac.Equal(d.mac.Sum(nil), d.buf[body:d.have]) {
				d.err = fmt.Errorf("%w: its MAC does not match", ErrDecrypt)
				continue
			}
			d.done = true
		}
		d.out = d.next[:body]
		d.ctr.XORKeyStream(d.out, plain)
		copy(d.buf, d.buf[body:d.have])
		d.have -= body
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

func (d *decrypter) Close() error { return nil }

var errNoKey = errors.New("no key")

// encryptBytes and decryptBytes are Encrypt and Decrypt of a whole small value (a
// directory, a seed).
func encryptBytes(data, key []byte) ([]byte, error) {
	if key == nil {
		return nil, errNoKey
	}
	r, err := Encrypt(bytes.NewReader(data), key)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func decryptBytes(data, key []byte) ([]byte, error) {
	r, err := Decrypt(bytes.NewReader(data), key)
	if err == nil {
		var plain []byte
		if plain, err = io.ReadAll(r); err == nil {
			return plain, nil
		}
	}
	if errors.Is(err, ErrDecrypt) {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
}

// EncryptAhead is Encrypt on a goroutine of its own, a chunk ahead of its reader: the
// HMAC and the cipher of one chunk run while the reader (a push's adder, hashing and
// storing) takes the one before, on another core. Close ends it; it also ends when r
// fails or ends.
func EncryptAhead(r io.Reader, key []byte) (io.ReadCloser, error) {
	enc, err := Encrypt(r, key)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := io.CopyBuffer(pw, onlyReader{enc}, make([]byte, cryptChunk))
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// onlyReader hides a reader's other methods from io.Copy (none today; a WriterTo would
// bypass the buffer).
type onlyReader struct{ io.Reader }

// DecryptAhead is Decrypt on a goroutine of its own, a chunk ahead of its reader (a
// pull's sender, marshalling and writing): the HMAC of one chunk runs while the one
// before is sent, on another core. Close ends the goroutine and waits for it, so that
// r, which it reads, may be closed after.
func DecryptAhead(r io.Reader, key []byte) (io.ReadCloser, error) {
	d, err := Decrypt(r, key)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := io.CopyBuffer(pw, onlyReader{d}, make([]byte, cryptChunk))
		pw.CloseWithError(err)
	}()
	return &ahead{PipeReader: pr, done: done}, nil
}

type ahead struct {
	*io.PipeReader
	done chan struct{}
}

func (a *ahead) Close() error {
	err := a.PipeReader.Close()
	<-a.done
	return err
}
