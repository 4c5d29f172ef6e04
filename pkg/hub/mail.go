package hub

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p-core/crypto"
	"github.com/textileio/go-threads/core/thread"
	userspb "github.com/textileio/textile/v2/api/usersd/pb"
	"golang.org/x/crypto/nacl/box"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/instanceid"
)

// The Hub's mailbox (textile api/usersd, mail/, threaddb/mail.go): each user's database
// named hubmail, with collections inbox and sentbox. A message's body is encrypted twice,
// to the recipient (their inbox copy) and to the sender (the sentbox copy), and each copy is
// signed by the sender, exactly as textile's Go client (api/usersd/client) and the JS client
// (@textile/hub Users) do it, so that messages cross between them and hubctl.
const (
	MailboxName       = "hubmail"
	InboxCollection   = "inbox"
	SentboxCollection = "sentbox"
	// MailOverhead is what encryption adds to a body: go-threads' asymmetric box puts a
	// 24-byte nonce and a 32-byte ephemeral key before nacl box's sealed text.
	MailOverhead = 24 + 32 + box.Overhead
)

// ErrBadSignature is a message whose signature does not verify against its sender's key:
// it may not be theirs, so it is reported rather than opened.
var ErrBadSignature = errors.New("bad message signature")

// The servers' messages for a missing mailbox and a bad signature (textile usersd).
const (
	msgMailNotFound = "mail not found"
	msgBadSignature = "Bad message signature"
	msgInvalidKey   = "Invalid public key"
)

// Box is the inbox or the sentbox.
type Box int

const (
	Inbox Box = iota
	Sentbox
)

func (b Box) String() string {
	if b == Sentbox {
		return "sentbox"
	}
	return "inbox"
}

// Message is one message of a mailbox. Body and Signature are the copy's ciphertext and
// its signature; Open decrypts it.
type Message struct {
	ID        string    `json:"id"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	CreatedAt time.Time `json:"createdAt"`
	ReadAt    time.Time `json:"readAt,omitzero"` // zero: unread, and always for sent messages
	// Verified reports whether Signature verifies against From. One that does not may
	// be forged (anyone who can write to the mailbox database could put it there):
	// hubctl lists it as such and never opens it.
	Verified  bool   `json:"verified"`
	Body      []byte `json:"-"`
	Signature []byte `json:"-"`
}

// Read reports whether the message was read (inbox messages only).
func (m Message) Read() bool { return !m.ReadAt.IsZero() }

// ListOptions page a listing as the Hub does: newest first unless Ascending, from Seek
// (an ID, included) on, at most Limit messages (the server's default page, 100, when 0).
type ListOptions struct {
	Seek      string
	Limit     int
	Ascending bool
	Unread    bool // inbox only: unread messages alone
}

// Mailbox is the caller's mailbox over the client's shared connection. It loads the
// identity's private key only for what needs it (sending, opening), at most once, and
// shares it with the token fetch, so an encrypted identity asks for its passphrase once.
type Mailbox struct {
	c       *Client
	key     crypto.PrivKey
	wrapped bool // the identity's Load is ours
}

// Mailbox returns the mailbox of the client's identity.
func (c *Client) Mailbox() *Mailbox { return &Mailbox{c: c} }

func (m *Mailbox) call(ctx context.Context, fn func(ctx context.Context, api userspb.APIServiceClient) error) error {
	conn, err := m.c.Conn(ctx)
	if err != nil {
		return err
	}
	api := userspb.NewAPIServiceClient(conn)
	return m.c.authorized(ctx, func(ctx context.Context) error { return mailError(fn(ctx, api)) })
}

// mailError names the fix for the mailbox's own refusals. Others go on to classify.
func mailError(err error) error {
	st, ok := status.FromError(err)
	if err == nil || !ok {
		return err
	}
	switch msg := st.Message(); {
	case st.Code() == codes.FailedPrecondition && msg == msgMailNotFound:
		return &ServerError{Class: ErrNotFound, Msg: msgMailNotFound}
	case st.Code() == codes.Unauthenticated && msg == msgBadSignature:
		// Not a stale token: fetching another would not help.
		return &ServerError{Class: ErrAuth, Msg: "the server refused the message: " + msg,
			Hint: "it was signed by another key than the token's identity: a --token must be for --identity"}
	case st.Code() == codes.FailedPrecondition && msg == msgInvalidKey:
		return argErrorf("the server refused the recipient: %s", msg)
	case st.Code() == codes.InvalidArgument:
		return argErrorf("the server refused the request: %s", msg)
	case st.Code() == codes.FailedPrecondition || st.Code() == codes.ResourceExhausted:
		// A full inbox, a mailbox missing a collection: the server's message says what to do.
		return &ServerError{Msg: "the server refused the request: " + msg}
	}
	return err
}

// identity resolves the client's identity once, and makes its private key load at most
// once for the token fetch and the mailbox alike.
func (m *Mailbox) identity() (*Identity, error) {
	c := m.c
	if c.identity == nil {
		if c.opts.Identity == nil {
			return nil, errors.New("the mailbox needs an identity: pick one with --identity NAME")
		}
		id, err := c.opts.Identity()
		if err != nil {
			return nil, err
		}
		c.identity = &id
	}
	if !m.wrapped {
		m.wrapped = true
		load := c.identity.Load
		c.identity.Load = func() (crypto.PrivKey, error) {
			if m.key != nil {
				return m.key, nil
			}
			k, err := load()
			if err == nil {
				m.key = k
			}
			return k, err
		}
	}
	return c.identity, nil
}

// privateKey loads the identity's private key (asking for a passphrase if it has one).
func (m *Mailbox) privateKey() (crypto.PrivKey, error) {
	id, err := m.identity()
	if err != nil {
		return nil, err
	}
	return id.Load()
}

// LoadKey loads the identity's private key now (asking for its passphrase, if it has
// one), rather than at the first message that needs it.
func (m *Mailbox) LoadKey() error {
	_, err := m.privateKey()
	return err
}

// noMailbox is the caller's own mailbox missing.
func (m *Mailbox) noMailbox() error {
	who := "you have"
	if id := m.c.identity; id != nil && id.Name != "" {
		who = fmt.Sprintf("identity %s has", id.Name)
	}
	return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("%s no mailbox on %s", who, m.c.opts.Target),
		Hint: "create it with hubctl mail setup"}
}

// Setup creates the caller's mailbox, or finds it: it is idempotent, as on the Hub.
func (m *Mailbox) Setup(ctx context.Context) (thread.ID, error) {
	var id thread.ID
	err := m.call(ctx, func(ctx context.Context, api userspb.APIServiceClient) error {
		res, err := api.SetupMailbox(ctx, &userspb.SetupMailboxRequest{})
		if err != nil {
			return err
		}
		id, err = thread.Cast(res.MailboxId)
		if err != nil {
			return fmt.Errorf("the server answered with an invalid mailbox ID: %w", err)
		}
		return nil
	})
	return id, err
}

// ID finds the caller's mailbox database, as the JS client's getMailboxID does: users
// GetThread("hubmail").
func (m *Mailbox) ID(ctx context.Context) (thread.ID, error) {
	if _, err := m.identity(); err != nil {
		return thread.Undef, err
	}
	var id thread.ID
	err := m.call(ctx, func(ctx context.Context, api userspb.APIServiceClient) error {
		res, err := api.GetThread(ctx, &userspb.GetThreadRequest{Name: MailboxName})
		if err != nil {
			return err
		}
		id, err = thread.Cast(res.Id)
		if err != nil {
			return fmt.Errorf("the server answered with an invalid mailbox ID: %w", err)
		}
		return nil
	})
	if isNotFound(err) {
		return thread.Undef, m.noMailbox()
	}
	return id, err
}

// own maps the server's "mail not found" for calls on the caller's own mailbox.
func (m *Mailbox) own(err error) error {
	if isNotFound(err) {
		if se := err.(*ServerError); se.Msg == msgMailNotFound {
			return m.noMailbox()
		}
	}
	return err
}

// ParseRecipient reads a public key as the Hub prints it (multibase base32 of the libp2p
// key, "bbaa..."), and checks that mail can be encrypted to it (Ed25519 keys only).
func ParseRecipient(s string) (thread.PubKey, error) {
	pk := &thread.Libp2pPubKey{}
	if err := pk.UnmarshalString(strings.TrimSpace(s)); err != nil {
		return nil, argErrorf("invalid recipient %q: not a public key (%v)", s, err)
	}
	if pk.Type() != crypto.Ed25519 {
		return nil, argErrorf("recipient %q has a %s key: mail can be encrypted only to Ed25519 keys, as hubctl identity new makes", s, pk.Type())
	}
	return pk, nil
}

// Send encrypts body to the recipient and to the sender, signs both with the sender's
// key and sends them: textile's client SendMessage, call for call.
func (m *Mailbox) Send(ctx context.Context, to thread.PubKey, body []byte) (Message, error) {
	sk, err := m.privateKey()
	if err != nil {
		return Message{}, err
	}
	from := thread.NewLibp2pIdentity(sk)
	req, err := sealMessage(ctx, from, to, body)
	if err != nil {
		return Message{}, err
	}
	var res *userspb.SendMessageResponse
	err = m.call(ctx, func(ctx context.Context, api userspb.APIServiceClient) error {
		var err error
		res, err = api.SendMessage(ctx, req)
		return err
	})
	if isNotFound(err) && err.(*ServerError).Msg == msgMailNotFound {
		// The Hub says the same for the recipient's mailbox and the sender's: look.
		if _, ierr := m.ID(ctx); ierr != nil {
			return Message{}, ierr
		}
		return Message{}, &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("recipient %s has no mailbox on %s", to, m.c.opts.Target),
			Hint: "they must create one with hubctl mail setup (or SetupMailbox) before mail can reach them"}
	}
	if err != nil {
		return Message{}, err
	}
	return Message{
		ID: res.Id, From: from.GetPublic().String(), To: to.String(), CreatedAt: time.Unix(0, res.CreatedAt).UTC(),
		Verified: true, Body: req.FromBody, Signature: req.FromSignature,
	}, nil
}

// sealMessage is textile's client SendMessage without the call: the body encrypted to
// the sender's own key and to the recipient's (thread.PubKey.Encrypt), each ciphertext
// signed by the sender (thread.Identity.Sign).
func sealMessage(ctx context.Context, from thread.Identity, to thread.PubKey, body []byte) (*userspb.SendMessageRequest, error) {
	fromBody, err := from.GetPublic().Encrypt(body)
	if err != nil {
		return nil, fmt.Errorf("encrypt the message to yourself: %w", err)
	}
	fromSig, err := from.Sign(ctx, fromBody)
	if err != nil {
		return nil, fmt.Errorf("sign the message: %w", err)
	}
	toBody, err := to.Encrypt(body)
	if err != nil {
		return nil, fmt.Errorf("encrypt the message to %s: %w", to, err)
	}
	toSig, err := from.Sign(ctx, toBody)
	if err != nil {
		return nil, fmt.Errorf("sign the message: %w", err)
	}
	return &userspb.SendMessageRequest{
		To: to.String(), ToBody: toBody, ToSignature: toSig, FromBody: fromBody, FromSignature: fromSig,
	}, nil
}

// List lists a box's messages. Each is verified; none is decrypted, so listing needs no
// private key.
func (m *Mailbox) List(ctx context.Context, b Box, opts ListOptions) ([]Message, error) {
	if opts.Seek != "" {
		if err := CheckMessageID(opts.Seek); err != nil {
			return nil, err
		}
	}
	if opts.Limit < 0 {
		return nil, argErrorf("the limit must be 0 or more")
	}
	if _, err := m.identity(); err != nil {
		return nil, err
	}
	var list []*userspb.Message
	err := m.call(ctx, func(ctx context.Context, api userspb.APIServiceClient) error {
		if b == Sentbox {
			res, err := api.ListSentboxMessages(ctx, &userspb.ListSentboxMessagesRequest{
				Seek: opts.Seek, Limit: int64(opts.Limit), Ascending: opts.Ascending})
			if err != nil {
				return err
			}
			list = res.Messages
			return nil
		}
		st := userspb.ListInboxMessagesRequest_STATUS_ALL
		if opts.Unread {
			st = userspb.ListInboxMessagesRequest_STATUS_UNREAD
		}
		res, err := api.ListInboxMessages(ctx, &userspb.ListInboxMessagesRequest{
			Seek: opts.Seek, Limit: int64(opts.Limit), Ascending: opts.Ascending, Status: st})
		if err != nil {
			return err
		}
		list = res.Messages
		return nil
	})
	if err != nil {
		return nil, m.own(err)
	}
	out := make([]Message, len(list))
	for i, pm := range list {
		out[i] = messageFromPb(pm)
	}
	return out, nil
}

// messageFromPb is textile's client messageFromPb, except that a message whose signature
// does not verify is kept, marked unverified, where textile's fails the whole listing.
func messageFromPb(pm *userspb.Message) Message {
	msg := Message{ID: pm.Id, From: pm.From, To: pm.To, Body: pm.Body, Signature: pm.Signature,
		CreatedAt: time.Unix(0, pm.CreatedAt).UTC()}
	if pm.ReadAt > 0 {
		msg.ReadAt = time.Unix(0, pm.ReadAt).UTC()
	}
	msg.Verified = verify(pm.From, pm.Body, pm.Signature)
	return msg
}

func verify(from string, body, sig []byte) bool {
	pk := &thread.Libp2pPubKey{}
	if err := pk.UnmarshalString(from); err != nil {
		return false
	}
	ok, err := pk.Verify(body, sig)
	return ok && err == nil
}

// CheckMessageID refuses what cannot be a message ID (an instance ID) before any call.
func CheckMessageID(id string) error {
	if err := instanceid.Check(id); err != nil {
		return argErrorf("invalid message ID %q: %v", id, err)
	}
	return nil
}

// Get finds one message by ID: the users API has no call for one, so it lists from the
// ID on, ascending, one message.
func (m *Mailbox) Get(ctx context.Context, b Box, id string) (Message, error) {
	if err := CheckMessageID(id); err != nil {
		return Message{}, err
	}
	list, err := m.List(ctx, b, ListOptions{Seek: id, Limit: 1, Ascending: true})
	if err != nil {
		return Message{}, err
	}
	if len(list) == 0 || list[0].ID != id {
		return Message{}, &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("no message %s in your %s", id, b),
			Hint: fmt.Sprintf("list them with hubctl mail %s", map[Box]string{Inbox: "inbox", Sentbox: "sent"}[b])}
	}
	return list[0], nil
}

// Open verifies a message's signature, then decrypts its body with the identity's
// private key. A message that does not verify is not decrypted: ErrBadSignature.
func (m *Mailbox) Open(ctx context.Context, msg Message) ([]byte, error) {
	if !verify(msg.From, msg.Body, msg.Signature) {
		return nil, fmt.Errorf("%w: message %s does not verify against its sender's key, so it may not be theirs", ErrBadSignature, msg.ID)
	}
	sk, err := m.privateKey()
	if err != nil {
		return nil, err
	}
	body, err := thread.NewLibp2pIdentity(sk).Decrypt(ctx, msg.Body)
	if err != nil {
		return nil, fmt.Errorf("message %s cannot be decrypted with identity %s: it was encrypted to another key (%v)", msg.ID, m.c.identity.Name, err)
	}
	return body, nil
}

// MarkRead sets an inbox message's read_at and returns it.
func (m *Mailbox) MarkRead(ctx context.Context, id string) (time.Time, error) {
	if err := CheckMessageID(id); err != nil {
		return time.Time{}, err
	}
	var at int64
	err := m.call(ctx, func(ctx context.Context, api userspb.APIServiceClient) error {
		res, err := api.ReadInboxMessage(ctx, &userspb.ReadInboxMessageRequest{Id: id})
		if err != nil {
			return err
		}
		at = res.ReadAt
		return nil
	})
	if err != nil {
		return time.Time{}, m.own(err)
	}
	return time.Unix(0, at).UTC(), nil
}

// Delete deletes a message from a box.
func (m *Mailbox) Delete(ctx context.Context, b Box, id string) error {
	if err := CheckMessageID(id); err != nil {
		return err
	}
	err := m.call(ctx, func(ctx context.Context, api userspb.APIServiceClient) error {
		if b == Sentbox {
			_, err := api.DeleteSentboxMessage(ctx, &userspb.DeleteSentboxMessageRequest{Id: id})
			return err
		}
		_, err := api.DeleteInboxMessage(ctx, &userspb.DeleteInboxMessageRequest{Id: id})
		return err
	})
	return m.own(err)
}

// storedMessage is an inbox or sentbox instance as the Hub's schema stores it
// (threaddb.InboxMessage): body and signature in standard base64, times in nanoseconds.
type storedMessage struct {
	ID        string `json:"_id"`
	From      string `json:"from"`
	To        string `json:"to"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
	CreatedAt int64  `json:"created_at"`
	ReadAt    int64  `json:"read_at"`
}

// MessageFromInstance reads a message from its ThreadDB instance (a Listen event's), as
// textile's client Message.UnmarshalInstance does, verifying it the same way.
func MessageFromInstance(data []byte) (Message, error) {
	var sm storedMessage
	if err := json.Unmarshal(data, &sm); err != nil {
		return Message{}, fmt.Errorf("not a mailbox message: %w", err)
	}
	body, err := base64.StdEncoding.DecodeString(sm.Body)
	if err != nil {
		return Message{}, fmt.Errorf("message %s: its body is not base64: %w", sm.ID, err)
	}
	sig, err := base64.StdEncoding.DecodeString(sm.Signature)
	if err != nil {
		return Message{}, fmt.Errorf("message %s: its signature is not base64: %w", sm.ID, err)
	}
	return messageFromPb(&userspb.Message{Id: sm.ID, From: sm.From, To: sm.To, Body: body, Signature: sig,
		CreatedAt: sm.CreatedAt, ReadAt: sm.ReadAt}), nil
}

// Watch reports each message that arrives in the inbox, until ctx ends (nil), fn returns
// false, or the stream fails: Listen on the mailbox database's inbox creates, as the JS
// client's watchInbox. ready is called once the server has accepted the stream.
func (m *Mailbox) Watch(ctx context.Context, ready func(thread.ID), fn func(Message, error) bool) error {
	id, err := m.ID(ctx)
	if err != nil {
		return err
	}
	err = m.c.Listen(ctx, id, ListenFilter{Collection: InboxCollection, Action: "create"}, func() {
		if ready != nil {
			ready(id)
		}
	}, func(ev Event) bool {
		msg, err := MessageFromInstance(ev.Instance)
		if err == nil && msg.ID == "" {
			msg.ID = ev.InstanceID
		}
		return fn(msg, err)
	})
	if isNotFound(err) {
		return m.noMailbox()
	}
	return err
}
