package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/jsonschema"
	pb "github.com/textileio/go-threads/api/pb"
	coredb "github.com/textileio/go-threads/core/db"
	"github.com/textileio/go-threads/core/thread"
	userspb "github.com/textileio/textile/v2/api/usersd/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hubctl/hubctl/pkg/hubauth"
	"github.com/hubctl/hubctl/pkg/instanceid"
	"github.com/hubctl/hubctl/pkg/node"
)

// usersService is the Hub users API as hubctl serves it: hubauth.Users' ListThreads and
// GetThread, the mailbox, and GetUsage.
type usersService struct {
	*hubauth.Users
	node  *node.Node
	guard *hubauth.Guard
	// maxReply bounds the messages of one list answer in bytes, below maxListReply:
	// half the server's largest gRPC message leaves room for the rest of the answer.
	maxReply int

	mail mailState
}

// The mailbox's limits: what one sender can make a recipient's inbox hold.
const (
	// MaxMessageBody bounds each encrypted body of a SendMessage (the recipient's copy
	// and the sender's, each as sent, before the base64 the Hub stores them in): a
	// longer one is refused (InvalidArgument).
	MaxMessageBody = 64 << 10
	// MessageBodyOverhead is what the Hub clients' encryption adds to a plaintext (a
	// 24-byte nonce, a 32-byte ephemeral key and a 16-byte tag: textileio/crypto's
	// asymmetric box, which go-threads' PubKey.Encrypt uses).
	MessageBodyOverhead = 72
	// MaxMessagePlaintext is the longest plaintext whose encrypted body fits MaxMessageBody.
	MaxMessagePlaintext = MaxMessageBody - MessageBodyOverhead
	// DefaultMaxInboxMessages bounds the messages of one inbox: a message to a full
	// inbox is refused (ResourceExhausted) until its owner deletes some.
	DefaultMaxInboxMessages = 10000
)

// maxInboxMessages is the inbox bound in force (a variable so that a test need not send
// 10,000 messages).
var maxInboxMessages = DefaultMaxInboxMessages

// maxListReply bounds the messages of one list answer in bytes, whatever
// usersService.maxReply allows, below gRPC's DefaultMaxMessageSize: a page that would
// pass it ends early (a client pages on with seek). A variable for tests.
var maxListReply = DefaultMaxMessageSize / 2

// The Hub's mailbox: each identity's database named hubmail with collections inbox and
// sentbox (textile mail/mail.go), and its page sizes (api/usersd/service.go).
const (
	mailboxName            = "hubmail"
	inboxCollection        = "inbox"
	sentboxCollection      = "sentbox"
	defaultMessagePageSize = 100
	maxMessagePageSize     = 10000
)

// errMailboxNotFound is the Hub's answer when the sender or the recipient has no
// mailbox (textile api/usersd ErrMailboxNotFound).
var errMailboxNotFound = status.Error(codes.FailedPrecondition, "mail not found")

// errBadSignature is the Hub's answer to a body its signature does not verify against
// the caller's public key.
var errBadSignature = status.Error(codes.Unauthenticated, "Bad message signature")

// inboxMessage and sentboxMessage are the Hub's collection schemas (textile threaddb
// mail.go), reflected as it reflects them; the JSON is the Hub's wire format, read by
// its clients' UnmarshalInstance.
type inboxMessage struct {
	ID        string `json:"_id"`
	From      string `json:"from"`
	To        string `json:"to"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
	CreatedAt int64  `json:"created_at"`
	ReadAt    int64  `json:"read_at"`
}

type sentboxMessage struct {
	ID        string `json:"_id"`
	From      string `json:"from"`
	To        string `json:"to"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
	CreatedAt int64  `json:"created_at"`
}

// mailCollections are the configurations of inbox and sentbox, with the Hub's indexes.
var mailCollections = func() map[string]*pb.CollectionConfig {
	reflector := jsonschema.Reflector{ExpandedStruct: true}
	config := func(name string, v any, indexes ...string) *pb.CollectionConfig {
		raw, err := json.Marshal(reflector.Reflect(v))
		if err != nil {
			panic(err)
		}
		c := &pb.CollectionConfig{Name: name, Schema: raw}
		for _, p := range indexes {
			c.Indexes = append(c.Indexes, &pb.Index{Path: p})
		}
		return c
	}
	return map[string]*pb.CollectionConfig{
		inboxCollection:   config(inboxCollection, &inboxMessage{}, "from", "to", "created_at", "read_at"),
		sentboxCollection: config(sentboxCollection, &sentboxMessage{}, "from", "to", "created_at"),
	}
}()

// mailState is what the mailbox keeps in memory: a count of each inbox's messages, and
// the locks that serialise SetupMailbox per identity.
type mailState struct {
	mu      sync.Mutex
	inboxes map[thread.ID]*inboxCount
	setup   [64]sync.Mutex
}

// inboxCount is one inbox's count of messages, held under mu while a delivery checks it
// and writes. It starts with a count of the collection (known false until then) and
// follows the deliveries and deletions made through this API; writes through the threads
// API (the owner's own) are not followed, so a delivery that finds the inbox full counts
// again before refusing.
type inboxCount struct {
	mu    sync.Mutex
	n     int
	known bool
}

func (m *mailState) inbox(id thread.ID) *inboxCount {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inboxes == nil {
		m.inboxes = map[thread.ID]*inboxCount{}
	}
	c, ok := m.inboxes[id]
	if !ok {
		c = &inboxCount{}
		m.inboxes[id] = c
	}
	return c
}

func (m *mailState) lockSetup(identity string) func() {
	h := fnv.New32a()
	h.Write([]byte(identity))
	mu := &m.setup[h.Sum32()%uint32(len(m.setup))]
	mu.Lock()
	return mu.Unlock
}

// inProcess is the context of a call made to go-threads in process: the caller's own
// context (its deadline), with only the token go-threads should act with in its metadata
// ("" for the node's own identity), none of the caller's other headers.
func inProcess(ctx context.Context, tok thread.Token) context.Context {
	md := metadata.MD{}
	if tok != "" {
		md.Set("authorization", "bearer "+string(tok))
	}
	return metadata.NewIncomingContext(ctx, md)
}

// mailCaller is the caller of a mailbox method: its identity (the guard requires a
// token for these methods) and that token, for go-threads.
func mailCaller(ctx context.Context) (string, thread.Token, error) {
	c, ok := hubauth.CallerFromContext(ctx)
	if !ok || c.Identity == "" {
		return "", "", status.Error(codes.Unauthenticated, "Token required")
	}
	tok, err := thread.NewTokenFromMD(ctx)
	if err != nil {
		return "", "", err
	}
	return c.Identity, tok, nil
}

// mailboxOf finds identity's mailbox: its database named hubmail, as GetThread finds it
// (the exact name; a thread that is no database does not count). If old records give
// several, the oldest one the node holds wins, then the oldest. The empty identity has
// none (Owners.List would give it everyone's threads).
func (s *usersService) mailboxOf(ctx context.Context, identity string) (thread.ID, bool) {
	if identity == "" {
		return thread.Undef, false
	}
	var found []hubauth.Owner
	for _, rec := range s.guard.Owners.List(identity) {
		if rec.DB && rec.Name == mailboxName {
			found = append(found, rec)
		}
	}
	if len(found) == 0 {
		return thread.Undef, false
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].Created.Before(found[j].Created) })
	for _, rec := range found {
		if has, err := s.node.HasDB(inProcess(ctx, ""), rec.ThreadID); err == nil && has {
			return rec.ThreadID, true
		}
	}
	return found[0].ThreadID, true
}

// SetupMailbox makes the caller's mailbox, exactly as its own NewDB of it would
// (hubauth.Guard.CreateAs: owner record, name, quota), or returns the one it has, adding
// inbox or sentbox if the database lacks them.
func (s *usersService) SetupMailbox(ctx context.Context, _ *userspb.SetupMailboxRequest) (*userspb.SetupMailboxResponse, error) {
	identity, tok, err := mailCaller(ctx)
	if err != nil {
		return nil, err
	}
	unlock := s.mail.lockSetup(identity)
	defer unlock()
	own := inProcess(ctx, tok)
	id, found := s.mailboxOf(ctx, identity)
	if found {
		if b, broken := s.node.BrokenDB(id); broken {
			return nil, status.Errorf(codes.FailedPrecondition, "your mailbox database %s failed to load (%s): ask the server's operator to repair it (hubctl db repair %s)", id, b.Err, id)
		}
		has, err := s.node.HasDB(ctx, id)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "look up mailbox %s: %v", id, err)
		}
		if has {
			if err := s.addMailCollections(own, id); err != nil {
				return nil, err
			}
			return &userspb.SetupMailboxResponse{MailboxId: id.Bytes()}, nil
		}
		// The record of a create that did not finish: CreateAs finishes it.
	} else {
		id = thread.NewIDV1(thread.Raw, 32)
	}
	err = s.guard.CreateAs(ctx, id, mailboxName, true, func(context.Context) error {
		_, err := s.node.ThreadsService().NewDB(own, &pb.NewDBRequest{
			DbID:        id.Bytes(),
			Name:        mailboxName,
			Collections: []*pb.CollectionConfig{mailCollections[inboxCollection], mailCollections[sentboxCollection]},
		})
		return err
	})
	if status.Code(err) == codes.AlreadyExists {
		for _, rec := range s.guard.Owners.List(identity) {
			if rec.ThreadID != id && strings.EqualFold(rec.Name, mailboxName) {
				return nil, status.Errorf(codes.AlreadyExists, "cannot set up the mailbox: it is the database named %q, and your thread %s is named %q (names are unique per identity, ignoring case); rename or delete that thread first", mailboxName, rec.ThreadID, rec.Name)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return &userspb.SetupMailboxResponse{MailboxId: id.Bytes()}, nil
}

// addMailCollections adds inbox or sentbox to a mailbox that lacks them, within the
// caller's collection quota.
func (s *usersService) addMailCollections(own context.Context, id thread.ID) error {
	have, err := s.node.ThreadsService().ListCollections(own, &pb.ListCollectionsRequest{DbID: id.Bytes()})
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, c := range have.Collections {
		present[c.Name] = true
	}
	var missing []*pb.CollectionConfig
	for _, name := range []string{inboxCollection, sentboxCollection} {
		if !present[name] {
			missing = append(missing, mailCollections[name])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	c, _ := hubauth.CallerFromContext(own)
	if limit := s.guard.Quotas.MaxCollectionsPerDB(); !c.Operator && limit >= 0 && len(have.Collections)+len(missing) > limit {
		return status.Error(codes.ResourceExhausted, hubauth.CollectionLimitMessage(len(have.Collections), len(missing), limit))
	}
	for _, cfg := range missing {
		if _, err := s.node.ThreadsService().NewCollection(own, &pb.NewCollectionRequest{DbID: id.Bytes(), Config: cfg}); err != nil {
			return err
		}
	}
	return nil
}

// hasCollection reports whether database id serves the collection, by go-threads' own
// answer.
func (s *usersService) hasCollection(ctx context.Context, id thread.ID, name string) (bool, error) {
	_, err := s.node.ThreadsService().GetCollectionInfo(inProcess(ctx, ""), &pb.GetCollectionInfoRequest{DbID: id.Bytes(), Name: name})
	switch {
	case err == nil:
		return true, nil
	case status.Code(err) == codes.NotFound:
		return false, nil
	}
	return false, status.Errorf(codes.Internal, "look up collection %s of %s: %v", name, id, err)
}

// SendMessage delivers a message as the Hub did: both bodies signed by the caller, the
// recipient's copy to the recipient's inbox and the caller's to the caller's sentbox,
// under one ID and one created_at. The writes are made here, in process: nobody but an
// inbox's owner can write to it through the threads API (the guard), so this is the only
// way others deliver. Each body is bounded (MaxMessageBody), and so is each inbox
// (maxInboxMessages).
func (s *usersService) SendMessage(ctx context.Context, req *userspb.SendMessageRequest) (*userspb.SendMessageResponse, error) {
	identity, tok, err := mailCaller(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range [][]byte{req.ToBody, req.FromBody} {
		if len(b) > MaxMessageBody {
			return nil, status.Errorf(codes.InvalidArgument, "message body of %d bytes is over this server's limit of %d bytes per encrypted body: send at most %d bytes", len(b), MaxMessageBody, MaxMessagePlaintext)
		}
	}
	from := &thread.Libp2pPubKey{}
	if err := from.UnmarshalString(identity); err != nil {
		return nil, status.Errorf(codes.Internal, "the token's identity is no public key: %v", err)
	}
	if ok, err := from.Verify(req.ToBody, req.ToSignature); !ok || err != nil {
		return nil, errBadSignature
	}
	if ok, err := from.Verify(req.FromBody, req.FromSignature); !ok || err != nil {
		return nil, errBadSignature
	}
	to := &thread.Libp2pPubKey{}
	if err := to.UnmarshalString(req.To); err != nil {
		return nil, status.Error(codes.FailedPrecondition, "Invalid public key")
	}
	inbox, ok := s.mailboxOf(ctx, to.String())
	if !ok {
		return nil, errMailboxNotFound
	}
	sentbox, ok := s.mailboxOf(ctx, from.String())
	if !ok {
		return nil, errMailboxNotFound
	}
	// Both collections are there before anything is written, so that a message is not
	// delivered to one box only. A recipient's mailbox without its inbox is none.
	if has, err := s.hasCollection(ctx, inbox, inboxCollection); err != nil {
		return nil, err
	} else if !has {
		return nil, errMailboxNotFound
	}
	if has, err := s.hasCollection(ctx, sentbox, sentboxCollection); err != nil {
		return nil, err
	} else if !has {
		return nil, status.Errorf(codes.FailedPrecondition, "your mailbox %s has no %s collection: set it up again (SetupMailbox, hubctl mail setup) to add it", sentbox, sentboxCollection)
	}

	msgID := coredb.NewInstanceID().String()
	now := time.Now().UnixNano()
	toMsg, err := json.Marshal(inboxMessage{
		ID: msgID, From: from.String(), To: to.String(),
		Body:      base64.StdEncoding.EncodeToString(req.ToBody),
		Signature: base64.StdEncoding.EncodeToString(req.ToSignature),
		CreatedAt: now,
	})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	fromMsg, err := json.Marshal(sentboxMessage{
		ID: msgID, From: from.String(), To: to.String(),
		Body:      base64.StdEncoding.EncodeToString(req.FromBody),
		Signature: base64.StdEncoding.EncodeToString(req.FromSignature),
		CreatedAt: now,
	})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}

	count := s.mail.inbox(inbox)
	count.mu.Lock()
	defer count.mu.Unlock()
	if !count.known || count.n >= maxInboxMessages {
		// The first delivery since the start counts the inbox, and so does one that
		// finds it full: its owner may have deleted messages through the threads API.
		n, err := s.node.CountInstances(ctx, inbox, inboxCollection)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "count the messages of inbox %s: %v", inbox, err)
		}
		count.n, count.known = n, true
	}
	if count.n >= maxInboxMessages {
		return nil, status.Errorf(codes.ResourceExhausted, "the inbox of %s is full: it holds %d messages, the most this server keeps in one inbox; it takes more once its owner deletes some", to.String(), count.n)
	}
	// The recipient's copy is written with the node's own identity: the sender's would
	// give the recipient's thread a log for every identity that ever wrote to it.
	if err := s.writeMessage(inProcess(ctx, ""), inbox, inboxCollection, toMsg); err != nil {
		return nil, deliveryErr(err, "the recipient's inbox")
	}
	count.n++
	if err := s.writeMessage(inProcess(ctx, tok), sentbox, sentboxCollection, fromMsg); err != nil {
		// Not delivered, then: the recipient's copy goes too.
		if _, derr := s.node.ThreadsService().Delete(inProcess(context.WithoutCancel(ctx), ""), &pb.DeleteRequest{DbID: inbox.Bytes(), CollectionName: inboxCollection, InstanceIDs: []string{msgID}}); derr == nil {
			count.n--
		}
		return nil, deliveryErr(err, "your sentbox")
	}
	return &userspb.SendMessageResponse{Id: msgID, CreatedAt: now}, nil
}

// deliveryErr is the answer to a write a box refused (whose: "the recipient's inbox",
// "your sentbox"): go-threads' plain errors are its collection's schema or validator,
// which its owner may have changed.
func deliveryErr(err error, whose string) error {
	switch status.Code(err) {
	case codes.NotFound:
		return errMailboxNotFound // deleted since it was looked up
	case codes.Unknown:
		return status.Errorf(codes.FailedPrecondition, "%s refused the message: %s", whose, status.Convert(err).Message())
	}
	return err
}

// writeMessage creates one message in a box, with the checks a Create through the
// threads API gets (the stored schema, and instances handed to JavaScript).
func (s *usersService) writeMessage(ctx context.Context, id thread.ID, collection string, msg []byte) error {
	api := s.node.ThreadsService()
	if err := checkInstanceIDs(&pb.CreateRequest{Instances: [][]byte{msg}}); err != nil {
		return err
	}
	if err := (&collectionChecks{}).checkWrite(ctx, api, id.Bytes(), collection, [][]byte{msg}); err != nil {
		return err
	}
	_, err := api.Create(ctx, &pb.CreateRequest{DbID: id.Bytes(), CollectionName: collection, Instances: [][]byte{msg}})
	return err
}

// ownBox is the caller's mailbox, or the Hub's answer when there is none.
func (s *usersService) ownBox(ctx context.Context, identity, collection string) (thread.ID, error) {
	box, ok := s.mailboxOf(ctx, identity)
	if !ok {
		return thread.Undef, errMailboxNotFound
	}
	if has, err := s.hasCollection(ctx, box, collection); err != nil {
		return thread.Undef, err
	} else if !has {
		if _, broken := s.node.BrokenDB(box); broken {
			return thread.Undef, status.Errorf(codes.FailedPrecondition, "your mailbox database %s failed to load: ask the server's operator to repair it (hubctl db repair %s)", box, box)
		}
		if ok, _ := s.node.HasDB(ctx, box); !ok {
			return thread.Undef, errMailboxNotFound
		}
		return thread.Undef, status.Errorf(codes.FailedPrecondition, "your mailbox %s has no %s collection: set it up again (SetupMailbox, hubctl mail setup) to add it", box, collection)
	}
	return box, nil
}

// listQuery is a list request as the Hub read it (getMailboxQuery): newest first unless
// ascending, from seek included, limit messages (0: the default; more than the maximum:
// the maximum).
type listQuery struct {
	seek      string
	limit     int
	ascending bool
	status    userspb.ListInboxMessagesRequest_Status
}

func newListQuery(seek string, limit int64, asc bool, st userspb.ListInboxMessagesRequest_Status) (listQuery, error) {
	if seek != "" {
		if err := instanceid.Check(seek); err != nil {
			return listQuery{}, status.Errorf(codes.InvalidArgument, "seek: %v: give a message ID", err)
		}
	}
	switch {
	case limit < 0:
		return listQuery{}, status.Errorf(codes.InvalidArgument, "limit %d: give 0 (the default, %d messages) up to %d", limit, defaultMessagePageSize, maxMessagePageSize)
	case limit == 0:
		limit = defaultMessagePageSize
	case limit > maxMessagePageSize:
		limit = maxMessagePageSize
	}
	switch st {
	case userspb.ListInboxMessagesRequest_STATUS_UNSPECIFIED, userspb.ListInboxMessagesRequest_STATUS_ALL,
		userspb.ListInboxMessagesRequest_STATUS_READ, userspb.ListInboxMessagesRequest_STATUS_UNREAD:
	default:
		return listQuery{}, status.Errorf(codes.InvalidArgument, "unknown message status %d: use all, read or unread", st)
	}
	return listQuery{seek: seek, limit: int(limit), ascending: asc, status: st}, nil
}

// listMessages reads a page of a box straight from the store, in ID order as the Hub's
// query ordered it (go-threads' Find, which the Hub used, is not: it stops at the first
// instance lacking the filtered field and limits before it sorts).
func (s *usersService) listMessages(ctx context.Context, box thread.ID, collection string, q listQuery) ([]*userspb.Message, error) {
	out := []*userspb.Message{}
	size, budget := 0, maxListReply
	if s.maxReply > 0 && s.maxReply < budget {
		budget = s.maxReply
	}
	from, skip := q.seek, ""
	for {
		page, err := s.node.SeekInstances(ctx, box, collection, node.SeekOptions{
			From: from, Descending: !q.ascending, Limit: min(max(q.limit-len(out)+1, defaultMessagePageSize), node.DefaultScanLimit),
		})
		if err != nil {
			return nil, scanErr(err, box)
		}
		for _, in := range page.Instances {
			if in.ID == skip {
				continue // the last of the previous page, where this one started
			}
			m, err := messageFromJSON(in, collection == inboxCollection)
			if err != nil {
				return nil, err
			}
			switch q.status {
			case userspb.ListInboxMessagesRequest_STATUS_READ:
				if m.ReadAt <= 0 {
					continue
				}
			case userspb.ListInboxMessagesRequest_STATUS_UNREAD:
				if m.ReadAt != 0 {
					continue
				}
			}
			n := proto.Size(m)
			if len(out) > 0 && size+n > budget {
				return out, nil
			}
			out = append(out, m)
			size += n
			if len(out) >= q.limit {
				return out, nil
			}
		}
		if !page.More || len(page.Instances) == 0 {
			return out, nil
		}
		from = page.Instances[len(page.Instances)-1].ID
		skip = from
	}
}

// messageFromJSON is a stored message as the Hub answered it (inboxMessageToPb,
// sentboxMessageToPb): the body and signature decoded from base64; read_at only for the
// inbox.
func messageFromJSON(in node.RawInstance, inbox bool) (*userspb.Message, error) {
	var m inboxMessage
	bad := func(err error) error {
		return status.Errorf(codes.FailedPrecondition, "message %s is not one the mailbox stores (%v): it was written through the threads API; delete it", in.ID, err)
	}
	if err := json.Unmarshal(in.JSON, &m); err != nil {
		return nil, bad(err)
	}
	body, err := base64.StdEncoding.DecodeString(m.Body)
	if err != nil {
		return nil, bad(fmt.Errorf("body: %w", err))
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return nil, bad(fmt.Errorf("signature: %w", err))
	}
	out := &userspb.Message{Id: in.ID, From: m.From, To: m.To, Body: body, Signature: sig, CreatedAt: m.CreatedAt}
	if inbox {
		out.ReadAt = m.ReadAt
	}
	return out, nil
}

// scanErr answers a failed read of the caller's own box.
func scanErr(err error, box thread.ID) error {
	switch {
	case errors.Is(err, node.ErrDBNotFound), errors.Is(err, node.ErrCollectionNotFound):
		return errMailboxNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.Internal, "read mailbox %s: %v", box, err)
}

// ListInboxMessages lists the caller's inbox.
func (s *usersService) ListInboxMessages(ctx context.Context, req *userspb.ListInboxMessagesRequest) (*userspb.ListInboxMessagesResponse, error) {
	msgs, err := s.listBox(ctx, inboxCollection, req.Seek, req.Limit, req.Ascending, req.Status)
	if err != nil {
		return nil, err
	}
	return &userspb.ListInboxMessagesResponse{Messages: msgs}, nil
}

// ListSentboxMessages lists the caller's sentbox.
func (s *usersService) ListSentboxMessages(ctx context.Context, req *userspb.ListSentboxMessagesRequest) (*userspb.ListSentboxMessagesResponse, error) {
	msgs, err := s.listBox(ctx, sentboxCollection, req.Seek, req.Limit, req.Ascending, userspb.ListInboxMessagesRequest_STATUS_ALL)
	if err != nil {
		return nil, err
	}
	return &userspb.ListSentboxMessagesResponse{Messages: msgs}, nil
}

// listBox lists a page of one of the caller's boxes.
func (s *usersService) listBox(ctx context.Context, collection, seek string, limit int64, ascending bool, st userspb.ListInboxMessagesRequest_Status) ([]*userspb.Message, error) {
	identity, _, err := mailCaller(ctx)
	if err != nil {
		return nil, err
	}
	box, err := s.ownBox(ctx, identity, collection)
	if err != nil {
		return nil, err
	}
	q, err := newListQuery(seek, limit, ascending, st)
	if err != nil {
		return nil, err
	}
	return s.listMessages(ctx, box, collection, q)
}

// findMessage reads one message of the caller's box straight from the store; an ID with
// no message is NotFound (where go-threads, and so the Hub, answered Unknown "instance
// not found").
func (s *usersService) findMessage(ctx context.Context, box thread.ID, collection, id string) (node.RawInstance, error) {
	if err := instanceid.Check(id); err != nil {
		return node.RawInstance{}, status.Errorf(codes.InvalidArgument, "%v (%s)", err, instanceid.Rule)
	}
	page, err := s.node.SeekInstances(ctx, box, collection, node.SeekOptions{From: id, Limit: 1})
	if err != nil {
		return node.RawInstance{}, scanErr(err, box)
	}
	if len(page.Instances) == 0 || page.Instances[0].ID != id {
		return node.RawInstance{}, status.Errorf(codes.NotFound, "message %s not found in your %s", id, collection)
	}
	return page.Instances[0], nil
}

// ReadInboxMessage marks a message of the caller's inbox read now (UnixNano), as the Hub
// did (again if it was read before), and answers that time.
func (s *usersService) ReadInboxMessage(ctx context.Context, req *userspb.ReadInboxMessageRequest) (*userspb.ReadInboxMessageResponse, error) {
	identity, tok, err := mailCaller(ctx)
	if err != nil {
		return nil, err
	}
	box, err := s.ownBox(ctx, identity, inboxCollection)
	if err != nil {
		return nil, err
	}
	in, err := s.findMessage(ctx, box, inboxCollection, req.Id)
	if err != nil {
		return nil, err
	}
	// Every field as stored, read_at aside (the save replaces the instance), except
	// go-threads' own _mod, which the Hub's schema does not allow in what is saved
	// (go-threads sets it again).
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(in.JSON, &fields); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "message %s is not one the mailbox stores (%v): delete it", in.ID, err)
	}
	delete(fields, "_mod")
	readAt := asSaved(time.Now().UnixNano())
	fields["read_at"] = json.RawMessage(strconv.FormatInt(readAt, 10))
	doc, err := json.Marshal(fields)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	own := inProcess(ctx, tok)
	api := s.node.ThreadsService()
	if err := (&collectionChecks{}).checkWrite(own, api, box.Bytes(), inboxCollection, [][]byte{doc}); err != nil {
		return nil, err
	}
	if _, err := api.Save(own, &pb.SaveRequest{DbID: box.Bytes(), CollectionName: inboxCollection, Instances: [][]byte{doc}}); err != nil {
		return nil, err
	}
	return &userspb.ReadInboxMessageResponse{ReadAt: readAt}, nil
}

// asSaved is the integer n as go-threads' Save stores it: the save's event is a JSON merge
// patch (jsonpatcher, evanphx/json-patch's CreateMergePatch), which reads numbers as
// float64 and writes them back in encoding/json's form, so a UnixNano time loses its last
// digits. ReadInboxMessage answers the read_at that listing will then show (the Hub
// answered the unrounded one, which its own listing never showed).
func asSaved(n int64) int64 {
	v, err := strconv.ParseInt(strconv.FormatFloat(float64(n), 'f', -1, 64), 10, 64)
	if err != nil {
		return n
	}
	return v
}

// DeleteInboxMessage deletes a message of the caller's inbox.
func (s *usersService) DeleteInboxMessage(ctx context.Context, req *userspb.DeleteInboxMessageRequest) (*userspb.DeleteInboxMessageResponse, error) {
	if err := s.deleteMessage(ctx, inboxCollection, req.Id); err != nil {
		return nil, err
	}
	return &userspb.DeleteInboxMessageResponse{}, nil
}

// DeleteSentboxMessage deletes a message of the caller's sentbox.
func (s *usersService) DeleteSentboxMessage(ctx context.Context, req *userspb.DeleteSentboxMessageRequest) (*userspb.DeleteSentboxMessageResponse, error) {
	if err := s.deleteMessage(ctx, sentboxCollection, req.Id); err != nil {
		return nil, err
	}
	return &userspb.DeleteSentboxMessageResponse{}, nil
}

// deleteMessage deletes the caller's copy of a message; an ID with no message is
// NotFound (go-threads' Delete, and so the Hub, answered nothing at all).
func (s *usersService) deleteMessage(ctx context.Context, collection, id string) error {
	identity, tok, err := mailCaller(ctx)
	if err != nil {
		return err
	}
	box, err := s.ownBox(ctx, identity, collection)
	if err != nil {
		return err
	}
	var count *inboxCount
	if collection == inboxCollection {
		// Deletions and deliveries of one inbox take turns, so that its count holds.
		count = s.mail.inbox(box)
		count.mu.Lock()
		defer count.mu.Unlock()
	}
	if _, err := s.findMessage(ctx, box, collection, id); err != nil {
		return err
	}
	if _, err := s.node.ThreadsService().Delete(inProcess(ctx, tok), &pb.DeleteRequest{DbID: box.Bytes(), CollectionName: collection, InstanceIDs: []string{id}}); err != nil {
		return err
	}
	if count != nil && count.known && count.n > 0 {
		count.n--
	}
	return nil
}

// GetUsage answers as a Hub without billing: textile's service returns a plain error,
// which gRPC sends as Unknown.
func (s *usersService) GetUsage(context.Context, *userspb.GetUsageRequest) (*userspb.GetUsageResponse, error) {
	return nil, status.Error(codes.Unknown, "billing is not enabled")
}
