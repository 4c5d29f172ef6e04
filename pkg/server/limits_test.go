package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"nhooyr.io/websocket"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// bigMessage is the length an attacker's message claims: within the server's limit,
// so only reading it first would be refused.
const bigMessage = 15 << 20

// waitLimit bounds every wait: a server that waits for a body never answers, and the
// test fails instead of hanging.
const waitLimit = time.Minute

// h2Conn is a raw HTTP/2 connection, so that a test can send headers and a body's first
// bytes and see what the server answers before the rest.
type h2Conn struct {
	t   *testing.T
	c   net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	dec *hpack.Decoder
	buf bytes.Buffer
}

func dialH2(t *testing.T, addr string) *h2Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	h := &h2Conn{t: t, c: c, fr: http2.NewFramer(c, c)}
	h.enc = hpack.NewEncoder(&h.buf)
	h.dec = hpack.NewDecoder(4096, nil)
	if err := h.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return h
}

// startCall sends a call's headers (md: extra metadata) and the first bytes of a message
// that claims to be n bytes long.
func (h *h2Conn) startCall(stream uint32, method string, md map[string]string, n int) {
	h.t.Helper()
	h.buf.Reset()
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", method},
		{":authority", "hubctl"}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
		_ = h.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	for k, v := range md {
		_ = h.enc.WriteField(hpack.HeaderField{Name: k, Value: v})
	}
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: h.buf.Bytes(), EndHeaders: true}); err != nil {
		h.t.Fatal(err)
	}
	prefix := make([]byte, 5+1024)
	binary.BigEndian.PutUint32(prefix[1:5], uint32(n))
	if err := h.fr.WriteData(stream, false, prefix); err != nil {
		h.t.Fatal(err)
	}
}

// status reads frames until the stream's grpc-status arrives, or fails after waitLimit.
func (h *h2Conn) status(stream uint32) (codes.Code, string) {
	h.t.Helper()
	_ = h.c.SetReadDeadline(time.Now().Add(waitLimit))
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			h.t.Fatalf("no status for stream %d: %v (the server is waiting for the body)", stream, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = h.fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			fields, err := h.dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				h.t.Fatal(err)
			}
			if f.StreamID != stream {
				continue
			}
			var code, msg string
			for _, hf := range fields {
				switch hf.Name {
				case "grpc-status":
					code = hf.Value
				case "grpc-message":
					msg = hf.Value
				}
			}
			if code != "" {
				var c int
				fmt.Sscan(code, &c)
				return codes.Code(c), msg
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == stream {
				h.t.Fatalf("stream %d reset (%v) instead of answered", stream, f.ErrCode)
			}
		case *http2.GoAwayFrame:
			h.t.Fatalf("GOAWAY before stream %d was answered", stream)
		}
	}
}

// A native gRPC call without a key, or with an unknown one, is answered from its headers:
// the server does not wait for (or hold) the 15 MiB body it announces.
func TestPreAuthBodyNeverRead(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	user, err := reg.Create(hubauth.CreateOptions{Type: hubauth.UserKey, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	h := dialH2(t, d.State().API)
	h.startCall(1, "/threads.pb.API/Create", nil, bigMessage)
	if code, msg := h.status(1); code != codes.Unauthenticated || msg != "Session or API key required" {
		t.Fatalf("no key: %v %q", code, msg)
	}
	h.startCall(3, "/threads.pb.API/Create", map[string]string{"x-textile-api-key": "bunknownkey"}, bigMessage)
	if code, _ := h.status(3); code != codes.NotFound {
		t.Fatalf("unknown key: %v", code)
	}
	h.startCall(5, "/threads.pb.API/Create", map[string]string{"x-textile-api-key": user.Key}, bigMessage)
	if code, msg := h.status(5); code != codes.Unauthenticated || msg != "API key signature required" {
		t.Fatalf("secure key without a signature: %v %q", code, msg)
	}
	// A message over the limit is refused as gRPC refuses one, keyed or not.
	h.startCall(7, "/grpc.health.v1.Health/Check", nil, DefaultMaxMessageSize+1)
	if code, _ := h.status(7); code != codes.ResourceExhausted {
		t.Fatalf("a health check of 16 MiB + 1: %v, want ResourceExhausted", code)
	}
}

// A websocket's first message is its call's headers: one larger than a few KiB is refused
// before the server has read it; one that never comes closes the websocket; a call
// without a key is answered from its headers, without its body.
func TestPreAuthWebsocket(t *testing.T) {
	defer func(d time.Duration) { handshakeTimeout = d }(handshakeTimeout)
	handshakeTimeout = 500 * time.Millisecond
	d, _ := startDaemon(t, hubauth.AuthKeys)
	url := "ws://" + d.State().Web + "/threads.pb.API/Create"
	dial := func(t *testing.T) *websocket.Conn {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"grpc-websockets"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close(websocket.StatusNormalClosure, "") })
		return ws
	}
	// closed waits until the server closes the websocket and returns its close status
	// (-1 when it closed the connection without a close frame).
	closed := func(t *testing.T, ws *websocket.Conn) websocket.StatusCode {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
		defer cancel()
		for {
			_, _, err := ws.Read(ctx)
			if err != nil {
				if ctx.Err() != nil {
					t.Fatal("the server kept the websocket open")
				}
				return websocket.CloseStatus(err)
			}
		}
	}

	t.Run("header frame too large", func(t *testing.T) {
		ws := dial(t)
		// 20 KiB: small enough for the socket buffers, so the write completes (nhooyr's
		// client never returns from a write the server stops reading) and the server's
		// answer is read.
		huge := "x-pad: " + strings.Repeat("a", 20<<10) + "\r\n"
		if err := ws.Write(t.Context(), websocket.MessageBinary, []byte(huge)); err != nil {
			t.Fatal(err)
		}
		if code := closed(t, ws); code != websocket.StatusMessageTooBig {
			t.Fatalf("closed with %v, want %v", code, websocket.StatusMessageTooBig)
		}
	})
	t.Run("no header frame", func(t *testing.T) {
		closed(t, dial(t))
	})
	t.Run("no key", func(t *testing.T) {
		ws := dial(t)
		if err := ws.Write(t.Context(), websocket.MessageBinary, []byte("content-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\n")); err != nil {
			t.Fatal(err)
		}
		// The start of a 15 MiB message, and no more: the answer must not wait for it.
		msg := make([]byte, 1+5+1024)
		binary.BigEndian.PutUint32(msg[2:6], bigMessage)
		if err := ws.Write(t.Context(), websocket.MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
		if trailers := webTrailers(t, ws); !strings.Contains(trailers, "grpc-status: 16\r\n") || !strings.Contains(trailers, "grpc-message: Session or API key required") {
			t.Fatalf("trailers %q, want Unauthenticated", trailers)
		}
	})
}

// webTrailers reads grpc-web frames from a websocket until the trailer frame (the second
// header frame).
func webTrailers(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	headerFrames := 0
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("no trailers: %v", err)
		}
		if len(b) == 5 && b[0]&0x80 != 0 {
			_, h, err := ws.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if headerFrames++; headerFrames == 2 {
				return string(h)
			}
		}
	}
}

// HTTP grpc-web without a key is answered from its headers too: the server replies before
// the client has sent the body it announced.
func TestPreAuthWebHTTP(t *testing.T) {
	d, _ := startDaemon(t, hubauth.AuthKeys)
	c, err := net.Dial("tcp", d.State().Web)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /threads.pb.API/Create HTTP/1.1\r\nHost: hubctl\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: %d\r\n\r\n", bigMessage+5)
	if _, err := c.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	defer res.Body.Close()
	// grpc-web sends the trailers in the body, as a frame of header lines.
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte("grpc-status: 16\r\n")) || !bytes.Contains(body, []byte("grpc-message: Session or API key required")) {
		t.Fatalf("body %q, want grpc-status 16 (Unauthenticated: no key)", body)
	}
}

// Connections that do nothing are closed: an HTTP/2 connection with no call after the
// idle time (GOAWAY), a TCP connection that never sends its preface after the handshake
// time.
func TestIdleConnectionsClosed(t *testing.T) {
	defer func(d time.Duration) { handshakeTimeout = d }(handshakeTimeout)
	handshakeTimeout = 500 * time.Millisecond
	dir := filepath.Join(t.TempDir(), "data")
	d, err := StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone, Limits: Limits{IdleTimeout: 4 * time.Second}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Shutdown(context.Background()) })

	// A connection that reads nothing (and so never answers the server's pings or its
	// GOAWAY) is closed too.
	h := dialH2(t, d.State().API)
	_ = h.c.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := io.Copy(io.Discard, h.c); err != nil {
		t.Fatalf("idle HTTP/2 connection: %v, want closed by the server", err)
	}

	silent, err := net.Dial("tcp", d.State().API)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_ = silent.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := io.Copy(io.Discard, silent); err != nil {
		t.Fatalf("a connection that sends nothing: %v, want closed by the server", err)
	}
}

// A graceful stop is not held up by what never ends by itself: health Watch streams,
// websockets that have not started a call, idle HTTP/2 connections.
func TestStopNotHeldUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d, err := StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone}))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.Dial(d.State().API, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	watches := make(chan error, 5)
	for i := 0; i < 5; i++ {
		w, err := health.Watch(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Recv(); err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				if _, err := w.Recv(); err != nil {
					watches <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
		ws, _, err := websocket.Dial(ctx, "ws://"+d.State().Web+"/threads.pb.API/ListDBs", &websocket.DialOptions{Subprotocols: []string{"grpc-websockets"}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close(websocket.StatusNormalClosure, "")
	}
	_ = dialH2(t, d.State().API)

	// No deadline: before, this waited for ever on the Watch streams and the websockets.
	stopped := make(chan error, 1)
	go func() { stopped <- d.Shutdown(context.Background()) }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Shutdown still waiting")
	}
	for i := 0; i < 5; i++ {
		<-watches // each Watch stream ended
	}
}

// One connection holds at most --max-streams calls at once: the server says so in its
// settings, and refuses a stream past it.
func TestStreamsPerConnectionBounded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d, err := StartDaemon(t.Context(), loopback(DaemonOptions{DataDir: dir, Mode: hubauth.AuthNone, Limits: Limits{MaxStreams: 4}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	h := dialH2(t, d.State().API)
	_ = h.c.SetReadDeadline(time.Now().Add(waitLimit))
	for advertised := false; !advertised; {
		f, err := h.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			v, ok := sf.Value(http2.SettingMaxConcurrentStreams)
			if !ok || v != 4 {
				t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS %d (set: %v), want 4", v, ok)
			}
			_ = h.fr.WriteSettingsAck()
			advertised = true
		}
	}
	// Five health Watch streams, which last until the client leaves.
	for i := uint32(0); i < 5; i++ {
		id := 1 + 2*i
		h.buf.Reset()
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/grpc.health.v1.Health/Watch"},
			{":authority", "hubctl"}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
			_ = h.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.buf.Bytes(), EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		if err := h.fr.WriteData(id, true, make([]byte, 5)); err != nil {
			t.Fatal(err)
		}
	}
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			t.Fatalf("the fifth stream was not refused: %v", err)
		}
		if rst, ok := f.(*http2.RSTStreamFrame); ok {
			if rst.StreamID != 9 || rst.ErrCode != http2.ErrCodeRefusedStream {
				t.Fatalf("RST_STREAM %d %v, want stream 9 refused", rst.StreamID, rst.ErrCode)
			}
			return
		}
	}
}

// A websocket call's client cannot send further ahead of the handler than the flow's
// limit: the websocket is read on only as the handler receives.
func TestWebFlowBoundsWhatWaits(t *testing.T) {
	f := &webFlow{limit: 100}
	ctx := t.Context()
	if err := f.acquire(ctx, 60); err != nil {
		t.Fatal(err)
	}
	if err := f.acquire(ctx, 40); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- f.acquire(ctx, 10) }()
	select {
	case err := <-got:
		t.Fatalf("a read past the limit went ahead (%v)", err)
	case <-time.After(100 * time.Millisecond):
		// Not an assertion on time: a read that is still waiting is the point.
	}
	f.release(60)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the read still waits after the handler received")
	}
	// A message larger than the limit still goes when nothing waits.
	f.release(50)
	if err := f.acquire(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	// A call that ends stops the wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.acquire(cctx, 1); err == nil {
		t.Fatal("acquire after the call ended")
	}
}
