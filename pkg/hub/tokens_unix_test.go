//go:build unix

package hub

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/hubctl/hubctl/pkg/filemode"
)

// An entry that is not a regular file neither blocks (a FIFO) nor fills memory
// (/dev/zero); an entry larger than any token reads as none.
func TestTokenCacheEntryNotRegular(t *testing.T) {
	c := &TokenCache{Dir: t.TempDir()}
	if err := os.Chmod(c.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", c.path("zero", "pk")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("zero", "pk"); !errors.Is(err, filemode.ErrNotRegular) {
		t.Errorf("Get of an entry -> /dev/zero: %v, want ErrNotRegular", err)
	}
	if err := syscall.Mkfifo(c.path("fifo", "pk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("fifo", "pk"); !errors.Is(err, filemode.ErrNotRegular) {
		t.Errorf("Get of a FIFO entry: %v, want ErrNotRegular", err)
	}
	big := make([]byte, maxTokenFile+1)
	if err := os.WriteFile(c.path("big", "pk"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get("big", "pk"); got != "" || err != nil {
		t.Errorf("Get of a %d-byte entry = %q, %v; want none", len(big), got, err)
	}
}
