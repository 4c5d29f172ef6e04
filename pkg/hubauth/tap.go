package hubauth

import (
	"context"

	"google.golang.org/grpc/tap"
)

// Precheck applies the key checks a call must pass from its headers alone, before any of
// its body is read: an anonymous caller, or one with a wrong key or signature, then costs
// the server its headers and nothing more. It gives the answers the interceptors would
// give (which still check everything, tokens included, once the call is let in).
func (g *Guard) Precheck(ctx context.Context, method string) error {
	if g.Mode != AuthKeys {
		return nil
	}
	p, ok := policies[method]
	if !ok {
		p = policyFor(method)
	}
	if p.kind == open {
		return nil
	}
	_, err := g.Checker.Check(ctx)
	return err
}

// TapHandle is Precheck as gRPC's tap handle (grpc.InTapHandle): it runs when a stream's
// headers arrive, and a refusal is sent at once as the call's status, so the body is
// never read. The incoming metadata is already in ctx there (grpc v1.39's
// operateHeaders attaches it before calling the handle).
func (g *Guard) TapHandle(ctx context.Context, info *tap.Info) (context.Context, error) {
	return ctx, g.Precheck(ctx, info.FullMethodName)
}
