package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/internal/testnode"
	"github.com/hubctl/hubctl/pkg/node"
)

// servers holds the test servers scripts started, by script and name.
var servers sync.Map // "<script pointer>/<name>" -> *scriptServer

type scriptServer struct {
	opts testnode.Options
	srv  *testnode.Server
}

func serverKey(ts *testscript.TestScript, name string) string { return fmt.Sprintf("%p/%s", ts, name) }

// threadsnode start|stop|restart|reset|gettokens NAME [-key K -secret S]
//
// start serves a real go-threads node on 127.0.0.1:0 in this test process, with the
// Hub's API key checks when -key is given, and sets $NAME_ADDR; the script's end stops it.
// stop stops it; restart starts it again on the same port and data; reset does so with
// an empty data directory (a new host key, so old tokens are refused). gettokens prints
// how many GetToken calls it has answered.
func cmdThreadsNode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: threadsnode start|stop|restart|reset|gettokens NAME [-key K -secret S]")
	}
	verb, name := args[0], args[1]
	key := serverKey(ts, name)
	v, exists := servers.Load(key)
	s, _ := v.(*scriptServer)
	switch verb {
	case "start":
		if exists {
			ts.Fatalf("threadsnode: %s already started", name)
		}
		fs := flag.NewFlagSet("threadsnode", flag.ContinueOnError)
		apiKey := fs.String("key", "", "API key the server requires")
		secret := fs.String("secret", "", "API secret for signatures")
		ts.Check(fs.Parse(args[2:]))
		s = &scriptServer{opts: testnode.Options{
			Dir: filepath.Join(ts.Getenv("WORK"), name+"-node"), Key: *apiKey, Secret: *secret,
		}}
		startServer(ts, s)
		servers.Store(key, s)
		ts.Setenv(strings.ToUpper(name)+"_ADDR", s.srv.Addr)
		ts.Defer(func() {
			if s.srv != nil {
				_ = s.srv.Close()
			}
			servers.Delete(key)
		})
	case "stop", "restart", "reset":
		if !exists {
			ts.Fatalf("threadsnode: %s not started", name)
		}
		if s.srv != nil {
			ts.Check(s.srv.Close())
			s.srv = nil
		}
		if verb == "stop" {
			return
		}
		if verb == "reset" {
			ts.Check(os.RemoveAll(s.opts.Dir))
		}
		startServer(ts, s)
	case "gettokens":
		if !exists || s.srv == nil {
			ts.Fatalf("threadsnode: %s not running", name)
		}
		fmt.Fprintf(ts.Stdout(), "%d\n", s.srv.GetTokenCalls())
	default:
		ts.Fatalf("threadsnode: unknown verb %q", verb)
	}
}

func startServer(ts *testscript.TestScript, s *scriptServer) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := testnode.Start(ctx, s.opts)
	ts.Check(err)
	s.srv = srv
	s.opts.Addr = srv.Addr // a restart takes the same port back
}

// blackhole NAME listens on 127.0.0.1:0, accepts connections and never answers, and sets
// $NAME_ADDR: a server that is there but never replies.
func cmdBlackhole(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: blackhole NAME")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ts.Defer(func() {
		_ = lis.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	ts.Setenv(strings.ToUpper(args[0])+"_ADDR", lis.Addr().String())
}

// jsonfield PATH VAR sets $VAR to a string field of the JSON object in the last command's
// stdout; PATH is dot-separated, with numbers indexing arrays (addrs.0).
func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonfield PATH VAR")
	}
	var v any
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &v); err != nil {
		ts.Fatalf("jsonfield: stdout is not JSON: %v", err)
	}
	for _, part := range strings.Split(args[0], ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("jsonfield: no element %q in %s", part, args[0])
			}
			v = x[i]
		default:
			ts.Fatalf("jsonfield: %s: cannot index %T with %q", args[0], v, part)
		}
	}
	s, ok := v.(string)
	if !ok {
		ts.Fatalf("jsonfield: %s is %T, not a string", args[0], v)
	}
	ts.Setenv(args[1], s)
}

// holdlock DIR takes the embedded node's directory lock in DIR for the rest of the script,
// as a long-running hubctl would.
func cmdHoldLock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: holdlock DIR")
	}
	lock, err := node.Lock(context.Background(), ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Defer(func() { _ = lock.Unlock() })
}

// damagestore NODEDIR DB COLLECTION writes into a closed store what hubctl at 654c7ed let
// one instance save do: an instance over the collection's schema (testnode.Damage).
func cmdDamageStore(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: damagestore NODEDIR DB COLLECTION")
	}
	id, err := thread.Decode(args[1])
	ts.Check(err)
	ts.Check(testnode.Damage(ts.MkAbs(args[0]), id, args[2]))
}

// sleep DURATION pauses the script, to let a background command reach the state under
// test (a signal sent before hubctl installs its handler would test nothing).
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}
