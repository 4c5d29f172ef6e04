package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/spf13/cobra"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/invite"
	"github.com/hubctl/hubctl/pkg/output"
	"github.com/hubctl/hubctl/pkg/server"
)

// printInvite prints an invite to the database id, built from what the server reports:
// its thread key, its announced addresses and its collections.
func printInvite(ctx context.Context, f *Factory, c *hub.Client, p *output.Printer, id thread.ID) error {
	if c.Target().Embedded() {
		return withCode(ExitUsage, errors.New("the embedded node cannot invite peers: it runs only while a hubctl command does; start hubctl daemon on this data directory, then ask again"))
	}
	db, err := c.GetDB(ctx, id, true)
	if err != nil {
		return err
	}
	cols, err := c.ListCollections(ctx, id)
	if err != nil {
		return err
	}
	key, err := thread.KeyFromString(db.Key)
	if err != nil || !key.CanRead() {
		return fmt.Errorf("the server did not send the full key of %s: only a peer that can read a database can invite to it", describeDB(id, db.Name))
	}
	inv := invite.Invite{ID: id, Key: key, Name: db.Name, Collections: cols}
	// The server's own addresses first, then those of the peers that also keep it, so a
	// peer can join while this server is down.
	for _, s := range append(db.Addrs, db.PeerAddrs...) {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("the server sent a bad address for %s: %w", id, err)
		}
		inv.Addrs = append(inv.Addrs, a)
	}
	if len(inv.Addrs) == 0 {
		return fmt.Errorf("%s has no address peers can reach: the server announces none; start hubctl daemon with --announce-addr (the address peers reach it at), or --include-private-addrs for peers on this machine or network", describeDB(id, db.Name))
	}
	s, err := inv.Encode()
	if err != nil {
		return err
	}
	if p.Format == output.Table {
		f.IO.Infof("This invite holds the key of %s: whoever has it can read and write the database. Share it privately.", describeDB(id, db.Name))
		_, err = fmt.Fprintln(f.IO.Out, s)
		return err
	}
	return p.Print(struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Invite string `json:"invite"`
	}{db.ID, db.Name, s}, nil)
}

type dbJoinOptions struct {
	key    string
	name   string
	noPull bool
}

func newDBJoinCmd(f *Factory) *cobra.Command {
	opts := &dbJoinOptions{}
	cmd := &cobra.Command{
		Use:   "join INVITE | ADDR --key KEY",
		Short: "Join a database that lives on another peer, and print its ID",
		Long: `Join a database that lives on another peer, from an invite ('hubctl db info DB --invite'
on that peer; - reads it from standard input), or from a thread address (as 'db info'
prints it, ending in /thread/ID) and its thread key ('db info --show-key').

The invite's addresses are tried in turn. Its collections are created here: go-threads
does not replicate collections, and refuses records of one a peer does not have. The
records are then pulled from the peer before the command returns (--no-pull leaves that
to the server's periodic pull). A join either completes or leaves nothing: one whose
first pull fails is undone. A thread key carries neither the database's name nor its
collections, so a join from one completes only for a database with no records yet.
Joining a database that is already here pulls it and adds the collections of a newer
invite; it keeps the name it has here.

Invites and keys are secrets: pass them on standard input to keep them out of ps and
shell history. Here --key is the thread key, not the API key: give the API key through
HUBCTL_KEY or the config file.`,
		Example: `  hubctl db join - < demo.invite
  hubctl db join /ip4/10.0.0.2/tcp/4006/p2p/12D3.../thread/bafk... --key - --name copy < db.key`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runDBJoin(cmd, f, opts, args[0]) },
	}
	cmd.Flags().StringVar(&opts.key, "key", "", "the thread key, with a thread address (- reads it from standard input)")
	cmd.Flags().StringVar(&opts.name, "name", "", "local name for the database (default: the invite's)")
	cmd.Flags().BoolVar(&opts.noPull, "no-pull", false, "return once joined, without waiting for the first pull")
	return cmd
}

// maxInviteInput bounds what `db join -` reads: an invite's payload is at most 4 MiB.
const maxInviteInput = 8 << 20

// joinRequest is what db join acts on, from either form.
type joinRequest struct {
	id     thread.ID
	key    thread.Key
	name   string
	addrs  []ma.Multiaddr
	cols   []hub.Collection
	invite bool // from an invite, not a thread address and key
}

func parseJoin(f *Factory, opts *dbJoinOptions, arg string) (joinRequest, error) {
	if arg == "-" {
		if opts.key == "-" {
			return joinRequest{}, usageErrorf("only one of the invite and --key can come from standard input")
		}
		data, err := io.ReadAll(io.LimitReader(f.IO.In, maxInviteInput))
		if err != nil {
			return joinRequest{}, fmt.Errorf("read the invite from standard input: %w", err)
		}
		arg = strings.TrimSpace(string(data))
		if arg == "" {
			return joinRequest{}, usageErrorf("standard input holds no invite; create one with hubctl db info DB --invite on the peer that has the database")
		}
		if !invite.Is(arg) {
			return joinRequest{}, usageErrorf("standard input holds no invite (it must start with %s); for a thread address, pass it as the argument with --key", invite.Prefix)
		}
	}
	if invite.Is(arg) {
		if opts.key != "" {
			return joinRequest{}, usageErrorf("an invite holds the thread key: leave out --key")
		}
		inv, err := invite.Decode(arg)
		if err != nil {
			return joinRequest{}, withCode(ExitUsage, err)
		}
		return joinRequest{id: inv.ID, key: inv.Key, name: inv.Name, addrs: inv.Addrs, cols: inv.Collections, invite: true}, nil
	}
	addr, id, err := hub.ParseAddr(arg)
	if err != nil {
		return joinRequest{}, fmt.Errorf("%w (db join takes an invite, or a thread address with --key)", err)
	}
	keyText := opts.key
	if keyText == "-" {
		data, err := io.ReadAll(io.LimitReader(f.IO.In, 4096))
		if err != nil {
			return joinRequest{}, fmt.Errorf("read the thread key from standard input: %w", err)
		}
		keyText = string(data)
	}
	if strings.TrimSpace(keyText) == "" {
		return joinRequest{}, usageErrorf("db join with a thread address needs the thread key: --key KEY or --key - (from hubctl db info DB --show-key), or use an invite (hubctl db info DB --invite)")
	}
	key, err := hub.ParseKey(keyText)
	if err != nil {
		return joinRequest{}, err
	}
	return joinRequest{id: id, key: key, addrs: []ma.Multiaddr{addr}}, nil
}

func runDBJoin(cmd *cobra.Command, f *Factory, opts *dbJoinOptions, arg string) error {
	req, err := parseJoin(f, opts, arg)
	if err != nil {
		return err
	}
	if req.fromKey() && opts.noPull {
		return usageErrorf("db join with a thread key cannot take --no-pull: only its first pull shows whether the database uses collections, which a key cannot carry; join with an invite (hubctl db info DB --invite on the peer) to skip the pull")
	}
	nameFrom := "invite's name"
	if opts.name != "" {
		if err := hub.ValidateName(opts.name); err != nil {
			return err
		}
		req.name, nameFrom = opts.name, "--name"
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
	via, joinErr := joinFrom(ctx, c, req)
	switch {
	case errors.Is(joinErr, hub.ErrExists):
		if err := rejoin(ctx, f, c, req, nameFrom); err != nil {
			return err
		}
		if !opts.noPull {
			res, err := c.Pull(ctx, req.id)
			if err != nil {
				return fmt.Errorf("%s is here as before, but pulling its records failed: %w; the server pulls again every --pull-interval, or run hubctl db pull %s", req.id, pullHint(err), req.id)
			}
			f.IO.Infof("%s", pulledLine(res.Pulled, "new record", res.Peers, req.id))
		}
	case joinErr != nil:
		return joinErr
	default:
		// The first pull comes before anything else: a join whose records cannot be
		// applied here is undone, and the peer never learns of this server's log.
		var res hub.PullResult
		if !opts.noPull {
			if res, err = c.Pull(ctx, req.id); err != nil {
				return undoJoin(ctx, c, req, err)
			}
			// Every record of a database is a change to a collection, and a key join has
			// none. The pull does not always say so: go-threads starts a pull of its own as
			// the join returns, moves a log's head past a record it could not apply, and
			// returns that error only to its own pull, so ours may find nothing left to do.
			if req.fromKey() && res.Records > 0 {
				return undoJoin(ctx, c, req, errNoCollections)
			}
		}
		name := req.name
		if db, err := c.GetDB(ctx, req.id, false); err == nil {
			name = db.Name
		}
		f.IO.Infof("Joined %s through %s.", describeDB(req.id, name), via)
		announceLog(ctx, f, c, req.id, via)
		if !opts.noPull {
			// The server starts pulling as the join returns: on a new join everything
			// here came from the peers, whichever pull brought it.
			f.IO.Infof("%s", pulledLine(res.Records, "record", res.Peers, req.id))
		}
		if req.fromKey() {
			named := ""
			if req.name == "" {
				named = fmt.Sprintf(" (it is named %s here: --name gives it another)", name)
			}
			f.IO.Infof("A thread key carries neither the database's name nor its collections%s: when the peer adds a collection, join again with an invite (hubctl db info %s --invite on the peer) to add it here.", named, req.id)
		}
	}
	if p.Format == output.Table {
		_, err = fmt.Fprintln(f.IO.Out, req.id.String())
		return err
	}
	db, err := c.GetDB(ctx, req.id, false)
	if err != nil {
		return err
	}
	return p.Print(db, nil)
}

// fromKey says the join came from a thread address and key, not an invite: it carries no
// collections and no name.
func (r joinRequest) fromKey() bool { return !r.invite }

// pulledLine says what a pull brought and from how many other peers.
func pulledLine(n int64, noun string, peers int, id thread.ID) string {
	if peers == 0 && n == 0 {
		return fmt.Sprintf("Nothing to pull: no other peer is known to keep %s.", id)
	}
	return fmt.Sprintf("Pulled %s from %s.", plural(int(n), noun), plural(peers, "peer"))
}

// errNoCollections is a key join's pull that brought records: they are changes to
// collections the join could not create.
var errNoCollections = errors.New("collection not found")

// undoJoin deletes a database this command has just joined and whose first pull failed,
// so that a join either completes or leaves nothing, and says which happened. Records of
// a collection the server lacks are what a join from a thread key meets whenever the
// database has any: go-threads does not replicate collections, and only an invite carries
// them.
func undoJoin(ctx context.Context, c *hub.Client, req joinRequest, pullErr error) error {
	why := fmt.Sprintf("pulling its records failed: %v", pullErr)
	fix := "run the join again"
	if errors.Is(pullErr, errNoCollections) || strings.Contains(pullErr.Error(), "collection not found") {
		if req.fromKey() {
			why = "its records use collections, which a thread key cannot carry"
			fix = fmt.Sprintf("join with an invite: hubctl db info %s --invite on the peer, then hubctl db join - < invite", req.id)
		} else {
			why = "its records use a collection the invite does not hold (the peer created it after the invite)"
			fix = fmt.Sprintf("join with a new invite: hubctl db info %s --invite on the peer", req.id)
		}
	}
	// Undone even when the pull ended because the command was interrupted.
	if derr := c.DeleteDB(context.WithoutCancel(ctx), req.id); derr != nil {
		return fmt.Errorf("joined %s, but %s, and removing it again failed (%v): it is still here, without its records; run hubctl db delete %s --yes, then %s", req.id, why, derr, req.id, fix)
	}
	from := ""
	if req.fromKey() {
		from = " from a thread key"
	}
	if !strings.HasPrefix(why, "pulling") {
		return fmt.Errorf("could not join %s%s: %s; nothing was kept here; %s", req.id, from, why, fix)
	}
	// The pull's own failure keeps its exit code (an unreachable server is 5).
	return fmt.Errorf("could not join %s%s: pulling its records failed: %w; nothing was kept here; %s", req.id, from, pullErr, fix)
}

// joinFrom tries the addresses in turn until one peer answers, and returns it. The server
// (hubctl's, at least) forgets what a failed attempt stored, so the next can succeed.
func joinFrom(ctx context.Context, c *hub.Client, req joinRequest) (ma.Multiaddr, error) {
	var failures []string
	forbidden := true // every failure so far was the server's --user-dial
	for _, addr := range req.addrs {
		err := c.JoinDB(ctx, addr, req.key, req.name, req.cols)
		if err == nil || errors.Is(err, hub.ErrExists) {
			return addr, err
		}
		var se *hub.ServerError
		if errors.As(err, &se) && strings.Contains(se.Msg, hubauth.UnusableThread) {
			return nil, errJoinRefused(req.id)
		}
		if !errors.As(err, &se) || se.Class != nil || strings.Contains(se.Msg, server.ReplicaOnly) {
			return nil, err // unreachable server, auth, not found, refused: another address will not help
		}
		failures = append(failures, fmt.Sprintf("%s: %s", addr, strings.TrimPrefix(se.Msg, "server error: ")))
		forbidden = forbidden && strings.Contains(se.Msg, server.DialForbidden)
	}
	if forbidden {
		// The server's own policy, not the peer: its message names the fix.
		return nil, fmt.Errorf("could not join %s from %s", req.id, strings.Join(failures, "; "))
	}
	if len(failures) == 1 {
		return nil, fmt.Errorf("could not join %s from %s; check that the peer runs and that this server can reach that address", req.id, failures[0])
	}
	return nil, fmt.Errorf("could not join %s from any of its %d addresses (%s); check that the peer runs and that this server can reach one of them", req.id, len(failures), strings.Join(failures, "; "))
}

// announceLog tells the peer joined from about this server's new log at once, by making
// it a replicator of the thread (it keeps every log anyway). go-threads otherwise leaves the
// peer unaware of the log until an edge exchange 10 to 30 seconds later, and until then it
// pushes none of its new records here (bench/converge). A failure costs only that delay.
func announceLog(ctx context.Context, f *Factory, c *hub.Client, id thread.ID, via ma.Multiaddr) {
	comp, err := ma.NewComponent("thread", id.String())
	if err != nil {
		return
	}
	if _, err := c.AddReplicator(ctx, id, via.Decapsulate(comp)); err != nil {
		f.IO.Warnf("the peer will learn of this server's writes at its next exchange (up to a minute): %v", err)
	}
}

// errJoinRefused is what db join says when the server refuses the database's thread ID
// for this identity. hubctl's servers give one answer (hubauth.UnusableThread) whether the
// ID is another identity's, a thread the server only replicates, or unusable otherwise, so
// that nobody learns which databases another user keeps there; the message says no more.
func errJoinRefused(id thread.ID) error {
	return withCode(ExitError, fmt.Errorf("this server refuses database %s for this identity: join it on another server", id))
}

// rejoin handles a database that is already here: the caller's own earlier join. A
// server that answers "exists" for a database the caller cannot see (an older hubctl, or
// one without key checks) gets the same refusal as a hubctl server's.
//
// go-threads cannot rename a database (it keeps the name in memory, set when the database
// is made or loaded), so a name that differs from the one here is not applied: the
// command says which name it kept, and how to get the other.
func rejoin(ctx context.Context, f *Factory, c *hub.Client, req joinRequest, nameFrom string) error {
	db, err := c.GetDB(ctx, req.id, false)
	if errors.Is(err, hub.ErrNotFound) {
		return errJoinRefused(req.id)
	} else if err != nil {
		return err
	}
	f.IO.Infof("Database %s is already here.", req.id)
	if req.name != "" && req.name != db.Name {
		f.IO.Warnf("%s keeps its name here, %s: a database here cannot be renamed, so the %s %s was not applied; to use it, run hubctl db delete %s --yes, then join again", req.id, db.Name, nameFrom, req.name, req.id)
	}
	if len(req.cols) == 0 {
		return nil
	}
	have, err := c.ListCollections(ctx, req.id)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, col := range have {
		names[col.Name] = true
	}
	var added []string
	for _, col := range req.cols {
		if names[col.Name] {
			continue
		}
		if err := c.NewCollection(ctx, req.id, col); err != nil {
			return fmt.Errorf("add collection %s from the invite: %w", col.Name, err)
		}
		added = append(added, col.Name)
	}
	if len(added) > 0 {
		f.IO.Infof("Added the invite's collections it lacked: %s.", strings.Join(added, ", "))
	}
	return nil
}

// pullHint explains go-threads' refusal of records of a collection the peer lacks.
func pullHint(err error) error {
	if strings.Contains(err.Error(), "collection not found") {
		return fmt.Errorf("%w (records of a collection this server does not have: run db join here with a new invite from the peer, which adds it)", err)
	}
	return err
}

func newDBPullCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "pull DB",
		Short: "Fetch a database's new records from its peers now",
		Long: `Fetch a database's new records from its peers now, rather than at the server's next
periodic pull (hubctl daemon --pull-interval). Peers that cannot be reached are skipped;
a pull that brings nothing may mean none answered.`,
		Example: `  hubctl db pull demo`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, db, err := f.hubDB(cmd, args[0])
			if err != nil {
				return err
			}
			id := db.id
			res, err := c.Pull(cmd.Context(), id)
			if err != nil {
				return pullHint(err)
			}
			return p.Print(res, func() output.TableData {
				line := fmt.Sprintf("Pulled %s from %s; %s holds %s.",
					plural(int(res.Pulled), "new record"), plural(res.Peers, "peer"), id, plural(int(res.Records), "record"))
				if res.Peers == 0 && res.Pulled == 0 {
					line = fmt.Sprintf("Nothing to pull: no other peer is known to keep %s; it holds %s here.", id, plural(int(res.Records), "record"))
				}
				return output.TableData{Rows: [][]string{{line}}}
			})
		},
		ValidArgsFunction: argCompletion(f, dbCompletions, 0, false),
	}
}
