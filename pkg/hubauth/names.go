package hubauth

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// HeaderThreadName is the header Hub clients name a new thread with (textile's
// common.NewThreadNameContext) on NewDB, NewDBFromAddr, CreateThread and AddThread.
const HeaderThreadName = "x-textile-thread-name"

// threadNameRx is the Hub's rule for the names the header gives (textile mongodb/threads.go),
// which is also go-threads' rule for database names.
var threadNameRx = regexp.MustCompile(`^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$`)

// errInvalidThreadName is the Hub's refusal of a header name that breaks threadNameRx.
var errInvalidThreadName = status.Error(codes.InvalidArgument, "name may only contain alphanumeric characters or non-consecutive hyphens, and cannot begin or end with a hyphen")

// unnamed is the name go-threads gives a database created without one.
const unnamed = "unnamed"

// createName is the name a create call gives its thread: the header's, as on the Hub,
// else the database name of NewDB or NewDBFromAddr. A header name is also made the
// database's own name (go-threads' GetDBInfo and ListDBs then agree with the users API),
// whatever name the request carried.
func createName(ctx context.Context, p policy, req any) (string, error) {
	header := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(HeaderThreadName); len(v) > 0 {
			header = v[0]
		}
	}
	if header == "" {
		if p.name == nil {
			return "", nil
		}
		return p.name(req), nil
	}
	if !threadNameRx.MatchString(header) {
		return "", errInvalidThreadName
	}
	switch r := req.(type) {
	case *pb.NewDBRequest:
		r.Name = header
	case *pb.NewDBFromAddrRequest:
		r.Name = header
	}
	return header, nil
}

// NameTakenMessage is the refusal of a create that would give identity a second thread
// named name (the Hub's unique index on owner and name, which ignored case); taken is the
// thread that has it.
func NameTakenMessage(name string, taken thread.ID) string {
	return fmt.Sprintf("a thread named %q already exists (%s): names are unique per identity, ignoring case; choose another name, or use that thread", name, taken)
}

// checkName refuses, as AlreadyExists, a name that another of identity's threads already
// has in any case. Threads made without a token (identity "") share one scope, whose
// names are the node's: there a database created without a name is go-threads'
// "unnamed", which is not a name anyone chose and is never refused. The caller holds the
// identity's stripe (lockStripes), so no create of the same identity runs in between.
func (g *Guard) checkName(ctx context.Context, identity, name string, id thread.ID) error {
	if name == "" {
		return nil
	}
	if identity != "" {
		for _, rec := range g.Owners.List(identity) {
			if rec.ThreadID != id && strings.EqualFold(rec.Name, name) {
				return status.Error(codes.AlreadyExists, NameTakenMessage(name, rec.ThreadID))
			}
		}
		return nil
	}
	if g.Threads == nil || strings.EqualFold(name, unnamed) {
		return nil
	}
	all, err := g.Threads(ctx)
	if err != nil {
		return status.Errorf(codes.Internal, "list threads: %v", err)
	}
	for _, t := range all {
		if _, owned := g.Owners.Get(t.ID); owned || t.ID == id {
			continue
		}
		if strings.EqualFold(t.Name, name) {
			return status.Error(codes.AlreadyExists, NameTakenMessage(name, t.ID))
		}
	}
	return nil
}

// identityStripe is the lock name under which one identity's threads are counted and
// named.
func identityStripe(identity string) string { return "identity:" + identity }
