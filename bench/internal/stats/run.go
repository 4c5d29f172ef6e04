package stats

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// HubctlOutput runs the hubctl binary bin with env and args and returns its trimmed
// stdout; a failure carries the command and its stderr.
func HubctlOutput(bin string, env []string, args ...string) (string, error) {
	c := exec.Command(bin, args...)
	c.Env = env
	out, err := c.Output()
	if err != nil {
		var stderr string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("hubctl %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
}
