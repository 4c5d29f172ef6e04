package hub

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/textileio/go-threads/core/thread"
	"github.com/tidwall/gjson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/internal/testnode"
	"github.com/hubctl/hubctl/pkg/node"
	"github.com/hubctl/hubctl/pkg/server"
)

// hideSecret hides the instance named "secret" from every reader, the owner included.
const hideSecret = `if (instance.name === "secret") { return null }; return instance`

// exportDB makes a database with a collection "notes" whose read filter hides one of
// its n instances, and an unfiltered collection "plain" with 2 instances.
func exportDB(t *testing.T, ctx context.Context, c *Client, n int) thread.ID {
	t.Helper()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, "exported"); err != nil {
		t.Fatal(err)
	}
	schema := []byte(`{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"}}}`)
	if err := c.NewCollection(ctx, id, Collection{Name: "notes", Schema: schema, ReadFilter: hideSecret}); err != nil {
		t.Fatal(err)
	}
	if err := c.NewCollection(ctx, id, Collection{Name: "plain", Schema: schema}); err != nil {
		t.Fatal(err)
	}
	var batch [][]byte
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("note %d", i)
		if i == n/2 {
			name = "secret"
		}
		batch = append(batch, []byte(fmt.Sprintf(`{"_id":"n%05d","name":%q}`, i, name)))
		if len(batch) == 500 || i == n-1 {
			if _, err := c.CreateInstances(ctx, id, "notes", batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	if _, err := c.CreateInstances(ctx, id, "plain", docs(`{"_id":"p1","name":"a"}`, `{"_id":"p2","name":"b"}`)); err != nil {
		t.Fatal(err)
	}
	return id
}

// exportIDs reads every instance of collection through e, in order.
func exportIDs(t *testing.T, ctx context.Context, e *Export, collection string) []string {
	t.Helper()
	var ids []string
	err := e.Each(ctx, collection, func(doc []byte) error {
		ids = append(ids, gjson.GetBytes(doc, "_id").String())
		return nil
	})
	if err != nil {
		t.Fatalf("export %s: %v", collection, err)
	}
	return ids
}

// From hubctl daemon, the database's owner exports every instance, the one its read
// filter hides included, over several pages, in _id order; another user of the daemon
// is told the database does not exist.
func TestExportReadsAroundReadFilters(t *testing.T) {
	tgt, key, _ := keysDaemon(t, 0)
	ctx := t.Context()
	auth := Auth{Key: key.Key, Secret: key.Secret}
	owner := newClient(t, Options{Target: tgt, Auth: auth, Identity: testIdentity(t)})
	const n = 2500 // pages of 1,000 on the server
	id := exportDB(t, ctx, owner, n)
	seen, err := owner.FindInstances(ctx, id, "notes", nil)
	if err != nil || len(seen) != n-1 {
		t.Fatalf("Find through the filter: %d instances, %v; want %d", len(seen), err, n-1)
	}

	e, err := owner.OpenExport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !e.Unfiltered() || len(e.Filtered) != 0 || len(e.Collections) != 2 || e.Collections[0].ReadFilter != hideSecret {
		t.Fatalf("export: unfiltered %v, filtered %v, collections %+v", e.Unfiltered(), e.Filtered, e.Collections)
	}
	ids := exportIDs(t, ctx, e, "notes")
	if len(ids) != n {
		t.Fatalf("exported %d instances of notes, want %d", len(ids), n)
	}
	for i, got := range ids {
		if want := fmt.Sprintf("n%05d", i); got != want {
			t.Fatalf("instance %d is %s, want %s", i, got, want)
		}
	}
	if got := exportIDs(t, ctx, e, "plain"); strings.Join(got, ",") != "p1,p2" {
		t.Fatalf("plain: %v", got)
	}
	// Again, in another order, and counted.
	if got, err := e.Count(ctx, "notes"); err != nil || got != n {
		t.Fatalf("count notes: %d %v", got, err)
	}
	if _, err := e.Count(ctx, "nothere"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "collection nothere does not exist") {
		t.Fatalf("count of a missing collection: %v", err)
	}

	// Another identity, with the same key.
	other := newClient(t, Options{Target: tgt, Auth: auth, Identity: testIdentity(t)})
	if _, err := other.OpenExport(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another user's export: %v, want not found", err)
	}
}

// The embedded node reads around read filters: it is the same server with key checks
// off, for whoever holds its directory.
func TestExportEmbedded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	c := newClient(t, Options{Local: func(ctx context.Context) (LocalServer, error) {
		return server.OpenEmbedded(ctx, node.Options{Dir: dir, NoNetPulling: true})
	}})
	ctx := t.Context()
	id := exportDB(t, ctx, c, 8)
	e, err := c.OpenExport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := exportIDs(t, ctx, e, "notes"); len(got) != 8 || !e.Unfiltered() {
		t.Fatalf("exported %v (unfiltered %v)", got, e.Unfiltered())
	}
}

// A plain go-threads server has no way around read filters: the export reads through
// Find and names the collections whose filters may hide instances.
func TestExportFromPlainThreads(t *testing.T) {
	s := startNode(t, testnode.Options{})
	tgt, _ := ParseTarget(s.Addr, false, "", false)
	c := newClient(t, Options{Target: tgt, Identity: testIdentity(t)})
	ctx := t.Context()
	id := exportDB(t, ctx, c, 8)
	e, err := c.OpenExport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Unfiltered() || strings.Join(e.Filtered, ",") != "notes" {
		t.Fatalf("unfiltered %v, filtered %v; want filtered notes", e.Unfiltered(), e.Filtered)
	}
	if got := exportIDs(t, ctx, e, "notes"); len(got) != 7 {
		t.Fatalf("through the filter: %v, want 7", got)
	}
	if got := exportIDs(t, ctx, e, "plain"); len(got) != 2 {
		t.Fatalf("plain: %v", got)
	}
	if _, err := c.OpenExport(ctx, thread.NewIDV1(thread.Raw, 32)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a missing database: %v", err)
	}
}

// The answers that mean the server has no ExportInstances: plain go-threads' and an older
// hubctl's (whose Guard left methods it did not know to operators). Refusals of the call
// itself are not among them.
func TestExportUnsupported(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{status.Error(codes.Unimplemented, "unknown service hubctl.v1.Store"), true},
		{status.Error(codes.Unimplemented, "unknown method ExportInstances for service hubctl.v1.Store"), true},
		{status.Error(codes.PermissionDenied, msgNotAccessible), true},
		{status.Error(codes.PermissionDenied, "something else"), false},
		{status.Error(codes.NotFound, "db not found"), false},
		{status.Error(codes.Unauthenticated, "Token required"), false},
		{errors.New("plain"), false},
	} {
		if got := unsupported(c.err); got != c.want {
			t.Errorf("unsupported(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
