package hub

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/alecthomas/jsonschema"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/server"
)

type listenDoc struct {
	ID   string `json:"_id"`
	Text string `json:"text"`
}

// Listen reports create, save and delete in order, says when it is ready (hubctl's
// servers send headers once the request is accepted), and stops after what fn wants.
func TestListen(t *testing.T) {
	d, err := server.StartDaemon(t.Context(), server.DaemonOptions{DataDir: filepath.Join(t.TempDir(), "data"),
		APIAddr: "127.0.0.1:0", WebAddr: "127.0.0.1:0", HostAddr: "/ip4/127.0.0.1/tcp/0", Mode: hubauth.AuthNone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	tgt, _ := ParseTarget(d.State().API, false, "", false)
	c := newClient(t, Options{Target: tgt, Timeout: 30 * time.Second, Tokens: &TokenCache{Dir: t.TempDir()}, Identity: testIdentity(t)})
	ctx := t.Context()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, "live"); err != nil {
		t.Fatal(err)
	}
	schema, _ := json.Marshal(jsonschema.Reflect(&listenDoc{}))
	call := func(fn func(ctx context.Context, api pb.APIClient) error) {
		t.Helper()
		if err := c.Call(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	call(func(ctx context.Context, api pb.APIClient) error {
		_, err := api.NewCollection(ctx, &pb.NewCollectionRequest{DbID: id.Bytes(), Config: &pb.CollectionConfig{Name: "notes", Schema: schema}})
		return err
	})

	ready := make(chan struct{})
	events := make(chan Event, 10)
	done := make(chan error, 1)
	go func() {
		n := 0
		done <- c.Listen(ctx, id, ListenFilter{Collection: "notes"}, func() { close(ready) }, func(ev Event) bool {
			events <- ev
			n++
			return n < 3
		})
	}()
	select {
	case <-ready:
	case <-time.After(time.Second):
		t.Fatal("not ready within a second: the server did not send its headers early")
	}
	var created pb.CreateReply
	call(func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err := api.Create(ctx, &pb.CreateRequest{DbID: id.Bytes(), CollectionName: "notes", Instances: [][]byte{[]byte(`{"_id":"","text":"one"}`)}})
		if err == nil {
			created.InstanceIDs = rep.InstanceIDs
		}
		return err
	})
	iid := created.InstanceIDs[0]
	// go-threads' Listen reads the instance when it sends the event, not
	// when the write happened: wait for each event before the next write,
	// or a quick save shows up in the create event.
	var got []string
	var listenErr error
	listenDone := false
	next := func() {
		t.Helper()
		var ev Event
		select {
		case ev = <-events:
		case listenErr = <-done:
			// The last event is queued before Listen returns.
			listenDone = true
			select {
			case ev = <-events:
			default:
				t.Fatalf("Listen ended early after %q: %v", got, listenErr)
			}
		}
		if ev.Collection != "notes" || ev.InstanceID != iid {
			t.Errorf("event %+v: wrong collection or instance", ev)
		}
		var doc listenDoc
		if len(ev.Instance) > 0 {
			if err := json.Unmarshal(ev.Instance, &doc); err != nil {
				t.Fatalf("event instance: %v", err)
			}
		}
		got = append(got, ev.Action+":"+doc.Text)
	}
	next()
	call(func(ctx context.Context, api pb.APIClient) error {
		_, err := api.Save(ctx, &pb.SaveRequest{DbID: id.Bytes(), CollectionName: "notes", Instances: [][]byte{[]byte(`{"_id":"` + iid + `","text":"two"}`)}})
		return err
	})
	next()
	call(func(ctx context.Context, api pb.APIClient) error {
		_, err := api.Delete(ctx, &pb.DeleteRequest{DbID: id.Bytes(), CollectionName: "notes", InstanceIDs: []string{iid}})
		return err
	})
	next()
	if !listenDone {
		listenErr = <-done
	}
	if listenErr != nil {
		t.Fatalf("Listen: %v", listenErr)
	}
	want := []string{"create:one", "save:two", "delete:"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("events %q, want %q", got, want)
	}

	// A DB that does not exist is not found.
	err = c.Listen(ctx, thread.NewIDV1(thread.Raw, 32), ListenFilter{}, nil, func(Event) bool { return true })
	if !isNotFound(err) {
		t.Fatalf("Listen on a missing DB: %v, want not found", err)
	}
}
