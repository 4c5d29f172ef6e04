package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// findPageSize is how many instances one Find call asks for while paging; a page too
// large for a gRPC message is asked for again in halves.
const findPageSize = 1000

// EachInstance calls fn with each instance that matches query (as FindInstances), in
// order. Without a sort on a field other than _id it holds one page of instances at a
// time, so a collection of any size streams through it.
//
// The query is evaluated here, on pages the server returns in _id order, and not by the
// server, because go-threads v1.1.5's Find loses instances and worse: a criterion on a
// field that an instance lacks, or holds with another type, ends its scan at that
// instance and returns what it found so far as if that were all; it applies limit and
// skip before sorting, so `sort by age, limit 10` are ten instances in _id order, then
// sorted; a sort over values of mixed types panics the server; an unknown operation
// panics it too. Here the criteria follow ThreadDB's meaning (a dotted field path, the
// value a string, a number or a boolean, and-ed criteria, or-ed alternatives that count
// only when the criteria fail), an instance lacking the field or holding another type
// simply does not match, and sort, skip and limit apply in that order. Seek starts the
// scan at an _id; index, a hint, is not needed.
func (c *Client) EachInstance(ctx context.Context, dbID thread.ID, collection string, query []byte, fn func(doc []byte) error) error {
	q, err := ParseQuery(query)
	if err != nil {
		return err
	}
	sortField := q.Sort.FieldPath
	byID := sortField == "" || sortField == idFieldPath
	if byID && !q.Sort.Desc {
		// Stream: filter, skip and limit page by page.
		skipped, sent := 0, 0
		return c.scan(ctx, dbID, collection, string(q.Seek), func(id string, doc []byte) (bool, error) {
			if filtered(q) && !matchDoc(q, doc) {
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
		key any
		ok  bool
	}
	var matches []match
	err = c.scan(ctx, dbID, collection, string(q.Seek), func(id string, doc []byte) (bool, error) {
		if filtered(q) && !matchDoc(q, doc) {
			return true, nil
		}
		m := match{doc: doc}
		if byID {
			m.key, m.ok = id, true
		} else {
			m.key, m.ok = fieldOf(doc, sortField)
		}
		matches = append(matches, m)
		return true, nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(matches, func(i, j int) bool {
		a, b := matches[i], matches[j]
		if !a.ok || !b.ok {
			return a.ok && !b.ok // instances without the field go last, either way
		}
		r := compareValues(a.key, b.key)
		if q.Sort.Desc {
			r = -r
		}
		return r < 0
	})
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

// ParseQuery reads a ThreadDB query in its JSON form and checks it, so that a malformed
// query is refused (ErrInvalidArg) before any call. Empty input is the query for all.
func ParseQuery(raw []byte) (*db.Query, error) {
	q := &db.Query{}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return q, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(q); err != nil {
		return nil, argErrorf("invalid query: %v; a query is ThreadDB's JSON form: {\"ands\":[{\"fieldPath\":\"age\",\"operation\":2,\"value\":{\"float\":30}}],\"sort\":{\"fieldPath\":\"name\",\"desc\":false},\"limit\":10,\"skip\":0}", jsonErr(err))
	}
	if dec.More() {
		return nil, argErrorf("invalid query: more than one JSON value")
	}
	if err := checkQuery(q, ""); err != nil {
		return nil, err
	}
	if q.Limit < 0 || q.Skip < 0 {
		return nil, argErrorf("invalid query: limit and skip must not be negative")
	}
	return q, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Operation names, in go-threads' order (db.Eq = 0 ... db.Le = 5).
var operationNames = []string{"eq", "ne", "gt", "lt", "ge", "le"}

func checkQuery(q *db.Query, at string) error {
	if q == nil {
		return argErrorf("invalid query: %s is null", strings.TrimSuffix(at, "."))
	}
	for i, c := range q.Ands {
		where := fmt.Sprintf("%sands[%d]", at, i)
		if c == nil {
			return argErrorf("invalid query: %s is null", where)
		}
		if c.FieldPath == "" {
			return argErrorf("invalid query: %s has no fieldPath", where)
		}
		if c.Operation < 0 || int(c.Operation) >= len(operationNames) {
			return argErrorf("invalid query: %s: operation %d is not one of 0 (eq), 1 (ne), 2 (gt), 3 (lt), 4 (ge), 5 (le)", where, c.Operation)
		}
		n := 0
		for _, set := range []bool{c.Value.String != nil, c.Value.Bool != nil, c.Value.Float != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return argErrorf("invalid query: %s: the value must have exactly one of string, bool or float", where)
		}
	}
	for i, o := range q.Ors {
		if err := checkQuery(o, fmt.Sprintf("%sors[%d].", at, i)); err != nil {
			return err
		}
	}
	return nil
}

// filtered reports whether q has criteria at all.
func filtered(q *db.Query) bool { return len(q.Ands) > 0 || len(q.Ors) > 0 }

// matchDoc reports whether doc satisfies q, as ThreadDB means it (see EachInstance).
func matchDoc(q *db.Query, doc []byte) bool {
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		return false
	}
	return matchQuery(q, v)
}

func matchQuery(q *db.Query, v map[string]any) bool {
	// With no criteria of its own but alternatives, a query is the alternatives (go-threads
	// would match everything there, ignoring them).
	all := len(q.Ands) > 0 || len(q.Ors) == 0
	for _, c := range q.Ands {
		if !matchCriterion(c, v) {
			all = false
			break
		}
	}
	if all {
		return true
	}
	for _, o := range q.Ors {
		if matchQuery(o, v) {
			return true
		}
	}
	return false
}

func matchCriterion(c *db.Criterion, v map[string]any) bool {
	field, ok := lookup(v, c.FieldPath)
	if !ok {
		return false
	}
	var r int
	switch {
	case c.Value.String != nil:
		s, ok := field.(string)
		if !ok {
			return false
		}
		r = strings.Compare(s, *c.Value.String)
	case c.Value.Float != nil:
		f, ok := field.(float64)
		if !ok {
			return false
		}
		r = compareFloat(f, *c.Value.Float)
	case c.Value.Bool != nil:
		b, ok := field.(bool)
		if !ok {
			return false
		}
		r = compareBool(b, *c.Value.Bool)
	default:
		return false
	}
	switch c.Operation {
	case db.Eq:
		return r == 0
	case db.Ne:
		return r != 0
	case db.Gt:
		return r > 0
	case db.Lt:
		return r < 0
	case db.Ge:
		return r >= 0
	case db.Le:
		return r <= 0
	}
	return false
}

// lookup follows a dotted path through nested objects.
func lookup(v map[string]any, path string) (any, bool) {
	var cur any = v
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// fieldOf reads the sort key of an instance.
func fieldOf(doc []byte, path string) (any, bool) {
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, false
	}
	return lookup(v, path)
}

// compareValues orders any two JSON values: by type first (null, booleans, numbers,
// strings, then arrays and objects), then by value.
func compareValues(a, b any) int {
	ra, rb := typeRank(a), typeRank(b)
	if ra != rb {
		return ra - rb
	}
	switch x := a.(type) {
	case bool:
		return compareBool(x, b.(bool))
	case float64:
		return compareFloat(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case nil:
		return 0
	default:
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return bytes.Compare(ja, jb)
	}
}

func typeRank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case float64:
		return 2
	case string:
		return 3
	default:
		return 4
	}
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
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
