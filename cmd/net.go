package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/hub"
	"github.com/hubctl/hubctl/pkg/output"
)

func newNetCmd(f *Factory) *cobra.Command {
	return group(&cobra.Command{
		Use:   "net",
		Short: "The server's peer-to-peer side: its peer ID, threads' logs, replicators",
		Long: `ThreadDB replicates a database between the peers that hold its key, over libp2p. These
commands show the server's libp2p identity and a database's logs, and add replicators.
See also 'db info --invite', 'db join' and 'db pull'.`,
	}, newNetIDCmd(f), newNetThreadCmd(f), group(&cobra.Command{
		Use:   "replicator",
		Short: "Peers that keep a copy of a database's records",
	}, newNetReplicatorAddCmd(f)))
}

func newNetIDCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "Print the server's peer ID and libp2p addresses",
		Long: `Print the server's libp2p peer ID, the addresses it announces to peers (with /p2p/ID, as
'net replicator add' and --bootstrap take them) and the addresses it listens on.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, err := f.Hub()
			if err != nil {
				return err
			}
			h, err := c.Host(cmd.Context())
			if err != nil {
				return err
			}
			if c.Target().Embedded() {
				f.IO.Infof("This is the embedded node, which runs only while a hubctl command does: peers can reach this data directory through hubctl daemon.")
			}
			return p.Print(h, func() output.TableData {
				rows := [][]string{{"Peer ID:", h.PeerID}}
				rows = append(rows, listRows("Announced:", h.Addrs, announcedNone(h))...)
				if h.AddrsKnown {
					rows = append(rows, listRows("Listening:", h.Listen, "(none)")...)
				}
				return output.TableData{Rows: rows}
			})
		},
	}
}

func announcedNone(h hub.Host) string {
	if !h.AddrsKnown {
		return "(unknown: the server does not report its addresses)"
	}
	return "(none: loopback and private addresses are not announced; see hubctl daemon --announce-addr, --include-private-addrs)"
}

// listRows lays out a labelled list, one item per row.
func listRows(label string, items []string, none string) [][]string {
	if len(items) == 0 {
		return [][]string{{label, none}}
	}
	rows := make([][]string, len(items))
	for i, it := range items {
		rows[i] = []string{"", it}
	}
	rows[0][0] = label
	return rows
}

type netThreadOptions struct {
	showKeys bool
}

func newNetThreadCmd(f *Factory) *cobra.Command {
	opts := &netThreadOptions{}
	cmd := &cobra.Command{
		Use:   "thread DB",
		Short: "Show a database's thread: its logs, their heads and record counts, its peers",
		Long: `Show a database's thread as the server holds it: one log per writer (peers and users
that wrote to it), each with its head record and record count, and the other peers the
logs are kept on. Comparing the counts on two peers shows whether they have converged.

DB is a database name or a thread ID; a thread this server only replicates has no name.
Keys (the thread key and the private keys of the logs this server writes) are shown only
with --show-keys.`,
		Example: `  hubctl net thread demo
  hubctl net thread bafk... -o json`,
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
			id := db.id
			t, err := c.Thread(cmd.Context(), id, opts.showKeys)
			if err != nil {
				return err
			}
			return p.Print(t, func() output.TableData {
				rows := [][]string{{"ID:", t.ID}, {"Records:", fmt.Sprint(t.Records)}}
				if t.Key != "" {
					rows = append(rows, []string{"Key:", t.Key})
				}
				rows = append(rows, listRows("Peers:", t.Peers, "(none)")...)
				for _, l := range t.Logs {
					owner := "peer"
					if l.Own {
						owner = "own"
					}
					head := l.Head
					if head == "" {
						head = "(empty)"
					}
					rows = append(rows, []string{"Log:", fmt.Sprintf("%s  %s  %s  head %s", l.ID, owner, plural(int(l.Records), "record"), head)})
					if l.PrivKey != "" {
						rows = append(rows, []string{"", "private key " + l.PrivKey})
					}
				}
				return output.TableData{Rows: rows}
			})
		},
		ValidArgsFunction: argCompletion(f, dbCompletions, 0, false),
	}
	cmd.Flags().BoolVar(&opts.showKeys, "show-keys", false, "also print the thread key and the logs' private keys")
	return cmd
}

func newNetReplicatorAddCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "add DB PEER_ADDR",
		Short: "Make a peer keep a copy of a database's records and serve them while this server is down",
		Long: `Make the peer at PEER_ADDR (as 'hubctl net id' prints it on that peer, ending in /p2p/ID)
a replicator of the database: the server sends it every log now and every new record from
then on, and the peer serves them to other peers even while this server is down. A
replicator gets the thread's service key only: it stores and serves the records but
cannot read them. It fetches the records in the background; compare the record counts of
'hubctl net thread DB' on both peers to see when it has them all.`,
		Example: `  hubctl net replicator add demo /ip4/10.0.0.3/tcp/4006/p2p/12D3...`,
		Args:    usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := hub.ParsePeerAddr(args[1])
			if err != nil {
				return err
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, db, err := f.hubDB(cmd, args[0])
			if err != nil {
				return err
			}
			id := db.id
			pid, err := c.AddReplicator(cmd.Context(), id, addr)
			if err != nil {
				return replicatorErr(err, addr.String())
			}
			res := struct {
				ID   string `json:"id"`
				Peer string `json:"peer"`
			}{id.String(), pid}
			return p.Print(res, func() output.TableData {
				return output.TableData{Rows: [][]string{{fmt.Sprintf("Peer %s now replicates %s.", pid, id)}}}
			})
		},
		ValidArgsFunction: argCompletion(f, dbCompletions, 0, false),
	}
}

// replicatorErr names the likely cause when the peer could not be reached.
func replicatorErr(err error, addr string) error {
	msg := err.Error()
	if strings.Contains(msg, "dial") || strings.Contains(msg, "connect") || strings.Contains(msg, "no addresses") {
		return fmt.Errorf("%w; check that the peer at %s runs and that this server can reach it", err, addr)
	}
	return err
}
