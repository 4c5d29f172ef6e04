package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hubctl/hubctl/cmd"
)

// TestMain lets testscript run this test binary as the real hubctl command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hubctl": func() { os.Exit(cmd.Main()) },
	})
}

// TestScript runs the end-to-end scripts in testdata/script against the real binary.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// Everything hubctl reads or writes lives under the script's $WORK.
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("USERPROFILE", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
			env.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("JSCOMPAT", jsCompatDir)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"spawn":       cmdSpawn,
			"perm":        cmdPerm,
			"jsonlen":     cmdJSONLen,
			"code":        cmdCode,
			"threadsnode": cmdThreadsNode,
			"blackhole":   cmdBlackhole,
			"jsonfield":   cmdJSONField,
			"holdlock":    cmdHoldLock,
			"sleep":       cmdSleep,
			"daemonstate": cmdDaemonState,
			"hubclient":   cmdHubClient,
			"term":        cmdTerm,
			"waitfor":     cmdWaitFor,
			"gendocs":     cmdGenDocs,
			"eventually":  cmdEventually,
			"tmpfs":       cmdTmpfs,
			"fill":        cmdFill,
			"stalestate":  cmdStaleState,
			"damagestore": cmdDamageStore,
			"wsdrop":      cmdWSDrop,
			"http":        cmdHTTP,
		},
		Condition: func(cond string) (bool, error) {
			if cond == "tmpfs" {
				return tmpfsOK(), nil
			}
			if cond == "jsclient" {
				return jsClientInstalled()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// jsCompatDir holds Textile's JS Hub client and the script that drives it
// (compat/js/hub.js), installed by scripts/test.sh (npm ci).
var jsCompatDir, _ = filepath.Abs(filepath.Join("compat", "js"))

// jsClientInstalled is the jsclient condition: node and compat/js's packages are there.
// Where HUBCTL_REQUIRE_JS_CLIENT is set (CI) their absence fails the script, so that a
// broken install cannot pass as a skip.
func jsClientInstalled() (bool, error) {
	_, nodeErr := exec.LookPath("node")
	_, pkgErr := os.Stat(filepath.Join(jsCompatDir, "node_modules", "@textile", "hub", "package.json"))
	if nodeErr == nil && pkgErr == nil {
		return true, nil
	}
	if os.Getenv("HUBCTL_REQUIRE_JS_CLIENT") != "" {
		return false, fmt.Errorf("the JS client is required but not installed (node: %v; packages: %v): run npm ci --prefix compat/js", nodeErr, pkgErr)
	}
	return false, nil
}

// spawn N PROG ARGS... runs N copies of PROG at once and fails unless all succeed.
func cmdSpawn(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: spawn N PROG [ARGS...]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("spawn: bad count %q", args[0])
	}
	// testscript.Main put the directory holding hubctl on this process's PATH.
	prog, err := exec.LookPath(args[1])
	if err != nil {
		ts.Fatalf("spawn: %v", err)
	}
	// Only the script's own environment: a developer's HUBCTL_* must not leak in.
	var env []string
	for _, k := range []string{"PATH", "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "NO_COLOR", "TMPDIR", "HUBCTL_PASSPHRASE"} {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := exec.Command(prog, args[2:]...)
			c.Dir = ts.Getenv("WORK")
			c.Env = env
			if out, err := c.CombinedOutput(); err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%v: %s", err, out))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		ts.Fatalf("spawn: %d of %d failed; first: %s", len(failures), n, failures[0])
	}
}

// perm MODE PATH checks a file's permission bits (octal); skipped on Windows.
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm MODE PATH")
	}
	if runtime.GOOS == "windows" {
		return
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	if err != nil {
		ts.Fatalf("perm: bad mode %q", args[0])
	}
	info, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	got := uint64(info.Mode().Perm())
	if (got == want) == neg {
		ts.Fatalf("perm %s: mode is %04o, want %s%04o", args[1], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// jsonlen N checks that the last command's stdout is a JSON array of N elements.
func cmdJSONLen(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: jsonlen N")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("jsonlen: bad count %q", args[0])
	}
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &list); err != nil {
		ts.Fatalf("jsonlen: stdout is not a JSON array: %v\n%s", err, strings.TrimSpace(ts.ReadFile("stdout")))
	}
	if (len(list) == want) == neg {
		ts.Fatalf("jsonlen: got %d elements, want %d", len(list), want)
	}
}

// code N PROG ARGS... runs PROG and checks that it exits with status N; its stdout and
// stderr are kept for the stdout and stderr commands that follow, as with exec.
func cmdCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: code N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("code: bad status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("code: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("code: %s exited %d, want %d\nstderr: %s", args[1], got, want, ts.ReadFile("stderr"))
	}
}
