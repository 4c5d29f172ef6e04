package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

func (e *gcEnv) usage(t *testing.T) StorageUsage {
	t.Helper()
	reply := &wrapperspb.BytesValue{}
	if err := mustDial(t, e.d.State().API).Invoke(bounded(t, e.s.ctx), MethodStorageUsage, &wrapperspb.StringValue{}, reply); err != nil {
		t.Fatalf("usage: %v", err)
	}
	var u StorageUsage
	if err := json.Unmarshal(reply.Value, &u); err != nil {
		t.Fatal(err)
	}
	if u.Used < 0 {
		t.Fatalf("negative usage %d", u.Used)
	}
	return u
}

// Storage per identity: a push past the limit is refused in the Hub's words; a remove
// gives the space back; removes of more than was counted (a bucket holding another's
// file, both removed) never make the count negative; with every bucket gone it is 0.
func TestStorageQuota(t *testing.T) {
	e := newGCEnv(t, 1<<20)
	a := e.create(t, "a").Root.Key
	first, _ := e.push(t, a, "one.bin", randomBytes(t, 600<<10))
	u := e.usage(t)
	if u.Limit != 1<<20 || u.Used < 600<<10 || u.Buckets != 1 {
		t.Fatalf("usage after one file: %+v", u)
	}
	_, _, err := e.bc.PushPath(bounded(t, e.ctx), a, "two.bin", bytes.NewReader(randomBytes(t, 600<<10)))
	if status.Code(err) != codes.ResourceExhausted || !strings.HasPrefix(status.Convert(err).Message(), "storage quota exhausted") {
		t.Fatalf("a push past the limit: %v", err)
	}
	if got := e.usage(t); got.Used != u.Used {
		t.Fatalf("a refused push changed the usage: %d -> %d", u.Used, got.Used)
	}
	// A second bucket holding the same file: counted twice, as the Hub counted it.
	b := e.create(t, "b").Root.Key
	if _, err := e.bc.SetPath(bounded(t, e.ctx), b, "shared.bin", first.Cid()); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a set past the limit: %v", err)
	}
	if _, err := e.bc.RemovePath(bounded(t, e.ctx), a, "one.bin"); err != nil {
		t.Fatal(err)
	}
	freed := e.usage(t)
	if freed.Used >= 600<<10 {
		t.Fatalf("a remove gave nothing back: %+v", freed)
	}
	e.push(t, a, "two.bin", randomBytes(t, 600<<10))
	if _, err := e.bc.SetPath(bounded(t, e.ctx), b, "shared.bin", first.Cid()); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a set past the limit: %v", err)
	}
	if _, err := e.bc.RemovePath(bounded(t, e.ctx), a, "two.bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.bc.SetPath(bounded(t, e.ctx), b, "shared.bin", first.Cid()); err != nil {
		t.Fatalf("a set within the limit: %v", err)
	}
	if _, err := e.bc.RemovePath(bounded(t, e.ctx), b, "shared.bin"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{a, b} {
		if err := e.bc.Remove(bounded(t, e.ctx), k); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.usage(t); got.Used != 0 || got.Buckets != 0 {
		t.Fatalf("with every bucket removed: %+v", got)
	}
}

// Another identity's storage is for operators only.
func TestStorageUsageOfAnotherIdentity(t *testing.T) {
	e := newGCEnv(t, 0)
	conn := mustDial(t, e.d.State().API)
	other := newSession(t, e.d, newKey(t, e.reg, hubauth.UserKey))
	reply := &wrapperspb.BytesValue{}
	err := conn.Invoke(bounded(t, other.ctx), MethodStorageUsage, wrapperspb.String(e.s.identity), reply)
	wantCode(t, "another identity's usage", err, codes.PermissionDenied, "")
	admin := hubContext(t, newKey(t, e.reg, hubauth.AccountKey))
	if err := conn.Invoke(bounded(t, admin), MethodStorageUsage, wrapperspb.String(e.s.identity), reply); err != nil {
		t.Fatalf("an operator: %v", err)
	}
}
