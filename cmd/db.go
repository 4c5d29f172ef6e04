package cmd

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/output"
)

func newDBCmd(f *Factory) *cobra.Command {
	return group(&cobra.Command{
		Use:     "db",
		Aliases: []string{"dbs"},
		Short:   "Create, list, inspect, join and delete databases (threads)",
		Long: `Databases live on the server given by --api; with none, on the embedded node that hubctl
runs in its own process (data in DATA-DIR/node). A database is named by its thread ID, or
by its name where that is unique.`,
	}, newDBCreateCmd(f), newDBListCmd(f), newDBInfoCmd(f), newDBDeleteCmd(f), newDBJoinCmd(f), newDBListenCmd(f), newDBExportCmd(f), newDBImportCmd(f))
}

type dbCreateOptions struct {
	name string
	id   string
}

func newDBCreateCmd(f *Factory) *cobra.Command {
	opts := &dbCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a database and print its thread ID",
		Example: `  hubctl db create --name demo
  DB=$(hubctl db create) && hubctl db info "$DB"`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runDBCreate(cmd, f, opts) },
	}
	cmd.Flags().StringVar(&opts.name, "name", "", "database name (letters, digits and single hyphens)")
	cmd.Flags().StringVar(&opts.id, "id", "", "thread ID to use (default: a new random one)")
	return cmd
}

func runDBCreate(cmd *cobra.Command, f *Factory, opts *dbCreateOptions) error {
	if opts.name != "" {
		if err := hub.ValidateName(opts.name); err != nil {
			return err
		}
	}
	id := thread.NewIDV1(thread.Raw, 32)
	if opts.id != "" {
		var err error
		if id, err = hub.ParseID(opts.id); err != nil {
			return err
		}
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	c, err := f.Hub()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if err := c.NewDB(ctx, id, opts.name); err != nil {
		if strings.Contains(err.Error(), "already exists") {
			return withCode(ExitError, fmt.Errorf("database %s already exists; choose another --id", id))
		}
		return err
	}
	if p.Format == output.Table {
		_, err = fmt.Fprintln(f.IO.Out, id.String())
		return err
	}
	db, err := c.GetDB(ctx, id, false)
	if err != nil {
		return err
	}
	return p.Print(db, nil)
}

func newDBListCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List databases (ID and name)",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, err := f.Hub()
			if err != nil {
				return err
			}
			dbs, err := c.ListDBs(cmd.Context(), false)
			if err != nil {
				return err
			}
			if len(dbs) == 0 && p.Format == output.Table {
				f.IO.Infof("No databases on %s; create one with: hubctl db create --name NAME", c.Target())
				return nil
			}
			return p.Print(dbs, func() output.TableData {
				t := output.TableData{Header: []string{"ID", "NAME"}}
				for _, d := range dbs {
					t.Rows = append(t.Rows, []string{d.ID, d.Name})
				}
				return t
			})
		},
	}
}

type dbInfoOptions struct {
	showKey bool
}

func newDBInfoCmd(f *Factory) *cobra.Command {
	opts := &dbInfoOptions{}
	cmd := &cobra.Command{
		Use:   "info DB",
		Short: "Show a database's name and addresses (its key only with --show-key)",
		Example: `  hubctl db info demo
  hubctl db info bafk... --show-key -o json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, err := f.Hub()
			if err != nil {
				return err
			}
			id, err := c.ResolveDB(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			db, err := c.GetDB(cmd.Context(), id, opts.showKey)
			if err != nil {
				return err
			}
			return p.Print(db, func() output.TableData {
				rows := [][]string{{"ID:", db.ID}, {"Name:", db.Name}}
				for i, a := range db.Addrs {
					label := ""
					if i == 0 {
						label = "Addresses:"
					}
					rows = append(rows, []string{label, a})
				}
				if len(db.Addrs) == 0 {
					rows = append(rows, []string{"Addresses:", "(none)"})
				}
				if opts.showKey {
					rows = append(rows, []string{"Key:", db.Key})
				}
				return output.TableData{Rows: rows}
			})
		},
		ValidArgsFunction: argCompletion(f, dbCompletions, 0, false),
	}
	cmd.Flags().BoolVar(&opts.showKey, "show-key", false, "also print the thread key, which grants read and write access to the data")
	return cmd
}

type dbDeleteOptions struct {
	yes bool
}

func newDBDeleteCmd(f *Factory) *cobra.Command {
	opts := &dbDeleteOptions{}
	cmd := &cobra.Command{
		Use:     "delete DB...",
		Aliases: []string{"rm"},
		Short:   "Delete databases and all their data",
		Args:    usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Hub()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			// Resolve every reference before deleting any, so a typo deletes nothing.
			type target struct {
				id   thread.ID
				name string
			}
			var targets []target
			for _, ref := range args {
				id, err := c.ResolveDB(ctx, ref)
				if err != nil {
					return err
				}
				db, err := c.GetDB(ctx, id, false)
				if err != nil {
					return err
				}
				targets = append(targets, target{id, db.Name})
			}
			var names []string
			for _, t := range targets {
				names = append(names, describeDB(t.id, t.name))
			}
			question := fmt.Sprintf("Delete %s and all its data?", strings.Join(names, ", "))
			if len(targets) > 1 {
				question = fmt.Sprintf("Delete %d databases (%s) and all their data?", len(targets), strings.Join(names, ", "))
			}
			if err := f.confirm(opts.yes, question, "refusing to delete"); err != nil {
				return err
			}
			for _, t := range targets {
				if err := c.DeleteDB(ctx, t.id); err != nil {
					return err
				}
				f.IO.Infof("Deleted database %s.", describeDB(t.id, t.name))
			}
			return nil
		},
		ValidArgsFunction: argCompletion(f, dbCompletions, 0, true),
	}
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func describeDB(id thread.ID, name string) string {
	if name == "" {
		return id.String()
	}
	return fmt.Sprintf("%s (%s)", name, id)
}

type dbJoinOptions struct {
	key  string
	name string
}

func newDBJoinCmd(f *Factory) *cobra.Command {
	opts := &dbJoinOptions{}
	cmd := &cobra.Command{
		Use:   "join ADDR --key KEY",
		Short: "Join a database from its thread address and key, and print its ID",
		Long: `Join a database that lives on another peer, from a thread address (as 'db info' prints
it, ending in /thread/ID) and its thread key ('db info --show-key'). The database's
records are then pulled from the peer.

Here --key is the thread key, not the API key: give the API key through HUBCTL_KEY or the
config file. The key is a secret: pass --key - to read it from standard input.`,
		Example: `  hubctl db join /ip4/10.0.0.2/tcp/4006/p2p/12D3.../thread/bafk... --key - < db.key`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE:    func(cmd *cobra.Command, args []string) error { return runDBJoin(cmd, f, opts, args[0]) },
	}
	cmd.Flags().StringVar(&opts.key, "key", "", "the thread key (- reads it from standard input)")
	cmd.Flags().StringVar(&opts.name, "name", "", "local name for the database")
	return cmd
}

func runDBJoin(cmd *cobra.Command, f *Factory, opts *dbJoinOptions, rawAddr string) error {
	addr, id, err := hub.ParseAddr(rawAddr)
	if err != nil {
		return err
	}
	keyText := opts.key
	if keyText == "-" {
		data, err := io.ReadAll(io.LimitReader(f.IO.In, 4096))
		if err != nil {
			return fmt.Errorf("read the thread key from standard input: %w", err)
		}
		keyText = string(data)
	}
	if strings.TrimSpace(keyText) == "" {
		return usageErrorf("db join needs the thread key: --key KEY or --key - (from hubctl db info DB --show-key)")
	}
	key, err := hub.ParseKey(keyText)
	if err != nil {
		return err
	}
	if opts.name != "" {
		if err := hub.ValidateName(opts.name); err != nil {
			return err
		}
	}
	c, err := f.Hub()
	if err != nil {
		return err
	}
	err = c.JoinDB(cmd.Context(), addr, key, opts.name)
	if errors.Is(err, hub.ErrExists) {
		f.IO.Infof("Database %s is already here.", id)
		err = nil
	}
	if err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	if p.Format == output.Table {
		_, err = fmt.Fprintln(f.IO.Out, id.String())
		return err
	}
	db, err := c.GetDB(cmd.Context(), id, false)
	if err != nil {
		return err
	}
	return p.Print(db, nil)
}
