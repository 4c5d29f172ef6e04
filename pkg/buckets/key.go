package buckets

import (
	"crypto/rand"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/libp2p/go-libp2p-core/peer"
	mbase "github.com/multiformats/go-multibase"
)

// NewKey returns a new bucket key: the CID (libp2p-key codec, base32) of a fresh Ed25519
// libp2p key, the form of the Hub's IPNS key IDs ("bafzaa…", 65 characters). The private
// key is dropped: nothing publishes IPNS records for buckets.
func NewKey() (string, error) {
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generating a bucket key: %v", err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("generating a bucket key: %v", err)
	}
	return peer.ToCid(id).StringOfBase(mbase.Base32)
}

// CheckKey says whether key has the form of a bucket key: a CID with the libp2p-key
// codec (the Hub's RSA keys pass too).
func CheckKey(key string) error {
	c, err := cid.Decode(key)
	if err != nil || c.Type() != cid.Libp2pKey {
		return fmt.Errorf("invalid bucket key %q: not a libp2p key CID", key)
	}
	return nil
}
