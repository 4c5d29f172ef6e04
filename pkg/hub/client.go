package hub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// DefaultTimeout bounds dials and calls when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// maxMessageSize lets large queries through; gRPC's 4 MiB default is small for ThreadDB.
// A variable only so that a test can meet it with a few MiB rather than 64.
var maxMessageSize = 64 << 20

// Identity is the user a token is fetched for. The private key is loaded only when a token
// must be fetched, so a cached token never costs a passphrase prompt.
type Identity struct {
	Name      string
	PublicKey string // thread.Libp2pPubKey string form
	Load      func() (crypto.PrivKey, error)
}

// LocalServer is an in-process server (the embedded node) dialed like a remote one.
type LocalServer interface {
	DialContext(ctx context.Context) (net.Conn, error)
	Close() error
}

// Options configure a Client.
type Options struct {
	Target  Target
	Auth    Auth
	Timeout time.Duration
	// Token, when set, is sent as is: no identity, no cache, no GetToken.
	Token string
	// Tokens caches user tokens; nil disables caching.
	Tokens *TokenCache
	// CacheName names the target in the token cache (Target.Addr when empty). The embedded
	// node's is its directory, since each directory is a node with its own host key.
	CacheName string
	// Identity resolves the user; called at most once, on the first call that needs a token.
	Identity func() (Identity, error)
	// Local opens the in-process server when the target is embedded; called at most once.
	Local func(ctx context.Context) (LocalServer, error)
	// Warn prints a warning on stderr.
	Warn func(format string, args ...any)
}

// Client is one lazily dialed connection, shared by every call a command makes.
type Client struct {
	opts Options

	mu      sync.Mutex
	conn    *grpc.ClientConn
	threads pb.APIClient
	net     netpb.APIClient
	local   LocalServer

	identity *Identity
	token    thread.Token
	cached   bool // token came from the cache
	// reused: the token userToken last returned was not fetched for the call at hand (it
	// came from the cache or an earlier call), so a refusal may mean it is stale: the
	// server was reset (new host key), the token expired, or it was issued through
	// another API key.
	reused bool
	// plainFind: the server has no MethodFindInstances (plain go-threads), so queries
	// are evaluated here.
	plainFind atomic.Bool
}

// New checks the options; it dials nothing.
func New(opts Options) (*Client, error) {
	if err := opts.Auth.Validate(); err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.CacheName == "" {
		opts.CacheName = opts.Target.Addr
	}
	if opts.Warn == nil {
		opts.Warn = func(string, ...any) {}
	}
	return &Client{opts: opts}, nil
}

// Target is where the client's calls go.
func (c *Client) Target() Target { return c.opts.Target }

// Conn dials (or opens the embedded node) on first use and returns the shared connection.
//
// The dial does not wait for the connection: the command reads its token from the cache
// while TCP and HTTP/2 set up. Calls are fail-fast, so a refused connection or a failed
// TLS handshake fails the first call at once with its reason, and a server that never
// answers fails it when the call's --timeout deadline passes.
func (c *Client) Conn(ctx context.Context) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		return c.conn, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	c.threads = pb.NewAPIClient(conn)
	c.net = netpb.NewAPIClient(conn)
	return conn, nil
}

func (c *Client) dial(ctx context.Context) (*grpc.ClientConn, error) {
	t := c.opts.Target
	opts := []grpc.DialOption{
		grpc.WithPerRPCCredentials(common.Credentials{}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
	}
	target := t.Addr
	if t.Embedded() {
		if c.opts.Local == nil {
			return nil, errors.New("no server is configured: set --api HOST:PORT")
		}
		local, err := c.opts.Local(ctx)
		if err != nil {
			return nil, err
		}
		c.local = local
		target = "passthrough:///embedded"
		opts = append(opts,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return local.DialContext(ctx) }))
	} else {
		creds, err := c.transportCredentials()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(creds))
	}
	conn, err := grpc.DialContext(ctx, target, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", t, err)
	}
	return conn, nil
}

func (c *Client) transportCredentials() (credentials.TransportCredentials, error) {
	t := c.opts.Target
	if !t.TLS {
		return insecure.NewCredentials(), nil
	}
	host, _, _ := net.SplitHostPort(t.Addr)
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: read --ca-file: %v", ErrInvalidTarget, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: --ca-file %s holds no PEM certificates", ErrInvalidTarget, t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.Insecure {
		cfg.InsecureSkipVerify = true
		c.opts.Warn("--insecure: the TLS certificate of %s is not verified; anyone on the path can read and change this traffic", t.Addr)
	}
	return credentials.NewTLS(cfg), nil
}

// Threads returns the go-threads API stub over the shared connection.
func (c *Client) Threads(ctx context.Context) (pb.APIClient, error) {
	if _, err := c.Conn(ctx); err != nil {
		return nil, err
	}
	return c.threads, nil
}

// Call runs fn with a context carrying the Hub's API key and signature and a user token, and
// bounded by the timeout. When the server refuses a token that came from the cache or an
// earlier call (a server that was reset has a new host key; a token can expire, and is
// bound to the API key it was fetched through), it fetches a fresh one and calls fn once
// more.
func (c *Client) Call(ctx context.Context, fn func(ctx context.Context, api pb.APIClient) error) error {
	return c.authorized(ctx, func(ctx context.Context) error { return fn(ctx, c.threads) })
}

// CallNet is Call for the go-threads net API, which the same servers serve on the same
// connection.
func (c *Client) CallNet(ctx context.Context, fn func(ctx context.Context, api netpb.APIClient) error) error {
	return c.authorized(ctx, func(ctx context.Context) error { return fn(ctx, c.net) })
}

func (c *Client) authorized(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, err := c.Conn(ctx); err != nil {
		return err
	}
	tok, err := c.userToken(ctx, false)
	if err != nil {
		return err
	}
	err = c.call(ctx, tok, fn)
	if err != nil && c.reused && tokenRejected(err) {
		if tok, err = c.userToken(ctx, true); err != nil {
			return err
		}
		err = c.call(ctx, tok, fn)
	}
	return classify(ctx, c.opts.Target, c.opts.Timeout, err)
}

func (c *Client) call(ctx context.Context, tok thread.Token, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx, err := c.opts.Auth.Context(ctx)
	if err != nil {
		return err
	}
	return fn(withToken(ctx, tok))
}

// TokenInfo is a user token and whom it is for.
type TokenInfo struct {
	Token     string
	Identity  string // empty when the token came from --token
	PublicKey string
	Cached    bool
}

// Token returns the user token calls carry: --token as is, else the cached one for this
// target, API key and identity unless it has expired, else a fresh one from GetToken
// (stored in the cache). refresh skips the cache.
func (c *Client) Token(ctx context.Context, refresh bool) (TokenInfo, error) {
	if _, err := c.Conn(ctx); err != nil {
		return TokenInfo{}, err
	}
	tok, err := c.userToken(ctx, refresh)
	if err != nil {
		return TokenInfo{}, err
	}
	info := TokenInfo{Token: string(tok), Cached: c.cached}
	if c.identity != nil {
		info.Identity, info.PublicKey = c.identity.Name, c.identity.PublicKey
	}
	return info, nil
}

func (c *Client) userToken(ctx context.Context, refresh bool) (thread.Token, error) {
	c.reused = false
	if c.opts.Token != "" {
		return thread.Token(c.opts.Token), nil
	}
	if c.token != "" && !refresh && !expired(string(c.token)) {
		c.reused = true
		return c.token, nil
	}
	if c.identity == nil {
		if c.opts.Identity == nil {
			return "", nil
		}
		id, err := c.opts.Identity()
		if err != nil {
			return "", err
		}
		c.identity = &id
	}
	id := c.identity
	if !refresh {
		tok, err := c.opts.Tokens.Get(c.cacheTarget(), id.PublicKey)
		if err != nil {
			return "", err
		}
		if tok != "" && !expired(tok) {
			c.token, c.cached, c.reused = thread.Token(tok), true, true
			return c.token, nil
		}
	}
	sk, err := id.Load()
	if err != nil {
		return "", err
	}
	var tok thread.Token
	err = c.call(ctx, "", func(ctx context.Context) error {
		var err error
		tok, err = getToken(ctx, c.threads, sk)
		return err
	})
	if err = classify(ctx, c.opts.Target, c.opts.Timeout, err); err != nil {
		// An unreachable server and a refused API key read as they do for any call:
		// that the call was a GetToken adds nothing to the fix.
		var ue *UnreachableError
		var se *ServerError
		if errors.As(err, &ue) || errors.As(err, &se) && se.Class == ErrAuth && isAPIKeyMessage(se.Msg) {
			return "", err
		}
		return "", fmt.Errorf("get a token for identity %s: %w", id.Name, err)
	}
	c.token, c.cached = tok, false
	if err := c.opts.Tokens.Put(CachedToken{
		Target: c.cacheTarget(), Identity: id.Name, PublicKey: id.PublicKey,
		Token: string(tok), Obtained: time.Now().UTC(),
	}); err != nil {
		return "", err
	}
	return tok, nil
}

// cacheTarget names the target and the API key in the token cache: hubctl's servers bind
// a token to the key it was fetched through, so each key (a --profile switch, say) keeps
// its own entry rather than each replacing the other's. API keys are not secret.
func (c *Client) cacheTarget() string {
	if c.opts.Auth.Key == "" {
		return c.opts.CacheName
	}
	return c.opts.CacheName + " key=" + c.opts.Auth.Key
}

// expired reports whether tok's exp claim (when it has one) has passed by this machine's
// clock: such a token is fetched again rather than sent. A server whose clock is ahead
// refuses it first; that refusal is retried like any other stale token.
func expired(tok string) bool {
	cl, err := InspectToken(tok)
	return err == nil && !cl.Expires.IsZero() && !time.Now().Before(cl.Expires)
}

// Close closes the connection, then the embedded node if one was opened (after the
// connection, so no call is left in flight when its stores close).
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	if c.conn != nil {
		errs = append(errs, c.conn.Close())
		c.conn = nil
	}
	if c.local != nil {
		errs = append(errs, c.local.Close())
		c.local = nil
	}
	return errors.Join(errs...)
}
