package cmd

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/hubctl/hubctl/pkg/output"
)

func newBucketGCCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Free the blocks no bucket and no thread needs any more (an operator's command)",
		Long: `Free the space of removed buckets and overwritten or removed files: every block of the
server's store that no current bucket root and no thread record reaches is deleted, then
the store gives the space back to the disk. Blocks of pushes in flight, and blocks put in
the last two minutes by other means (a peer's records, blocks fetched from a peer), are
kept. It runs on the embedded node, or on a daemon with an account key; a daemon also
runs it on its own every --gc-interval (default 1h).

If a thread log cannot be walked to its start (a record or a key missing), no thread
record is deleted in that run: the report says so. Blocks a bucket names that are not on
this server are never fetched. A large store may take longer than --timeout (100,000
blocks took about 3 s): a run cut off keeps what it freed; give it a longer one.`,
		Example: `  hubctl bucket gc
  hubctl bucket gc -o json
  hubctl bucket gc --timeout 10m`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, err := f.Hub()
			if err != nil {
				return err
			}
			rep, err := c.CollectGarbage(cmd.Context())
			if err != nil {
				return err
			}
			if rep.Problems == nil {
				rep.Problems = []string{}
			}
			return p.Print(rep, func() output.TableData {
				rows := [][]string{
					{"reclaimed", fmt.Sprintf("%d blocks, %s", rep.Reclaimed, humanize.IBytes(uint64(rep.ReclaimedBytes)))},
					{"kept", fmt.Sprintf("%d blocks, %s", rep.Kept, humanize.IBytes(uint64(rep.KeptBytes)))},
					{"scanned", fmt.Sprintf("%d blocks, %s", rep.Scanned, humanize.IBytes(uint64(rep.ScannedBytes)))},
					{"disk", fmt.Sprintf("%s before, %s after", humanize.IBytes(uint64(rep.DiskBefore)), humanize.IBytes(uint64(rep.DiskAfter)))},
					{"time", rep.Duration.Round(1e6).String()},
				}
				if rep.ThreadBlocksKept {
					rows = append(rows, []string{"note", fmt.Sprintf("no thread block was deleted: %d logs could not be walked", rep.IncompleteLogs)})
				}
				if rep.PartialBuckets > 0 {
					rows = append(rows, []string{"note", fmt.Sprintf("%d buckets are not all on this server (written on a peer): the blocks of their earlier versions here are kept", rep.PartialBuckets)})
				}
				if rep.BadBuckets > 0 {
					rows = append(rows, []string{"note", fmt.Sprintf("%d bucket instances were skipped (no /ipfs/<cid> path)", rep.BadBuckets)})
				}
				if len(rep.Problems) > 0 {
					rows = append(rows, []string{"problems", strings.Join(rep.Problems, "; ")})
				}
				return output.TableData{Rows: rows}
			})
		},
	}
}

func newBucketUsageCmd(f *Factory) *cobra.Command {
	var identity string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show the storage your buckets use on the server, and its limit",
		Long: `Show the bytes of the buckets of every database you own on the server (the sum of each
bucket's root size: a file in two buckets counts twice), and the server's limit per
identity (hubctl daemon --storage-per-identity; none on the embedded node). A push
that would go past the limit is refused with "storage quota exhausted"; removing files
or buckets gives the space back.`,
		Example: `  hubctl bucket usage
  hubctl bucket usage -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, err := f.Hub()
			if err != nil {
				return err
			}
			u, err := c.StorageUsage(cmd.Context(), identity)
			if err != nil {
				return err
			}
			return p.Print(u, func() output.TableData {
				limit := "none"
				if u.Limit > 0 {
					limit = humanize.IBytes(uint64(u.Limit))
				}
				return output.TableData{Header: []string{"USED", "LIMIT", "BUCKETS"}, Rows: [][]string{{humanize.IBytes(uint64(u.Used)), limit, fmt.Sprint(u.Buckets)}}}
			})
		},
	}
	cmd.Flags().StringVar(&identity, "identity", "", "another identity's storage (its public key; an operator's call)")
	return cmd
}
