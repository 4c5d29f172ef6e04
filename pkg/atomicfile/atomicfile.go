// Package atomicfile writes files so that readers see either the old content or the new,
// never a torn write, and so that a crash never leaves a half-written secret behind.
//
// Every write goes to a temporary file in the destination's directory, is fsynced, and is
// then moved into place: with rename when replacing is allowed, with link when it is not,
// because link fails atomically if the destination exists and rename would silently clobber
// a file that another process created a moment earlier.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrExists is returned by WriteFile with Replace unset when the destination exists.
var ErrExists = fs.ErrExist

// Mode selects what WriteFile does when the destination already exists.
type Mode int

const (
	// NoReplace refuses to overwrite an existing file (ErrExists).
	NoReplace Mode = iota
	// Replace atomically replaces an existing file.
	Replace
)

// WriteFile writes data to path with the given permissions.
// The parent directory must exist.
func WriteFile(path string, data []byte, perm fs.FileMode, mode Mode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// The leading dot keeps temporary files out of directory listings that only
	// look at valid names (the keystore's names cannot start with a dot).
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // a no-op once the file has been renamed away

	if err := tmp.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("set permissions: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmpName, err)
	}

	switch mode {
	case Replace:
		if err := os.Rename(tmpName, path); err != nil {
			return fmt.Errorf("rename into place: %w", err)
		}
	default:
		if err := os.Link(tmpName, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w", path, ErrExists)
			}
			return fmt.Errorf("link into place: %w", err)
		}
	}
	syncDir(dir)
	return nil
}

// syncDir makes the new directory entry durable. Failure is not reported: some platforms
// and filesystems cannot sync directories, and the file itself is already durable.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// MkdirPrivate creates dir (and its parents) with mode 0700 when it does not exist.
// An existing directory is left as it is; callers decide whether its mode is acceptable.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	return nil
}
