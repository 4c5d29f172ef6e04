package grpcwebws

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	spb "google.golang.org/genproto/googleapis/rpc/status"
)

const (
	checkMethod = "/grpc.health.v1.Health/Check"
	watchMethod = "/grpc.health.v1.Health/Watch"
)

// rig is a real grpc.Server with the health service, behind grpcweb's websocket
// transport on a real HTTP server, plus what its interceptors saw.
type rig struct {
	url    string
	health *health.Server

	mu         sync.Mutex
	md         metadata.MD // incoming metadata of the last unary call
	serviceLen int         // len(Service) of the last HealthCheckRequest
	checks     int         // unary calls that reached the handler chain
	streamEnd  chan error  // results of finished streaming handlers
}

// newRig starts the server; readLimit 0 leaves grpcweb at nhooyr's default (32 KiB).
func newRig(t *testing.T, readLimit int64, extra ...grpcweb.Option) *rig {
	t.Helper()
	r := &rig{health: health.NewServer(), streamEnd: make(chan error, 4)}
	r.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)

	gs := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req interface{}, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (interface{}, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			r.mu.Lock()
			r.md = md
			r.checks++
			if cr, ok := req.(*healthpb.HealthCheckRequest); ok {
				r.serviceLen = len(cr.Service)
			}
			r.mu.Unlock()
			if len(md.Get("x-test-fail")) > 0 {
				// Needs percent-encoding in grpc-message: '%', non-ASCII and a newline.
				// The headers go first, so that grpcweb's wrapper sends the status in
				// trailers of their own (see TestTrailersOnlyErrorIsUnreadable).
				if err := grpc.SendHeader(ctx, metadata.MD{}); err != nil {
					return nil, err
				}
				return nil, status.Error(codes.PermissionDenied, "denied: 100% ünïcode\nsecond line")
			}
			if len(md.Get("x-test-big-response")) > 0 {
				// Any message can stand in for the response: the codec marshals what the
				// handler chain returns. 1 MiB exceeds nhooyr's default 32 KiB read limit.
				return &spb.Status{Message: strings.Repeat("y", 1<<20)}, nil
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv interface{}, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			err := h(srv, ss)
			select {
			case r.streamEnd <- err:
			default: // nobody is counting
			}
			return err
		}),
	)
	healthpb.RegisterHealthServer(gs, r.health)

	opts := []grpcweb.Option{
		grpcweb.WithWebsockets(true),
		grpcweb.WithOriginFunc(func(string) bool { return true }),
		grpcweb.WithWebsocketOriginFunc(func(*http.Request) bool { return true }),
	}
	if readLimit > 0 {
		opts = append(opts, grpcweb.WithWebsocketsMessageReadLimit(readLimit))
	}
	wrapped := grpcweb.WrapServer(gs, append(opts, extra...)...)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: wrapped}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		gs.Stop()
	})
	r.url = "ws://" + ln.Addr().String()
	return r
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a gRPC status", err, err)
	}
	if st.Code() != code || (msg != "" && st.Message() != msg) {
		t.Fatalf("got %v %q, want %v %q", st.Code(), st.Message(), code, msg)
	}
}

func TestCheckServing(t *testing.T) {
	r := newRig(t, 64<<20)
	var resp healthpb.HealthCheckResponse
	if err := Invoke(testCtx(t), r.url, checkMethod, nil, &healthpb.HealthCheckRequest{}, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("status %v, want SERVING", resp.Status)
	}
}

// An error before any header, through grpcweb's stock websocket wrapper (v0.15.0), is a
// "trailers-only" answer: one header frame with grpc-status in it. The JS client reads the
// first header frame as headers only and finds no trailers, as this client does: every
// such error reaches a Hub app as "Response closed without grpc-status". This is why
// hubctl serves websockets with its own handler (pkg/server/web.go), which always sends
// the status in a header frame of its own.
func TestTrailersOnlyErrorIsUnreadable(t *testing.T) {
	r := newRig(t, 64<<20)
	var resp healthpb.HealthCheckResponse
	err := Invoke(testCtx(t), r.url, checkMethod, nil, &healthpb.HealthCheckRequest{Service: "no.such.Service"}, &resp)
	if st := status.Convert(err); st.Code() != codes.Unknown || !strings.Contains(st.Message(), "without grpc-status") {
		t.Fatalf("got %v %q, want the JS client's \"closed without grpc-status\"", st.Code(), st.Message())
	}
}

func TestMetadataReachesServer(t *testing.T) {
	r := newRig(t, 64<<20)
	md := metadata.Pairs(
		"x-textile-api-key", "key-123",
		"x-textile-api-sig", "c2lnbmF0dXJl",
		"x-textile-api-sig-msg", "2021-01-01T00:00:00Z",
		"authorization", "bearer tok.en",
		"x-test-bin", "\x00\x01raw\xff",
	)
	md.Append("x-multi", "a", "b")
	var resp healthpb.HealthCheckResponse
	if err := Invoke(testCtx(t), r.url, checkMethod, md, &healthpb.HealthCheckRequest{}, &resp); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	got := r.md
	r.mu.Unlock()
	for k, want := range map[string]string{
		"x-textile-api-key":     "key-123",
		"x-textile-api-sig":     "c2lnbmF0dXJl",
		"x-textile-api-sig-msg": "2021-01-01T00:00:00Z",
		"authorization":         "bearer tok.en",
		"x-test-bin":            "\x00\x01raw\xff", // base64 on the wire, decoded by gRPC
		"x-multi":               "a, b",            // joined like the JS client joins values
	} {
		if v := got.Get(k); len(v) != 1 || v[0] != want {
			t.Errorf("server metadata %s = %q, want [%q]", k, v, want)
		}
	}
	if v := got.Get("content-type"); len(v) != 1 || v[0] != "application/grpc+proto" {
		t.Errorf("server content-type = %q (grpcweb rewrites application/grpc-web+proto)", v)
	}
}

func TestStatusMessagePercentDecoded(t *testing.T) {
	r := newRig(t, 64<<20)
	var resp healthpb.HealthCheckResponse
	err := Invoke(testCtx(t), r.url, checkMethod, metadata.Pairs("x-test-fail", "1"), &healthpb.HealthCheckRequest{}, &resp)
	wantCode(t, err, codes.PermissionDenied, "denied: 100% ünïcode\nsecond line")
}

// With WithCorsForRegisteredEndpointsOnly(false) grpcweb passes any method to gRPC,
// which answers Unimplemented, trailers-only: unreadable, as above.
func TestUnknownMethodUnimplemented(t *testing.T) {
	r := newRig(t, 64<<20, grpcweb.WithCorsForRegisteredEndpointsOnly(false))
	for _, m := range []string{"/grpc.health.v1.Health/Nope", "/no.such.Service/Method"} {
		var resp healthpb.HealthCheckResponse
		err := Invoke(testCtx(t), r.url, m, nil, &healthpb.HealthCheckRequest{}, &resp)
		if st := status.Convert(err); st.Code() != codes.Unknown || !strings.Contains(st.Message(), "without grpc-status") {
			t.Fatalf("%s: got %v %q, want the JS client's \"closed without grpc-status\"", m, st.Code(), st.Message())
		}
	}
}

// By default grpcweb only upgrades websockets for registered methods: an unknown one is
// refused with HTTP 403 at the handshake, before gRPC sees it, so there is no grpc-status
// (the JS client reports "Response closed without headers", code Unknown).
func TestUnknownMethodRefusedByDefault(t *testing.T) {
	r := newRig(t, 64<<20)
	var resp healthpb.HealthCheckResponse
	err := Invoke(testCtx(t), r.url, "/grpc.health.v1.Health/Nope", nil, &healthpb.HealthCheckRequest{}, &resp)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("got %v, want a handshake refused with 403", err)
	}
	if _, ok := status.FromError(err); ok {
		t.Fatalf("got a gRPC status %v for a refused handshake, want a transport error", err)
	}
}

// Watch sends the current status first and then blocks; ending the call from the client
// (cancelling ctx, with or without a Recv under way, or Close) must end the server's
// handler too.
func TestWatchFirstMessageThenEnd(t *testing.T) {
	r := newRig(t, 64<<20)
	for _, how := range []string{"cancel+Recv", "cancel", "Close"} {
		ctx, cancel := context.WithCancel(testCtx(t))
		s, err := Stream(ctx, r.url, watchMethod, nil, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var resp healthpb.HealthCheckResponse
		if err := s.Recv(&resp); err != nil {
			t.Fatal(err)
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("first Watch message %v, want SERVING", resp.Status)
		}
		switch how {
		case "cancel+Recv":
			cancel()
			wantCode(t, s.Recv(&resp), codes.Canceled, "")
		case "cancel":
			cancel()
		case "Close":
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			wantCode(t, s.Recv(&resp), codes.Canceled, "")
		}
		select {
		case <-r.streamEnd:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: server Watch handler still running after the client ended the call", how)
		}
		s.Close()
		cancel()
	}
}

// A status change after the first message arrives as a second streamed message.
func TestWatchUpdates(t *testing.T) {
	r := newRig(t, 64<<20)
	s, err := Stream(testCtx(t), r.url, watchMethod, nil, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var resp healthpb.HealthCheckResponse
	if err := s.Recv(&resp); err != nil || resp.Status != healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Fatalf("first: %v %v, want SERVICE_UNKNOWN", resp.Status, err)
	}
	r.health.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	if err := s.Recv(&resp); err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("second: %v %v, want NOT_SERVING", resp.Status, err)
	}
}

// A 1 MiB request is one websocket message (the JS client does not split messages), so
// it needs the server's read limit raised.
func TestLargeRequest(t *testing.T) {
	r := newRig(t, 64<<20)
	big := strings.Repeat("x", 1<<20)
	r.health.SetServingStatus(big, healthpb.HealthCheckResponse_SERVING)
	var resp healthpb.HealthCheckResponse
	if err := Invoke(testCtx(t), r.url, checkMethod, nil, &healthpb.HealthCheckRequest{Service: big}, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("status %v, want SERVING", resp.Status)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.serviceLen != len(big) {
		t.Fatalf("server got a %d-byte service name, want %d", r.serviceLen, len(big))
	}
}

// A 1 MiB response message needs the client's read limit raised as well.
func TestLargeResponse(t *testing.T) {
	r := newRig(t, 64<<20)
	var resp spb.Status
	if err := Invoke(testCtx(t), r.url, checkMethod, metadata.Pairs("x-test-big-response", "1"), &healthpb.HealthCheckRequest{}, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Message) != 1<<20 {
		t.Fatalf("response message of %d bytes, want %d", len(resp.Message), 1<<20)
	}
}

func TestLargeRequestFailsWithDefaultReadLimit(t *testing.T) {
	r := newRig(t, 0)
	// Small requests still work at the default limit.
	var resp healthpb.HealthCheckResponse
	if err := Invoke(testCtx(t), r.url, checkMethod, nil, &healthpb.HealthCheckRequest{}, &resp); err != nil {
		t.Fatal(err)
	}
	err := Invoke(testCtx(t), r.url, checkMethod, nil, &healthpb.HealthCheckRequest{Service: strings.Repeat("x", 1<<20)}, &resp)
	if err == nil {
		t.Fatal("1 MiB request succeeded with the default 32 KiB websocket read limit")
	}
	if errors.Is(err, io.EOF) {
		t.Fatalf("got bare io.EOF: %v", err)
	}
	t.Logf("1 MiB request at the default read limit: %v", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checks != 1 {
		t.Fatalf("%d calls reached the server handler chain, want only the small one", r.checks)
	}
}
