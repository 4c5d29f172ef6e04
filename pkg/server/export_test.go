package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/textileio/go-threads/api/client"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// exportPages calls MethodExportInstances and returns the pages it sent, until the end
// of the stream or its error.
func exportPages(ctx context.Context, conn *grpc.ClientConn, dbID []byte, collection string, query []byte) ([]*pb.FindReply, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, MethodExportInstances)
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(&pb.FindRequest{DbID: dbID, CollectionName: collection, QueryJSON: query}); err != nil {
		return nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	var pages []*pb.FindReply
	for {
		page := &pb.FindReply{}
		err := s.RecvMsg(page)
		if errors.Is(err, io.EOF) {
			return pages, nil
		}
		if err != nil {
			return pages, err
		}
		pages = append(pages, page)
	}
}

// exportTexts is exportPages' instances' text fields, in order.
func exportTexts(t *testing.T, pages []*pb.FindReply) []string {
	t.Helper()
	var out []string
	for _, p := range pages {
		for _, raw := range p.Instances {
			var n note
			if err := json.Unmarshal(raw, &n); err != nil {
				t.Fatalf("instance %s: %v", raw, err)
			}
			out = append(out, n.Text)
		}
	}
	return out
}

// hideSecret is a read filter that hides the instance whose text is "secret" from
// everyone, its owner included.
const hideSecret = `if (instance.text === "secret") { return null }; return instance`

// The owner of a database exports every instance of a collection whose read filter hides
// some, and so does an account key; another user of the same daemon gets the answer any
// call on a database not theirs gets, and callers without a key or without a token are
// refused. Names that are no collection of the database, one that climbs into another
// thread's keys among them, are refused without an instance sent.
func TestExportInstancesReadsAroundReadFilters(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	userKey := newKey(t, reg, hubauth.UserKey)
	alice, bob := newSession(t, d, userKey), newSession(t, d, userKey)
	opKey := newKey(t, reg, hubauth.AccountKey)
	op := newSession(t, d, opKey)
	conn := mustDial(t, d.State().API)
	schema := jsonschema.Reflect(&note{})

	id := thread.NewIDV1(thread.Raw, 32)
	if err := alice.c.NewDB(alice.ctx, id, db.WithNewManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.NewCollection(alice.ctx, id, db.CollectionConfig{Name: "notes", Schema: schema, ReadFilter: hideSecret}, db.WithManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	docs := client.Instances{}
	for _, text := range []string{"a", "b", "c", "secret", "d", "e", "f", "g"} {
		docs = append(docs, &note{Text: text})
	}
	ids, err := alice.c.Create(alice.ctx, id, "notes", docs, db.WithTxnToken(alice.tok))
	if err != nil {
		t.Fatal(err)
	}
	// The filter hides the secret from its owner, instance by instance (go-threads' own
	// Find returned nothing at all when the first instance in ID order was filtered, as
	// the secret is one time in eight; hubctl's servers answer Find themselves now).
	visible := 0
	for _, iid := range ids {
		var n note
		if err := alice.c.FindByID(alice.ctx, id, "notes", iid, &n, db.WithTxnToken(alice.tok)); err == nil {
			visible++
		}
	}
	if visible != 7 {
		t.Fatalf("FindByID through the filter sees %d instances, want 7", visible)
	}
	// Bob's own database, with instances where a climbing name would lead.
	bobDB := thread.NewIDV1(thread.Raw, 32)
	if err := bob.c.NewDB(bob.ctx, bobDB, db.WithNewManagedToken(bob.tok)); err != nil {
		t.Fatal(err)
	}
	if err := bob.c.NewCollection(bob.ctx, bobDB, db.CollectionConfig{Name: "secrets", Schema: schema}, db.WithManagedToken(bob.tok)); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.c.Create(bob.ctx, bobDB, "secrets", client.Instances{&note{Text: "bob's"}}, db.WithTxnToken(bob.tok)); err != nil {
		t.Fatal(err)
	}

	for _, who := range []struct {
		name string
		ctx  context.Context
	}{
		{"the owner", alice.ctx},
		{"an account key with its own token", op.ctx},
		{"an account key without a token", hubContext(t, opKey)},
	} {
		pages, err := exportPages(who.ctx, conn, id.Bytes(), "notes", nil)
		if err != nil {
			t.Fatalf("%s: %v", who.name, err)
		}
		if got := exportTexts(t, pages); len(got) != 8 || !strings.Contains(strings.Join(got, ","), "secret") {
			t.Fatalf("%s: exported %v, want all 8 with the secret", who.name, got)
		}
	}

	// Bob: as a Find of Alice's database answers him.
	_, err = bob.c.Find(bob.ctx, id, "notes", &db.Query{}, &note{}, db.WithTxnToken(bob.tok))
	wantCode(t, "Find (bob)", err, codes.NotFound, "db not found")
	pages, err := exportPages(bob.ctx, conn, id.Bytes(), "notes", nil)
	wantCode(t, "ExportInstances (bob)", err, codes.NotFound, "db not found")
	if len(pages) != 0 {
		t.Fatalf("bob got %d pages", len(pages))
	}
	// A user key without a token, and no key at all.
	pages, err = exportPages(hubContext(t, userKey), conn, id.Bytes(), "notes", nil)
	wantCode(t, "ExportInstances (user key, no token)", err, codes.Unauthenticated, "Token required")
	if len(pages) != 0 {
		t.Fatal("a caller without a token got pages")
	}
	_, findErr := alice.c.Find(context.Background(), id, "notes", &db.Query{}, &note{})
	pages, err = exportPages(context.Background(), conn, id.Bytes(), "notes", nil)
	if err == nil || len(pages) != 0 {
		t.Fatalf("no key: %d pages, %v", len(pages), err)
	}
	wantCode(t, "ExportInstances (no key)", err, status.Code(findErr), status.Convert(findErr).Message())

	// Hostile and wrong names, by the owner: nothing is sent.
	for _, c := range []struct {
		name string
		code codes.Code
	}{
		{"", codes.InvalidArgument},
		{"../", codes.InvalidArgument},
		{"notes/..", codes.InvalidArgument},
		{"x/../../" + bobDB.String(), codes.InvalidArgument},
		{"x/../../../../" + bobDB.String() + "/db/collection/secrets", codes.InvalidArgument},
		{"secrets", codes.NotFound}, // Bob's database's collection, not Alice's
	} {
		pages, err := exportPages(alice.ctx, conn, id.Bytes(), c.name, nil)
		wantCode(t, fmt.Sprintf("collection %q", c.name), err, c.code, "")
		if len(pages) != 0 {
			t.Fatalf("collection %q: %d pages sent", c.name, len(pages))
		}
	}
	_, err = exportPages(alice.ctx, conn, id.Bytes(), "notes", []byte(`{"limit":1}`))
	wantCode(t, "a query", err, codes.InvalidArgument, "")
	// Bob's database, named by Alice: the same answer as any database not hers.
	_, err = exportPages(alice.ctx, conn, bobDB.Bytes(), "secrets", nil)
	wantCode(t, "Bob's database (alice)", err, codes.NotFound, "db not found")
	_, err = exportPages(alice.ctx, conn, []byte("not an id"), "notes", nil)
	wantCode(t, "a malformed database ID", err, codes.NotFound, "db not found")
}

// Pages stay under the smallest message size a daemon accepts, however large the
// instances (each up to a third of it), and under the count bound however small: a
// daemon with a 1 MiB limit exports instances that together are several times that.
func TestExportInstancesPagesAreBounded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const limit = 1 << 20
	d := serveDaemon(t, loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone, Limits: Limits{MaxMessageSize: limit}}))
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := t.Context()
	id := thread.NewIDV1(thread.Raw, 32)
	schema := jsonschema.Reflect(&note{})
	if err := c.NewDB(ctx, id, db.WithNewManagedCollections(
		db.CollectionConfig{Name: "large", Schema: schema},
		db.CollectionConfig{Name: "small", Schema: schema})); err != nil {
		t.Fatal(err)
	}
	const large = 6
	for i := 0; i < large; i++ {
		text := fmt.Sprintf("%d%s", i, strings.Repeat("x", limit/3))
		if _, err := c.Create(ctx, id, "large", client.Instances{&note{Text: text}}); err != nil {
			t.Fatalf("create large %d: %v", i, err)
		}
	}
	small := client.Instances{}
	for i := 0; i < 2500; i++ {
		small = append(small, &note{Text: fmt.Sprint(i)})
	}
	if _, err := c.Create(ctx, id, "small", small); err != nil {
		t.Fatal(err)
	}
	conn := mustDial(t, d.State().API)
	for _, col := range []struct {
		name     string
		n        int
		minPages int
	}{{"large", large, large / 2}, {"small", len(small), 3}} {
		pages, err := exportPages(ctx, conn, id.Bytes(), col.name, nil)
		if err != nil {
			t.Fatalf("%s: %v", col.name, err)
		}
		total := 0
		for i, p := range pages {
			size := proto.Size(p)
			if size > exportPageBytes+6*len(p.Instances) && len(p.Instances) > 1 || size >= limit {
				t.Fatalf("%s: page %d is %d bytes (%d instances)", col.name, i, size, len(p.Instances))
			}
			if len(p.Instances) > exportPageInstances {
				t.Fatalf("%s: page %d holds %d instances", col.name, i, len(p.Instances))
			}
			total += len(p.Instances)
		}
		if total != col.n || len(pages) < col.minPages {
			t.Fatalf("%s: %d instances in %d pages, want %d in at least %d", col.name, total, len(pages), col.n, col.minPages)
		}
	}
}
