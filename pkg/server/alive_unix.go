//go:build unix

package server

import (
	"errors"
	"syscall"
)

// processAlive reports whether pid is a running process (signal 0 checks without sending).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
