package server

import (
	"context"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

type rawBytesCodec struct{}

func (rawBytesCodec) Marshal(v any) ([]byte, error)      { return *(v.(*[]byte)), nil }
func (rawBytesCodec) Unmarshal(data []byte, v any) error { return nil }
func (rawBytesCodec) Name() string                       { return "proto" }

// An anonymous caller whose calls carry a long deadline (grpc-timeout) must not make the
// daemon keep anything for each call its tap handle refuses: grpc v1.39 kept a context
// and a timer for each until the deadline, 1h here (unbounded memory from 20,000 calls a
// second with no key).
func TestRefusedCallsWithADeadlineLeaveNothing(t *testing.T) {
	d, _ := startDaemon(t, hubauth.AuthKeys)
	cc, err := grpc.Dial(d.State().API, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	call := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		msg, reply := []byte{}, []byte{}
		return cc.Invoke(ctx, "/threads.pb.API/Create", &msg, &reply, grpc.ForceCodec(rawBytesCodec{}))
	}
	if err := call(); err == nil {
		t.Fatal("a Create without a key was let in")
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	const n = 20000
	for i := 0; i < n; i++ {
		if err := call(); err == nil {
			t.Fatal("a Create without a key was let in")
		}
	}
	if grown := int64(heap()) - int64(before); grown > n*50 {
		t.Fatalf("%d refused calls left %d bytes on the heap (%d each): the refused streams' contexts are kept until their deadline", n, grown, grown/n)
	}
}
