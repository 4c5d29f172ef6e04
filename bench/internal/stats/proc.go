package stats

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcKiB reads a field in kB (VmRSS, VmHWM, ...) of process pid's /proc status; 0 when
// the process is gone.
func ProcKiB(pid int, field string) int64 {
	return StatusKiB(fmt.Sprintf("/proc/%d/status", pid), field)
}

// StatusKiB is ProcKiB for a /proc/PID/status path.
func StatusKiB(path, field string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib
		}
	}
	return 0
}
