package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	pb "github.com/textileio/go-threads/api/pb"
	"github.com/textileio/go-threads/core/thread"
)

// Collection is a collection's configuration as ThreadDB holds it.
//
// Schema is the stored form (go-threads re-encodes what it is given). Indexes leave out
// the unique index on _id that ThreadDB keeps on every collection, and NewCollection and
// UpdateCollection ignore it when given, so a Collection read from one database can be
// created as is in another.
type Collection struct {
	Name           string          `json:"name"`
	Schema         json.RawMessage `json:"schema"`
	Indexes        []Index         `json:"indexes"`
	WriteValidator string          `json:"writeValidator,omitempty"`
	ReadFilter     string          `json:"readFilter,omitempty"`
}

// Index is an index on a property path of a collection's instances.
type Index struct {
	Path   string `json:"path"`
	Unique bool   `json:"unique"`
}

// idField is the instance ID property, indexed (unique) by ThreadDB itself.
const idField = "_id"

// The messages go-threads sends for collections, as plain errors (gRPC code Unknown) or
// NotFound statuses.
const (
	msgCollectionNotFound = "collection not found"
	msgCollectionExists   = "collection already registered"
	msgUniqueDuplicates   = "can't create unique index (duplicate instances exist)"
	msgNotIndexable       = "value not indexable"
	msgNoSchemaPath       = "collection schema does not contain path"
	msgBadIDSchema        = "the collection schema _id property must be a string"
	msgCompileJS          = "compiling js func"
)

// NewCollection creates a collection in the database db. A collection of that name already
// there is ErrExists.
func (c *Client) NewCollection(ctx context.Context, db thread.ID, col Collection) error {
	cfg, err := collectionToPb(col)
	if err != nil {
		return err
	}
	err = c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
		_, err := api.NewCollection(ctx, &pb.NewCollectionRequest{DbID: db.Bytes(), Config: cfg})
		return err
	})
	return collectionErr(err, db, col)
}

// UpdateCollection replaces a collection's configuration with col, whole: fields left
// empty are emptied (read the current one with GetCollection and change what must change).
// Indexes not in col are dropped; instances are not checked against a new schema.
func (c *Client) UpdateCollection(ctx context.Context, db thread.ID, col Collection) error {
	cfg, err := collectionToPb(col)
	if err != nil {
		return err
	}
	err = c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
		_, err := api.UpdateCollection(ctx, &pb.UpdateCollectionRequest{DbID: db.Bytes(), Config: cfg})
		return err
	})
	return collectionErr(err, db, col)
}

// DeleteCollection deletes a collection and its instances.
func (c *Client) DeleteCollection(ctx context.Context, db thread.ID, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) error {
		_, err := api.DeleteCollection(ctx, &pb.DeleteCollectionRequest{DbID: db.Bytes(), Name: name})
		return err
	})
	return collectionErr(err, db, Collection{Name: name})
}

// GetCollection reads a collection's configuration. A collection or database that does
// not exist is ErrNotFound.
func (c *Client) GetCollection(ctx context.Context, db thread.ID, name string) (Collection, error) {
	if err := ValidateName(name); err != nil {
		return Collection{}, err
	}
	var rep *pb.GetCollectionInfoReply
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err = api.GetCollectionInfo(ctx, &pb.GetCollectionInfoRequest{DbID: db.Bytes(), Name: name})
		return err
	})
	if err != nil {
		return Collection{}, collectionErr(err, db, Collection{Name: name})
	}
	return collectionFromPb(rep), nil
}

// ListCollections lists a database's collections, sorted by name.
func (c *Client) ListCollections(ctx context.Context, db thread.ID) ([]Collection, error) {
	var rep *pb.ListCollectionsReply
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err = api.ListCollections(ctx, &pb.ListCollectionsRequest{DbID: db.Bytes()})
		return err
	})
	if err != nil {
		return nil, collectionErr(err, db, Collection{})
	}
	cols := make([]Collection, 0, len(rep.Collections))
	for _, info := range rep.Collections {
		cols = append(cols, collectionFromPb(info))
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].Name < cols[j].Name })
	return cols, nil
}

// CollectionIndexes lists a collection's indexes (without the one on _id), sorted by path.
func (c *Client) CollectionIndexes(ctx context.Context, db thread.ID, name string) ([]Index, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	var rep *pb.GetCollectionIndexesReply
	err := c.Call(ctx, func(ctx context.Context, api pb.APIClient) (err error) {
		rep, err = api.GetCollectionIndexes(ctx, &pb.GetCollectionIndexesRequest{DbID: db.Bytes(), Name: name})
		return err
	})
	if err != nil {
		return nil, collectionErr(err, db, Collection{Name: name})
	}
	return indexesFromPb(rep.Indexes), nil
}

func collectionToPb(col Collection) (*pb.CollectionConfig, error) {
	if err := ValidateName(col.Name); err != nil {
		return nil, err
	}
	if len(col.Schema) == 0 || !json.Valid(col.Schema) {
		return nil, argErrorf("collection %s: the schema is not JSON", col.Name)
	}
	cfg := &pb.CollectionConfig{
		Name:           col.Name,
		Schema:         col.Schema,
		WriteValidator: col.WriteValidator,
		ReadFilter:     col.ReadFilter,
	}
	for _, ix := range col.Indexes {
		if ix.Path == idField && ix.Unique {
			continue // ThreadDB's own; it refuses to be given it
		}
		cfg.Indexes = append(cfg.Indexes, &pb.Index{Path: ix.Path, Unique: ix.Unique})
	}
	return cfg, nil
}

func collectionFromPb(info *pb.GetCollectionInfoReply) Collection {
	return Collection{
		Name:           info.Name,
		Schema:         json.RawMessage(info.Schema),
		Indexes:        indexesFromPb(info.Indexes),
		WriteValidator: info.WriteValidator,
		ReadFilter:     info.ReadFilter,
	}
}

func indexesFromPb(in []*pb.Index) []Index {
	out := make([]Index, 0, len(in))
	for _, ix := range in {
		if ix.Path == idField {
			continue
		}
		out = append(out, Index{Path: ix.Path, Unique: ix.Unique})
	}
	// go-threads keeps indexes in a map: sort for stable output.
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// collectionErr turns go-threads' collection errors into messages that name the database
// and the collection, and classes callers map to exit codes.
func collectionErr(err error, db thread.ID, col Collection) error {
	if err == nil {
		return nil
	}
	var ue *UnreachableError
	if errors.As(err, &ue) || errors.Is(err, ErrAuth) || errors.Is(err, ErrInvalidArg) || errors.Is(err, context.Canceled) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, msgCollectionNotFound):
		return &ServerError{Class: ErrNotFound,
			Msg:  fmt.Sprintf("collection %s does not exist in database %s", col.Name, db),
			Hint: fmt.Sprintf("see hubctl collection list %s", db)}
	case errors.Is(err, ErrNotFound):
		// The DB itself: go-threads says "thread not found" or "db not found".
		return &ServerError{Class: ErrNotFound, Msg: fmt.Sprintf("database %s does not exist", db), Hint: "see hubctl db list"}
	case strings.Contains(msg, msgCollectionExists):
		return &ServerError{Class: ErrExists, Msg: fmt.Sprintf("collection %s already exists in database %s", col.Name, db),
			Hint: "change it with hubctl collection update"}
	case strings.Contains(msg, msgUniqueDuplicates):
		var unique []string
		for _, ix := range col.Indexes {
			if ix.Unique && ix.Path != idField {
				unique = append(unique, ix.Path)
			}
		}
		return &ServerError{Msg: fmt.Sprintf("cannot make the index unique: instances of collection %s share a value at %s", col.Name, strings.Join(unique, " or ")),
			Hint: "make the values distinct, or drop :unique"}
	case strings.Contains(msg, msgNotIndexable), strings.Contains(msg, msgNoSchemaPath), strings.Contains(msg, msgBadIDSchema),
		strings.Contains(msg, msgCompileJS):
		// hubctl checks these before the call; a library caller that did not gets the
		// server's words, as a bad argument.
		return argErrorf("collection %s refused by the server: %s", col.Name, strings.TrimPrefix(msg, "server error: "))
	default:
		return err
	}
}
