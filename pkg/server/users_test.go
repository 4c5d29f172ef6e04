package server

import (
	"testing"

	core "github.com/textileio/go-threads/core/net"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"github.com/textileio/textile/v2/api/common"
	"google.golang.org/grpc/codes"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// The users API lists plain net threads (CreateThread) as the Hub did, with is_db false,
// beside databases; each user sees only their own, an account key every one.
func TestUsersListsPlainThreads(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	users := usersClient(t, d.State().API)
	alice := newSession(t, d, newKey(t, reg, hubauth.UserKey))
	bob := newSession(t, d, newKey(t, reg, hubauth.UserKey))
	operator := newSession(t, d, newKey(t, reg, hubauth.AccountKey))

	plain := thread.NewIDV1(thread.Raw, 32)
	if _, err := alice.nc.CreateThread(alice.ctx, plain, core.WithNewThreadToken(alice.tok)); err != nil {
		t.Fatalf("CreateThread: %v", err)
	}
	dbID := thread.NewIDV1(thread.Raw, 32)
	if err := alice.c.NewDB(alice.ctx, dbID, db.WithNewManagedName("notes"), db.WithNewManagedToken(alice.tok)); err != nil {
		t.Fatalf("NewDB: %v", err)
	}
	bobs := thread.NewIDV1(thread.Raw, 32)
	if _, err := bob.nc.CreateThread(bob.ctx, bobs, core.WithNewThreadToken(bob.tok)); err != nil {
		t.Fatalf("CreateThread (bob): %v", err)
	}

	listed := func(s session) map[thread.ID]bool {
		t.Helper()
		res, err := users.ListThreads(s.ctx)
		if err != nil {
			t.Fatalf("ListThreads: %v", err)
		}
		out := map[thread.ID]bool{}
		for _, th := range res.List {
			id, err := thread.Cast(th.Id)
			if err != nil {
				t.Fatalf("ListThreads sent a bad ID: %v", err)
			}
			out[id] = th.IsDb
		}
		return out
	}
	if got := listed(alice); len(got) != 2 || got[plain] || !got[dbID] {
		t.Fatalf("alice's threads %v, want her plain thread (is_db false) and her database (is_db true)", got)
	}
	if got := listed(bob); len(got) != 1 || got[bobs] {
		t.Fatalf("bob's threads %v, want only his plain thread", got)
	}
	if got := listed(operator); len(got) != 3 {
		t.Fatalf("the account key's threads %v, want all 3", got)
	}

	// A thread without a name is not found by one, the empty name included; a name finds
	// only the caller's own.
	_, err := users.GetThread(alice.ctx, "")
	wantCode(t, "GetThread of the empty name", err, codes.NotFound, "Thread not found")
	got, err := users.GetThread(alice.ctx, "notes")
	if err != nil || !got.IsDb {
		t.Fatalf("GetThread(notes): %v %v", got, err)
	}
	_, err = users.GetThread(bob.ctx, "notes")
	wantCode(t, "GetThread of another user's database", err, codes.NotFound, "Thread not found")

	// The Hub's answers without a key, and with one it does not know, through textile's
	// client.
	_, err = users.ListThreads(t.Context())
	wantCode(t, "ListThreads with no API key", err, codes.Unauthenticated, "Session or API key required")
	_, err = users.GetThread(common.NewAPIKeyContext(t.Context(), "bnotakey"), "notes")
	wantCode(t, "GetThread with an unknown API key", err, codes.NotFound, "API key not found or is invalid")
}
