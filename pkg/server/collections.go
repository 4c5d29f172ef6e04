package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/alecthomas/jsonschema"
	pb "github.com/textileio/go-threads/api/pb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hubctl/hubctl/pkg/jssafe"
	"github.com/hubctl/hubctl/pkg/schema"
)

// checkCollection refuses collection schemas that would make the server fetch a URL,
// read a file, or recurse until its stack overflows (schema.CheckRefs), before go-threads
// stores them: gojsonschema, which go-threads validates every written instance with,
// follows "$ref" over HTTP and into files and loops for ever on a reference cycle. It
// checks every call that carries a collection configuration (NewCollection,
// UpdateCollection, and NewDB and NewDBFromAddr with their collections). It never fetches
// anything: the check only reads the request.
//
// A collection stored before this check existed may still hold such a schema, and
// go-threads reloads it as it is. So writes that validate instances (Create, Save,
// Verify) first check the stored schema, and are refused with the fix (`collection
// update`) instead of crashing the server. They also refuse instances that would break
// out of go-threads' JavaScript string literal (see pkg/jssafe).
//
// It runs after the Guard: the caller is allowed to act on the database, and the answer
// says nothing about anyone else's.
func (cc *collectionChecks) checkCollection(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if changes, ok := req.(dbRequest); ok && changesCollections[info.FullMethod] {
		// What a write checks depends on the collections: forget them before and after.
		cc.forget(changes.GetDbID())
		defer cc.forget(changes.GetDbID())
	}
	var err error
	switch r := req.(type) {
	case *pb.NewCollectionRequest:
		err = checkConfigs([]*pb.CollectionConfig{r.Config}, false)
	case *pb.UpdateCollectionRequest:
		err = checkConfigs([]*pb.CollectionConfig{r.Config}, false)
	case *pb.NewDBRequest:
		err = checkConfigs(r.Collections, true)
	case *pb.NewDBFromAddrRequest:
		err = checkConfigs(r.Collections, true)
	case *pb.CreateRequest:
		err = cc.checkWrite(ctx, info.Server, r.DbID, r.CollectionName, r.Instances)
	case *pb.SaveRequest:
		err = cc.checkWrite(ctx, info.Server, r.DbID, r.CollectionName, r.Instances)
	case *pb.VerifyRequest:
		err = cc.checkWrite(ctx, info.Server, r.DbID, r.CollectionName, r.Instances)
	}
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// checkConfigs checks each configuration's schema; named says to name the collection in
// the message (a call with several).
func checkConfigs(cfgs []*pb.CollectionConfig, named bool) error {
	for _, c := range cfgs {
		if c == nil || len(c.Schema) == 0 {
			continue // go-threads refuses a missing schema itself
		}
		if err := checkSchema(c.Schema); err != nil {
			if named {
				return status.Errorf(codes.InvalidArgument, "collection %q: invalid schema: %v", c.Name, err)
			}
			return status.Errorf(codes.InvalidArgument, "invalid schema: %v", err)
		}
	}
	return nil
}

// checkSchema applies schema.CheckRefs to the schema as sent and to the form go-threads
// stores and validates with: go-threads reads it into jsonschema.Schema and marshals that
// back, which drops keywords and keeps "additionalProperties", "default" and "examples"
// verbatim. Both must pass, so that nothing the stored form has escapes the check.
func checkSchema(raw []byte) error {
	if err := schema.CheckRefs(raw); err != nil {
		return err
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil // go-threads answers this one itself
	}
	stored, err := json.Marshal(&s)
	if err != nil {
		return nil
	}
	if err := schema.CheckRefs(stored); err != nil {
		return fmt.Errorf("%w (in the form ThreadDB stores, without the keywords it drops)", err)
	}
	return nil
}

// collectionInfo is the part of the threads API checkStored calls: go-threads'
// api.Service, the server the handler belongs to.
type collectionInfo interface {
	GetCollectionInfo(context.Context, *pb.GetCollectionInfoRequest) (*pb.GetCollectionInfoReply, error)
}

// changesCollections are the calls after which a database's collections may differ.
var changesCollections = map[string]bool{
	"/threads.pb.API/NewDB":            true,
	"/threads.pb.API/NewDBFromAddr":    true,
	"/threads.pb.API/DeleteDB":         true,
	"/threads.pb.API/NewCollection":    true,
	"/threads.pb.API/UpdateCollection": true,
	"/threads.pb.API/DeleteCollection": true,
	MethodRepairDB:                     true,
}

// collectionChecks remembers, per database and collection, what checkWrite needs: whether
// the stored schema passes CheckRefs and whether instances go to JavaScript. Asking
// go-threads for the collection on every write cost 13% of the daemon's throughput
// (bench/daemonload.sh). Collection configurations change only through the calls in
// changesCollections (go-threads does not replicate them), which forget the database.
type collectionChecks struct {
	mu  sync.Mutex
	dbs map[string]map[string]collectionVerdict
}

type collectionVerdict struct {
	schema error // CheckRefs' refusal of the stored schema, or nil
	js     bool  // a write validator or a read filter
}

// maxCheckedDBs bounds the cache; past it, it starts again.
const maxCheckedDBs = 4096

func (cc *collectionChecks) forget(dbID []byte) {
	cc.mu.Lock()
	delete(cc.dbs, string(dbID))
	cc.mu.Unlock()
}

// verdict returns the collection's verdict, asking go-threads (with the caller's context,
// so it sees what the call may see) the first time; ok is false when that fails, and the
// call then goes on for go-threads to answer.
func (cc *collectionChecks) verdict(ctx context.Context, api collectionInfo, dbID []byte, collection string) (collectionVerdict, bool) {
	cc.mu.Lock()
	v, ok := cc.dbs[string(dbID)][collection]
	cc.mu.Unlock()
	if ok {
		return v, true
	}
	info, err := api.GetCollectionInfo(ctx, &pb.GetCollectionInfoRequest{DbID: dbID, Name: collection})
	if err != nil {
		return collectionVerdict{}, false
	}
	v = collectionVerdict{js: info.WriteValidator != "" || info.ReadFilter != ""}
	if len(info.Schema) > 0 {
		v.schema = schema.CheckRefs(info.Schema)
		if v.schema != nil && !errors.Is(v.schema, schema.ErrInvalid) {
			return v, true // not a verdict on the schema: not remembered
		}
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.dbs == nil || len(cc.dbs) >= maxCheckedDBs {
		cc.dbs = map[string]map[string]collectionVerdict{}
	}
	if cc.dbs[string(dbID)] == nil {
		cc.dbs[string(dbID)] = map[string]collectionVerdict{}
	}
	cc.dbs[string(dbID)][collection] = v
	return v, true
}

// checkWrite refuses a write to a collection whose stored schema CheckRefs refuses, and,
// when the collection has a write validator or a read filter, instances jssafe.Check
// refuses.
func (cc *collectionChecks) checkWrite(ctx context.Context, srv any, dbID []byte, collection string, instances [][]byte) error {
	api, ok := srv.(collectionInfo)
	if !ok || len(dbID) == 0 || collection == "" {
		return nil
	}
	v, ok := cc.verdict(ctx, api, dbID, collection)
	if !ok {
		return nil
	}
	if v.schema != nil {
		return status.Errorf(codes.FailedPrecondition,
			"collection %q has a schema this server no longer accepts, so nothing can be written to it: %v; replace it with hubctl collection update DB %s --schema FILE",
			collection, v.schema, collection)
	}
	if !v.js {
		return nil
	}
	for i, inst := range instances {
		if err := jssafe.Check(inst); err != nil {
			which := ""
			if len(instances) > 1 {
				which = fmt.Sprintf(" %d", i+1)
			}
			return status.Errorf(codes.InvalidArgument,
				"instance%s: %v: collection %q has a write validator or a read filter, and go-threads v1.1.5 hands instances to them by pasting their JSON into JavaScript source between single quotes, where these characters would change the instance or run as code; leave them out, or remove the validator and filter (hubctl collection update DB %s --no-write-validator --no-read-filter)",
				which, err, collection, collection)
		}
	}
	return nil
}
