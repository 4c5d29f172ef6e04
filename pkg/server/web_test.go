package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/jsonschema"
	mbase "github.com/multiformats/go-multibase"
	"github.com/textileio/go-threads/api/client"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	userspb "github.com/textileio/textile/v2/api/usersd/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"nhooyr.io/websocket"

	"github.com/hubctl/hubctl/internal/grpcwebws"
	"github.com/hubctl/hubctl/pkg/hubauth"
)

// jsHeaders are the headers @textile/hub sends: the key, and a signature of a date 30
// minutes ahead formatted with milliseconds.
func jsHeaders(t *testing.T, k hubauth.Key, tok thread.Token) metadata.MD {
	t.Helper()
	_, secret, err := mbase.Decode(k.Secret)
	if err != nil {
		t.Fatal(err)
	}
	msg := time.Now().Add(30 * time.Minute).UTC().Format("2006-01-02T15:04:05.000Z07:00")
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(msg))
	sig, _ := mbase.Encode(mbase.Base32, mac.Sum(nil))
	md := metadata.Pairs("x-textile-api-key", k.Key, "x-textile-api-sig", sig, "x-textile-api-sig-msg", msg)
	if tok != "" {
		md.Append("authorization", "bearer "+string(tok))
	}
	return md
}

// Browser and Node clients reach the daemon through grpc-web over websockets: the same
// key checks and isolation apply, and a create of 1 MB goes through.
func TestGRPCWebWebsockets(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	user, err := reg.Create(hubauth.CreateOptions{Type: hubauth.UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	ws := "ws://" + d.State().Web

	// Set up over gRPC as a Go client would: a token, a DB and a collection.
	ctx := hubContext(t, user)
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err := c.GetToken(ctx, newIdentity(t))
	if err != nil {
		t.Fatal(err)
	}
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(ctx, id, db.WithNewManagedName("web"), db.WithNewManagedToken(tok),
		db.WithNewManagedCollections(db.CollectionConfig{Name: "notes", Schema: jsonschema.Reflect(&note{})})); err != nil {
		t.Fatal(err)
	}

	// The Hub's refusals, over the websocket.
	err = grpcwebws.Invoke(t.Context(), ws, "/threads.pb.API/ListDBs", nil, &pb.ListDBsRequest{}, &pb.ListDBsReply{})
	wantCode(t, "ListDBs without a key", err, codes.Unauthenticated, "Session or API key required")
	bad := jsHeaders(t, user, tok)
	bad.Set("x-textile-api-sig-msg", time.Now().Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	err = grpcwebws.Invoke(t.Context(), ws, "/threads.pb.API/ListDBs", bad, &pb.ListDBsRequest{}, &pb.ListDBsReply{})
	wantCode(t, "ListDBs with a tampered date", err, codes.Unauthenticated, "Bad API key signature")

	// A 1 MB instance, created through the websocket with JS-style headers.
	big, err := json.Marshal(note{Text: strings.Repeat("x", 1<<20)})
	if err != nil {
		t.Fatal(err)
	}
	var created pb.CreateReply
	err = grpcwebws.Invoke(t.Context(), ws, "/threads.pb.API/Create", jsHeaders(t, user, tok),
		&pb.CreateRequest{DbID: id.Bytes(), CollectionName: "notes", Instances: [][]byte{big}}, &created)
	if err != nil || len(created.InstanceIDs) != 1 {
		t.Fatalf("1 MB create over grpc-web: %v %v", created.InstanceIDs, err)
	}
	var got note
	if err := c.FindByID(ctx, id, "notes", created.InstanceIDs[0], &got, db.WithTxnToken(tok)); err != nil || len(got.Text) != 1<<20 {
		t.Fatalf("reading the 1 MB instance back: %d bytes, %v", len(got.Text), err)
	}

	// The users API, as @textile/hub lists databases with a key set.
	var list userspb.ListThreadsResponse
	if err := grpcwebws.Invoke(t.Context(), ws, "/api.usersd.pb.APIService/ListThreads", jsHeaders(t, user, tok), &userspb.ListThreadsRequest{}, &list); err != nil || len(list.List) != 1 || list.List[0].Name != "web" {
		t.Fatalf("ListThreads over grpc-web: %v %v", list.List, err)
	}
	// @textile/hub names a new thread with the x-textile-thread-name header; getOrCreate
	// then finds it with GetThread.
	named := jsHeaders(t, user, tok)
	named.Set("x-textile-thread-name", "js-named")
	jsID := thread.NewIDV1(thread.Raw, 32)
	if err := grpcwebws.Invoke(t.Context(), ws, "/threads.pb.API/NewDB", named, &pb.NewDBRequest{DbID: jsID.Bytes()}, &pb.NewDBReply{}); err != nil {
		t.Fatalf("NewDB with the name header over grpc-web: %v", err)
	}
	var th userspb.GetThreadResponse
	if err := grpcwebws.Invoke(t.Context(), ws, "/api.usersd.pb.APIService/GetThread", jsHeaders(t, user, tok), &userspb.GetThreadRequest{Name: "js-named"}, &th); err != nil || string(th.Id) != string(jsID.Bytes()) || !th.IsDb {
		t.Fatalf("GetThread of the header's name over grpc-web: %v %v", &th, err)
	}
	jsDup := thread.NewIDV1(thread.Raw, 32)
	err = grpcwebws.Invoke(t.Context(), ws, "/threads.pb.API/NewDB", named, &pb.NewDBRequest{DbID: jsDup.Bytes()}, &pb.NewDBReply{})
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("a second NewDB named js-named over grpc-web: %v, want AlreadyExists", err)
	}

	// Another identity sees nothing, and Alice's DB is not found for it.
	other, err := c.GetToken(ctx, newIdentity(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := grpcwebws.Invoke(t.Context(), ws, "/api.usersd.pb.APIService/ListThreads", jsHeaders(t, user, other), &userspb.ListThreadsRequest{}, &list); err != nil || len(list.List) != 0 {
		t.Fatalf("ListThreads over grpc-web for another identity: %v %v", list.List, err)
	}
	err = grpcwebws.Invoke(t.Context(), ws, "/threads.pb.API/FindByID", jsHeaders(t, user, other),
		&pb.FindByIDRequest{DbID: id.Bytes(), CollectionName: "notes", InstanceID: created.InstanceIDs[0]}, &pb.FindByIDReply{})
	wantCode(t, "FindByID of another identity's DB over grpc-web", err, codes.NotFound, "db not found")
}

// --cors-origin limits browsers; clients without an Origin (Node's websocket client sends
// none) are not browsers and are let through.
func TestCORSOrigins(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d, err := StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone, CORSOrigins: []string{"https://app.example"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	url := "ws://" + d.State().Web + "/threads.pb.API/ListDBs"
	for origin, allowed := range map[string]bool{"https://app.example": true, "https://evil.example": false, "": true} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		conn, res, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{Subprotocols: []string{"grpc-websockets"}, HTTPHeader: h})
		if allowed != (err == nil) {
			t.Errorf("origin %q: allowed %v, got %v", origin, allowed, err)
		}
		if !allowed && res != nil && res.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: status %d, want 403", origin, res.StatusCode)
		}
		if conn != nil {
			conn.Close(websocket.StatusNormalClosure, "")
		}
	}
}

// A stop with a grpc-web call in flight lets it end first: grpc v1.39's GracefulStop
// panics on calls served through ServeHTTP, so the daemon must not reach it with one open.
func TestShutdownWithGRPCWebStreamOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d, err := StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := c.NewDB(t.Context(), id, db.WithNewManagedCollections(db.CollectionConfig{Name: "notes", Schema: jsonschema.Reflect(&note{})})); err != nil {
		t.Fatal(err)
	}
	stream, err := grpcwebws.Stream(t.Context(), "ws://"+d.State().Web, "/threads.pb.API/Listen", nil, &pb.ListenRequest{DbID: id.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	// An event proves the stream is being served. The server may not be listening yet
	// when the first create lands, so creates go on until one is seen.
	seen := make(chan struct{})
	go func() {
		for {
			if _, err := c.Create(t.Context(), id, "notes", client.Instances{&note{Text: "hi"}}); err != nil {
				return
			}
			select {
			case <-seen:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	var ev pb.ListenReply
	err = stream.Recv(&ev)
	close(seen)
	if err != nil {
		t.Fatalf("Listen over grpc-web: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the stop waited for the grpc-web stream until its deadline")
	}
	if err := stream.Recv(&ev); err == nil {
		t.Fatal("the grpc-web stream outlived the daemon")
	}
}
