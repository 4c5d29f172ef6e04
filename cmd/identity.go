package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/atomicfile"
	"github.com/hubctl/hubctl/pkg/keystore"
	"github.com/hubctl/hubctl/pkg/output"
)

func newIdentityCmd(f *Factory) *cobra.Command {
	return group(&cobra.Command{
		Use:     "identity",
		Aliases: []string{"id"},
		Short:   "Create and manage identities (Ed25519 libp2p keys) in the local keystore",
		Long: `Identities are Ed25519 libp2p keys, the keys Hub users sign in with. Each lives in its own
file in the keystore directory (--keystore, default DATA-DIR/keystore): directory mode 0700,
files 0600, written atomically. The first identity created becomes the default; commands that
act as a user use --identity NAME, else the default.

Encrypted identities (--encrypt) are protected with a passphrase (age, scrypt), read from
HUBCTL_PASSPHRASE or asked on the terminal.`,
	},
		newIdentityNewCmd(f),
		newIdentityListCmd(f),
		newIdentityShowCmd(f),
		newIdentityExportCmd(f),
		newIdentityImportCmd(f),
		newIdentityRemoveCmd(f),
		newIdentityDefaultCmd(f),
	)
}

// identityInfo is the JSON form of an identity; it never holds the private key.
type identityInfo struct {
	Name      string    `json:"name"`
	PublicKey string    `json:"publicKey"`
	KeyType   string    `json:"keyType"`
	Created   time.Time `json:"created"`
	Encrypted bool      `json:"encrypted"`
	Default   bool      `json:"default"`
	Path      string    `json:"path"`
}

func toInfo(e *keystore.Entry, defaultName string) identityInfo {
	return identityInfo{Name: e.Name, PublicKey: e.PublicKey, KeyType: e.KeyType, Created: e.Created,
		Encrypted: e.Encrypted, Default: e.Name == defaultName, Path: e.Path}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func defaultMark(b bool) string {
	if b {
		return "*"
	}
	return ""
}

func printIdentity(f *Factory, ks *keystore.Store, e *keystore.Entry) error {
	p, err := f.Printer()
	if err != nil {
		return err
	}
	def, _ := ks.Default()
	info := toInfo(e, def)
	return p.Print(info, func() output.TableData {
		return output.TableData{
			Header: []string{"NAME", "PUBLIC KEY", "DEFAULT"},
			Rows:   [][]string{{info.Name, info.PublicKey, defaultMark(info.Default)}},
		}
	})
}

type createFlags struct {
	force   bool
	encrypt bool
}

func (c *createFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.force, "force", false, "replace an existing identity of the same name")
	cmd.Flags().BoolVar(&c.encrypt, "encrypt", false, "protect the key with a passphrase ("+EnvPassphrase+" or a terminal prompt)")
}

func (c *createFlags) options(f *Factory, name string) keystore.CreateOptions {
	opts := keystore.CreateOptions{Force: c.force}
	if c.encrypt {
		if name == "" {
			name = "(new)"
		}
		opts.Passphrase = f.Passphrase(name)
	}
	return opts
}

func newIdentityNewCmd(f *Factory) *cobra.Command {
	var flags createFlags
	cmd := &cobra.Command{
		Use:   "new [NAME]",
		Short: "Create an identity and print its name and public key",
		Long: `Create an Ed25519 libp2p identity in the keystore and print its name and public key in the
Hub's string form. Without NAME a readable unique name is picked. An existing name is refused
unless --force.`,
		Example: `  hubctl identity new
  hubctl identity new alice
  HUBCTL_PASSPHRASE=... hubctl identity new --encrypt ci-bot`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				// An explicit name is checked even when empty; only no name means "pick one".
				if err := keystore.ValidateName(args[0]); err != nil {
					return err
				}
				return runIdentityNew(f, args[0], flags)
			}
			return runIdentityNew(f, "", flags)
		},
	}
	flags.register(cmd)
	return cmd
}

func runIdentityNew(f *Factory, name string, flags createFlags) error {
	ks, err := f.Keystore()
	if err != nil {
		return err
	}
	sk, err := keystore.GenerateKey()
	if err != nil {
		return err
	}
	e, err := ks.Create(name, sk, flags.options(f, name))
	if err != nil {
		return identityWriteError(err)
	}
	return printIdentity(f, ks, e)
}

func identityWriteError(err error) error {
	if errors.Is(err, keystore.ErrExists) {
		return fmt.Errorf("%w: pass --force to replace it", err)
	}
	return err
}

func newIdentityListCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List identities",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIdentityList(f)
		},
	}
}

func runIdentityList(f *Factory) error {
	ks, err := f.Keystore()
	if err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	entries, problems, err := ks.List()
	if err != nil {
		return err
	}
	for _, problem := range problems {
		f.IO.Warnf("%v", problem)
	}
	def, _ := ks.Default()
	infos := make([]identityInfo, 0, len(entries))
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		info := toInfo(e, def)
		infos = append(infos, info)
		rows = append(rows, []string{defaultMark(info.Default), info.Name, info.PublicKey,
			info.Created.Local().Format("2006-01-02 15:04"), yesNo(info.Encrypted)})
	}
	if len(infos) == 0 && p.Format == output.Table {
		f.IO.Infof("No identities in %s; create one with: hubctl identity new", ks.Dir())
	}
	return p.Print(infos, func() output.TableData {
		return output.TableData{Header: []string{"DEFAULT", "NAME", "PUBLIC KEY", "CREATED", "ENCRYPTED"}, Rows: rows}
	})
}

func newIdentityShowCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "show [NAME]",
		Short: "Show an identity (never its private key); default: the selected identity",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameOrSelected(f, args)
			if err != nil {
				return err
			}
			ks, err := f.Keystore()
			if err != nil {
				return err
			}
			e, err := ks.Get(name)
			if err != nil {
				return err
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			def, _ := ks.Default()
			info := toInfo(e, def)
			return p.Print(info, func() output.TableData {
				return output.TableData{Rows: [][]string{
					{"Name:", info.Name},
					{"Public key:", info.PublicKey},
					{"Key type:", info.KeyType},
					{"Created:", info.Created.Local().Format(time.RFC3339)},
					{"Encrypted:", yesNo(info.Encrypted)},
					{"Default:", yesNo(info.Default)},
					{"File:", info.Path},
				}}
			})
		},
		ValidArgsFunction: argCompletion(f, identityCompletions, 0, false),
	}
}

func nameOrSelected(f *Factory, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	return f.IdentityName()
}

type exportOptions struct {
	out   string
	force bool
	raw   bool
}

func newIdentityExportCmd(f *Factory) *cobra.Command {
	var opts exportOptions
	cmd := &cobra.Command{
		Use:   "export NAME",
		Short: "Write an identity's private key, to back it up or move it",
		Long: `Write an identity with its private key as an identity document (JSON: version, keyType,
publicKey, created, privateKey), or with --raw as the Hub CLI's form alone (multibase base32
of the libp2p-marshaled private key). An encrypted identity is decrypted first.

The key is written to --out FILE (mode 0600, atomically, never replacing a file without
--force) or to standard output. It is never printed to a terminal unless --force.`,
		Example: `  hubctl identity export alice --out alice.json
  hubctl identity export alice > alice.json
  hubctl identity export alice --raw | ssh host hubctl identity import alice -`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIdentityExport(f, args[0], opts)
		},
		ValidArgsFunction: argCompletion(f, identityCompletions, 0, false),
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "write to FILE instead of standard output")
	_ = cmd.RegisterFlagCompletionFunc("out", completeFiles)
	cmd.Flags().BoolVar(&opts.force, "force", false, "print to a terminal, or replace an existing --out file")
	cmd.Flags().BoolVar(&opts.raw, "raw", false, "write only the multibase private key (the Hub CLI's form)")
	return cmd
}

func runIdentityExport(f *Factory, name string, opts exportOptions) error {
	if err := keystore.ValidateName(name); err != nil {
		return err
	}
	if opts.out == "" && f.IO.IsStdoutTTY() && !opts.force {
		return usageErrorf("refusing to print the private key of %s to a terminal: use --out FILE, redirect the output, or pass --force", name)
	}
	ks, err := f.Keystore()
	if err != nil {
		return err
	}
	doc, err := ks.Export(name, f.Passphrase(name))
	if err != nil {
		return err
	}
	var data []byte
	if opts.raw {
		data = []byte(doc.PrivateKey + "\n")
	} else if data, err = doc.Marshal(); err != nil {
		return err
	}
	if opts.out == "" {
		_, err = f.IO.Out.Write(data)
		return err
	}
	mode := atomicfile.NoReplace
	if opts.force {
		mode = atomicfile.Replace
	}
	if err := atomicfile.WriteFile(opts.out, data, 0o600, mode); err != nil {
		if errors.Is(err, atomicfile.ErrExists) {
			return fmt.Errorf("%s already exists: pass --force to replace it", opts.out)
		}
		return fmt.Errorf("export %s: %w", name, err)
	}
	f.IO.Infof("Exported identity %s to %s.", name, opts.out)
	return nil
}

func newIdentityImportCmd(f *Factory) *cobra.Command {
	var flags createFlags
	cmd := &cobra.Command{
		Use:   "import NAME [FILE|-]",
		Short: "Add an identity from an exported file or a Hub CLI private key",
		Long: `Add an identity from what 'identity export' writes, or from the Hub CLI's form of a private
key (multibase of the libp2p-marshaled key). The key is read from FILE, or from standard input
(- or no FILE); on a terminal it is asked for without echo.`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := "-"
			if len(args) == 2 {
				file = args[1]
			}
			return runIdentityImport(f, args[0], file, flags)
		},
		ValidArgsFunction: fileArg(1),
	}
	flags.register(cmd)
	return cmd
}

func runIdentityImport(f *Factory, name, file string, flags createFlags) error {
	if err := keystore.ValidateName(name); err != nil {
		return err
	}
	ks, err := f.Keystore()
	if err != nil {
		return err
	}
	var data []byte
	switch {
	case file != "-":
		data, err = os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			return withCode(ExitNotFound, fmt.Errorf("import %s: %s does not exist", name, file))
		}
	case f.IO.IsStdinTTY():
		data, err = f.IO.ReadSecret(fmt.Sprintf("Private key for %s: ", name))
	default:
		data, err = io.ReadAll(f.IO.In)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	source := file
	if file == "-" {
		source = "standard input"
	}
	e, err := ks.Import(name, data, f.Passphrase(name), flags.options(f, name))
	if errors.Is(err, keystore.ErrInvalidKey) {
		return fmt.Errorf("import %s from %s: %w", name, source, err)
	}
	if err != nil {
		return identityWriteError(err)
	}
	return printIdentity(f, ks, e)
}

func newIdentityRemoveCmd(f *Factory) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove identities from the keystore (asks first; --yes without a terminal)",
		Args:    usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIdentityRemove(f, args, yes)
		},
		ValidArgsFunction: argCompletion(f, identityCompletions, 0, true),
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runIdentityRemove(f *Factory, names []string, yes bool) error {
	ks, err := f.Keystore()
	if err != nil {
		return err
	}
	// Check every name first, so that a typo in the last name removes nothing.
	for _, name := range names {
		if _, err := ks.Get(name); err != nil {
			return err
		}
	}
	list := strings.Join(names, ", ")
	question := fmt.Sprintf("Remove identity %s? Its private key cannot be recovered without a backup.", list)
	if err := f.confirm(yes, question, "refusing to remove identity "+list); err != nil {
		return err
	}
	for _, name := range names {
		wasDefault, err := ks.Remove(name)
		if err != nil {
			return err
		}
		f.IO.Infof("Removed identity %s.", name)
		if wasDefault {
			f.IO.Infof("%s was the default identity; choose another with: hubctl identity default NAME", name)
		}
	}
	return nil
}

func newIdentityDefaultCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "default [NAME]",
		Short: "Print the default identity, or make NAME the default",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := f.Keystore()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				if err := ks.SetDefault(args[0]); err != nil {
					return err
				}
				f.IO.Infof("Default identity is now %s.", args[0])
				return nil
			}
			name, err := ks.Default()
			if errors.Is(err, keystore.ErrNoDefault) {
				return fmt.Errorf("%w: create one with hubctl identity new", err)
			}
			if err != nil {
				return err
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			return p.Print(map[string]string{"name": name}, func() output.TableData {
				return output.TableData{Rows: [][]string{{name}}}
			})
		},
		ValidArgsFunction: argCompletion(f, identityCompletions, 0, false),
	}
}
