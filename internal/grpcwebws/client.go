// Package grpcwebws is a small gRPC-Web-over-websocket client for tests. It speaks the
// wire protocol of improbable-eng/grpc-web's websocket transport (the "grpc-websockets"
// subprotocol) the way the browser/Node clients of the Hub (@textile/hub,
// @textile/threads-client) do, so that tests can reach a server wrapped with
// grpcweb.WrapServer(..., grpcweb.WithWebsockets(true)) through the same path.
//
// Wire protocol, as implemented by grpc-web v0.15.0 (go/grpcweb/websocket_wrapper.go and
// wrapper.go on the server, client/grpc-web/src/transports/websocket/websocket.ts and
// client.ts on the JS side):
//
// Client to server, all binary websocket messages:
//   - first message: the request headers as "key: value\r\n" lines; the server parses
//     them with textproto.ReadMIMEHeader and uses them as the HTTP headers of the gRPC
//     request (so the caller's metadata arrives as gRPC metadata);
//   - each request message: one websocket message holding a control byte 0 (data)
//     followed by the whole gRPC frame (flag byte, 4-byte big-endian length, protobuf
//     bytes). The JS client does not split large messages; the server reads any length
//     up to its websocket read limit (nhooyr's default is 32 KiB, raised with
//     grpcweb.WithWebsocketsMessageReadLimit);
//   - end of client send: a message of the single byte 1.
//
// Server to client, binary websocket messages that together form a byte stream of
// gRPC-Web frames; a frame can span messages (the server writes the 5-byte prefix of a
// header frame and its body as two messages, and grpc-go's handler transport writes a
// data frame's prefix and payload with separate Write calls, each of which becomes a
// message):
//   - flag 0x00: a data frame carrying one response message;
//   - flag 0x80: a header frame whose body is "Key: value\r\n" lines. The first one
//     carries the response headers; the second the trailers grpc-status and
//     grpc-message (percent-encoded). The JS client takes the status from the second
//     alone: a server that sends an error's status in the first (a "trailers-only"
//     answer) fails every call with "Response closed without grpc-status".
//
// After the trailers the server closes the websocket with a normal closure.
package grpcwebws

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"nhooyr.io/websocket"
)

// Subprotocol is the websocket subprotocol the grpc-web server checks for
// (WrappedGrpcServer.IsGrpcWebSocketRequest) before taking a request as gRPC-Web.
const Subprotocol = "grpc-websockets"

// ReadLimit is the largest websocket message the client accepts. nhooyr's default of
// 32 KiB would fail any response message larger than that; 64 MiB matches the limit the
// daemon sets on its side.
const ReadLimit = 64 << 20

const (
	ctlData       = 0    // control byte prefixed to each request message
	ctlFinishSend = 1    // single-byte message: the client has finished sending
	frameHeader   = 0x80 // MSB of a gRPC-Web frame's flag byte: header/trailer frame
	frameCompress = 0x01 // compressed-flag bit; never set here, no grpc-encoding is sent
)

// Invoke makes one unary call over a new websocket to url (e.g. "ws://127.0.0.1:PORT"),
// method "/package.Service/Method", sending md as request headers. The returned error is a
// gRPC status error (status.FromError works) built from grpc-status/grpc-message, or a
// transport error wrapped with context.
func Invoke(ctx context.Context, url, method string, md metadata.MD, req, resp proto.Message) error {
	s, err := Stream(ctx, url, method, md, req)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Recv(resp); err != nil {
		if err == io.EOF {
			// OK trailers without a message: grpc-go's client reports this as Internal too.
			return status.Errorf(codes.Internal, "grpcwebws: %s: server sent no response message", method)
		}
		return err
	}
	// A unary call ends with the trailers; their status is the call's result. A stray
	// second message is decoded into a fresh message of the response's type.
	switch err := s.Recv(resp.ProtoReflect().New().Interface()); err {
	case io.EOF:
		return nil
	case nil:
		return status.Errorf(codes.Internal, "grpcwebws: %s: more than one response message for a unary call", method)
	default:
		return err
	}
}

// ServerStream is one call whose response messages are read with Recv. Recv and Close
// are for one goroutine; to end a blocked Recv from another one, cancel the context.
type ServerStream struct {
	ctx    context.Context
	conn   *websocket.Conn
	watch  *writeWatch
	method string
	stop   func() bool // unregisters the close-on-cancel hook

	buf     []byte // received bytes not yet parsed into frames
	headers bool   // the response-headers frame has been seen
	end     error  // terminal result (io.EOF or a status error) once known

	closeOnce sync.Once
}

// Stream opens a server-streaming call (for Listen-like methods): Recv decodes the next
// message into m, returns io.EOF after an OK trailer, or the status error.
// ctx governs the whole call: cancelling it closes the websocket at once, which the
// server sees as the client going away (it cancels the handler's context), and Recv
// then returns a Canceled or DeadlineExceeded status.
func Stream(ctx context.Context, url, method string, md metadata.MD, req proto.Message) (*ServerStream, error) {
	hdr, err := encodeHeaders(md)
	if err != nil {
		return nil, fmt.Errorf("grpcwebws: %s: %w", method, err)
	}
	body, err := proto.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("grpcwebws: %s: marshal request: %w", method, err)
	}

	// nhooyr (v1.8.7), after a failed socket write, waits until the connection is closed
	// or the write's context ends, while holding the write lock; when the server has
	// dropped the connection (e.g. on a message over its read limit) nothing closes it,
	// and even the reader's echo of the server's close frame hangs for 5 s. writeWatch
	// therefore keeps the first socket write error and discards later writes instead
	// of failing them: the broken connection is then reported by the reads, which also
	// carry the server's close frame (code and reason) when it sent one.
	watch := &writeWatch{}
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			watch.Conn = c
			return watch, nil
		},
	}}

	// The JS transport appends the method path to the host URL (client.ts createTransport).
	conn, _, err := websocket.Dial(ctx, strings.TrimSuffix(url, "/")+method, &websocket.DialOptions{
		HTTPClient:   hc,
		Subprotocols: []string{Subprotocol},
	})
	if err != nil {
		// grpcweb refuses the upgrade with HTTP 403 for a disallowed origin and, unless
		// WithCorsForRegisteredEndpointsOnly(false), for a method it does not serve.
		return nil, transportErr(ctx, method, "dial", err)
	}
	conn.SetReadLimit(ReadLimit)
	s := &ServerStream{ctx: ctx, conn: conn, method: method, watch: watch}
	s.stop = context.AfterFunc(ctx, func() { s.closeConn(websocket.StatusGoingAway) })

	// Request message: control byte 0, then the gRPC frame, in one websocket message
	// (websocket.ts sendToWebsocket, util.ts frameRequest).
	msg := make([]byte, 1+5+len(body))
	msg[0] = ctlData
	msg[1] = 0 // uncompressed
	binary.BigEndian.PutUint32(msg[2:6], uint32(len(body)))
	copy(msg[6:], body)

	// The whole request is sent before any response is read. The JS client sends from
	// the open event and reads from message events; the bytes on the wire are the same.
	// Writing while reading would race in nhooyr: once the reader has taken in a close
	// frame, a concurrent Write waits, holding the write lock, for the connection to
	// close, while the reader waits up to 5 s for that lock to echo the close.
	for _, m := range [][]byte{hdr, msg, {ctlFinishSend}} {
		if err := conn.Write(ctx, websocket.MessageBinary, m); err != nil {
			s.abort()
			return nil, transportErr(ctx, method, "write request", err)
		}
	}
	return s, nil
}

// Recv decodes the next response message into m. It returns io.EOF once the server has
// ended the call with status OK, and the call's status error otherwise; after the end it
// keeps returning the same result.
func (s *ServerStream) Recv(m proto.Message) error {
	for s.end == nil {
		flag, body, ok, err := s.nextFrame()
		if err != nil {
			s.abort()
			s.end = err
			break
		}
		if !ok {
			continue
		}
		if flag&frameHeader == 0 {
			if flag&frameCompress != 0 {
				s.finish(status.Errorf(codes.Internal, "grpcwebws: %s: compressed response frame, but no compression was negotiated", s.method))
				break
			}
			if err := proto.Unmarshal(body, m); err != nil {
				s.finish(status.Errorf(codes.Internal, "grpcwebws: %s: unmarshal response: %v", s.method, err))
				break
			}
			return nil
		}
		h := parseHeaderBlock(body)
		if !s.headers {
			// As client.ts (grpc-web 0.12 to 0.14, which @textile/hub uses) reads a
			// websocket: the first header frame is the response headers, whatever it
			// holds, grpc-status included; the status comes from the next one alone.
			s.headers = true
			continue
		}
		if _, ok := h["grpc-status"]; !ok {
			// Trailers without grpc-status are an error (client.ts onTransportEnd:
			// "Response closed without grpc-status (Trailers provided)").
			s.finish(status.Errorf(codes.Internal, "grpcwebws: %s: response trailers without grpc-status", s.method))
			break
		}
		s.finish(statusFromHeaders(h))
	}
	return s.end
}

// nextFrame returns the next complete gRPC-Web frame from the received bytes, reading one
// more websocket message when none is complete yet (ok is then false).
func (s *ServerStream) nextFrame() (flag byte, body []byte, ok bool, err error) {
	if len(s.buf) >= 5 {
		n := binary.BigEndian.Uint32(s.buf[1:5])
		if uint64(len(s.buf)-5) >= uint64(n) {
			flag, body = s.buf[0], s.buf[5:5+n]
			s.buf = s.buf[5+n:]
			return flag, body, true, nil
		}
	}
	typ, p, err := s.conn.Read(s.ctx)
	if err != nil {
		if websocket.CloseStatus(err) == websocket.StatusNormalClosure && s.ctx.Err() == nil {
			// The server closed before sending grpc-status; client.ts reports this as
			// "Response closed without headers/grpc-status".
			return 0, nil, false, status.Errorf(codes.Unknown, "grpcwebws: %s: response closed without grpc-status", s.method)
		}
		if werr := s.watch.error(); werr != nil && websocket.CloseStatus(err) == -1 && s.ctx.Err() == nil {
			// No close frame to explain it: say that the request did not get through.
			err = fmt.Errorf("%w (the server dropped the connection; sending had failed: %v)", err, werr)
		}
		return 0, nil, false, transportErr(s.ctx, s.method, "read response", err)
	}
	if typ != websocket.MessageBinary {
		return 0, nil, false, status.Errorf(codes.Internal, "grpcwebws: %s: non-binary websocket message from server", s.method)
	}
	s.buf = append(s.buf, p...)
	return 0, nil, false, nil
}

// finish records the call's result and closes the websocket normally. The server closes
// right after its trailers, so the close handshake completes at once.
func (s *ServerStream) finish(end error) {
	s.end = end
	s.shutdown(websocket.StatusNormalClosure)
}

// abort drops the connection after a transport or protocol error.
func (s *ServerStream) abort() { s.shutdown(websocket.StatusGoingAway) }

// shutdown closes the websocket once; from the goroutine that uses the stream.
func (s *ServerStream) shutdown(code websocket.StatusCode) error {
	s.stop()
	return s.closeConn(code)
}

// closeConn closes the websocket once; also from the context's AfterFunc.
func (s *ServerStream) closeConn(code websocket.StatusCode) (err error) {
	s.closeOnce.Do(func() { err = s.conn.Close(code, "") })
	return err
}

// Close ends the call. Before the server's trailers it closes the websocket, which the
// server treats as cancellation (like ws.close() in the JS transport's cancel). It is
// safe to call more than once and after Recv has returned the end of the call.
func (s *ServerStream) Close() error {
	err := s.shutdown(websocket.StatusNormalClosure)
	if s.end == nil {
		s.end = status.Errorf(codes.Canceled, "grpcwebws: %s: stream closed by client", s.method)
	}
	return err
}

// writeWatch is the websocket's TCP connection. A failed write is recorded and reported
// to nhooyr as done, and later writes are dropped (see Stream for why).
type writeWatch struct {
	net.Conn

	mu  sync.Mutex
	err error
}

func (w *writeWatch) Write(p []byte) (int, error) {
	if w.error() != nil {
		return len(p), nil
	}
	// Writes are serialised by nhooyr's write lock; mu only guards err for error().
	if _, err := w.Conn.Write(p); err != nil {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
	}
	return len(p), nil
}

func (w *writeWatch) error() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// encodeHeaders renders the first websocket message: "key: value\r\n" lines with the two
// headers client.ts start() always sets, then the caller's metadata. Values of a key
// are joined with ", " like websocket.ts headersToBytes; "-bin" keys are base64-encoded
// one line per value, since gRPC decodes each such header value as a whole.
func encodeHeaders(md metadata.MD) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("content-type: application/grpc-web+proto\r\n")
	b.WriteString("x-grpc-web: 1\r\n")
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if lk == "content-type" || lk == "x-grpc-web" || len(md[k]) == 0 {
			continue
		}
		if lk == "" || strings.ContainsAny(lk, ":\r\n \t") {
			return nil, fmt.Errorf("invalid metadata key %q", k)
		}
		if strings.HasSuffix(lk, "-bin") {
			for _, v := range md[k] {
				fmt.Fprintf(&b, "%s: %s\r\n", lk, base64.RawStdEncoding.EncodeToString([]byte(v)))
			}
			continue
		}
		v := strings.Join(md[k], ", ")
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("metadata %q: value contains a line break", k)
		}
		fmt.Fprintf(&b, "%s: %s\r\n", lk, v)
	}
	return b.Bytes(), nil
}

// parseHeaderBlock parses the body of a header frame, which the server writes with
// http.Header.Write ("Key: value\r\n"; canonical keys in the response headers,
// lower-case keys in the trailers). Keys are lower-cased here.
func parseHeaderBlock(p []byte) http.Header {
	h := http.Header{}
	for _, line := range strings.Split(string(p), "\r\n") {
		i := strings.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(line[:i]))
		h[k] = append(h[k], strings.TrimSpace(line[i+1:]))
	}
	return h
}

// statusFromHeaders builds the call's result from grpc-status, grpc-message and, when
// present, grpc-status-details-bin (the full google.rpc.Status, base64-encoded).
func statusFromHeaders(h http.Header) error {
	code, err := strconv.ParseUint(first(h, "grpc-status"), 10, 32)
	if err != nil {
		return status.Errorf(codes.Internal, "grpcwebws: malformed grpc-status %q", first(h, "grpc-status"))
	}
	if codes.Code(code) == codes.OK {
		return io.EOF
	}
	if d := first(h, "grpc-status-details-bin"); d != "" {
		if raw, err := decodeBin(d); err == nil {
			p := &spb.Status{}
			if proto.Unmarshal(raw, p) == nil && p.Code == int32(code) {
				return status.FromProto(p).Err()
			}
		}
	}
	return status.New(codes.Code(code), decodeGrpcMessage(first(h, "grpc-message"))).Err()
}

func first(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// decodeBin accepts padded and unpadded base64, like grpc-go's decodeBinHeader.
func decodeBin(v string) ([]byte, error) {
	if len(v)%4 == 0 {
		return base64.StdEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}

// decodeGrpcMessage undoes the gRPC spec's percent-encoding of grpc-message (grpc-go
// encodes bytes outside 0x20-0x7E and '%' as %XX). Malformed escapes are kept as they are.
func decodeGrpcMessage(msg string) string {
	if !strings.Contains(msg, "%") {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		if msg[i] == '%' && i+2 < len(msg) {
			if v, err := strconv.ParseUint(msg[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(msg[i])
	}
	return b.String()
}

// transportErr reports a websocket failure. When the caller's context ended, the result
// is a Canceled/DeadlineExceeded status, as grpc-go's own client reports it.
func transportErr(ctx context.Context, method, what string, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return fmt.Errorf("grpcwebws: %s: %s: %w", method, what, err)
}
