package hub

import (
	"context"
	"encoding/json"
	"fmt"

	pb "github.com/textileio/go-threads/api/pb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/hubctl/hubctl/pkg/blockgc"
)

// MethodCollectGarbage is hubctl's own call that frees the blocks no bucket and no
// thread needs any more (an operator's: an account key, or the embedded node).
const MethodCollectGarbage = "/hubctl.v1.Store/CollectGarbage"

// MethodStorageUsage is hubctl's own call that reports the storage an identity's
// buckets use on the server, and the server's limit.
const MethodStorageUsage = "/hubctl.v1.Store/StorageUsage"

// GCReport is what a collection found and did.
type GCReport = blockgc.Report

// CollectGarbage runs a block collection on the server and returns its report.
func (c *Client) CollectGarbage(ctx context.Context) (GCReport, error) {
	reply := &wrapperspb.BytesValue{}
	err := c.Call(ctx, func(ctx context.Context, _ pb.APIClient) error {
		conn, err := c.Conn(ctx)
		if err != nil {
			return err
		}
		return conn.Invoke(ctx, MethodCollectGarbage, &emptypb.Empty{}, reply)
	})
	if err != nil {
		return GCReport{}, err
	}
	var rep GCReport
	if err := json.Unmarshal(reply.Value, &rep); err != nil {
		return GCReport{}, fmt.Errorf("read the server's collection report: %w", err)
	}
	return rep, nil
}

// StorageUsage is an identity's storage on a server.
type StorageUsage struct {
	Identity string `json:"identity"`
	// Used is the bytes of its buckets (the cumulative sizes of their roots).
	Used    int64 `json:"used"`
	Buckets int   `json:"buckets"`
	// Limit is the server's limit per identity (0: none).
	Limit int64 `json:"limit"`
}

// StorageUsage reports identity's storage ("" for the caller's own; only operators may
// name another).
func (c *Client) StorageUsage(ctx context.Context, identity string) (StorageUsage, error) {
	reply := &wrapperspb.BytesValue{}
	err := c.Call(ctx, func(ctx context.Context, _ pb.APIClient) error {
		conn, err := c.Conn(ctx)
		if err != nil {
			return err
		}
		return conn.Invoke(ctx, MethodStorageUsage, wrapperspb.String(identity), reply)
	})
	if err != nil {
		return StorageUsage{}, err
	}
	var u StorageUsage
	if err := json.Unmarshal(reply.Value, &u); err != nil {
		return StorageUsage{}, fmt.Errorf("read the server's storage report: %w", err)
	}
	return u, nil
}
