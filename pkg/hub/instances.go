package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	pb "github.com/textileio/go-threads/api/pb"
	coredb "github.com/textileio/go-threads/core/db"
	"github.com/textileio/go-threads/core/thread"
	"github.com/textileio/go-threads/db"
	"github.com/tidwall/gjson"
	"github.com/xeipuuv/gojsonschema"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/instanceid"
	"github.com/hubctl/hubctl/pkg/query"
	"github.com/hubctl/hubctl/pkg/schema"
)

// ErrRefused is an instance the server refused for what it holds: a schema violation, an
// _id that exists already, a unique index or the write validator. Retrying the same
// instance cannot succeed.
var ErrRefused = errors.New("instance refused")

// The messages go-threads sends (as plain errors, gRPC code Unknown) when it refuses an
// instance for its content.
var refusalMessages = []string{
	"instance doesn't correspond to schema",
	"can't create already existing instance",
	"cant't create already existent instance", // sic: go-threads' jsonpatcher, for a duplicate within one call
	"unique constraint violation",
	"invalid instance: missing _id attribute",
	"unmarshaling json instance",
	"value not indexable",
	"app denied net record body", // the write validator said no
	"running write validator func",
}

// ErrTooLarge is a call the server cannot take whole: too many instances for one of its
// store's transactions, or a message over its size limit. Nothing was written; fewer
// instances per call will do (one instance alone may still be too large).
var ErrTooLarge = errors.New("too large for one call")

// The messages of ErrTooLarge: badger's ErrTxnTooBig, and gRPC's message size limits.
var tooLargeMessages = []string{
	"Txn is too big to fit into one request",
	"message larger than max",
}

const (
	msgInstanceNotFound = "instance not found"
	// idFieldPath is the instance ID in queries and sorts.
	idFieldPath = idField
)

// CreateInstances creates instances in one Create call (one transaction: all or none) and
// returns their IDs in order. An instance without an _id, or with an empty one, gets one
// from the server.
func (c *Client) CreateInstances(ctx context.Context, db thread.ID, collection string, docs [][]byte) ([]string, error) {
	var rep *pb.CreateReply
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err = api.Create(ctx, &pb.CreateRequest{DbID: db.Bytes(), CollectionName: collection, Instances: docs})
		return err
	})
	if err != nil {
		return nil, instanceErr(err, db, collection, "")
	}
	if len(rep.InstanceIDs) != len(docs) {
		return nil, fmt.Errorf("the server returned %d IDs for %d instances", len(rep.InstanceIDs), len(docs))
	}
	return rep.InstanceIDs, nil
}

// SaveInstances saves instances in one Save call (one transaction). Each must hold its
// _id; one that does not exist yet is created (ThreadDB's Save is an upsert).
func (c *Client) SaveInstances(ctx context.Context, db thread.ID, collection string, docs [][]byte) error {
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
		_, err := api.Save(ctx, &pb.SaveRequest{DbID: db.Bytes(), CollectionName: collection, Instances: docs})
		return err
	})
	return instanceErr(err, db, collection, "")
}

// DeleteInstances deletes instances by ID. Every ID must exist: otherwise it deletes
// nothing and returns ErrNotFound naming the missing ones. (go-threads' Delete stops
// silently at the first ID it does not find and drops the rest, so it is checked first.)
func (c *Client) DeleteInstances(ctx context.Context, db thread.ID, collection string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := checkIDs(ids); err != nil {
		return err
	}
	missing, err := c.missingInstances(ctx, db, collection, ids)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return notFoundInstances(collection, missing)
	}
	err = c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
		_, err := api.Delete(ctx, &pb.DeleteRequest{DbID: db.Bytes(), CollectionName: collection, InstanceIDs: ids})
		return err
	})
	return instanceErr(err, db, collection, "")
}

// HasInstances reports whether every one of ids exists (and is readable by the caller).
func (c *Client) HasInstances(ctx context.Context, db thread.ID, collection string, ids []string) (bool, error) {
	if err := checkIDs(ids); err != nil {
		return false, err
	}
	var rep *pb.HasReply
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err = api.Has(ctx, &pb.HasRequest{DbID: db.Bytes(), CollectionName: collection, InstanceIDs: ids})
		return err
	})
	if err != nil {
		return false, instanceErr(err, db, collection, "")
	}
	return rep.Exists, nil
}

// missingInstances returns the IDs among ids that do not exist: one Has call when all do,
// one per ID otherwise.
func (c *Client) missingInstances(ctx context.Context, db thread.ID, collection string, ids []string) ([]string, error) {
	all, err := c.HasInstances(ctx, db, collection, ids)
	if err != nil || all {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		ok, err := c.HasInstances(ctx, db, collection, []string{id})
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

func notFoundInstances(collection string, ids []string) error {
	if len(ids) == 1 {
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("instance %s does not exist in collection %s", ids[0], collection)}
	}
	return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("%d instances do not exist in collection %s: %s", len(ids), collection, strings.Join(ids, ", "))}
}

// GetInstance returns one instance; one that does not exist is ErrNotFound.
func (c *Client) GetInstance(ctx context.Context, db thread.ID, collection, id string) ([]byte, error) {
	if err := checkIDs([]string{id}); err != nil {
		return nil, err
	}
	var rep *pb.FindByIDReply
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err = api.FindByID(ctx, &pb.FindByIDRequest{DbID: db.Bytes(), CollectionName: collection, InstanceID: id})
		return err
	})
	if err != nil {
		return nil, instanceErr(err, db, collection, id)
	}
	return rep.Instance, nil
}

// FindInstances returns the instances that match query, a ThreadDB query in its JSON form
// (db.Query marshalled: ands, ors, sort, seek, limit, skip, index); nil returns them all,
// in _id order. See EachInstance for how the query is run.
func (c *Client) FindInstances(ctx context.Context, db thread.ID, collection string, query []byte) ([][]byte, error) {
	out := [][]byte{}
	err := c.EachInstance(ctx, db, collection, query, func(doc []byte) error {
		out = append(out, doc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// findPageSize is how many instances one Find call asks for while paging a plain
// go-threads server; a page too large for a gRPC message is asked for again in halves.
const findPageSize = 1000

// MethodFindInstances is hubctl's servers' streaming Find (pkg/server find.go).
const MethodFindInstances = "/hubctl.v1.Store/FindInstances"

// EachInstance calls fn with each instance that matches query (as FindInstances), in
// order.
//
// hubctl's servers answer the query themselves (MethodFindInstances): correctly, through
// indexes, in pages, so the answer streams through here one page at a time. A server
// without that call (plain go-threads answers Unimplemented) is paged through in _id
// order, and the query is evaluated here with the same meaning (pkg/query), because
// go-threads v1.1.5's own Find loses instances and panics (see pkg/query). Without a
// sort on a field other than _id that also holds one page at a time; a sort needs every
// match first.
func (c *Client) EachInstance(ctx context.Context, dbID thread.ID, collection string, rawQuery []byte, fn func(doc []byte) error) error {
	q, err := ParseQuery(rawQuery)
	if err != nil {
		return err
	}
	if !c.plainFind.Load() {
		raw, err := json.Marshal(q)
		if err != nil {
			return fmt.Errorf("encode query: %w", err)
		}
		s, err := c.openPageStream(ctx, MethodFindInstances, &pb.FindRequest{DbID: dbID.Bytes(), CollectionName: collection, QueryJSON: raw}, collection)
		switch {
		case err == nil:
			return c.eachPage(ctx, s, dbID, collection, fn)
		case unsupported(err):
			c.plainFind.Store(true)
		default:
			return c.exportErr(ctx, err, dbID, collection)
		}
	}
	return c.findHere(ctx, dbID, collection, q, fn)
}

// eachPage calls fn with each instance of an open page stream, to its end.
func (c *Client) eachPage(ctx context.Context, s *exportStream, dbID thread.ID, collection string, fn func(doc []byte) error) error {
	defer s.close()
	for {
		for _, doc := range s.page {
			if err := fn(doc); err != nil {
				return err
			}
		}
		s.page = nil
		if s.err != nil {
			break
		}
		s.recv()
	}
	if errors.Is(s.err, io.EOF) {
		return nil
	}
	return c.exportErr(ctx, s.err, dbID, collection)
}

// findHere evaluates q on pages of a plain go-threads server's instances in _id order.
func (c *Client) findHere(ctx context.Context, dbID thread.ID, collection string, q *db.Query, fn func(doc []byte) error) error {
	if query.SortsByID(q) && !q.Sort.Desc {
		// Stream: filter, skip and limit page by page.
		skipped, sent := 0, 0
		return c.scan(ctx, dbID, collection, string(q.Seek), func(id string, doc []byte) (bool, error) {
			if query.Filtered(q) && !query.Match(q, doc) {
				return true, nil
			}
			if skipped < q.Skip {
				skipped++
				return true, nil
			}
			if err := fn(doc); err != nil {
				return false, err
			}
			sent++
			return q.Limit <= 0 || sent < q.Limit, nil
		})
	}
	// A sort needs every match first.
	type match struct {
		doc []byte
		key query.SortKey
	}
	var matches []match
	byID := query.SortsByID(q)
	err := c.scan(ctx, dbID, collection, string(q.Seek), func(id string, doc []byte) (bool, error) {
		if query.Filtered(q) && !query.Match(q, doc) {
			return true, nil
		}
		m := match{doc: doc}
		if byID {
			m.key = query.SortKey{Value: id, Has: true}
		} else {
			m.key = query.KeyOf(doc, q.Sort.FieldPath)
		}
		matches = append(matches, m)
		return true, nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(matches, func(i, j int) bool { return query.Less(matches[i].key, matches[j].key, q.Sort.Desc) })
	if q.Skip >= len(matches) {
		return nil
	}
	matches = matches[q.Skip:]
	if q.Limit > 0 && q.Limit < len(matches) {
		matches = matches[:q.Limit]
	}
	for _, m := range matches {
		if err := fn(m.doc); err != nil {
			return err
		}
	}
	return nil
}

// scan pages through a collection in _id order from seek, calling fn with each instance
// until fn says stop.
func (c *Client) scan(ctx context.Context, dbID thread.ID, collection, seek string, fn func(id string, doc []byte) (bool, error)) error {
	size := findPageSize
	after := "" // the last ID seen: Seek includes it, so it is dropped from the next page
	for {
		q := db.Query{Sort: db.Sort{FieldPath: idFieldPath}, Seek: coredb.InstanceID(seek), Limit: size}
		if after != "" {
			q.Limit++
		}
		raw, err := json.Marshal(q)
		if err != nil {
			return fmt.Errorf("encode query: %w", err)
		}
		var rep *pb.FindReply
		tooBig := false
		err = c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
			rep, err = api.Find(ctx, &pb.FindRequest{DbID: dbID.Bytes(), CollectionName: collection, QueryJSON: raw})
			tooBig = status.Code(err) == codes.ResourceExhausted
			return err
		})
		if tooBig && size > 1 {
			size /= 2
			continue
		}
		if err != nil {
			return instanceErr(err, dbID, collection, "")
		}
		page := rep.Instances
		full := len(page) == q.Limit
		for _, doc := range page {
			id := gjson.GetBytes(doc, idFieldPath).String()
			if after != "" && id == after {
				continue
			}
			more, err := fn(id, doc)
			if err != nil || !more {
				return err
			}
			seek = id
		}
		if !full || len(page) == 0 {
			return nil
		}
		after = seek
	}
}

// ParseQuery reads a ThreadDB query in its JSON form and checks it (pkg/query), so that
// a malformed query is refused (ErrInvalidArg) before any call. Empty input is the query
// for all.
func ParseQuery(raw []byte) (*db.Query, error) {
	q, err := query.Parse(raw)
	if err != nil {
		return nil, argErrorf("%v", err)
	}
	return q, nil
}

// instanceErr names the database, collection or instance in go-threads' bare "not found"
// messages, and classes refusals of an instance's content as ErrRefused.
func instanceErr(err error, dbID thread.ID, collection, id string) error {
	if err == nil {
		return nil
	}
	var ue *UnreachableError
	if errors.As(err, &ue) || errors.Is(err, ErrAuth) || errors.Is(err, ErrInvalidArg) || errors.Is(err, context.Canceled) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, msgCollectionNotFoundText):
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("collection %s does not exist in database %s", collection, dbID),
			Hint: fmt.Sprintf("see hubctl collection list %s", dbID)}
	case strings.Contains(msg, msgThreadNotFound), strings.Contains(msg, msgDBNotFound):
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("database %s does not exist", dbID), Hint: "see hubctl db list"}
	case strings.Contains(msg, msgInstanceNotFound):
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("instance %s does not exist in collection %s", id, collection)}
	}
	for _, m := range tooLargeMessages {
		if strings.Contains(msg, m) {
			return &ServerError{Class: ErrTooLarge, Msg: "too large for the server in one call: " + strings.TrimPrefix(msg, "server error: ")}
		}
	}
	for _, m := range refusalMessages {
		if strings.Contains(msg, m) {
			return &ServerError{Class: ErrRefused, Msg: "the server refused the instance: " + strings.TrimPrefix(msg, "server error: ")}
		}
	}
	return err
}

// msgCollectionNotFoundText is go-threads' db.ErrCollectionNotFound.
const msgCollectionNotFoundText = "collection not found"

// InstanceValidator checks instances against a collection's schema as the server does
// before it writes them, for `instance create --dry-run`.
type InstanceValidator struct {
	schema *gojsonschema.Schema
}

// NewInstanceValidator compiles a collection's schema (as GetCollection returns it).
func NewInstanceValidator(raw []byte) (*InstanceValidator, error) {
	// schema.Compile applies the server's reference rule first (a cycle would overflow
	// this process's stack, a remote $ref would be fetched) and loads nothing but raw.
	s, err := schema.Compile(raw)
	if err != nil {
		return nil, fmt.Errorf("the collection's schema cannot be checked: %w; replace it with hubctl collection update DB NAME --schema FILE", err)
	}
	return &InstanceValidator{schema: s}, nil
}

// placeholderID stands in for the _id the server gives an instance created without one,
// which it does before checking the schema.
const placeholderID = "01hubctldryrun0000000000000"

// Validate checks doc, a JSON object. For a create, a missing or empty _id is filled in
// first, as the server does; a save must name its _id. A violation is ErrRefused with
// the message the server would give.
func (v *InstanceValidator) Validate(doc []byte, create bool) error {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return &ServerError{Class: ErrRefused, Msg: fmt.Sprintf("the instance is not a JSON object: %v", err)}
	}
	id, has := m[idField]
	if create && (!has || id == nil || id == "") {
		m[idField] = placeholderID
	}
	res, err := v.schema.Validate(gojsonschema.NewGoLoader(m))
	if err != nil {
		return fmt.Errorf("validate against the schema: %w", err)
	}
	if res.Valid() {
		return nil
	}
	var parts []string
	for _, e := range res.Errors() {
		parts = append(parts, e.Field()+": "+e.Description())
	}
	return &ServerError{Class: ErrRefused, Msg: "instance doesn't correspond to schema: " + strings.Join(parts, "; ")}
}

// checkIDs refuses, before any call, instance IDs that break the rule servers apply.
func checkIDs(ids []string) error {
	for _, id := range ids {
		if err := instanceid.Check(id); err != nil {
			return argErrorf("%v: %s", err, instanceid.Rule)
		}
	}
	return nil
}
