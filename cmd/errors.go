package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/config"
	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/keystore"
	"github.com/hubctl/hubctl/pkg/node"
	"github.com/hubctl/hubctl/pkg/server"
)

// Exit codes: the table documented in README.md and `hubctl help exit-codes`.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitNotFound    = 3
	ExitAuth        = 4
	ExitUnreachable = 5
	ExitInterrupted = 130
)

const exitCodesHelp = `hubctl exits with one of these codes:

  0    success
  1    error (anything not listed below), or a confirmation that was declined
       (nothing was changed)
  2    usage: an unknown command or flag, a bad argument, a bad config value, bad
       input (a line of instances that is not JSON or that the schema refuses)
  3    not found: the identity, profile, database or other object does not exist
  4    auth refused: wrong passphrase, API key, signature or token refused
  5    server unreachable: the server could not be reached within --timeout, or the
       embedded node's store stayed busy (used by another hubctl) or did not open
       for --timeout
  130  interrupted by Ctrl-C (SIGINT) or SIGTERM

Errors are printed once, on standard error, as "hubctl: <message>".
`

// exitError carries an explicit exit code.
type exitError struct {
	code int
	err  error
	// final keeps the code after a signal too, which otherwise makes any error an
	// interruption (130): for the daemon, whose normal stop a signal starts.
	final bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// finalCode is withCode for an error that a signal did not cause, though one came first.
func finalCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err, final: true}
}

// usageErrorf is a bad command line: exit 2.
func usageErrorf(format string, args ...any) error {
	return withCode(ExitUsage, fmt.Errorf(format, args...))
}

// errSilent reports failure through the exit code alone; whatever needed saying was
// already printed (a declined confirmation, say).
var errSilent = errors.New("")

// exitCode maps an error to the documented exit codes. It is the only place that does so.
func exitCode(ctx context.Context, err error) int {
	var ee *exitError
	var fileErr *config.FileError
	var valueErr *config.ValueError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee) && ee.final:
		return ee.code
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &fileErr), errors.As(err, &valueErr),
		errors.Is(err, keystore.ErrInvalidName),
		errors.Is(err, keystore.ErrInvalidKey), errors.Is(err, hub.ErrInvalidTarget),
		errors.Is(err, hub.ErrInvalidSecret), errors.Is(err, hub.ErrInvalidAuth),
		errors.Is(err, hub.ErrInvalidArg), errors.Is(err, hub.ErrInvalidToken),
		errors.Is(err, hubauth.ErrInvalidKeyType):
		return ExitUsage
	case errors.Is(err, keystore.ErrNotFound), errors.Is(err, keystore.ErrNoDefault),
		errors.Is(err, config.ErrUnknownProfile), // as for config use PROFILE
		errors.Is(err, hub.ErrNotFound), errors.Is(err, hubauth.ErrKeyNotFound):
		return ExitNotFound
	case errors.Is(err, keystore.ErrWrongPassphrase), errors.Is(err, hub.ErrAuth):
		return ExitAuth
	case errors.Is(err, hub.ErrUnreachable), errors.Is(err, node.ErrBusy), errors.Is(err, server.ErrOpenTimeout):
		return ExitUnreachable
	default:
		return ExitError
	}
}

// printError prints err once as "hubctl: <message>".
func printError(w io.Writer, ctx context.Context, err error) {
	if errors.Is(err, errSilent) {
		return
	}
	msg := err.Error()
	var ee *exitError
	switch {
	case errors.As(err, &ee) && ee.final: // not an interruption, though a signal came
	case ctx.Err() != nil && !errors.Is(err, context.Canceled):
		msg = "interrupted: " + msg
	case ctx.Err() != nil:
		msg = "interrupted"
	}
	// One line: a multi-line message from a library would break scripts that read stderr.
	msg = strings.Join(strings.Fields(msg), " ")
	fmt.Fprintf(w, "hubctl: %s\n", msg)
}

// usageArgs turns cobra's argument errors into usage errors that show the usage line.
func usageArgs(validate cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := validate(cmd, args); err != nil {
			return usageErrorf("%v; usage: %s", err, cmd.UseLine())
		}
		return nil
	}
}

// subcommandArgs rejects an unknown subcommand with a suggestion, instead of cobra's
// default of printing help and exiting 0 for a group command.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	return usageErrorf("%s", withSuggestion(msg, suggestions(cmd, args[0]), "", cmd.CommandPath()))
}

// withSuggestion ends msg, one line, with the names typed may have meant (each after
// prefix, as in "db create") and the command whose help shows what there is:
// `...; did you mean "create"? Run 'hubctl db --help' for usage`, or without a suggestion
// `...; run 'hubctl db --help' for usage`.
func withSuggestion(msg string, names []string, prefix, helpPath string) string {
	if len(names) == 0 {
		return fmt.Sprintf("%s; run '%s --help' for usage", msg, helpPath)
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", prefix+n)
	}
	alts := quoted[len(quoted)-1]
	if len(quoted) > 1 {
		alts = strings.Join(quoted[:len(quoted)-1], ", ") + " or " + alts
	}
	return fmt.Sprintf("%s; did you mean %s? Run '%s --help' for usage", msg, alts, helpPath)
}

// suggestions names the subcommands (and help topics) of cmd that typed may have meant,
// the same way for every group. Names that typed begins (of the command or an alias) come
// first, all of them, since each is as likely as the other; else the nearest by edit
// distance, a swap of two neighbouring letters counting as one edit ("craete" is one
// from "create"), ties all named. A near name must be within cmd's
// SuggestionsMinimumDistance (2) edits and half of typed's length, so "lst" suggests
// "list" (one edit), never "get" or "set" (two of its three letters).
func suggestions(cmd *cobra.Command, typed string) []string {
	typed = strings.ToLower(typed)
	if typed == "" { // every name begins with it
		return nil
	}
	limit := cmd.SuggestionsMinimumDistance
	if limit <= 0 {
		limit = 2
	}
	limit = min(limit, max(1, utf8.RuneCountInString(typed)/2))
	var prefixed, near []string
	best := limit + 1
	for _, c := range cmd.Commands() {
		if !c.IsAvailableCommand() && !c.IsAdditionalHelpTopicCommand() && (cmd.HasParent() || c.Name() != "help") {
			continue
		}
		dist, prefix := best+1, false
		for _, name := range append([]string{c.Name()}, c.Aliases...) {
			name = strings.ToLower(name)
			prefix = prefix || strings.HasPrefix(name, typed)
			dist = min(dist, editDistance(typed, name))
		}
		for _, s := range c.SuggestFor {
			if strings.EqualFold(s, typed) {
				prefix = true
			}
		}
		switch {
		case prefix:
			prefixed = append(prefixed, c.Name())
		case dist > limit:
		case dist < best:
			best, near = dist, []string{c.Name()}
		case dist == best:
			near = append(near, c.Name())
		}
	}
	if len(prefixed) > 0 {
		return prefixed
	}
	return near
}

// editDistance is the optimal string alignment distance between a and b: insertions,
// deletions, substitutions and swaps of two neighbouring runes, each one edit.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

// group makes cmd a command that only holds subcommands.
func group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.Args = subcommandArgs
	cmd.SuggestionsMinimumDistance = 2 // cobra's own default; suggestions applies it
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	cmd.AddCommand(subs...)
	return cmd
}
