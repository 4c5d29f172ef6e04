package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/alecthomas/jsonschema"
	"github.com/textileio/go-threads/api/client"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// doc is an instance as raw JSON, so a test can send any _id.
type doc string

func (d doc) MarshalJSON() ([]byte, error) { return []byte(d), nil }

// TestHostileInstanceIDsAreRefused sends, as the owner of a database, the _id values that
// climbed out of their collection on main at 654c7ed, by every method that carries an
// instance ID, through go-threads' own client: each is InvalidArgument, and neither the
// other collection nor the schema they aimed at changes. IDs go-threads makes, UUIDs and
// e-mail addresses still work.
func TestHostileInstanceIDsAreRefused(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	c, ctx, tok := userSession(t, d, reg)
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, db.WithNewManagedToken(tok)); err != nil {
		t.Fatal(err)
	}
	schema := json.RawMessage(`{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"}},"required":["name"]}`)
	for _, name := range []string{"people", "other"} {
		cfg := db.CollectionConfig{Name: name, Schema: reflectSchema(t, schema)}
		if err := c.NewCollection(ctx, id, cfg, db.WithManagedToken(tok)); err != nil {
			t.Fatal(err)
		}
	}
	opt := db.WithTxnToken(tok)
	if err := c.Save(ctx, id, "other", client.Instances{doc(`{"_id":"victim1","name":"v"}`)}, opt); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []string{"../other/victim1", "../../schema/people", "..", ".", "a/b", `a\b`, "a\u0000b", "a\nb", strings.Repeat("x", 257)} {
		j, _ := json.Marshal(bad)
		inst := doc(`{"_id":` + string(j) + `,"name":"x"}`)
		calls := map[string]func() error{
			"Create": func() error { _, err := c.Create(ctx, id, "people", client.Instances{inst}, opt); return err },
			"Save":   func() error { return c.Save(ctx, id, "people", client.Instances{inst}, opt) },
			"Verify": func() error { return c.Verify(ctx, id, "people", client.Instances{inst}, opt) },
			"Delete": func() error { return c.Delete(ctx, id, "people", []string{bad}, opt) },
			"Has":    func() error { _, err := c.Has(ctx, id, "people", []string{bad}, opt); return err },
			"FindByID": func() error {
				var v map[string]any
				return c.FindByID(ctx, id, "people", bad, &v, opt)
			},
			"WriteTransaction Create": inWrite(ctx, c, id, opt, func(w *client.WriteTransaction) error { _, err := w.Create(inst); return err }),
			"WriteTransaction Save":   inWrite(ctx, c, id, opt, func(w *client.WriteTransaction) error { return w.Save(inst) }),
			"WriteTransaction Verify": inWrite(ctx, c, id, opt, func(w *client.WriteTransaction) error { return w.Verify(inst) }),
			"WriteTransaction Delete": inWrite(ctx, c, id, opt, func(w *client.WriteTransaction) error { return w.Delete(bad) }),
			"WriteTransaction Has":    inWrite(ctx, c, id, opt, func(w *client.WriteTransaction) error { _, err := w.Has(bad); return err }),
			"WriteTransaction FindByID": inWrite(ctx, c, id, opt, func(w *client.WriteTransaction) error {
				var v map[string]any
				return w.FindByID(bad, &v)
			}),
			"ReadTransaction Has": inRead(ctx, c, id, opt, func(r *client.ReadTransaction) error { _, err := r.Has(bad); return err }),
			"ReadTransaction FindByID": inRead(ctx, c, id, opt, func(r *client.ReadTransaction) error {
				var v map[string]any
				return r.FindByID(bad, &v)
			}),
		}
		for method, call := range calls {
			err := call()
			if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "invalid instance ID") {
				t.Errorf("%s with _id %q: %v, want InvalidArgument naming the rule", method, bad, err)
			}
		}
	}

	// What the attacks aimed at is as it was.
	var victim map[string]any
	if err := c.FindByID(ctx, id, "other", "victim1", &victim, opt); err != nil || victim["name"] != "v" {
		t.Errorf("other/victim1 = %v, %v; want it untouched", victim, err)
	}
	info, err := c.GetCollectionInfo(ctx, id, "people", db.WithManagedToken(tok))
	if err != nil || info.Schema == nil {
		t.Errorf("people's schema: %v, %v", info, err)
	}

	for _, good := range []string{"", "8f14e45f-ceea-467f-a0e6-0b8f3e7c2d1a", "alice@example.com", "a..b"} {
		inst := doc(`{"_id":"` + good + `","name":"ok"}`)
		ids, err := c.Create(ctx, id, "people", client.Instances{inst}, opt)
		if err != nil || len(ids) != 1 || (good != "" && ids[0] != good) {
			t.Errorf("Create with _id %q: %v, %v", good, ids, err)
		}
	}
}

func reflectSchema(t *testing.T, raw json.RawMessage) *jsonschema.Schema {
	t.Helper()
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func inWrite(ctx context.Context, c *client.Client, id thread.ID, opt db.TxnOption, fn func(*client.WriteTransaction) error) func() error {
	return func() error {
		w, err := c.WriteTransaction(ctx, id, "people", opt)
		if err != nil {
			return err
		}
		end, err := w.Start()
		if err != nil {
			return err
		}
		err = fn(w)
		if eerr := end(); err == nil {
			err = eerr
		}
		return err
	}
}

func inRead(ctx context.Context, c *client.Client, id thread.ID, opt db.TxnOption, fn func(*client.ReadTransaction) error) func() error {
	return func() error {
		r, err := c.ReadTransaction(ctx, id, "people", opt)
		if err != nil {
			return err
		}
		end, err := r.Start()
		if err != nil {
			return err
		}
		err = fn(r)
		if eerr := end(); err == nil {
			err = eerr
		}
		return err
	}
}
