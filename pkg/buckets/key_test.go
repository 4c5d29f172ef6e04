package buckets

import (
	"strings"
	"testing"

	"github.com/hubctl/hubctl/pkg/instanceid"
	"github.com/ipfs/go-cid"
)

func TestNewKey(t *testing.T) {
	seen := map[string]bool{}
	for range 5 {
		k, err := NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != 65 || !strings.HasPrefix(k, "bafzaa") {
			t.Errorf("key %q: want 65 characters, bafzaa…", k)
		}
		c, err := cid.Decode(k)
		if err != nil || c.Type() != cid.Libp2pKey || c.Version() != 1 {
			t.Errorf("key %q: %v, type %x", k, err, c.Type())
		}
		if err := CheckKey(k); err != nil {
			t.Error(err)
		}
		if err := instanceid.Check(k); err != nil {
			t.Errorf("key %q is not a valid instance ID: %v", k, err)
		}
		if seen[k] {
			t.Fatalf("key %q twice", k)
		}
		seen[k] = true
	}
	for _, bad := range []string{"", "x", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"} {
		if CheckKey(bad) == nil {
			t.Errorf("CheckKey(%q) accepted", bad)
		}
	}
}
