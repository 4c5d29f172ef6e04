package cmd

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/output"
)

func newKeysCmd(f *Factory) *cobra.Command {
	return group(&cobra.Command{
		Use:     "keys",
		Aliases: []string{"key"},
		Short:   "Manage the API keys of a self-hosted Hub (hubctl daemon)",
		Long: `Manage the API keys a self-hosted Hub (hubctl daemon) accepts. They are the Hub's keys: a key
and a secret, both multibase base32; a key is of type user (the default) or account, and a
secure key (the default) requires requests signed with its secret.

The keys live in the daemon's data directory (--data-dir), in DATA-DIR/keys.json (mode
0600). These commands work whether or not the daemon runs; a running daemon sees keys
created or revoked within a second.

Clients use a key with: hubctl config set key KEY, and the secret in HUBCTL_SECRET (or
hubctl config set secret SECRET).`,
	},
		newKeysCreateCmd(f),
		newKeysListCmd(f),
		newKeysRevokeCmd(f),
	)
}

// keyInfo is the JSON form of an API key; the secret only when it is asked for.
type keyInfo struct {
	Key     string     `json:"key"`
	Secret  string     `json:"secret,omitempty"`
	Name    string     `json:"name,omitempty"`
	Type    string     `json:"type"`
	Secure  bool       `json:"secure"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

func toKeyInfo(k hubauth.Key, withSecret bool) keyInfo {
	info := keyInfo{Key: k.Key, Name: k.Name, Type: k.Type.String(), Secure: k.Secure,
		Created: k.Created, Revoked: k.Revoked}
	if withSecret {
		info.Secret = k.Secret
	}
	return info
}

// keyRegistry opens the registry in the configured data directory.
func keyRegistry(f *Factory) (*hubauth.Registry, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	return hubauth.OpenRegistry(c.DataDir), nil
}

func shortTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }

type keysCreateOptions struct {
	keyType  string
	insecure bool
	name     string
}

func newKeysCreateCmd(f *Factory) *cobra.Command {
	var opts keysCreateOptions
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print its key and secret",
		Long: `Create an API key in the Hub's format and print the key and its secret. Keep the secret:
clients sign their requests with it. 'hubctl keys list --show-secrets' shows it again.

A user key (the default) is for apps whose users sign in with their own identities; an
account key is for the developer's own use. A key is secure unless --insecure: a secure
key requires every request to be signed with the secret.`,
		Example: `  hubctl keys create
  hubctl keys create --type account --name ci
  hubctl keys create --insecure -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeysCreate(f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.keyType, "type", "user", "key type: user or account")
	cmd.Flags().BoolVar(&opts.insecure, "insecure", false, "do not require signed requests (the key alone is enough)")
	cmd.Flags().StringVar(&opts.name, "name", "", "a label for the key")
	return cmd
}

func runKeysCreate(f *Factory, opts keysCreateOptions) error {
	typ, err := hubauth.ParseKeyType(opts.keyType)
	if err != nil {
		return fmt.Errorf("--type: %w", err)
	}
	if strings.IndexFunc(opts.name, unicode.IsControl) >= 0 || len(opts.name) > 200 {
		return usageErrorf("--name: a label must be at most 200 characters, without control characters")
	}
	reg, err := keyRegistry(f)
	if err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	k, err := reg.Create(hubauth.CreateOptions{Type: typ, Secure: !opts.insecure, Name: opts.name})
	if err != nil {
		return err
	}
	info := toKeyInfo(k, true)
	err = p.Print(info, func() output.TableData {
		rows := [][]string{
			{"Key:", info.Key},
			{"Secret:", info.Secret},
			{"Type:", info.Type},
			{"Secure:", yesNo(info.Secure)},
		}
		if info.Name != "" {
			rows = append(rows, []string{"Name:", info.Name})
		}
		return output.TableData{Rows: rows}
	})
	if err != nil {
		return err
	}
	f.IO.Infof("Created API key %s in %s.", k.Key, reg.Path())
	f.IO.Infof("Keep the secret safe: it signs requests as this key (hubctl keys list --show-secrets shows it again, on this machine).")
	use := "Use it: hubctl config set key %s, and the secret in HUBCTL_SECRET (or hubctl config set secret)."
	if !k.Secure {
		use = "Use it: hubctl config set key %s (an insecure key needs no signature)."
	}
	f.IO.Infof(use, k.Key)
	return nil
}

func newKeysListCmd(f *Factory) *cobra.Command {
	var showSecrets bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List API keys, revoked ones included (secrets only with --show-secrets)",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeysList(f, showSecrets)
		},
	}
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "show the keys' secrets")
	return cmd
}

func runKeysList(f *Factory, showSecrets bool) error {
	reg, err := keyRegistry(f)
	if err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	keys, err := reg.List()
	if err != nil {
		return err
	}
	header := []string{"KEY", "NAME", "TYPE", "SECURE", "CREATED", "REVOKED"}
	if showSecrets {
		header = append(header[:1:1], append([]string{"SECRET"}, header[1:]...)...)
	}
	infos := make([]keyInfo, 0, len(keys))
	rows := make([][]string, 0, len(keys))
	for _, k := range keys {
		info := toKeyInfo(k, showSecrets)
		infos = append(infos, info)
		revoked := "-"
		if info.Revoked != nil {
			revoked = shortTime(*info.Revoked)
		}
		name := info.Name
		if name == "" {
			name = "-"
		}
		row := []string{info.Key, name, info.Type, yesNo(info.Secure), shortTime(info.Created), revoked}
		if showSecrets {
			row = append(row[:1:1], append([]string{info.Secret}, row[1:]...)...)
		}
		rows = append(rows, row)
	}
	if len(infos) == 0 && p.Format == output.Table {
		f.IO.Infof("No API keys in %s; create one with hubctl keys create", reg.Path())
	}
	return p.Print(infos, func() output.TableData {
		return output.TableData{Header: header, Rows: rows}
	})
}

func newKeysRevokeCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke KEY...",
		Short: "Revoke API keys: a running daemon refuses them within a second",
		Long: `Revoke API keys. A revoked key stays in the list, marked with the time it was revoked,
and is refused as the Hub refuses an unknown key. Revoking cannot be undone. Every KEY is
checked first, so a typo in one revokes none.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeysRevoke(f, args)
		},
	}
}

func runKeysRevoke(f *Factory, keys []string) error {
	reg, err := keyRegistry(f)
	if err != nil {
		return err
	}
	existing, err := reg.List()
	if err != nil {
		return err
	}
	known := make(map[string]hubauth.Key, len(existing))
	for _, k := range existing {
		known[k.Key] = k
	}
	// Check every key first, so that a typo in the last key revokes nothing.
	for _, key := range keys {
		if _, ok := known[key]; !ok {
			return keyNotFoundError(reg, existing, key)
		}
	}
	for _, key := range keys {
		before := known[key]
		k, err := reg.Revoke(key)
		if err != nil {
			if errors.Is(err, hubauth.ErrKeyNotFound) {
				return keyNotFoundError(reg, existing, key)
			}
			return err
		}
		if before.Revoked != nil {
			f.IO.Infof("%s was already revoked (%s).", key, shortTime(*k.Revoked))
			continue
		}
		known[key] = k
		f.IO.Infof("Revoked %s.", key)
	}
	return nil
}

// keyNotFoundError says a key is not in the registry and how to see the ones that are.
// Someone who passes a secret where a key belongs is told so, without the secret being
// repeated.
func keyNotFoundError(reg *hubauth.Registry, keys []hubauth.Key, key string) error {
	for _, k := range keys {
		if key != "" && k.Secret == key {
			return fmt.Errorf("%w: the argument is the secret of API key %s, not a key; see hubctl keys list", hubauth.ErrKeyNotFound, k.Key)
		}
	}
	return fmt.Errorf("%w: %s is not in %s; see hubctl keys list", hubauth.ErrKeyNotFound, key, reg.Path())
}
