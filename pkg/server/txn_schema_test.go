package server

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Write transactions get the same write checks as unary calls: a stored cyclic schema is
// refused instead of overflowing the daemon's stack, and an instance that would break out
// of go-threads' JSON.parse('...') is refused in a collection with a validator.
func TestWriteTransactionChecks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id := thread.NewIDV1(thread.Raw, 32)
	plantCollection(t, filepath.Join(dir, "node"), id, "loop", schemaAttacks[0].schema)
	c := noAuthClient(t, dir)
	ctx := t.Context()
	if err := c.NewCollection(ctx, id, db.CollectionConfig{Name: "validated", Schema: mustSchema(t, goodSchema), WriteValidator: "return true"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		collection string
		instance   any
		code       codes.Code
		want       string
	}{
		{"loop", map[string]any{"_id": "a", "x": 1}, codes.FailedPrecondition, "hubctl collection update DB loop --schema FILE"},
		{"validated", json.RawMessage(`{"_id":"a","x":"'+(function(){for(;;){}})()+'"}`), codes.InvalidArgument, "a single quote"},
	} {
		txn, err := c.WriteTransaction(ctx, id, tc.collection)
		if err != nil {
			t.Fatal(err)
		}
		end, err := txn.Start()
		if err != nil {
			t.Fatal(err)
		}
		_, err = txn.Create(tc.instance)
		if st := status.Convert(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.want) {
			t.Errorf("%s: got %v %q, want %v with %q", tc.collection, st.Code(), st.Message(), tc.code, tc.want)
		}
		_ = end()
	}
	// The daemon still serves the database.
	if _, err := c.Create(ctx, id, "validated", client.Instances{map[string]any{"x": "ok"}}); err != nil {
		t.Fatal(err)
	}
}
