package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"nhooyr.io/websocket"
)

// webServer serves grpc-web, over HTTP and over websockets, as the Hub's browser and Node
// clients speak it (improbable-eng's protocol). HTTP requests go through the grpcweb
// library; websockets are served here, because the library reads a websocket's first
// message (the call's headers) with the same limit as its data and with no deadline, and
// logs an error for every client that goes away. Here, before any body is read:
//   - a websocket's header frame must arrive within handshakeTimeout and fit in
//     maxWebHeaderFrame, and
//   - every call's key is checked from its headers (precheck), an anonymous or refused one
//     answered at once.
//
// Websockets still waiting for their headers are closed when the server stops.
type webServer struct {
	grpc     *grpc.Server
	wrapped  *grpcweb.WrappedGrpcServer
	limits   Limits
	precheck func(ctx context.Context, method string) (context.Context, error)
	allowed  func(origin string) bool
	// calls counts calls in flight, so that a stop can wait for them before grpc's
	// GracefulStop (which panics on a call still served through ServeHTTP in v1.39).
	calls   sync.WaitGroup
	debugf  func(format string, args ...any)
	mu      sync.Mutex
	waiting map[*websocket.Conn]struct{}
	stopped bool
}

func newWebServer(s *grpc.Server, limits Limits, origins []string, precheck func(context.Context, string) (context.Context, error), debugf func(string, ...any)) *webServer {
	anyOrigin := len(origins) == 0 || slices.Contains(origins, "*")
	w := &webServer{
		grpc: s, limits: limits, precheck: precheck, debugf: debugf,
		// Clients outside browsers (Node's websocket client among them) send no Origin;
		// CORS only protects browsers.
		allowed: func(origin string) bool { return anyOrigin || origin == "" || slices.Contains(origins, origin) },
		waiting: map[*websocket.Conn]struct{}{},
	}
	// The library serves HTTP grpc-web (and CORS) around w.call, which checks the key
	// from the headers before it lets the grpc server read the body.
	endpoints := func() []string { return grpcweb.ListGRPCResources(s) }
	w.wrapped = grpcweb.WrapHandler(http.HandlerFunc(w.call),
		grpcweb.WithOriginFunc(w.allowed),
		grpcweb.WithEndpointsFunc(endpoints),
	)
	return w
}

func (w *webServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	switch {
	case w.wrapped.IsGrpcWebSocketRequest(r):
		if !w.allowed(r.Header.Get("Origin")) {
			http.Error(rw, "hubctl daemon: origin not allowed (--cors-origin)", http.StatusForbidden)
			return
		}
		w.calls.Add(1)
		defer w.calls.Done()
		w.serveWebsocket(rw, r)
	case w.wrapped.IsGrpcWebRequest(r) || w.wrapped.IsAcceptableGrpcCorsRequest(r):
		w.calls.Add(1)
		defer w.calls.Done()
		w.wrapped.ServeHTTP(rw, r)
	default:
		http.Error(rw, "hubctl daemon: this address serves grpc-web only", http.StatusNotFound)
	}
}

// call serves one call, its request already in gRPC's form (HTTP/2, application/grpc):
// the key is checked from the headers, then the grpc server reads at most one message's
// worth of body for each message it takes.
func (w *webServer) call(rw http.ResponseWriter, r *http.Request) {
	checked, err := w.precheck(metadata.NewIncomingContext(r.Context(), headerMetadata(r.Header)), r.URL.Path)
	if err != nil {
		writeStatus(rw, status.Convert(err))
		return
	}
	// The checked key goes with the call (grpc's handler transport sets the incoming
	// metadata again from the headers).
	r = r.WithContext(checked)
	if r.Header.Get("Upgrade") == "" {
		// HTTP grpc-web carries one request message; a body larger than the message
		// limit is cut off and the call fails.
		r.Body = http.MaxBytesReader(rw, r.Body, int64(w.limits.MaxMessageSize)+grpcFrameHeader)
	}
	w.grpc.ServeHTTP(rw, r)
}

// grpcFrameHeader is the length of gRPC's message prefix: a flag byte and a length.
const grpcFrameHeader = 5

// writeStatus answers a call that never reached the grpc server the way grpc's own
// handler answers one that fails at once: headers, then the status in trailers.
func writeStatus(rw http.ResponseWriter, st *status.Status) {
	h := rw.Header()
	h.Set("Content-Type", "application/grpc")
	h.Add("Trailer", "Grpc-Status")
	h.Add("Trailer", "Grpc-Message")
	rw.WriteHeader(http.StatusOK)
	if f, ok := rw.(http.Flusher); ok {
		f.Flush()
	}
	h.Set("Grpc-Status", fmt.Sprint(int(st.Code())))
	h.Set("Grpc-Message", encodeGrpcMessage(st.Message()))
}

// encodeGrpcMessage percent-encodes a status message as gRPC's grpc-message header
// carries it (grpc's internal encodeGrpcMessage).
func encodeGrpcMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c >= ' ' && c <= '~' && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// headerMetadata is the gRPC metadata of HTTP headers, as grpc's handler transport reads
// them (keys in lower case).
func headerMetadata(h http.Header) metadata.MD {
	md := make(metadata.MD, len(h))
	for k, vs := range h {
		md[strings.ToLower(k)] = vs
	}
	return md
}

// serveWebsocket serves one call over a websocket: a header frame, then messages, each a
// control byte (0 data, 1 end of client send) and a gRPC frame.
func (w *webServer) serveWebsocket(rw http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(rw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the origin was checked above
		Subprotocols:       []string{"grpc-websockets"},
		// A compressed message would be inflated before the read limit applied.
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		w.debugf("grpc-web: websocket upgrade from %s: %v", r.RemoteAddr, err)
		return
	}
	if !w.wait(ws) {
		ws.Close(websocket.StatusGoingAway, "server stopping")
		return
	}
	ws.SetReadLimit(maxWebHeaderFrame)
	headerCtx, cancel := context.WithTimeout(r.Context(), handshakeTimeout)
	typ, frame, err := ws.Read(headerCtx)
	cancel()
	if !w.done(ws) {
		ws.Close(websocket.StatusGoingAway, "server stopping")
		return
	}
	if err != nil {
		w.debugf("grpc-web: websocket from %s sent no call headers: %v", r.RemoteAddr, err)
		ws.Close(websocket.StatusPolicyViolation, "call headers must come first, within 10s and 16 KiB")
		return
	}
	headers, err := parseWebHeaders(frame)
	if typ != websocket.MessageBinary || err != nil {
		w.debugf("grpc-web: websocket from %s: malformed call headers", r.RemoteAddr)
		ws.Close(websocket.StatusPolicyViolation, "malformed call headers")
		return
	}
	ws.SetReadLimit(int64(w.limits.MaxMessageSize) + grpcFrameHeader + 1)

	ctx, cancelCall := context.WithCancel(r.Context())
	defer cancelCall()
	req := r.Clone(ctx)
	req.Method = http.MethodPost
	req.ProtoMajor, req.ProtoMinor, req.Proto = 2, 0, "HTTP/2.0"
	req.Header = headers
	req.Header.Set("Content-Type", strings.Replace(headers.Get("Content-Type"), "application/grpc-web", "application/grpc", 1))
	req.Header.Del("Content-Length")
	flow := &webFlow{limit: 2 * (w.limits.MaxMessageSize + grpcFrameHeader)}
	req = req.WithContext(context.WithValue(ctx, webFlowKey{}, flow))
	out := &wsResponse{ctx: ctx, ws: ws, header: http.Header{}}
	req.Body = &wsBody{ctx: ctx, ws: ws, cancel: cancelCall, flow: flow}
	w.call(out, req)
	out.flushTrailers()
	ws.Close(websocket.StatusNormalClosure, "")
}

// wait registers a websocket that has not sent its headers yet; false once stopping.
func (w *webServer) wait(ws *websocket.Conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return false
	}
	w.waiting[ws] = struct{}{}
	return true
}

// done ends a websocket's wait; false when the server stopped meanwhile (and closed it).
func (w *webServer) done(ws *websocket.Conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waiting, ws)
	return !w.stopped
}

// stop closes the websockets still waiting for their call's headers: they hold nothing a
// client was promised, and must not keep a stop waiting. Calls in progress go on.
func (w *webServer) stop() {
	w.mu.Lock()
	w.stopped = true
	waiting := w.waiting
	w.waiting = map[*websocket.Conn]struct{}{}
	w.mu.Unlock()
	for ws := range waiting {
		// CloseNow would be immediate, but nhooyr v1.8.7 has only Close, which waits up
		// to 5 s for the peer's close frame: do it in the background.
		go ws.Close(websocket.StatusGoingAway, "server stopping")
	}
}

// parseWebHeaders reads a header frame: HTTP header lines.
func parseWebHeaders(frame []byte) (http.Header, error) {
	tp := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(frame), strings.NewReader("\r\n\r\n"))))
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, err
	}
	return http.Header(h), nil
}

// wsBody is a websocket's messages as a request body.
type wsBody struct {
	ctx    context.Context
	ws     *websocket.Conn
	cancel context.CancelFunc
	flow   *webFlow
	rest   []byte
	ended  bool
}

func (b *wsBody) Read(p []byte) (int, error) {
	for len(b.rest) == 0 {
		if b.ended {
			return 0, io.EOF
		}
		typ, msg, err := b.ws.Read(b.ctx)
		if err != nil {
			// The client went away: the call ends.
			b.cancel()
			return 0, io.EOF
		}
		if typ != websocket.MessageBinary || len(msg) == 0 {
			b.cancel()
			return 0, errors.New("grpc-web websocket: a message that is not binary")
		}
		if msg[0] == 1 && len(msg) == 1 {
			// End of the client's messages; the call goes on until the client closes.
			b.ended = true
			go b.watchClose()
			return 0, io.EOF
		}
		if err := b.flow.acquire(b.ctx, len(msg)-1); err != nil {
			return 0, io.EOF // the call ended while the client was ahead of it
		}
		b.rest = msg[1:]
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

// watchClose ends the call when the client closes the websocket after its last message
// (a Listen stream it no longer wants).
func (b *wsBody) watchClose() {
	for {
		if _, _, err := b.ws.Read(b.ctx); err != nil {
			b.cancel()
			return
		}
	}
}

func (b *wsBody) Close() error { return nil }

// wsResponse writes a call's response to a websocket as grpc-web frames: headers, the
// messages as they come, and trailers.
type wsResponse struct {
	ctx     context.Context
	ws      *websocket.Conn
	header  http.Header
	flushed http.Header // the headers already sent
	err     error
}

func (w *wsResponse) Header() http.Header { return w.header }

func (w *wsResponse) WriteHeader(int) {
	if w.flushed != nil {
		return
	}
	w.flushed = http.Header{}
	for k, vs := range w.header {
		if k != "Trailer" {
			w.flushed[k] = vs
		}
	}
	w.writeHeaderFrame(w.flushed)
}

func (w *wsResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.err == nil {
		w.err = w.ws.Write(w.ctx, websocket.MessageBinary, b)
	}
	return len(b), w.err
}

// Flush sends the headers if they have not gone yet, as net/http's Flush does. grpc's
// handler transport relies on it: an error before any message is answered with a Flush,
// then the status set in the header map, which must go out as trailers of their own.
// Without this the status went out in the header frame, which the JS client reads as
// headers only: every error reached a Hub app as "Response closed without grpc-status".
func (w *wsResponse) Flush() { w.WriteHeader(http.StatusOK) }

// flushTrailers sends what was set in the header map after the headers went out, the
// status among it, with keys in lower case as grpc-web wants.
func (w *wsResponse) flushTrailers() {
	w.WriteHeader(http.StatusOK)
	trailers := http.Header{}
	for k, vs := range w.header {
		if _, sent := w.flushed[k]; sent || k == "Trailer" {
			continue
		}
		trailers[strings.ToLower(strings.TrimPrefix(k, http2.TrailerPrefix))] = vs
	}
	w.writeHeaderFrame(trailers)
}

// writeHeaderFrame sends headers as grpc-web does: a 5-byte prefix with the high bit set,
// then the header lines.
func (w *wsResponse) writeHeaderFrame(h http.Header) {
	if w.err != nil {
		return
	}
	var buf bytes.Buffer
	_ = h.Write(&buf)
	prefix := []byte{1 << 7, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(prefix[1:], uint32(buf.Len()))
	if w.err = w.ws.Write(w.ctx, websocket.MessageBinary, prefix); w.err == nil {
		w.err = w.ws.Write(w.ctx, websocket.MessageBinary, buf.Bytes())
	}
}

// webFlow bounds how far a websocket call's client may send ahead of the call: grpc's
// ServeHTTP transport reads a request body as fast as it comes into a buffer without a
// bound (HTTP/2 has flow control for that; a websocket has none), so the websocket is
// read on only while less than limit bytes of the call's messages wait for the handler.
// webFlowInterceptor frees them as the handler receives each message.
type webFlow struct {
	limit    int
	mu       sync.Mutex
	buffered int
	freed    chan struct{} // closed, and replaced, when buffered falls
}

type webFlowKey struct{}

// acquire waits until n more bytes may wait for the handler (always when none do).
func (f *webFlow) acquire(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if f.buffered == 0 || f.buffered+n <= f.limit {
			f.buffered += n
			f.mu.Unlock()
			return nil
		}
		if f.freed == nil {
			f.freed = make(chan struct{})
		}
		freed := f.freed
		f.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release frees n bytes the handler has received.
func (f *webFlow) release(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A compressed message frees more than its decoded size would: never below zero.
	f.buffered = max(f.buffered-n, 0)
	if f.freed != nil {
		close(f.freed)
		f.freed = nil
	}
}

// webFlowInterceptor frees a websocket call's flow as its handler receives messages.
func webFlowInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	flow, ok := ss.Context().Value(webFlowKey{}).(*webFlow)
	if !ok {
		return handler(srv, ss)
	}
	return handler(srv, &flowStream{ServerStream: ss, flow: flow})
}

type flowStream struct {
	grpc.ServerStream
	flow *webFlow
}

func (s *flowStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		n := s.flow.limit // a message of unknown size frees everything: never a stall
		if pm, ok := m.(proto.Message); ok {
			n = proto.Size(pm) + grpcFrameHeader
		}
		s.flow.release(n)
	}
	return err
}
