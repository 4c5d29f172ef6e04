//go:build pins

// Package pins holds the dependency pins that hubctl's later parts build on (the ThreadDB
// stack, the Hub's API, gRPC), so that go.mod settles their versions once. The build tag
// keeps these packages out of every binary until real code imports them; `go mod tidy`
// still sees them.
//
// go-libp2p-asn-util is pinned at v0.4.1 (not the 2020 version go-threads' tree asks for):
// the old one builds an ~8 ms lookup table in a package initialiser on every start of any
// binary that links libp2p; v0.4.1 embeds a compact table and keeps the same Store API.
package pins

import (
	_ "github.com/libp2p/go-libp2p-asn-util"
)
