package hubauth

import (
	"context"

	"github.com/textileio/go-threads/core/thread"
	userspb "github.com/textileio/textile/v2/api/usersd/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ThreadInfo is a thread the node holds: a database (IsDB), or a plain net thread.
type ThreadInfo struct {
	ID   thread.ID
	Name string
	IsDB bool
}

// Users serves the part of the Hub users API that Hub clients need against a self-hosted
// Hub: with a key set, the Go and JS clients list databases through ListThreads (the hosted
// Hub blocked the threads API's ListDBs for users), and find one by name with GetThread.
// As on the Hub, both cover plain net threads (CreateThread, AddThread) as well as
// databases. The other methods are answered by the guard as unimplemented.
type Users struct {
	userspb.UnimplementedAPIServiceServer
	Owners *Owners
	// Threads lists every thread of the node, for operators and for current names.
	Threads func(ctx context.Context) ([]ThreadInfo, error)
}

// ListThreads lists the caller's threads, databases and plain ones; an operator sees all
// of them.
func (u *Users) ListThreads(ctx context.Context, _ *userspb.ListThreadsRequest) (*userspb.ListThreadsResponse, error) {
	dbs, err := u.visible(ctx)
	if err != nil {
		return nil, err
	}
	res := &userspb.ListThreadsResponse{}
	for _, d := range dbs {
		res.List = append(res.List, &userspb.GetThreadResponse{Id: d.ID.Bytes(), Name: d.Name, IsDb: d.IsDB})
	}
	return res, nil
}

// GetThread finds one of the caller's threads by name, with the Hub's answer when there
// is none. A thread without a name is never found by one.
func (u *Users) GetThread(ctx context.Context, req *userspb.GetThreadRequest) (*userspb.GetThreadResponse, error) {
	dbs, err := u.visible(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range dbs {
		if d.Name != "" && d.Name == req.Name {
			return &userspb.GetThreadResponse{Id: d.ID.Bytes(), Name: d.Name, IsDb: d.IsDB}, nil
		}
	}
	return nil, status.Error(codes.NotFound, "Thread not found")
}

func (u *Users) visible(ctx context.Context) ([]ThreadInfo, error) {
	c, ok := CallerFromContext(ctx)
	if !ok {
		// The guard always runs first; without it nobody may list anything.
		return nil, errNotAccessible
	}
	all, err := u.Threads(ctx)
	if err != nil {
		return nil, err
	}
	var out []ThreadInfo
	for _, d := range all {
		rec, recorded := u.Owners.Get(d.ID)
		if !c.Operator && (!recorded || c.Identity == "" || rec.Identity != c.Identity) {
			continue
		}
		if recorded {
			// The name its creator gave it (the header's, else the database's): a net
			// thread's is only there, and a database created without one is unnamed,
			// as on the Hub, not go-threads' "unnamed".
			d.Name = rec.Name
		}
		out = append(out, d)
	}
	return out, nil
}
