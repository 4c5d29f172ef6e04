package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/hubauth"
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
	}, newDBCreateCmd(f), newDBListCmd(f), newDBInfoCmd(f), newDBDeleteCmd(f), newDBRepairCmd(f), newDBJoinCmd(f), newDBPullCmd(f), newDBListenCmd(f), newDBExportCmd(f), newDBImportCmd(f))
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
		if !errors.Is(err, hub.ErrNameTaken) && strings.Contains(err.Error(), "already exists") {
			return withCode(ExitError, fmt.Errorf("database %s already exists; choose another --id", id))
		}
		if strings.Contains(err.Error(), hubauth.UnusableThread) {
			return withCode(ExitError, fmt.Errorf("thread ID %s cannot be used on this server; choose another --id, or leave it out for a new random one", id))
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
			for _, d := range dbs {
				if d.Broken != "" {
					f.IO.Warnf("database %s (%s) could not be loaded (%s): %s", d.Name, d.ID, d.Broken, brokenFix(d.ID))
				}
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
	invite  bool
}

func newDBInfoCmd(f *Factory) *cobra.Command {
	opts := &dbInfoOptions{}
	cmd := &cobra.Command{
		Use:   "info DB",
		Short: "Show a database's name and addresses (its key only with --show-key)",
		Long: `Show a database's ID, name and thread addresses (the server's announced libp2p addresses).

--invite prints one invite string instead, for 'hubctl db join INVITE' on another peer: the
thread ID and key, the addresses to join from and the collections. It grants read and
write access to the database, so it is printed only when asked for; share it privately.
Loopback and private addresses are in it only if the daemon runs with
--include-private-addrs; --announce-addr sets the address peers reach it at.`,
		Example: `  hubctl db info demo
  hubctl db info bafk... --show-key -o json
  hubctl db info demo --invite > demo.invite`,
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
			if opts.invite && opts.showKey {
				return usageErrorf("--invite and --show-key exclude each other: the invite holds the key")
			}
			id, err := c.ResolveDB(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if opts.invite {
				return printInvite(cmd.Context(), f, c, p, id)
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
				if len(db.PeerAddrs) > 0 {
					rows = append(rows, listRows("Peers:", db.PeerAddrs, "")...)
				}
				if opts.showKey {
					rows = append(rows, []string{"Key:", db.Key})
				}
				if db.Broken != "" {
					rows = append(rows, []string{"Broken:", db.Broken + "; " + brokenFix(db.ID)})
				}
				return output.TableData{Rows: rows}
			})
		},
		ValidArgsFunction: argCompletion(f, dbCompletions, 0, false),
	}
	cmd.Flags().BoolVar(&opts.showKey, "show-key", false, "also print the thread key, which grants read and write access to the data")
	cmd.Flags().BoolVar(&opts.invite, "invite", false, "print an invite for 'db join' on another peer (it holds the key: share it privately)")
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

// brokenFix says how to mend a database that failed to load.
func brokenFix(id string) string {
	return fmt.Sprintf("run hubctl db repair %s (it drops the broken collection definitions, keeping the data), or hubctl db delete %s", id, id)
}

// dbRepairResult is what db repair prints with --output json.
type dbRepairResult struct {
	ID      string   `json:"id"`
	Removed []string `json:"removedCollections"`
}

func newDBRepairCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "repair DB",
		Short: "Mend a database that fails to load by dropping its broken collection definitions",
		Long: `Mend a database the server could not load (db list warns of each; the server serves
its other databases meanwhile). Stores written by hubctl before instance IDs were checked
may hold a collection whose schema an instance overwrote. repair removes the definitions
(schema, write validator, read filter, indexes) of the collections that fail to load, and
loads the database. Their instances stay: create the collection again with its schema
(hubctl collection create) and they are back. It is an operator's command: the embedded
node, or a daemon with an account key. hubctl db delete drops a broken database instead.`,
		Example: `  hubctl db list          # warns: database notes (bafk...) could not be loaded ...
  hubctl db repair bafk...
  hubctl collection create bafk... people --schema person.json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, db, err := f.hubDB(cmd, args[0])
			if err != nil {
				return err
			}
			removed, err := c.RepairDB(cmd.Context(), db.id)
			if err != nil {
				return err
			}
			res := dbRepairResult{ID: db.id.String(), Removed: removed}
			if res.Removed == nil {
				res.Removed = []string{}
			}
			return p.Print(res, func() output.TableData {
				msg := fmt.Sprintf("Repaired %s: it loads again.", db.label)
				if len(removed) > 0 {
					msg = fmt.Sprintf("Repaired %s: removed the definition of %s %s; create it again with its schema (hubctl collection create) to see its instances.",
						db.label, pluralWord(len(removed), "collection"), strings.Join(removed, ", "))
				}
				return output.TableData{Rows: [][]string{{msg}}}
			})
		},
		ValidArgsFunction: argCompletion(f, dbCompletions, 0, false),
	}
}
