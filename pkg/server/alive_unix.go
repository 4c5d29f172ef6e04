//go:build unix

package server

import (
	"errors"
	"syscall"
)

// processAlive reports whether pid may be a running process (signal 0 checks without
// sending). Only a "no" is conclusive: the pid of a daemon gone since a reboot can belong
// to another process; Running asks the node's directory lock for the "yes".
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
