package hubauth

import (
	"os"
	"path/filepath"
	"testing"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	netpb "github.com/textileio/go-threads/net/api/pb"
	"google.golang.org/grpc"
)

func TestOwnersSurviveReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "owners")
	o, err := OpenOwners(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := thread.NewIDV1(thread.Raw, 32), thread.NewIDV1(thread.Raw, 32)
	if err := o.Put(Owner{ThreadID: a, Identity: "alice", Name: "notes", DB: true}); err != nil {
		t.Fatal(err)
	}
	if err := o.Put(Owner{ThreadID: b, Identity: "bob", Name: "todo", DB: true}); err != nil {
		t.Fatal(err)
	}
	if err := o.Delete(b); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("owners dir: %v %v, want 0700", info.Mode(), err)
	}
	// A temporary file left by a crash mid-write is not a record.
	if err := os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}

	o2, err := OpenOwners(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !o2.Owns("alice", a) || o2.Owns("bob", a) || o2.Owns("", a) {
		t.Fatal("alice's record did not survive, or someone else owns it")
	}
	if _, ok := o2.Get(b); ok {
		t.Fatal("deleted record came back")
	}
	if got := o2.List("alice"); len(got) != 1 || got[0].ThreadID != a || got[0].Name != "notes" {
		t.Fatalf("List(alice) = %+v", got)
	}
	if got := o2.List("bob"); len(got) != 0 {
		t.Fatalf("List(bob) = %+v, want none", got)
	}
}

func TestCorruptOwnerRecordIsAnError(t *testing.T) {
	dir := t.TempDir()
	id := thread.NewIDV1(thread.Raw, 32)
	if err := os.WriteFile(filepath.Join(dir, id.String()+".json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenOwners(dir); err == nil {
		t.Fatal("a corrupt record was ignored")
	}
}

// Every method the node serves has a policy: a method missing from the table would fall
// to operators only, which is safe but would break users, so the table must be complete.
func TestEveryMethodHasAPolicy(t *testing.T) {
	for _, desc := range []grpc.ServiceDesc{pb.API_ServiceDesc, netpb.API_ServiceDesc} {
		for _, m := range desc.Methods {
			if _, ok := policies["/"+desc.ServiceName+"/"+m.MethodName]; !ok {
				t.Errorf("no policy for /%s/%s", desc.ServiceName, m.MethodName)
			}
		}
		for _, s := range desc.Streams {
			if _, ok := policies["/"+desc.ServiceName+"/"+s.StreamName]; !ok {
				t.Errorf("no policy for /%s/%s", desc.ServiceName, s.StreamName)
			}
		}
	}
	if p := policyFor("/api.usersd.pb.APIService/GetUsage"); p.kind != unimplemented {
		t.Errorf("users API GetUsage: kind %v, want unimplemented", p.kind)
	}
	if p := policyFor("/grpc.health.v1.Health/Check"); p.kind != open {
		t.Errorf("health: kind %v, want open", p.kind)
	}
	if p := policyFor("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"); p.kind != operatorOnly {
		t.Errorf("unknown method: kind %v, want operators only", p.kind)
	}
}
