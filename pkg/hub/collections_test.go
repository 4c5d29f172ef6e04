package hub

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/internal/testnode"
)

const testSchema = `{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"},"age":{"type":"integer"}}}`

func collectionsClient(t *testing.T) (*Client, thread.ID) {
	t.Helper()
	s := startNode(t, testnode.Options{})
	tgt, _ := ParseTarget(s.Addr, false, "", false)
	c := newClient(t, Options{Target: tgt, Identity: testIdentity(t)})
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(context.Background(), id, "coltest"); err != nil {
		t.Fatal(err)
	}
	return c, id
}

func TestCollectionLifecycle(t *testing.T) {
	c, db := collectionsClient(t)
	ctx := context.Background()

	people := Collection{
		Name:           "people",
		Schema:         json.RawMessage(testSchema),
		Indexes:        []Index{{Path: "name", Unique: true}, {Path: "age"}},
		WriteValidator: "return true",
		ReadFilter:     "return instance",
	}
	if err := c.NewCollection(ctx, db, people); err != nil {
		t.Fatal(err)
	}
	if err := c.NewCollection(ctx, db, Collection{Name: "animals", Schema: json.RawMessage(testSchema)}); err != nil {
		t.Fatal(err)
	}

	got, err := c.GetCollection(ctx, db, "people")
	if err != nil {
		t.Fatal(err)
	}
	// Indexes sorted by path, without ThreadDB's own on _id.
	want := []Index{{Path: "age"}, {Path: "name", Unique: true}}
	if got.Name != "people" || !reflect.DeepEqual(got.Indexes, want) ||
		got.WriteValidator != "return true" || got.ReadFilter != "return instance" {
		t.Errorf("GetCollection = %+v", got)
	}
	if !sameJSONValue(t, got.Schema, testSchema) {
		t.Errorf("schema %s, want %s", got.Schema, testSchema)
	}
	if ix, err := c.CollectionIndexes(ctx, db, "people"); err != nil || !reflect.DeepEqual(ix, want) {
		t.Errorf("CollectionIndexes = %v, %v", ix, err)
	}

	list, err := c.ListCollections(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "animals" || list[1].Name != "people" || !reflect.DeepEqual(list[1].Indexes, want) {
		t.Errorf("ListCollections = %+v", list)
	}

	// A duplicate is ErrExists, named.
	err = c.NewCollection(ctx, db, people)
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "collection people already exists in database "+db.String()) {
		t.Errorf("duplicate NewCollection = %v", err)
	}

	// Update replaces the whole config: indexes dropped, validators emptied.
	got.Indexes = []Index{{Path: "age", Unique: false}}
	got.WriteValidator, got.ReadFilter = "", ""
	if err := c.UpdateCollection(ctx, db, got); err != nil {
		t.Fatal(err)
	}
	after, err := c.GetCollection(ctx, db, "people")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after.Indexes, []Index{{Path: "age"}}) || after.WriteValidator != "" || after.ReadFilter != "" {
		t.Errorf("after update: %+v", after)
	}

	// A config read from one database creates the same collection in another, even with
	// the _id index given back.
	other := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, other, "copy"); err != nil {
		t.Fatal(err)
	}
	people.Indexes = append(people.Indexes, Index{Path: "_id", Unique: true})
	if err := c.NewCollection(ctx, other, people); err != nil {
		t.Fatalf("NewCollection with the _id index: %v", err)
	}

	if err := c.DeleteCollection(ctx, db, "people"); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.ListCollections(ctx, db); len(list) != 1 {
		t.Errorf("after delete: %+v", list)
	}
}

func TestCollectionNotFound(t *testing.T) {
	c, db := collectionsClient(t)
	ctx := context.Background()
	wantCol := "collection nope does not exist in database " + db.String()
	_, err := c.GetCollection(ctx, db, "nope")
	checkNotFound(t, "GetCollection", err, wantCol)
	_, err = c.CollectionIndexes(ctx, db, "nope")
	checkNotFound(t, "CollectionIndexes", err, wantCol)
	checkNotFound(t, "DeleteCollection", c.DeleteCollection(ctx, db, "nope"), wantCol)
	checkNotFound(t, "UpdateCollection", c.UpdateCollection(ctx, db, Collection{Name: "nope", Schema: json.RawMessage(testSchema)}), wantCol)

	missing := thread.NewIDV1(thread.Raw, 32)
	wantDB := "database " + missing.String() + " does not exist"
	_, err = c.GetCollection(ctx, missing, "people")
	checkNotFound(t, "GetCollection (no DB)", err, wantDB)
	_, err = c.ListCollections(ctx, missing)
	checkNotFound(t, "ListCollections (no DB)", err, wantDB)
	checkNotFound(t, "NewCollection (no DB)", c.NewCollection(ctx, missing, Collection{Name: "x", Schema: json.RawMessage(testSchema)}), wantDB)
}

func checkNotFound(t *testing.T, call string, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("%s = %v; want ErrNotFound starting %q", call, err, want)
	}
}

func TestCollectionRefusals(t *testing.T) {
	c, db := collectionsClient(t)
	ctx := context.Background()
	// Refused before any call.
	for _, col := range []Collection{
		{Name: "bad name", Schema: json.RawMessage(testSchema)},
		{Name: "", Schema: json.RawMessage(testSchema)},
		{Name: "x", Schema: json.RawMessage(`{"type":`)},
	} {
		if err := c.NewCollection(ctx, db, col); !errors.Is(err, ErrInvalidArg) {
			t.Errorf("NewCollection(%q, %s) = %v, want ErrInvalidArg", col.Name, col.Schema, err)
		}
	}
	// The server's own checks, for callers that skip hubctl's: bad arguments.
	for _, col := range []Collection{
		{Name: "noid", Schema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}}}`)},
		{Name: "badindex", Schema: json.RawMessage(testSchema), Indexes: []Index{{Path: "nope"}}},
		{Name: "badjs", Schema: json.RawMessage(testSchema), WriteValidator: "return ("},
	} {
		if err := c.NewCollection(ctx, db, col); !errors.Is(err, ErrInvalidArg) || !strings.Contains(err.Error(), "refused by the server") {
			t.Errorf("NewCollection(%s) = %v, want ErrInvalidArg from the server", col.Name, err)
		}
	}

	// A unique index over duplicate values: the message names the paths.
	if err := c.NewCollection(ctx, db, Collection{Name: "people", Schema: json.RawMessage(testSchema)}); err != nil {
		t.Fatal(err)
	}
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
		_, err := api.Create(ctx, &pb.CreateRequest{DbID: db.Bytes(), CollectionName: "people",
			Instances: [][]byte{[]byte(`{"_id":"a","name":"Ada"}`), []byte(`{"_id":"b","name":"Ada"}`)}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.UpdateCollection(ctx, db, Collection{Name: "people", Schema: json.RawMessage(testSchema), Indexes: []Index{{Path: "name", Unique: true}}})
	if err == nil || !strings.Contains(err.Error(), "instances of collection people share a value at name") {
		t.Errorf("unique index over duplicates: %v", err)
	}
}

func sameJSONValue(t *testing.T, a json.RawMessage, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
