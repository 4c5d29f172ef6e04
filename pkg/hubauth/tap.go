package hubauth

import (
	"context"

	"google.golang.org/grpc/tap"
)

// Precheck applies the key checks a call must pass from its headers alone, before any of
// its body is read: an anonymous caller, or one with a wrong key or signature, then costs
// the server its headers and nothing more. It gives the answers the interceptors would
// give. The key it checked goes in the returned context, for the call's context: the
// interceptors then check the token and the rest without checking the key again.
func (g *Guard) Precheck(ctx context.Context, method string) (context.Context, error) {
	if g.Mode != AuthKeys {
		return ctx, nil
	}
	p, ok := policies[method]
	if !ok {
		p = policyFor(method)
	}
	if p.kind == open {
		return ctx, nil
	}
	key, err := g.Checker.Check(ctx)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, checkedKeyKey{}, key), nil
}

// checkedKeyKey holds the Key Precheck found valid in a call's context.
type checkedKeyKey struct{}

// TapHandle is Precheck as gRPC's tap handle (grpc.InTapHandle): it runs when a stream's
// headers arrive, and a refusal is sent at once as the call's status, so the body is
// never read. The incoming metadata is already in ctx there (grpc v1.39's
// operateHeaders attaches it before calling the handle), and the context it returns is
// the stream's.
func (g *Guard) TapHandle(ctx context.Context, info *tap.Info) (context.Context, error) {
	return g.Precheck(ctx, info.FullMethodName)
}

// checkKey is the call's key: the one Precheck checked, or checked now (a server whose
// transport has no tap handle, such as tests calling the interceptors directly).
func (g *Guard) checkKey(ctx context.Context) (Key, error) {
	if key, ok := ctx.Value(checkedKeyKey{}).(Key); ok {
		return key, nil
	}
	return g.Checker.Check(ctx)
}
