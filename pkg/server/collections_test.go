package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/textileio/go-threads/api/client"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
)

// mustSchema reads a schema as go-threads' client takes it.
func mustSchema(t *testing.T, s string) *jsonschema.Schema {
	t.Helper()
	var js jsonschema.Schema
	if err := json.Unmarshal([]byte(s), &js); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return &js
}

const goodSchema = `{"type":"object","properties":{"_id":{"type":"string"},"x":{"type":"string"}}}`

// schemaAttacks are the attacks, as a Hub client would send them: each must be
// refused with InvalidArgument by NewCollection, UpdateCollection and NewDB, and none may
// make the server fetch anything. URL is replaced with a local HTTP server's address and
// FILE with a file holding a secret.
var schemaAttacks = []struct{ name, schema, msg string }{
	{"the issue's cycle", `{"type":"object","properties":{"_id":{"type":"string"},"x":{"$ref":"#/properties/x"}}}`,
		"invalid schema: /properties/x: the schema refers back to itself without descending into a property or an item (/properties/x -> /properties/x)"},
	{"a cycle through allOf", `{"type":"object","properties":{"_id":{"type":"string"}},"allOf":[{"$ref":"#/definitions/a"}],
		"definitions":{"a":{"anyOf":[{"$ref":"#/definitions/b"}]},"b":{"allOf":[{"$ref":"#/definitions/a"}]}}}`, "leads back to /definitions/a"},
	{"http", `{"type":"object","properties":{"_id":{"type":"string"},"x":{"$ref":"URL/x.json"}}}`,
		`invalid schema: /properties/x: $ref "URL/x.json" is not allowed: only references inside the schema ("#/...") are; schemas are never fetched`},
	{"http with a fragment", `{"type":"object","properties":{"_id":{"type":"string"},"x":{"$ref":"URL/x.json#/definitions/a"}}}`, "is not allowed"},
	{"file", `{"type":"object","properties":{"_id":{"type":"string"},"x":{"$ref":"file://FILE#/keys/1"}}}`, `$ref "file://FILE#/keys/1" is not allowed`},
	{"relative", `{"type":"object","properties":{"_id":{"type":"string"},"x":{"$ref":"keys.json"}}}`, `$ref "keys.json" is not allowed`},
	// go-threads keeps additionalProperties verbatim: an id there makes "#" references
	// inside it remote.
	{"an id in additionalProperties", `{"type":"object","properties":{"_id":{"type":"string"}},
		"additionalProperties":{"id":"URL/y.json#f","properties":{"y":{"$ref":"#/definitions/a"}}},"definitions":{"a":{}}}`, "below the root is not allowed"},
	{"dangling", `{"type":"object","properties":{"_id":{"type":"string"},"x":{"$ref":"#/definitions/nope"}}}`, "points nowhere"},
}

func attackSchema(s, url, file string) string {
	return strings.NewReplacer("URL", url, "FILE", file).Replace(s)
}

// Every attack is refused where a schema enters the server, as InvalidArgument, and the
// server never fetches a URL (a local HTTP server counts requests) nor stores anything;
// the daemon keeps serving.
func TestSchemaAttacksRefused(t *testing.T) {
	var hits atomic.Int32
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"type":"string","definitions":{"a":{"type":"string"}}}`))
	}))
	defer web.Close()
	secret := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(secret, []byte(`{"keys":[{"type":"object"},{"type":"SECRET-KEY-MATERIAL"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}

	d, reg := startDaemon(t, hubauth.AuthKeys)
	c, ctx, tok := userSession(t, d, reg)
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, db.WithNewManagedToken(tok)); err != nil {
		t.Fatal(err)
	}
	if err := c.NewCollection(ctx, id, db.CollectionConfig{Name: "good", Schema: mustSchema(t, goodSchema)}, db.WithManagedToken(tok)); err != nil {
		t.Fatal(err)
	}

	for _, a := range schemaAttacks {
		t.Run(a.name, func(t *testing.T) {
			s := mustSchema(t, attackSchema(a.schema, web.URL, secret))
			msg := attackSchema(a.msg, web.URL, secret)
			check := func(what string, err error) {
				t.Helper()
				st := status.Convert(err)
				if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), msg) {
					t.Fatalf("%s: got %v %q, want InvalidArgument with %q", what, st.Code(), st.Message(), msg)
				}
				if strings.Contains(st.Message(), "SECRET") {
					t.Fatalf("%s: the answer quotes the file: %q", what, st.Message())
				}
			}
			check("NewCollection", c.NewCollection(ctx, id, db.CollectionConfig{Name: "bad", Schema: s}, db.WithManagedToken(tok)))
			check("UpdateCollection", c.UpdateCollection(ctx, id, db.CollectionConfig{Name: "good", Schema: s}, db.WithManagedToken(tok)))
			other := thread.NewIDV1(thread.Raw, 32)
			err := c.NewDB(ctx, other, db.WithNewManagedToken(tok), db.WithNewManagedCollections(db.CollectionConfig{Name: "bad", Schema: s}))
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), `collection "bad": invalid schema: `) {
				t.Fatalf("NewDB: got %v %q", st.Code(), st.Message())
			}
			if _, err := c.GetDBInfo(ctx, other, db.WithManagedToken(tok)); err == nil {
				t.Error("the refused NewDB created the database")
			}
			if _, err := c.GetCollectionInfo(ctx, id, "bad", db.WithManagedToken(tok)); err == nil {
				t.Error("the refused NewCollection created the collection")
			}
			// The good collection is untouched, and writes to it work.
			info, err := c.GetCollectionInfo(ctx, id, "good", db.WithManagedToken(tok))
			if err != nil {
				t.Fatal(err)
			}
			if stored, _ := json.Marshal(info.Schema); strings.Contains(string(stored), "$ref") {
				t.Fatalf("the refused update changed the schema: %s", stored)
			}
			if _, err := c.Create(ctx, id, "good", client.Instances{map[string]any{"x": "y"}}, db.WithTxnToken(tok)); err != nil {
				t.Fatalf("create after the refusal: %v", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server fetched the attack URL %d times", n)
	}
}

// A collection stored before the check (planted here through a node served with no
// interceptors) crashed the daemon with a stack overflow on the next write. Now the write
// is refused with the fix, the daemon keeps serving, and `collection update` repairs it.
func TestStoredCyclicSchemaRefusesWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id := thread.NewIDV1(thread.Raw, 32)
	plantCollection(t, filepath.Join(dir, "node"), id, "loop", schemaAttacks[0].schema)

	c := noAuthClient(t, dir)
	ctx := t.Context()
	loop := client.Instances{map[string]any{"_id": "a", "x": 1}}
	_, err := c.Create(ctx, id, "loop", loop)
	wantCode(t, "create", err, codes.FailedPrecondition, "")
	msg := status.Convert(err).Message()
	for _, want := range []string{`collection "loop" has a schema this server no longer accepts`, "refers back to itself", "hubctl collection update DB loop --schema FILE"} {
		if !strings.Contains(msg, want) {
			t.Errorf("create: %q lacks %q", msg, want)
		}
	}
	if err := c.Save(ctx, id, "loop", loop); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("save: %v", err)
	}
	if err := c.Verify(ctx, id, "loop", loop); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("verify: %v", err)
	}
	// Still serving; reads work; the fix works.
	if _, err := c.Find(ctx, id, "loop", &db.Query{}, &note{}); err != nil {
		t.Fatalf("find: %v", err)
	}
	if err := c.UpdateCollection(ctx, id, db.CollectionConfig{Name: "loop", Schema: mustSchema(t, goodSchema)}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := c.Create(ctx, id, "loop", client.Instances{map[string]any{"_id": "a", "x": "1"}}); err != nil {
		t.Fatalf("create after the update: %v", err)
	}
}

// plantCollection stores a collection with schema in a node at dir, through the threads
// API served with none of hubctl's checks, as a server before them would have.
func plantCollection(t *testing.T, dir string, id thread.ID, name, schema string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	n, err := node.Open(ctx, node.Options{Dir: dir, HostAddr: "/ip4/127.0.0.1/tcp/0", NoNetPulling: true})
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	n.Register(s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(lis) }()
	conn, err := grpc.Dial(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	api := pb.NewAPIClient(conn)
	if _, err := api.NewDB(ctx, &pb.NewDBRequest{DbID: id.Bytes(), Collections: []*pb.CollectionConfig{{Name: name, Schema: []byte(schema)}}}); err != nil {
		t.Fatalf("plant: %v", err)
	}
	_ = conn.Close()
	s.Stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

type xdoc struct {
	ID string `json:"_id"`
	X  string `json:"x"`
}

// go-threads hands instances to a collection's write validator and read filter by
// running JSON.parse('<the instance>') in the collection's JavaScript VM, before the
// validator's timeout starts. An instance whose string closes that literal ran code on
// the server: on the old code the first write below is stored, and a read of it returns
// x = "ran", the value the injected code computed (an endless loop there held the
// database's lock for ever). Such instances are now refused before go-threads sees them,
// whichever way the quote is written, and so are the quotes, backslashes and control
// characters that make the validator read another instance than the one written.
func TestValidatorInjectionRefused(t *testing.T) {
	c := noAuthClient(t, filepath.Join(t.TempDir(), "data"))
	ctx := t.Context()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, cc := range []db.CollectionConfig{
		{Name: "filtered", Schema: mustSchema(t, goodSchema), ReadFilter: "return instance"},
		{Name: "validated", Schema: mustSchema(t, goodSchema), WriteValidator: "return true"},
		{Name: "plain", Schema: mustSchema(t, goodSchema)},
	} {
		if err := c.NewCollection(ctx, id, cc); err != nil {
			t.Fatal(err)
		}
	}
	raw := func(s string) client.Instances { return client.Instances{json.RawMessage(s)} }
	for _, tc := range []struct{ name, instance, want string }{
		{"code", `{"_id":"a","x":"'+(pwned='ran')+'"}`, "a string holds a single quote (')"},
		{"code, the quote escaped", `{"_id":"a","x":"\u0027+(pwned='ran')+\u0027"}`, "a single quote"},
		{"an apostrophe", `{"_id":"a","x":"O'Brien"}`, "a single quote"},
		{"a quote that adds a field", `{"_id":"a","x":"a\", \"admin\": \"yes"}`, "a double quote"},
		{"a backslash", `{"_id":"a","x":"C:\\dir"}`, "a backslash"},
		{"a new line", `{"_id":"a","x":"two\nlines"}`, "the control character U+000A"},
		{"in a key", `{"_id":"a","x":"1","it's":"2"}`, "a single quote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, col := range []string{"filtered", "validated"} {
				_, err := c.Create(ctx, id, col, raw(tc.instance))
				st := status.Convert(err)
				if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.want) || !strings.Contains(st.Message(), `collection "`+col+`" has a write validator or a read filter`) {
					t.Fatalf("create in %s: got %v %q, want InvalidArgument with %q", col, st.Code(), st.Message(), tc.want)
				}
				if err := c.Save(ctx, id, col, raw(tc.instance)); status.Code(err) != codes.InvalidArgument {
					t.Fatalf("save in %s: %v", col, err)
				}
			}
			// A collection without JavaScript takes any instance.
			if err := c.Save(ctx, id, "plain", raw(tc.instance)); err != nil {
				t.Fatalf("save in plain: %v", err)
			}
		})
	}
	// Ordinary instances go through, and read back as written.
	if _, err := c.Create(ctx, id, "filtered", raw(`{"_id":"ok","x":"plain text, <b>&amp; é"}`)); err != nil {
		t.Fatal(err)
	}
	res, err := c.Find(ctx, id, "filtered", &db.Query{}, &xdoc{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.([]*xdoc); len(got) != 1 || got[0].X != "plain text, <b>&amp; é" {
		t.Fatalf("found %+v", got)
	}
	if _, err := c.Create(ctx, id, "validated", raw(`{"_id":"ok","x":"fine"}`)); err != nil {
		t.Fatal(err)
	}
}

// What a write is checked against follows the collection: the server remembers each
// collection's verdict, and forgets it when the collection changes.
func TestWriteChecksFollowCollectionChanges(t *testing.T) {
	c := noAuthClient(t, filepath.Join(t.TempDir(), "data"))
	ctx := t.Context()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id); err != nil {
		t.Fatal(err)
	}
	cfg := db.CollectionConfig{Name: "notes", Schema: mustSchema(t, goodSchema)}
	if err := c.NewCollection(ctx, id, cfg); err != nil {
		t.Fatal(err)
	}
	quoted := func(n string) client.Instances {
		return client.Instances{json.RawMessage(`{"_id":"` + n + `","x":"O'Brien"}`)}
	}
	if _, err := c.Create(ctx, id, "notes", quoted("a")); err != nil {
		t.Fatalf("a quote in a collection without JavaScript: %v", err)
	}
	cfg.WriteValidator = "return true"
	if err := c.UpdateCollection(ctx, id, cfg); err != nil {
		t.Fatal(err)
	}
	_, err := c.Create(ctx, id, "notes", quoted("b"))
	wantCode(t, "a quote once the collection has a validator", err, codes.InvalidArgument, "")
	if err := c.DeleteCollection(ctx, id, "notes"); err != nil {
		t.Fatal(err)
	}
	cfg.WriteValidator = ""
	if err := c.NewCollection(ctx, id, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, id, "notes", quoted("c")); err != nil {
		t.Fatalf("a quote after the collection was made again without JavaScript: %v", err)
	}
}
