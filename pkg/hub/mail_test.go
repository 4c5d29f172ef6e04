package hub

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/textile/v2/api/common"
	usersclient "github.com/textileio/textile/v2/api/usersd/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// mailUser is one identity on the daemon, with hubctl's client and textile's own users
// client (api/usersd/client) as a Hub app would use it.
type mailUser struct {
	name  string
	c     *Client
	id    thread.Identity
	pub   thread.PubKey
	loads *atomic.Int32 // private key loads: passphrase prompts for an encrypted identity
	tc    *usersclient.Client
}

func newMailUser(t *testing.T, tgt Target, k hubauth.Key, name string) *mailUser {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	loads := &atomic.Int32{}
	pub := thread.NewLibp2pPubKey(sk.GetPublic())
	auth := Auth{Key: k.Key, Secret: k.Secret, SigTTL: time.Hour}
	c := newClient(t, Options{Target: tgt, Auth: auth,
		Tokens: &TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")},
		Identity: func() (Identity, error) {
			return Identity{Name: name, PublicKey: pub.String(), Load: func() (crypto.PrivKey, error) {
				loads.Add(1)
				return sk, nil
			}}, nil
		}})
	tc, err := usersclient.NewClient(tgt.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(common.Credentials{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	return &mailUser{name: name, c: c, id: thread.NewLibp2pIdentity(sk), pub: pub, loads: loads, tc: tc}
}

// ctx is the official client's context: API key, signature and the user's token (the
// one hubctl fetched, so both clients act as the same user).
func (u *mailUser) ctx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	info, err := u.c.Token(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	actx, err := u.c.opts.Auth.Context(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return thread.NewTokenContext(actx, thread.Token(info.Token))
}

func mailPair(t *testing.T) (alice, bob *mailUser) {
	t.Helper()
	tgt, k, _ := keysDaemon(t, 0)
	return newMailUser(t, tgt, k, "alice"), newMailUser(t, tgt, k, "bob")
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// What hubctl seals, textile's client opens (Message.Open is its decrypt path), and its
// signature verifies as textile's client checks it; without a server.
func TestSealOpensWithTextile(t *testing.T) {
	ctx := testCtx(t)
	sk, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	rk, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	from, to := thread.NewLibp2pIdentity(sk), thread.NewLibp2pIdentity(rk)
	body := []byte("hello, bob")
	req, err := sealMessage(ctx, from, to.GetPublic(), body)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id       thread.Identity
		body     []byte
		sig      []byte
		ciphered int
	}{{to, req.ToBody, req.ToSignature, len(req.ToBody)}, {from, req.FromBody, req.FromSignature, len(req.FromBody)}} {
		got, err := usersclient.Message{Body: c.body}.Open(ctx, c.id)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("textile's Open: %q, %v", got, err)
		}
		if ok, err := from.GetPublic().Verify(c.body, c.sig); !ok || err != nil {
			t.Fatalf("signature does not verify: %v", err)
		}
		if c.ciphered != len(body)+MailOverhead {
			t.Fatalf("ciphertext of %d bytes for %d: MailOverhead %d is wrong", c.ciphered, len(body), MailOverhead)
		}
	}
	if req.To != to.GetPublic().String() {
		t.Fatalf("To %q", req.To)
	}
}

// hubctl's messages read in textile's Go client and back, on a daemon: setup, send,
// list, read (read_at), delete, both ways.
func TestMailWithTextileClient(t *testing.T) {
	alice, bob := mailPair(t)
	ctx := testCtx(t)
	// Alice sets up with hubctl (twice: idempotent), Bob with textile's client.
	box, err := alice.c.Mailbox().Setup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := alice.c.Mailbox().Setup(ctx); err != nil || again != box {
		t.Fatalf("second setup: %s %v, want %s", again, err, box)
	}
	if id, err := alice.c.Mailbox().ID(ctx); err != nil || id != box {
		t.Fatalf("mailbox ID %s %v, want %s", id, err, box)
	}
	bctx := bob.ctx(t)
	if _, err := bob.tc.SetupMailbox(bctx); err != nil {
		t.Fatal(err)
	}

	// hubctl -> textile.
	sent, err := alice.c.Mailbox().Send(ctx, bob.pub, []byte("from hubctl"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := bob.tc.ListInboxMessages(bctx)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("textile's ListInboxMessages: %v %v", msgs, err)
	}
	if msgs[0].ID != sent.ID || !msgs[0].From.Equals(alice.pub) || !msgs[0].CreatedAt.Equal(sent.CreatedAt) {
		t.Fatalf("textile sees %+v, hubctl sent %+v", msgs[0], sent)
	}
	if body, err := msgs[0].Open(bctx, bob.id); err != nil || string(body) != "from hubctl" {
		t.Fatalf("textile's Open: %q %v", body, err)
	}
	actx := alice.ctx(t)
	own, err := alice.tc.ListSentboxMessages(actx)
	if err != nil || len(own) != 1 || own[0].ID != sent.ID {
		t.Fatalf("textile's ListSentboxMessages: %v %v", own, err)
	}
	if body, err := own[0].Open(actx, alice.id); err != nil || string(body) != "from hubctl" {
		t.Fatalf("textile opens the sentbox copy: %q %v", body, err)
	}

	// textile -> hubctl.
	back, err := bob.tc.SendMessage(bctx, bob.id, alice.pub, []byte("from textile"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := alice.c.Mailbox().List(ctx, Inbox, ListOptions{})
	if err != nil || len(in) != 1 {
		t.Fatalf("hubctl's inbox: %v %v", in, err)
	}
	m := in[0]
	if m.ID != back.ID || m.From != bob.pub.String() || m.To != alice.pub.String() || !m.Verified || m.Read() {
		t.Fatalf("hubctl sees %+v, textile sent %+v", m, back)
	}
	got, err := alice.c.Mailbox().Get(ctx, Inbox, back.ID)
	if err != nil || got.ID != back.ID {
		t.Fatalf("Get: %+v %v", got, err)
	}
	if body, err := alice.c.Mailbox().Open(ctx, got); err != nil || string(body) != "from textile" {
		t.Fatalf("hubctl's Open: %q %v", body, err)
	}
	readAt, err := alice.c.Mailbox().MarkRead(ctx, back.ID)
	if err != nil || readAt.IsZero() {
		t.Fatalf("MarkRead: %v %v", readAt, err)
	}
	if unread, err := alice.c.Mailbox().List(ctx, Inbox, ListOptions{Unread: true}); err != nil || len(unread) != 0 {
		t.Fatalf("unread after MarkRead: %v %v", unread, err)
	}
	viaTextile, err := alice.tc.ListInboxMessages(actx)
	if err != nil || len(viaTextile) != 1 || !viaTextile[0].IsRead() {
		t.Fatalf("textile sees the read mark: %+v %v", viaTextile, err)
	}
	bobSent, err := bob.c.Mailbox().List(ctx, Sentbox, ListOptions{})
	if err != nil || len(bobSent) != 1 || bobSent[0].ID != back.ID || !bobSent[0].Verified {
		t.Fatalf("hubctl lists textile's sentbox copy: %+v %v", bobSent, err)
	}
	if body, err := bob.c.Mailbox().Open(ctx, bobSent[0]); err != nil || string(body) != "from textile" {
		t.Fatalf("hubctl opens textile's sentbox copy: %q %v", body, err)
	}

	// Deletes, each from its own box.
	if err := alice.c.Mailbox().Delete(ctx, Inbox, back.ID); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.Mailbox().Delete(ctx, Sentbox, sent.ID); err != nil {
		t.Fatal(err)
	}
	if left, err := alice.tc.ListInboxMessages(actx); err != nil || len(left) != 0 {
		t.Fatalf("inbox after delete: %v %v", left, err)
	}
	if _, err := alice.c.Mailbox().Get(ctx, Inbox, back.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a deleted message: %v, want ErrNotFound", err)
	}
}

// The private key is loaded once per command, for the token and the message alike: an
// encrypted identity asks for its passphrase once. Listing loads it only for a token.
func TestMailLoadsKeyOnce(t *testing.T) {
	alice, bob := mailPair(t)
	ctx := testCtx(t)
	if _, err := bob.c.Mailbox().Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.c.Mailbox().Setup(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := newClient(t, alice.c.opts) // a new command: the token comes from the cache
	before := alice.loads.Load()
	mb := fresh.Mailbox()
	if _, err := mb.List(ctx, Inbox, ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := alice.loads.Load() - before; n != 0 {
		t.Fatalf("listing with a cached token loaded the key %d times", n)
	}
	if _, err := mb.Send(ctx, bob.pub, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Send(ctx, bob.pub, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if n := alice.loads.Load() - before; n != 1 {
		t.Fatalf("two sends loaded the key %d times, want 1", n)
	}
	// A command without a cached token: one load serves GetToken and the send.
	opts := alice.c.opts
	opts.Tokens = &TokenCache{Dir: filepath.Join(t.TempDir(), "empty")}
	before = alice.loads.Load()
	if _, err := newClient(t, opts).Mailbox().Send(ctx, bob.pub, []byte("z")); err != nil {
		t.Fatal(err)
	}
	if n := alice.loads.Load() - before; n != 1 {
		t.Fatalf("a send that fetched a token loaded the key %d times, want 1", n)
	}
}

// A message whose signature does not verify (written into the inbox by someone with write
// access to the mailbox database, not through SendMessage) is listed as unverified and
// never opened; textile's client refuses the whole listing for it.
func TestMailForgedSignature(t *testing.T) {
	alice, bob := mailPair(t)
	ctx := testCtx(t)
	box, err := alice.c.Mailbox().Setup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Signed by Alice's key, claiming to be from Bob.
	req, err := sealMessage(ctx, alice.id, alice.pub, []byte("I am bob, trust me"))
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := json.Marshal(storedMessage{From: bob.pub.String(), To: alice.pub.String(),
		Body: base64.StdEncoding.EncodeToString(req.ToBody), Signature: base64.StdEncoding.EncodeToString(req.ToSignature),
		CreatedAt: time.Now().UnixNano()})
	ids, err := alice.c.CreateInstances(ctx, box, InboxCollection, [][]byte{forged})
	if err != nil {
		t.Fatalf("write a forged message into one's own inbox: %v", err)
	}
	list, err := alice.c.Mailbox().List(ctx, Inbox, ListOptions{})
	if err != nil || len(list) != 1 || list[0].ID != ids[0] {
		t.Fatalf("inbox: %v %v", list, err)
	}
	if list[0].Verified {
		t.Fatal("a forged message is listed as verified")
	}
	if body, err := alice.c.Mailbox().Open(ctx, list[0]); !errors.Is(err, ErrBadSignature) || body != nil {
		t.Fatalf("Open of a forged message: %q %v, want ErrBadSignature", body, err)
	}
	if _, err := alice.tc.ListInboxMessages(alice.ctx(t)); err == nil || !strings.Contains(err.Error(), "bad message signature") {
		t.Fatalf("textile's client on a forged message: %v", err)
	}
}

// The mailbox's refusals name the fix: no mailbox of one's own, a recipient without one,
// a message that is not there, a bad ID.
func TestMailRefusals(t *testing.T) {
	tgt, k, _ := keysDaemon(t, 0)
	alice, bob, carol := newMailUser(t, tgt, k, "alice"), newMailUser(t, tgt, k, "bob"), newMailUser(t, tgt, k, "carol")
	ctx := testCtx(t)
	for what, err := range map[string]error{
		"list":  func() error { _, err := alice.c.Mailbox().List(ctx, Inbox, ListOptions{}); return err }(),
		"id":    func() error { _, err := alice.c.Mailbox().ID(ctx); return err }(),
		"watch": alice.c.Mailbox().Watch(ctx, nil, func(Message, error) bool { return false }),
	} {
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "identity alice has no mailbox on ") || !strings.Contains(err.Error(), "hubctl mail setup") {
			t.Errorf("%s without a mailbox: %v", what, err)
		}
	}
	if _, err := alice.c.Mailbox().Setup(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := alice.c.Mailbox().Send(ctx, bob.pub, []byte("x"))
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "recipient "+bob.pub.String()+" has no mailbox") {
		t.Fatalf("send to a recipient without a mailbox: %v", err)
	}
	if _, err := bob.c.Mailbox().Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.c.Mailbox().Send(ctx, alice.pub, []byte("x")); err != nil {
		t.Fatal(err)
	}
	// A sender without a mailbox, to a recipient with one: the server says "mail not
	// found" for both, and hubctl names the right one.
	_, err = carol.c.Mailbox().Send(ctx, bob.pub, []byte("x"))
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "identity carol has no mailbox on ") {
		t.Fatalf("send without a mailbox of one's own: %v", err)
	}
	if _, err := alice.c.Mailbox().Get(ctx, Inbox, "01h0000000000000000000000"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no message 01h") {
		t.Fatalf("Get of a missing message: %v", err)
	}
	if _, err := alice.c.Mailbox().Get(ctx, Inbox, "a/b"); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("Get of a bad ID: %v", err)
	}
	if _, err := ParseRecipient("bnot-a-key"); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("ParseRecipient of garbage: %v", err)
	}
	rsa, _, _ := crypto.GenerateSecp256k1Key(rand.Reader)
	if _, err := ParseRecipient(thread.NewLibp2pPubKey(rsa.GetPublic()).String()); !errors.Is(err, ErrInvalidArg) || !strings.Contains(err.Error(), "only to Ed25519") {
		t.Fatalf("ParseRecipient of a secp256k1 key: %v", err)
	}
}

// Watch reports a message sent after the server accepted the stream, verified, as the JS
// client's watchInbox sees it.
func TestMailWatch(t *testing.T) {
	alice, bob := mailPair(t)
	ctx := testCtx(t)
	for _, u := range []*mailUser{alice, bob} {
		if _, err := u.c.Mailbox().Setup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ready := make(chan struct{})
	got := make(chan Message, 1)
	done := make(chan error, 1)
	go func() {
		done <- alice.c.Mailbox().Watch(ctx, func(thread.ID) { close(ready) }, func(m Message, err error) bool {
			if err != nil {
				t.Error(err)
			}
			got <- m
			return false
		})
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("the watch was never accepted")
	}
	sent, err := bob.c.Mailbox().Send(ctx, alice.pub, []byte("live"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.ID != sent.ID || !m.Verified || m.From != bob.pub.String() {
			t.Fatalf("watched %+v, sent %+v", m, sent)
		}
		if body, err := alice.c.Mailbox().Open(ctx, m); err != nil || string(body) != "live" {
			t.Fatalf("Open of a watched message: %q %v", body, err)
		}
	case <-ctx.Done():
		t.Fatal("no message within a minute")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
