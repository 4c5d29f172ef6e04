package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"

	"github.com/hubctl/hubctl/internal/testnode"
	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/node"
	"github.com/hubctl/hubctl/pkg/query/querytest"
	"github.com/hubctl/hubctl/pkg/server"
)

const peopleSchema = `{"type":"object","properties":{"_id":{"type":"string"},"name":{"type":"string"},"age":{"type":"integer","minimum":0}},"required":["_id","name"]}`

// instancesClient is a client of a real node holding a database with the collection
// people (peopleSchema) and the collection free (any object).
func instancesClient(t *testing.T) (*Client, thread.ID) {
	t.Helper()
	s := startNode(t, testnode.Options{})
	return instancesDB(t, s.Addr, 0)
}

// instancesDB makes that database on the server at addr, with a client whose calls time
// out after timeout (DefaultTimeout when 0).
func instancesDB(t *testing.T, addr string, timeout time.Duration) (*Client, thread.ID) {
	t.Helper()
	tgt, _ := ParseTarget(addr, false, "", false)
	c := newClient(t, Options{Target: tgt, Identity: testIdentity(t), Timeout: timeout})
	id := thread.NewIDV1(thread.Raw, 32)
	ctx := context.Background()
	if err := c.NewDB(ctx, id, "insttest"); err != nil {
		t.Fatal(err)
	}
	for name, schema := range map[string]string{
		"people": peopleSchema,
		"free":   `{"type":"object","properties":{"_id":{"type":"string"}}}`,
	} {
		err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
			_, err := api.NewCollection(ctx, &pb.NewCollectionRequest{DbID: id.Bytes(), Config: &pb.CollectionConfig{Name: name, Schema: []byte(schema)}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return c, id
}

func docs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func field(t *testing.T, doc []byte, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("instance %s: %v", doc, err)
	}
	return m[name]
}

func TestInstanceLifecycle(t *testing.T) {
	c, dbID := instancesClient(t)
	ctx := context.Background()

	ids, err := c.CreateInstances(ctx, dbID, "people", docs(
		`{"name":"ann","age":31}`, `{"_id":"","name":"bob"}`, `{"_id":"carol-1","name":"carol","age":5}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids[0] == "" || ids[1] == "" || ids[2] != "carol-1" {
		t.Fatalf("ids = %q: want two generated and carol-1", ids)
	}
	doc, err := c.GetInstance(ctx, dbID, "people", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if field(t, doc, "_id") != ids[0] || field(t, doc, "name") != "ann" {
		t.Errorf("GetInstance = %s", doc)
	}
	if ok, err := c.HasInstances(ctx, dbID, "people", ids); err != nil || !ok {
		t.Errorf("HasInstances(all) = %v, %v", ok, err)
	}
	if ok, err := c.HasInstances(ctx, dbID, "people", []string{ids[0], "nope"}); err != nil || ok {
		t.Errorf("HasInstances(one missing) = %v, %v", ok, err)
	}

	// Save updates, and creates an _id that is not there (ThreadDB's upsert).
	if err := c.SaveInstances(ctx, dbID, "people", docs(`{"_id":"carol-1","name":"carol","age":6}`, `{"_id":"dan-1","name":"dan"}`)); err != nil {
		t.Fatal(err)
	}
	doc, _ = c.GetInstance(ctx, dbID, "people", "carol-1")
	if field(t, doc, "age") != 6.0 {
		t.Errorf("after save: %s", doc)
	}
	if ok, _ := c.HasInstances(ctx, dbID, "people", []string{"dan-1"}); !ok {
		t.Error("save did not create dan-1")
	}

	// A delete naming a missing ID deletes nothing (go-threads alone would delete the IDs
	// before the missing one and silently skip those after it).
	err = c.DeleteInstances(ctx, dbID, "people", []string{ids[0], "ghost", "dan-1"})
	checkNotFound(t, "DeleteInstances", err, "instance ghost does not exist in collection people")
	if ok, _ := c.HasInstances(ctx, dbID, "people", []string{ids[0], "dan-1"}); !ok {
		t.Error("a refused delete deleted something")
	}
	err = c.DeleteInstances(ctx, dbID, "people", []string{"ghost", "ghost2"})
	checkNotFound(t, "DeleteInstances", err, "2 instances do not exist in collection people: ghost, ghost2")
	if err := c.DeleteInstances(ctx, dbID, "people", []string{ids[0], "dan-1"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.HasInstances(ctx, dbID, "people", []string{ids[0]}); ok {
		t.Error("deleted instance still there")
	}
	_, err = c.GetInstance(ctx, dbID, "people", ids[0])
	checkNotFound(t, "GetInstance", err, "instance "+ids[0]+" does not exist in collection people")
}

func TestInstanceNotFound(t *testing.T) {
	c, dbID := instancesClient(t)
	ctx := context.Background()
	_, err := c.CreateInstances(ctx, dbID, "nope", docs(`{"name":"x"}`))
	checkNotFound(t, "CreateInstances", err, "collection nope does not exist in database "+dbID.String())
	_, err = c.FindInstances(ctx, dbID, "nope", nil)
	checkNotFound(t, "FindInstances", err, "collection nope does not exist")
	_, err = c.HasInstances(ctx, dbID, "nope", []string{"a"})
	checkNotFound(t, "HasInstances", err, "collection nope does not exist")
	other := thread.NewIDV1(thread.Raw, 32)
	_, err = c.GetInstance(ctx, other, "people", "a")
	checkNotFound(t, "GetInstance", err, "database "+other.String()+" does not exist")
	err = c.SaveInstances(ctx, other, "people", docs(`{"_id":"a","name":"x"}`))
	checkNotFound(t, "SaveInstances", err, "database "+other.String()+" does not exist")
}

func TestInstanceRefusals(t *testing.T) {
	c, dbID := instancesClient(t)
	ctx := context.Background()
	if _, err := c.CreateInstances(ctx, dbID, "free", docs(`{"_id":"there"}`)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		docs [][]byte
		want string
	}{
		{"schema", docs(`{"name":"ok"}`, `{"name":"x","age":"old"}`), "the server refused the instance: instance doesn't correspond to schema: age: Invalid type. Expected: integer, given: string"},
		{"required", docs(`{"age":3}`), "name is required"},
		{"same _id twice", docs(`{"_id":"same","name":"a"}`, `{"_id":"same","name":"b"}`), "already existent instance"},
		{"existing _id", docs(`{"_id":"there","name":"a"}`), "can't create already existing instance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			coll := "people"
			if tc.name == "existing _id" {
				coll = "free"
			}
			_, err := c.CreateInstances(ctx, dbID, coll, tc.docs)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrRefused with %q", err, tc.want)
			}
		})
	}
	// A refused batch writes nothing.
	all, err := c.FindInstances(ctx, dbID, "people", nil)
	if err != nil || len(all) != 0 {
		t.Fatalf("after refusals: %d instances, %v", len(all), err)
	}
	err = c.SaveInstances(ctx, dbID, "free", docs(`{"name":"no id"}`))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "missing _id") {
		t.Fatalf("save without _id: %v", err)
	}
}

// queryJSON builds a ThreadDB query in its JSON form.
func queryJSON(t *testing.T, q *db.Query) []byte {
	t.Helper()
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func names(t *testing.T, found [][]byte) string {
	t.Helper()
	var out []string
	for _, d := range found {
		out = append(out, fmt.Sprint(field(t, d, "name")))
	}
	return strings.Join(out, ",")
}

// The CLI evaluates queries itself against a plain go-threads server (instancesClient's
// node serves go-threads' API as it is), with the answers of the table every layer runs.
func TestFindInstances(t *testing.T) {
	c, dbID := instancesClient(t)
	ctx := context.Background()
	_, err := c.CreateInstances(ctx, dbID, "free", docs(querytest.Docs...))
	if err != nil {
		t.Fatal(err)
	}
	num := func(f float64) *float64 { return &f }
	crit := func(path string, op db.Operation, v db.Value) *db.Criterion {
		return &db.Criterion{FieldPath: path, Operation: op, Value: v}
	}
	for _, tc := range querytest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			found, err := c.FindInstances(ctx, dbID, "free", queryJSON(t, tc.Query))
			if err != nil {
				t.Fatal(err)
			}
			if got := names(t, found); got != tc.Want {
				t.Errorf("found %s, want %s", got, tc.Want)
			}
		})
	}
	if !c.plainFind.Load() {
		t.Fatal("the client did not find the server plain: the table ran on the server, not here")
	}

	// Why hubctl evaluates queries itself: go-threads' Find stops at the first instance
	// without the field (bob) and returns what it found before as if it were all.
	raw := queryJSON(t, &db.Query{Ands: []*db.Criterion{crit("age", db.Gt, db.Value{Float: num(20)})}})
	var rep *pb.FindReply
	err = c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err = api.Find(ctx, &pb.FindRequest{DbID: dbID.Bytes(), CollectionName: "free", QueryJSON: raw})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, rep.Instances); got != "ann" {
		t.Errorf("go-threads' own Find returned %s for age > 20, not ann alone: if it no longer stops at the first instance without the field, plain servers could evaluate queries again", got)
	}
	found, _ := c.FindInstances(ctx, dbID, "free", raw)
	if got := names(t, found); got != "ann,dee,eve,fay,hal" {
		t.Errorf("FindInstances(age > 20) = %s", got)
	}
}

// Listing pages through the collection: every instance once, in _id order, also when
// limit and skip cross page boundaries.
func TestFindPages(t *testing.T) {
	c, dbID := instancesClient(t)
	ctx := context.Background()
	n := findPageSize*2 + 345
	var want []string
	for start := 0; start < n; start += 500 {
		var batch [][]byte
		for i := start; i < start+500 && i < n; i++ {
			id := fmt.Sprintf("id-%05d", i)
			want = append(want, id)
			batch = append(batch, []byte(fmt.Sprintf(`{"_id":%q,"i":%d}`, id, i)))
		}
		if _, err := c.CreateInstances(ctx, dbID, "free", batch); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(want)
	ids := func(found [][]byte) []string {
		var out []string
		for _, d := range found {
			out = append(out, field(t, d, "_id").(string))
		}
		return out
	}
	found, err := c.FindInstances(ctx, dbID, "free", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(found); !reflect.DeepEqual(got, want) {
		t.Fatalf("listed %d instances, want %d in _id order", len(got), len(want))
	}
	found, err = c.FindInstances(ctx, dbID, "free", queryJSON(t, &db.Query{Skip: findPageSize - 5, Limit: 10}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(found); !reflect.DeepEqual(got, want[findPageSize-5:findPageSize+5]) {
		t.Errorf("skip/limit across a page boundary = %v", got)
	}
	num := float64(n - 3)
	found, err = c.FindInstances(ctx, dbID, "free", queryJSON(t, &db.Query{Ands: []*db.Criterion{{FieldPath: "i", Operation: db.Ge, Value: db.Value{Float: &num}}}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(found); !reflect.DeepEqual(got, want[n-3:]) {
		t.Errorf("criteria on the last page = %v", got)
	}
	// EachInstance stops when its function fails.
	stop := errors.New("stop")
	seen := 0
	err = c.EachInstance(ctx, dbID, "free", nil, func([]byte) error {
		seen++
		if seen == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 3 {
		t.Errorf("EachInstance = %v after %d", err, seen)
	}
}

// A page too large for one gRPC message is asked for again in halves.
// A page too large for one gRPC message is asked for again in halves, until the whole
// collection is listed. The limit met here is the server's: the daemon's and the embedded
// node's gRPC server (pkg/server) at --max-message-size 1MiB, so that 8 instances of
// 300 KiB (2.3 MiB, pages of 3) stand for a collection of any size at the default 16 MiB.
func TestFindLargeInstances(t *testing.T) {
	addr := limitedServer(t, 1<<20)
	c, dbID := instancesDB(t, addr, 0)
	ctx := context.Background()
	big := strings.Repeat("x", 300<<10)
	var want []string
	for i := 0; i < 8; i++ {
		id := fmt.Sprintf("big-%02d", i)
		want = append(want, id)
		if _, err := c.CreateInstances(ctx, dbID, "free", docs(fmt.Sprintf(`{"_id":%q,"s":%q}`, id, big))); err != nil {
			t.Fatal(err)
		}
	}
	found, err := c.FindInstances(ctx, dbID, "free", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range found {
		got = append(got, field(t, d, "_id").(string))
		if len(d) < len(big) {
			t.Fatalf("instance %v came back with %d bytes", field(t, d, "_id"), len(d))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("found %v, want the 8 instances of 300 KiB in _id order", got)
	}
}

// The same when the limit met is the client's own (maxMessageSize, 64 MiB: a server
// that sends larger messages, like plain threadsd). The test lowers it to 1 MiB, so
// 2.4 MiB take the path 72 MiB would.
func TestFindPastClientLimit(t *testing.T) {
	defer func(n int) { maxMessageSize = n }(maxMessageSize)
	maxMessageSize = 1 << 20 // the same path as at 64 MiB, with 2.4 MiB instead of 72
	s := startNode(t, testnode.Options{})
	c, dbID := instancesDB(t, s.Addr, time.Minute)
	ctx := context.Background()
	big := strings.Repeat("x", 300<<10)
	for i := 0; i < 8; i++ {
		if _, err := c.CreateInstances(ctx, dbID, "free", docs(fmt.Sprintf(`{"_id":"big-%02d","s":%q}`, i, big))); err != nil {
			t.Fatal(err)
		}
	}
	found, err := c.FindInstances(ctx, dbID, "free", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 8 {
		t.Fatalf("found %d of 8 instances of 300 KiB", len(found))
	}
}

// limitedServer serves a fresh node with pkg/server's gRPC server (no key checks), its
// messages limited to maxMessage bytes either way, on 127.0.0.1.
func limitedServer(t *testing.T, maxMessage int) string {
	t.Helper()
	n, err := node.Open(context.Background(), node.Options{Dir: filepath.Join(t.TempDir(), "node"), NoNetPulling: true, IncludePrivateAddrs: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := server.NewGRPC(n, server.Options{Mode: hubauth.AuthNone, Limits: server.Limits{MaxMessageSize: maxMessage}})
	if err != nil {
		_ = n.Close()
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = n.Close()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(lis) }()
	t.Cleanup(func() {
		g.Stop()
		<-served
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return lis.Addr().String()
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`{"ands":[{"fieldPath":"age","operation":2,"value":{"float":3}}],"sort":{"fieldPath":"age","desc":true},"limit":5,"skip":1,"seek":"x","index":"age"}`, ""},
		{`{"Ands":[{"FieldPath":"age","Operation":0,"Value":{"String":"x"}}]}`, ""},
		{``, ""},
		{`null`, ""},
		{`{"and":[]}`, `invalid query: unknown field "and"`},
		{`{"ands":[{"fieldPath":"a","operation":0,"value":{"float":1,"string":"x"}}]}`, "ands[0]: the value must have exactly one of string, bool or float"},
		{`{"ands":[{"fieldPath":"a","operation":0,"value":{}}]}`, "ands[0]: the value must have exactly one"},
		{`{"ands":[{"fieldPath":"a","operation":6,"value":{"float":1}}]}`, "ands[0]: operation 6 is not one of 0 (eq)"},
		{`{"ands":[{"operation":0,"value":{"float":1}}]}`, "ands[0] has no fieldPath"},
		{`{"ors":[{"ands":[{"fieldPath":"a","operation":-1,"value":{"bool":true}}]}]}`, "ors[0].ands[0]: operation -1"},
		{`{"ors":[null]}`, "invalid query: ors[0] is null"},
		{`{"limit":-1}`, "limit and skip must not be negative"},
		{`{"limit":1}{"limit":2}`, "more than one JSON value"},
		{`{"ands":[{"fieldPath":"a","operation":"eq"}]}`, "cannot unmarshal string"},
		{`{"ands":`, "invalid query: unexpected EOF"},
	} {
		_, err := ParseQuery([]byte(tc.in))
		if tc.want == "" {
			if err != nil {
				t.Errorf("ParseQuery(%s) = %v", tc.in, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidArg) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseQuery(%s) = %v, want ErrInvalidArg with %q", tc.in, err, tc.want)
		}
	}
}

func TestInstanceValidator(t *testing.T) {
	v, err := NewInstanceValidator([]byte(peopleSchema))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		doc    string
		create bool
		want   string
	}{
		{`{"name":"a"}`, true, ""},
		{`{"_id":"","name":"a","age":3}`, true, ""},
		{`{"_id":"x","name":"a"}`, false, ""},
		{`{"name":"a"}`, false, "_id is required"},
		{`{"name":"a","age":-1}`, true, "age: Must be greater than or equal to 0"},
		{`{"name":"a","age":1.5}`, true, "age: Invalid type. Expected: integer, given: number"},
		{`{"age":1}`, true, "instance doesn't correspond to schema: (root): name is required"},
		{`[1]`, true, "not a JSON object"},
	} {
		err := v.Validate([]byte(tc.doc), tc.create)
		if tc.want == "" {
			if err != nil {
				t.Errorf("Validate(%s) = %v", tc.doc, err)
			}
			continue
		}
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%s, create=%v) = %v, want %q", tc.doc, tc.create, err, tc.want)
		}
	}
	if _, err := NewInstanceValidator([]byte(`{"type":12}`)); err == nil {
		t.Error("a bad schema compiled")
	}
}

// A call with more instances than one of the server's transactions holds is ErrTooLarge,
// and writes nothing.
func TestInstanceTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 8000 instances")
	}
	c, dbID := instancesClient(t)
	ctx := context.Background()
	var batch [][]byte
	for i := 0; i < 8000; i++ {
		batch = append(batch, []byte(fmt.Sprintf(`{"_id":"x%05d","note":%q}`, i, strings.Repeat("y", 150))))
	}
	_, err := c.CreateInstances(ctx, dbID, "free", batch)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "Txn is too big") {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if ok, _ := c.HasInstances(ctx, dbID, "free", []string{"x00000"}); ok {
		t.Error("a call refused as too large wrote an instance")
	}
	if _, err := c.CreateInstances(ctx, dbID, "free", batch[:1000]); err != nil {
		t.Fatal(err)
	}
}
