package keystore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	mbase "github.com/multiformats/go-multibase"
)

// FormatVersion is the version of the identity document written by this package.
const FormatVersion = 1

// Document is an identity as it is stored in the keystore and as `identity export` writes it.
//
// Exactly one of PrivateKey and EncryptedKey is set. PrivateKey is the Hub CLI's form of a
// key: multibase (base32) of the libp2p-marshaled private key. EncryptedKey is that same
// string encrypted with age's scrypt (passphrase) recipient, ASCII-armored, so that
// `age -d` can open it without hubctl.
type Document struct {
	Version      int       `json:"version"`
	KeyType      string    `json:"keyType"`
	PublicKey    string    `json:"publicKey"`
	Created      time.Time `json:"created"`
	PrivateKey   string    `json:"privateKey,omitempty"`
	EncryptedKey string    `json:"encryptedKey,omitempty"`
}

// Encrypted reports whether the private key is passphrase-protected.
func (d *Document) Encrypted() bool { return d.EncryptedKey != "" }

// ParseDocument decodes and validates an identity document. It checks everything that can
// be checked without a passphrase, including that a plaintext private key matches the
// recorded public key.
func ParseDocument(data []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("not an identity document: %w", err)
	}
	// More() is false before a stray '}' or ']', so ask for the next token instead.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not an identity document: trailing data after the JSON object")
	}
	if d.Version != FormatVersion {
		return nil, fmt.Errorf("unsupported identity document version %d (this hubctl reads version %d)", d.Version, FormatVersion)
	}
	pub, err := ParsePublicKey(d.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("publicKey: %w", err)
	}
	if got := pub.Type().String(); d.KeyType != got {
		return nil, fmt.Errorf("keyType %q does not match the public key's type %s", d.KeyType, got)
	}
	switch {
	case d.PrivateKey != "" && d.EncryptedKey != "":
		return nil, errors.New("both privateKey and encryptedKey are set")
	case d.PrivateKey == "" && d.EncryptedKey == "":
		return nil, errors.New("neither privateKey nor encryptedKey is set")
	case d.PrivateKey != "":
		sk, err := ParsePrivateKey(d.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("privateKey: %w", err)
		}
		if !sk.GetPublic().Equals(pub) {
			return nil, errors.New("privateKey does not match publicKey")
		}
	}
	return &d, nil
}

// Marshal encodes the document as indented JSON with a trailing newline.
func (d *Document) Marshal() ([]byte, error) {
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// EncodePrivateKey returns the Hub CLI's string form of a private key.
func EncodePrivateKey(sk crypto.PrivKey) (string, error) {
	raw, err := crypto.MarshalPrivateKey(sk)
	if err != nil {
		return "", fmt.Errorf("marshal private key: %w", err)
	}
	return mbase.Encode(mbase.Base32, raw)
}

// ParsePrivateKey decodes the Hub CLI's string form of a private key.
func ParsePrivateKey(s string) (crypto.PrivKey, error) {
	_, raw, err := mbase.Decode(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not a multibase string: %w", err)
	}
	sk, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("not a libp2p private key: %w", err)
	}
	return sk, nil
}

// EncodePublicKey returns the Hub's string form of a public key, the same string as
// go-threads' thread.Libp2pPubKey.String: multibase base32 of the libp2p-marshaled key.
func EncodePublicKey(pk crypto.PubKey) (string, error) {
	raw, err := crypto.MarshalPublicKey(pk)
	if err != nil {
		return "", fmt.Errorf("marshal public key: %w", err)
	}
	return mbase.Encode(mbase.Base32, raw)
}

// ParsePublicKey decodes the Hub's string form of a public key.
func ParsePublicKey(s string) (crypto.PubKey, error) {
	_, raw, err := mbase.Decode(s)
	if err != nil {
		return nil, fmt.Errorf("not a multibase string: %w", err)
	}
	pk, err := crypto.UnmarshalPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("not a libp2p public key: %w", err)
	}
	return pk, nil
}

// NewDocument builds the plaintext document for a private key.
func NewDocument(sk crypto.PrivKey, created time.Time) (*Document, error) {
	priv, err := EncodePrivateKey(sk)
	if err != nil {
		return nil, err
	}
	pub, err := EncodePublicKey(sk.GetPublic())
	if err != nil {
		return nil, err
	}
	return &Document{
		Version:    FormatVersion,
		KeyType:    sk.Type().String(),
		PublicKey:  pub,
		Created:    created.UTC().Truncate(time.Second),
		PrivateKey: priv,
	}, nil
}
