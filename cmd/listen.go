package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/hub"
)

type dbListenOptions struct {
	collection string
	action     string
	count      int
	reconnect  bool
}

func newDBListenCmd(f *Factory) *cobra.Command {
	opts := &dbListenOptions{}
	cmd := &cobra.Command{
		Use:   "listen DB",
		Short: "Print a database's changes as they happen, one JSON line per event",
		Long: `Print a database's changes as they happen, one JSON line per event on standard output:
{"collection": ..., "instanceId": ..., "action": "create|save|delete", "instance": {...}}
(the instance after a create or save). It runs until Ctrl-C (exit 0) or --count events.
"Listening" on standard error says the server has accepted the request.

It needs a server (--api or a running hubctl daemon): the embedded node lives only as long
as one command, so while it listened no other command could change the database.`,
		Example: `  hubctl db listen demo
  hubctl db listen demo --collection notes --type save --count 1
  hubctl db listen demo --reconnect | jq .instance`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDBListen(cmd.Context(), f, args[0], opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.collection, "collection", "", "only events of this collection")
	fl.StringVar(&opts.action, "type", "", "only events of this type: create, save or delete")
	fl.IntVar(&opts.count, "count", 0, "stop after this many events (0: until Ctrl-C)")
	fl.BoolVar(&opts.reconnect, "reconnect", false, "when the server goes away (a restart), reconnect and go on listening")
	return cmd
}

func runDBListen(ctx context.Context, f *Factory, ref string, opts *dbListenOptions) error {
	if opts.action != "" && !slices.Contains(hub.Actions, opts.action) {
		return usageErrorf("invalid --type %q: use create, save or delete", opts.action)
	}
	if opts.count < 0 {
		return usageErrorf("--count must be 0 or more")
	}
	c, err := f.Hub()
	if err != nil {
		return err
	}
	if c.Target().Embedded() {
		return usageErrorf("db listen needs a server: the embedded node lives only as long as one command, so nothing else could change the database; start one with hubctl daemon, or pass --api")
	}
	id, err := c.ResolveDB(ctx, ref)
	if err != nil {
		return err
	}
	seen := 0
	enc := json.NewEncoder(f.IO.Out)
	var writeErr error
	onEvent := func(ev hub.Event) bool {
		if writeErr = enc.Encode(ev); writeErr != nil {
			return false // stdout closed (a pipe into head, say): stop quietly
		}
		seen++
		return opts.count == 0 || seen < opts.count
	}
	filter := hub.ListenFilter{Collection: opts.collection, Action: opts.action}
	backoff := 250 * time.Millisecond
	lost := false // during an outage, say so once rather than at every retry
	for attempt := 0; ; attempt++ {
		ready := func() { f.IO.Infof("Listening to %s (Ctrl-C to stop).", id) }
		if attempt > 0 {
			ready = func() { f.IO.Infof("Listening again to %s.", id) }
		}
		err := c.Listen(ctx, id, filter, func() { lost = false; ready() }, onEvent)
		switch {
		case writeErr != nil:
			return nil
		case err == nil:
			return nil
		case !opts.reconnect || !errors.Is(err, hub.ErrUnreachable):
			return err
		}
		if !lost {
			lost = true
			backoff = 250 * time.Millisecond
			f.IO.Warnf("lost the connection to %s; reconnecting until it is back (Ctrl-C to stop)", c.Target())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
