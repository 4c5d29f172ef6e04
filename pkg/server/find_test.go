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

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/query/querytest"
)

type named struct {
	Name string `json:"name"`
}

func namesOf(found any) string {
	var out []string
	for _, p := range found.([]*named) {
		out = append(out, p.Name)
	}
	return strings.Join(out, ",")
}

func schemaOf(t *testing.T, raw string) *jsonschema.Schema {
	t.Helper()
	s := &jsonschema.Schema{}
	if err := json.Unmarshal([]byte(raw), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// queryDB makes a database with the table's instances in two collections: "free",
// without indexes, and "indexed", whose indexes were added after its instances, which
// go-threads then never indexes by itself.
func queryDB(t *testing.T, ctx context.Context, c *client.Client, opts ...db.TxnOption) thread.ID {
	t.Helper()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"free", "indexed"} {
		if err := c.NewCollection(ctx, id, db.CollectionConfig{Name: name, Schema: schemaOf(t, querytest.FreeSchema)}); err != nil {
			t.Fatal(err)
		}
		var docs client.Instances
		for _, d := range querytest.Docs {
			var v map[string]any
			_ = json.Unmarshal([]byte(d), &v)
			docs = append(docs, v)
		}
		if _, err := c.Create(ctx, id, name, docs, opts...); err != nil {
			t.Fatal(err)
		}
	}
	var indexes []db.Index
	for _, p := range querytest.Indexes {
		indexes = append(indexes, db.Index{Path: p})
	}
	if err := c.UpdateCollection(ctx, id, db.CollectionConfig{Name: "indexed", Schema: schemaOf(t, querytest.IndexedSchema), Indexes: indexes}); err != nil {
		t.Fatal(err)
	}
	return id
}

// Every client gets ThreadDB's query meaning from hubctl's servers: the table, through
// go-threads' own Go client, by Find and by the Find of a read transaction, on a
// collection without indexes and on one whose indexes go-threads never built. go-threads'
// own Find (the plain server of pkg/hub's TestFindInstances) gets "ann" alone for
// age > 20, sorts after limiting and panics on the mixed-type sorts.
func TestFindAnswersTheTableForGoThreadsClient(t *testing.T) {
	c := noAuthClient(t, filepath.Join(t.TempDir(), "data"))
	ctx := t.Context()
	id := queryDB(t, ctx, c)
	for _, coll := range []string{"free", "indexed"} {
		for _, tc := range querytest.Cases() {
			t.Run(coll+"/"+tc.Name, func(t *testing.T) {
				found, err := c.Find(ctx, id, coll, tc.Query, &named{})
				if err != nil {
					t.Fatal(err)
				}
				if got := namesOf(found); got != tc.Want {
					t.Errorf("Find: %s, want %s", got, tc.Want)
				}
			})
		}
		t.Run(coll+"/in a read transaction", func(t *testing.T) {
			txn, err := c.ReadTransaction(ctx, id, coll)
			if err != nil {
				t.Fatal(err)
			}
			end, err := txn.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = end() }()
			for _, tc := range querytest.Cases() {
				found, err := txn.Find(tc.Query, &named{})
				if err != nil {
					t.Fatalf("%s: %v", tc.Name, err)
				}
				if got := namesOf(found); got != tc.Want {
					t.Errorf("%s: Find in a transaction: %s, want %s", tc.Name, got, tc.Want)
				}
			}
			var one named
			if err := txn.FindByID("e", &one); err != nil || one.Name != "eve" {
				t.Errorf("FindByID in the transaction: %v %v", one, err)
			}
			if ok, err := txn.Has("h", "a"); err != nil || !ok {
				t.Errorf("Has in the transaction: %v %v", ok, err)
			}
		})
	}
}

// What go-threads panicked on or misread is refused in one line, and the daemon stays up.
func TestFindRefusesWhatGoThreadsPanickedOn(t *testing.T) {
	d, _ := startDaemon(t, hubauth.AuthNone)
	conn, err := grpc.Dial(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	id := queryDB(t, ctx, c)
	api := pb.NewAPIClient(conn)
	deep := `{"fieldPath":"name","operation":0,"value":{"string":"x"}}`
	nested := `{"ands":[` + deep + `]}`
	for i := 0; i < 20; i++ {
		nested = `{"ors":[` + nested + `]}`
	}
	many := strings.Repeat(deep+",", 300)
	for _, tc := range []struct{ name, query, want string }{
		{"an unknown operation", `{"ands":[{"fieldPath":"age","operation":9,"value":{"float":1}}]}`, "operation 9 is not one of"},
		{"no value", `{"ands":[{"fieldPath":"age","operation":0,"value":{}}]}`, "exactly one of string, bool or float"},
		{"two values", `{"ands":[{"fieldPath":"age","operation":0,"value":{"float":1,"string":"x"}}]}`, "exactly one of string, bool or float"},
		{"a null criterion", `{"ands":[null]}`, "ands[0] is null"},
		{"a null alternative", `{"ors":[null]}`, "ors[0] is null"},
		{"no field", `{"ands":[{"operation":0,"value":{"float":1}}]}`, "has no fieldPath"},
		{"a negative limit", `{"limit":-1}`, "must not be negative"},
		{"alternatives 20 deep", nested, "nest deeper than"},
		{"300 criteria", `{"ands":[` + strings.TrimSuffix(many, ",") + `]}`, "more than 256 criteria"},
		{"not JSON", `{"ands":`, "invalid query"},
	} {
		_, err := api.Find(ctx, &pb.FindRequest{DbID: id.Bytes(), CollectionName: "indexed", QueryJSON: []byte(tc.query)})
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.want) || strings.Contains(st.Message(), "\n") {
			t.Errorf("%s: %v %q, want InvalidArgument with %q", tc.name, st.Code(), st.Message(), tc.want)
		}
	}
	_, err = api.Find(ctx, &pb.FindRequest{DbID: id.Bytes(), CollectionName: "../free", QueryJSON: []byte(`{}`)})
	wantCode(t, "a hostile collection name", err, codes.NotFound, "collection not found")
	_, err = api.Find(ctx, &pb.FindRequest{DbID: thread.NewIDV1(thread.Raw, 32).Bytes(), CollectionName: "free", QueryJSON: []byte(`{}`)})
	if status.Code(err) != codes.NotFound {
		t.Errorf("a database that is not there: %v", err)
	}
	// Still up, and still answering.
	found, err := c.Find(ctx, id, "free", &db.Query{Sort: db.Sort{FieldPath: "age"}, Limit: 1}, &named{})
	if err != nil || namesOf(found) != "gus" {
		t.Fatalf("after the refusals: %v %v", found, err)
	}
}

// Find answers through the read filter as go-threads does: what the filter drops is not
// sent and does not count for limit or skip, and what is sent is filtered.
func TestFindThroughTheReadFilter(t *testing.T) {
	c := noAuthClient(t, filepath.Join(t.TempDir(), "data"))
	ctx := t.Context()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Admins are hidden; everyone else loses their age.
	filter := `if (instance.admin === true) { return null }; delete instance.age; return instance`
	err := c.NewCollection(ctx, id, db.CollectionConfig{Name: "people", Schema: schemaOf(t, querytest.FreeSchema), ReadFilter: filter})
	if err != nil {
		t.Fatal(err)
	}
	var docs client.Instances
	for _, d := range querytest.Docs {
		var v map[string]any
		_ = json.Unmarshal([]byte(d), &v)
		docs = append(docs, v)
	}
	if _, err := c.Create(ctx, id, "people", docs); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	found, err := c.Find(ctx, id, "people", &db.Query{Skip: 1, Limit: 3}, &map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range found.([]*map[string]any) {
		got = append(got, *m)
	}
	// Without ann (admin): bob, cy, dee, ...; skip 1 and limit 3: cy, dee, eve.
	var names []string
	for _, m := range got {
		names = append(names, fmt.Sprint(m["name"]))
		if _, ok := m["age"]; ok {
			t.Errorf("%v: the filter's change is not what was sent", m)
		}
	}
	if strings.Join(names, ",") != "cy,dee,eve" {
		t.Errorf("through the filter: %v, want cy,dee,eve", names)
	}
	// Criteria see the instance as stored, as in go-threads: age is there to match on.
	found, err = c.Find(ctx, id, "people", &db.Query{Ands: []*db.Criterion{{FieldPath: "age", Operation: db.Gt, Value: db.Value{Float: ptr(30.0)}}}}, &named{})
	if err != nil || namesOf(found) != "eve" {
		t.Errorf("age > 30 through the filter: %v %v, want eve (ann and hal are admins)", found, err)
	}
}

func ptr[T any](v T) *T { return &v }

// A Find answer larger than a message is ResourceExhausted before it is held whole, and
// the streaming FindInstances sends it in pages.
func TestFindTooLargeForOneMessage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := serveDaemon(t, loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone, Limits: Limits{MaxMessageSize: 1 << 20}}))
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.NewCollection(ctx, id, db.CollectionConfig{Name: "big", Schema: schemaOf(t, querytest.FreeSchema)}); err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 100<<10)
	for batch := 0; batch < 3; batch++ {
		var docs client.Instances
		for i := 0; i < 6; i++ {
			docs = append(docs, map[string]any{"_id": fmt.Sprintf("i%02d", batch*6+i), "name": fmt.Sprint(batch*6 + i), "pad": pad})
		}
		if _, err := c.Create(ctx, id, "big", docs); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.Find(ctx, id, "big", &db.Query{}, &named{})
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "ask with a limit") {
		t.Fatalf("an answer of 1.8 MB past a 1 MiB limit: %v %q", st.Code(), st.Message())
	}
	found, err := c.Find(ctx, id, "big", &db.Query{Limit: 5}, &named{})
	if err != nil || len(found.([]*named)) != 5 {
		t.Fatalf("with a limit: %v", err)
	}
	conn, err := grpc.Dial(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, MethodFindInstances)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(&pb.FindRequest{DbID: id.Bytes(), CollectionName: "big", QueryJSON: []byte(`{"sort":{"fieldPath":"_id","desc":true}}`)}); err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	var ids []string
	pages := 0
	for {
		rep := &pb.FindReply{}
		if err := stream.RecvMsg(rep); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream: %v", err)
			}
			break
		}
		pages++
		for _, in := range rep.Instances {
			var v struct {
				ID string `json:"_id"`
			}
			_ = json.Unmarshal(in, &v)
			ids = append(ids, v.ID)
		}
	}
	if len(ids) != 18 || ids[0] != "i17" || ids[17] != "i00" || pages < 4 {
		t.Fatalf("FindInstances sent %d instances in %d pages: %v", len(ids), pages, ids)
	}
}

// findPages calls MethodFindInstances and reads every page.
func findPages(ctx context.Context, conn *grpc.ClientConn, dbID []byte, collection string, query []byte) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, MethodFindInstances)
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(&pb.FindRequest{DbID: dbID, CollectionName: collection, QueryJSON: query}); err != nil {
		return nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	var texts []string
	for {
		page := &pb.FindReply{}
		err := s.RecvMsg(page)
		if errors.Is(err, io.EOF) {
			return texts, nil
		}
		if err != nil {
			return texts, err
		}
		for _, in := range page.Instances {
			var n note
			_ = json.Unmarshal(in, &n)
			texts = append(texts, n.Text)
		}
	}
}

// FindInstances lets through exactly whom Find lets through, with Find's answers, and
// reads through the read filter as Find does (ExportInstances is the call that reads
// around it, for the owner).
func TestFindInstancesAnswersAsFind(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	userKey := newKey(t, reg, hubauth.UserKey)
	alice, bob := newSession(t, d, userKey), newSession(t, d, userKey)
	op := newSession(t, d, newKey(t, reg, hubauth.AccountKey))
	conn := mustDial(t, d.State().API)
	id := thread.NewIDV1(thread.Raw, 32)
	if err := alice.c.NewDB(alice.ctx, id, db.WithNewManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.NewCollection(alice.ctx, id, db.CollectionConfig{Name: "notes", Schema: jsonschema.Reflect(&note{}), ReadFilter: hideSecret}, db.WithManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	docs := client.Instances{}
	for _, text := range []string{"a", "b", "c", "secret", "d", "e", "f", "g"} {
		docs = append(docs, &note{Text: text})
	}
	if _, err := alice.c.Create(alice.ctx, id, "notes", docs, db.WithTxnToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	q := []byte(`{"sort":{"fieldPath":"text","desc":true},"limit":3}`)
	for _, s := range []session{alice, op} {
		texts, err := findPages(s.ctx, conn, id.Bytes(), "notes", q)
		if err != nil || strings.Join(texts, ",") != "g,f,e" {
			t.Fatalf("FindInstances: %v %v, want g,f,e", texts, err)
		}
		all, err := findPages(s.ctx, conn, id.Bytes(), "notes", nil)
		if err != nil || len(all) != 7 || strings.Contains(strings.Join(all, ","), "secret") {
			t.Fatalf("FindInstances of all through the filter: %v %v", all, err)
		}
		var got []note
		found, err := s.c.Find(s.ctx, id, "notes", &db.Query{Sort: db.Sort{FieldPath: "text", Desc: true}, Limit: 3}, &note{}, db.WithTxnToken(s.tok))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range found.([]*note) {
			got = append(got, *n)
		}
		if len(got) != 3 || got[0].Text != "g" || got[2].Text != "e" {
			t.Fatalf("Find: %v", got)
		}
	}
	// Bob, a user key without a token, and no key: Find's answers, and nothing sent.
	_, findErr := bob.c.Find(bob.ctx, id, "notes", &db.Query{}, &note{}, db.WithTxnToken(bob.tok))
	texts, err := findPages(bob.ctx, conn, id.Bytes(), "notes", nil)
	wantCode(t, "FindInstances (bob)", err, status.Code(findErr), status.Convert(findErr).Message())
	wantCode(t, "Find (bob)", findErr, codes.NotFound, "db not found")
	texts2, err := findPages(hubContext(t, userKey), conn, id.Bytes(), "notes", nil)
	wantCode(t, "FindInstances (user key, no token)", err, codes.Unauthenticated, "Token required")
	_, findErr = alice.c.Find(context.Background(), id, "notes", &db.Query{}, &note{})
	texts3, err := findPages(context.Background(), conn, id.Bytes(), "notes", nil)
	if err == nil {
		t.Fatal("FindInstances without a key answered")
	}
	wantCode(t, "FindInstances (no key)", err, status.Code(findErr), status.Convert(findErr).Message())
	if len(texts)+len(texts2)+len(texts3) != 0 {
		t.Fatalf("refused callers got instances: %v %v %v", texts, texts2, texts3)
	}
	// A hostile collection name and query, by the owner.
	_, findErr = alice.c.Find(alice.ctx, id, "x/../../notes", &db.Query{}, &note{}, db.WithTxnToken(alice.tok))
	_, err = findPages(alice.ctx, conn, id.Bytes(), "x/../../notes", nil)
	wantCode(t, "FindInstances (a climbing name)", err, status.Code(findErr), status.Convert(findErr).Message())
	wantCode(t, "Find (a climbing name)", findErr, codes.NotFound, "collection not found")
	_, err = findPages(alice.ctx, conn, id.Bytes(), "notes", []byte(`{"sort":{"fieldPath":"text"},"ands":[{"fieldPath":"text","operation":-1,"value":{"string":"a"}}]}`))
	wantCode(t, "FindInstances (an unknown operation)", err, codes.InvalidArgument, "")
}
