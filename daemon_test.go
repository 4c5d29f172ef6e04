package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/jsonschema"
	mbase "github.com/multiformats/go-multibase"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"nhooyr.io/websocket"

	"github.com/hubctl/hubctl/pkg/server"
)

// daemonstate DATA-DIR [PREFIX] waits for a daemon started in the background on
// DATA-DIR to write its state file, then sets PREFIX_API, PREFIX_WEB, PREFIX_GATEWAY
// (empty when it serves no gateway), PREFIX_PID,
// PREFIX_PEER, PREFIX_HOST (its first libp2p listen address, with /p2p/ID) and
// PREFIX_HOSTPORT (that address's TCP port); PREFIX is DAEMON by default.
// `! daemonstate DATA-DIR` checks that no live daemon's state file is there.
func cmdDaemonState(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: daemonstate DATA-DIR [PREFIX]")
	}
	dir := ts.MkAbs(args[0])
	prefix := "DAEMON"
	if len(args) == 2 {
		prefix = args[1]
	}
	if neg {
		if st, ok := server.Running(dir); ok {
			ts.Fatalf("daemonstate: a daemon (pid %d) is still recorded in %s", st.PID, dir)
		}
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, ok := server.Running(dir); ok {
			ts.Setenv(prefix+"_API", st.API)
			ts.Setenv(prefix+"_WEB", st.Web)
			ts.Setenv(prefix+"_GATEWAY", st.Gateway) // "" when it serves none
			ts.Setenv(prefix+"_PID", strconv.Itoa(st.PID))
			ts.Setenv(prefix+"_PEER", st.PeerID)
			if len(st.Listen) > 0 {
				ts.Setenv(prefix+"_HOST", st.Listen[0])
				if m := regexp.MustCompile(`/tcp/(\d+)/`).FindStringSubmatch(st.Listen[0]); m != nil {
					ts.Setenv(prefix+"_HOSTPORT", m[1])
				}
			}
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("daemonstate: no daemon state in %s after 60s", dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually [-lines N | -match REGEX] TIMEOUT PROG ARGS... runs PROG until its standard
// output has N non-empty lines, or matches REGEX, and fails with the last output when
// TIMEOUT passes first: a bounded wait for replication, which converges in its own time.
func cmdEventually(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("eventually", flag.ContinueOnError)
	lines := fs.Int("lines", -1, "wanted number of non-empty stdout lines")
	match := fs.String("match", "", "regular expression stdout must match")
	if neg || fs.Parse(args) != nil || fs.NArg() < 2 || (*lines < 0) == (*match == "") {
		ts.Fatalf("usage: eventually [-lines N | -match REGEX] TIMEOUT PROG ARGS...")
	}
	timeout, err := time.ParseDuration(fs.Arg(0))
	if err != nil {
		ts.Fatalf("eventually: bad timeout %q", fs.Arg(0))
	}
	var rx *regexp.Regexp
	if *match != "" {
		rx = regexp.MustCompile(*match)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := ts.Exec(fs.Arg(1), fs.Args()[2:]...)
		out := ts.ReadFile("stdout")
		got := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.TrimSpace(l) != "" {
				got++
			}
		}
		if err == nil && ((rx != nil && rx.MatchString(out)) || (rx == nil && got == *lines)) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("eventually: after %s, %s %s still gives (%d lines, err %v):\n%s\nstderr: %s",
				timeout, fs.Arg(1), strings.Join(fs.Args()[2:], " "), got, err, lastLines(out, 5), ts.ReadFile("stderr"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// hubclient [-key K] [-secret S] [-date OFFSET|js] ADDR OP ARGS... calls the daemon with
// the Hub's own Go clients (go-threads api/client with textile's common.Credentials), as
// code written for the hosted Hub does. -date signs a date OFFSET from now (default
// +30m); "js" signs it the way the JS clients format it, with milliseconds. Ops:
//
//	listdbs                   prints how many DBs the caller sees
//	newdb NAME                creates a DB and prints its ID
//	collection DB NAME        creates a collection with a permissive schema
//	create DB COLL N          creates N instances in one call
//	count DB COLL             prints the number of instances
//
// A refused call prints "CODE: message" to stderr and fails (use ! to expect it).
func cmdHubClient(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("hubclient", flag.ContinueOnError)
	key := fs.String("key", "", "API key")
	secret := fs.String("secret", "", "API secret")
	date := fs.String("date", "+30m", "signature date offset, or js")
	if err := fs.Parse(args); err != nil || fs.NArg() < 2 {
		ts.Fatalf("usage: hubclient [-key K] [-secret S] [-date OFFSET|js] ADDR OP ARGS...")
	}
	addr, op, rest := fs.Arg(0), fs.Arg(1), fs.Args()[2:]
	c, err := client.NewClient(addr, grpc.WithInsecure(), grpc.WithPerRPCCredentials(common.Credentials{}))
	if err != nil {
		ts.Fatalf("hubclient: %v", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if *key != "" {
		ctx = common.NewAPIKeyContext(ctx, *key)
	}
	if *secret != "" {
		if ctx, err = signed(ctx, *secret, *date); err != nil {
			ts.Fatalf("hubclient: %v", err)
		}
	}
	out, err := hubClientOp(ctx, c, op, rest)
	if err != nil {
		if _, ok := status.FromError(err); !ok {
			ts.Fatalf("hubclient %s: %v", op, err)
		}
		st := status.Convert(err)
		fmt.Fprintf(ts.Stderr(), "%s: %s\n", st.Code(), st.Message())
		if !neg {
			ts.Fatalf("hubclient %s refused: %s: %s", op, st.Code(), st.Message())
		}
		return
	}
	if neg {
		ts.Fatalf("hubclient %s succeeded unexpectedly", op)
	}
	fmt.Fprintln(ts.Stdout(), out)
}

// signed adds a signature whose date is offset from now, formatted as Go clients do
// (whole seconds) or, with "js", as the JS clients do (milliseconds).
func signed(ctx context.Context, secret, offset string) (context.Context, error) {
	layout, when := time.RFC3339, 30*time.Minute
	if offset == "js" {
		layout = "2006-01-02T15:04:05.000Z07:00"
	} else {
		d, err := time.ParseDuration(offset)
		if err != nil {
			return nil, err
		}
		when = d
	}
	if layout == time.RFC3339 {
		return common.CreateAPISigContext(ctx, time.Now().Add(when), secret)
	}
	_, sec, err := mbase.Decode(secret)
	if err != nil {
		return nil, err
	}
	msg := time.Now().Add(when).UTC().Format(layout)
	mac := hmac.New(sha256.New, sec)
	mac.Write([]byte(msg))
	sig, _ := mbase.Encode(mbase.Base32, mac.Sum(nil))
	return metadata.AppendToOutgoingContext(ctx, "x-textile-api-sig", sig, "x-textile-api-sig-msg", msg), nil
}

func hubClientOp(ctx context.Context, c *client.Client, op string, args []string) (string, error) {
	need := map[string]int{"listdbs": 0, "newdb": 1, "collection": 2, "create": 3, "count": 2}
	n, ok := need[op]
	if !ok || len(args) != n {
		return "", fmt.Errorf("unknown op or wrong arguments: %s %v", op, args)
	}
	var id thread.ID
	if op != "listdbs" && op != "newdb" {
		var err error
		if id, err = thread.Decode(args[0]); err != nil {
			return "", err
		}
	}
	switch op {
	case "listdbs":
		dbs, err := c.ListDBs(ctx)
		return strconv.Itoa(len(dbs)), err
	case "newdb":
		id := thread.NewIDV1(thread.Raw, 32)
		return id.String(), c.NewDB(ctx, id, db.WithNewManagedName(args[0]))
	case "collection":
		return args[1], c.NewCollection(ctx, id, db.CollectionConfig{Name: args[1], Schema: jsonschema.Reflect(&scriptDoc{})})
	case "create":
		count, err := strconv.Atoi(args[2])
		if err != nil {
			return "", err
		}
		docs := make([]any, count)
		for i := range docs {
			docs[i] = &scriptDoc{N: i, Note: strings.Repeat("x", 64)}
		}
		ids, err := c.Create(ctx, id, args[1], docs)
		return strconv.Itoa(len(ids)), err
	case "count":
		res, err := c.Find(ctx, id, args[1], &db.Query{}, &scriptDoc{})
		if err != nil {
			return "", err
		}
		return strconv.Itoa(len(res.([]*scriptDoc))), nil
	}
	return "", nil
}

// scriptDoc is the schema of the instances hubclient writes.
type scriptDoc struct {
	ID   string `json:"_id"`
	N    int    `json:"n"`
	Note string `json:"note"`
}

// term PID sends SIGTERM (testscript's kill knows only INT and KILL).
func cmdTerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: term PID")
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("term: bad pid %q", args[0])
	}
	p, err := os.FindProcess(pid)
	if err == nil {
		err = p.Signal(syscall.SIGTERM)
	}
	if err != nil {
		ts.Fatalf("term %d: %v", pid, err)
	}
}

// waitfor FILE REGEXP waits (up to a minute) until FILE exists and matches REGEXP: for the
// output of a background command that redirects to a file.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	if err != nil {
		ts.Fatalf("waitfor: %v", err)
	}
	path := ts.MkAbs(args[0])
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(path); err == nil && re.Match(data) {
			return
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(path)
			ts.Fatalf("waitfor: %s does not match %q after a minute; it holds:\n%s", args[0], args[1], data)
		}
	}
}

// gendocs N FILE writes N JSON Lines documents {"n":I,"text":"..."} of about 100 bytes.
func cmdGenDocs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: gendocs N FILE")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("gendocs: bad count %q", args[0])
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "{\"n\":%d,\"text\":\"document %d of a test import, long enough to be realistic\"}\n", i, i)
	}
	if err := os.WriteFile(ts.MkAbs(args[1]), []byte(b.String()), 0o644); err != nil {
		ts.Fatalf("gendocs: %v", err)
	}
}

// tmpfsOK reports whether this process may mount a tmpfs (root on Linux): the full-disk
// scripts need one and are skipped elsewhere ([!tmpfs] skip).
var tmpfsOK = sync.OnceValue(func() bool {
	dir, err := os.MkdirTemp("", "hubctl-tmpfs-check-")
	if err != nil {
		return false
	}
	defer os.Remove(dir)
	if exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).Run() != nil {
		return false
	}
	_ = exec.Command("umount", dir).Run()
	return true
})

// tmpfs DIR SIZE mounts a tmpfs of SIZE (mount's size=, e.g. 20m) on DIR for the rest of
// the script: a disk that really fills up. Guard the script with [!tmpfs] skip.
func cmdTmpfs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: tmpfs DIR SIZE")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+args[1]+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		ts.Fatalf("tmpfs: mount on %s: %v: %s", dir, err, strings.TrimSpace(string(out)))
	}
	// Lazily (-l): a process that failed to close its stores may still hold files there
	// for a moment; testscript then removes $WORK as usual.
	ts.Defer(func() { _ = exec.Command("umount", "-l", dir).Run() })
}

// fill FILE [FREE] fills the file system holding FILE by writing FILE until the write
// fails with no space left, then gives back FREE bytes (a size such as 8k; default 0).
func cmdFill(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: fill FILE [FREE]")
	}
	var free int64
	if len(args) == 2 {
		s := strings.ToLower(args[1])
		mult := int64(1)
		if strings.HasSuffix(s, "k") {
			s, mult = strings.TrimSuffix(s, "k"), 1024
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			ts.Fatalf("fill: bad size %q", args[1])
		}
		free = n * mult
	}
	f, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	buf := make([]byte, 64<<10)
	var size int64
	for {
		n, err := f.Write(buf)
		size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		ts.Check(err)
	}
	if free > size {
		ts.Fatalf("fill: the disk had only %d bytes free, not %d", size, free)
	}
	ts.Check(f.Truncate(size - free))
}

// stalestate DATA-DIR writes the state file a daemon killed long ago would have left,
// with the pid of a live process that is no daemon (this test's) and an API address
// nothing listens on: what a daemon.json looks like after a reboot.
func cmdStaleState(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stalestate DATA-DIR")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	addr := lis.Addr().String()
	ts.Check(lis.Close())
	data, err := json.Marshal(server.State{PID: os.Getpid(), API: addr, Web: addr, Auth: "keys", Started: time.Now().UTC()})
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	ts.Check(os.WriteFile(server.StatePath(dir), data, 0o600))
}

// wsdrop ADDR N opens N grpc-web websockets to ADDR and drops them as clients that go away
// do: half before sending anything, half in the middle of a call's message.
func cmdWSDrop(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: wsdrop ADDR N")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("wsdrop: bad count %q", args[1])
	}
	for i := 0; i < n; i++ {
		var conn net.Conn
		transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			conn = c
			return c, err
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ws, _, err := websocket.Dial(ctx, "ws://"+args[0]+"/threads.pb.API/ListDBs", &websocket.DialOptions{
			Subprotocols: []string{"grpc-websockets"}, HTTPClient: &http.Client{Transport: transport}})
		if err != nil {
			cancel()
			ts.Fatalf("wsdrop: %v", err)
		}
		if i%2 == 1 {
			_ = ws.Write(ctx, websocket.MessageBinary, []byte("content-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\n"))
			_ = ws.Write(ctx, websocket.MessageBinary, []byte{0, 0, 0, 0, 1, 0})
		}
		// Gone without a close frame: the TCP connection just ends.
		_ = conn.Close()
		cancel()
	}
}

// http [-H 'Name: value']... URL makes a GET (bounded by a minute) and prints its status
// code, then its Content-Type, Content-Range and Etag headers when set, a blank line and
// the body: `http -H 'Range: bytes=0-4' http://$DAEMON_GATEWAY/ipns/$KEY/f.txt` then
// `stdout '^206$'`, `stdout '^Content-Range: bytes 0-4/'`.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! http (match the status on stdout)")
	}
	var hdr [][2]string
	for len(args) >= 2 && args[0] == "-H" {
		k, v, ok := strings.Cut(args[1], ":")
		if !ok {
			ts.Fatalf("http: -H wants 'Name: value', not %q", args[1])
		}
		hdr = append(hdr, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		args = args[2:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: http [-H 'Name: value']... URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	ts.Check(err)
	for _, h := range hdr {
		req.Header.Set(h[0], h[1])
	}
	res, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	ts.Check(err)
	out := ts.Stdout()
	fmt.Fprintf(out, "%d\n", res.StatusCode)
	for _, k := range []string{"Content-Type", "Content-Range", "Etag"} {
		if v := res.Header.Get(k); v != "" {
			fmt.Fprintf(out, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(out)
	out.Write(body)
}
