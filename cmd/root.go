// Package cmd is hubctl's command tree. Each command parses its flags and arguments into an
// options struct and calls a run function; errors come back to Main, which prints them once
// and maps them to the documented exit codes.
package cmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/config"
	"github.com/hubctl/hubctl/pkg/iostreams"
)

// Main runs hubctl with the process's arguments and streams and returns its exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A second signal ends the process at once (the default action): the first only
	// cancels ctx, and the close after it may wait up to --timeout for stores that cannot
	// flush. The daemon handles its signals itself.
	go func() { <-ctx.Done(); stop() }()
	io := iostreams.System()
	root, f := newRoot(io)
	err := root.ExecuteContext(ctx)
	// Close the connection and the embedded node before exiting, also after an error or
	// Ctrl-C: the node's stores flush on close, so nothing acknowledged is lost.
	if cerr := f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		printError(io.ErrOut, ctx, err)
	}
	return exitCode(ctx, err)
}

// NewRootCmd builds the whole command tree over the given streams. Commands that reach a
// server leave a connection open: callers other than Main should use newRoot and close
// the factory.
func NewRootCmd(io *iostreams.IOStreams) *cobra.Command {
	root, _ := newRoot(io)
	return root
}

func newRoot(io *iostreams.IOStreams) (*cobra.Command, *Factory) {
	f := newFactory(io)
	root := &cobra.Command{
		Use:   "hubctl",
		Short: "Manage Textile Hub identities, API keys, tokens and ThreadDB databases",
		Long: `hubctl manages what the Textile Hub gave its users: identities, API keys with signed
requests, user tokens and ThreadDB databases, against any ThreadDB server.

Settings come from flags, then HUBCTL_* environment variables, then the config file
(and its selected profile), then defaults. See 'hubctl config --help'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion().Version,
	}
	root.SetVersionTemplate("hubctl {{.Version}}\n")
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.SetIn(io.In)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v; run '%s --help' for usage", err, c.CommandPath())
	})

	flags := root.PersistentFlags()
	flags.String("config", "", "config file (default: $XDG_CONFIG_HOME/hubctl/config.yaml; env "+config.EnvConfig+")")
	flags.String("profile", "", "config profile to use (default: current-profile; env "+config.EnvProfile+")")
	for _, k := range config.Keys() {
		usage := k.Usage + " (env " + k.Env() + ")"
		switch {
		case k.Kind == config.KindBool:
			flags.Bool(k.Name, k.Default == "true", usage)
		case k.Name == "output":
			flags.StringP(k.Name, "o", k.Default, usage)
		default:
			flags.String(k.Name, k.Default, usage)
		}
	}
	f.globals = flags

	group(root,
		newVersionCmd(f),
		newConfigCmd(f),
		newIdentityCmd(f),
		newKeysCmd(f),
		newTokenCmd(f),
		newDBCmd(f),
		newCollectionCmd(f),
		newInstanceCmd(f),
		newMailCmd(f),
		newBucketCmd(f),
		newNetCmd(f),
		newDaemonCmd(f),
		&cobra.Command{
			Use:   "exit-codes",
			Short: "The exit codes hubctl returns",
			Long:  exitCodesHelp,
		},
	)
	root.SetHelpCommand(newHelpCmd())
	addCompletion(root, f)
	return root, f
}

// newHelpCmd is cobra's help command, except that a topic it does not know is a usage
// error (exit 2) with a suggestion, where cobra's printed the root help and exited 0:
// "hubctl help db craete" said nothing of the typo.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long: `Help provides help for any command or help topic (such as exit-codes).
Type hubctl help [path to command] for full details.`,
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var completions []cobra.Completion
			for _, sub := range cmd.Commands() {
				if (sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand()) && strings.HasPrefix(sub.Name(), toComplete) {
					completions = append(completions, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return completions, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				if cmd == nil {
					cmd = c.Root()
				}
				var names []string
				if len(rest) > 0 {
					names = suggestions(cmd, rest[0])
				}
				prefix := strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), c.Root().Name()), " ")
				if prefix != "" {
					prefix += " "
				}
				msg := fmt.Sprintf("unknown help topic %q", strings.Join(args, " "))
				return usageErrorf("%s", withSuggestion(msg, names, prefix, cmd.CommandPath()))
			}
			if cmd.Context() == nil {
				cmd.SetContext(c.Context())
			}
			cmd.InitDefaultHelpFlag()    // so that --help is shown among the flags
			cmd.InitDefaultVersionFlag() // and --version on the root
			return cmd.Help()
		},
	}
}
