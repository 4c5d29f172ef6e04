package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/spf13/pflag"

	"github.com/hubctl/hubctl/pkg/config"
	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/iostreams"
	"github.com/hubctl/hubctl/pkg/keystore"
	"github.com/hubctl/hubctl/pkg/node"
	"github.com/hubctl/hubctl/pkg/output"
	"github.com/hubctl/hubctl/pkg/server"
)

// EnvPassphrase supplies the passphrase of encrypted identities non-interactively.
const EnvPassphrase = "HUBCTL_PASSPHRASE"

// Factory builds what commands need, lazily: nothing reads the config file or the keystore
// until a command asks, so `hubctl version` and `--help` touch no files.
type Factory struct {
	IO *iostreams.IOStreams

	globals  *pflag.FlagSet // the root's persistent flags, bound to config keys
	settings *config.Settings
	cfg      *config.Config
	hub      *hub.Client
}

func newFactory(io *iostreams.IOStreams) *Factory { return &Factory{IO: io} }

// Settings loads the config layers once per process.
func (f *Factory) Settings() (*config.Settings, error) {
	if f.settings != nil {
		return f.settings, nil
	}
	path, _ := f.globals.GetString("config")
	profile, _ := f.globals.GetString("profile")
	s, err := config.Load(config.Options{ConfigPath: path, Profile: profile, Flags: f.globals})
	if err != nil {
		return nil, err
	}
	f.settings = s
	return s, nil
}

// Config resolves the typed configuration once per process.
func (f *Factory) Config() (*config.Config, error) {
	if f.cfg != nil {
		return f.cfg, nil
	}
	s, err := f.Settings()
	if err != nil {
		return nil, err
	}
	c, err := s.Resolve()
	if err != nil {
		return nil, err
	}
	f.cfg = c
	return c, nil
}

// Printer returns a printer for the configured output format.
func (f *Factory) Printer() (*output.Printer, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	return f.printerFor(c.Output), nil
}

func (f *Factory) printerFor(format string) *output.Printer {
	p := &output.Printer{W: f.IO.Out, Format: format}
	if f.IO.ColorEnabled() {
		p.Bold = f.IO.Bold
	}
	return p
}

// Keystore opens the configured keystore.
func (f *Factory) Keystore() (*keystore.Store, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	return keystore.Open(c.Keystore), nil
}

// IdentityName is the identity commands act as: --identity (or its env and config forms),
// else the keystore's default.
func (f *Factory) IdentityName() (string, error) {
	c, err := f.Config()
	if err != nil {
		return "", err
	}
	if c.Identity != "" {
		return c.Identity, nil
	}
	ks, err := f.Keystore()
	if err != nil {
		return "", err
	}
	name, err := ks.Default()
	if errors.Is(err, keystore.ErrNoDefault) {
		return "", fmt.Errorf("%w: create one with hubctl identity new, or pick one with --identity NAME", err)
	}
	return name, err
}

// Passphrase returns the passphrase source for identity name: HUBCTL_PASSPHRASE, else a
// terminal prompt without echo (asked twice when a new passphrase is chosen).
func (f *Factory) Passphrase(name string) keystore.PassphraseFunc {
	return func(confirm bool) ([]byte, error) {
		if p := os.Getenv(EnvPassphrase); p != "" {
			return []byte(p), nil
		}
		if !f.IO.IsStdinTTY() {
			return nil, usageErrorf("identity %s needs a passphrase: set %s or run in a terminal", name, EnvPassphrase)
		}
		pass, err := f.IO.ReadSecret(fmt.Sprintf("Passphrase for identity %s: ", name))
		if err != nil {
			return nil, err
		}
		if len(pass) == 0 {
			return nil, usageErrorf("empty passphrase for identity %s", name)
		}
		if confirm {
			again, err := f.IO.ReadSecret("Repeat the passphrase: ")
			if err != nil {
				return nil, err
			}
			if string(again) != string(pass) {
				return nil, usageErrorf("the passphrases do not match")
			}
		}
		return pass, nil
	}
}

// confirm asks before a destructive action: --yes skips the question, a terminal is
// asked, and without a terminal the command refuses rather than waiting for input.
func (f *Factory) confirm(yes bool, question, refusal string) error {
	if yes {
		return nil
	}
	ok, err := f.IO.Confirm(question)
	if errors.Is(err, iostreams.ErrNotInteractive) {
		return usageErrorf("%s without confirmation: pass --yes", refusal)
	}
	if err != nil {
		return err
	}
	if !ok {
		f.IO.Infof("Nothing was changed.")
		return withCode(ExitError, errSilent)
	}
	return nil
}

// Hub returns the process's one client, built on first use. It dials nothing until a call
// is made, so commands that never call the server never open the embedded node.
func (f *Factory) Hub() (*hub.Client, error) {
	if f.hub != nil {
		return f.hub, nil
	}
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	opts, nodeDir, err := hubOptions(c)
	if err != nil {
		return nil, err
	}
	opts.Identity = f.tokenIdentity
	opts.Local = func(ctx context.Context) (hub.LocalServer, error) {
		// The close gets a bound of its own, the same as the call's: a command ends within
		// --timeout plus that, even when its stores cannot close (a full disk).
		return server.OpenEmbedded(ctx, node.Options{
			Dir: nodeDir, Debug: c.Debug, NoNetPulling: true, IncludePrivateAddrs: true, CloseTimeout: c.Timeout,
		})
	}
	opts.Warn = f.IO.Warnf
	client, err := hub.New(opts)
	if err != nil {
		return nil, err
	}
	f.hub = client
	return client, nil
}

// hubOptions resolves where calls go: --api, else a daemon running on the data directory
// (found through its state file), else the embedded node in nodeDir. The options carry the
// target, Hub auth, timeout and token cache; callers add the identity and the local node.
func hubOptions(c *config.Config) (opts hub.Options, nodeDir string, err error) {
	target, err := hub.ParseTarget(c.API, c.TLS, c.CAFile, c.Insecure)
	if err != nil {
		return hub.Options{}, "", err
	}
	nodeDir = filepath.Join(c.DataDir, "node")
	if target.Embedded() {
		if st, ok := server.Running(c.DataDir); ok {
			target = hub.Target{Addr: st.API}
		}
	}
	cacheName := target.Addr
	if target.Embedded() {
		cacheName = "embedded:" + nodeDir
	}
	return hub.Options{
		Target:    target,
		Auth:      hub.Auth{Key: c.Key, Secret: c.Secret, SigTTL: c.SigTTL},
		Timeout:   c.Timeout,
		Token:     c.Token,
		Tokens:    &hub.TokenCache{Dir: filepath.Join(c.DataDir, "tokens")},
		CacheName: cacheName,
	}, nodeDir, nil
}

// Close releases what commands opened: the connection and the embedded node.
func (f *Factory) Close() error {
	if f.hub == nil {
		return nil
	}
	return f.hub.Close()
}

// tokenIdentity is the identity user tokens are fetched for: the selected one, else the
// default. On a machine with no identity at all it creates one, so the seed flow
// (identity, token, database) works from the first command; it says so on stderr.
func (f *Factory) tokenIdentity() (hub.Identity, error) {
	ks, err := f.Keystore()
	if err != nil {
		return hub.Identity{}, err
	}
	name, err := f.IdentityName()
	if errors.Is(err, keystore.ErrNoDefault) {
		name, err = f.createFirstIdentity(ks)
	}
	if err != nil {
		return hub.Identity{}, err
	}
	e, err := ks.Get(name)
	if err != nil {
		return hub.Identity{}, err
	}
	return hub.Identity{
		Name:      name,
		PublicKey: e.PublicKey,
		Load:      func() (crypto.PrivKey, error) { return ks.Load(name, f.Passphrase(name)) },
	}, nil
}

func (f *Factory) createFirstIdentity(ks *keystore.Store) (string, error) {
	entries, _, err := ks.List()
	if err != nil {
		return "", err
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("%w: pick one with hubctl identity default NAME, or pass --identity NAME", keystore.ErrNoDefault)
	}
	sk, err := keystore.GenerateKey()
	if err != nil {
		return "", err
	}
	e, err := ks.Create("", sk, keystore.CreateOptions{})
	if err != nil {
		return "", err
	}
	// Another hubctl may have created the first identity at the same moment: the default
	// (claimed atomically) wins, and ours goes.
	def, err := ks.Default()
	if err != nil {
		return "", err
	}
	if def != e.Name {
		if _, err := ks.Remove(e.Name); err != nil {
			return "", err
		}
		return def, nil
	}
	f.IO.Infof("Created identity %s (the default) in %s.", e.Name, ks.Dir())
	return e.Name, nil
}
