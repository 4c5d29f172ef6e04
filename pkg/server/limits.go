package server

import (
	"time"
)

// Limits bound what one connection can make the server hold. Zero fields take the
// defaults below.
type Limits struct {
	// MaxMessageSize bounds one gRPC message either way, on every transport.
	MaxMessageSize int
	// MaxStreams bounds the calls in progress on one HTTP/2 connection.
	MaxStreams uint32
	// IdleTimeout closes a connection with no call in progress: an HTTP/2 connection
	// after this long without a stream, a websocket that has not sent its call's headers.
	IdleTimeout time.Duration
}

// Defaults of Limits: a message fits a large instance or a transaction batch (hubctl's
// own batches stop at 3 MiB), far below gRPC-over-websocket's old 64 MiB.
const (
	DefaultMaxMessageSize = 16 << 20
	DefaultMaxStreams     = 128
	DefaultIdleTimeout    = time.Minute
)

func (l Limits) withDefaults() Limits {
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = DefaultMaxMessageSize
	}
	if l.MaxStreams == 0 {
		l.MaxStreams = DefaultMaxStreams
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	return l
}
