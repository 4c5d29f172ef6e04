package cmd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/config"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
	"github.com/hubctl/hubctl/pkg/server"
)

type daemonOptions struct {
	apiAddr, webAddr, hostAddr string
	gatewayAddr, gatewayURL    string
	corsOrigins                []string
	bootstrap                  []string
	announceAddrs              []string
	includePrivateAddrs        bool
	pullInterval               time.Duration
	auth                       string
	maxSigTTL                  time.Duration
	shutdownTimeout            time.Duration
	noConfig                   bool
	maxMessageSize             string
	maxStreams                 uint32
	idleTimeout                time.Duration
	tokenTTL                   time.Duration
	maxDBsPerIdentity          int
	maxDBsPerKey               int
	maxCollectionsPerDB        int
	userDial                   []string
	gcPercent                  int
	gcFromEnv                  bool // GOGC is set and --gc-percent was not given
	blockGCInterval            time.Duration
	storagePerIdentity         string
}

func newDaemonCmd(f *Factory) *cobra.Command {
	o := &daemonOptions{}
	c := &cobra.Command{
		Use:   "daemon",
		Short: "Run a self-hosted Hub: the ThreadDB API with Hub API keys and per-user databases",
		Long: `Run a self-hosted Hub in the foreground: a ThreadDB node stored in --data-dir, serving
the threads, net and Hub users APIs over gRPC (--api-addr) and grpc-web with websockets
for browser and Node clients (--web-addr), with the Hub's API key checks, and buckets'
public content over HTTP (--gateway-addr: /thread/DB/buckets/KEY/PATH, /ipns/KEY/PATH,
/ipfs/CID/PATH), from the daemon's own blocks only.

Every call needs an API key (see 'hubctl keys'); a secure key also needs a signature. A
user token's identity owns the databases it creates or joins: with a user key, callers
see and touch only their own databases; an account key sees them all. On its first start
with no keys the daemon creates a user key and saves it in the hubctl config, in a new
profile of its own ("local" for the default data directory, local-DIR for another; it
never writes into a profile that exists), made current if none was.

While it runs, hubctl commands without --api use it (it writes DATA-DIR/daemon.json).
Ctrl-C or SIGTERM stops it gracefully; a second signal stops it at once. Ports of 0
pick free ports.

Peers: the libp2p host listens on --host-addr. Peers are told --announce-addr when given,
otherwise the listen addresses peers elsewhere can dial: loopback and private addresses
are left out (and so out of 'db info --invite') unless --include-private-addrs. The
daemon never contacts peers other than those given with --bootstrap or named by the
databases it holds, and pulls every database from its peers each --pull-interval.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.gcFromEnv = !cmd.Flags().Changed("gc-percent") && os.Getenv("GOGC") != ""
			return runDaemon(cmd.Context(), f, o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.apiAddr, "api-addr", server.DefaultAPIAddr, "gRPC listen address HOST:PORT")
	fl.StringVar(&o.webAddr, "web-addr", server.DefaultWebAddr, "grpc-web listen address HOST:PORT")
	fl.StringVar(&o.gatewayAddr, "gateway-addr", server.DefaultGatewayAddr, "buckets gateway (HTTP) listen address HOST:PORT (\"\": no gateway)")
	fl.StringVar(&o.gatewayURL, "gateway-url", "", "URL of the gateway in the bucket links the daemon reports (default http:// and --gateway-addr; set it behind a proxy or on 0.0.0.0)")
	fl.StringVar(&o.hostAddr, "host-addr", server.DefaultHostAddr, "libp2p host listen multiaddr")
	fl.StringSliceVar(&o.corsOrigins, "cors-origin", nil, "browser origin allowed on --web-addr (repeatable; default any)")
	fl.StringSliceVar(&o.bootstrap, "bootstrap", nil, "peer multiaddr with /p2p/ID to connect to at start (repeatable; default none)")
	fl.StringSliceVar(&o.announceAddrs, "announce-addr", nil, "multiaddr peers reach this daemon at, announced instead of --host-addr (repeatable)")
	fl.BoolVar(&o.includePrivateAddrs, "include-private-addrs", false, "also announce loopback and private addresses (peers on this machine or network)")
	fl.DurationVar(&o.pullInterval, "pull-interval", node.DefaultPullInterval, "how often every database is pulled from its peers")
	fl.StringVar(&o.auth, "auth", "keys", "keys: the Hub's API key checks; none: no checks, like threadsd")
	fl.DurationVar(&o.maxSigTTL, "max-sig-ttl", hubauth.DefaultMaxSigTTL, "refuse API signatures dated further ahead than this")
	fl.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long a stop may take: calls in flight get 3/4 of it, the stores' close the rest")
	fl.BoolVar(&o.noConfig, "no-config", false, "do not save a first key in the hubctl config")
	fl.StringVar(&o.maxMessageSize, "max-message-size", humanize.IBytes(server.DefaultMaxMessageSize), "largest gRPC message either way, on every transport (e.g. 4MiB, 64MiB)")
	fl.Uint32Var(&o.maxStreams, "max-streams", server.DefaultMaxStreams, "calls in progress at once on one connection")
	fl.DurationVar(&o.idleTimeout, "idle-timeout", server.DefaultIdleTimeout, "close connections with no call in progress after this long")
	fl.DurationVar(&o.tokenTTL, "token-ttl", 0, "lifetime of the user tokens GetToken issues (0: they never expire)")
	fl.IntVar(&o.maxDBsPerIdentity, "max-dbs-per-identity", hubauth.DefaultDBsPerIdentity, "databases and threads one identity with a user key may own (0: no limit)")
	fl.IntVar(&o.maxDBsPerKey, "max-dbs-per-key", hubauth.DefaultDBsPerKey, "databases and threads the identities of one user key may own together (0: no limit)")
	fl.IntVar(&o.maxCollectionsPerDB, "max-collections-per-db", hubauth.DefaultCollectionsPerDB, "collections in one database of a user key's identity (0: no limit)")
	fl.IntVar(&o.gcPercent, "gc-percent", server.DefaultGCPercent, "garbage collection target, as GOGC: the heap may grow this many percent over what is live before a collection (GOGC in the environment wins unless this is given)")
	fl.DurationVar(&o.blockGCInterval, "gc-interval", server.DefaultGCInterval, "how often blocks no bucket and no thread needs are freed (0: never on a schedule; hubctl bucket gc runs it now)")
	fl.StringVar(&o.storagePerIdentity, "storage-per-identity", "0", "bytes the buckets of one identity may hold, e.g. 10GiB (0: no limit); a push past it fails with \"storage quota exhausted\"")
	fl.StringSliceVar(&o.userDial, "user-dial", nil, "networks (CIDR), addresses, public or none that calls with a user key may make the daemon dial to join or replicate (repeatable; default any address)")
	return c
}

func runDaemon(ctx context.Context, f *Factory, o *daemonOptions) error {
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	mode, err := hubauth.ParseMode(o.auth)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if o.maxSigTTL <= 0 {
		return usageErrorf("--max-sig-ttl must be positive")
	}
	if o.shutdownTimeout <= 0 {
		return usageErrorf("--shutdown-timeout must be positive")
	}
	if o.pullInterval < time.Second {
		return usageErrorf("--pull-interval must be at least 1s")
	}
	if _, err := ma.NewMultiaddr(o.hostAddr); err != nil {
		return usageErrorf("invalid --host-addr %q: %v (e.g. /ip4/0.0.0.0/tcp/4006)", o.hostAddr, err)
	}
	if err := node.ValidateAnnounceAddrs(o.announceAddrs); err != nil {
		return usageErrorf("%v", err)
	}
	limits, err := o.limits()
	if err != nil {
		return err
	}
	if o.blockGCInterval < 0 {
		return usageErrorf("--gc-interval must be 0 (no scheduled collection) or positive, e.g. 1h")
	}
	storage, err := humanize.ParseBytes(o.storagePerIdentity)
	if err != nil || storage > math.MaxInt64 {
		return usageErrorf("invalid --storage-per-identity %q: give a size such as 10GiB, or 0 for no limit", o.storagePerIdentity)
	}
	gatewayURL, err := checkGatewayURL(o.gatewayURL)
	if err != nil {
		return err
	}
	quotas, err := o.quotas()
	if err != nil {
		return err
	}
	if o.gcPercent < 1 || o.gcPercent > 1000 {
		return usageErrorf("--gc-percent must be between 1 and 1000 (the default is %d)", server.DefaultGCPercent)
	}
	if !o.gcFromEnv { // the runtime has applied GOGC otherwise
		debug.SetGCPercent(o.gcPercent)
	}
	userDial, err := server.ParseDialPolicy(o.userDial)
	if err != nil {
		return usageErrorf("invalid --user-dial: %v", err)
	}
	// Signals are taken here rather than from ctx: the first starts a graceful stop, the
	// second cuts it short.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	opts := server.DaemonOptions{
		DataDir: cfg.DataDir, APIAddr: o.apiAddr, WebAddr: o.webAddr, HostAddr: o.hostAddr,
		GatewayAddr: o.gatewayAddr, GatewayURL: gatewayURL,
		CORSOrigins: o.corsOrigins, Bootstrap: o.bootstrap, Mode: mode, MaxSigTTL: o.maxSigTTL,
		AnnounceAddrs: o.announceAddrs, IncludePrivateAddrs: o.includePrivateAddrs, PullInterval: o.pullInterval,
		CloseTimeout: o.shutdownTimeout / 4, Debug: cfg.Debug, Warnf: f.IO.Warnf,
		Limits: limits, Quotas: quotas, TokenTTL: o.tokenTTL, UserDial: userDial,
		GCInterval: o.blockGCInterval, StoragePerIdentity: int64(storage),
	}
	var firstKey *hubauth.Key
	if mode == hubauth.AuthKeys {
		reg := hubauth.OpenRegistry(cfg.DataDir)
		if firstKey, err = ensureKey(reg); err != nil {
			return err
		}
		if opts.Keys, err = reg.Watch(runCtx); err != nil {
			return err
		}
	}
	lockCtx, lockCancel := context.WithTimeout(runCtx, cfg.Timeout)
	d, err := server.StartDaemon(lockCtx, opts)
	lockCancel()
	if errors.Is(err, server.ErrRunning) {
		return withCode(ExitError, err)
	}
	if err != nil {
		return err
	}
	st := d.State()
	io := f.IO
	io.Infof("hubctl daemon: serving %s (auth: %s, pid %d)", cfg.DataDir, mode, st.PID)
	io.Infof("  gRPC:      %s", st.API)
	io.Infof("  grpc-web:  %s (websockets too)", st.Web)
	if st.Gateway != "" {
		io.Infof("  gateway:   http://%s", st.Gateway)
		if host, _, err := net.SplitHostPort(st.Gateway); err == nil && gatewayURL == "" && net.ParseIP(host).IsUnspecified() {
			io.Warnf("the gateway listens on every interface (%s), so bucket links would name http://%s, which clients cannot reach: set --gateway-url to the address they use", st.Gateway, st.Gateway)
		}
	}
	io.Infof("  peer ID:   %s", st.PeerID)
	for _, a := range st.Listen {
		io.Infof("  host:      %s", a)
	}
	for _, a := range st.HostAddrs {
		io.Infof("  announced: %s", a)
	}
	if len(st.HostAddrs) == 0 {
		io.Infof("  announced: none: peers elsewhere cannot reach loopback or private addresses (see --announce-addr, --include-private-addrs)")
	}
	if mode == hubauth.AuthNone {
		io.Warnf("--auth none: anyone who can reach %s or %s can list, read and delete every database", st.API, st.Web)
	}
	if firstKey != nil {
		reportFirstKey(f, cfg, o, *firstKey, st)
	}
	io.Infof("Ready. Ctrl-C stops it.")

	select {
	case <-sigs:
	case err := <-d.Failed():
		io.Warnf("%v; stopping", err)
	}
	io.Infof("Stopping: finishing calls in flight (Ctrl-C again to stop at once)...")
	// The whole stop ends by --shutdown-timeout: calls in flight get three quarters of it,
	// the stores' close the rest (CloseTimeout above), and stores that cannot close by
	// then (a full disk, a removed data directory) are left to the end of the process. A
	// second signal cuts both short.
	stopCtx, stopCancel := context.WithTimeout(runCtx, o.shutdownTimeout-opts.CloseTimeout)
	defer stopCancel()
	forced, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case <-sigs:
			close(forced)
			stopCancel()
			d.Abort()
		case <-stopped:
		}
	}()
	err = d.Shutdown(stopCtx)
	close(stopped)
	select {
	case <-forced:
		if err != nil {
			io.Warnf("%v", err)
		}
		io.Infof("Stopped at once; calls still in flight were cut off.")
		return withCode(ExitInterrupted, errSilent)
	default:
	}
	if err != nil {
		// The signal asked for this stop: its failure is an error, not an interruption.
		return finalCode(ExitError, fmt.Errorf("stopped, but not cleanly within --shutdown-timeout %s: %w", o.shutdownTimeout, err))
	}
	io.Infof("Stopped; the stores are closed.")
	return nil
}

// limits reads the connection and message limits.
func (o *daemonOptions) limits() (server.Limits, error) {
	size, err := humanize.ParseBytes(o.maxMessageSize)
	if err != nil || size < minMessageSize || size > maxMessageSize {
		return server.Limits{}, usageErrorf("invalid --max-message-size %q: use a size from %s to %s, e.g. 16MiB", o.maxMessageSize, humanize.IBytes(minMessageSize), humanize.IBytes(maxMessageSize))
	}
	if o.maxStreams == 0 {
		return server.Limits{}, usageErrorf("--max-streams must be at least 1")
	}
	if o.idleTimeout < 2*time.Second {
		return server.Limits{}, usageErrorf("--idle-timeout must be at least 2s")
	}
	return server.Limits{MaxMessageSize: int(size), MaxStreams: o.maxStreams, IdleTimeout: o.idleTimeout}, nil
}

// checkGatewayURL reads --gateway-url: an http or https URL with a host and nothing after
// its path, without the final slash the links are appended to.
func checkGatewayURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", usageErrorf("invalid --gateway-url %q: use an http or https URL without a query, e.g. https://gateway.example.com", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

// Bounds of --max-message-size: below 1 MiB ordinary instances and pulls fail; above
// 1 GiB one message could take the daemon's memory.
const (
	minMessageSize = 1 << 20
	maxMessageSize = 1 << 30
)

// quotas reads the per-identity limits; 0 on the command line means no limit.
func (o *daemonOptions) quotas() (hubauth.Quotas, error) {
	unlimited := func(flag string, n int) (int, error) {
		switch {
		case n < 0:
			return 0, usageErrorf("--%s must be 0 (no limit) or more", flag)
		case n == 0:
			return -1, nil
		}
		return n, nil
	}
	var q hubauth.Quotas
	var err error
	if q.DBsPerIdentity, err = unlimited("max-dbs-per-identity", o.maxDBsPerIdentity); err != nil {
		return q, err
	}
	if q.DBsPerKey, err = unlimited("max-dbs-per-key", o.maxDBsPerKey); err != nil {
		return q, err
	}
	if q.CollectionsPerDB, err = unlimited("max-collections-per-db", o.maxCollectionsPerDB); err != nil {
		return q, err
	}
	if o.tokenTTL < 0 || (o.tokenTTL > 0 && o.tokenTTL < time.Second) {
		// A token's exp is in whole seconds.
		return q, usageErrorf("--token-ttl must be 0 (no expiry) or at least 1s")
	}
	return q, nil
}

// ensureKey creates a user key when the registry has none, so a first start is usable.
func ensureKey(reg *hubauth.Registry) (*hubauth.Key, error) {
	keys, err := reg.List()
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		return nil, nil
	}
	k, err := reg.Create(hubauth.CreateOptions{Type: hubauth.UserKey, Secure: true, Name: "created by the daemon's first start"})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// reportFirstKey tells the operator about the key the first start created, and saves it
// in the hubctl config as a new profile of its own (config.DaemonProfile: "local" for the
// default data directory), made current only if none was. It never writes into a profile
// that exists: that one may hold another daemon's key. The secret goes to the config file
// (0600), never to the daemon's output, which often ends up in logs.
func reportFirstKey(f *Factory, cfg *config.Config, o *daemonOptions, k hubauth.Key, st server.State) {
	io := f.IO
	io.Infof("Created API key %s (user, secure): there were none in %s.", k.Key, cfg.DataDir)
	if o.noConfig {
		io.Infof("Show its secret with: hubctl keys list --show-secrets --data-dir %s", cfg.DataDir)
		return
	}
	s, err := f.Settings()
	if err != nil {
		io.Warnf("could not save the key in the config: %v", err)
		return
	}
	// The file as it is now: another daemon may have saved its profile since this one
	// read the config at its start.
	file, err := config.ReadFile(s.File.Path)
	if err != nil {
		io.Warnf("could not save the key in the config: %v", err)
		return
	}
	// Commands find the daemon through the state file in their data directory; one with a
	// data directory of its own is pointed at the daemon's address instead.
	def, derr := config.DefaultDataDir()
	isDefault := derr == nil && filepath.Clean(def) == filepath.Clean(cfg.DataDir)
	name, base := config.DaemonProfile(file, cfg.DataDir, isDefault)
	file.Set(name, "key", k.Key)
	file.Set(name, "secret", k.Secret)
	written := "key and secret"
	if !isDefault {
		file.Set(name, "api", st.API)
		written = "key, secret and api " + st.API
	}
	current := file.CurrentProfile()
	if current == "" {
		file.SetCurrentProfile(name)
	}
	if err := file.Save(); err != nil {
		io.Warnf("could not save the key in %s: %v", file.Path, err)
		return
	}
	what := "a new profile with " + written
	if name != base {
		what += fmt.Sprintf(" (the profile %q exists already, and is unchanged)", base)
	}
	if current == "" {
		io.Infof("Saved it in %s as the profile %q, now the current profile (there was none): %s.", file.Path, name, what)
	} else {
		io.Infof("Saved it in %s as the profile %q: %s; the current profile stays %q: use this one with --profile %s, or make it current with hubctl config use %s.",
			file.Path, name, what, current, name, name)
	}
}
