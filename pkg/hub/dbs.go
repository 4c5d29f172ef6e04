package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/libp2p/go-libp2p-core/crypto"
	ma "github.com/multiformats/go-multiaddr"
	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// ErrInvalidArg is an argument hubctl refuses before any call: a malformed thread ID,
// address, key or name.
var ErrInvalidArg = errors.New("invalid argument")

// argError is an ErrInvalidArg whose message stands on its own.
type argError struct{ msg string }

func (e *argError) Error() string        { return e.msg }
func (e *argError) Is(target error) bool { return target == ErrInvalidArg }

func argErrorf(format string, args ...any) error {
	return &argError{msg: fmt.Sprintf(format, args...)}
}

// getToken runs the GetToken handshake: send the public key, sign the server's challenge,
// receive the token.
func getToken(ctx context.Context, api pb.APIClient, sk crypto.PrivKey) (thread.Token, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream on every path
	stream, err := api.GetToken(ctx)
	if err != nil {
		return "", err
	}
	id := thread.NewLibp2pIdentity(sk)
	if err := stream.Send(&pb.GetTokenRequest{Payload: &pb.GetTokenRequest_Key{Key: id.GetPublic().String()}}); err != nil {
		return "", streamErr(stream, err)
	}
	rep, err := stream.Recv()
	if err != nil {
		return "", err
	}
	challenge, ok := rep.Payload.(*pb.GetTokenReply_Challenge)
	if !ok {
		return "", errors.New("the server sent no token challenge")
	}
	sig, err := id.Sign(ctx, challenge.Challenge)
	if err != nil {
		return "", fmt.Errorf("sign the token challenge: %w", err)
	}
	if err := stream.Send(&pb.GetTokenRequest{Payload: &pb.GetTokenRequest_Signature{Signature: sig}}); err != nil {
		return "", streamErr(stream, err)
	}
	rep, err = stream.Recv()
	if err != nil {
		return "", err
	}
	tok, ok := rep.Payload.(*pb.GetTokenReply_Token)
	if !ok {
		return "", errors.New("the server sent no token")
	}
	return thread.Token(tok.Token), nil
}

// streamErr turns io.EOF from Send into the server's real status.
func streamErr(stream pb.API_GetTokenClient, err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := stream.Recv(); rerr != nil {
			return rerr
		}
	}
	return err
}

// DB is a database as the server describes it.
type DB struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Addrs []string `json:"addrs"`
	// PeerAddrs are the addresses of other peers that keep the database (writers that
	// joined it, replicators), where hubctl's servers report them.
	PeerAddrs []string `json:"peerAddrs,omitempty"`
	// Key is the thread key; it grants access to the data, so it is filled in only on request.
	Key string `json:"key,omitempty"`
	// Broken, from hubctl's servers, says why the database failed to load; it is served
	// only to be repaired (RepairDB) or deleted.
	Broken string `json:"broken,omitempty"`
}

// HeaderBrokenDBs, from hubctl's servers on ListDBs and GetDBInfo, lists the databases of
// the answer that failed to load (JSON: id, name, collection, error).
const HeaderBrokenDBs = "hubctl-broken-dbs-bin"

// MethodRepairDB is hubctl's own call that mends a database that failed to load.
const MethodRepairDB = "/hubctl.v1.Store/RepairDB"

// brokenDBs reads HeaderBrokenDBs: the reason each broken database failed, by ID.
func brokenDBs(md metadata.MD) map[string]string {
	out := map[string]string{}
	for _, v := range md.Get(HeaderBrokenDBs) {
		var list []struct {
			ID         string `json:"id"`
			Collection string `json:"collection"`
			Error      string `json:"error"`
		}
		if json.Unmarshal([]byte(v), &list) != nil {
			continue
		}
		for _, b := range list {
			why := b.Error
			if b.Collection != "" {
				why = "collection " + b.Collection + ": " + why
			}
			out[b.ID] = why
		}
	}
	return out
}

// RepairDB mends a database that failed to load by removing the definitions of its
// collections that fail to load (an operator's call: an account key, or the embedded
// node). It returns those collections; their instances stay, and come back when the
// collection is created again with its schema.
func (c *Client) RepairDB(ctx context.Context, id thread.ID) ([]string, error) {
	reply := &pb.ListCollectionsReply{}
	err := c.Call(ctx, func(ctx context.Context, _ pb.APIClient) error {
		conn, err := c.Conn(ctx)
		if err != nil {
			return err
		}
		return conn.Invoke(ctx, MethodRepairDB, &pb.GetDBInfoRequest{DbID: id.Bytes()}, reply)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("database %s does not exist", id)}
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, col := range reply.Collections {
		removed = append(removed, col.Name)
	}
	return removed, nil
}

// nameRx is go-threads' rule for DB and collection names.
var nameRx = regexp.MustCompile(`^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$`)

// ValidateName checks a DB name before any call.
func ValidateName(name string) error {
	if !nameRx.MatchString(name) {
		return argErrorf("invalid name %q: use letters, digits and single hyphens, not at either end", name)
	}
	return nil
}

// ParseID parses a thread ID, which must be written as go-threads writes it (multibase
// base32, lowercase). Decoding alone is not enough: base32 drops the unused low bits of
// the last character, so "...zzz" decodes to the ID that prints as "...zzy", and every
// message about it would name an ID the user never typed; multibase also reads other
// bases. Only the one spelling of each ID is accepted.
func ParseID(s string) (thread.ID, error) {
	typed := strings.TrimSpace(s)
	id, err := thread.Decode(typed)
	if err == nil {
		err = id.Validate()
	}
	if err != nil {
		return thread.Undef, argErrorf("invalid thread ID %q: %v", s, err)
	}
	if canon := id.String(); canon != typed {
		why := "its last character carries bits no thread ID has"
		if !strings.HasPrefix(typed, "b") || len(typed) != len(canon) {
			why = "thread IDs are written in lowercase base32 without padding, starting with b"
		}
		return thread.Undef, argErrorf("invalid thread ID %q: it is not a valid thread ID (%s); copy the ID as hubctl db list prints it", s, why)
	}
	return id, nil
}

// looksLikeID reports whether s was meant as a thread ID rather than a name: thread IDs are
// long multibase strings, names are short words.
func looksLikeID(s string) bool {
	return len(s) >= 40 && !strings.Contains(s, "-")
}

// ParseAddr parses a thread address (a multiaddr ending in /thread/ID) and returns the ID
// it names.
func ParseAddr(s string) (ma.Multiaddr, thread.ID, error) {
	addr, err := ma.NewMultiaddr(strings.TrimSpace(s))
	if err != nil {
		return nil, thread.Undef, argErrorf("invalid thread address %q: %v", s, err)
	}
	// The ID is the address's last component, and the multiaddr parser has decoded and
	// re-encoded it: check the ID as it was typed.
	if _, last := ma.SplitLast(addr); last == nil || last.Protocol().Code != thread.Code {
		return nil, thread.Undef, argErrorf("invalid thread address %q: it must end in /thread/ID", s)
	}
	typed := strings.TrimRight(strings.TrimSpace(s), "/")
	id, err := ParseID(typed[strings.LastIndex(typed, "/")+1:])
	if err != nil {
		return nil, thread.Undef, err
	}
	return addr, id, nil
}

// ParseKey parses a thread key (as `db info --show-key` prints it).
func ParseKey(s string) (thread.Key, error) {
	k, err := thread.KeyFromString(strings.TrimSpace(s))
	if err != nil {
		// Never echo the key: it is a secret even when malformed.
		return thread.Key{}, argErrorf("invalid thread key: %v", err)
	}
	return k, nil
}

// NewDB creates a database.
func (c *Client) NewDB(ctx context.Context, id thread.ID, name string) error {
	return c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
		_, err := api.NewDB(ctx, &pb.NewDBRequest{DbID: id.Bytes(), Name: name})
		return err
	})
}

// ErrExists is a database that is already there.
var ErrExists = errors.New("already exists")

// JoinDB creates a database from a thread address and key (NewDBFromAddr), with the given
// collections: go-threads does not replicate collections, and refuses records of a
// collection the joining peer does not have. The server pulls the records in the
// background (see Pull). When the DB is already there it returns ErrExists.
func (c *Client) JoinDB(ctx context.Context, addr ma.Multiaddr, key thread.Key, name string, cols []Collection) error {
	cfgs := make([]*pb.CollectionConfig, 0, len(cols))
	for _, col := range cols {
		cfg, err := collectionToPb(col)
		if err != nil {
			return err
		}
		cfgs = append(cfgs, cfg)
	}
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
		_, err := api.NewDBFromAddr(ctx, &pb.NewDBFromAddrRequest{Addr: addr.Bytes(), Key: key.Bytes(), Name: name, Collections: cfgs})
		return err
	})
	if err != nil && !errors.Is(err, ErrNameTaken) && strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("%w: %v", ErrExists, err)
	}
	return err
}

// ListDBs lists the databases, sorted by name then ID.
func (c *Client) ListDBs(ctx context.Context, withKeys bool) ([]DB, error) {
	var rep *pb.ListDBsReply
	var md metadata.MD
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err = api.ListDBs(ctx, &pb.ListDBsRequest{}, grpc.Header(&md))
		return err
	})
	if err != nil {
		return nil, err
	}
	broken := brokenDBs(md)
	dbs := make([]DB, 0, len(rep.Dbs))
	for _, d := range rep.Dbs {
		id, err := thread.Cast(d.DbID)
		if err != nil {
			return nil, fmt.Errorf("the server sent a bad thread ID: %w", err)
		}
		db, err := dbFromPb(id, d.Info, withKeys)
		if err != nil {
			return nil, err
		}
		db.Broken = broken[db.ID]
		dbs = append(dbs, db)
	}
	sort.Slice(dbs, func(i, j int) bool {
		if dbs[i].Name != dbs[j].Name {
			return dbs[i].Name < dbs[j].Name
		}
		return dbs[i].ID < dbs[j].ID
	})
	return dbs, nil
}

// GetDB describes one database.
func (c *Client) GetDB(ctx context.Context, id thread.ID, withKey bool) (DB, error) {
	var rep *pb.GetDBInfoReply
	var md metadata.MD
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err = api.GetDBInfo(ctx, &pb.GetDBInfoRequest{DbID: id.Bytes()}, grpc.Header(&md))
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return DB{}, &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("database %s does not exist", id)}
	}
	if err != nil {
		return DB{}, err
	}
	db, err := dbFromPb(id, rep, withKey)
	if err != nil {
		return DB{}, err
	}
	db.Broken = brokenDBs(md)[db.ID]
	if v := md.Get(headerPeerAddrs); len(v) > 0 {
		for _, a := range splitAddrs(v[0]) {
			db.PeerAddrs = append(db.PeerAddrs, a+"/thread/"+id.String())
		}
	}
	return db, nil
}

// DeleteDB deletes a database.
func (c *Client) DeleteDB(ctx context.Context, id thread.ID) error {
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
		_, err := api.DeleteDB(ctx, &pb.DeleteDBRequest{DbID: id.Bytes()})
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("database %s does not exist", id)}
	}
	return err
}

func dbFromPb(id thread.ID, info *pb.GetDBInfoReply, withKey bool) (DB, error) {
	db := DB{ID: id.String(), Addrs: []string{}}
	if info == nil {
		return db, nil
	}
	db.Name = info.Name
	for _, b := range info.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return DB{}, fmt.Errorf("the server sent a bad address for %s: %w", id, err)
		}
		db.Addrs = append(db.Addrs, a.String())
	}
	if withKey && len(info.Key) > 0 {
		k, err := thread.KeyFromBytes(info.Key)
		if err != nil {
			return DB{}, fmt.Errorf("the server sent a bad key for %s: %w", id, err)
		}
		db.Key = k.String()
	}
	return db, nil
}

// ResolveDB turns a command-line reference into a thread ID: an ID as is; otherwise a name,
// looked up among the databases (it must be unique). A string meant as an ID but malformed
// is refused before any call.
func (c *Client) ResolveDB(ctx context.Context, ref string) (thread.ID, error) {
	ref = strings.TrimSpace(ref)
	if id, err := ParseID(ref); err == nil {
		return id, nil
	} else if looksLikeID(ref) || !nameRx.MatchString(ref) {
		return thread.Undef, err
	}
	dbs, err := c.ListDBs(ctx, false)
	if err != nil {
		return thread.Undef, err
	}
	var ids []string
	for _, d := range dbs {
		if d.Name == ref {
			ids = append(ids, d.ID)
		}
	}
	switch len(ids) {
	case 0:
		return thread.Undef, &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("no database named %q", ref), Hint: "see hubctl db list"}
	case 1:
		return thread.Decode(ids[0])
	default:
		return thread.Undef, argErrorf("%d databases are named %q (%s): use an ID", len(ids), ref, strings.Join(ids, ", "))
	}
}
