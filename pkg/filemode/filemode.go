// Package filemode refuses files and directories that hold secrets when other users have
// access to them, as ssh refuses a private key at mode 0644 and ftp a .netrc with a
// password that others can read. The keystore, the API key registry (keys.json), the
// token cache and a config file that holds a secret all use it, so that each refuses in
// the same words with the same fix: run chmod 600 FILE (or chmod 700 DIR).
package filemode

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
)

// Errors callers match with errors.Is.
var (
	// ErrInsecure matches every refusal of a file or directory others can access.
	ErrInsecure = errors.New("accessible by other users")
	// ErrNotRegular: ReadRegular was given a directory, a device, a FIFO or a socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: ReadRegular's file is larger than its limit.
	ErrTooLarge = errors.New("too large")
)

// others is the permission bits a secret's file or directory must not have: any access
// by the group or by others.
const others fs.FileMode = 0o077

// Refusal is the error for a file or directory that others can access. It matches
// ErrInsecure. Its message names the path and the fix, and quotes nothing from the file.
type Refusal struct {
	What string // "identity file", "keystore directory"
	Path string
	Note string // optional, after the path: "holds a secret"
	Perm fs.FileMode
	Dir  bool // the fix is chmod 700
	// Writable: the directory is refused because others can write to it (CheckDirWrite).
	Writable bool
}

func (e *Refusal) Error() string {
	note, how, fix := "", ErrInsecure.Error(), "600"
	if e.Note != "" {
		note = " " + e.Note + " and"
	}
	if e.Writable {
		how = "writable by other users"
	}
	if e.Dir {
		fix = "700"
	}
	return fmt.Sprintf("%s %s%s is %s (mode %04o): run chmod %s %s", e.What, e.Path, note, how, e.Perm, fix, e.Path)
}

// Is makes a Refusal match ErrInsecure.
func (e *Refusal) Is(target error) bool { return target == ErrInsecure }

// Private reports whether info's permission bits give the group and others no access.
// It is always true on Windows, which has no such bits.
func Private(info fs.FileInfo) bool {
	return runtime.GOOS == "windows" || info.Mode().Perm()&others == 0
}

// Check refuses info, the file at path, when the group or others have any access to it.
// what names the file in the message ("identity file").
func Check(what, path string, info fs.FileInfo) error {
	if Private(info) {
		return nil
	}
	return &Refusal{What: what, Path: path, Perm: info.Mode().Perm()}
}

// CheckFile is Check on the file at path, following symlinks: the mode that matters is
// that of the file that is read.
func CheckFile(what, path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	return Check(what, path, info)
}

// CheckDir refuses the directory dir when the group or others have any access to it:
// they could list, or replace, the secrets written into it. what names it ("keystore
// directory").
func CheckDir(what, dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	if Private(info) {
		return nil
	}
	return &Refusal{What: what, Path: dir, Perm: info.Mode().Perm(), Dir: true}
}

// CheckDirWrite refuses the directory dir when the group or others can write to it:
// they could replace the files in it, as sshd's StrictModes refuses an authorized_keys in
// a directory others can write. It is the check for a directory hubctl does not own
// alone (a data directory, where a 0755 mode is usual and harmless for 0600 files). A
// missing directory passes: there is nothing in it to replace.
func CheckDirWrite(what, dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	if info.Mode().Perm()&0o022 == 0 {
		return nil
	}
	return &Refusal{What: what, Path: dir, Perm: info.Mode().Perm(), Dir: true, Writable: true}
}

// ReadRegular reads the regular file at path (following symlinks), at most max bytes,
// and returns its content with the opened file's information, for Check: the mode
// checked is that of the file read, not of one a rename put in its place since. Anything
// but a regular file is refused before it is opened (ErrNotRegular), so that a path to
// /dev/zero or to a FIFO neither fills memory nor blocks; a larger file is ErrTooLarge.
// A missing file is an error matching fs.ErrNotExist. No error quotes the content.
func ReadRegular(path string, max int64) ([]byte, fs.FileInfo, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is %w", path, ErrNotRegular)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is %w", path, ErrNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > max {
		return nil, nil, fmt.Errorf("%s is %w (more than %d bytes)", path, ErrTooLarge, max)
	}
	return data, info, nil
}
