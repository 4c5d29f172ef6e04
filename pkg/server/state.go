package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hubctl/hubctl/pkg/atomicfile"
	"github.com/hubctl/hubctl/pkg/node"
)

// StateFile is the name of the running daemon's state file in its data directory.
const StateFile = "daemon.json"

// State is what a running daemon tells other hubctl processes: where it listens (Gateway
// is empty when it serves no gateway). It holds no secrets.
type State struct {
	PID    int    `json:"pid"`
	API    string `json:"api"`
	Web    string `json:"web"`
	PeerID string `json:"peerId"`
	// HostAddrs are the libp2p addresses announced to peers; Listen all it listens on.
	HostAddrs []string  `json:"hostAddrs"`
	Listen    []string  `json:"listenAddrs"`
	Gateway   string    `json:"gateway,omitempty"`
	Auth      string    `json:"auth"`
	Started   time.Time `json:"started"`
}

// nodeDir is where a daemon on dataDir keeps its node.
func nodeDir(dataDir string) string { return filepath.Join(dataDir, "node") }

// StatePath is the state file of the daemon using dataDir.
func StatePath(dataDir string) string { return filepath.Join(dataDir, StateFile) }

func writeState(dataDir string, st State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.MkdirPrivate(dataDir); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(StatePath(dataDir), append(data, '\n'), 0o600, atomicfile.Replace); err != nil {
		return fmt.Errorf("write daemon state: %w", err)
	}
	return nil
}

// Running returns the state of the daemon running on dataDir. A daemon holds its node's
// directory lock for its whole life, so a state file is a running daemon's only while that
// lock is held: a file left by a daemon that was killed, or found after a reboot with its
// pid now another process's, is ignored (kill(pid, 0) took such a pid for the daemon and
// locked every command out). Embedded commands hold the lock for a moment too, so a pid
// known to be gone also makes the file stale.
func Running(dataDir string) (State, bool) {
	data, err := os.ReadFile(StatePath(dataDir))
	if err != nil {
		return State{}, false
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil || st.API == "" || st.PID <= 0 {
		return State{}, false
	}
	if !processAlive(st.PID) || !node.Locked(nodeDir(dataDir)) {
		return State{}, false
	}
	return st, true
}

func removeState(dataDir string, pid int) error {
	// Only remove our own file: a second daemon refused at start must not remove the
	// running one's.
	if st, ok := readState(dataDir); ok && st.PID != pid {
		return nil
	}
	err := os.Remove(StatePath(dataDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove daemon state: %w", err)
	}
	return nil
}

func readState(dataDir string) (State, bool) {
	data, err := os.ReadFile(StatePath(dataDir))
	if err != nil {
		return State{}, false
	}
	var st State
	return st, json.Unmarshal(data, &st) == nil
}
