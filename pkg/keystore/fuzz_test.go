package keystore

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
)

// fuzzKey returns a deterministic Ed25519 key so that the seeds are the same on every run.
func fuzzKey(tb testing.TB, seed byte) crypto.PrivKey {
	tb.Helper()
	sk, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)))
	if err != nil {
		tb.Fatal(err)
	}
	return sk
}

const fakeArmor = "-----BEGIN AGE ENCRYPTED FILE-----\n" +
	"YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IHNjcnlwdCBhYmNkZWZnaGlqa2xtbm9w\n" +
	"-----END AGE ENCRYPTED FILE-----\n"

func FuzzParseDocument(f *testing.F) {
	created := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	sk1, sk2 := fuzzKey(f, 1), fuzzKey(f, 2)

	plain, err := NewDocument(sk1, created)
	if err != nil {
		f.Fatal(err)
	}
	plainBytes, err := plain.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := ParseDocument(plainBytes); err != nil {
		f.Fatalf("seed document does not parse: %v", err)
	}

	enc := *plain
	enc.PrivateKey, enc.EncryptedKey = "", fakeArmor
	encBytes, err := enc.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := ParseDocument(encBytes); err != nil {
		f.Fatalf("encrypted seed document does not parse: %v", err)
	}

	mismatched := *plain
	mismatched.PublicKey, _ = EncodePublicKey(sk2.GetPublic())
	mismatchedBytes, err := mismatched.Marshal()
	if err != nil {
		f.Fatal(err)
	}

	f.Add(plainBytes)
	f.Add(encBytes)
	f.Add(mismatchedBytes)
	f.Add([]byte("{}"))
	f.Add([]byte("null"))
	f.Add([]byte("[]"))
	f.Add(plainBytes[:len(plainBytes)/2])
	f.Add(encBytes[:len(encBytes)-3])
	f.Add(append(append([]byte{}, plainBytes...), "}"...))

	f.Fuzz(func(t *testing.T, data []byte) {
		d1, err := ParseDocument(data)
		if err != nil {
			if d1 != nil {
				t.Fatalf("ParseDocument returned a document with an error: %v", err)
			}
			return
		}
		out, err := d1.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed document: %v", err)
		}
		d2, err := ParseDocument(out)
		if err != nil {
			t.Fatalf("ParseDocument of Marshal output: %v\n%s", err, out)
		}
		if !d1.Created.Equal(d2.Created) {
			t.Fatalf("Created changed: %v -> %v", d1.Created, d2.Created)
		}
		n1, n2 := *d1, *d2
		n1.Created, n2.Created = n1.Created.UTC(), n2.Created.UTC()
		if !reflect.DeepEqual(n1, n2) {
			t.Fatalf("round trip changed the document:\n%#v\n%#v", n1, n2)
		}
		if (d1.PrivateKey == "") == (d1.EncryptedKey == "") {
			t.Fatalf("parsed document does not hold exactly one key: %#v", d1)
		}
		// Marshal is stable: a second round gives the same bytes.
		out2, err := d2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("Marshal is not stable:\n%s\n%s", out, out2)
		}
	})
}
