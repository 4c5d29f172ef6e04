package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/jsonschema"
	"github.com/textileio/go-threads/api/client"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	usersclient "github.com/textileio/textile/v2/api/usersd/client"
	userspb "github.com/textileio/textile/v2/api/usersd/pb"
	"github.com/textileio/textile/v2/threaddb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hubctl/hubctl/pkg/hubauth"
)

// mailUser is one identity of a key on a daemon, as a Hub app holds it: the identity
// (its private key signs and decrypts), a session (go-threads' clients, a context with
// the key, its signature and the token), textile's users client and the generated one.
type mailUser struct {
	session
	id    thread.Identity
	users *usersclient.Client
	api   userspb.APIServiceClient
}

func newMailUser(t *testing.T, d *Daemon, key hubauth.Key) mailUser {
	t.Helper()
	ctx := hubContext(t, key)
	c, err := client.NewClient(d.State().API, hubDial()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ident := newIdentity(t)
	tok, err := c.GetToken(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	s := session{c: c, ctx: thread.NewTokenContext(ctx, tok), tok: tok, identity: ident.GetPublic().String()}
	return mailUser{session: s, id: ident, users: usersClient(t, d.State().API), api: userspb.NewAPIServiceClient(mustDial(t, d.State().API))}
}

// setup sets up u's mailbox and returns its ID.
func (u mailUser) setup(t *testing.T) thread.ID {
	t.Helper()
	id, err := u.users.SetupMailbox(u.ctx)
	if err != nil {
		t.Fatalf("SetupMailbox: %v", err)
	}
	return id
}

// send sends body to the recipient with textile's client, which encrypts and signs.
func (u mailUser) send(t *testing.T, to mailUser, body string) usersclient.Message {
	t.Helper()
	m, err := u.users.SendMessage(u.ctx, u.id, to.id.GetPublic(), []byte(body))
	if err != nil {
		t.Fatalf("SendMessage %q: %v", body, err)
	}
	return m
}

// signed is a SendMessage request from u to the recipient with the given bodies, signed
// by u as textile's client signs them.
func (u mailUser) signed(t *testing.T, to thread.PubKey, toBody, fromBody []byte) *userspb.SendMessageRequest {
	t.Helper()
	toSig, err := u.id.Sign(u.ctx, toBody)
	if err != nil {
		t.Fatal(err)
	}
	fromSig, err := u.id.Sign(u.ctx, fromBody)
	if err != nil {
		t.Fatal(err)
	}
	return &userspb.SendMessageRequest{To: to.String(), ToBody: toBody, ToSignature: toSig, FromBody: fromBody, FromSignature: fromSig}
}

func (u mailUser) inbox(t *testing.T, opts ...usersclient.ListOption) []usersclient.Message {
	t.Helper()
	list, err := u.users.ListInboxMessages(u.ctx, opts...)
	if err != nil {
		t.Fatalf("ListInboxMessages: %v", err)
	}
	return list
}

func (u mailUser) sentbox(t *testing.T, opts ...usersclient.ListOption) []usersclient.Message {
	t.Helper()
	list, err := u.users.ListSentboxMessages(u.ctx, opts...)
	if err != nil {
		t.Fatalf("ListSentboxMessages: %v", err)
	}
	return list
}

// open decrypts a message with u's identity.
func (u mailUser) open(t *testing.T, m usersclient.Message) string {
	t.Helper()
	body, err := m.Open(u.ctx, u.id)
	if err != nil {
		t.Fatalf("open message %s: %v", m.ID, err)
	}
	return string(body)
}

func ids(list []usersclient.Message) []string {
	out := make([]string, len(list))
	for i, m := range list {
		out[i] = m.ID
	}
	return out
}

// SetupMailbox makes the Hub's mailbox (a database named hubmail with the Hub's inbox
// and sentbox), is idempotent, is found by GetThread, and adds a collection the mailbox
// lost; SendMessage delivers with textile's client between two identities, each box
// lists with the client's options, ReadInboxMessage sets read_at, deletes remove the
// caller's copy, unknown IDs are NotFound, and GetUsage answers as a Hub without billing.
func TestMailboxHubClient(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	key := newKey(t, reg, hubauth.UserKey)
	alice, bob := newMailUser(t, d, key), newMailUser(t, d, key)

	box := alice.setup(t)
	if again := alice.setup(t); again != box {
		t.Fatalf("a second SetupMailbox made %s, want the first one's %s", again, box)
	}
	got, err := alice.users.GetThread(alice.ctx, "hubmail")
	if err != nil || !bytes.Equal(got.Id, box.Bytes()) || !got.IsDb {
		t.Fatalf("GetThread(hubmail): %v %v, want database %s", got, err, box)
	}
	// The Hub's schemas and indexes, as textile's own threaddb reflects them.
	reflector := jsonschema.Reflector{ExpandedStruct: true}
	for name, want := range map[string]any{"inbox": &threaddb.InboxMessage{}, "sentbox": &threaddb.SentboxMessage{}} {
		info, err := alice.c.GetCollectionInfo(alice.ctx, box, name, db.WithManagedToken(alice.tok))
		if err != nil {
			t.Fatalf("GetCollectionInfo %s: %v", name, err)
		}
		gotSchema, _ := json.Marshal(info.Schema)
		wantSchema, _ := json.Marshal(reflector.Reflect(want))
		if !bytes.Equal(gotSchema, wantSchema) {
			t.Fatalf("%s schema\n%s\nwant the Hub's\n%s", name, gotSchema, wantSchema)
		}
		var paths []string
		for _, ix := range info.Indexes {
			paths = append(paths, ix.Path)
		}
		sort.Strings(paths) // go-threads answers them in no order
		wantPaths := "created_at from read_at to"
		if name == "sentbox" {
			wantPaths = "created_at from to"
		}
		if strings.Join(paths, " ") != wantPaths {
			t.Fatalf("%s indexes %v, want %s", name, paths, wantPaths)
		}
	}
	bob.setup(t)

	bodies := map[string]string{}
	var sent []usersclient.Message
	for _, b := range []string{"one", "two", "three"} {
		m := bob.send(t, alice, b)
		bodies[m.ID] = b
		sent = append(sent, m)
	}
	// The Hub orders by ID: by time, and at random within a millisecond.
	sort.Slice(sent, func(i, j int) bool { return sent[i].ID < sent[j].ID })
	in := alice.inbox(t)
	if len(in) != 3 {
		t.Fatalf("alice's inbox holds %d messages, want 3", len(in))
	}
	for i, m := range in { // newest first
		s := sent[len(sent)-1-i]
		if m.ID != s.ID || !m.CreatedAt.Equal(s.CreatedAt) || !m.From.Equals(bob.id.GetPublic()) || !m.To.Equals(alice.id.GetPublic()) || m.IsRead() {
			t.Fatalf("inbox message %d: %+v, want the one sent %+v, unread", i, m, s)
		}
	}
	if body := alice.open(t, in[0]); body != bodies[in[0].ID] {
		t.Fatalf("alice reads %q, want %q", body, bodies[in[0].ID])
	}
	out := bob.sentbox(t)
	if len(out) != 3 || out[0].ID != sent[2].ID || !out[2].CreatedAt.Equal(sent[0].CreatedAt) {
		t.Fatalf("bob's sentbox %v, want the 3 sent, newest first", ids(out))
	}
	if body := bob.open(t, out[2]); body != bodies[out[2].ID] {
		t.Fatalf("bob reads his sent copy as %q, want %q", body, bodies[out[2].ID])
	}
	if asc := alice.inbox(t, usersclient.WithAscending(true), usersclient.WithLimit(2)); len(asc) != 2 || asc[0].ID != sent[0].ID || asc[1].ID != sent[1].ID {
		t.Fatalf("ascending with limit 2: %v, want the first two sent", ids(asc))
	}
	if seek := alice.inbox(t, usersclient.WithSeek(sent[1].ID)); len(seek) != 2 || seek[0].ID != sent[1].ID || seek[1].ID != sent[0].ID {
		t.Fatalf("seek to the second: %v, want it and the first (the Hub's seek includes its ID)", ids(seek))
	}

	// Reading sets read_at; the status filters follow it.
	res, err := alice.api.ReadInboxMessage(alice.ctx, &userspb.ReadInboxMessageRequest{Id: sent[1].ID})
	if err != nil || res.ReadAt <= sent[1].CreatedAt.UnixNano() {
		t.Fatalf("ReadInboxMessage: %v %v, want a read_at after its created_at", res, err)
	}
	read := alice.inbox(t, usersclient.WithStatus(usersclient.Read))
	if len(read) != 1 || read[0].ID != sent[1].ID || read[0].ReadAt.UnixNano() != res.ReadAt {
		t.Fatalf("read messages %v, want the one read at %d", read, res.ReadAt)
	}
	if unread := alice.inbox(t, usersclient.WithStatus(usersclient.Unread)); len(unread) != 2 || unread[0].ID != sent[2].ID || unread[1].ID != sent[0].ID {
		t.Fatalf("unread messages %v, want the other two", ids(unread))
	}

	// Deletes remove the caller's copy only.
	if err := alice.users.DeleteInboxMessage(alice.ctx, sent[0].ID); err != nil {
		t.Fatalf("DeleteInboxMessage: %v", err)
	}
	if err := bob.users.DeleteSentboxMessage(bob.ctx, sent[2].ID); err != nil {
		t.Fatalf("DeleteSentboxMessage: %v", err)
	}
	if in := alice.inbox(t); len(in) != 2 || in[0].ID != sent[2].ID || in[1].ID != sent[1].ID {
		t.Fatalf("alice's inbox after her delete: %v", ids(in))
	}
	if out := bob.sentbox(t); len(out) != 2 || out[0].ID != sent[1].ID || out[1].ID != sent[0].ID {
		t.Fatalf("bob's sentbox after his delete: %v", ids(out))
	}
	err = alice.users.DeleteInboxMessage(alice.ctx, sent[0].ID)
	wantCode(t, "DeleteInboxMessage of a deleted message", err, codes.NotFound, "message "+sent[0].ID+" not found in your inbox")
	err = bob.users.DeleteSentboxMessage(bob.ctx, "01nope")
	wantCode(t, "DeleteSentboxMessage of an unknown ID", err, codes.NotFound, "message 01nope not found in your sentbox")
	err = alice.users.ReadInboxMessage(alice.ctx, sent[0].ID)
	wantCode(t, "ReadInboxMessage of a deleted message", err, codes.NotFound, "message "+sent[0].ID+" not found in your inbox")

	// A mailbox that lost a collection gets it back, with the same ID.
	if err := alice.c.DeleteCollection(alice.ctx, box, "sentbox", db.WithManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	_, err = alice.users.SendMessage(alice.ctx, alice.id, bob.id.GetPublic(), []byte("hi"))
	wantCode(t, "SendMessage without a sentbox", err, codes.FailedPrecondition, "your mailbox "+box.String()+" has no sentbox collection: set it up again (SetupMailbox, hubctl mail setup) to add it")
	if again := alice.setup(t); again != box {
		t.Fatalf("SetupMailbox of a mailbox without sentbox made %s, want %s", again, box)
	}
	alice.send(t, bob, "hi")
	if out := alice.sentbox(t); len(out) != 1 || alice.open(t, out[0]) != "hi" {
		t.Fatalf("alice's sentbox after the repair: %v", ids(out))
	}

	_, err = alice.api.GetUsage(alice.ctx, &userspb.GetUsageRequest{})
	wantCode(t, "GetUsage", err, codes.Unknown, "billing is not enabled")
}

// A mailbox lists as the Hub's query ordered it, by ID, over more messages than one page
// of the store's scan: newest first or ascending, from a seek that is included, up to a
// limit, with the status filter applied before the limit; a client paging with seek
// sees every message once; a page that would pass the reply's byte bound ends early.
func TestMailboxListPages(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	key := newKey(t, reg, hubauth.UserKey)
	alice, bob := newMailUser(t, d, key), newMailUser(t, d, key)
	alice.setup(t)
	bob.setup(t)

	const n = 230 // the scan reads 100 or more at a time
	var sent []string
	for i := range n {
		sent = append(sent, bob.send(t, alice, fmt.Sprintf("message %d", i)).ID)
	}
	// The Hub orders by ID: by time, and at random within a millisecond.
	sort.Strings(sent)
	// Every 50th message is read: a filtered page spans several scans.
	var readIDs []string
	for i := 0; i < n; i += 50 {
		if err := alice.users.ReadInboxMessage(alice.ctx, sent[i]); err != nil {
			t.Fatal(err)
		}
		readIDs = append(readIDs, sent[i])
	}
	reversed := func(s []string) []string {
		out := make([]string, len(s))
		for i, v := range s {
			out[len(s)-1-i] = v
		}
		return out
	}
	check := func(what string, got []usersclient.Message, want []string) {
		t.Helper()
		if g := strings.Join(ids(got), ","); g != strings.Join(want, ",") {
			t.Fatalf("%s: got %d messages %v\nwant %d %v", what, len(got), ids(got), len(want), want)
		}
	}
	check("default list (newest 100)", alice.inbox(t), reversed(sent)[:100])
	check("ascending, limit 150", alice.inbox(t, usersclient.WithAscending(true), usersclient.WithLimit(150)), sent[:150])
	check("limit 250 (more than there are)", alice.inbox(t, usersclient.WithLimit(250)), reversed(sent))
	check("seek 120, limit 7", alice.inbox(t, usersclient.WithSeek(sent[120]), usersclient.WithLimit(7)), reversed(sent[114:121]))
	check("seek 120 ascending, limit 7", alice.inbox(t, usersclient.WithSeek(sent[120]), usersclient.WithLimit(7), usersclient.WithAscending(true)), sent[120:127])
	check("read", alice.inbox(t, usersclient.WithStatus(usersclient.Read)), reversed(readIDs))
	check("read, ascending, limit 3", alice.inbox(t, usersclient.WithStatus(usersclient.Read), usersclient.WithAscending(true), usersclient.WithLimit(3)), readIDs[:3])
	check("read from seek 149", alice.inbox(t, usersclient.WithStatus(usersclient.Read), usersclient.WithSeek(sent[149])), []string{sent[100], sent[50], sent[0]})
	unread := alice.inbox(t, usersclient.WithStatus(usersclient.Unread), usersclient.WithLimit(1000))
	if len(unread) != n-len(readIDs) {
		t.Fatalf("%d unread messages, want %d", len(unread), n-len(readIDs))
	}
	check("sentbox, limit 3", bob.sentbox(t, usersclient.WithLimit(3)), reversed(sent)[:3])
	// Paging as textile's own test pages: limit+1, and the last one is the next seek.
	var all []string
	seek := ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("paging does not end")
		}
		list := alice.inbox(t, usersclient.WithLimit(21), usersclient.WithSeek(seek))
		if len(list) < 21 {
			all = append(all, ids(list)...)
			break
		}
		all = append(all, ids(list[:20])...)
		seek = list[20].ID
	}
	if strings.Join(all, ",") != strings.Join(reversed(sent), ",") {
		t.Fatalf("paging saw %d messages, want all %d once, newest first", len(all), n)
	}

	// A reply is bounded in bytes: a page ends early, and the next seek carries on.
	defer func(v int) { maxListReply = v }(maxListReply)
	one := proto1Size(t, alice)
	maxListReply = 3*one + one/2
	check("a page bounded to 3 messages' bytes", alice.inbox(t, usersclient.WithLimit(10)), reversed(sent)[:3])

	_, err := alice.api.ListInboxMessages(alice.ctx, &userspb.ListInboxMessagesRequest{Limit: -1})
	wantCode(t, "a negative limit", err, codes.InvalidArgument, "limit -1: give 0 (the default, 100 messages) up to 10000")
	_, err = alice.api.ListInboxMessages(alice.ctx, &userspb.ListInboxMessagesRequest{Status: 7})
	wantCode(t, "an unknown status", err, codes.InvalidArgument, "unknown message status 7: use all, read or unread")
}

// proto1Size is the size of one message of alice's inbox as the reply carries it.
func proto1Size(t *testing.T, alice mailUser) int {
	t.Helper()
	res, err := alice.api.ListInboxMessages(alice.ctx, &userspb.ListInboxMessagesRequest{Limit: 1})
	if err != nil || len(res.Messages) != 1 {
		t.Fatalf("list one: %v %v", res, err)
	}
	return proto.Size(res.Messages[0])
}

// What a sender can make the server keep for a recipient is bounded, and a message is
// delivered only from its signer, only to a mailbox: each refusal below is what an
// attacker would try.
func TestMailboxRefusals(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	key := newKey(t, reg, hubauth.UserKey)
	alice, bob, mallory := newMailUser(t, d, key), newMailUser(t, d, key), newMailUser(t, d, key)
	nobox := newMailUser(t, d, key)
	box := alice.setup(t)
	bob.setup(t)
	mallory.setup(t)

	// No mailbox: the Hub's answer, for a recipient and for a sender.
	_, err := bob.users.SendMessage(bob.ctx, bob.id, nobox.id.GetPublic(), []byte("hi"))
	wantCode(t, "to a recipient without a mailbox", err, codes.FailedPrecondition, "mail not found")
	_, err = nobox.users.SendMessage(nobox.ctx, nobox.id, alice.id.GetPublic(), []byte("hi"))
	wantCode(t, "from a sender without a mailbox", err, codes.FailedPrecondition, "mail not found")
	_, err = nobox.users.ListInboxMessages(nobox.ctx)
	wantCode(t, "listing without a mailbox", err, codes.FailedPrecondition, "mail not found")
	badTo := bob.signed(t, alice.id.GetPublic(), []byte("a"), []byte("b"))
	badTo.To = "not-a-key"
	_, err = bob.api.SendMessage(bob.ctx, badTo)
	wantCode(t, "to an invalid key", err, codes.FailedPrecondition, "Invalid public key")

	// Signatures are checked against the caller's key: a tampered one, and bodies signed
	// by someone else (Mallory passing off a message Bob signed as hers), are refused.
	req := bob.signed(t, alice.id.GetPublic(), []byte("to alice"), []byte("to bob"))
	tampered := proto.Clone(req).(*userspb.SendMessageRequest)
	tampered.ToSignature[0] ^= 1
	_, err = bob.api.SendMessage(bob.ctx, tampered)
	wantCode(t, "a tampered to_signature", err, codes.Unauthenticated, "Bad message signature")
	tampered = proto.Clone(req).(*userspb.SendMessageRequest)
	tampered.FromBody = []byte("changed")
	_, err = bob.api.SendMessage(bob.ctx, tampered)
	wantCode(t, "a from_body its signature does not cover", err, codes.Unauthenticated, "Bad message signature")
	_, err = mallory.api.SendMessage(mallory.ctx, req)
	wantCode(t, "bob's signed message sent by mallory", err, codes.Unauthenticated, "Bad message signature")
	if in := alice.inbox(t); len(in) != 0 {
		t.Fatalf("refused messages reached alice's inbox: %v", ids(in))
	}

	// Bodies are bounded: the most is taken, one byte more is refused.
	big := bytes.Repeat([]byte("x"), MaxMessageBody)
	if _, err := bob.api.SendMessage(bob.ctx, bob.signed(t, alice.id.GetPublic(), big, []byte("b"))); err != nil {
		t.Fatalf("a body of exactly MaxMessageBody: %v", err)
	}
	_, err = bob.api.SendMessage(bob.ctx, bob.signed(t, alice.id.GetPublic(), append(big, 'x'), []byte("b")))
	wantCode(t, "a to_body over the limit", err, codes.InvalidArgument, "message body of 65537 bytes is over this server's limit of 65536 bytes per encrypted body: send at most 65464 bytes")
	_, err = bob.api.SendMessage(bob.ctx, bob.signed(t, alice.id.GetPublic(), []byte("a"), append(big, 'x')))
	wantCode(t, "a from_body over the limit", err, codes.InvalidArgument, "message body of 65537 bytes is over this server's limit of 65536 bytes per encrypted body: send at most 65464 bytes")
	if _, err := bob.users.SendMessage(bob.ctx, bob.id, alice.id.GetPublic(), bytes.Repeat([]byte("y"), MaxMessagePlaintext)); err != nil {
		t.Fatalf("the longest plaintext textile's client can send: %v", err)
	}

	// An inbox is bounded: Alice's holds 2 messages; with a bound of 3 one more goes in,
	// then the next is refused until she deletes one, through this API or the threads API.
	defer func(v int) { maxInboxMessages = v }(maxInboxMessages)
	maxInboxMessages = 3
	third := bob.send(t, alice, "third")
	full := "the inbox of " + alice.identity + " is full: it holds 3 messages, the most this server keeps in one inbox; it takes more once its owner deletes some"
	_, err = mallory.users.SendMessage(mallory.ctx, mallory.id, alice.id.GetPublic(), []byte("spam"))
	wantCode(t, "to a full inbox", err, codes.ResourceExhausted, full)
	if out := mallory.sentbox(t); len(out) != 0 {
		t.Fatalf("a refused message is in the sender's sentbox: %v", ids(out))
	}
	if err := alice.users.DeleteInboxMessage(alice.ctx, third.ID); err != nil {
		t.Fatal(err)
	}
	fourth := mallory.send(t, alice, "after a delete")
	_, err = mallory.users.SendMessage(mallory.ctx, mallory.id, alice.id.GetPublic(), []byte("spam"))
	wantCode(t, "to the inbox full again", err, codes.ResourceExhausted, full)
	if err := alice.c.Delete(alice.ctx, box, "inbox", []string{fourth.ID}, db.WithTxnToken(alice.tok)); err != nil {
		t.Fatalf("delete through the threads API: %v", err)
	}
	mallory.send(t, alice, "after a threads API delete")
	// Others' mailboxes are not affected by Alice's bound being reached.
	alice.send(t, bob, "bob's inbox is not full")

	// Hostile IDs never reach a datastore key.
	for _, id := range []string{"../sentbox/" + third.ID, "..", "a/b", ""} {
		err := alice.users.ReadInboxMessage(alice.ctx, id)
		if c := status.Code(err); c != codes.InvalidArgument {
			t.Fatalf("ReadInboxMessage(%q): %v, want InvalidArgument", id, err)
		}
		err = alice.users.DeleteInboxMessage(alice.ctx, id)
		if c := status.Code(err); c != codes.InvalidArgument {
			t.Fatalf("DeleteInboxMessage(%q): %v, want InvalidArgument", id, err)
		}
	}
}

// A user's mailbox is theirs like any database: another user's threads API calls on it
// answer as for a database that does not exist, so others reach an inbox only through
// SendMessage; and every mailbox method needs a token.
func TestMailboxIsolation(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	key := newKey(t, reg, hubauth.UserKey)
	alice, bob := newMailUser(t, d, key), newMailUser(t, d, key)
	box := alice.setup(t)
	bob.setup(t)
	m := bob.send(t, alice, "hello")

	tok := db.WithTxnToken(bob.tok)
	_, err := bob.c.Create(bob.ctx, box, "inbox", client.Instances{&threaddb.InboxMessage{From: bob.identity, To: alice.identity, Body: "Zm9yZ2Vk", Signature: "Zm9yZ2Vk"}}, tok)
	wantCode(t, "bob's Create in alice's inbox", err, codes.NotFound, "db not found")
	err = bob.c.Save(bob.ctx, box, "inbox", client.Instances{&threaddb.InboxMessage{ID: m.ID, From: bob.identity, To: alice.identity, Body: "Zm9yZ2Vk", Signature: "Zm9yZ2Vk"}}, tok)
	wantCode(t, "bob's Save in alice's inbox", err, codes.NotFound, "db not found")
	err = bob.c.Delete(bob.ctx, box, "inbox", []string{m.ID}, tok)
	wantCode(t, "bob's Delete in alice's inbox", err, codes.NotFound, "db not found")
	_, err = bob.c.Find(bob.ctx, box, "inbox", &db.Query{}, &threaddb.InboxMessage{}, tok)
	wantCode(t, "bob's Find in alice's inbox", err, codes.NotFound, "db not found")
	err = bob.c.FindByID(bob.ctx, box, "inbox", m.ID, &threaddb.InboxMessage{}, tok)
	wantCode(t, "bob's FindByID in alice's inbox", err, codes.NotFound, "db not found")
	err = bob.c.UpdateCollection(bob.ctx, box, db.CollectionConfig{Name: "inbox", Schema: jsonschema.Reflect(&note{})}, db.WithManagedToken(bob.tok))
	wantCode(t, "bob's UpdateCollection of alice's inbox", err, codes.NotFound, "db not found")
	events, err := bob.c.Listen(bob.ctx, box, nil, tok)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		wantCode(t, "bob's Listen on alice's mailbox", ev.Err, codes.NotFound, "db not found")
	case <-time.After(time.Minute):
		t.Fatal("bob's Listen on alice's mailbox neither failed nor ended within a minute")
	}
	if in := alice.inbox(t); len(in) != 1 || in[0].ID != m.ID || alice.open(t, in[0]) != "hello" {
		t.Fatalf("alice's inbox after bob's attempts: %v", ids(in))
	}

	// An account key without a token has no mailbox; neither has a user key without one.
	operator := hubContext(t, newKey(t, reg, hubauth.AccountKey))
	user := hubContext(t, key)
	api := alice.api
	for who, ctx := range map[string]context.Context{"account key": operator, "user key": user} {
		calls := map[string]func() error{
			"SetupMailbox": func() error { _, err := api.SetupMailbox(ctx, &userspb.SetupMailboxRequest{}); return err },
			"SendMessage": func() error {
				_, err := api.SendMessage(ctx, bob.signed(t, alice.id.GetPublic(), []byte("a"), []byte("b")))
				return err
			},
			"ListInboxMessages": func() error {
				_, err := api.ListInboxMessages(ctx, &userspb.ListInboxMessagesRequest{})
				return err
			},
			"ListSentboxMessages": func() error {
				_, err := api.ListSentboxMessages(ctx, &userspb.ListSentboxMessagesRequest{})
				return err
			},
			"ReadInboxMessage": func() error {
				_, err := api.ReadInboxMessage(ctx, &userspb.ReadInboxMessageRequest{Id: m.ID})
				return err
			},
			"DeleteInboxMessage": func() error {
				_, err := api.DeleteInboxMessage(ctx, &userspb.DeleteInboxMessageRequest{Id: m.ID})
				return err
			},
			"DeleteSentboxMessage": func() error {
				_, err := api.DeleteSentboxMessage(ctx, &userspb.DeleteSentboxMessageRequest{Id: m.ID})
				return err
			},
		}
		for name, call := range calls {
			wantCode(t, name+" with an "+who+" and no token", call(), codes.Unauthenticated, "Token required")
		}
	}
	if in := alice.inbox(t); len(in) != 1 {
		t.Fatalf("alice's inbox after the calls without a token: %v", ids(in))
	}
}

// Watching an inbox is Listen on the mailbox database, as the JS client's watchInbox
// does: the owner's stream sees a SendMessage's inbox create.
func TestMailboxWatch(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	key := newKey(t, reg, hubauth.UserKey)
	alice, bob := newMailUser(t, d, key), newMailUser(t, d, key)
	box := alice.setup(t)
	bob.setup(t)

	ctx, cancel := context.WithTimeout(alice.ctx, time.Minute)
	defer cancel()
	// go-threads' generated client, which its Go client and the JS client's grpc-web
	// transport both call: the headers arrive once the server has subscribed.
	stream, err := pb.NewAPIClient(mustDial(t, d.State().API)).Listen(ctx, &pb.ListenRequest{
		DbID:    box.Bytes(),
		Filters: []*pb.ListenRequest_Filter{{CollectionName: "inbox", Action: pb.ListenRequest_Filter_CREATE}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatalf("Listen on the mailbox: %v", err)
	}
	m := bob.send(t, alice, "watched")
	ev, err := stream.Recv()
	if err != nil {
		t.Fatalf("Listen on the mailbox: %v", err)
	}
	if ev.CollectionName != "inbox" || ev.Action != pb.ListenReply_CREATE || ev.InstanceID != m.ID {
		t.Fatalf("event %v, want the create of %s in inbox", ev, m.ID)
	}
	var msg usersclient.Message
	if err := msg.UnmarshalInstance(ev.Instance); err != nil {
		t.Fatalf("the event's instance is not a message textile's client reads: %v", err)
	}
}

// A box whose owner changed its collection so that it refuses messages refuses them
// with its own reason, and a message is never left in one box only: the recipient's copy
// goes when the sender's sentbox refuses its own.
func TestMailboxBoxRefusesWrites(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	key := newKey(t, reg, hubauth.UserKey)
	alice, bob := newMailUser(t, d, key), newMailUser(t, d, key)
	aliceBox, bobBox := alice.setup(t), bob.setup(t)

	// A schema that every message breaks: a required field no message has.
	strict := func(u mailUser, box thread.ID, name string) {
		t.Helper()
		s := jsonschema.Reflect(&note{})
		s.Definitions["note"].Required = append(s.Definitions["note"].Required, "text")
		if err := u.c.UpdateCollection(u.ctx, box, db.CollectionConfig{Name: name, Schema: s}, db.WithManagedToken(u.tok)); err != nil {
			t.Fatalf("UpdateCollection %s: %v", name, err)
		}
	}
	strict(bob, bobBox, "sentbox")
	_, err := bob.users.SendMessage(bob.ctx, bob.id, alice.id.GetPublic(), []byte("hi"))
	if c := status.Code(err); c != codes.FailedPrecondition || !strings.HasPrefix(status.Convert(err).Message(), "your sentbox refused the message: ") {
		t.Fatalf("SendMessage to a sentbox that refuses it: %v", err)
	}
	if in := alice.inbox(t); len(in) != 0 {
		t.Fatalf("the message is in alice's inbox although bob's sentbox refused it: %v", ids(in))
	}

	strict(alice, aliceBox, "inbox")
	_, err = alice.users.SendMessage(alice.ctx, alice.id, alice.id.GetPublic(), []byte("to myself"))
	if c := status.Code(err); c != codes.FailedPrecondition || !strings.HasPrefix(status.Convert(err).Message(), "the recipient's inbox refused the message: ") {
		t.Fatalf("SendMessage to an inbox that refuses it: %v", err)
	}
	if out := alice.sentbox(t); len(out) != 0 {
		t.Fatalf("the message is in alice's sentbox although her inbox refused it: %v", ids(out))
	}
}

// The mailbox is the database named hubmail: a thread of the caller's with that name in
// another case stops SetupMailbox with the fix, and deleting the mailbox database is
// deleting the mailbox.
func TestMailboxNameTaken(t *testing.T) {
	d, reg := startDaemon(t, hubauth.AuthKeys)
	alice := newMailUser(t, d, newKey(t, reg, hubauth.UserKey))
	other := thread.NewIDV1(thread.Raw, 32)
	if err := alice.c.NewDB(alice.ctx, other, db.WithNewManagedName("HubMail"), db.WithNewManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	_, err := alice.users.SetupMailbox(alice.ctx)
	wantCode(t, "SetupMailbox with a database named HubMail", err, codes.AlreadyExists,
		`cannot set up the mailbox: it is the database named "hubmail", and your thread `+other.String()+` is named "HubMail" (names are unique per identity, ignoring case); rename or delete that thread first`)
	if err := alice.c.DeleteDB(alice.ctx, other, db.WithManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	box := alice.setup(t)
	if err := alice.c.DeleteDB(alice.ctx, box, db.WithManagedToken(alice.tok)); err != nil {
		t.Fatal(err)
	}
	_, err = alice.users.ListInboxMessages(alice.ctx)
	wantCode(t, "ListInboxMessages after the mailbox was deleted", err, codes.FailedPrecondition, "mail not found")
	if again := alice.setup(t); again == box {
		t.Fatal("SetupMailbox after a delete gave the deleted mailbox's ID")
	}
}
