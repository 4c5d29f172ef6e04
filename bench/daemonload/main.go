// Command daemonload measures what the Hub's key checks cost `hubctl daemon` under load:
// C concurrent clients, each a Hub user's code (go-threads api/client with textile's
// common.Credentials), each doing GetToken, NewDB and N creates of one instance. The same
// load runs against a daemon with --auth keys (a secure user key, so every call is
// signature-checked, token-verified and ownership-checked) and one with --auth none, in
// interleaved rounds, each on a fresh data directory. It reports calls per second and
// per-call latency percentiles; the goal is keys costing under 5% of throughput.
//
// With -baseline PATH it compares two builds instead, both with --auth keys: the baseline
// binary against -hubctl, in interleaved rounds, and reports the change in throughput
// (bench/daemonload.sh --baseline REV builds REV for it).
//
// Usage: go run ./bench/daemonload -hubctl PATH [-baseline PATH] [-clients 32] [-creates 100] [-rounds 3]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hubctl/hubctl/bench/internal/stats"
	"github.com/hubctl/hubctl/pkg/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "daemonload:", err)
		os.Exit(1)
	}
}

type result struct {
	calls     int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) perSecond() float64 { return float64(r.calls) / r.elapsed.Seconds() }

func run() error {
	hubctl := flag.String("hubctl", "", "hubctl binary")
	clients := flag.Int("clients", 32, "concurrent clients")
	creates := flag.Int("creates", 100, "creates per client")
	rounds := flag.Int("rounds", 3, "interleaved rounds per mode")
	baseline := flag.String("baseline", "", "another hubctl binary to compare with -hubctl, both with --auth keys")
	flag.Parse()
	if *hubctl == "" || *rounds < 1 {
		return fmt.Errorf("need -hubctl and -rounds >= 1")
	}
	work, err := os.MkdirTemp("", "hubctl-daemonload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// A variant is one binary with one --auth mode; rounds interleave the variants so a
	// busy machine slows each alike.
	type variant struct{ name, binary, auth string }
	variants := []variant{{"keys", *hubctl, "keys"}, {"none", *hubctl, "none"}}
	if *baseline != "" {
		variants = []variant{{"baseline", *baseline, "keys"}, {"this", *hubctl, "keys"}}
	}
	results := map[string][]result{}
	for r := 0; r < *rounds; r++ {
		for _, v := range variants {
			res, err := round(v.binary, filepath.Join(work, fmt.Sprintf("%s-%d", v.name, r)), v.auth, *clients, *creates)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, v.name, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-8s  %6.0f calls/s\n", r+1, v.name, res.perSecond())
			results[v.name] = append(results[v.name], res)
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "build/--auth\tcalls/round\tcalls/s (median round)\tp50\tp99\t\n")
	median := map[string]float64{}
	for _, v := range variants {
		rs := results[v.name]
		sort.Slice(rs, func(i, j int) bool { return rs[i].perSecond() < rs[j].perSecond() })
		m := rs[len(rs)/2]
		median[v.name] = m.perSecond()
		var all []time.Duration
		for _, r := range rs {
			all = append(all, r.latencies...)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t\n", v.name, m.calls, m.perSecond(), stats.Ms(stats.Pct(all, 50)), stats.Ms(stats.Pct(all, 99)))
	}
	tw.Flush()
	first, second := variants[0].name, variants[1].name
	cost := 1 - median[first]/median[second]
	what := "key checks cost"
	if *baseline != "" {
		cost = 1 - median[second]/median[first]
		what = "this build costs, against the baseline,"
	}
	verdict := "met"
	if cost >= 0.05 {
		verdict = "MISSED"
	}
	fmt.Printf("%s %.1f%% of throughput (goal < 5%%: %s)\n", what, 100*cost, verdict)
	return nil
}

// round starts a daemon on a fresh data directory, runs the load, and stops it.
func round(hubctl, dir, mode string, clients, creates int) (result, error) {
	env := append(os.Environ(), "HUBCTL_DATA_DIR="+dir, "HUBCTL_CONFIG="+filepath.Join(dir, "config.yaml"))
	var key, secret string
	if mode == "keys" {
		cmd := exec.Command(hubctl, "keys", "create", "-o", "json")
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			return result{}, fmt.Errorf("keys create: %w", err)
		}
		var k struct{ Key, Secret string }
		if err := json.Unmarshal(out, &k); err != nil {
			return result{}, err
		}
		key, secret = k.Key, k.Secret
	}
	d := exec.Command(hubctl, "daemon", "--auth", mode, "--no-config",
		"--api-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--host-addr", "/ip4/127.0.0.1/tcp/0")
	d.Env = env
	if err := d.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		_ = d.Process.Signal(os.Interrupt)
		_ = d.Wait()
	}()
	var st server.State
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var ok bool
		if st, ok = server.Running(dir); ok {
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("the daemon wrote no state file in 30s")
		}
	}
	return load(st.API, key, secret, clients, creates)
}

var docSchema = jsonschema.Reflect(&doc{})

type doc struct {
	ID   string `json:"_id"`
	N    int    `json:"n"`
	Text string `json:"text"`
}

// load runs the clients at once and times every call.
func load(addr, key, secret string, clients, creates int) (result, error) {
	var (
		mu   sync.Mutex
		res  result
		wg   sync.WaitGroup
		errs = make(chan error, clients)
	)
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat, err := user(addr, key, secret, creates)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return result{}, err
	}
	res.calls = len(res.latencies)
	return res, nil
}

// user is one Hub user's session: its own connection, identity, token and database.
func user(addr, key, secret string, creates int) ([]time.Duration, error) {
	c, err := client.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(common.Credentials{}))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if key != "" {
		ctx = common.NewAPIKeyContext(ctx, key)
		if ctx, err = common.CreateAPISigContext(ctx, time.Now().Add(time.Hour), secret); err != nil {
			return nil, err
		}
	}
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, err
	}
	var lat []time.Duration
	timed := func(f func() error) error {
		t := time.Now()
		err := f()
		lat = append(lat, time.Since(t))
		return err
	}
	var tok thread.Token
	if err := timed(func() (err error) { tok, err = c.GetToken(ctx, thread.NewLibp2pIdentity(sk)); return err }); err != nil {
		return nil, fmt.Errorf("GetToken: %w", err)
	}
	ctx = thread.NewTokenContext(ctx, tok)
	id := thread.NewIDV1(thread.Raw, 32)
	if err := timed(func() error {
		return c.NewDB(ctx, id, db.WithNewManagedToken(tok), db.WithNewManagedCollections(db.CollectionConfig{Name: "docs", Schema: docSchema}))
	}); err != nil {
		return nil, fmt.Errorf("NewDB: %w", err)
	}
	for i := 0; i < creates; i++ {
		if err := timed(func() error {
			_, err := c.Create(ctx, id, "docs", client.Instances{&doc{N: i, Text: "a document of about a hundred bytes, as a Hub user would write"}}, db.WithTxnToken(tok))
			return err
		}); err != nil {
			return nil, fmt.Errorf("Create: %w", err)
		}
	}
	return lat, nil
}
