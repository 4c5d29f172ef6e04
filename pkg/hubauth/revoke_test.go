package hubauth

import (
	"context"
	"testing"
	"time"

	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// openStream runs a stream through the guard with key and tok in the background; handler
// is the service's side. The returned channel gets the stream's status.
func (f *guardFixture) openStream(key *Key, tok thread.Token, method string, s *fakeStream, handler grpc.StreamHandler) <-chan error {
	s.ctx = streamCtx(key, tok)
	end := make(chan error, 1)
	go func() {
		end <- f.g.StreamInterceptor()(nil, s, &grpc.StreamServerInfo{FullMethod: method}, handler)
	}()
	return end
}

// listenLike waits for its context, then returns nil, as go-threads' Listen does.
func listenLike(started chan<- struct{}) grpc.StreamHandler {
	return func(_ any, ss grpc.ServerStream) error {
		close(started)
		<-ss.Context().Done()
		return nil
	}
}

func waitStatus(t *testing.T, what string, end <-chan error) error {
	t.Helper()
	select {
	case err := <-end:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s is still open a minute later", what)
		return nil
	}
}

func waitStarted(t *testing.T, started <-chan struct{}) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("the stream's handler did not start within a minute")
	}
}

// Revoking a key ends its streams with the Hub's answer to a revoked key, whether the
// handler watches its context (Listen) or waits for its client's next message (a
// transaction); the streams of other keys go on; the watcher stops with the last stream.
func TestRevocationEndsStreams(t *testing.T) {
	f := newGuardFixture(t, AuthKeys)
	reg := OpenRegistry(f.dir)
	_, userTok := f.identityFor(t, &f.user)

	listenStarted, otherStarted, txnStarted := make(chan struct{}), make(chan struct{}), make(chan struct{})
	listen := f.openStream(&f.user, userTok, threadsAPI+"Listen", &fakeStream{}, listenLike(listenStarted))
	other := f.openStream(&f.account, "", threadsAPI+"Listen", &fakeStream{}, listenLike(otherStarted))
	txn := &fakeStream{recv: make(chan struct{})}
	txnEnd := f.openStream(&f.user, userTok, threadsAPI+"WriteTransaction", txn, func(_ any, ss grpc.ServerStream) error {
		close(txnStarted)
		for {
			if err := ss.RecvMsg(nil); err != nil {
				return err
			}
		}
	})
	waitStarted(t, listenStarted)
	waitStarted(t, otherStarted)
	waitStarted(t, txnStarted)

	if _, err := reg.Revoke(f.user.Key); err != nil {
		t.Fatal(err)
	}
	err := waitStatus(t, "a Listen of a revoked key", listen)
	if st := status.Convert(err); st.Code() != codes.NotFound || st.Message() != "API key not found or is invalid" {
		t.Fatalf("Listen ended with %v", err)
	}
	// The transaction's next message is refused.
	txn.recv <- struct{}{}
	err = waitStatus(t, "a transaction of a revoked key", txnEnd)
	if st := status.Convert(err); st.Code() != codes.NotFound {
		t.Fatalf("the transaction ended with %v", err)
	}
	select {
	case err := <-other:
		t.Fatalf("another key's stream ended: %v", err)
	default:
	}

	if _, err := reg.Revoke(f.account.Key); err != nil {
		t.Fatal(err)
	}
	if err := waitStatus(t, "a Listen of a revoked account key", other); status.Code(err) != codes.NotFound {
		t.Fatalf("the account key's stream ended with %v", err)
	}
	f.g.streams.mu.Lock()
	defer f.g.streams.mu.Unlock()
	if len(f.g.streams.byKey) != 0 || f.g.streams.stop != nil {
		t.Fatalf("after the last stream: %d keys tracked, watcher running %v", len(f.g.streams.byKey), f.g.streams.stop != nil)
	}
}

// A stream opened with a token ends when the token expires, and says so; a stream that
// ends by itself is not changed.
func TestTokenExpiryEndsStreams(t *testing.T) {
	for _, mode := range []Mode{AuthKeys, AuthNone} {
		t.Run(mode.String(), func(t *testing.T) {
			f := newGuardFixture(t, mode)
			f.g.TokenTTL = time.Second
			_, tok := f.identity(t)
			var key *Key
			if mode == AuthKeys {
				key = &f.user
			}
			started := make(chan struct{})
			end := f.openStream(key, tok, threadsAPI+"Listen", &fakeStream{}, listenLike(started))
			err := waitStatus(t, "a Listen whose token expired", end)
			if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != status.Convert(errTokenExpired).Message() {
				t.Fatalf("Listen ended with %v", err)
			}

			f.g.TokenTTL = 0
			_, tok = f.identity(t)
			end = f.openStream(key, tok, threadsAPI+"Listen", &fakeStream{}, func(any, grpc.ServerStream) error {
				return status.Error(codes.Internal, "its own end")
			})
			if err := waitStatus(t, "a stream that ends by itself", end); status.Convert(err).Message() != "its own end" {
				t.Fatalf("a stream's own end became %v", err)
			}
		})
	}
}

// With a lookup that cannot report changes, calls are still checked and streams run.
func TestStreamsWithAPlainLookup(t *testing.T) {
	f := newGuardFixture(t, AuthKeys)
	f.g.Checker = &Checker{Keys: plainLookup{f.g.Checker.Keys}}
	_, tok := f.identity(t)
	started := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	end := f.openStream(&f.user, tok, threadsAPI+"Listen", &fakeStream{}, func(_ any, ss grpc.ServerStream) error {
		close(started)
		select {
		case <-ss.Context().Done():
			return ss.Context().Err()
		case <-ctx.Done():
			return nil
		}
	})
	waitStarted(t, started)
	cancel()
	if err := waitStatus(t, "a stream", end); err != nil {
		t.Fatal(err)
	}
}

type plainLookup struct{ KeyLookup }

// A keyring's change channel is closed when it loads a change made by another writer,
// and a new channel waits for the next one.
func TestKeyringChanges(t *testing.T) {
	dir := t.TempDir()
	reg := OpenRegistry(dir)
	kr, err := reg.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		changed := kr.Changes()
		select {
		case <-changed:
			t.Fatal("the change channel is closed before any change")
		default:
		}
		k, err := reg.Create(CreateOptions{Type: UserKey})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-changed:
		case <-time.After(time.Minute):
			t.Fatal("no change reported a minute after a key was created")
		}
		if _, _, ok := kr.Lookup(k.Key); !ok {
			t.Fatal("the new key is not found after the change")
		}
	}
}
