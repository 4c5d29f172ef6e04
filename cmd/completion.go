package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/config"
	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/node"
	"github.com/hubctl/hubctl/pkg/server"
)

// Shell completion: the `completion` command, which prints cobra's scripts, and the
// completion functions the commands register. The scripts call `hubctl __complete ARGS...`
// on every TAB, so these functions run inside a short-lived process a user is waiting on:
// they read local files, or ask a server for at most completionDeadline (the embedded
// node, opened in this process, for at most embeddedDeadline), and on any
// failure they offer nothing rather than an error in the middle of the user's shell.

// completionDeadline bounds a completion that asks a server (--api, or a daemon running
// on the data directory): generous for a working server answering a busy machine (a
// token, then one listing), short enough that a TAB at a server that never answers
// comes back empty in seconds.
const completionDeadline = 5 * time.Second

// embeddedDeadline bounds a completion from the embedded node. Opening it (the stores,
// then every database) is this process's own work, about a second on an idle machine
// and several on a busy one: a completion that gave up after a second offered nothing
// whenever the machine was busy (or the node held many databases). The bound is for a
// disk that does not answer; another hubctl holding the node is embeddedLockWait's.
const embeddedDeadline = 20 * time.Second

// embeddedLockWait is how long a completion waits for the embedded node's directory lock
// to be free. A command holding it may run for minutes; the completion gives up instead
// of making the user wait for it (and never makes that command wait for more than one
// listing).
const embeddedLockWait = 50 * time.Millisecond

// completionShells are the shells cobra writes scripts for, with descriptions.
var completionShells = []cobra.Completion{
	cobra.CompletionWithDesc("bash", "bash 4.1 or later, with the bash-completion package"),
	cobra.CompletionWithDesc("zsh", "zsh"),
	cobra.CompletionWithDesc("fish", "fish"),
	cobra.CompletionWithDesc("powershell", "PowerShell 5.1 or later"),
}

// addCompletion adds the completion command to root and the completions of the global
// flags. Arguments and flags that take no file complete nothing unless a command says
// otherwise, so a TAB never offers the current directory's files for a database ID.
func addCompletion(root *cobra.Command, f *Factory) {
	root.CompletionOptions.SetDefaultShellCompDirective(cobra.ShellCompDirectiveNoFileComp)
	root.AddCommand(newCompletionCmd(f))
	for flag, fn := range map[string]cobra.CompletionFunc{
		"output":   completeOutputFormats,
		"identity": flagCompletion(f, identityCompletions),
		"profile":  flagCompletion(f, profileCompletions),
		"config":   completeFilesWithExt("yaml", "yml"),
		"ca-file":  completeFiles,
		"keystore": completeDirs,
		"data-dir": completeDirs,
	} {
		// Only fails for a flag that does not exist: a programming error the tests catch.
		if err := root.RegisterFlagCompletionFunc(flag, fn); err != nil {
			panic(fmt.Sprintf("register completion of --%s: %v", flag, err))
		}
	}
	completeOtherCommands(root, f)
}

func newCompletionCmd(f *Factory) *cobra.Command {
	var noDescriptions bool
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for bash, zsh, fish or PowerShell",
		Long: `Print the script that makes the shell complete hubctl's commands, flags and arguments:
identity and profile names, config keys, output formats, database IDs (with their names)
and more. Completions that need a server ask it for at most 5 seconds and fall back to
nothing; they never wait for an embedded node that another hubctl is using.

bash (needs the bash-completion package: apt install bash-completion):
  source <(hubctl completion bash)                      # this shell
  mkdir -p ~/.local/share/bash-completion/completions   # every new shell
  hubctl completion bash > ~/.local/share/bash-completion/completions/hubctl

zsh:
  autoload -U compinit && compinit                      # in ~/.zshrc, if not there yet
  hubctl completion zsh > "${fpath[1]}/_hubctl"

fish:
  mkdir -p ~/.config/fish/completions
  hubctl completion fish > ~/.config/fish/completions/hubctl.fish

PowerShell:
  hubctl completion powershell | Out-String | Invoke-Expression   # add to $PROFILE

Packages (deb, rpm) install the bash, zsh and fish scripts where those shells look.`,
		Example: `  source <(hubctl completion bash)
  mkdir -p ~/.zfunc && hubctl completion zsh --no-descriptions > ~/.zfunc/_hubctl`,
		Args: usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return matching(completionShells, toComplete, nil), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeCompletionScript(cmd.Root(), f.IO.Out, args[0], !noDescriptions)
		},
	}
	cmd.Flags().BoolVar(&noDescriptions, "no-descriptions", false, "leave out the descriptions shown next to the choices")
	return cmd
}

// writeCompletionScript writes cobra's script for shell: bash in its v2 form, which
// shows descriptions and asks hubctl for every completion.
func writeCompletionScript(root *cobra.Command, w io.Writer, shell string, descriptions bool) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, descriptions)
	case "zsh":
		if descriptions {
			return root.GenZshCompletion(w)
		}
		return root.GenZshCompletionNoDesc(w)
	case "fish":
		return root.GenFishCompletion(w, descriptions)
	case "powershell":
		if descriptions {
			return root.GenPowerShellCompletionWithDesc(w)
		}
		return root.GenPowerShellCompletion(w)
	}
	return usageErrorf("unknown shell %q: use bash, zsh, fish or powershell", shell)
}

// A source lists every candidate for one kind of argument, descriptions included, given
// the positional arguments already on the command line; nil when there are none or they
// cannot be had.
type source func(ctx context.Context, f *Factory, args []string) []cobra.Completion

// argCompletion completes the positional argument at index pos from src, and with
// repeated every argument from pos on (NAME...), leaving out those already given.
func argCompletion(f *Factory, src source, pos int, repeated bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) < pos || (len(args) > pos && !repeated) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return matching(src(commandContext(cmd), f, args), toComplete, args[pos:]), cobra.ShellCompDirectiveNoFileComp
	}
}

// flagCompletion completes a flag's value from src.
func flagCompletion(f *Factory, src source) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return matching(src(commandContext(cmd), f, args), toComplete, nil), cobra.ShellCompDirectiveNoFileComp
	}
}

// dbCollectionArgs completes DB COLLECTION: a database ID, then the collections of that
// database (COLLECTION... with repeated). With fileAfter, the argument after the
// collection is a file (instance create DB COLLECTION FILE).
func dbCollectionArgs(f *Factory, repeated, fileAfter bool) cobra.CompletionFunc {
	dbs := argCompletion(f, dbCompletions, 0, false)
	cols := argCompletion(f, collectionCompletions, 1, repeated)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case len(args) == 0:
			return dbs(cmd, args, toComplete)
		case len(args) == 2 && fileAfter:
			return nil, cobra.ShellCompDirectiveDefault
		}
		return cols(cmd, args, toComplete)
	}
}

func commandContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// matching keeps the candidates that start with toComplete and are not in exclude. The
// shells filter too, but zsh and fish only after showing every description.
func matching(candidates []cobra.Completion, toComplete string, exclude []string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range candidates {
		value, _, _ := strings.Cut(c, "\t")
		if strings.HasPrefix(value, toComplete) && !slices.Contains(exclude, value) {
			out = append(out, c)
		}
	}
	return out
}

func completeFiles(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveDefault
}

func completeDirs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

func completeFilesWithExt(exts ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}

// fileArg completes file names for the positional argument at index pos alone
// (identity import NAME FILE, db import FILE).
func fileArg(pos int) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == pos {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

var outputDescriptions = map[string]string{
	"table": "aligned columns, for people",
	"json":  "stable JSON, for scripts",
	"yaml":  "the JSON fields as YAML",
	"jsonl": "JSON Lines: one object a line, for streams and jq",
}

func completeOutputFormats(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var all []cobra.Completion
	for _, format := range config.OutputFormats {
		all = append(all, cobra.CompletionWithDesc(format, outputDescriptions[format]))
	}
	return matching(all, toComplete, nil), cobra.ShellCompDirectiveNoFileComp
}

// identityCompletions lists the keystore's identities: files only, no server and no
// passphrase (listing reads only the public parts).
func identityCompletions(_ context.Context, f *Factory, _ []string) []cobra.Completion {
	ks, err := f.Keystore()
	if err != nil {
		return nil
	}
	entries, _, err := ks.List()
	if err != nil {
		return nil
	}
	def, _ := ks.Default()
	out := make([]cobra.Completion, 0, len(entries))
	for _, e := range entries {
		var desc []string
		if e.Name == def {
			desc = append(desc, "default")
		}
		if e.Encrypted {
			desc = append(desc, "encrypted")
		}
		desc = append(desc, abbreviate(e.PublicKey, 20))
		out = append(out, cobra.CompletionWithDesc(e.Name, strings.Join(desc, ", ")))
	}
	return out
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// profileCompletions lists the config file's profiles. It reads the file alone: a
// --profile naming a missing profile must not stop the completion of another.
func profileCompletions(_ context.Context, f *Factory, _ []string) []cobra.Completion {
	flagValue, _ := f.globals.GetString("config")
	path, err := config.Path(flagValue)
	if err != nil {
		return nil
	}
	file, err := config.ReadFile(path)
	if err != nil {
		return nil
	}
	current := file.CurrentProfile()
	var out []cobra.Completion
	for _, name := range file.Profiles() {
		var desc []string
		if name == current {
			desc = append(desc, "current")
		}
		if api := file.Settings(name)["api"].Value; api != "" {
			desc = append(desc, "api "+api)
		}
		out = append(out, cobra.CompletionWithDesc(name, strings.Join(desc, ", ")))
	}
	return out
}

func configKeyCompletions(context.Context, *Factory, []string) []cobra.Completion {
	var out []cobra.Completion
	for _, k := range config.Keys() {
		out = append(out, cobra.CompletionWithDesc(k.Name, k.Usage))
	}
	return out
}

// completeConfigSet completes `config set KEY VALUE`: the key, then values that suit it.
func completeConfigSet(f *Factory) cobra.CompletionFunc {
	keys := argCompletion(f, configKeyCompletions, 0, false)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) != 1 {
			return keys(cmd, args, toComplete)
		}
		k, err := config.LookupKey(args[0])
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		switch {
		case k.Kind == config.KindOutput:
			return completeOutputFormats(cmd, nil, toComplete)
		case k.Kind == config.KindBool:
			return matching([]cobra.Completion{"true", "false"}, toComplete, nil), cobra.ShellCompDirectiveNoFileComp
		case k.Name == "identity":
			return flagCompletion(f, identityCompletions)(cmd, args, toComplete)
		case k.Name == "ca-file":
			return nil, cobra.ShellCompDirectiveDefault
		case k.Kind == config.KindPath:
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// dbCompletions lists database IDs with their names as descriptions.
func dbCompletions(ctx context.Context, f *Factory, _ []string) []cobra.Completion {
	return askServer(ctx, f, func(ctx context.Context, c *hub.Client) ([]cobra.Completion, error) {
		dbs, err := c.ListDBs(ctx, false)
		if err != nil {
			return nil, err
		}
		out := make([]cobra.Completion, 0, len(dbs))
		for _, db := range dbs {
			out = append(out, cobra.CompletionWithDesc(db.ID, db.Name))
		}
		return out, nil
	})
}

// collectionCompletions lists the collections of the database named (by ID or name) by
// the first argument.
func collectionCompletions(ctx context.Context, f *Factory, args []string) []cobra.Completion {
	if len(args) == 0 {
		return nil
	}
	return askServer(ctx, f, func(ctx context.Context, c *hub.Client) ([]cobra.Completion, error) {
		id, err := c.ResolveDB(ctx, args[0])
		if err != nil {
			return nil, err
		}
		cols, err := c.ListCollections(ctx, id)
		if err != nil {
			return nil, err
		}
		out := make([]cobra.Completion, 0, len(cols))
		for _, col := range cols {
			var desc string
			switch n := len(col.Indexes); n {
			case 0:
			case 1:
				desc = "1 index"
			default:
				desc = fmt.Sprintf("%d indexes", n)
			}
			out = append(out, cobra.CompletionWithDesc(col.Name, desc))
		}
		return out, nil
	})
}

// askServer runs ask with a client made for completions, bounded by completionDeadline
// (embeddedDeadline for the embedded node) whatever happens below it (a server that does
// not answer, a slow store), and returns nothing on any failure. When the deadline
// passes, the process goes on to exit, which ends the lookup with it.
func askServer(ctx context.Context, f *Factory, ask func(context.Context, *hub.Client) ([]cobra.Completion, error)) []cobra.Completion {
	c, bound, err := completionClient(f)
	if err != nil || c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	done := make(chan []cobra.Completion, 1)
	go func() {
		defer c.Close()
		out, err := ask(ctx, c)
		if err != nil {
			out = nil
		}
		done <- out
	}()
	select {
	case out := <-done:
		return out
	case <-ctx.Done():
		return nil
	}
}

// completionClient is Factory.Hub for completions: the same target (--api, else a
// running daemon, else the embedded node) and token cache, but no messages, no identity
// created or passphrase asked for, and an embedded node opened only if no other hubctl
// holds it right now. It returns the bound for the whole completion, also the client's
// timeout (completionDeadline, or embeddedDeadline for the embedded node), and a nil
// client when there is nothing to ask: no server and no embedded node yet. It dials
// nothing.
func completionClient(f *Factory) (*hub.Client, time.Duration, error) {
	c, err := f.Config()
	if err != nil {
		return nil, 0, err
	}
	opts, nodeDir, err := hubOptions(c)
	if err != nil {
		return nil, 0, err
	}
	bound := completionDeadline
	if opts.Target.Embedded() {
		if _, err := os.Stat(nodeDir); err != nil {
			// No node has been created here: no databases, and a completion must not
			// create one.
			return nil, 0, nil
		}
		bound = embeddedDeadline
	}
	opts.Timeout = bound
	opts.Identity = f.completionIdentity
	opts.Local = func(ctx context.Context) (hub.LocalServer, error) {
		// Give up at once if another hubctl holds the node. The context of OpenEmbedded
		// bounds the store opening as well as the lock wait, so it is the completion's own
		// (embeddedDeadline): a bound of embeddedLockWait there gave up on the stores
		// themselves whenever they took a second to open. Another process taking the lock
		// between this check and the open's is waited for, within that same bound.
		if lockHeld(nodeDir) {
			return nil, errNodeBusy
		}
		return server.OpenEmbedded(ctx, node.Options{Dir: nodeDir, NoNetPulling: true, IncludePrivateAddrs: true})
	}
	h, err := hub.New(opts)
	return h, bound, err
}

// errNodeBusy stops a completion from the embedded node while another hubctl holds it.
var errNodeBusy = errors.New("another hubctl holds the embedded node")

// lockHeld reports whether some process holds the embedded node's lock now, trying for at
// most embeddedLockWait: a command holding it may run for minutes, and the completion
// gives up instead of making the user wait for it.
func lockHeld(dir string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), embeddedLockWait)
	defer cancel()
	for {
		if !node.Locked(dir) {
			return false
		}
		select {
		case <-ctx.Done():
			return true
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// errNoPrompt stops a completion that would need a passphrase typed in.
var errNoPrompt = errors.New("a completion does not ask for a passphrase")

// completionIdentity is tokenIdentity without its side effects: it creates no identity
// and asks for no passphrase (HUBCTL_PASSPHRASE is used when set).
func (f *Factory) completionIdentity() (hub.Identity, error) {
	ks, err := f.Keystore()
	if err != nil {
		return hub.Identity{}, err
	}
	name, err := f.IdentityName()
	if err != nil {
		return hub.Identity{}, err
	}
	e, err := ks.Get(name)
	if err != nil {
		return hub.Identity{}, err
	}
	noPrompt := func(bool) ([]byte, error) {
		if p := os.Getenv(EnvPassphrase); p != "" {
			return []byte(p), nil
		}
		return nil, errNoPrompt
	}
	return hub.Identity{
		Name:      name,
		PublicKey: e.PublicKey,
		Load:      func() (crypto.PrivKey, error) { return ks.Load(name, noPrompt) },
	}, nil
}

// Commands defined in other files whose arguments and flags complete from here: the
// collection, instance, listen, export and import commands. Each is wired only if its file has not set a completion
// of its own. Flags that take a file must say so (the default above is no files).
func completeOtherCommands(root *cobra.Command, f *Factory) {
	fileFlags := []string{"schema", "from-sample", "write-validator", "read-filter"}
	for _, w := range []struct {
		path  string
		args  cobra.CompletionFunc
		flags map[string]cobra.CompletionFunc
	}{
		{path: "db listen", args: argCompletion(f, dbCompletions, 0, false), flags: map[string]cobra.CompletionFunc{
			"collection": flagCompletion(f, collectionCompletions),
			"type":       cobra.FixedCompletions(hub.Actions, cobra.ShellCompDirectiveNoFileComp),
		}},
		{path: "db export", args: argCompletion(f, dbCompletions, 0, false), flags: files("out")},
		{path: "db import", args: fileArg(0)},
		{path: "collection create", args: argCompletion(f, dbCompletions, 0, false), flags: files(fileFlags...)},
		{path: "collection list", args: argCompletion(f, dbCompletions, 0, false)},
		{path: "collection show", args: dbCollectionArgs(f, false, false)},
		{path: "collection update", args: dbCollectionArgs(f, false, false), flags: files(fileFlags...)},
		{path: "collection delete", args: dbCollectionArgs(f, true, false)},
		{path: "collection indexes", args: dbCollectionArgs(f, false, false)},
		{path: "instance create", args: dbCollectionArgs(f, false, true)},
		{path: "instance save", args: dbCollectionArgs(f, false, true)},
		{path: "instance get", args: dbCollectionArgs(f, false, false)},
		{path: "instance list", args: dbCollectionArgs(f, false, false)},
		{path: "instance find", args: dbCollectionArgs(f, false, false)},
		{path: "instance delete", args: dbCollectionArgs(f, false, false)},
		{path: "instance has", args: dbCollectionArgs(f, false, false)},
	} {
		cmd, _, err := root.Find(strings.Fields(w.path))
		if err != nil || cmd.CommandPath() != root.Name()+" "+w.path {
			continue
		}
		if cmd.ValidArgsFunction == nil && w.args != nil {
			cmd.ValidArgsFunction = w.args
		}
		for name, fn := range w.flags {
			if _, ok := cmd.GetFlagCompletionFunc(name); ok || cmd.Flags().Lookup(name) == nil {
				continue
			}
			_ = cmd.RegisterFlagCompletionFunc(name, fn)
		}
	}
}

func files(flags ...string) map[string]cobra.CompletionFunc {
	m := make(map[string]cobra.CompletionFunc, len(flags))
	for _, name := range flags {
		m[name] = completeFiles
	}
	return m
}
