package hubauth

import (
	"context"
	"testing"

	"github.com/textileio/go-threads/core/thread"
	bucketspb "github.com/textileio/textile/v2/api/bucketsd/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Every buckets method has a policy.
func TestEveryBucketsMethodHasAPolicy(t *testing.T) {
	// The generated description is unexported: a server lists it.
	s := grpc.NewServer()
	bucketspb.RegisterAPIServiceServer(s, &bucketspb.UnimplementedAPIServiceServer{})
	info := s.GetServiceInfo()["api.bucketsd.pb.APIService"]
	if len(info.Methods) != 21 {
		t.Fatalf("the buckets service has %d methods, want 21", len(info.Methods))
	}
	for _, m := range info.Methods {
		if _, ok := policies[bucketsAPI+m.Name]; !ok {
			t.Errorf("no policy for %s%s", bucketsAPI, m.Name)
		}
	}
	if p := policyFor(bucketsAPI + "SomethingNew"); p.kind != unimplemented {
		t.Errorf("a buckets method hubctl does not know: kind %v, want unimplemented", p.kind)
	}
}

// bucketCtx is a buckets call's context: key, token and the x-textile-thread header (none
// when thread is "").
func bucketCtx(key *Key, tok thread.Token, db string) context.Context {
	md := metadata.MD{}
	if key != nil {
		md.Set("x-textile-api-key", key.Key)
	}
	if tok != "" {
		md.Set("authorization", "bearer "+string(tok))
	}
	if db != "" {
		md.Set(HeaderThread, db)
	}
	return metadata.NewIncomingContext(context.Background(), md)
}

// A buckets call reaches its handler only with the database in its header, and, for the
// methods that are the owner's alone (List, Create, Remove), only the database's owner's:
// another identity's is "db not found"; none (or a malformed one) is "db required". The
// CID readers need a token, no database. The shared methods (the Hub's cross-user ones)
// reach the handler for another identity with a token too, marked SharedBucketCall, and
// never without a token.
func TestBucketsOnlyOnTheCallersDatabase(t *testing.T) {
	f := newGuardFixture(t, AuthKeys)
	_, aliceTok := f.identity(t)
	_, bobTok := f.identity(t)
	id := thread.NewIDV1(thread.Raw, 32)
	if err := f.call(&f.user, aliceTok, threadsAPI+"NewDB", newDB(id), id); err != nil {
		t.Fatal(err)
	}
	other := thread.NewIDV1(thread.Raw, 32) // nobody's
	var shared bool                         // the last handler reached: was it marked shared?
	unary := func(ctx context.Context, method string) (bool, error) {
		reached := false
		_, err := f.g.UnaryInterceptor()(ctx, &bucketspb.ListRequest{}, &grpc.UnaryServerInfo{FullMethod: bucketsAPI + method},
			func(ctx context.Context, _ any) (any, error) {
				reached, shared = true, SharedBucketCall(ctx)
				return &bucketspb.ListResponse{}, nil
			})
		return reached, err
	}
	stream := func(ctx context.Context, method string) (bool, error) {
		reached := false
		s := &fakeStream{ctx: ctx}
		err := f.g.StreamInterceptor()(nil, s, &grpc.StreamServerInfo{FullMethod: bucketsAPI + method}, func(_ any, ss grpc.ServerStream) error {
			reached, shared = true, SharedBucketCall(ss.Context())
			return nil
		})
		return reached, err
	}
	for _, c := range []struct {
		what   string
		ctx    context.Context
		code   codes.Code
		msg    string
		reach  bool
		blocks bool // ListIpfsPath / PullIpfsPath
	}{
		{what: "owner", ctx: bucketCtx(&f.user, aliceTok, id.String()), code: codes.OK, reach: true},
		{what: "another identity", ctx: bucketCtx(&f.user, bobTok, id.String()), code: codes.NotFound, msg: "db not found"},
		{what: "a thread nobody owns", ctx: bucketCtx(&f.user, aliceTok, other.String()), code: codes.NotFound, msg: "db not found"},
		{what: "no header", ctx: bucketCtx(&f.user, aliceTok, ""), code: codes.InvalidArgument, msg: "db required"},
		{what: "a malformed header", ctx: bucketCtx(&f.user, aliceTok, "not-a-thread"), code: codes.InvalidArgument, msg: "db required"},
		{what: "account key, no token", ctx: bucketCtx(&f.account, "", id.String()), code: codes.OK, reach: true},
		{what: "account key, no header", ctx: bucketCtx(&f.account, "", ""), code: codes.InvalidArgument, msg: "db required"},
		{what: "no token", ctx: bucketCtx(&f.user, "", id.String()), code: codes.Unauthenticated, msg: "Token required"},
		{what: "no key", ctx: bucketCtx(nil, aliceTok, id.String()), code: codes.Unauthenticated},
		{what: "blocks, a token", ctx: bucketCtx(&f.user, bobTok, ""), code: codes.OK, reach: true, blocks: true},
		{what: "blocks, no token", ctx: bucketCtx(&f.user, "", ""), code: codes.Unauthenticated, msg: "Token required", blocks: true},
	} {
		unaryM, streamM := "List", "PushPaths"
		if c.blocks {
			unaryM, streamM = "ListIpfsPath", "PullIpfsPath"
		}
		for _, call := range []struct {
			kind string
			run  func(context.Context, string) (bool, error)
			m    string
		}{{"unary", unary, unaryM}, {"stream", stream, streamM}} {
			if call.m == "PushPaths" {
				continue // shared: below
			}
			reached, err := call.run(c.ctx, call.m)
			st := status.Convert(err)
			if st.Code() != c.code || (c.msg != "" && st.Message() != c.msg) || reached != c.reach {
				t.Errorf("%s, %s %s: reached %v, %v %q; want reached %v, %v %q", c.what, call.kind, call.m, reached, st.Code(), st.Message(), c.reach, c.code, c.msg)
			}
		}
	}
	for _, c := range []struct {
		what          string
		ctx           context.Context
		code          codes.Code
		reach, shared bool
	}{
		{what: "owner", ctx: bucketCtx(&f.user, aliceTok, id.String()), reach: true},
		{what: "another identity", ctx: bucketCtx(&f.user, bobTok, id.String()), reach: true, shared: true},
		{what: "a thread nobody owns", ctx: bucketCtx(&f.user, aliceTok, other.String()), reach: true, shared: true},
		{what: "account key, no token", ctx: bucketCtx(&f.account, "", id.String()), reach: true},
		{what: "no token", ctx: bucketCtx(&f.user, "", id.String()), code: codes.Unauthenticated},
		{what: "no header", ctx: bucketCtx(&f.user, bobTok, ""), code: codes.InvalidArgument},
	} {
		for _, call := range []struct {
			run func(context.Context, string) (bool, error)
			m   string
		}{{unary, "Root"}, {unary, "PushPathAccessRoles"}, {stream, "PushPaths"}, {stream, "PullPath"}} {
			shared = false
			reached, err := call.run(c.ctx, call.m)
			if status.Code(err) != c.code || reached != c.reach || shared != c.shared {
				t.Errorf("%s, %s: reached %v (shared %v), %v; want reached %v (shared %v), %v", c.what, call.m, reached, shared, err, c.reach, c.shared, c.code)
			}
		}
	}
	for _, m := range []string{"List", "Create", "Remove"} {
		if reached, err := unary(bucketCtx(&f.user, bobTok, id.String()), m); reached || status.Code(err) != codes.NotFound {
			t.Errorf("another identity, %s: reached %v, %v; want db not found", m, reached, err)
		}
	}
	// The archive methods answer Unimplemented, naming what hubctl lacks.
	_, err := unary(bucketCtx(&f.user, aliceTok, id.String()), "Archive")
	if st := status.Convert(err); st.Code() != codes.Unimplemented || st.Message() != "hubctl daemon does not serve "+bucketsAPI+"Archive: hubctl has no Filecoin archiving" {
		t.Errorf("Archive: %v %q", st.Code(), st.Message())
	}
	if _, err := stream(bucketCtx(&f.user, aliceTok, id.String()), "ArchiveWatch"); status.Code(err) != codes.Unimplemented {
		t.Errorf("ArchiveWatch: %v", err)
	}
}
